//! The real profiles, resolution for different hosts, the built-in default, tables.

use super::*;
use crate::profile::builtin::DOCKER_DEFAULT_JSON;

#[test]
fn every_real_profile_loads_resolves_and_compiles() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(real_profiles())
        .expect("list the real profiles")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 7,
        "expected the 7 real profiles, found {files:?}"
    );
    let all_caps = ResolveContext::from_system().with_caps(KNOWN_CAPS);
    for file in &files {
        let loaded = load_file(file, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{} must load: {e}", file.display()));
        for ctx in [ctx(), all_caps.clone(), ctx().with_kernel((4, 4))] {
            let resolved = (loaded.profile.resolve(&ctx))
                .unwrap_or_else(|e| panic!("{} must resolve for {ctx:?}: {e}", file.display()));
            let compiled = (resolved.compile())
                .unwrap_or_else(|e| panic!("{} must compile: {e}", file.display()));
            assert!(!compiled.program.is_empty(), "{}", file.display());
            assert!(!compiled.notify, "{}", file.display());
        }
    }
}

#[test]
fn embedded_default_is_dockers_file_unchanged() {
    // profiles_provenance (tests/) proves this file is Docker's blob at the stated commit.
    let file = std::fs::read_to_string(real_profiles().join("docker-default.json")).unwrap();
    assert_eq!(DOCKER_DEFAULT_JSON, file);
    assert_eq!(
        builtin_default(),
        parse(&file).unwrap().profile.clone_with_origin()
    );
}

impl Profile {
    fn clone_with_origin(mut self) -> Self {
        self.origin = PathBuf::from(BUILTIN_ORIGIN);
        self
    }
}

#[test]
fn docker_default_follows_caps_arch_and_kernel() {
    let profile = builtin_default();
    let has = |r: &ResolvedProfile, name: &str| r.rules_for(name).next().map(|r| r.action);
    let plain = profile.resolve(&ctx()).unwrap();
    assert_eq!(plain.default_action, Action::Errno(1));
    assert_eq!(plain.arches, [Arch::X86_64, Arch::X86, Arch::X32]);
    assert_eq!(has(&plain, "chmod"), Some(Action::Allow));
    assert_eq!(has(&plain, "mount"), None);
    assert_eq!(has(&plain, "clone3"), Some(Action::Errno(38)));
    assert_eq!(has(&plain, "arch_prctl"), Some(Action::Allow));
    assert_eq!(has(&plain, "set_tls"), None, "arm only");
    assert_eq!(plain.rules_for("clone").count(), 1, "the MASKED_EQ rule");
    // minKernel 4.8: ptrace & co. only from 4.8 on.
    assert_eq!(has(&plain, "ptrace"), Some(Action::Allow));
    let old = profile.resolve(&ctx().with_kernel((4, 7))).unwrap();
    assert_eq!(has(&old, "ptrace"), None);
    assert_eq!(
        has(
            &profile.resolve(&ctx().with_kernel((4, 8))).unwrap(),
            "ptrace"
        ),
        Some(Action::Allow)
    );

    let admin = profile
        .resolve(&ctx().with_caps(["CAP_SYS_ADMIN"]))
        .unwrap();
    assert_eq!(has(&admin, "mount"), Some(Action::Allow));
    assert_eq!(has(&admin, "clone3"), Some(Action::Allow));
    assert_eq!(
        admin
            .rules_for("clone")
            .map(|r| r.conditions.len())
            .collect::<Vec<_>>(),
        [0]
    );

    let arm = profile
        .resolve(&ResolveContext::new(
            DOCKER_DEFAULT_CAPS.iter().copied(),
            Arch::Aarch64,
            (6, 1),
        ))
        .unwrap();
    assert_eq!(arm.arches, [Arch::Aarch64, Arch::Arm]);
    assert_eq!(has(&arm, "set_tls"), Some(Action::Allow));
    assert_eq!(has(&arm, "arch_prctl"), None);
    let riscv = profile
        .resolve(&ResolveContext::new(["CAP_KILL"], Arch::Riscv64, (6, 1)))
        .unwrap();
    assert_eq!(riscv.arches, [Arch::Riscv64]);
    assert_eq!(has(&riscv, "riscv_flush_icache"), Some(Action::Allow));
}

