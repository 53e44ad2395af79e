//! `report` over a rotated log: a directory reads the log with its rotations in order, rotated
//! files that do not exist yet are skipped with a note, and a workload whose `start` event
//! rotated away keeps its name (each rotated-to file begins with a `continued` event).

mod rollout_support;

use enforcer_tests::*;
use rollout_support::{cgroup_name, report_json, workload};

#[test]
fn a_rotated_log_keeps_the_workloads_name_and_reads_in_order() {
    let s = Scratch::new();
    let dir = s.mkdir("logs");
    let events = dir.join("events.jsonl");
    let cgroup = cgroup_name("report-rotated");
    let out = run_probe(
        &[
            "--cgroup",
            &cgroup,
            "--trace",
            "getppid",
            "--events-max-bytes",
            "20000",
            "--events-keep",
            "3",
        ],
        &events,
        &["getppid", "3000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rotated = |n: u32| dir.join(format!("events.jsonl.{n}"));
    assert!(rotated(3).exists() && !rotated(4).exists(), "keep 3");
    let starts = std::fs::read_dir(&dir)
        .unwrap()
        .flat_map(|f| read_events(&f.unwrap().path()))
        .filter(|e| e["phase"] == "start")
        .count();
    assert_eq!(starts, 0, "the start event was meant to rotate away");

    // The directory: the log's files oldest first, and the workload under its own name.
    let report = report_json(&[&dir]);
    let files: Vec<String> = (report["files"].as_array().unwrap().iter())
        .map(|f| f.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "events.jsonl.3",
            "events.jsonl.2",
            "events.jsonl.1",
            "events.jsonl"
        ]
    );
    let w = workload(&report, &cgroup);
    assert!(
        w["command"][0].as_str().unwrap().ends_with("/probe"),
        "{w:#}"
    );
    assert_eq!(w["exits"].as_array().unwrap().len(), 1, "{w:#}");

    // The rotations named one by one, as many as --events-keep allows at most: the missing
    // ones are skipped, and said so.
    let mut args = vec!["report".to_string()];
    args.extend((1..=5).rev().map(|n| rotated(n).display().to_string()));
    args.push(events.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = enforcer(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    for n in [5, 4] {
        assert!(
            err.contains(&format!("events.jsonl.{n}: no such rotated log")),
            "{err}"
        );
    }
    assert!(!err.contains("events.jsonl.3"), "{err}");
    assert!(
        stdout(&o).contains(&format!("/enforcer/{cgroup}")),
        "{}",
        stdout(&o)
    );

    // The live file alone still names the workload.
    let live = report_json(&[&events]);
    workload(&live, &cgroup);
}
