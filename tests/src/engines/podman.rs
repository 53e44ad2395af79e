//! Podman from Debian (daemonless): every command gets a storage root, run root, tmp dir
//! and network config dir of its own, the cgroupfs manager (no systemd here) and no events
//! backend, so nothing of the host's /var/lib/containers or /run/containers is used.
//! Containers run with no network.
//!
//! Runtimes: runc. crun 1.8 refuses to start containers on hybrid cgroup hosts whose v2
//! hierarchy has controllers ("cgroups in hybrid mode not supported, drop all controllers
//! from cgroupv2"; this host's has hugetlb while the v1 hierarchies hold the rest); the
//! runc/crun agent tests work around it for bare crun with a private mount namespace, which
//! Podman's storage mounts and conmon cannot live in.

use super::image::BusyboxImage;
use super::process::{EngineDir, checked, wait_for_helpers_of};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub const PODMAN: &str = "/usr/bin/podman";
pub const IMAGE: &str = "localhost/busybox:latest";

pub struct Podman {
    pub runtime: &'static str,
    pub root: PathBuf,
    dir: EngineDir,
}

impl Podman {
    /// Podman with `runtime` ("runc"), the busybox image imported.
    pub fn start(runtime: &'static str) -> Self {
        crate::require_root();
        let dir = EngineDir::new("podman");
        let root = dir.join("root");
        let podman = Self { runtime, root, dir };
        let image = BusyboxImage::build(IMAGE);
        checked(
            podman.cli_with(&["import", image.rootfs_tar.to_str().unwrap(), IMAGE]),
            "podman import",
        );
        podman
    }

    pub fn cli(&self) -> Command {
        let mut c = Command::new(PODMAN);
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .arg("--network-config-dir")
            .arg(self.dir.join("net"))
            .args(["--runtime", self.runtime])
            .args(["--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "none"])
            .args(["--storage-driver", "overlay"]);
        c
    }

    fn cli_with(&self, args: &[&str]) -> Command {
        let mut c = self.cli();
        c.args(args);
        c
    }

    /// `podman ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cli_with(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn podman")
    }

    /// `podman ARGS`, which must succeed; its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = checked(self.cli_with(args), &format!("podman {args:?}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `run` options every container needs on this kind of VM: Podman's default limits
    /// (nofile 1048576, nproc as high as Podman could raise its own) exceed the hard
    /// limits here, and root lacks CAP_SYS_RESOURCE in this sandbox, so runc cannot set
    /// them ("error setting rlimits ... operation not permitted"). These stay within the
    /// test's own hard limits.
    pub fn ulimits() -> Vec<String> {
        let hard = |res| {
            let mut r = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit fills the struct we own.
            unsafe { libc::getrlimit(res, &mut r) };
            r.rlim_max
        };
        let nofile = hard(libc::RLIMIT_NOFILE).min(1024);
        let nproc = hard(libc::RLIMIT_NPROC).min(4096);
        vec![
            "--ulimit".into(),
            format!("nofile={nofile}:{nofile}"),
            "--ulimit".into(),
            format!("nproc={nproc}:{nproc}"),
        ]
    }

    pub fn version(&self) -> String {
        self.ok(&["version", "--format", "{{.Client.Version}}"])
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self
            .cli_with(&["rm", "--all", "--force", "--time", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        wait_for_helpers_of(self.dir.path());
        self.dir.unmount_all();
    }
}
