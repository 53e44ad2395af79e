//! `enforcer run` exits as `docker run` does.

use enforcer_tests::*;

#[test]
fn workload_status_is_passed_through() {
    let s = Scratch::new();
    let out = run_probe(&[], &s.path("e.jsonl"), &["exit", "3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn killed_by_sigkill_is_137() {
    let s = Scratch::new();
    let out = run_probe(&[], &s.path("e.jsonl"), &["kill-self", "9"]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    let all = read_events(&s.path("e.jsonl"));
    let exit = events_of(&all, "lifecycle")
        .into_iter()
        .find(|e| e["phase"] == "exit")
        .expect("exit event");
    assert_eq!(exit["signal"], 9);
}

#[test]
fn missing_command_is_127() {
    let out = enforcer(&["run", "--", "/nonexistent/enforcer-test-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    let out = enforcer(&["run", "--", "enforcer-no-such-command-anywhere"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("command not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn non_executable_command_is_126() {
    let s = Scratch::new();
    let f = s.file("not-exec", 0o644);
    let out = enforcer(&["run", "--", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
}

#[test]
fn invalid_json_profile_is_125_with_file_and_line_and_nothing_runs() {
    let s = Scratch::new();
    let profile = s.path("bad.json");
    std::fs::write(
        &profile,
        "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n}\n",
    )
    .unwrap();
    let marker = s.path("ran");
    let out = run_probe(
        &["--profile", profile.to_str().unwrap()],
        &s.path("e.jsonl"),
        &["touch", marker.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains(profile.to_str().unwrap()),
        "names the file: {err}"
    );
    assert!(err.contains("line 4"), "names the line: {err}");
    assert!(!marker.exists(), "the workload must not start");
}
