//! The syscalls whose safety is decided by a register argument, so that a recording keeps the
//! values it saw and the generated profile allows only those.

/// How the values seen become a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narrowing {
    /// The argument is one of the values seen (socket families, personalities, prctl
    /// options). Compared on the low 32 bits: the argument is an int, and the kernel ignores
    /// the upper half of the register.
    OneOf,
    /// No bit outside those seen is set (clone flags, file modes).
    BitsWithin { width: u32 },
}

/// One argument-aware syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgRule {
    pub syscall: &'static str,
    pub index: u8,
    pub narrowing: Narrowing,
}

const fn rule(syscall: &'static str, index: u8, narrowing: Narrowing) -> ArgRule {
    ArgRule {
        syscall,
        index,
        narrowing,
    }
}

/// Beyond this many distinct values a one-of rule is not narrower in any useful way; the
/// syscall is then allowed by name.
pub const MAX_VALUES: usize = 32;

pub const ARG_RULES: &[ArgRule] = &[
    rule("clone", 0, Narrowing::BitsWithin { width: 64 }),
    rule("socket", 0, Narrowing::OneOf),
    rule("personality", 0, Narrowing::OneOf),
    rule("prctl", 0, Narrowing::OneOf),
    rule("chmod", 1, Narrowing::BitsWithin { width: 32 }),
    rule("fchmod", 1, Narrowing::BitsWithin { width: 32 }),
    rule("fchmodat", 2, Narrowing::BitsWithin { width: 32 }),
    rule("fchmodat2", 2, Narrowing::BitsWithin { width: 32 }),
];

pub fn arg_rule(syscall: &str) -> Option<&'static ArgRule> {
    ARG_RULES.iter().find(|r| r.syscall == syscall)
}

/// The names, for the observer's selection.
pub fn names() -> Vec<String> {
    ARG_RULES.iter().map(|r| r.syscall.to_owned()).collect()
}

/// Calls that reach what an argument rule checks without the register it checks, answered
/// ENOSYS (as Docker's default does) so that the C library falls back to the checked call:
/// clone3 passes its flags in memory, where seccomp cannot read them; glibc then calls
/// clone. Both while recording (so that the recording sees the fallback's flags) and in
/// the generated profile. On x86_64 the other argument rules have no such sibling: socketcall
/// and the rest are i386 calls, which a recorded profile (native arch only) kills.
pub const ENOSYS_ALIASES: &[(&str, &str)] = &[("clone3", "clone")];

/// ENOSYS, the errno of [`ENOSYS_ALIASES`].
pub const ENOSYS: u32 = 38;

/// The profile rule that answers the aliases ENOSYS.
pub fn enosys_rule() -> serde_json::Value {
    let names: Vec<&str> = ENOSYS_ALIASES.iter().map(|(alias, _)| *alias).collect();
    let comment: Vec<String> = ENOSYS_ALIASES
        .iter()
        .map(|(alias, checked)| format!("{alias}: ENOSYS, so that the C library calls {checked}, whose arguments the rules check"))
        .collect();
    serde_json::json!({
        "names": names,
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": ENOSYS,
        "comment": comment.join("; "),
    })
}

pub fn is_enosys_alias(syscall: &str) -> bool {
    ENOSYS_ALIASES.iter().any(|(alias, _)| *alias == syscall)
}