#[test]
fn conditional_include_fixture_follows_caps_and_kernel() {
    let profile = real("docker-conditional-include.json").profile;
    let names = |ctx: &ResolveContext| -> Vec<String> {
        profile
            .resolve(ctx)
            .unwrap()
            .rules
            .into_iter()
            .map(|r| r.syscall)
            .collect()
    };
    assert_eq!(names(&ctx()), ["chmod", "ptrace"]);
    assert_eq!(
        names(&ctx().with_caps(["CAP_SYSLOG", "CAP_SYS_ADMIN"])),
        ["chmod", "syslog"]
    );
    // Docker's fixture has no minKernel: the same for any kernel.
    assert_eq!(
        names(&ctx().with_kernel((3, 10))),
        names(&ctx().with_kernel((6, 18)))
    );

    // Kernel versions, includes and excludes.
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["pidfd_open"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.3"}},
        {"names": ["uselib"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.3"}},
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": ""}}]}"#;
    let profile = parse(text).unwrap().profile;
    let at = |kernel| -> Vec<String> {
        (profile
            .resolve(&ctx().with_kernel(kernel))
            .unwrap()
            .rules
            .into_iter())
        .map(|r| r.syscall)
        .collect()
    };
    assert_eq!(at((5, 2)), ["uselib", "getpid"]);
    assert_eq!(at((5, 3)), ["pidfd_open", "getpid"]);
    assert_eq!(at((10, 0)), ["pidfd_open", "getpid"]);
}

#[test]
fn includes_caps_need_all_of_them_as_in_moby() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_BPF", "CAP_PERFMON"]}},
        {"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_BPF", "CAP_PERFMON"]}}]}"#;
    let profile = parse(text).unwrap().profile;
    let names = |caps: &[&str]| -> Vec<String> {
        let ctx = ctx().with_caps(caps.iter().copied());
        profile
            .resolve(&ctx)
            .unwrap()
            .rules
            .into_iter()
            .map(|r| r.syscall)
            .collect()
    };
    assert_eq!(names(&[]), ["kcmp"]);
    assert!(names(&["CAP_BPF"]).is_empty());
    assert_eq!(names(&["CAP_BPF", "CAP_PERFMON"]), ["bpf"]);
}

#[test]
fn podman_and_example_values() {
    let podman = real("podman-default.json").profile;
    assert_eq!(podman.default_action, Action::Errno(38));
    let resolved = podman.resolve(&ctx()).unwrap();
    assert_eq!(
        resolved
            .rules_for("setns")
            .map(|r| r.action)
            .collect::<Vec<_>>(),
        [Action::Allow]
    );
    assert!(
        resolved
            .warnings
            .iter()
            .any(|w| w.message.contains("$.syscalls[1].names[")),
        "{:?}",
        resolved.warnings
    );
    assert_eq!(
        resolved.rules_for("socket").count(),
        1,
        "CAP_AUDIT_WRITE: one ALLOW"
    );
    let no_audit = podman.resolve(&ctx().with_caps(["CAP_CHOWN"])).unwrap();
    let socket: Vec<Action> = no_audit.rules_for("socket").map(|r| r.action).collect();
    assert_eq!(
        socket,
        [Action::Errno(22), Action::Allow, Action::Allow],
        "the duplicate merged"
    );

    let example = real("docker-example.json").profile;
    assert_eq!(example.default_action, Action::Errno(1));
    let resolved = example.resolve(&ctx()).unwrap();
    assert_eq!(resolved.arches, [Arch::X86_64]);
    assert_eq!(
        resolved.rules_for("syslog").next().unwrap().action,
        Action::Errno(12345)
    );
    let clone = resolved.rules_for("clone").next().unwrap();
    assert_eq!(
        clone.conditions,
        [ArgCond {
            index: 0,
            op: CmpOp::MaskedEq,
            value: 2114060288,
            value_two: 0
        }]
    );

    let old = real("docker-old-format.json").profile;
    assert_eq!(old.syscalls.len(), 311);
    assert_eq!(old.syscalls[0].names[0].json_path, "$.syscalls[0].name");
    assert_eq!(
        old.resolve(&ctx()).unwrap().arches,
        [Arch::X86_64, Arch::X86, Arch::X32]
    );
}

