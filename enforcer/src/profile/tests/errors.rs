//! Every kind of bad input gives its error, naming the file and the JSON path.

use super::*;

/// A profile whose single syscall entry is `entry`.
fn with_entry(entry: &str) -> String {
    format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{entry}]}}"#)
}

#[track_caller]
fn assert_error(text: &str, expected: &str) {
    let message = load_error(text);
    assert!(
        message.contains(expected),
        "expected {expected:?} in {message:?}"
    );
    assert!(message.starts_with("profile /x/p.json: "), "{message}");
}

#[test]
fn malformed_json_has_line_and_column() {
    let message = load_error("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  oops\n}");
    assert_eq!(
        message,
        "profile /x/p.json: line 3, column 3: invalid JSON: key must be a string"
    );
    let message = load_error("{\"defaultAction\": ");
    assert!(
        message.starts_with("profile /x/p.json: line 1, column 18: invalid JSON: EOF"),
        "{message}"
    );
}

#[test]
fn missing_file_names_it() {
    let err = load_file(Path::new("/nonexistent/p.json"), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("profile /nonexistent/p.json: cannot read: "),
        "{err}"
    );
}

#[test]
fn empty_or_defaultless_profiles_are_refused() {
    assert_error("{}", "$: empty profile");
    assert_error(r#"{"defaultAction": ""}"#, "$: empty profile");
    assert_error(
        &with_entry(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#)
            .replace(r#""defaultAction": "SCMP_ACT_ERRNO", "#, ""),
        "$.defaultAction: missing defaultAction",
    );
    assert_error(
        r#"{"ociVersion": "1.0.2", "linux": {}}"#,
        "$.linux: OCI config without linux.seccomp",
    );
}

#[test]
fn unknown_names_are_refused_with_their_path() {
    let action = with_entry(
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "SCMP_ACT_ALLOW"}, {"names": ["close"], "action": "SCMP_ACT_FOO"}"#,
    );
    assert_eq!(
        load_error(&action),
        "profile /x/p.json: $.syscalls[2].action: unknown action \"SCMP_ACT_FOO\""
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_DENY"}"#,
        "$.defaultAction: unknown action \"SCMP_ACT_DENY\"",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}"#,
        ),
        "$.syscalls[0].args[0].op: unknown comparison operator \"SCMP_CMP_LIKE\"",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]}"#,
        "$.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["i386"]}]}"#,
        "$.archMap[0].subArchitectures[0]: unknown architecture \"i386\"",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"]}"#,
        "$.flags[1]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FAST\"",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_WIZARD"]}}"#,
        ),
        "$.syscalls[0].includes.caps[0]: unknown capability \"CAP_SYS_WIZARD\"",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["386"]}}"#,
        ),
        "$.syscalls[0].excludes.arches[0]: unknown architecture \"386\" (Docker calls it \"x86\")",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EFOO"}"#,
        "$.defaultErrno: unknown errno \"EFOO\"",
    );
    assert_error(
        &with_entry(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errno": "ENOPE"}"#),
        "$.syscalls[0].errno: unknown errno \"ENOPE\"",
    );
}

#[test]
fn unknown_syscalls_are_errors_unless_allowed() {
    let text = with_entry(r#"{"names": ["read", "not_a_syscall"], "action": "SCMP_ACT_ALLOW"}"#);
    assert_error(
        &text,
        "$.syscalls[0].names[1]: unknown syscall \"not_a_syscall\"",
    );
    let opts = LoadOptions {
        allow_unknown_syscalls: true,
    };
    let loaded = parse_str(&text, Path::new(ORIGIN), &opts).unwrap();
    assert_eq!(loaded.profile.syscalls[0].names.len(), 1);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(
        loaded.warnings[0].to_string(),
        "profile /x/p.json: $.syscalls[0].names[1]: unknown syscall \"not_a_syscall\" skipped"
    );
    // Names of other arches and names newer than libseccomp 2.5.4 are known.
    let others = with_entry(
        r#"{"names": ["arm_fadvise64_64", "breakpoint", "cacheflush", "set_tls", "socketcall", "mseal", "statmount", "listmount", "lsm_get_self_attr", "setxattrat", "open_tree_attr"], "action": "SCMP_ACT_ALLOW"}"#,
    );
    let resolved = parse(&others).unwrap().profile.resolve(&ctx()).unwrap();
    assert!(resolved.compile().unwrap().program.len() > 10);
    assert_error(
        &with_entry(r#"{"names": [""], "action": "SCMP_ACT_ALLOW"}"#),
        "$.syscalls[0].names[0]: empty syscall name",
    );
}

#[test]
fn structural_errors() {
    assert_error(
        &with_entry(r#"{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}"#),
        "$.syscalls[0]: both \"name\" and \"names\" are set",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}"#,
        "$.archMap: both \"architectures\" and \"archMap\" are set",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}"#,
        ),
        "$.syscalls[0].args[0].index: argument index 6 out of range",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": "0", "value": 1, "op": "SCMP_CMP_EQ"}]}"#,
        ),
        "$.syscalls[0].args[0].index: invalid type: string \"0\", expected u64",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"value": 1, "op": "SCMP_CMP_EQ"}]}"#,
        ),
        "$.syscalls[0].args[0]: missing field `index`",
    );
    assert_error(
        &with_entry(r#"{"names": ["read"]}"#),
        "$.syscalls[0].action: missing action",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}"#,
        ),
        "$.syscalls[0].includes.minKernel: invalid kernel version \"4\"",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "0.0"}}"#,
        ),
        "$.syscalls[0].excludes.minKernel: invalid kernel version",
    );
    assert_error(
        &with_entry(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": 4.8}}"#,
        ),
        "$.syscalls[0].includes.minKernel: invalid type: floating point",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}"#,
        "$.syscalls: invalid type: map, expected a sequence",
    );
    let mixed = with_entry(
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}"#,
    );
    assert_error(
        &mixed,
        "$.syscalls[0].args: argument 0 is compared more than once while other arguments are compared too",
    );
}

