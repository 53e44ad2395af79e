//! Steps of the rollout workflow shared by the rollout, report and metrics tests: record a
//! workload, run it in audit mode, read what the commands print.

#![allow(dead_code)]

use enforcer_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `enforcer record --output PROFILE -- probe ARGS`, checked.
pub fn record_probe(profile: &Path, probe_args: &[&str]) {
    let probe = probe_bin();
    let mut args = vec!["record", "--output", profile.to_str().unwrap(), "--"];
    args.push(probe.to_str().unwrap());
    args.extend_from_slice(probe_args);
    let out = enforcer(&args);
    assert_eq!(out.status.code(), Some(0), "record: {}", stderr(&out));
    let check = enforcer(&["profile", "check", profile.to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "profile check: {}",
        stderr(&check)
    );
}

/// A cgroup name of this test process, so that parallel tests never share one.
pub fn cgroup_name(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

/// `enforcer run --profile PROFILE --mode MODE --cgroup CGROUP --events EVENTS -- probe ARGS`.
pub fn run_mode(
    profile: &Path,
    mode: &str,
    cgroup: &str,
    events: &Path,
    probe_args: &[&str],
) -> Output {
    run_probe(
        &[
            "--profile",
            profile.to_str().unwrap(),
            "--mode",
            mode,
            "--cgroup",
            cgroup,
        ],
        events,
        probe_args,
    )
}

/// `enforcer report --json EVENTS`, parsed.
pub fn report_json(events: &[&Path]) -> Value {
    let mut args = vec!["report", "--json"];
    args.extend(events.iter().map(|p| p.to_str().unwrap()));
    let out = enforcer(&args);
    assert_eq!(out.status.code(), Some(0), "report: {}", stderr(&out));
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("report --json: {e}: {}", stdout(&out)))
}

/// The report's workload whose cgroup directory ends with /enforcer/NAME.
pub fn workload<'a>(report: &'a Value, cgroup: &str) -> &'a Value {
    let suffix = format!("/enforcer/{cgroup}");
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["cgroup"].as_str().is_some_and(|c| c.ends_with(&suffix)))
        .unwrap_or_else(|| panic!("no workload for cgroup {cgroup} in {report:#}"))
}

/// An audit run of a recorded workload that also makes `extra`, which the recording lacks:
/// (scratch, recorded profile, audit log, cgroup name).
pub fn audit_with_extra_call(
    test: &str,
    recorded: &[&str],
    extra: &[&str],
) -> (Scratch, PathBuf, PathBuf, String) {
    let s = Scratch::new();
    let profile = s.path("recorded.json");
    record_probe(&profile, recorded);
    let events = s.path("audit.jsonl");
    let cgroup = cgroup_name(test);
    let mut args: Vec<&str> = recorded.to_vec();
    args.extend_from_slice(extra);
    let out = run_mode(&profile, "audit", &cgroup, &events, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "audit run: {} {}",
        stdout(&out),
        stderr(&out)
    );
    (s, profile, events, cgroup)
}
