//! Real container engines for the tests: Docker (dockerd), Podman and containerd (ctr) from
//! Debian's packages, each started by the test on private sockets, data roots and state
//! directories (the host's default sockets and /var/lib are never used, no network set-up:
//! Docker runs with --iptables=false --bridge=none, containers with no network), each with
//! a busybox image imported from the host's busybox-static. Everything an engine started is
//! stopped when its guard drops, even when the test fails; an engine that cannot start
//! fails the test with its log.

mod agent_checks;
pub mod containerd;
mod docker;
mod driver;
mod image;
pub mod podman;
mod process;

pub use agent_checks::{StartWithProfile, Started, agent_decides_chmod};
pub use containerd::Containerd;
pub use docker::{Docker, shared as shared_docker};
pub use driver::{Ctl, run_dropped};
pub use image::{BusyboxImage, DRIVER_PATH, install_busybox};
pub use podman::Podman;
pub use process::{Daemon, EngineDir, checked};

/// The first line of `BIN --version` (what README records as tested).
pub fn version_of(bin: &str) -> String {
    let out = checked(
        {
            let mut c = std::process::Command::new(bin);
            c.arg("--version");
            c
        },
        &format!("{bin} --version"),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}
