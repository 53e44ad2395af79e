//! Precedence of several rules for one syscall (see resolve.rs), and the libseccomp facts
//! the rules are built on.

use super::*;
use crate::profile::conditions::satisfiable;
use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

fn profile(entries: &str) -> String {
    format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{entries}]}}"#)
}

const EQ1: &str = r#"[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]"#;
const EQ2: &str = r#"[{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]"#;
const GT1: &str = r#"[{"index": 0, "value": 1, "op": "SCMP_CMP_GT"}]"#;

#[test]
fn identical_unconditional_rules_merge() {
    let r = resolve(&profile(r#"{"names": ["read", "read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#)).unwrap();
    assert_eq!(summary(&r), [("read".to_string(), Action::Allow, 0)]);
    assert!(r.warnings.is_empty());
}

#[test]
fn different_unconditional_rules_first_wins_with_a_warning() {
    let r = resolve(&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_KILL_PROCESS"}"#)).unwrap();
    assert_eq!(summary(&r), [("read".to_string(), Action::Allow, 0)]);
    assert_eq!(r.warnings.len(), 1);
    let w = r.warnings[0].to_string();
    assert!(w.starts_with("profile /x/p.json: $.syscalls[1].names[0]: SCMP_ACT_KILL_PROCESS for \"read\" is ignored: $.syscalls[0].names[0] (SCMP_ACT_ALLOW) wins"), "{w}");
    // runc skips a rule equal to the default action, so the later one wins then.
    let r = resolve(&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO"}, {"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#)).unwrap();
    assert_eq!(summary(&r), [("read".to_string(), Action::Allow, 0)]);
}

#[test]
fn unconditional_and_conditional_rules() {
    // Same action: the conditional rule is redundant.
    let text = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {EQ1}}}, {{"names": ["read"], "action": "SCMP_ACT_ALLOW"}}"#
    ));
    assert_eq!(
        summary(&resolve(&text).unwrap()),
        [("read".to_string(), Action::Allow, 0)]
    );
    // Another action: libseccomp would drop the conditional one; an error naming both.
    let text = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW"}}, {{"names": ["read"], "action": "SCMP_ACT_KILL", "args": {EQ1}}}"#
    ));
    let err = resolve(&text).unwrap_err();
    assert!(matches!(
        err,
        ProfileError::Conflict {
            reason: ConflictKind::ShadowedConditional,
            ..
        }
    ));
    assert_eq!(
        err.json_paths(),
        ["$.syscalls[0].names[0]", "$.syscalls[1].names[0]"]
    );
    assert!(err.to_string().starts_with("profile /x/p.json: syscall \"read\": $.syscalls[0].names[0] (SCMP_ACT_ALLOW) and $.syscalls[1].names[0] (SCMP_ACT_KILL_THREAD): libseccomp ignores"), "{err}");
    // Unless the unconditional rule is the default action: the exception is exact.
    let text = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ERRNO"}}, {{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {EQ1}}}"#
    ));
    let r = resolve(&text).unwrap();
    assert_eq!(
        summary(&r),
        [
            ("read".to_string(), Action::Errno(1), 0),
            ("read".to_string(), Action::Allow, 1)
        ]
    );
    r.compile().unwrap();
}

#[test]
fn conditional_rules_keep_their_order_and_must_not_be_ambiguous() {
    let disjoint = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {EQ2}}}, {{"names": ["read"], "action": "SCMP_ACT_KILL", "args": {EQ1}}}"#
    ));
    let r = resolve(&disjoint).unwrap();
    assert_eq!(
        summary(&r),
        [
            ("read".to_string(), Action::Allow, 1),
            ("read".to_string(), Action::KillThread, 1)
        ]
    );
    assert_eq!(r.rules[0].json_path, "$.syscalls[0].names[0]");
    r.compile().unwrap();

    let same = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {EQ1}}}, {{"names": ["read"], "action": "SCMP_ACT_LOG", "args": {EQ1}}}"#
    ));
    assert!(matches!(
        resolve(&same).unwrap_err(),
        ProfileError::Conflict {
            reason: ConflictKind::SameConditions,
            ..
        }
    ));
    let overlap = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {GT1}}}, {{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": {EQ2}}}"#
    ));
    let err = resolve(&overlap).unwrap_err();
    assert!(
        matches!(
            err,
            ProfileError::Conflict {
                reason: ConflictKind::Overlapping,
                ..
            }
        ),
        "{err}"
    );
    let dup = profile(&format!(
        r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {GT1}}}, {{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {GT1}}}"#
    ));
    assert_eq!(resolve(&dup).unwrap().rules.len(), 1);
}

#[test]
fn comparisons_and_and_runc_or_split() {
    let and = profile(
        r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]}"#,
    );
    let r = resolve(&and).unwrap();
    assert_eq!(r.rules.len(), 1);
    assert_eq!(
        r.rules[0]
            .conditions
            .iter()
            .map(|c| c.index)
            .collect::<Vec<_>>(),
        [0, 2]
    );
    let or = profile(
        r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}"#,
    );
    let r = resolve(&or).unwrap();
    assert_eq!(
        summary(&r),
        [
            ("personality".to_string(), Action::Allow, 1),
            ("personality".to_string(), Action::Allow, 1)
        ]
    );
    assert_eq!(
        (
            r.rules[0].conditions[0].value,
            r.rules[1].conditions[0].value
        ),
        (0, 8)
    );
    r.compile().unwrap();
}

