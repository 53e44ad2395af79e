//! Which calls of a watched cgroup get detailed events: named syscalls, or by default every
//! call the active profile may refuse or hand to the supervisor. Also the mapping between the
//! eBPF side's ABI index (`ARCH_*`) and the profile's architectures.

use crate::profile::{self, Action, Arch, ResolvedProfile, X32_SYSCALL_BIT};
use enforcer_common::{ARCH_I386, ARCH_NATIVE, ARCH_X32, SELECT_ALL, SELECT_MAP, SELECT_NONE};
use std::collections::BTreeSet;

/// The ABIs the eBPF side tells apart, with the profile architecture of each. Compat ABIs
/// exist only on x86_64 kernels.
pub fn abis() -> Vec<(u32, Arch)> {
    let native = profile::native_arch();
    let mut abis = vec![(ARCH_NATIVE, native)];
    if native == Arch::X86_64 {
        abis.extend([(ARCH_I386, Arch::X86), (ARCH_X32, Arch::X32)]);
    }
    abis
}

/// The profile architecture of an `ARCH_*` index.
pub fn profile_arch(abi: u32) -> Arch {
    match abi {
        ARCH_I386 => Arch::X86,
        ARCH_X32 => Arch::X32,
        _ => profile::native_arch(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("--trace {name}: no syscall of that name on {arch}")]
pub struct UnknownSyscall {
    pub name: String,
    pub arch: String,
}

/// Selection for one ABI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AbiSelection {
    #[default]
    Nothing,
    Calls(BTreeSet<u32>),
    All,
}

/// Selection for every ABI, indexed by `ARCH_*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub abis: [AbiSelection; 3],
}

impl Selection {
    /// Selects call `nr` of ABI `abi`.
    pub fn add(&mut self, abi: u32, nr: u32) {
        let slot = &mut self.abis[abi as usize];
        match slot {
            AbiSelection::All => {}
            AbiSelection::Calls(set) => {
                set.insert(nr);
            }
            AbiSelection::Nothing => *slot = AbiSelection::Calls(BTreeSet::from([nr])),
        }
    }

    /// The syscalls named, on every ABI where they exist (the native one at least).
    pub fn named<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownSyscall> {
        let mut selection = Self::default();
        for name in names.iter().map(AsRef::as_ref) {
            let native = profile::native_arch();
            if profile::syscall_number(name, native).is_none() {
                return Err(UnknownSyscall {
                    name: name.to_owned(),
                    arch: crate::events::arch_label(native),
                });
            }
            for (abi, arch) in abis() {
                if let Some(nr) = profile::syscall_number(name, arch) {
                    selection.add(abi, nr as u32);
                }
            }
        }
        Ok(selection)
    }

    /// Every call `profile` may refuse: an ABI the profile does not cover at all, syscalls
    /// without a rule when the default refuses, and syscalls with any refusing or conditional
    /// rule. Notified calls are left out: the supervisor logs a `decision` event for each,
    /// with the same facts, and tracing them too doubled their cost (`cargo xtask bench
    /// notify`).
    pub fn refused_by(profile: &ResolvedProfile) -> Self {
        let mut selection = Self::default();
        let default_allows = allows(profile.default_action);
        for (abi, arch) in abis() {
            if !profile.arches.contains(&arch) {
                selection.abis[abi as usize] = AbiSelection::All;
                continue;
            }
            let base = if arch == Arch::X32 {
                X32_SYSCALL_BIT as u32
            } else {
                0
            };
            for nr in (0..MAX_TABLE_NR).map(|n| n | base) {
                let Some(name) = profile::syscall_name(nr.into(), arch) else {
                    continue;
                };
                let mut rules = profile.rules_for(&name).peekable();
                let may_refuse = if rules.peek().is_none() {
                    !default_allows
                } else {
                    rules
                        .any(|r| refuses(r.action) || (!r.conditions.is_empty() && !default_allows))
                };
                if may_refuse {
                    selection.add(abi, nr);
                }
            }
        }
        selection
    }

    /// The (abi, nr) pairs of the selection map.
    pub fn listed(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.abis.iter().enumerate().flat_map(|(abi, s)| {
            let calls = match s {
                AbiSelection::Calls(set) => Some(set.iter().map(move |nr| (abi as u32, *nr))),
                _ => None,
            };
            calls.into_iter().flatten()
        })
    }

    /// The per-ABI modes of the watch entry.
    pub fn modes(&self) -> [u8; 4] {
        let mut modes = [SELECT_NONE; 4];
        for (m, s) in modes.iter_mut().zip(&self.abis) {
            *m = match s {
                AbiSelection::Nothing => SELECT_NONE,
                AbiSelection::Calls(_) => SELECT_MAP,
                AbiSelection::All => SELECT_ALL,
            };
        }
        modes
    }
}

/// Syscall tables end below this number (x86_64 is at 467; i386 at 467 too).
const MAX_TABLE_NR: u32 = 1024;

fn allows(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log)
}

/// Stopped in the kernel: neither allowed nor handed to the supervisor.
fn refuses(action: Action) -> bool {
    !allows(action) && action != Action::Notify
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ResolveContext;

    #[test]
    fn named_syscalls_select_every_abi_where_they_exist() {
        let s = Selection::named(&["getppid"]).unwrap();
        assert_eq!(s.abis[0], AbiSelection::Calls(BTreeSet::from([110])));
        assert_eq!(s.abis[1], AbiSelection::Calls(BTreeSet::from([64])));
        assert_eq!(
            s.abis[2],
            AbiSelection::Calls(BTreeSet::from([110 | X32_SYSCALL_BIT as u32]))
        );
        assert_eq!(s.modes(), [SELECT_MAP, SELECT_MAP, SELECT_MAP, SELECT_NONE]);
        assert!(Selection::named(&["getppidd"]).is_err());
    }

    #[test]
    fn default_profile_selects_its_refusals_not_its_notifications() {
        let resolved = profile::builtin_resolved(&ResolveContext::from_system()).unwrap();
        let s = Selection::refused_by(&resolved);
        let AbiSelection::Calls(native) = &s.abis[0] else {
            panic!("native: {:?}", s.abis[0]);
        };
        let nr = |n: &str| profile::syscall_number(n, Arch::X86_64).unwrap() as u32;
        // Refused (no rule, default errno), conditional (openat: a setuid mode with O_CREAT
        // gets EPERM in the built-in default): selected.
        for name in ["mount", "clone", "personality", "openat"] {
            assert!(native.contains(&nr(name)), "{name} not selected");
        }
        // Allowed without condition, or notified (the supervisor logs those): not selected.
        for name in ["read", "getppid", "chmod", "fchmodat2"] {
            assert!(!native.contains(&nr(name)), "{name} selected");
        }
    }
}
