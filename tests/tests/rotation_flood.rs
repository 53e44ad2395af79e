//! Event log rotation under a flood of events: every file holds whole lines only, the files
//! together hold the run from its start to its exit, and every event that is missing is
//! counted in a `lost` event.

use enforcer_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const MAX_BYTES: u64 = 256 * 1024;
const CALLS: u64 = 100_000;

fn rotated(path: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", path.display()))
}

#[test]
fn a_flood_rotates_into_whole_lines_and_every_missing_event_is_counted() {
    let s = Scratch::new();
    let events = s.path("flood.jsonl");
    let out = run_probe(
        &[
            "--trace",
            "getppid",
            "--events-max-bytes",
            &MAX_BYTES.to_string(),
            "--events-keep",
            "10000",
        ],
        &events,
        &["getppid", &CALLS.to_string()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Oldest first: PATH.N .. PATH.1, then PATH.
    let n = (1..).take_while(|&i| rotated(&events, i).exists()).count() as u32;
    assert!(n >= 5, "only {n} rotations for {CALLS} call events");
    let files: Vec<PathBuf> = (1..=n)
        .rev()
        .map(|i| rotated(&events, i))
        .chain([events.clone()])
        .collect();
    let mut all: Vec<Value> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.len() as u64 <= MAX_BYTES,
            "{} has {} bytes",
            file.display(),
            text.len()
        );
        assert!(
            text.ends_with('\n'),
            "{} ends within a line",
            file.display()
        );
        all.extend(read_events(file)); // every line whole JSON with the common fields
    }
    let first = &all[0];
    let last = all.last().unwrap();
    assert_eq!(
        (first["kind"].as_str(), first["phase"].as_str()),
        (Some("lifecycle"), Some("start")),
        "{first}"
    );
    assert!(
        all.iter().any(|e| e["phase"] == "exit"),
        "no exit event in the rotated files"
    );
    assert!(last.get("kind").is_some());

    // Accounting: calls = call events + what the eBPF side dropped (+ what the sink dropped).
    let calls = syscall_event(&all, "getppid").expect("getppid counted")["count"]
        .as_u64()
        .unwrap();
    assert!(calls >= CALLS);
    let call_events = syscall_calls(&all, "getppid").len() as u64;
    let lost = |what: &str, place: &str| -> u64 {
        events_of(&all, "lost")
            .iter()
            .filter(|e| e["what"] == what && e["place"] == place)
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    };
    let ebpf = lost("syscall-event", "ebpf") + lost("syscall-event", "ring-buffer-reader");
    let sink = lost("event", "sink");
    assert!(
        call_events + ebpf <= calls && calls <= call_events + ebpf + sink,
        "{calls} calls, {call_events} call events, {ebpf} lost in eBPF, {sink} dropped by the sink"
    );
}

#[test]
fn rotation_needs_a_file() {
    let probe = probe_bin();
    for args in [
        vec![
            "run",
            "--events",
            "-",
            "--events-max-bytes",
            "1000",
            "--",
            probe.to_str().unwrap(),
            "getppid",
            "1",
        ],
        vec![
            "run",
            "--events-max-bytes",
            "1000",
            "--",
            probe.to_str().unwrap(),
            "getppid",
            "1",
        ],
        vec![
            "run",
            "--events",
            "/tmp/x",
            "--events-keep",
            "3",
            "--",
            probe.to_str().unwrap(),
            "getppid",
            "1",
        ],
    ] {
        let out = enforcer(&args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", stderr(&out));
        assert!(
            !stdout(&out).contains("getppid("),
            "the workload ran: {args:?}"
        );
    }
}
