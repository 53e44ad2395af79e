//! `enforcer run` end to end on the chmod scenario: real filters, a real supervisor, real
//! processes, and the eBPF observer's counts.

use enforcer_tests::*;

#[test]
fn seed_profile_denies_chmod_in_the_kernel_but_not_fchmodat() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let g = s.file("g", 0o600);
    let events = s.path("events.jsonl");
    let out = run_probe(
        &[
            "--profile",
            real_profile("seed-chmod-errno.json").to_str().unwrap(),
        ],
        &events,
        &[
            "chmod",
            f.to_str().unwrap(),
            "0644",
            "fchmodat",
            g.to_str().unwrap(),
            "0644",
        ],
    );
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {text}\nstderr: {}",
        stderr(&out)
    );
    assert!(
        text.contains("chmod(") && text.contains("= -1 EPERM (Operation not permitted)"),
        "{text}"
    );
    assert_eq!(mode_of(&f), 0o600, "the denied chmod changed the mode");
    // Docker semantics: the profile names only chmod, so fchmodat is allowed.
    assert!(
        text.contains("fchmodat(AT_FDCWD")
            && text
                .lines()
                .any(|l| l.starts_with("fchmodat(") && l.ends_with("= 0")),
        "{text}"
    );
    assert_eq!(mode_of(&g), 0o644);
    // Denied in the kernel: the supervisor saw nothing.
    assert!(events_of(&read_events(&events), "decision").is_empty());
}

#[test]
fn builtin_default_allows_safe_modes_and_denies_setuid_at_runtime() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    let fp = f.to_str().unwrap();
    let out = run_probe(&[], &events, &["chmod", fp, "0644", "chmod", fp, "04755"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {text}\nstderr: {}",
        stderr(&out)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("= 0"), "{text}");
    assert!(
        lines[1].ends_with("= -1 EPERM (Operation not permitted)"),
        "{text}"
    );
    assert_eq!(
        mode_of(&f),
        0o644,
        "allowed chmod applied, denied one did not"
    );

    let all = read_events(&events);
    let decisions = events_of(&all, "decision");
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert_eq!(decisions[0]["syscall"], "chmod");
    assert_eq!(decisions[0]["outcome"], "allowed");
    assert_eq!(decisions[0]["args"][1], 0o644);
    assert_eq!(decisions[1]["outcome"], "denied");
    assert_eq!(decisions[1]["errno"], libc::EPERM);
    assert_eq!(decisions[1]["args"][1], 0o4755);
    let cgroup = decisions[0]["cgroup_id"].as_u64().unwrap();
    assert!(cgroup > 1);
    assert!(
        all.iter().all(|e| e["cgroup_id"] == cgroup),
        "one identity for every event"
    );
    let phases: Vec<&str> = events_of(&all, "lifecycle")
        .iter()
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert!(
        phases.contains(&"start") && phases.contains(&"exit"),
        "{phases:?}"
    );
}

#[test]
fn observer_counts_calls_and_sees_seccomp_denials_at_exit() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    let out = run_probe(
        &[
            "--profile",
            real_profile("seed-chmod-errno.json").to_str().unwrap(),
        ],
        &events,
        &["getppid", "250", "chmod", f.to_str().unwrap(), "0644"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    assert!(
        events_of(&all, "lifecycle")
            .iter()
            .all(|e| e["phase"] != "observer-degraded"),
        "observer did not load: {all:?}"
    );
    let getppid = syscall_event(&all, "getppid").expect("getppid observed");
    assert_eq!(getppid["count"], 250);
    assert_eq!(getppid["entered"], 250);
    let chmod = syscall_event(&all, "chmod").expect("denied chmod observed");
    assert_eq!(chmod["count"], 1, "{chmod}");
    assert_eq!(
        chmod["entered"], 0,
        "seccomp denies before sys_enter: {chmod}"
    );
    assert_eq!(chmod["errors"]["EPERM"], 1, "{chmod}");
}
