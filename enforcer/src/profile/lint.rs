//! Lints of `profile check`: profiles that load and compile but leave a way around what they
//! seem to say. Each names the file, the JSON path of the entry at fault and the problem. They
//! look at the profile as resolved for this host, on its native arch.

use super::arch::Arch;
use super::effective::{Branch, Origin, SyscallEffect};
use super::error::Warning;
use super::model::Profile;
use super::names::syscall_number;
use super::resolve::ResolvedProfile;
use super::types::Action;
use super::words::action_words;
use crate::families::{FAMILIES, family_of};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LintKind {
    /// A rule for part of an alias family.
    PartialFamily,
    /// NOTIFY on a syscall the native arch does not have.
    NotifyAbsent,
    /// NOTIFY while the workload may stack filters or write other processes' memory.
    NotifyEscapable,
    /// io_uring allowed: its operations do not pass seccomp.
    IoUring,
    /// A compat ABI allowed next to the native one.
    CompatArch,
}

impl LintKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::PartialFamily => "partial-family",
            Self::NotifyAbsent => "notify-absent",
            Self::NotifyEscapable => "notify-escapable",
            Self::IoUring => "io-uring",
            Self::CompatArch => "compat-arch",
        }
    }
}

/// A warning of one kind: file, JSON path and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    pub kind: LintKind,
    pub warning: Warning,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.warning, self.kind.code())
    }
}

/// Calls that let a workload get around its supervisor (see [`LintKind::NotifyEscapable`]).
const ESCAPES: [(&str, &str); 3] = [
    (
        "seccomp",
        "the workload can install filters of its own, which the kernel runs together with this \
         one and whose errno, trap or kill take precedence over NOTIFY",
    ),
    (
        "ptrace",
        "the workload can rewrite the registers and memory of its other threads and processes, \
         including the arguments the supervisor reads",
    ),
    (
        "process_vm_writev",
        "the workload can rewrite the memory of its other processes, including the arguments \
         the supervisor reads",
    ),
];

const IO_URING: [&str; 3] = ["io_uring_setup", "io_uring_enter", "io_uring_register"];

/// The lints of `profile` as resolved into `resolved` (native arch first).
pub fn lint(profile: &Profile, resolved: &ResolvedProfile) -> Vec<Lint> {
    let native = resolved
        .arches
        .first()
        .copied()
        .unwrap_or_else(Arch::native);
    let linter = Linter {
        resolved,
        native,
        out: Vec::new(),
    };
    linter.run(profile)
}

struct Linter<'a> {
    resolved: &'a ResolvedProfile,
    native: Arch,
    out: Vec<Lint>,
}

