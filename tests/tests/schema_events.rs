//! Every kind of event the enforcer writes, taken from real runs, validates against the
//! schema in docs/events.schema.json; and the runs are checked to have written every kind.

use enforcer_tests::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.schema.json");

/// What an event is, finely enough to tell the forms and phases apart.
fn form(e: &Value) -> String {
    let kind = e["kind"].as_str().unwrap_or("?");
    match kind {
        "decision" => format!("decision/{}", e["outcome"].as_str().unwrap_or("?")),
        "lost" => format!("lost/{}", e["place"].as_str().unwrap_or("?")),
        "lifecycle" => format!("lifecycle/{}", e["phase"].as_str().unwrap_or("?")),
        other => other.to_string(),
    }
}

fn validate_all(events: &[Value], seen: &mut BTreeSet<String>) {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    for e in events {
        let errors: Vec<String> = validator
            .iter_errors(e)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{e}\ndoes not match the schema: {errors:#?}"
        );
        seen.insert(form(e));
    }
}

/// A run whose event log on a pipe stalls until the queue overflows: the sink's drops.
fn stalled_run_events() -> Vec<Value> {
    let probe = probe_bin();
    let mut child = Command::new(enforcer_bin())
        .args([
            "run",
            "--events",
            "-",
            "--trace",
            "getppid",
            "--",
            probe.to_str().unwrap(),
            "getppid",
            "300000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3)); // nobody reads: the pipe and the queue fill
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(child.wait().unwrap().success());
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(event_of_line)
        .collect()
}

#[test]
fn every_kind_of_event_written_matches_the_schema() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let f = f.to_str().unwrap();
    let mut seen = BTreeSet::new();

    // Decisions (allowed, denied), counts, calls, start and exit.
    let enforce = s.path("enforce.jsonl");
    let out = run_probe(&[], &enforce, &["chmod", f, "0644", "chmod", f, "04755"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    validate_all(&read_events(&enforce), &mut seen);

    // Would-deny, in audit mode under a profile that refuses mount.
    let audit = s.path("audit.jsonl");
    let out = run_probe(&["--mode", "audit"], &audit, &["mount"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    validate_all(&read_events(&audit), &mut seen);

    // Losses in the eBPF ring buffer: a tiny one, flooded.
    let flood = s.path("flood.jsonl");
    let out = run_probe(
        &["--trace", "getppid", "--ring-buffer-bytes", "4096"],
        &flood,
        &["getppid", "20000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    validate_all(&read_events(&flood), &mut seen);

    // Losses in the sink.
    validate_all(&stalled_run_events(), &mut seen);

    // Watching a cgroup with `enforcer observe`.
    let watched = s.path("observe.jsonl");
    let cgroup = format!("schema-watch-{}", std::process::id());
    let root = cgroup_v2_root();
    let dir = root.join(&cgroup);
    std::fs::create_dir(&dir).unwrap();
    let out = enforcer(&[
        "observe",
        "--cgroup",
        &cgroup,
        "--duration",
        "1",
        "--events",
        watched.to_str().unwrap(),
    ]);
    std::fs::remove_dir(&dir).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    validate_all(&read_events(&watched), &mut seen);

    let wanted = [
        "decision/allowed",
        "decision/denied",
        "decision/would-deny",
        "syscall_count",
        "syscall_trace",
        "lost/ebpf",
        "lost/sink",
        "lifecycle/start",
        "lifecycle/exit",
        "lifecycle/watch",
    ];
    let missing: Vec<&&str> = wanted.iter().filter(|w| !seen.contains(**w)).collect();
    assert!(
        missing.is_empty(),
        "no real event of {missing:?} was validated (seen: {seen:?})"
    );
}
