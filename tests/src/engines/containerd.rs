//! containerd from Debian, with its own configuration, root, state and sockets (its CRI
//! plugin disabled, so no network set-up), driven with `ctr` in a namespace of its own.

use super::image::BusyboxImage;
use super::process::{Daemon, EngineDir, checked, wait_for_helpers_of};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub const CONTAINERD: &str = "/usr/bin/containerd";
pub const CTR: &str = "/usr/bin/ctr";
pub const IMAGE: &str = "docker.io/library/busybox:enforcer";
const NAMESPACE: &str = "enforcer-test";

pub struct Containerd {
    daemon: Daemon,
    pub socket: PathBuf,
    dir: EngineDir,
}

impl Containerd {
    /// Starts containerd and imports the busybox image as IMAGE.
    pub fn start() -> Self {
        crate::require_root();
        let dir = EngineDir::new("containerd");
        let socket = dir.join("containerd.sock");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
"#,
                root = dir.join("root").display(),
                state = dir.join("state").display(),
                sock = socket.display(),
                opt = dir.join("opt").display(),
            ),
        )
        .expect("containerd config");
        let mut cmd = Command::new(CONTAINERD);
        cmd.arg("--config").arg(&config);
        let daemon = Daemon::spawn("containerd", cmd, dir.join("containerd.log"));
        let mut c = Self {
            daemon,
            socket,
            dir,
        };
        let sock = c.socket.clone();
        c.daemon.wait_ready("`ctr version` answers", || {
            sock.exists()
                && Command::new(CTR)
                    .arg("-a")
                    .arg(&sock)
                    .arg("version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        });
        let image = BusyboxImage::build(IMAGE);
        c.ok(&["images", "import", image.oci_tar.to_str().unwrap()]);
        c
    }

    /// `ctr -a <our socket> -n <our namespace>`.
    pub fn ctr(&self) -> Command {
        let mut c = Command::new(CTR);
        c.arg("-a").arg(&self.socket).args(["-n", NAMESPACE]);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.ctr()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn ctr")
    }

    /// `ctr ARGS`, which must succeed; its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let mut c = self.ctr();
        c.args(args);
        let out = checked(c, &format!("ctr {args:?}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn version(&self) -> String {
        let v = self.ok(&["version"]);
        v.lines()
            .skip_while(|l| !l.starts_with("Server:"))
            .find_map(|l| l.trim().strip_prefix("Version:"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn quiet(&self, args: &[&str]) {
        let _ = self
            .ctr()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn ids(&self, what: &str) -> Vec<String> {
        self.ctr()
            .args([what, "ls", "-q"])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // containerd leaves tasks running when it stops (they outlive daemon restarts by
        // design): kill and delete them first.
        for id in self.ids("tasks") {
            self.quiet(&["tasks", "kill", "-s", "SIGKILL", &id]);
            self.quiet(&["tasks", "delete", "-f", &id]);
        }
        for id in self.ids("containers") {
            self.quiet(&["containers", "delete", &id]);
        }
        self.daemon.stop();
        wait_for_helpers_of(self.dir.path());
        self.dir.unmount_all();
    }
}
