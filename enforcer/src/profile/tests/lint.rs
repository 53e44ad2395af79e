//! The lints of `profile check`, each on a profile that has the problem and one that does not.

use super::*;

fn lints(text: &str) -> Vec<(LintKind, String, String)> {
    let loaded = parse(text).expect("loads");
    let resolved = loaded.profile.resolve(&ctx()).expect("resolves");
    (lint(&loaded.profile, &resolved).into_iter())
        .map(|l| (l.kind, l.warning.json_path, l.warning.message))
        .collect()
}

fn kinds(text: &str) -> Vec<LintKind> {
    lints(text).into_iter().map(|l| l.0).collect()
}

#[test]
fn partial_alias_family() {
    let seed = real("seed-chmod-errno.json");
    let resolved = seed.profile.resolve(&ctx()).unwrap();
    let found = lint(&seed.profile, &resolved);
    let family = found
        .iter()
        .find(|l| l.kind == LintKind::PartialFamily)
        .expect("the seed profile denies chmod only");
    assert_eq!(family.warning.json_path, "$.syscalls[0].name");
    assert!(
        family.to_string().ends_with(
            "$.syscalls[0].name: chmod is denied (EPERM) here, but fchmod, fchmodat, \
             fchmodat2 of the chmod family (the same operation by other names) are allowed: a \
             workload walks around this rule; give every member of the family the same rule \
             [partial-family]"
        ),
        "{family}"
    );

    // Notifying part of the open family, conditionally: still a way around.
    let text = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["openat"], "action": "SCMP_ACT_NOTIFY", "args": [{"index": 2, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#;
    let found = lints(text);
    let (_, path, message) = (found.iter())
        .find(|l| l.0 == LintKind::PartialFamily)
        .unwrap();
    assert_eq!(path, "$.syscalls[0].names[0]");
    assert!(
        message.starts_with("openat is sent to the supervisor when arg2 & 0x40 == 0x40 here, but open, openat2, creat"),
        "{message}"
    );

    // The whole family: fine. An allow-list that leaves members out: stricter, fine.
    let whole = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["chmod", "fchmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]}"#;
    assert!(!kinds(whole).contains(&LintKind::PartialFamily));
    let allow_list = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["openat", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(kinds(allow_list), []);
    // Docker's and Podman's defaults keep their families together.
    for name in ["docker-default.json", "podman-default.json"] {
        let p = real(name).profile;
        let r = p.resolve(&ctx()).unwrap();
        assert!(
            lint(&p, &r).iter().all(|l| l.kind == LintKind::CompatArch),
            "{name}: {:?}",
            lint(&p, &r)
        );
    }
}

#[test]
fn notify_rules() {
    // socketcall is i386's; the notify overlay's chmod family with seccomp, ptrace and
    // process_vm_writev allowed by the default.
    let text = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["chmod", "fchmod", "fchmodat", "fchmodat2", "socketcall"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["process_vm_writev"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#;
    let found = lints(text);
    let of = |kind| -> Vec<(String, String)> {
        (found.iter())
            .filter(|l| l.0 == kind)
            .map(|l| (l.1.clone(), l.2.clone()))
            .collect()
    };
    let absent = of(LintKind::NotifyAbsent);
    assert_eq!(absent.len(), 1, "{found:?}");
    assert_eq!(absent[0].0, "$.syscalls[0].names[4]");
    assert!(
        absent[0]
            .1
            .starts_with("SCMP_ACT_NOTIFY on \"socketcall\", which SCMP_ARCH_X86_64 does not have"),
        "{absent:?}"
    );
    let escapes = of(LintKind::NotifyEscapable);
    assert_eq!(
        escapes.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["$.defaultAction", "$.syscalls[2].names[0]"],
        "seccomp by the default, process_vm_writev by its rule; ptrace is denied"
    );
    assert!(
        escapes[0].1.starts_with(
            "seccomp is allowed while the profile notifies chmod, fchmod, fchmodat, fchmodat2, \
             socketcall: the workload can install filters of its own"
        ),
        "{escapes:?}"
    );
    assert!(
        escapes[1]
            .1
            .starts_with("process_vm_writev is allowed when arg0 == 1 while"),
        "{escapes:?}"
    );
    // Without NOTIFY, allowing them is no lint of this kind.
    let plain = text.replace("SCMP_ACT_NOTIFY", "SCMP_ACT_ERRNO");
    assert!(!kinds(&plain).contains(&LintKind::NotifyEscapable));
}

#[test]
fn io_uring_and_compat_arches() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
        "syscalls": [{"names": ["io_uring_setup", "io_uring_enter"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let found = lints(text);
    assert_eq!(
        (found.iter())
            .map(|l| (l.0, l.1.as_str()))
            .collect::<Vec<_>>(),
        [
            (LintKind::IoUring, "$.syscalls[0].names[0]"),
            (LintKind::IoUring, "$.syscalls[0].names[1]"),
            (LintKind::CompatArch, "$.archMap[0].subArchitectures[0]"),
            (LintKind::CompatArch, "$.archMap[0].subArchitectures[1]"),
        ]
    );
    assert!(
        found[2]
            .2
            .starts_with("SCMP_ARCH_X86 calls are allowed next to SCMP_ARCH_X86_64")
    );
    let old_format = real("docker-old-format.json");
    let r = old_format.profile.resolve(&ctx()).unwrap();
    let paths: Vec<String> = (lint(&old_format.profile, &r).into_iter())
        .map(|l| l.warning.json_path)
        .collect();
    assert_eq!(paths, ["$.architectures[1]", "$.architectures[2]"]);
}

#[test]
fn notify_needs_a_way_to_deliver() {
    // An OCI config: the runtime hands notifications to the agent at listenerPath.
    let oci = r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_NOTIFY"}]}}}"#;
    assert_eq!(
        load_error(oci),
        "profile /x/p.json: $.linux.seccomp.listenerPath: SCMP_ACT_NOTIFY at \
         $.linux.seccomp.syscalls[0].names[0] but no listenerPath: an OCI runtime (runc, crun) \
         would have no seccomp agent to hand the notifications to, and refuses the config"
    );
    let with_listener = oci.replace(
        r#""defaultAction""#,
        r#""listenerPath": "/run/agent.sock", "defaultAction""#,
    );
    assert!(parse(&with_listener).is_ok());
    // A Docker profile under `enforcer run`: the launcher delivers, from Linux 5.6 on.
    let docker = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_NOTIFY"}]}"#;
    let p = parse(docker).unwrap().profile;
    assert!(p.resolve(&ctx().with_kernel(NOTIFY_MIN_KERNEL)).is_ok());
    let err = p
        .resolve(&ctx().with_kernel((5, 4)))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "profile /x/p.json: $.syscalls[0].names[0]: SCMP_ACT_NOTIFY needs Linux 5.6 or later \
         (seccomp listeners, and pidfd_getfd to hand the listener over); this kernel is 5.4"
    );
}
