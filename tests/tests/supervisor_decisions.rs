//! The supervisor's decisions that depend on memory: carried out by the supervisor itself on
//! its own copy of the path, for the caller's credentials and root, never continued.

use enforcer_tests::*;
use serde_json::Value;
use std::path::Path;

/// A policy allowing chmod-family calls without setuid, setgid or world-write bits under
/// `dir`, denying the rest (the registers are checked first, so a dangerous mode is denied
/// without reading memory).
fn allow_dir_policy(s: &Scratch, dir: &Path) -> std::path::PathBuf {
    let p = s.path("policy.json");
    let policy = serde_json::json!({
        "defaultAction": "deny",
        "rules": [
            { "name": "allowed-dir", "syscalls": ["@chmod"],
              "args": [{ "arg": "mode", "op": "SCMP_CMP_MASKED_EQ", "value": "0o6002", "valueTwo": 0 }],
              "paths": [format!("{}/**", dir.display())], "action": "allow" }
        ]
    });
    std::fs::write(&p, policy.to_string()).unwrap();
    p
}

fn decisions(events: &[Value]) -> Vec<&Value> {
    events_of(events, "decision")
}

fn exit_summary(events: &[Value]) -> Value {
    events_of(events, "lifecycle")
        .into_iter()
        .find(|e| e["phase"] == "exit")
        .expect("exit event")["supervisor"]
        .clone()
}

fn run_ok(s: &Scratch, policy: &Path, probe_args: &[&str]) -> (String, Vec<Value>) {
    let events = s.path("events.jsonl");
    let _ = std::fs::remove_file(&events);
    let out = run_probe(&["--policy", policy.to_str().unwrap()], &events, probe_args);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {text}\nstderr: {}",
        stderr(&out)
    );
    (text, read_events(&events))
}

#[test]
fn every_form_of_chmod_gets_the_same_path_decision() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let other = s.mkdir("other");
    let policy = allow_dir_policy(&s, &allowed);
    for (dir, expect_ok) in [(&allowed, true), (&other, false)] {
        let files: Vec<_> = (0..6)
            .map(|i| {
                s.file(
                    &format!("{}/f{i}", dir.file_name().unwrap().to_str().unwrap()),
                    0o600,
                )
            })
            .collect();
        let f = |i: usize| files[i].to_str().unwrap().to_owned();
        let name = |i: usize| files[i].file_name().unwrap().to_str().unwrap().to_owned();
        let (text, events) = run_ok(
            &s,
            &policy,
            &[
                "chmod",
                &f(0),
                "0640",
                "fchmod",
                &f(1),
                "0640",
                "fchmodat-dir",
                dir.to_str().unwrap(),
                &name(2),
                "0640",
                "fchmodat2",
                &f(3),
                "0640",
                "0x100",
                "fchmodat2",
                &f(4),
                "0640",
                "0",
                "chmod-proc-fd",
                &f(5),
                "0640",
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        for (i, line) in lines.iter().enumerate() {
            if expect_ok {
                assert!(line.ends_with("= 0"), "{line}");
                assert_eq!(mode_of(&files[i]), 0o640, "{line}");
            } else {
                assert!(
                    line.ends_with("= -1 EPERM (Operation not permitted)"),
                    "{line}"
                );
                assert_eq!(mode_of(&files[i]), 0o600, "{line}");
            }
        }
        let d = decisions(&events);
        assert_eq!(d.len(), 6, "{d:?}");
        for e in d {
            let want = if expect_ok { "emulated" } else { "denied" };
            assert_eq!(e["outcome"], want, "{e}");
            assert!(
                e["path"]
                    .as_str()
                    .unwrap()
                    .starts_with(dir.to_str().unwrap()),
                "the resolved path is logged: {e}"
            );
        }
    }
}

#[test]
fn register_only_denials_need_no_path() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let policy = allow_dir_policy(&s, &allowed);
    let f = s.file("allowed/f", 0o600);
    let (text, events) = run_ok(&s, &policy, &["chmod", f.to_str().unwrap(), "04755"]);
    assert!(text.contains("EPERM"), "{text}");
    let d = decisions(&events);
    assert_eq!(d[0]["rule"], "default");
    assert!(
        d[0].get("path").is_none(),
        "decided on the register, memory not read: {}",
        d[0]
    );
}

#[test]
fn symlinks_and_dotdot_never_lead_outside_the_allowed_tree() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let outside = s.file("outside", 0o600);
    std::os::unix::fs::symlink(&outside, allowed.join("link")).unwrap();
    let policy = allow_dir_policy(&s, &allowed);
    let dotdot = format!("{}/../outside", allowed.display());
    let link = allowed.join("link");
    let (text, events) = run_ok(
        &s,
        &policy,
        &[
            "chmod",
            link.to_str().unwrap(),
            "0644",
            "chmod",
            &dotdot,
            "0644",
            "fchmodat2",
            link.to_str().unwrap(),
            "0644",
            "0x100",
        ],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("EPERM (Operation not permitted)"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("EPERM (Operation not permitted)"),
        "{text}"
    );
    // NOFOLLOW on the link: the link itself is in the tree; chmod of a symlink is refused by
    // the kernel with EOPNOTSUPP, and the supervisor returns exactly that.
    assert!(lines[2].contains("= -1"), "{text}");
    assert!(!lines[2].contains("= 0"), "{text}");
    assert_eq!(
        mode_of(&outside),
        0o600,
        "the file outside was never changed"
    );
    let d = decisions(&events);
    let on_outside = d
        .iter()
        .filter(|e| e["path"] == outside.to_str().unwrap())
        .count();
    assert_eq!(
        on_outside, 2,
        "the policy saw the resolved path of both escapes: {d:?}"
    );
}

