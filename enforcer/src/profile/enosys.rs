//! runc's behaviour for syscalls the profile does not know: a call numbered above every
//! syscall the profile names (per ABI) is newer than the profile, and gets ENOSYS so that
//! libc falls back to an older call the profile does decide on; any other call the profile
//! does not name gets the default action. runc does this with a BPF stub in front of
//! libseccomp's program (libcontainer/seccomp/patchbpf); this is our own, same semantics.

use super::arch::{Arch, X32_SYSCALL_BIT};
use super::bpf::{EnosysBlock, X32Bit};
use super::names::syscall_number;
use super::resolve::ResolvedProfile;
use super::types::Action;

impl ResolvedProfile {
    /// Whether calls newer than the profile get ENOSYS. As runc: not when the default action
    /// lets calls run anyway (allow, log, trace) or already is ENOSYS.
    pub fn enosys_for_newer(&self) -> bool {
        !matches!(
            self.default_action,
            Action::Allow | Action::Log | Action::Trace(_)
        ) && self.default_action != Action::Errno(libc::ENOSYS as u32)
    }

    /// The highest number on `arch` of the syscalls the resolved profile names (rules equal
    /// to the default action included, as runc counts every name of its config).
    pub fn newest_named(&self, arch: Arch) -> Option<u32> {
        (self.rules.iter())
            .filter_map(|r| syscall_number(&r.syscall, arch))
            .map(|nr| {
                let nr = nr as u32; // syscall_number gives non-negative numbers only
                if arch == Arch::X32 {
                    nr | X32_SYSCALL_BIT as u32
                } else {
                    nr
                }
            })
            .max()
    }

    /// The stub's blocks, one per ABI of the filter whose AUDIT_ARCH we know. An ABI we cannot
    /// stub keeps the default action for newer calls: stricter than runc, never weaker.
    pub(crate) fn enosys_blocks(&self) -> Vec<EnosysBlock> {
        if !self.enosys_for_newer() {
            return Vec::new();
        }
        (self.arches.iter())
            .filter_map(|&arch| {
                let audit_arch = arch.audit_arch()?;
                let newest = self.newest_named(arch)?;
                let x32 = match arch {
                    Arch::X86_64 => X32Bit::Clear,
                    Arch::X32 => X32Bit::Set,
                    _ => X32Bit::Any,
                };
                Some(EnosysBlock {
                    audit_arch,
                    x32,
                    newest,
                })
            })
            .collect()
    }
}