#[test]
fn errno_only_on_errno_and_trace() {
    assert_error(
        &with_entry(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}"#),
        "$.syscalls[0].errnoRet: errnoRet is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}"#,
        "$.defaultErrnoRet: defaultErrnoRet is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL_THREAD",
    );
    assert_error(
        &with_entry(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}"#),
        "$.syscalls[0].errnoRet: errno value 70000 does not fit",
    );
    let trace = parse(&with_entry(
        r#"{"names": ["read"], "action": "SCMP_ACT_TRACE", "errnoRet": 5}"#,
    ))
    .unwrap();
    assert_eq!(trace.profile.syscalls[0].action, Action::Trace(5));
    let plain = parse(&with_entry(r#"{"names": ["read"], "action": "SCMP_ACT_TRACE"}, {"names": ["write"], "action": "SCMP_ACT_ERRNO"}"#)).unwrap();
    assert_eq!(
        plain.profile.syscalls[0].action,
        Action::Trace(1),
        "runc's default"
    );
    assert_eq!(
        plain.profile.syscalls[1].action,
        Action::Errno(1),
        "runc's default"
    );
    // Podman: the name wins over the number, with a warning when they disagree.
    let podman = parse(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "defaultErrno": "ENOSYS"}"#,
    )
    .unwrap();
    assert_eq!(
        (podman.profile.default_action, podman.profile.default_errno),
        (Action::Errno(38), Some(38))
    );
    assert_eq!(podman.warnings[0].json_path, "$.defaultErrnoRet");
}

#[test]
fn notify_where_the_hand_off_needs_it_is_refused() {
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
        "$.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    );
    for name in HANDOFF_SYSCALLS {
        let text = with_entry(&format!(
            r#"{{"names": ["chmod", "{name}"], "action": "SCMP_ACT_NOTIFY"}}"#
        ));
        assert_error(
            &text,
            &format!("$.syscalls[0].names[1]: SCMP_ACT_NOTIFY on \"{name}\" is refused"),
        );
    }
    let ok = parse(&with_entry(
        r#"{"names": ["chmod", "openat"], "action": "SCMP_ACT_NOTIFY"}"#,
    ))
    .unwrap();
    let resolved = ok.profile.resolve(&ctx()).unwrap();
    assert_eq!(
        resolved.notified_syscalls().into_iter().collect::<Vec<_>>(),
        ["chmod", "openat"]
    );
}

#[test]
fn every_problem_is_reported() {
    let text = r#"{"defaultAction": "SCMP_ACT_FOO", "flags": ["X"], "syscalls": [{"names": ["nope"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let err = parse(text).unwrap_err();
    assert!(
        matches!(&err, ProfileError::Several(all) if all.len() == 3),
        "{err:?}"
    );
    assert_eq!(
        err.json_paths(),
        ["$.defaultAction", "$.flags[0]", "$.syscalls[0].names[0]"]
    );
    assert_eq!(err.to_string().lines().count(), 3);
}

#[test]
fn notify_default_compiles_only_with_the_hand_off_decided() {
    let mut r = resolve(&with_entry(
        r#"{"names": ["chmod"], "action": "SCMP_ACT_ALLOW"}"#,
    ))
    .unwrap();
    r.default_action = Action::Notify;
    let err = r.compile().unwrap_err().to_string();
    assert!(
        err.contains("$.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
        "{err}"
    );
    for name in HANDOFF_SYSCALLS {
        r.rules.push(ResolvedRule {
            syscall: name.to_string(),
            action: Action::Allow,
            conditions: Vec::new(),
            json_path: "<test>".to_string(),
        });
    }
    let filter = r.compile().unwrap();
    assert!(filter.notify);
}

/// Issue 13 §3: inputs whose meaning is a guess are refused, with the place.
#[test]
fn ambiguous_inputs_are_refused_with_their_place() {
    assert_error(
        &with_entry(
            r#"{"names": ["chmod"], "action": "SCMP_ACT_NOTIFY", "action": "SCMP_ACT_ALLOW"}"#,
        ),
        "$.syscalls[0].action: this key appears twice in one object",
    );
    assert_error(
        &with_entry(r#"{"names": [], "action": "SCMP_ACT_ALLOW"}"#),
        "$.syscalls[0].names: an entry must name at least one syscall",
    );
    assert_error(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}"#,
        "$.listenerMetadata: listenerMetadata without listenerPath",
    );
}

#[test]
fn unknown_fields_are_warnings_that_name_the_known_ones() {
    let text = with_entry(
        r#"{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoret": 5,
            "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 1, "valuetwo": 2}]}"#,
    );
    let loaded = parse_str(&text, Path::new("/x/p.json"), &LoadOptions::default()).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("$.syscalls[0].errnoret: unknown field") && w.contains("errnoRet")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(
            |w| w.contains("$.syscalls[0].args[0].valuetwo: unknown field")
                && w.contains("index, value, valueTwo, op")
        ),
        "{warnings:?}"
    );
}