#[test]
fn oci_config_takes_linux_seccomp() {
    let example = std::fs::read_to_string(real_profiles().join("docker-example.json")).unwrap();
    let oci =
        format!(r#"{{"ociVersion": "1.0.2", "process": {{}}, "linux": {{"seccomp": {example}}}}}"#);
    let loaded = parse(&oci).unwrap();
    assert_eq!(loaded.profile.root_path, "$.linux.seccomp");
    assert_eq!(
        loaded.profile.syscalls[3].names[0].json_path,
        "$.linux.seccomp.syscalls[3].name"
    );
    let bad = oci.replacen("SCMP_ACT_ALLOW", "SCMP_ACT_NOPE", 1);
    assert_eq!(
        load_error(&bad),
        "profile /x/p.json: $.linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_NOPE\""
    );
    let arches = r#"{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]}}}"#;
    assert_eq!(
        parse(arches).unwrap().profile.architectures,
        [Arch::X86_64, Arch::X86]
    );
}

#[test]
fn builtin_default_with_notify_overlay() {
    let resolved = builtin_resolved(&ctx()).unwrap();
    assert!(resolved.has_notify());
    assert_eq!(
        resolved.notified_syscalls(),
        CHMOD_FAMILY.iter().map(|s| s.to_string()).collect()
    );
    for name in CHMOD_FAMILY {
        let rules: Vec<_> = resolved.rules_for(name).collect();
        assert_eq!(rules.len(), 1, "{name}");
        assert_eq!(
            (rules[0].action, rules[0].json_path.as_str()),
            (Action::Notify, NOTIFY_OVERLAY_PATH)
        );
    }
    let compiled = resolved.compile().unwrap();
    assert!(compiled.notify && !compiled.program.is_empty());
    assert!(!builtin_default().resolve(&ctx()).unwrap().has_notify());
    // The overlay replaces conditional rules too, and refuses nothing by itself...
    let overlaid = builtin_default()
        .resolve(&ctx())
        .unwrap()
        .with_notify_overlay(&["socket", "socket"]);
    assert_eq!(overlaid.rules_for("socket").count(), 1);
    // ...but compile refuses a notified hand-off call.
    let err = overlaid
        .with_notify_overlay(&["execve"])
        .compile()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("<notify overlay>: SCMP_ACT_NOTIFY on \"execve\""),
        "{err}"
    );
}

#[test]
fn syscall_tables() {
    assert_eq!(syscall_number("read", Arch::X32), Some(X32_SYSCALL_BIT));
    // Our x32 rule (x86_64 number | bit 30) agrees with libseccomp where it knows the name.
    assert_eq!(
        syscall_number("fchmodat2", Arch::X32),
        Some(452 | X32_SYSCALL_BIT)
    );
    assert_eq!(syscall_number("fchmodat2", Arch::X86_64), Some(452));
    // The x32 rule holds for every number from 424 on that libseccomp knows for x32.
    let mut checked = 0;
    for sysno in syscalls::x86_64::Sysno::iter().filter(|s| s.id() >= 424) {
        let lib =
            libseccomp::ScmpSyscall::from_name_by_arch(sysno.name(), libseccomp::ScmpArch::X32);
        if let Ok(nr) = lib.map(|n| n.as_raw_syscall())
            && nr >= 0
        {
            let ours = crate::profile::names::table_number(sysno.name(), Arch::X32);
            assert_eq!(ours, Some(nr), "{sysno}");
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
    assert_eq!(syscall_number("mseal", Arch::X86_64), Some(462));
    assert_eq!(
        syscall_number("mseal", Arch::X32),
        Some(462 | X32_SYSCALL_BIT)
    );
    assert_eq!(syscall_number("mseal", Arch::X86), Some(462));
    assert_eq!(syscall_number("socket", Arch::X86), Some(359));
    assert_eq!(syscall_number("socketcall", Arch::X86_64), None);
    assert_eq!(syscall_number("set_tls", Arch::Arm), Some(0xf0005));
    assert_eq!(syscall_name(462, Arch::X86_64).as_deref(), Some("mseal"));
    assert_eq!(
        syscall_name(0x4000_01ce, Arch::X32).as_deref(),
        Some("mseal")
    );
    assert_eq!(
        syscall_name(39, libseccomp::ScmpArch::X8664).as_deref(),
        Some("getpid")
    );
    assert_eq!(
        syscall_name(20, libseccomp::ScmpArch::X86).as_deref(),
        Some("getpid")
    );
    assert_eq!(syscall_name(100_000, Arch::X86_64), None);
    assert!(is_known_syscall("breakpoint") && is_known_syscall("listmount"));
    assert!(!is_known_syscall("not_a_syscall"));
}

#[test]
fn names_libseccomp_does_not_know_use_the_stub_off_native() {
    let text = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mseal"], "action": "SCMP_ACT_ERRNO"}]}"#;
    let compiled = resolve(text).unwrap().compile().unwrap();
    // Two stub rules (x86, x32) of 5 instructions, then libseccomp's program.
    let ld_arch = |i: usize| (compiled.program[i].code, compiled.program[i].k);
    assert_eq!(ld_arch(0), (0x20, 4));
    assert_eq!(compiled.program[1].k, 0x4000_0003);
    assert_eq!(compiled.program[3].k, 462);
    assert_eq!(compiled.program[4].k, 0x0005_0001);
    assert_eq!(compiled.program[8].k, 462 | 0x4000_0000);
    assert_eq!(ld_arch(10), (0x20, 4), "libseccomp's program starts");

    let conditional = text.replace(
        r#""action""#,
        r#""args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}], "action""#,
    );
    let err = resolve(&conditional)
        .unwrap()
        .compile()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("$.syscalls[0].names[0]: syscall \"mseal\" on SCMP_ARCH_X86:"),
        "{err}"
    );
}