#[test]
fn a_chrooted_workload_cannot_reach_outside_its_root() {
    let s = Scratch::new();
    let root = s.mkdir("root");
    let allowed = s.mkdir("root/allowed");
    let host_file = s.file("hostfile", 0o600);
    let inner_file = s.file("root/hostfile", 0o600);
    std::os::unix::fs::symlink("../../hostfile", allowed.join("up")).unwrap();
    std::os::unix::fs::symlink("/hostfile", allowed.join("abs")).unwrap();
    // Globs are over paths inside the workload's root.
    let p = s.path("policy.json");
    std::fs::write(&p, r#"{"rules":[{"syscalls":["@chmod"],"paths":["/allowed/**","/hostfile"],"action":"allow"}]}"#).unwrap();
    let (text, events) = run_ok(
        &s,
        &p,
        &[
            "chroot",
            root.to_str().unwrap(),
            "chmod",
            "/allowed/up",
            "0644",
            "chmod",
            "/allowed/abs",
            "0640",
            "chmod",
            "/../../../hostfile",
            "0604",
        ],
    );
    assert_eq!(
        mode_of(&host_file),
        0o600,
        "the host's file outside the root is untouched: {text}"
    );
    // Each resolution stayed in the root: they all reached root/hostfile.
    assert_eq!(mode_of(&inner_file), 0o604, "{text}");
    for e in decisions(&events) {
        assert_eq!(e["path"], "/hostfile", "{e}");
        assert_eq!(e["outcome"], "emulated", "{e}");
    }
}

#[test]
fn confused_deputy_gets_the_kernels_eperm() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let policy = allow_dir_policy(&s, &allowed);
    let roots = s.file("allowed/roots", 0o600);
    let mine = s.file("allowed/mine", 0o600);
    std::os::unix::fs::chown(&mine, Some(1000), Some(1000)).unwrap();
    let (text, events) = run_ok(
        &s,
        &policy,
        &[
            "setuid",
            "1000",
            "chmod",
            roots.to_str().unwrap(),
            "0644",
            "chmod",
            mine.to_str().unwrap(),
            "0640",
        ],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].ends_with("= -1 EPERM (Operation not permitted)"),
        "allowed by policy, refused by the kernel for uid 1000: {text}"
    );
    assert!(lines[2].ends_with("= 0"), "{text}");
    assert_eq!(mode_of(&roots), 0o600);
    assert_eq!(mode_of(&mine), 0o640);
    // Events of calls decided on the blocking pool are written as each is answered: find
    // them by path, not by position.
    let d = decisions(&events);
    let on_roots = d
        .iter()
        .find(|e| e["path"] == roots.to_str().unwrap())
        .expect("decision for the root-owned file");
    assert_eq!(on_roots["rule"], "allowed-dir");
    assert_eq!(
        on_roots["outcome"], "denied",
        "emulated, and the kernel said EPERM: {on_roots}"
    );
    assert_eq!(on_roots["errno"], libc::EPERM);
}

