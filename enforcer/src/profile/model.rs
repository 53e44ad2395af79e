//! The profile as read: `Raw*` mirror the JSON (Docker, Podman and OCI field names; unknown
//! fields are ignored as Docker ignores them), `Profile` is the validated, typed form.

use super::arch::Arch;
use super::types::{Action, ArgCond, Flag, KernelVersion};
use serde::Deserialize;
use std::path::PathBuf;

/// A Docker/Podman seccomp profile, or an OCI `linux.seccomp` (same field names).
#[derive(Debug, Default, Deserialize)]
#[serde(rename = "SeccompProfile", rename_all = "camelCase")]
pub(crate) struct RawProfile {
    pub default_action: Option<String>,
    pub default_errno_ret: Option<u64>,
    /// Podman: an errno name, which wins over defaultErrnoRet.
    pub default_errno: Option<String>,
    pub architectures: Option<Vec<String>>,
    pub arch_map: Option<Vec<RawArchMap>>,
    pub flags: Option<Vec<String>>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    pub syscalls: Option<Vec<RawSyscall>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename = "ArchMapEntry", rename_all = "camelCase")]
pub(crate) struct RawArchMap {
    pub architecture: String,
    pub sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename = "SyscallEntry", rename_all = "camelCase")]
pub(crate) struct RawSyscall {
    /// Old format: one name per entry.
    pub name: Option<String>,
    pub names: Option<Vec<String>>,
    pub action: Option<String>,
    pub errno_ret: Option<u64>,
    /// Podman: an errno name, which wins over errnoRet.
    pub errno: Option<String>,
    pub args: Option<Vec<RawArg>>,
    pub comment: Option<String>,
    pub includes: Option<RawFilter>,
    pub excludes: Option<RawFilter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Arg", rename_all = "camelCase")]
pub(crate) struct RawArg {
    pub index: u64,
    #[serde(default)]
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename = "Filter", rename_all = "camelCase")]
pub(crate) struct RawFilter {
    pub caps: Option<Vec<String>>,
    pub arches: Option<Vec<String>>,
    pub min_kernel: Option<String>,
}

/// A validated profile, not yet resolved for a host (see [`Profile::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The file it came from (or a `<builtin:...>` name), for error messages.
    pub origin: PathBuf,
    /// JSON path of the profile object: `$`, or `$.linux.seccomp` in an OCI config.
    pub root_path: String,
    /// With the errno of `defaultErrnoRet`/`defaultErrno` folded in (EPERM when absent).
    pub default_action: Action,
    /// The errno the profile gave for the default action, if any.
    pub default_errno: Option<u32>,
    /// Old format: the architectures, as listed.
    pub architectures: Vec<Arch>,
    pub arch_map: Vec<ArchMapEntry>,
    pub flags: Vec<Flag>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<SyscallRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchMapEntry {
    pub architecture: Arch,
    pub sub_architectures: Vec<Arch>,
}

/// One entry of `syscalls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRule {
    /// Like `$.syscalls[3]`.
    pub json_path: String,
    /// Known names only (unknown ones were refused, or skipped with a warning).
    pub names: Vec<SyscallName>,
    pub action: Action,
    pub args: Vec<ArgCond>,
    pub comment: Option<String>,
    pub includes: Filter,
    pub excludes: Filter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallName {
    pub name: String,
    /// Like `$.syscalls[3].names[2]` or `$.syscalls[3].name`.
    pub json_path: String,
}

/// `includes` / `excludes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub caps: Vec<String>,
    /// Docker's arch names (amd64, arm64, x86, ...).
    pub arches: Vec<String>,
    pub min_kernel: Option<KernelVersion>,
}

impl SyscallRule {
    /// The rules this entry stands for, as alternatives (OR) of comparisons (AND).
    ///
    /// libseccomp refuses two comparisons of one argument in a rule. runc's answer, kept here:
    /// when an argument is compared more than once, every comparison becomes a rule of its own.
    /// Validation refuses that case unless all comparisons are on the same argument, since
    /// otherwise the split would drop the AND with the other arguments.
    pub fn condition_sets(&self) -> Vec<Vec<ArgCond>> {
        let repeated = self
            .args
            .iter()
            .enumerate()
            .any(|(i, a)| self.args[..i].iter().any(|b| b.index == a.index));
        if repeated {
            self.args.iter().map(|a| vec![*a]).collect()
        } else {
            let mut set = self.args.clone();
            set.sort();
            vec![set]
        }
    }
}
