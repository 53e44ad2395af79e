//! Every kind of bad profile input stops `enforcer run` before the workload starts: exit 125,
//! a message naming the file, the JSON path and the problem, and the workload's marker file
//! never appears. `enforcer profile check` refuses the same files with the same message.

use enforcer_tests::*;

/// (what, profile text, the message's JSON path and problem).
const CASES: &[(&str, &str, &str)] = &[
    (
        "malformed JSON",
        "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  oops\n}",
        "line 3, column 3: invalid JSON: key must be a string",
    ),
    (
        "empty profile",
        "{}",
        "$: empty profile: no defaultAction and no syscalls",
    ),
    (
        "no defaultAction",
        r#"{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
        "$.defaultAction: missing defaultAction",
    ),
    (
        "name with names",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#,
        "$.syscalls[0]: both \"name\" and \"names\" are set",
    ),
    (
        "architectures with archMap",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]}"#,
        "$.archMap: both \"architectures\" and \"archMap\" are set",
    ),
    (
        "unknown action",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_PERMIT"}]}"#,
        "$.syscalls[0].action: unknown action \"SCMP_ACT_PERMIT\"",
    ),
    (
        "unknown op",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SAME"}]}]}"#,
        "$.syscalls[0].args[0].op: unknown comparison operator \"SCMP_CMP_SAME\"",
    ),
    (
        "unknown architecture",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_65"]}"#,
        "$.architectures[0]: unknown architecture \"SCMP_ARCH_X86_65\"",
    ),
    (
        "unknown flag",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}"#,
        "$.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FAST\"",
    ),
    (
        "unknown capability",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMN"]}}]}"#,
        "$.syscalls[0].includes.caps[0]: unknown capability \"CAP_SYS_ADMN\"",
    ),
    (
        "arg index above 5",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
        "$.syscalls[0].args[0].index: argument index 6 out of range",
    ),
    (
        "errnoRet without an errno action",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}"#,
        "$.syscalls[0].errnoRet: errnoRet is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
    ),
    (
        "unknown syscall",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}"#,
        "$.syscalls[0].names[1]: unknown syscall \"no_such_syscall\"",
    ),
    (
        "NOTIFY as the default action",
        r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
        "$.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    ),
    (
        "NOTIFY on a hand-off call",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "write"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        "$.syscalls[0].names[1]: SCMP_ACT_NOTIFY on \"write\" is refused",
    ),
    (
        "NOTIFY without a way to deliver it",
        r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_NOTIFY"}]}}}"#,
        "$.linux.seccomp.listenerPath: SCMP_ACT_NOTIFY at $.linux.seccomp.syscalls[0].names[0] but no listenerPath",
    ),
    (
        "conflicting rules",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ALLOW"}, {"names": ["chmod"], "action": "SCMP_ACT_NOTIFY", "args": [{"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
        "syscall \"chmod\": $.syscalls[0].names[0] (SCMP_ACT_ALLOW) and $.syscalls[1].names[0] (SCMP_ACT_NOTIFY): libseccomp ignores every conditional rule",
    ),
];

#[test]
fn bad_profiles_stop_before_anything_runs() {
    let s = Scratch::new();
    for (i, (what, text, expected)) in CASES.iter().enumerate() {
        let file = s.path(&format!("bad-{i}.json"));
        std::fs::write(&file, text).unwrap();
        let file = file.to_str().unwrap();
        let marker = s.path(&format!("ran-{i}"));
        let out = run_probe(
            &["--profile", file],
            &s.path("e.jsonl"),
            &["touch", marker.to_str().unwrap()],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{what}: {err}");
        assert!(
            err.contains(&format!("profile {file}: {expected}")),
            "{what}: expected {expected:?} after the file name in {err:?}"
        );
        assert!(!marker.exists(), "{what}: the workload must not start");

        let check = enforcer(&["profile", "check", file]);
        assert_eq!(check.status.code(), Some(125), "{what}");
        assert!(
            stderr(&check).contains(expected),
            "{what}: {}",
            stderr(&check)
        );
    }
}

#[test]
fn unknown_syscalls_can_be_skipped_on_request() {
    let s = Scratch::new();
    let file = s.path("unknown.json");
    std::fs::write(
        &file,
        CASES.iter().find(|c| c.0 == "unknown syscall").unwrap().1,
    )
    .unwrap();
    let marker = s.path("ran");
    let out = run_probe(
        &[
            "--profile",
            file.to_str().unwrap(),
            "--allow-unknown-syscalls",
        ],
        &s.path("e.jsonl"),
        &["getppid", "1", "touch", marker.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(marker.exists(), "the workload runs");
    assert!(
        stderr(&out)
            .contains("$.syscalls[0].names[1]: unknown syscall \"no_such_syscall\" skipped"),
        "{}",
        stderr(&out)
    );
    // The known name of the entry still applies.
    assert!(
        stdout(&out).contains("getppid() x 1 = -1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_capabilities_and_users_stop_before_anything_runs() {
    let s = Scratch::new();
    for (args, expected) in [
        (
            ["--cap-add", "SYS_ADMN"],
            "--cap-add \"SYS_ADMN\": unknown capability",
        ),
        (
            ["--cap-drop", "NOPE"],
            "--cap-drop \"NOPE\": unknown capability",
        ),
        (
            ["--user", "no-such-user-here"],
            "--user \"no-such-user-here\": no such user in /etc/passwd",
        ),
        (
            ["--user", "1000:no-such-group"],
            "--user \"1000:no-such-group\": no such group in /etc/group",
        ),
    ] {
        let marker = s.path("ran");
        let out = run_probe(
            &args,
            &s.path("e.jsonl"),
            &["touch", marker.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!marker.exists(), "{args:?}: the workload must not start");
    }
}