#[test]
fn condition_overlap() {
    let c = |index, op, value, value_two| ArgCond {
        index,
        op,
        value,
        value_two,
    };
    assert!(!satisfiable(&[
        c(0, CmpOp::Eq, 1, 0),
        c(0, CmpOp::Eq, 2, 0)
    ]));
    assert!(!satisfiable(&[
        c(0, CmpOp::Lt, 38, 0),
        c(0, CmpOp::Gt, 40, 0)
    ]));
    assert!(satisfiable(&[
        c(0, CmpOp::Le, 38, 0),
        c(0, CmpOp::Ge, 38, 0)
    ]));
    assert!(!satisfiable(&[
        c(0, CmpOp::Eq, 16, 0),
        c(0, CmpOp::Ne, 16, 0)
    ]));
    assert!(!satisfiable(&[c(0, CmpOp::Lt, 0, 0)]));
    assert!(!satisfiable(&[
        c(0, CmpOp::MaskedEq, 0xf0, 0x10),
        c(0, CmpOp::Eq, 0x20, 0)
    ]));
    assert!(!satisfiable(&[
        c(0, CmpOp::MaskedEq, 0xf0, 0x10),
        c(0, CmpOp::MaskedEq, 0x30, 0x20)
    ]));
    assert!(satisfiable(&[
        c(0, CmpOp::MaskedEq, 0xf0, 0x10),
        c(0, CmpOp::Gt, 5, 0)
    ]));
    assert!(!satisfiable(&[
        c(0, CmpOp::Ge, 1, 0),
        c(0, CmpOp::Le, 2, 0),
        c(0, CmpOp::Ne, 1, 0),
        c(0, CmpOp::Ne, 2, 0)
    ]));
}

/// The libseccomp 2.5.4 behaviour the precedence rules rest on, checked on the real library.
#[test]
fn libseccomp_facts() {
    let read = ScmpSyscall::from(0);
    let eq3 = [ScmpArgCompare::new(0, ScmpCompareOp::Equal, 3)];
    let program = |build: &dyn Fn(&mut ScmpFilterContext)| {
        let mut ctx = ScmpFilterContext::new(ScmpAction::KillProcess).unwrap();
        build(&mut ctx);
        let mut out = Vec::new();
        let fd = nix::sys::memfd::memfd_create(c"t", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
            .unwrap();
        let mut file = std::fs::File::from(fd);
        ctx.export_bpf(&file).unwrap();
        use std::io::{Read, Seek};
        file.rewind().unwrap();
        file.read_to_end(&mut out).unwrap();
        out
    };
    let allow = program(&|c| {
        c.add_rule_exact(ScmpAction::Allow, read).unwrap();
    });
    // An unconditional rule absorbs a conditional one of another action, in either order.
    let allow_then_cond = program(&|c| {
        c.add_rule_exact(ScmpAction::Allow, read).unwrap();
        c.add_rule_conditional_exact(ScmpAction::Errno(5), read, &eq3)
            .unwrap();
    });
    let cond_then_allow = program(&|c| {
        c.add_rule_conditional_exact(ScmpAction::Errno(5), read, &eq3)
            .unwrap();
        c.add_rule_exact(ScmpAction::Allow, read).unwrap();
    });
    assert_eq!(allow_then_cond, allow);
    assert_eq!(cond_then_allow, allow);
    // Of two unconditional rules, the first one stays and the second is silently ignored.
    let two = program(&|c| {
        c.add_rule_exact(ScmpAction::Allow, read).unwrap();
        c.add_rule_exact(ScmpAction::Errno(3), read).unwrap();
    });
    assert_eq!(two, allow);
    // Identical comparisons with another action, and two comparisons of one argument, fail.
    let mut ctx = ScmpFilterContext::new(ScmpAction::KillProcess).unwrap();
    ctx.add_rule_conditional_exact(ScmpAction::Allow, read, &eq3)
        .unwrap();
    assert!(
        ctx.add_rule_conditional_exact(ScmpAction::Errno(3), read, &eq3)
            .is_err()
    );
    let twice = [eq3[0], ScmpArgCompare::new(0, ScmpCompareOp::Equal, 4)];
    assert!(
        ctx.add_rule_conditional_exact(ScmpAction::Allow, ScmpSyscall::from(1), &twice)
            .is_err()
    );
    // A rule equal to the default action is refused (runc skips those).
    assert!(
        ctx.add_rule_exact(ScmpAction::KillProcess, ScmpSyscall::from(2))
            .is_err()
    );
    // Binary-tree optimization is available in 2.5.4.
    assert!(ctx.set_ctl_optimize(2).is_ok());
}
