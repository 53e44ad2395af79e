//! dockerd from Debian's docker.io, on a socket, data root and exec root of its own, with
//! no network set-up (--iptables=false --ip-masq=false --bridge=none). It starts its own
//! containerd under the exec root; both are stopped with the guard.

use super::image::BusyboxImage;
use super::process::{Daemon, EngineDir, checked, kill_pidfile, wait_for_helpers_of};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The docker.io package's own client and daemon, by absolute path: a host may have
/// another `docker` earlier in PATH (this one has a static client 28.x in /usr/local/bin).
pub const DOCKER: &str = "/usr/bin/docker";
pub const DOCKERD: &str = "/usr/sbin/dockerd";

/// The image every test runs: the seed article's name.
pub const IMAGE: &str = "busybox";

pub struct Docker {
    daemon: Daemon,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    exec_root: PathBuf,
    dir: EngineDir,
}

impl Docker {
    /// Starts dockerd and imports the busybox image as `busybox`.
    pub fn start() -> Self {
        crate::require_root();
        let dir = EngineDir::new("docker");
        let socket = dir.join("docker.sock");
        let data_root = dir.join("data");
        let exec_root = dir.join("exec");
        // An empty configuration, so that the host's /etc/docker/daemon.json is not read.
        let config = dir.join("daemon.json");
        std::fs::write(&config, "{}").expect("daemon.json");
        let mut cmd = Command::new(DOCKERD);
        cmd.args([
            "--iptables=false",
            "--ip-masq=false",
            "--bridge=none",
            "--shutdown-timeout=2",
        ])
        .arg("--config-file")
        .arg(&config)
        .arg("--data-root")
        .arg(&data_root)
        .arg("--exec-root")
        .arg(&exec_root)
        .arg("--pidfile")
        .arg(dir.join("dockerd.pid"))
        .arg("--host")
        .arg(format!("unix://{}", socket.display()));
        let daemon = Daemon::spawn("dockerd", cmd, dir.join("dockerd.log"));
        let mut docker = Self {
            daemon,
            socket,
            data_root,
            exec_root,
            dir,
        };
        let probe = docker.cli_path();
        docker.daemon.wait_ready("`docker version` answers", || {
            Command::new(DOCKER)
                .args(["-H", &probe, "version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        let image = BusyboxImage::build("busybox:latest");
        checked(
            docker.cli_with(&["import"], &[image.rootfs_tar.to_str().unwrap(), IMAGE]),
            "docker import",
        );
        docker
    }

    fn cli_path(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker -H <our socket>`.
    pub fn cli(&self) -> Command {
        let mut c = Command::new(DOCKER);
        c.args(["-H", &self.cli_path()]);
        c
    }

    fn cli_with(&self, a: &[&str], b: &[&str]) -> Command {
        let mut c = self.cli();
        c.args(a).args(b);
        c
    }

    /// `docker ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cli()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn docker")
    }

    /// `docker ARGS`, which must succeed; its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = checked(self.cli_with(args, &[]), &format!("docker {args:?}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The server's version, as `docker version` reports it.
    pub fn version(&self) -> String {
        self.ok(&["version", "--format", "{{.Server.Version}}"])
    }

    /// The host pid of a running container's own process.
    pub fn pid_of(&self, container: &str) -> u32 {
        self.ok(&["inspect", "--format", "{{.State.Pid}}", container])
            .parse()
            .expect("a pid")
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        if let Ok(out) = self.cli().args(["ps", "-aq"]).output() {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if !ids.is_empty() {
                let _ = self
                    .cli()
                    .args(["rm", "-f"])
                    .args(&ids)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        self.daemon.stop();
        // dockerd stops the containerd it started; if dockerd had to be killed, that
        // containerd is still there.
        kill_pidfile(
            &self.exec_root.join("containerd/containerd.pid"),
            "containerd",
        );
        wait_for_helpers_of(self.dir.path());
        self.dir.unmount_all();
    }
}

/// One dockerd for the tests of a binary that run at the same time: started by the first,
/// stopped when the last drops its handle (a static would never be dropped).
pub fn shared() -> std::sync::Arc<Docker> {
    use std::sync::{Arc, Mutex, Weak};
    static SHARED: Mutex<Weak<Docker>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(d) = slot.upgrade() {
        return d;
    }
    let d = Arc::new(Docker::start());
    *slot = Arc::downgrade(&d);
    d
}
