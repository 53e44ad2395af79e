//! Issue 12 §1 against `enforcer run`: a workload, as root with Docker's default
//! capabilities, with none, and as uid 1000, under a profile that allows ptrace,
//! process_vm_* and pidfd_getfd, attacks every thread of the enforcer (its credential
//! worker included, after a chmod made it take the caller's credentials) and its watchdog,
//! every way it can; everything is denied and the denied file keeps its mode.

use enforcer_tests::reach::assert_reach_denied;
use enforcer_tests::*;
use std::path::Path;

/// Everything allowed but the chmod family, which the supervisor decides.
const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [{ "names": ["chmod", "fchmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_NOTIFY" }]
}"#;

fn policy(allowed: &Path) -> String {
    serde_json::json!({
        "version": 1,
        "defaultAction": "deny",
        "defaultErrno": "EPERM",
        "rules": [{
            "name": "allowed-dir",
            "syscalls": ["@chmod"],
            "paths": [format!("{}/**", allowed.display())],
            "action": "allow"
        }]
    })
    .to_string()
}

/// `owner`: the uid the workload runs as, who owns the file of the allowed chmod.
fn attack(identity: &[&str], owner: u32) {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let f = allowed.join("f");
    std::fs::write(&f, b"x").unwrap();
    std::os::unix::fs::chown(&f, Some(owner), Some(owner)).unwrap();
    let denied = s.file("denied", 0o600);
    let (profile, policy_file) = (s.path("profile.json"), s.path("policy.json"));
    std::fs::write(&profile, PROFILE).unwrap();
    std::fs::write(&policy_file, policy(&allowed)).unwrap();
    let events = s.path("events.jsonl");
    let mut opts = vec![
        "--profile",
        profile.to_str().unwrap(),
        "--policy",
        policy_file.to_str().unwrap(),
        "--on-supervisor-exit",
        "kill",
    ];
    opts.extend_from_slice(identity);
    let out = run_probe(
        &opts,
        &events,
        &[
            // First an emulated chmod: the supervisor's credential worker takes the caller's
            // credentials, the thread the original attack went for.
            "chmod",
            f.to_str().unwrap(),
            "0640",
            "reach",
            "parent",
            "chmod",
            denied.to_str().unwrap(),
            "04777",
            "dumpable",
        ],
    );
    let text = stdout(&out);
    let context = format!("{identity:?}\nstdout:\n{text}\nstderr:\n{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{context}");
    assert!(
        text.lines().next().is_some_and(|l| l.ends_with("= 0")),
        "the allowed chmod failed: {context}"
    );
    assert_reach_denied(&text, 2, &context);
    assert!(
        text.contains("0o4777) = -1 EPERM"),
        "the policy did not deny: {context}"
    );
    assert_eq!(mode_of(&denied), 0o600, "{context}");
    // execve gave the workload a dumpable mm of its own: the enforcer's flag is not inherited.
    assert!(text.contains("dumpable = 1"), "{context}");
}

#[test]
fn root_with_default_capabilities_cannot_reach_the_enforcer() {
    attack(&[], 0);
}

#[test]
fn root_without_capabilities_cannot_reach_the_enforcer() {
    attack(&["--cap-drop", "ALL"], 0);
}

#[test]
fn uid_1000_cannot_reach_the_enforcer() {
    attack(&["--user", "1000"], 1000);
}

#[test]
fn a_workload_given_sys_ptrace_or_sys_admin_is_warned_about() {
    let plain = enforcer(&["run", "--", "true"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(
        !stderr(&plain).contains("can reach the enforcer"),
        "{}",
        stderr(&plain)
    );
    let out = enforcer(&[
        "run",
        "--cap-add",
        "SYS_PTRACE",
        "--cap-add",
        "SYS_ADMIN",
        "--",
        "true",
    ]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for cap in ["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"] {
        assert!(
            text.contains(&format!("holds {cap}: it can reach the enforcer")),
            "{text}"
        );
    }
}
