//! Resolution of a [`Profile`] for one host, as moby/profiles (Docker) and containers/common
//! (Podman) do it: `includes`/`excludes` against the container's capabilities, the host's
//! arch and kernel; the architectures from `archMap` or `architectures`.
//!
//! # Precedence of several rules for one syscall
//!
//! What libseccomp 2.5.4 really does (checked with its API on this host): it adds every rule;
//! an **unconditional** rule absorbs every conditional rule of the same syscall, whatever
//! their order and actions (the conditional ones are silently dropped); of two unconditional
//! rules with different actions it silently keeps the **first**; two conditional rules with
//! identical comparisons and different actions are refused (EEXIST); conditional rules with
//! different comparisons are all kept, and where they overlap the winner follows libseccomp's
//! internal tree order, not profile order. runc first skips every rule whose action equals the
//! default action. From that, this module defines (in [`precedence`](super::precedence)):
//!
//! 1. Unconditional + unconditional, same action: merged.
//! 2. Unconditional + unconditional, different actions: the first one whose action is not the
//!    default wins (libseccomp's first-wins after runc's skip), with a [`Warning`] naming both
//!    JSON paths. Not an error because Podman's own default profile relies on it (`setns` is
//!    allowed by `$.syscalls[1]` and denied again by `$.syscalls[16]`).
//! 3. Unconditional + conditional with the same action: the conditional one is redundant.
//! 4. Unconditional + conditional with another action: an error naming both paths, unless the
//!    unconditional action is the default action (then the conditional rule is an exception
//!    on top of the default, which is exactly expressible). libseccomp would drop the
//!    conditional rule, silently changing what the profile says.
//! 5. Conditional rules are kept in profile order. Identical comparisons: same action merged,
//!    different actions an error. Different actions whose comparisons may match the same call
//!    (checked per argument, see [`conditions`](super::conditions)): an error, because which
//!    one wins would depend on libseccomp internals.
//! 6. Comparisons of one entry are ANDed. When one argument is compared several times, each
//!    comparison is a rule of its own (OR), as runc does; validation refuses that when other
//!    arguments are compared too.

use super::arch::Arch;
use super::error::{Problem, ProfileError, Warning};
use super::model::{Filter, Profile, SyscallRule};
use super::precedence;
use super::types::{Action, ArgCond, Flag, KernelVersion, parse_release};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Docker's default capability set (moby's `caps.DefaultCapabilities`).
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The kernel that can deliver notifications the launcher's way: seccomp listeners (5.0) and
/// pidfd_getfd for the hand-off (5.6).
pub const NOTIFY_MIN_KERNEL: KernelVersion = (5, 6);

/// What resolution depends on: the workload's capabilities (bounding set) and the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveContext {
    /// Like "CAP_SYS_ADMIN".
    pub caps: BTreeSet<String>,
    pub native_arch: Arch,
    /// (major, minor) of the running kernel.
    pub kernel: KernelVersion,
}

impl ResolveContext {
    pub fn new<I, S>(caps: I, native_arch: Arch, kernel: KernelVersion) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            caps: caps.into_iter().map(Into::into).collect(),
            native_arch,
            kernel,
        }
    }

    /// Docker's default capabilities on this host's arch and kernel. If the kernel release
    /// cannot be read, (0, 0) is used: `minKernel` entries are then left out (fail closed).
    pub fn from_system() -> Self {
        let kernel = running_kernel().unwrap_or((0, 0));
        Self::new(DOCKER_DEFAULT_CAPS.iter().copied(), Arch::native(), kernel)
    }

    /// The same context for another kernel version (tests, explain for another host).
    pub fn with_kernel(mut self, kernel: KernelVersion) -> Self {
        self.kernel = kernel;
        self
    }

    pub fn with_caps<I, S>(mut self, caps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.caps = caps.into_iter().map(Into::into).collect();
        self
    }
}

/// (major, minor) of the running kernel, from uname(2) as moby reads it.
pub fn running_kernel() -> Option<KernelVersion> {
    // SAFETY: utsname is plain bytes, so all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes only into the struct we own; it cannot fail with a valid pointer.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: uname NUL-terminates release, which lives in `uts` for this scope.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    parse_release(&release.to_string_lossy())
}

/// One rule of a resolved profile: one syscall, one action, comparisons ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRule {
    pub syscall: String,
    pub action: Action,
    /// Sorted by argument index; empty for an unconditional rule.
    pub conditions: Vec<ArgCond>,
    /// Where the rule comes from, like `$.syscalls[3].names[2]` (or `<notify overlay>`).
    pub json_path: String,
}

/// A profile for one host: what gets compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProfile {
    pub origin: PathBuf,
    /// JSON path of the profile object: `$`, or `$.linux.seccomp` in an OCI config.
    pub root_path: String,
    pub default_action: Action,
    pub default_errno: Option<u32>,
    /// The native arch first.
    pub arches: Vec<Arch>,
    pub flags: Vec<Flag>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    /// In profile order, after the precedence rules above.
    pub rules: Vec<ResolvedRule>,
    /// Rules that lost to another one (precedence rule 2).
    pub warnings: Vec<Warning>,
}