#[test]
fn racing_the_path_buffer_never_changes_the_denied_file() {
    let s = Scratch::new();
    let allowed = s.mkdir("aaaaaaa");
    s.mkdir("ddddddd");
    let policy = allow_dir_policy(&s, &allowed);
    let a = s.file("aaaaaaa/target", 0o600);
    let d = s.file("ddddddd/target", 0o600);
    let events = s.path("events.jsonl");
    let out = run_probe(
        &["--policy", policy.to_str().unwrap()],
        &events,
        &[
            "chmod-race",
            a.to_str().unwrap(),
            d.to_str().unwrap(),
            "100000",
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    assert!(text.contains("n=100000"), "{text}");
    assert_eq!(mode_of(&d), 0o600, "the denied file's mode changed: {text}");
    assert_eq!(mode_of(&a), 0o644, "{text}");
}

#[test]
fn signals_to_a_waiting_thread_neither_break_nor_repeat_calls() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let policy = allow_dir_policy(&s, &allowed);
    let f = s.file("allowed/f", 0o600);
    let (text, events) = run_ok(
        &s,
        &policy,
        &["chmod-signalled", f.to_str().unwrap(), "2000"],
    );
    assert!(
        text.contains("ok=2000 "),
        "every call completed despite the signals: {text}"
    );
    let sum = exit_summary(&events);
    assert_eq!(
        sum["emulated"], 2000,
        "each call carried out exactly once: {sum}"
    );
    assert_eq!(
        sum["stale"], 0,
        "no answer was lost to an interrupted call: {sum}"
    );
}

#[test]
fn bad_policy_is_refused_before_anything_runs() {
    let s = Scratch::new();
    let marker = s.path("ran");
    for (text, place) in [
        ("{\"rules\": [", "line 1"),
        (
            r#"{"rules":[{"syscalls":["chmod"],"action":"maybe"}]}"#,
            "$.rules[0].action",
        ),
        (
            r#"{"rules":[{"syscalls":["chmodd"],"action":"allow"}]}"#,
            "$.rules[0].syscalls[0]",
        ),
        (
            r#"{"rules":[{"syscalls":["mount"],"paths":["/x"],"action":"allow"}]}"#,
            "$.rules[0].paths",
        ),
        (
            r#"{"rules":[{"syscalls":["@chmod"],"args":[{"index":6,"op":"EQ","value":0}],"action":"allow"}]}"#,
            "$.rules[0].args[0].index",
        ),
        (
            r#"{"rules":[{"syscalls":["@chmod"],"args":[{"arg":"flags","op":"EQ","value":0}],"action":"allow"}]}"#,
            "$.rules[0].args[0].arg",
        ),
        (
            r#"{"rules":[{"syscalls":["@chmod"],"action":"deny","errno":"EWHAT"}]}"#,
            "$.rules[0].errno",
        ),
        (r#"{"defaultAction":"allow"}"#, "$.defaultAction"),
        (
            r#"{"rules":[{"syscalls":["@chmod"],"action":"allow","bogus":1}]}"#,
            "$.rules[0]",
        ),
    ] {
        let p = s.path("bad-policy.json");
        std::fs::write(&p, text).unwrap();
        let out = run_probe(
            &["--policy", p.to_str().unwrap()],
            &s.path("e.jsonl"),
            &["touch", marker.to_str().unwrap()],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{text}: {err}");
        assert!(
            err.contains(p.to_str().unwrap()) && err.contains(place),
            "{text}: wanted {place} in {err}"
        );
        assert!(!marker.exists(), "the workload ran despite {text}");
    }
}

#[test]
fn identity_rules_match_the_callers_uid() {
    let s = Scratch::new();
    s.mkdir("d");
    let f = s.file("d/f", 0o600);
    std::os::unix::fs::chown(&f, Some(1000), Some(1000)).unwrap();
    let p = s.path("policy.json");
    std::fs::write(&p, r#"{"rules":[
        {"name":"no-uid-1000","syscalls":["@chmod"],"workload":{"uid":["1000-1999"]},"action":"deny","errno":"EACCES"},
        {"name":"others","syscalls":["@chmod"],"action":"allow"}]}"#).unwrap();
    let (text, events) = run_ok(
        &s,
        &p,
        &[
            "chmod",
            f.to_str().unwrap(),
            "0640",
            "setuid",
            "1000",
            "chmod",
            f.to_str().unwrap(),
            "0604",
        ],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("= 0"), "{text}");
    assert!(
        lines[2].ends_with("= -1 EACCES (Permission denied)"),
        "{text}"
    );
    assert_eq!(mode_of(&f), 0o640);
    let mut rules: Vec<&str> = decisions(&events)
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(rules, ["no-uid-1000", "others"]);
}

#[test]
fn a_kill_decision_kills_the_whole_workload() {
    check_kill_decision(r#"{"rules":[{"name":"no-chmod","syscalls":["@chmod"],"action":"kill"}]}"#);
}

/// A rule on the caller's identity is decided on the blocking pool, not on the receiving
/// thread: the kill takes the whole workload just the same, and `run` logs the decision
/// before the workload's exit.
#[test]
fn a_kill_decision_on_the_callers_identity_kills_the_whole_workload() {
    check_kill_decision(
        r#"{"rules":[{"name":"no-chmod","syscalls":["@chmod"],"workload":{"uid":["0"]},"action":"kill"}]}"#,
    );
}

fn check_kill_decision(policy: &str) {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let after = s.path("after");
    let p = s.path("policy.json");
    std::fs::write(&p, policy).unwrap();
    let events = s.path("events.jsonl");
    let out = run_probe(
        &["--policy", p.to_str().unwrap()],
        &events,
        &[
            "chmod",
            f.to_str().unwrap(),
            "0644",
            "touch",
            after.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(137),
        "killed by SIGKILL: {}",
        stderr(&out)
    );
    assert!(!after.exists(), "nothing ran after the killed call");
    assert_eq!(mode_of(&f), 0o600);
    let all = read_events(&events);
    assert_eq!(decisions(&all)[0]["rule"], "no-chmod");
    let position = |pred: &dyn Fn(&serde_json::Value) -> bool| all.iter().position(pred);
    let decided = position(&|e| e["kind"] == "decision").expect("decision logged");
    let exited = position(&|e| e["kind"] == "lifecycle" && e["phase"] == "exit").expect("exit");
    assert!(decided < exited, "decision after the exit event: {all:?}");
}
