//! The rollout loop end to end: a recorded profile lacks one call the workload later makes;
//! audit mode logs a would-deny for it, `report` lists it under the workload, `profile
//! suggest` adds exactly that call, and the workload then runs under the suggested profile in
//! enforce mode.

mod rollout_support;

use enforcer_tests::*;
use rollout_support::*;
use serde_json::Value;
use std::path::Path;

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// `profile suggest --output OUT`: (exit code, the diff lines on stdout, stderr).
fn suggest(
    profile: &Path,
    events: &Path,
    out: &Path,
    extra: &[&str],
) -> (Option<i32>, Vec<String>, String) {
    let mut args = vec![
        "profile",
        "suggest",
        "--profile",
        profile.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = enforcer(&args);
    (
        o.status.code(),
        stdout(&o).lines().map(str::to_string).collect(),
        stderr(&o),
    )
}

fn would_denies<'a>(events: &'a [Value], syscall: &str) -> Vec<&'a Value> {
    events_of(events, "decision")
        .into_iter()
        .filter(|e| e["outcome"] == "would-deny" && e["syscall"] == syscall)
        .collect()
}

#[test]
fn a_call_missing_from_the_recording_is_found_reported_suggested_and_then_runs() {
    let (s, profile, audit, cgroup) =
        audit_with_extra_call("rollout-plain", &["getppid", "2"], &["socket", "1"]);
    // Audit: the call ran, and the log says enforce mode would have refused it, and why.
    let events = read_events(&audit);
    let would = would_denies(&events, "socket");
    assert_eq!(would.len(), 1, "{events:#?}");
    assert_eq!(would[0]["rule"], "profile:$.defaultAction");
    assert_eq!(would[0]["would"], "SCMP_ACT_ERRNO(EPERM)");
    assert!(
        events_of(&events, "decision")
            .iter()
            .all(|e| e["syscall"] == "socket"),
        "only the missing call is would-deny: {events:#?}"
    );

    // The report lists it under this workload.
    let report = report_json(&[&audit]);
    let w = workload(&report, &cgroup);
    let rows = w["would_deny"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{w:#}");
    assert_eq!(rows[0]["syscall"], "socket");
    assert_eq!(rows[0]["count"], 1);
    assert_eq!(rows[0]["rule"], "profile:$.defaultAction");
    let text = stdout(&enforcer(&["report", audit.to_str().unwrap()]));
    assert!(
        text.contains("WOULD BREAK") && text.contains(&cgroup) && text.contains("socket"),
        "{text}"
    );

    // The suggestion adds exactly that call, as narrow as `record` would: this family only.
    let suggested = s.path("suggested.json");
    let (code, diff, err) = suggest(&profile, &audit, &suggested, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(
        diff[0].starts_with(
            "socket: was denied (EPERM, default), now allowed when arg0 & 0xffffffff == 0x1 by \
             $.syscalls["
        ),
        "{diff:?}"
    );
    let (old, new) = (load(&profile), load(&suggested));
    let (old_rules, new_rules) = (
        old["syscalls"].as_array().unwrap(),
        new["syscalls"].as_array().unwrap(),
    );
    assert_eq!(
        &new_rules[..old_rules.len()],
        &old_rules[..],
        "existing entries untouched"
    );
    assert_eq!(new_rules.len(), old_rules.len() + 1);
    assert_eq!(
        new_rules.last().unwrap()["names"],
        serde_json::json!(["socket"])
    );
    assert_eq!(
        new_rules.last().unwrap()["args"],
        serde_json::json!([{"index": 0, "value": 0xffff_ffffu64, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]),
        "the rule record writes for the family seen"
    );
    let check = enforcer(&["profile", "check", suggested.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    // Enforce: the old profile refuses the call, the suggested one lets it run.
    let args = ["getppid", "2", "socket", "1"];
    let old_run = run_mode(
        &profile,
        "enforce",
        &cgroup_name("rollout-old"),
        &s.path("old.jsonl"),
        &args,
    );
    assert!(
        stdout(&old_run).contains("socket(1, SOCK_STREAM, 0) = -1 EPERM"),
        "{}",
        stdout(&old_run)
    );
    let enforced = s.path("enforce.jsonl");
    let run = run_mode(
        &suggested,
        "enforce",
        &cgroup_name("rollout-new"),
        &enforced,
        &args,
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let out = stdout(&run);
    let line = out
        .lines()
        .find(|l| l.starts_with("socket("))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(!line.contains("= -1"), "socket still refused: {out}");
    let socket = syscall_event(&read_events(&enforced), "socket")
        .cloned()
        .expect("socket observed");
    assert_eq!(
        socket["count"], socket["entered"],
        "a call was stopped: {socket}"
    );
    // Another family is still refused.
    let other = run_mode(
        &suggested,
        "enforce",
        &cgroup_name("rollout-other"),
        &s.path("other.jsonl"),
        &["socket", "2"],
    );
    assert!(
        stdout(&other).contains("socket(2, SOCK_STREAM, 0) = -1 EPERM"),
        "{}",
        stdout(&other)
    );
}

#[test]
fn a_call_with_new_argument_values_gets_a_rule_for_exactly_those_values() {
    // The recording narrows personality to the value it saw; the workload then asks for another.
    let (s, profile, audit, _) = audit_with_extra_call(
        "rollout-args",
        &["personality", "0"],
        &["personality", "8", "personality", "0"],
    );
    assert_eq!(would_denies(&read_events(&audit), "personality").len(), 1);
    let suggested = s.path("suggested.json");
    let (code, diff, err) = suggest(&profile, &audit, &suggested, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(
        diff[0].starts_with("personality: was allowed when arg0 & 0xffffffff == 0"),
        "{diff:?}"
    );
    let added = load(&suggested)["syscalls"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(added["names"], serde_json::json!(["personality"]));
    assert_eq!(
        added["args"],
        serde_json::json!([{"index": 0, "value": 0xffff_ffffu64, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}])
    );
    // Enforce: the value seen runs, any other value is still refused.
    let run = run_mode(
        &suggested,
        "enforce",
        &cgroup_name("rollout-args-new"),
        &s.path("e.jsonl"),
        &[
            "personality",
            "8",
            "personality",
            "0",
            "personality",
            "0x20",
        ],
    );
    let out = stdout(&run);
    assert!(out.contains("personality(0x8) = 0\n"), "{out}");
    assert!(out.contains("personality(0x20) = -1 EPERM"), "{out}");
}

#[test]
fn tighten_removes_what_was_never_called_and_refuses_without_counts() {
    let (s, profile, audit, _) =
        audit_with_extra_call("rollout-tighten", &["getppid", "2", "socket", "1"], &[]);
    // A run that no longer opens sockets: tightening drops socket and keeps the rest.
    let events = s.path("later.jsonl");
    let run = run_mode(
        &profile,
        "audit",
        &cgroup_name("rollout-tighten-2"),
        &events,
        &["getppid", "2"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let tightened = s.path("tight.json");
    let (code, diff, err) = suggest(&profile, &events, &tightened, &["--tighten"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        diff.iter().any(|l| l.starts_with("socket: was allowed")),
        "{diff:?}"
    );
    assert!(
        !diff
            .iter()
            .any(|l| l.starts_with("getppid:") || l.starts_with("execve:")),
        "{diff:?}"
    );
    let again = run_mode(
        &tightened,
        "enforce",
        &cgroup_name("rollout-tighten-3"),
        &s.path("e.jsonl"),
        &["getppid", "2"],
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{} {}",
        stdout(&again),
        stderr(&again)
    );

    // Decisions alone (no observer counts) cannot say what was never called.
    let decisions_only = s.path("decisions.jsonl");
    let text: String = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"kind\":\"syscall_"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&decisions_only, text).unwrap();
    let (code, _, err) = suggest(&profile, &decisions_only, &s.path("x.json"), &["--tighten"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("--tighten") && err.contains("no `syscall_count` aggregates"),
        "{err}"
    );
    assert!(!s.path("x.json").exists());
}

#[test]
fn bad_event_lines_are_named_with_file_and_line() {
    let s = Scratch::new();
    let bad = s.path("bad.jsonl");
    std::fs::write(&bad, "{\"schema\":\"enforcer.event.v1\"}\nnot json\n").unwrap();
    let out = enforcer(&["report", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains(&format!("{}:1:", bad.display())),
        "{}",
        stderr(&out)
    );
    let profile = s.path("p.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let out = enforcer(&[
        "profile",
        "suggest",
        "--profile",
        profile.to_str().unwrap(),
        "--events",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("bad.jsonl:1:"), "{}", stderr(&out));
}
