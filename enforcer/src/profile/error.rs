//! Errors and warnings of the profile module. Every error names the file, the JSON path and
//! the failing value, so that `enforcer` can report a bad profile before anything runs.

use super::arch::Arch;
use super::nearest::did_you_mean;
use super::types::Action;
use std::fmt;
use std::path::PathBuf;

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error("profile {}: cannot read: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("profile {}: line {line}, column {column}: invalid JSON: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// One field of the profile is wrong; `json_path` is like `$.syscalls[2].action`.
    #[error("profile {}: {json_path}: {problem}", file.display())]
    Invalid {
        file: PathBuf,
        json_path: String,
        problem: Problem,
    },
    /// Validation reports every problem it finds, one per line.
    #[error("{}", join_lines(.0))]
    Several(Vec<ProfileError>),
    /// Two rules for one syscall whose combination cannot be reproduced exactly (see resolve.rs).
    #[error(
        "profile {}: syscall {syscall:?}: {first_path} ({first_action}) and {second_path} \
         ({second_action}): {reason}",
        file.display()
    )]
    Conflict {
        file: PathBuf,
        syscall: String,
        first_path: String,
        first_action: Action,
        second_path: String,
        second_action: Action,
        reason: ConflictKind,
    },
    /// A rule that libseccomp (or the kernel) cannot take for one architecture.
    #[error("profile {}: {json_path}: syscall {syscall:?} on {arch}: {message}", file.display())]
    Compile {
        file: PathBuf,
        json_path: String,
        syscall: String,
        arch: Arch,
        message: String,
    },
    /// A problem of the filter as a whole (architecture, attributes, export).
    #[error("profile {}: {message}", file.display())]
    Filter { file: PathBuf, message: String },
}

fn join_lines(errors: &[ProfileError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ProfileError {
    /// The JSON paths this error points at (empty for read, syntax and filter-wide errors).
    pub fn json_paths(&self) -> Vec<&str> {
        match self {
            Self::Invalid { json_path, .. } | Self::Compile { json_path, .. } => vec![json_path],
            Self::Conflict {
                first_path,
                second_path,
                ..
            } => vec![first_path, second_path],
            Self::Several(all) => all.iter().flat_map(Self::json_paths).collect(),
            Self::Read { .. } | Self::Syntax { .. } | Self::Filter { .. } => Vec::new(),
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A JSON type error (string where a number belongs, missing field, ...), from serde.
    #[error("{0}")]
    Type(String),
    #[error(
        "empty profile: no defaultAction and no syscalls (Docker reads this as \"no seccomp\"; \
         refusing to run unconfined)"
    )]
    Empty,
    #[error("missing defaultAction")]
    MissingDefaultAction,
    #[error("missing action")]
    MissingAction,
    #[error("OCI config without linux.seccomp (refusing to read it as \"no seccomp\")")]
    NoSeccompInOci,
    #[error("both \"name\" and \"names\" are set; use one")]
    NameAndNames,
    #[error("both \"architectures\" and \"archMap\" are set; use one")]
    ArchitecturesAndArchMap,
    #[error("unknown action {0:?}{hint}", hint = did_you_mean(.0, super::types::ACTION_NAMES))]
    UnknownAction(String),
    #[error("unknown comparison operator {0:?}{hint}", hint = did_you_mean(.0, super::types::CmpOp::NAMES))]
    UnknownOp(String),
    #[error("unknown architecture {0:?}{hint}", hint = did_you_mean(.0, Arch::scmp_names()))]
    UnknownArch(String),
    #[error("unknown architecture {name:?}{hint}")]
    UnknownDockerArch { name: String, hint: String },
    #[error("unknown seccomp flag {0:?}")]
    UnknownFlag(String),
    #[error("unknown capability {0:?}")]
    UnknownCapability(String),
    #[error("unknown errno {0:?}")]
    UnknownErrno(String),
    #[error(
        "unknown syscall {0:?}: no syscall table knows it (a typo, or newer than this \
         enforcer); --allow-unknown-syscalls skips such names with a warning"
    )]
    UnknownSyscall(String),
    #[error("empty syscall name")]
    EmptySyscallName,
    #[error("argument index {0} out of range (syscall arguments are 0 to 5)")]
    ArgIndex(u64),
    #[error("{field} is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}")]
    ErrnoNotAllowed { field: &'static str, action: String },
    #[error("errno value {0} does not fit the 16 bits of seccomp's return data")]
    ErrnoRange(u64),
    #[error(
        "this key appears twice in one object; which one counts is a guess (serde and Go keep \
         the last), so the profile is refused"
    )]
    DuplicateKey,
    #[error("an entry must name at least one syscall (the runtime spec: names MUST have one)")]
    NoNames,
    #[error("listenerMetadata without listenerPath: the runtime spec says it MUST NOT be set then")]
    MetadataWithoutListener,
    #[error("invalid kernel version {0:?}, expected \"<major>.<minor>\" like \"4.8\"")]
    KernelVersion(String),
    #[error(
        "SCMP_ACT_NOTIFY cannot be the default action: the listener hand-off itself would be \
         notified"
    )]
    NotifyDefault,
    #[error(
        "SCMP_ACT_NOTIFY on {0:?} is refused: the launcher calls it between installing the \
         filter and exec to hand the listener over, so the workload would deadlock"
    )]
    NotifyHandoff(String),
    #[error(
        "SCMP_ACT_NOTIFY at {rule} but no listenerPath: an OCI runtime (runc, crun) would have \
         no seccomp agent to hand the notifications to, and refuses the config"
    )]
    NotifyWithoutListener { rule: String },
    #[error(
        "SCMP_ACT_NOTIFY needs Linux 5.6 or later (seccomp listeners, and pidfd_getfd to hand \
         the listener over); this kernel is {}.{}", .kernel.0, .kernel.1
    )]
    NotifyUnsupportedKernel { kernel: (u32, u32) },
    #[error(
        "argument {index} is compared more than once while other arguments are compared too; \
         runc would turn every comparison of this entry into a rule of its own (OR), dropping \
         the AND with the other arguments: split the entry"
    )]
    MixedRepeatedArgs { index: u8 },
}

/// Why two rules of one syscall conflict (see the precedence notes in resolve.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConflictKind {
    #[error(
        "libseccomp ignores every conditional rule of a syscall that also has an unconditional \
         rule, so the conditional one would never apply"
    )]
    ShadowedConditional,
    #[error("same conditions with different actions (libseccomp refuses this)")]
    SameConditions,
    #[error(
        "overlapping conditions with different actions: libseccomp orders them by its own \
         tree, not by profile order; make the conditions disjoint"
    )]
    Overlapping,
}

/// Something that loads but deserves a note (skipped unknown syscall, ignored rule, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    pub json_path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "profile {}: {}: {}",
            self.file.display(),
            self.json_path,
            self.message
        )
    }
}
