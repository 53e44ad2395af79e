//! `record --cgroup PATH` records a workload already running in its cgroup and stops when
//! the cgroup is removed; `observe` writes `unwatch` when a watched cgroup is removed and
//! when it stops.

use enforcer_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn make_cgroup(test: &str) -> PathBuf {
    let p = cgroup_v2_root().join(format!("enforcer-test-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn spawn(args: &[&str]) -> Child {
    require_root();
    Command::new(enforcer_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_phase(events: &Path, phase: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains(&format!("\"phase\":\"{phase}\"")))
        {
            return;
        }
        assert!(Instant::now() < deadline, "no {phase} event: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn phases(events: &Path) -> Vec<String> {
    read_events(events)
        .iter()
        .filter(|e| e["kind"] == "lifecycle")
        .filter_map(|e| e["phase"].as_str().map(str::to_owned))
        .collect()
}

/// Runs the probe inside `cg` and waits for it.
fn run_in(cg: &Path, args: &str) {
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} {args}",
        cg.display(),
        probe_bin().display()
    );
    let out = Command::new("/bin/sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn record_cgroup_records_a_running_workload_until_its_cgroup_is_removed() {
    let s = Scratch::new();
    let cg = make_cgroup("record-cgroup");
    let (events, profile) = (s.path("events.jsonl"), s.path("recorded.json"));
    let mut recorder = spawn(&[
        "record",
        "--cgroup",
        cg.to_str().unwrap(),
        "--duration",
        "60",
        "--events",
        events.to_str().unwrap(),
        "--output",
        profile.to_str().unwrap(),
    ]);
    wait_for_phase(&events, "watch");
    run_in(&cg, "socket 1 getppid 3");
    std::fs::remove_dir(&cg).unwrap();
    let started = Instant::now();
    let status = recorder.wait().unwrap();
    assert!(status.success(), "record --cgroup: {status}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not stop at removal"
    );
    assert!(phases(&events).contains(&"unwatch".to_owned()));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    let rec = &json["x-enforcer-recording"];
    assert!(rec["syscalls"]["getppid"].as_u64() >= Some(3), "{rec}");
    assert_eq!(rec["args"]["socket"], serde_json::json!([1]), "{rec}");
}

#[test]
fn observe_writes_unwatch_when_a_cgroup_is_removed_and_when_it_stops() {
    let s = Scratch::new();
    let (gone, kept) = (make_cgroup("unwatch-gone"), make_cgroup("unwatch-kept"));
    let events = s.path("events.jsonl");
    let mut observer = spawn(&[
        "observe",
        "--cgroup",
        gone.to_str().unwrap(),
        "--cgroup",
        kept.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    wait_for_phase(&events, "watch");
    std::fs::remove_dir(&gone).unwrap();
    wait_for_phase(&events, "unwatch");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(observer.id() as i32, libc::SIGTERM) };
    assert!(observer.wait().unwrap().success());
    let _ = std::fs::remove_dir(&kept);
    let unwatched: Vec<String> = read_events(&events)
        .iter()
        .filter(|e| e["phase"] == "unwatch")
        .filter_map(|e| e["cgroup"].as_str().map(str::to_owned))
        .collect();
    let name = |p: &Path| p.to_str().unwrap().to_owned();
    assert_eq!(unwatched, [name(&gone), name(&kept)], "{unwatched:?}");
}
