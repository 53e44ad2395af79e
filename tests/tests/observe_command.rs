//! `enforcer observe`: watching cgroups that exist already, named or all, with the container
//! named from the cgroup path.

use enforcer_tests::*;
use serde_json::Value;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOCKER_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// A cgroup made for the test, shaped as Docker's systemd driver names them; removed on drop.
struct TestCgroup {
    parent: PathBuf,
    path: PathBuf,
}

impl TestCgroup {
    fn new(test: &str) -> Self {
        let parent =
            cgroup_v2_root().join(format!("enforcer-test-{test}-{}.slice", std::process::id()));
        let path = parent.join(format!("docker-{DOCKER_ID}.scope"));
        std::fs::create_dir_all(&path).expect("create test cgroup");
        Self { parent, path }
    }

    fn id(&self) -> u64 {
        std::fs::metadata(&self.path).unwrap().ino()
    }

    /// Runs the probe inside the cgroup and waits for it.
    fn run_probe(&self, args: &str) {
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec {} {args}",
            self.path.display(),
            probe_bin().display()
        );
        let out = Command::new("/bin/sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
        let _ = std::fs::remove_dir(&self.parent);
    }
}

fn start_observe(args: &[&str]) -> Child {
    require_root();
    Command::new(enforcer_bin())
        .arg("observe")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enforcer observe")
}

/// Waits until the log says the cgroup is watched.
fn wait_watched(events: &Path, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        let watched = text.lines().any(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["phase"] == "watch" && v["cgroup_id"] == id
        });
        if watched {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "cgroup {id} never watched: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_observed(all: &[Value], id: u64) {
    let mine: Vec<Value> = all
        .iter()
        .filter(|e| e["cgroup_id"] == id)
        .cloned()
        .collect();
    let getppid = syscall_event(&mine, "getppid").expect("getppid observed");
    assert_eq!(getppid["count"], 777, "{getppid}");
    assert_eq!(getppid["container"]["id"], DOCKER_ID, "{getppid}");
    let calls = syscall_calls(&mine, "getppid");
    assert_eq!(calls.len(), 777);
    assert!(
        calls
            .iter()
            .all(|c| c["comm"] == "probe" && c["container"]["id"] == DOCKER_ID)
    );
}

/// Starts `enforcer observe` (naming the test cgroup or not), runs the probe in the cgroup
/// once it is watched, and checks what was observed.
fn observe_probe_in(cg: &TestCgroup, name_it: bool) {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    // Stopped with SIGTERM once the probe is done; the duration is only a backstop.
    let mut args = vec![
        "--events",
        events.to_str().unwrap(),
        "--trace",
        "getppid",
        "--duration",
        "60",
    ];
    if name_it {
        args.extend(["--cgroup", cg.path.to_str().unwrap()]);
    }
    let mut observe = start_observe(&args);
    wait_watched(&events, cg.id());
    cg.run_probe("getppid 777");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(observe.id() as i32, libc::SIGTERM) };
    let status = observe.wait().unwrap();
    assert!(status.success(), "{status}");
    check_observed(&read_events(&events), cg.id());
}

#[test]
fn observes_a_named_existing_cgroup_without_launching_anything() {
    observe_probe_in(&TestCgroup::new("named"), true);
}

#[test]
fn observes_every_cgroup_when_none_is_named() {
    observe_probe_in(&TestCgroup::new("all"), false);
}

#[test]
fn a_missing_cgroup_is_refused_with_its_path() {
    let out = enforcer(&[
        "observe",
        "--cgroup",
        "/sys/fs/cgroup/no-such-cgroup",
        "--duration",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("no-such-cgroup"), "{}", stderr(&out));
}
