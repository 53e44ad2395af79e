//! What the compiled filter does with each syscall of one ABI, read off the resolved profile:
//! its conditional rules in order, then one unconditional branch (an unconditional rule, the
//! ENOSYS answer for calls newer than the profile, or the default action). `profile explain`,
//! `profile diff` and the lints read profiles through this.

use super::arch::Arch;
use super::names::{syscall_number, syscalls_of};
use super::resolve::ResolvedProfile;
use super::types::{Action, ArgCond};

/// Where a branch comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A profile entry, by JSON path (or a marker such as the notify overlay's).
    Rule(String),
    /// The default action, at this JSON path.
    Default(String),
    /// Newer than every syscall the profile names on this ABI (runc's ENOSYS, enosys.rs).
    NewerThanProfile { newest: u32 },
}

impl Origin {
    /// The JSON path it points at, if any.
    pub fn json_path(&self) -> Option<&str> {
        match self {
            Self::Rule(p) | Self::Default(p) => Some(p),
            Self::NewerThanProfile { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub action: Action,
    /// ANDed; empty for the last branch.
    pub conditions: Vec<ArgCond>,
    pub origin: Origin,
}

/// What happens to one syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallEffect {
    pub name: String,
    pub nr: u32,
    /// The conditional branches in profile order (resolution refused overlapping ones with
    /// different actions, so at most one action can apply), then one unconditional branch.
    pub branches: Vec<Branch>,
}

/// An action that lets the call run.
pub fn lets_run(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log)
}

impl SyscallEffect {
    /// The unconditional branch: what happens when no condition holds.
    pub fn fallback(&self) -> &Branch {
        self.branches
            .last()
            .expect("every effect ends with an unconditional branch")
    }

    /// Same actions under the same conditions, wherever they come from.
    pub fn same_behaviour(&self, other: &SyscallEffect) -> bool {
        self.branches.len() == other.branches.len()
            && (self.branches.iter().zip(&other.branches))
                .all(|(a, b)| a.action == b.action && a.conditions == b.conditions)
    }

    /// The branches that let the call run (for some arguments at least).
    pub fn runs(&self) -> impl Iterator<Item = &Branch> {
        self.branches.iter().filter(|b| lets_run(b.action))
    }

    /// Whether every call runs, whatever its arguments.
    pub fn always_runs(&self) -> bool {
        self.branches.iter().all(|b| lets_run(b.action))
    }
}

impl ResolvedProfile {
    /// What the filter does with `name` on `arch`; `None` where that syscall does not exist.
    pub fn effect(&self, name: &str, arch: Arch) -> Option<SyscallEffect> {
        let nr = syscall_number(name, arch)? as u32;
        Some(self.effect_of(name, nr, arch))
    }

    /// Every syscall the tables know on `arch`, by name.
    pub fn effects(&self, arch: Arch) -> Vec<SyscallEffect> {
        let newest = self.newest_named(arch);
        let mut all: Vec<SyscallEffect> = (syscalls_of(arch).into_iter())
            .map(|(nr, name)| self.effect_with(&name, nr, newest))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    fn effect_of(&self, name: &str, nr: u32, arch: Arch) -> SyscallEffect {
        self.effect_with(name, nr, self.newest_named(arch))
    }

    fn effect_with(&self, name: &str, nr: u32, newest: Option<u32>) -> SyscallEffect {
        let rules: Vec<_> = self.rules_for(name).collect();
        let mut branches: Vec<Branch> = (rules.iter())
            .filter(|r| !r.conditions.is_empty())
            .map(|r| Branch {
                action: r.action,
                conditions: r.conditions.clone(),
                origin: Origin::Rule(r.json_path.clone()),
            })
            .collect();
        // Precedence leaves at most one unconditional rule per syscall.
        let fallback = match rules.iter().find(|r| r.conditions.is_empty()) {
            Some(r) => Branch {
                action: r.action,
                conditions: Vec::new(),
                origin: Origin::Rule(r.json_path.clone()),
            },
            None => match newest {
                Some(newest) if self.enosys_for_newer() && nr > newest => Branch {
                    action: Action::Errno(libc::ENOSYS as u32),
                    conditions: Vec::new(),
                    origin: Origin::NewerThanProfile { newest },
                },
                _ => Branch {
                    action: self.default_action,
                    conditions: Vec::new(),
                    origin: Origin::Default(self.field_path("defaultAction")),
                },
            },
        };
        branches.push(fallback);
        SyscallEffect {
            name: name.to_string(),
            nr,
            branches,
        }
    }
}
