//! Audit mode: the filter that lets a workload run as if the profile allowed everything while
//! every call the profile would stop is shown to the supervisor, and the profile's own answer
//! for a call, so the supervisor can say what enforce mode would have done and why.

use super::types::{Action, ArgCond};
use super::{HANDOFF_SYSCALLS, ResolvedProfile, ResolvedRule};

/// Marks the rules the audit variant adds for the hand-off calls.
pub const AUDIT_HANDOFF_PATH: &str = "<audit: hand-off call>";

/// What the profile itself does with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    pub action: Action,
    /// The deciding entry's JSON path, or "$.defaultAction".
    pub json_path: &'a str,
}

impl ArgCond {
    /// Whether the kernel's filter would find this condition true for `args` (64-bit
    /// comparisons, as libseccomp compiles them on 64-bit ABIs).
    pub fn holds(&self, args: &[u64; 6]) -> bool {
        self.op
            .holds(args[usize::from(self.index)], self.value, self.value_two)
    }
}

impl ResolvedProfile {
    /// The profile's answer for `syscall` with `args`: the first rule whose conditions all
    /// hold (resolution already removed the overlaps where libseccomp's order would differ),
    /// else the default action.
    pub fn verdict(&self, syscall: &str, args: &[u64; 6]) -> Verdict<'_> {
        self.rules
            .iter()
            .find(|r| r.syscall == syscall && r.conditions.iter().all(|c| c.holds(args)))
            .map(|r| Verdict {
                action: r.action,
                json_path: &r.json_path,
            })
            .unwrap_or(Verdict {
                action: self.default_action,
                json_path: "$.defaultAction",
            })
    }

    /// The filter for audit mode: every action that would stop a call (errno, kill, trap,
    /// trace) becomes NOTIFY, so the supervisor sees the call, logs it as would-deny and lets
    /// it run; allowed calls stay decided in the kernel. The hand-off calls cannot be
    /// notified (the supervisor does not hold the listener yet when the child makes them), so
    /// they are allowed outright — a profile that denies them is not reported for them.
    pub fn audit_variant(&self) -> ResolvedProfile {
        let stops = |a: Action| !matches!(a, Action::Allow | Action::Log | Action::Notify);
        let mut audit = self.clone();
        if stops(audit.default_action) {
            audit.default_action = Action::Notify;
            audit.default_errno = None;
        }
        audit
            .rules
            .retain(|r| !HANDOFF_SYSCALLS.contains(&r.syscall.as_str()));
        for r in &mut audit.rules {
            if stops(r.action) {
                r.action = Action::Notify;
            }
        }
        audit
            .rules
            .extend(HANDOFF_SYSCALLS.iter().map(|s| ResolvedRule {
                syscall: s.to_string(),
                action: Action::Allow,
                conditions: vec![],
                json_path: AUDIT_HANDOFF_PATH.into(),
            }));
        audit
    }
}