impl Linter<'_> {
    fn run(mut self, profile: &Profile) -> Vec<Lint> {
        self.partial_families();
        self.notify_absent();
        self.notify_escapable();
        self.io_uring();
        self.compat_arches(profile);
        self.out
    }

    fn push(&mut self, kind: LintKind, json_path: &str, message: String) {
        self.out.push(Lint {
            kind,
            warning: Warning {
                file: self.resolved.origin.clone(),
                json_path: json_path.to_string(),
                message,
            },
        });
    }

    /// A member restricted by a rule of its own while another member runs unconditionally.
    /// Members denied by the default only are not flagged: an allow-list that leaves out
    /// some aliases is stricter, not weaker.
    fn partial_families(&mut self) {
        for (family, members) in FAMILIES {
            let effects: Vec<SyscallEffect> = (members.iter())
                .filter_map(|m| self.resolved.effect(m, self.native))
                .collect();
            let open: Vec<&str> = (effects.iter())
                .filter(|e| e.always_runs())
                .map(|e| e.name.as_str())
                .collect();
            if open.is_empty() {
                continue;
            }
            let restricting = effects.iter().filter_map(|e| {
                let b = e.branches.iter().find(|b| {
                    !super::effective::lets_run(b.action) && matches!(b.origin, Origin::Rule(_))
                })?;
                Some((e, b))
            });
            let mut found = Vec::new();
            for (e, b) in restricting {
                let message = format!(
                    "{} is {}{} here, but {} of the {family} family (the same operation by \
                     other names) {} allowed: a workload walks around this rule; give every \
                     member of the family the same rule",
                    e.name,
                    action_words(b.action),
                    when(b),
                    open.join(", "),
                    if open.len() == 1 { "is" } else { "are" },
                );
                found.push((
                    b.origin.json_path().unwrap_or_default().to_string(),
                    message,
                ));
            }
            for (path, message) in found {
                self.push(LintKind::PartialFamily, &path, message);
            }
        }
    }

    fn notify_absent(&mut self) {
        let absent: Vec<(String, String)> = (self.resolved.rules.iter())
            .filter(|r| r.action == Action::Notify)
            .filter(|r| syscall_number(&r.syscall, self.native).is_none())
            .map(|r| {
                let present: Vec<&str> = family_of(&r.syscall)
                    .map(|(_, m)| m.to_vec())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|m| syscall_number(m, self.native).is_some())
                    .collect();
                let hint = if present.is_empty() {
                    String::new()
                } else {
                    format!("; its family has {} here", present.join(", "))
                };
                let message = format!(
                    "SCMP_ACT_NOTIFY on {:?}, which {} does not have: the rule never reaches \
                     the supervisor{hint}",
                    r.syscall, self.native
                );
                (r.json_path.clone(), message)
            })
            .collect();
        for (path, message) in absent {
            self.push(LintKind::NotifyAbsent, &path, message);
        }
    }

    fn notify_escapable(&mut self) {
        let notified = self.resolved.notified_syscalls();
        if notified.is_empty() {
            return;
        }
        let list = notified.into_iter().collect::<Vec<_>>().join(", ");
        for (name, why) in ESCAPES {
            if let Some((path, cond)) = self.first_run(name) {
                let message =
                    format!("{name} is allowed{cond} while the profile notifies {list}: {why}");
                self.push(LintKind::NotifyEscapable, &path, message);
            }
        }
    }

    /// One lint per entry that allows io_uring calls (the default allows them all at once).
    fn io_uring(&mut self) {
        let mut by_path: Vec<(String, Vec<String>)> = Vec::new();
        for name in IO_URING {
            if let Some((path, cond)) = self.first_run(name) {
                let what = format!("{name}{cond}");
                match by_path.iter_mut().find(|(p, _)| *p == path) {
                    Some((_, names)) => names.push(what),
                    None => by_path.push((path, vec![what])),
                }
            }
        }
        for (path, names) in by_path {
            let verb = if names.len() == 1 { "is" } else { "are" };
            let message = format!(
                "{} {verb} allowed: io_uring carries out opens, reads, writes, connects and \
                 more in the kernel without passing seccomp, so the rules for those syscalls do \
                 not apply to them",
                names.join(", ")
            );
            self.push(LintKind::IoUring, &path, message);
        }
    }

    /// Where `name` is first let run on the native arch, and under which conditions.
    fn first_run(&self, name: &str) -> Option<(String, String)> {
        let effect = self.resolved.effect(name, self.native)?;
        let b = effect.runs().next()?;
        Some((
            b.origin.json_path().unwrap_or_default().to_string(),
            when(b),
        ))
    }

    fn compat_arches(&mut self, profile: &Profile) {
        let native = self.native;
        for &arch in self.resolved.arches.iter().filter(|a| **a != native) {
            let path = arch_path(profile, native, arch);
            let message = format!(
                "{arch} calls are allowed next to {native}: a compat ABI is another way into \
                 the kernel, with other syscall numbers and older calls; leave it out unless \
                 the workload runs {arch} binaries"
            );
            self.push(LintKind::CompatArch, &path, message);
        }
    }
}

/// " when arg0 == 1 and ..." for a conditional branch, "" otherwise.
fn when(b: &Branch) -> String {
    if b.conditions.is_empty() {
        return String::new();
    }
    let conds: Vec<String> = b.conditions.iter().map(ToString::to_string).collect();
    format!(" when {}", conds.join(" and "))
}

/// The JSON path that brings `arch` in: an archMap sub-architecture or an `architectures` item.
fn arch_path(profile: &Profile, native: Arch, arch: Arch) -> String {
    let root = &profile.root_path;
    if let Some((i, entry)) =
        (profile.arch_map.iter().enumerate()).find(|(_, e)| e.architecture == native)
        && let Some(j) = entry.sub_architectures.iter().position(|a| *a == arch)
    {
        return format!("{root}.archMap[{i}].subArchitectures[{j}]");
    }
    match profile.architectures.iter().position(|a| *a == arch) {
        Some(j) => format!("{root}.architectures[{j}]"),
        None => format!("{root}.architectures"),
    }
}
