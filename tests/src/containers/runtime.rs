//! Real runc and crun containers, each with a state directory of its own, deleted (with
//! whatever still runs in it) when the test is done.

use super::bundle::Bundle;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Crun,
}

/// crun 1.8 refuses hybrid hosts whose cgroup v2 hierarchy has controllers ("cgroups in
/// hybrid mode not supported, drop all controllers from cgroupv2"); this host's has
/// hugetlb. `crun create` alone checks it, so that one command runs in a private mount
/// namespace where the controllers file reads empty. Nothing else is changed: crun still
/// creates the container's v1 and v2 cgroups itself.
const HYBRID_CONTROLLERS: &str = "/sys/fs/cgroup/unified/cgroup.controllers";

impl Runtime {
    pub fn binary(self) -> &'static str {
        match self {
            Self::Runc => "runc",
            Self::Crun => "crun",
        }
    }

    /// Fails unless this runtime's version speaks the seccomp agent protocol (runc 1.1,
    /// crun 1.8 and later).
    pub fn require_agent_protocol(self) {
        let out = Command::new(self.binary())
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask test`)", self.binary()));
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("{} --version said {text:?}", self.binary()));
        let numbers: Vec<u32> = version
            .split(|c: char| !c.is_ascii_digit())
            .take(2)
            .map(|n| n.parse().expect("version number"))
            .collect();
        let needed = match self {
            Self::Runc => [1, 1],
            Self::Crun => [1, 8],
        };
        assert!(
            numbers[..] >= needed[..],
            "{} {version} predates the seccomp agent protocol (needs {}.{})",
            self.binary(),
            needed[0],
            needed[1]
        );
    }
}

pub struct Container {
    pub runtime: Runtime,
    pub id: String,
    pub bundle: Bundle,
    state_root: tempfile::TempDir,
}

impl Container {
    /// A container of `bundle`, not yet started; `name` makes the id unique per test.
    pub fn new(runtime: Runtime, name: &str, bundle: Bundle) -> Self {
        runtime.require_agent_protocol();
        Self {
            runtime,
            id: format!("enforcer-{name}-{}", std::process::id()),
            bundle,
            state_root: tempfile::tempdir().expect("runtime state dir"),
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(self.runtime.binary());
        c.arg("--root").arg(self.state_root.path());
        c
    }

    /// `run`, or `run -d`, with crun's hybrid-host workaround (see HYBRID_CONTROLLERS).
    fn run_command(&self, detach: bool) -> Command {
        let mut args: Vec<String> = vec![
            self.runtime.binary().into(),
            "--root".into(),
            self.state_root.path().display().to_string(),
            "run".into(),
        ];
        if detach {
            args.push("-d".into());
        }
        args.extend([
            "--bundle".into(),
            self.bundle.path().display().to_string(),
            self.id.clone(),
        ]);
        let hide_controllers = self.runtime == Runtime::Crun
            && std::fs::read_to_string(HYBRID_CONTROLLERS).is_ok_and(|c| !c.trim().is_empty());
        if !hide_controllers {
            let mut c = Command::new(&args[0]);
            c.args(&args[1..]);
            return c;
        }
        let empty = self.state_root.path().join("no-controllers");
        std::fs::write(&empty, b"").expect("write empty controllers file");
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(format!(
                "mount --bind \"$0\" {HYBRID_CONTROLLERS} && exec \"$@\""
            ))
            .arg(&empty)
            .args(&args);
        c
    }

    /// Runs the container in the foreground to its end.
    pub fn run(&self) -> Output {
        self.run_command(false)
            .stdin(Stdio::null())
            .output()
            .expect("spawn runtime")
    }

    /// Starts the container detached and waits until it runs. Its stdio is a file: the
    /// container keeps what it inherits open, which would hold a pipe to the test open.
    pub fn start(&self) {
        let log = self.state_root.path().join("start.log");
        let status = self
            .run_command(true)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("start log"))
            .status()
            .expect("spawn runtime");
        assert!(
            status.success(),
            "{} run -d {}: {}",
            self.runtime.binary(),
            self.id,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(self.pid() > 0);
    }

    /// The container's own process (host pid).
    pub fn pid(&self) -> u32 {
        let out = self
            .command()
            .args(["state", &self.id])
            .output()
            .expect("spawn runtime");
        let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{} state {}: {e}: {}",
                self.runtime.binary(),
                self.id,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        state["pid"].as_u64().expect("state has a pid") as u32
    }

    /// `exec` ARGS in the running container; returns its output.
    pub fn exec(&self, args: &[&str]) -> Output {
        self.command()
            .args(["exec", &self.id])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn runtime exec")
    }

    /// Has the container's own process (running DRIVER) run `script` with sh; returns its
    /// output, ending with "exit=N".
    pub fn in_init(&self, script: &str) -> String {
        crate::engines::run_dropped(
            &self.bundle.host_path("/"),
            script,
            &format!("container {}", self.id),
        )
    }

    /// The cgroup v2 id of the container's process: the inode of its directory.
    pub fn cgroup_id(&self) -> u64 {
        cgroup_id_of(self.pid())
    }
}

/// The cgroup v2 id of process `pid`.
pub fn cgroup_id_of(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read cgroup");
    let rel = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup v2 entry");
    let root = crate::cgroup_v2_root();
    std::fs::metadata(root.join(rel.trim_start_matches('/')))
        .expect("stat cgroup dir")
        .ino()
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self
            .command()
            .args(["delete", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
