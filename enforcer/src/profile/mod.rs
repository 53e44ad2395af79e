//! Docker/OCI seccomp profiles: reading (Docker, Podman and OCI config.json forms), validation
//! with JSON paths, resolution for a host (includes/excludes, architectures, precedence) and
//! compilation to a BPF program with libseccomp.
//!
//! ```text
//! load_file / parse_str ─▶ Profile ─resolve(ctx)─▶ ResolvedProfile ─compile()─▶ CompiledFilter
//!                                                      │
//!                          effects(arch): explain, diff, lint ◀─┘
//! ```

mod arch;
mod audit;
mod bpf;
mod builtin;
mod caps;
mod compile;
mod conditions;
mod creation;
mod diff;
mod duplicates;
mod effective;
mod enosys;
mod entry;
mod error;
mod fields;
mod lint;
mod load;
mod model;
mod names;
mod nearest;
mod precedence;
mod resolve;
mod types;
mod validate;
mod words;

#[cfg(test)]
mod tests;

pub use arch::{Arch, X32_SYSCALL_BIT, native_arch};
pub use audit::{AUDIT_HANDOFF_PATH, Verdict};
pub use builtin::{BUILTIN_ORIGIN, CHMOD_FAMILY, builtin_default, builtin_resolved};
pub use caps::{CapError, CapList, CapSet};
pub use compile::CompiledFilter;
pub use creation::CREATION_PATH;
pub use diff::{Change, diff};
pub use effective::{Branch, Origin, SyscallEffect, lets_run};
pub use error::{ConflictKind, Problem, ProfileError, Warning};
pub use lint::{Lint, LintKind, lint};
pub use load::{LoadOptions, Loaded, load_file, parse_str};
pub use model::{ArchMapEntry, Filter, Profile, SyscallName, SyscallRule};
pub use names::{is_known as is_known_syscall, syscall_name, syscall_number, syscalls_of};
pub use resolve::{
    DOCKER_DEFAULT_CAPS, NOTIFY_MIN_KERNEL, NOTIFY_OVERLAY_PATH, ResolveContext, ResolvedProfile,
    ResolvedRule, running_kernel,
};
pub use types::{Action, ArgCond, CmpOp, Flag, KNOWN_CAPS, KernelVersion};
pub use words::{action_words, errno_name};

/// What the launcher calls between installing the filter and exec to hand the listener over:
/// notifying any of them would deadlock the workload, so profiles may not (DESIGN rule 5).
/// Capabilities and identity are dropped before the filter goes in (launch/privileges.rs), so
/// that drop adds nothing here.
pub const HANDOFF_SYSCALLS: [&str; 8] = [
    "write",
    "read",
    "close",
    "getpid",
    "exit_group",
    "exit",
    "execve",
    "execveat",
];
