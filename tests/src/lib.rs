//! Helpers for the integration tests: where the built binaries and the real profiles are,
//! running `enforcer` and reading its event log. The tests need root and a real kernel; when
//! something they need is missing they fail with a message saying what, never skip.

pub mod bpf;
pub mod containers;
pub mod engines;
pub mod reach;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn env_path(var: &str) -> PathBuf {
    let p = std::env::var_os(var)
        .unwrap_or_else(|| panic!("{var} is not set: run the tests with `cargo xtask test`"));
    let p = PathBuf::from(p);
    assert!(
        p.exists(),
        "{var}={} does not exist: run `cargo xtask build`",
        p.display()
    );
    p
}

/// The release `enforcer` binary that `cargo xtask test` built.
pub fn enforcer_bin() -> PathBuf {
    env_path("ENFORCER_BIN")
}

/// The `probe` workload (see src/bin/probe.rs).
pub fn probe_bin() -> PathBuf {
    env_path("ENFORCER_PROBE_BIN")
}

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// `profiles/NAME`: the real Docker and Podman profiles the project tests against.
pub fn real_profile(name: &str) -> PathBuf {
    repo_root().join("profiles").join(name)
}

/// Where cgroup v2 is mounted: /sys/fs/cgroup/unified on hybrid hosts, /sys/fs/cgroup on
/// pure v2 ones.
pub fn cgroup_v2_root() -> PathBuf {
    ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.controllers").is_file())
        .expect("a cgroup v2 hierarchy")
}

pub fn require_root() {
    // SAFETY: geteuid cannot fail.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "these tests load seccomp filters and eBPF programs: run them as root"
    );
}

/// A scratch directory with a file of the given mode.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn file(&self, name: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.path().join(name);
        std::fs::write(&p, b"x").expect("write scratch file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .expect("chmod scratch file");
        p
    }

    /// A subdirectory (mode 0755, so that tests that drop to another uid can search it).
    pub fn mkdir(&self, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("mkdir scratch dir");
        for dir in [self.dir.path(), p.as_path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                .expect("chmod scratch dir");
        }
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

pub fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

/// Runs `enforcer ARGS`.
pub fn enforcer(args: &[&str]) -> Output {
    require_root();
    Command::new(enforcer_bin())
        .args(args)
        .output()
        .expect("spawn enforcer")
}

/// Runs `enforcer run [OPTS] -- probe PROBE_ARGS` with the event log in `events`.
pub fn run_probe(opts: &[&str], events: &Path, probe_args: &[&str]) -> Output {
    let probe = probe_bin();
    let mut args: Vec<&str> = vec!["run", "--events", events.to_str().expect("utf-8 path")];
    args.extend_from_slice(opts);
    args.push("--");
    args.push(probe.to_str().expect("utf-8 path"));
    args.extend_from_slice(probe_args);
    enforcer(&args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every event of the log, each checked to be an event of the enforcer's own model (what
/// `report` and `profile suggest` read).
pub fn read_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("event log {}: {e}", path.display()));
    text.lines().map(event_of_line).collect()
}

/// One line of an event log, checked against the event model.
pub fn event_of_line(l: &str) -> Value {
    if let Err(e) = enforcer::events::parse_line(l) {
        panic!("event line {l:?}: {e}");
    }
    serde_json::from_str(l).unwrap_or_else(|e| panic!("event line {l:?}: {e}"))
}

pub fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// The last `syscall_count` event for `name` (native ABI), if the observer saw it.
pub fn syscall_event<'a>(events: &'a [Value], name: &str) -> Option<&'a Value> {
    syscall_event_of(events, name, "x86_64")
}

/// The last `syscall_count` event for `name` of ABI `arch` ("x86_64", "x86", "x32").
pub fn syscall_event_of<'a>(events: &'a [Value], name: &str, arch: &str) -> Option<&'a Value> {
    events
        .iter()
        .rev()
        .find(|e| e["kind"] == "syscall_count" && e["name"] == name && e["arch"] == arch)
}

/// The `syscall_trace` events (one call each, from the ring buffer) for `name`.
pub fn syscall_calls<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "syscall_trace" && e["name"] == name)
        .collect()
}
