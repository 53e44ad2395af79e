//! The observer counts each call once, as the workload made it: fork children's first
//! returns, rt_sigreturn and interrupted calls are not "stopped" calls, and under an
//! allow-all profile nothing is stopped in the events, `report` or the metrics; the counts
//! per syscall equal `strace -f -c` on the same workload. Under Docker's default, the calls
//! seccomp refuses are stopped, with their errno, exactly as many times as they were made.

mod metrics_support;

use enforcer_tests::*;
use metrics_support::{free_port, http_get};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FORKS: u64 = 1000;
const BAD_CLONES: u64 = 100;
const SIGNALS: u64 = 1000;
const INTERRUPTS: u64 = 3;
/// How long the workload sleeps at its end, while the metrics are scraped.
const LINGER_MS: u64 = 4000;

fn workload_args() -> Vec<String> {
    [
        "accounting".to_string(),
        FORKS.to_string(),
        BAD_CLONES.to_string(),
        SIGNALS.to_string(),
        INTERRUPTS.to_string(),
        "sleep-ms".into(),
        LINGER_MS.to_string(),
    ]
    .into()
}

fn allow_all(s: &Scratch) -> std::path::PathBuf {
    let p = s.path("allow-all.json");
    std::fs::write(
        &p,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]}"#,
    )
    .unwrap();
    p
}

/// The last aggregate of each native syscall: name -> event.
fn aggregates(all: &[Value]) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    for e in all {
        if e["kind"] == "syscall_count" {
            let name = e["name"]
                .as_str()
                .unwrap_or_else(|| panic!("a syscall row without a name: {e}"));
            if e["arch"] == "x86_64" {
                out.insert(name.to_owned(), e);
            }
        }
    }
    out
}

fn errors(e: &Value, errno: &str) -> u64 {
    e["errors"][errno].as_u64().unwrap_or(0)
}

fn events_so_far(path: &Path) -> Vec<Value> {
    if path.exists() {
        read_events(path)
    } else {
        Vec::new()
    }
}

/// Calls per syscall from `strace -f -c` of the same workload. exit and exit_group never
/// return, and strace's summary counts calls at their return: they are left out.
fn strace_counts(s: &Scratch) -> BTreeMap<String, u64> {
    let out_file = s.path("strace.txt");
    let status = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out_file)
        .arg("--")
        .arg(probe_bin())
        .args(workload_args())
        .stdout(Stdio::null())
        .status()
        .expect("strace is not installed: `cargo xtask provision` installs it");
    assert!(status.success(), "strace: {status}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    let mut counts = BTreeMap::new();
    for line in text.lines().skip(2) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || cols[0].starts_with('-') || cols.last() == Some(&"total") {
            continue;
        }
        let name = cols.last().unwrap().to_string();
        counts.insert(name, cols[3].parse::<u64>().expect(line));
    }
    counts
}