/// Marks the rules [`ResolvedProfile::with_notify_overlay`] adds.
pub const NOTIFY_OVERLAY_PATH: &str = "<notify overlay>";

impl Profile {
    /// Applies includes/excludes and the precedence rules for the host described by `ctx`.
    pub fn resolve(&self, ctx: &ResolveContext) -> Result<ResolvedProfile, ProfileError> {
        let mut rules = Vec::new();
        for entry in self.syscalls.iter().filter(|e| applies(e, ctx)) {
            for name in &entry.names {
                for conditions in entry.condition_sets() {
                    rules.push(ResolvedRule {
                        syscall: name.name.clone(),
                        action: entry.action,
                        conditions,
                        json_path: name.json_path.clone(),
                    });
                }
            }
        }
        let (rules, warnings) = precedence::apply(rules, self.default_action, &self.origin)?;
        if let Some(rule) = rules.iter().find(|r| r.action == Action::Notify)
            && ctx.kernel < NOTIFY_MIN_KERNEL
        {
            return Err(ProfileError::Invalid {
                file: self.origin.clone(),
                json_path: rule.json_path.clone(),
                problem: Problem::NotifyUnsupportedKernel { kernel: ctx.kernel },
            });
        }
        Ok(ResolvedProfile {
            origin: self.origin.clone(),
            root_path: self.root_path.clone(),
            default_action: self.default_action,
            default_errno: self.default_errno,
            arches: self.arches_for(ctx.native_arch),
            flags: self.flags.clone(),
            listener_path: self.listener_path.clone(),
            listener_metadata: self.listener_metadata.clone(),
            rules,
            warnings,
        })
    }

    /// `archMap`: the entry of the native arch plus its sub-architectures; `architectures`:
    /// as listed; neither: native only. The native arch is always in, as runc's filter always
    /// holds it (and its syscalls would otherwise hit the bad-arch action).
    fn arches_for(&self, native: Arch) -> Vec<Arch> {
        let mut arches = vec![native];
        let listed = match self.arch_map.iter().find(|e| e.architecture == native) {
            Some(entry) => entry.sub_architectures.clone(),
            None => self.architectures.clone(),
        };
        for arch in listed {
            if !arches.contains(&arch) {
                arches.push(arch);
            }
        }
        arches
    }
}

/// moby's order: excludes (arches, caps, minKernel), then includes (arches, caps, minKernel).
/// Included caps must all be present, as in moby and Podman; any excluded cap excludes.
fn applies(entry: &SyscallRule, ctx: &ResolveContext) -> bool {
    let on_arch = |f: &Filter| {
        (ctx.native_arch.docker_names().iter()).any(|n| f.arches.iter().any(|a| a == n))
    };
    let kernel_at_least = |v: KernelVersion| ctx.kernel >= v;
    let ex = &entry.excludes;
    if (!ex.arches.is_empty() && on_arch(ex))
        || ex.caps.iter().any(|c| ctx.caps.contains(c))
        || ex.min_kernel.is_some_and(kernel_at_least)
    {
        return false;
    }
    let inc = &entry.includes;
    (inc.arches.is_empty() || on_arch(inc))
        && inc.caps.iter().all(|c| ctx.caps.contains(c))
        && inc.min_kernel.is_none_or(kernel_at_least)
}

impl ResolvedProfile {
    /// Whether any rule, or the default action, hands calls to the supervisor.
    pub fn has_notify(&self) -> bool {
        self.default_action == Action::Notify
            || self.rules.iter().any(|r| r.action == Action::Notify)
    }

    /// The syscalls some rule notifies.
    pub fn notified_syscalls(&self) -> BTreeSet<String> {
        (self.rules.iter())
            .filter(|r| r.action == Action::Notify)
            .map(|r| r.syscall.clone())
            .collect()
    }

    /// Replaces every rule of `names` by one unconditional SCMP_ACT_NOTIFY rule each (used to
    /// put the built-in default's chmod family under the supervisor).
    pub fn with_notify_overlay(mut self, names: &[&str]) -> Self {
        self.rules.retain(|r| !names.contains(&r.syscall.as_str()));
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                continue;
            }
            self.rules.push(ResolvedRule {
                syscall: (*name).to_string(),
                action: Action::Notify,
                conditions: Vec::new(),
                json_path: NOTIFY_OVERLAY_PATH.to_string(),
            });
        }
        self
    }

    /// JSON path of a top-level field, like `$.defaultAction` (`$.linux.seccomp.defaultAction`
    /// in an OCI config).
    pub fn field_path(&self, field: &str) -> String {
        super::load::join_path(&self.root_path, field)
    }

    /// The rules of one syscall, in order (for explain).
    pub fn rules_for<'a>(&'a self, syscall: &'a str) -> impl Iterator<Item = &'a ResolvedRule> {
        self.rules.iter().filter(move |r| r.syscall == syscall)
    }
}
