//! The Debian packages each command needs. Nothing else in xtask names a package.
//!
//! A package is listed with how to tell it is already there without dpkg (a program on PATH,
//! or an absolute file path), so that `cargo xtask` calls neither apt-get nor needs root when
//! everything is present, also on a machine without dpkg.

pub struct Package {
    /// The Debian package name.
    pub deb: &'static str,
    /// A program on PATH, or an absolute path, that the package installs.
    pub provides: &'static str,
}

const fn pkg(deb: &'static str, provides: &'static str) -> Package {
    Package { deb, provides }
}

/// What `cargo xtask build` and `cargo xtask run` need (the eBPF toolchain, nightly rust-src
/// and bpf-linker, is set up in provision/rust.rs).
pub const BUILD_PACKAGES: &[Package] = &[
    // The libseccomp crate links against the system library.
    pkg("libseccomp-dev", "/usr/include/seccomp.h"),
];

/// What only the tests need; `cargo xtask test` installs these, `build` and `run` never do.
///
/// A test that needs another package: append one line here with a comment naming the test.
pub const TEST_PACKAGES: &[Package] = &[
    // OCI runtimes the agent and container tests drive, and the static busybox their rootfs
    // is made of (also the runc/crun walk-through in deploy/README.md).
    pkg("runc", "runc"),
    pkg("crun", "crun"),
    pkg("busybox-static", "/bin/busybox"),
    // unshare (crun's hybrid-cgroup workaround in the agent tests).
    pkg("util-linux", "unshare"),
    // systemd-analyze verifies the agent's systemd unit (agent_deploy).
    pkg("systemd", "systemd-analyze"),
    // promtool checks the metrics endpoint and the alert rules (metrics_*).
    pkg("prometheus", "promtool"),
    // Renders the HTML report as a user sees it (report_html).
    pkg("chromium", "chromium"),
    // The observer's counts are checked against `strace -f -c` (observe_accounting).
    pkg("strace", "strace"),
    // Real engines the engine tests start on private sockets and roots (engine_docker,
    // engine_agent); installed without starting their services (no_services.rs).
    pkg("docker.io", "/usr/sbin/dockerd"),
    pkg("containerd", "/usr/bin/ctr"),
    pkg("podman", "/usr/bin/podman"),
];