#[test]
fn under_allow_all_nothing_is_stopped_and_counts_equal_strace() {
    require_root();
    let s = Scratch::new();
    let profile = allow_all(&s);
    let events = s.path("events.jsonl");
    let port = free_port();
    let child = Command::new(enforcer_bin())
        .args(["run", "--profile", profile.to_str().unwrap()])
        .args([
            "--events",
            events.to_str().unwrap(),
            "--stats-interval",
            "1",
        ])
        .args(["--trace", "clone,rt_sigreturn,read"])
        .args(["--metrics", &format!("127.0.0.1:{port}")])
        .arg("--")
        .arg(probe_bin())
        .args(workload_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enforcer");
    // Once the signals are counted, the workload sleeps: scrape then.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ev = events_so_far(&events);
        let done = aggregates(&ev)
            .get("nanosleep")
            .is_some_and(|e| e["count"].as_u64() == Some(INTERRUPTS + 1));
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the workload's last sleep was not reported within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (head, metrics) = http_get(port, "/metrics");
    assert!(head.contains(" 200"), "{head}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("fork x {FORKS}: 0 failed"))
            && text.contains(&format!("{BAD_CLONES} EINVAL"))
            && text.contains(&format!("{} EINTR", 2 * INTERRUPTS)),
        "{text}"
    );
    assert!(
        metrics.contains("enforcer_syscalls_total{"),
        "no syscall counters scraped: {metrics}"
    );
    let stopped: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("enforcer_syscalls_stopped_total{") && !l.ends_with(" 0"))
        .collect();
    assert!(
        stopped.is_empty(),
        "stopped calls in the metrics: {stopped:?}"
    );

    let all = read_events(&events);
    assert!(
        events_of(&all, "lifecycle")
            .iter()
            .all(|e| e["phase"] != "observer-degraded"),
        "{all:?}"
    );
    for e in all.iter().filter(|e| e["kind"] == "syscall_count") {
        assert!(e["name"].is_string(), "a row without a syscall name: {e}");
        assert_eq!(
            e["count"], e["entered"],
            "stopped calls under allow-all: {e}"
        );
        for errno in e["errors"].as_object().unwrap().keys() {
            assert!(!errno.starts_with("ERESTART"), "kernel-internal errno: {e}");
        }
    }
    let ours = aggregates(&all);
    let clone = ours["clone"];
    assert_eq!(clone["count"], FORKS + BAD_CLONES, "{clone}");
    assert_eq!(errors(clone, "EINVAL"), BAD_CLONES, "{clone}");
    assert_eq!(ours["kill"]["count"], SIGNALS);
    assert_eq!(ours["rt_sigreturn"]["count"], SIGNALS + 2 * INTERRUPTS);
    assert_eq!(errors(ours["nanosleep"], "EINTR"), INTERRUPTS);
    assert_eq!(errors(ours["read"], "EINTR"), INTERRUPTS);
    // Each traced call once, with the arguments it entered with; no child's return.
    let clones = syscall_calls(&all, "clone");
    assert_eq!(clones.len() as u64, FORKS + BAD_CLONES);
    assert!(clones.iter().all(|c| c["args_at"] == "entry"), "{clones:?}");
    let reads = syscall_calls(&all, "read");
    let eintr = reads.iter().filter(|c| c["errno"] == "EINTR").count() as u64;
    assert_eq!(eintr, INTERRUPTS, "{reads:?}");

    // `report` sees no seccomp stop either.
    let report = enforcer(&["report", "--json", events.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    for w in report["workloads"].as_array().unwrap() {
        assert_eq!(w["denials"].as_array().unwrap().len(), 0, "{w}");
        for row in w["syscalls"].as_array().unwrap() {
            assert_eq!(row["stopped"], 0, "{row}");
        }
    }

    // strace -f -c on the same workload counts the same calls.
    let theirs = strace_counts(&s);
    let ours: BTreeMap<String, u64> = ours
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "exit" | "exit_group"))
        .map(|(name, e)| (name.clone(), e["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(ours, theirs, "observer (left) and strace -f -c (right)");
}

/// A read that a signal interrupts and the kernel restarts (SA_RESTART) is one read, with
/// no error: the workload never sees ERESTARTSYS.
#[test]
fn a_restarted_call_is_counted_once() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let out = run_probe(&["--trace", "read"], &events, &["restarted-read"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("restarted = 1"), "{}", stdout(&out));
    let all = read_events(&events);
    let ours = aggregates(&all);
    let read = ours["read"];
    // Every read once (the loader's reads of the libraries too), none failed.
    let calls = syscall_calls(&all, "read");
    assert_eq!(read["count"], calls.len() as u64, "{read} {calls:?}");
    assert_eq!(read["count"], read["entered"], "{read}");
    assert_eq!(read["errors"].as_object().unwrap().len(), 0, "{read}");
    let from_pipe: Vec<_> = calls.iter().filter(|c| c["args"][2] == 1).collect();
    assert_eq!(from_pipe.len(), 1, "{calls:?}");
    assert_eq!(from_pipe[0]["ret"], 1, "{calls:?}");
}

/// Under Docker's default profile, unshare and keyctl are stopped by seccomp with EPERM,
/// exactly as many times as they were called, in the events and in `report`.
#[test]
fn docker_default_stops_exactly_the_calls_it_refuses() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let out = run_probe(
        &[],
        &events,
        &[
            "unshare", "unshare", "unshare", "keyctl", "keyctl", "fork", "getppid", "2",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    let ours = aggregates(&all);
    for (name, n) in [("unshare", 3u64), ("keyctl", 2)] {
        let e = ours[name];
        assert_eq!(
            (
                e["count"].as_u64(),
                e["entered"].as_u64(),
                errors(e, "EPERM")
            ),
            (Some(n), Some(0), n),
            "{e}"
        );
    }
    for (name, e) in &ours {
        if !matches!(name.as_str(), "unshare" | "keyctl") {
            assert_eq!(e["count"], e["entered"], "{name} stopped: {e}");
        }
    }
    let report = enforcer(&["report", "--json", events.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let denials = &report["workloads"][0]["denials"];
    let mut seen: Vec<(String, String, u64, String)> = denials
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["syscall"].as_str().unwrap().to_owned(),
                d["errno"].as_str().unwrap().to_owned(),
                d["count"].as_u64().unwrap(),
                d["by"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("keyctl".into(), "EPERM".into(), 2, "seccomp".into()),
            ("unshare".into(), "EPERM".into(), 3, "seccomp".into()),
        ],
        "{denials}"
    );
}
