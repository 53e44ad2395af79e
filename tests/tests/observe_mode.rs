//! `run --observe off|counts|trace` (issue 17): with off, no eBPF program of the enforcer is
//! attached while the workload runs (the kernel's view of its fds), enforcement and decisions
//! are those of the default, and no `syscall` event is written; counts counts without
//! detailed events; record refuses off.

use enforcer_tests::bpf::programs_of;
use enforcer_tests::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one held run showed.
struct Seen {
    /// The enforcer's eBPF programs while the workload ran: id to name.
    programs: BTreeMap<u32, String>,
    stderr: String,
    events: Vec<Value>,
    /// The mode of the chmodded file afterwards.
    mode: u32,
}

/// `enforcer run [OPTS]` of a workload that makes a safe and a setuid chmod (the built-in
/// policy allows the one and denies the other), then waits until the test has looked at the
/// enforcer's programs.
fn held_run(opts: &[&str]) -> Seen {
    require_root();
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let (ready, go, events) = (s.path("ready"), s.path("go"), s.path("events.jsonl"));
    let script = r#""$0" chmod "$1" 0644 chmod "$1" 04755; touch "$2"; while [ ! -e "$3" ]; do sleep 0.05; done"#;
    let mut child = Command::new(enforcer_bin())
        .args(["run", "--events"])
        .arg(&events)
        .args(opts)
        .args(["--", "sh", "-c", script])
        .arg(probe_bin())
        .args([&f, &ready, &go])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enforcer run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        if Instant::now() > deadline || child.try_wait().expect("try_wait").is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "the workload did not get ready ({opts:?}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let programs = programs_of(child.id());
    std::fs::write(&go, b"").expect("go");
    let out = child.wait_with_output().expect("wait for enforcer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{opts:?}: {stderr}");
    Seen {
        programs,
        stderr,
        events: read_events(&events),
        mode: mode_of(&f),
    }
}

/// (syscall, outcome, errno, rule) of every decision, in order.
fn decisions(events: &[Value]) -> Vec<(String, String, i64, String)> {
    events_of(events, "decision")
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            (
                text("syscall"),
                text("outcome"),
                d["errno"].as_i64().unwrap_or(0),
                text("rule"),
            )
        })
        .collect()
}

fn exit_observation(events: &[Value]) -> String {
    events_of(events, "lifecycle")
        .iter()
        .find(|e| e["phase"] == "exit")
        .and_then(|e| e["observation"].as_str())
        .unwrap_or_else(|| panic!("no exit event naming the observation: {events:?}"))
        .to_owned()
}

#[test]
fn off_attaches_no_program_and_decides_as_the_default() {
    let default = held_run(&[]);
    let off = held_run(&["--observe", "off"]);

    // The check sees our programs when they are there.
    let names: Vec<&str> = default.programs.values().map(String::as_str).collect();
    assert!(
        names.contains(&"sys_enter") && names.contains(&"sys_exit"),
        "the default run's programs: {names:?}"
    );
    assert!(
        off.programs.is_empty(),
        "--observe off attached {:?}",
        off.programs
    );

    assert_eq!(decisions(&default.events).len(), 2, "{:?}", default.events);
    assert_eq!(decisions(&off.events), decisions(&default.events));
    assert_eq!((off.mode, default.mode), (0o644, 0o644));

    let syscall_events = |events: &[Value]| {
        events_of(events, "syscall_count").len() + events_of(events, "syscall_trace").len()
    };
    assert!(syscall_events(&default.events) > 0);
    assert_eq!(syscall_events(&off.events), 0, "{:?}", off.events);
    assert_eq!(exit_observation(&default.events), "trace");
    assert_eq!(exit_observation(&off.events), "off");
    assert!(off.stderr.contains("observation off"), "{}", off.stderr);
    assert!(
        default.stderr.contains("observation trace") && default.stderr.contains("slow path"),
        "{}",
        default.stderr
    );
}

#[test]
fn counts_counts_without_detailed_events() {
    let counts = held_run(&["--observe", "counts"]);
    assert!(!counts.programs.is_empty(), "no program attached");
    assert!(
        syscall_event(&counts.events, "chmod").is_some(),
        "no chmod count: {:?}",
        counts.events
    );
    assert!(
        syscall_calls(&counts.events, "chmod").is_empty(),
        "detailed events with --observe counts"
    );
    assert_eq!(exit_observation(&counts.events), "counts");
    assert_eq!(decisions(&counts.events).len(), 2);
}

#[test]
fn record_needs_observation_and_trace_names_need_trace() {
    let s = Scratch::new();
    let marker = s.path("ran");
    let marker = marker.to_str().unwrap();
    let record = enforcer(&["record", "--observe", "off", "--", "touch", marker]);
    assert_eq!(record.status.code(), Some(125), "{}", stderr(&record));
    assert!(
        stderr(&record).contains("record needs observation"),
        "{}",
        stderr(&record)
    );
    let run = enforcer(&[
        "run",
        "--observe",
        "counts",
        "--trace",
        "chmod",
        "--",
        "touch",
        marker,
    ]);
    assert_eq!(run.status.code(), Some(125), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("--trace chmod: detailed events need --observe trace"),
        "{}",
        stderr(&run)
    );
    assert!(!s.path("ran").exists(), "the workload ran");
}
