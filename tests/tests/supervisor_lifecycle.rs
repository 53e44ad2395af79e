//! The supervisor under load, when it dies, and in audit mode.

use enforcer_tests::*;
use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(p: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `enforcer run OPTS -- probe touch READY wait-file GO chmod F 0644 touch DONE`,
/// freezes the enforcer once the workload is ready, lets the workload make its notified
/// chmod, kills the enforcer, and returns what the workload printed.
fn kill_supervisor_during_a_call(opts: &[&str]) -> (String, Scratch, std::path::PathBuf) {
    require_root();
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let (ready, go, done) = (s.path("ready"), s.path("go"), s.path("done"));
    // One name per call: the tests of this file run in parallel in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cgroup = format!("kill-test-{}-{n}", std::process::id());
    let mut child = Command::new(enforcer_bin())
        .args(["run", "--cgroup", &cgroup])
        .args(opts)
        .arg("--")
        .arg(probe_bin())
        .args([
            "touch",
            ready.to_str().unwrap(),
            "wait-file",
            go.to_str().unwrap(),
            "chmod",
            f.to_str().unwrap(),
            "0644",
            "touch",
            done.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn enforcer");
    wait_for(&ready);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    std::fs::write(&go, b"").unwrap();
    // The workload is now parked in its notified chmod, which nobody receives.
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let _ = child.wait();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    // The watchdog removes the cgroup of the killed enforcer.
    let cg = cgroup_v2_root().join("enforcer").join(&cgroup);
    let deadline = Instant::now() + Duration::from_secs(5);
    while cg.exists() {
        assert!(
            Instant::now() < deadline,
            "{} was not removed",
            cg.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (out, s, f)
}

/// The enforcer itself dies (SIGKILL) while a call is parked: whatever
/// `--on-supervisor-exit` says (it is about the supervisor failing inside a live enforcer),
/// the workload goes with it (parent-death signal, and the watchdog that holds the listener
/// and kills the cgroup) before the call returns.
fn assert_killed_with_the_enforcer(opts: &[&str]) {
    let (out, s, f) = kill_supervisor_during_a_call(opts);
    assert!(
        !out.contains("chmod("),
        "the workload never returned from its chmod: {out}"
    );
    assert_eq!(mode_of(&f), 0o600);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!s.path("done").exists(), "the workload was killed");
}

#[test]
fn enforcer_killed_while_a_call_waits_kills_the_workload() {
    assert_killed_with_the_enforcer(&[]);
}

#[test]
fn on_supervisor_exit_kill_kills_the_workload() {
    assert_killed_with_the_enforcer(&["--on-supervisor-exit", "kill"]);
}

fn exit_event(events: &[Value]) -> Value {
    events_of(events, "lifecycle")
        .into_iter()
        .find(|e| e["phase"] == "exit")
        .expect("exit event")
        .clone()
}

#[test]
fn sixty_four_threads_of_notified_calls_are_all_answered_exactly() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    let out = run_probe(
        &[],
        &events,
        &["chmod-threads", "64", "10000", f.to_str().unwrap()],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    // Built-in policy: 0644 allowed, 04755 denied, alternately.
    assert!(
        text.contains("chmod-threads ok=320000 eperm=320000 other=0"),
        "{text}"
    );
    let all = read_events(&events);
    let sum = &exit_event(&all)["supervisor"];
    assert_eq!(
        (
            sum["allowed"].as_u64(),
            sum["denied"].as_u64(),
            sum["stale"].as_u64()
        ),
        (Some(320000), Some(320000), Some(0)),
        "{sum}"
    );
    let max_rss_kb = sum["max_rss_kb"].as_u64().unwrap();
    eprintln!("supervisor peak RSS after 640000 notified calls: {max_rss_kb} KiB");
    assert!(
        max_rss_kb < 100 * 1024,
        "supervisor memory stays bounded: {max_rss_kb} KiB"
    );
    // The event sink never blocks the supervisor: a line it had no room for is counted in a
    // `lost` event instead. Written plus counted is every call.
    let dropped: u64 = events_of(&all, "lost")
        .iter()
        .filter(|e| e["place"] == "sink")
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        events_of(&all, "decision").len() as u64 + dropped,
        640000,
        "one decision event per call, written or counted"
    );
}

#[test]
fn audit_mode_runs_what_the_profile_denies_and_reports_each_call() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    let seed = real_profile("seed-chmod-errno.json");
    let out = run_probe(
        &["--mode", "audit", "--profile", seed.to_str().unwrap()],
        &events,
        &[
            "chmod",
            f.to_str().unwrap(),
            "0640",
            "chmod",
            f.to_str().unwrap(),
            "0604",
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    assert_eq!(
        text.lines().filter(|l| l.ends_with("= 0")).count(),
        2,
        "both calls ran: {text}"
    );
    assert_eq!(mode_of(&f), 0o604);
    let all = read_events(&events);
    let would: Vec<&Value> = events_of(&all, "decision")
        .into_iter()
        .filter(|e| e["outcome"] == "would-deny")
        .collect();
    assert_eq!(would.len(), 2, "{would:?}");
    for e in would {
        assert_eq!(e["syscall"], "chmod");
        assert!(
            e["rule"]
                .as_str()
                .unwrap()
                .starts_with("profile:$.syscalls[0]"),
            "names the profile entry: {e}"
        );
        assert_eq!(e["would"], "SCMP_ACT_ERRNO(EPERM)", "{e}");
        assert_eq!(e["errno"], libc::EPERM);
    }
}

#[test]
fn audit_mode_reports_policy_and_default_profile_denials() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    let out = run_probe(
        &["--mode", "audit"],
        &events,
        &[
            "chmod",
            f.to_str().unwrap(),
            "04755",
            "keyctl",
            "clone3",
            "chmod",
            f.to_str().unwrap(),
            "0644",
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    assert!(
        !text.contains("EPERM"),
        "nothing is denied in audit mode: {text}"
    );
    let all = read_events(&events);
    let d = events_of(&all, "decision");
    let would: Vec<(&str, &str)> = d
        .iter()
        .filter(|e| e["outcome"] == "would-deny")
        .map(|e| (e["syscall"].as_str().unwrap(), e["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(would.len(), 3, "one would-deny per denied call: {would:?}");
    assert_eq!(would[0], ("chmod", "builtin:chmod-dangerous-mode"));
    assert_eq!(would[1].0, "keyctl");
    assert_eq!(would[2].0, "clone3");
    let clone3 = d.iter().find(|e| e["syscall"] == "clone3").unwrap();
    assert_eq!(
        clone3["would"], "SCMP_ACT_ERRNO(ENOSYS)",
        "Docker's default answers clone3 with ENOSYS: {clone3}"
    );
    assert!(
        text.contains("clone3(NULL, 0) = -1 EINVAL"),
        "clone3 reached the kernel: {text}"
    );
    assert!(
        would[1].1.starts_with("profile:") && would[2].1.starts_with("profile:"),
        "{would:?}"
    );
    assert_eq!(
        d.iter().filter(|e| e["outcome"] == "allowed").count(),
        1,
        "the safe chmod is allowed as usual"
    );
}

#[test]
fn audit_mode_reports_a_path_rule_denial_as_would_deny() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let f = s.file("elsewhere", 0o600);
    let policy = s.path("policy.json");
    let text = format!(
        r#"{{"rules":[{{"name":"allowed-dir","syscalls":["@chmod"],"paths":["{}/**"],"action":"allow"}}]}}"#,
        allowed.display()
    );
    std::fs::write(&policy, text).unwrap();
    let events = s.path("events.jsonl");
    let out = run_probe(
        &["--mode", "audit", "--policy", policy.to_str().unwrap()],
        &events,
        &["chmod", f.to_str().unwrap(), "0640"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    assert!(text.ends_with("= 0\n"), "the call ran: {text}");
    assert_eq!(mode_of(&f), 0o640);
    let all = read_events(&events);
    let d = events_of(&all, "decision");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["outcome"], "would-deny", "{}", d[0]);
    assert_eq!(d[0]["rule"], "default");
    assert_eq!(
        d[0]["path"],
        f.to_str().unwrap(),
        "the path the policy saw is logged"
    );
    assert_eq!(d[0]["would"], "deny EPERM");
}
