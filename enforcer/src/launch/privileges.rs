//! Dropping the workload's capabilities and identity in the forked child, before the filter.
//!
//! Order and why (runc installs the filter before dropping, so the filter must allow the drop
//! calls; we drop first and keep nothing to do after the filter but the hand-off):
//! 1. bounding set: drop every capability the workload must not have (needs CAP_SETPCAP);
//! 2. ambient set cleared;
//! 3. with --user: PR_SET_KEEPCAPS, setgroups, setresgid, setresuid (keeps the permitted set);
//! 4. capset: effective = permitted = what the workload holds, plus CAP_SYS_ADMIN when the
//!    launcher is root, because seccomp(2) without no_new_privs needs it; inheritable empty.
//!
//! The filter goes in next (child.rs), with that CAP_SYS_ADMIN. execve then drops it without
//! another call: a root workload's new permitted set is its bounding set (plus inheritable,
//! empty), a non-root workload's is what the file grants within the bounding set (plus
//! ambient, empty); KEEPCAPS is reset by execve. So no_new_privs stays off (setuid programs
//! inside the workload keep working, as in Docker) and HANDOFF_SYSCALLS needs no new calls.

use super::child::Stage;
use super::identity::Credentials;
use crate::profile::KNOWN_CAPS;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CAP_SYS_ADMIN: u32 = 21;

/// Everything the drop needs, prepared before the fork.
pub(super) struct PrivilegePlan {
    /// Bit N: drop capability N from the bounding set (N up to the kernel's last one).
    bounding_drop: u64,
    last_cap: u32,
    /// (uid, gid) to switch to.
    user: Option<(libc::uid_t, libc::gid_t)>,
    groups: Vec<libc::gid_t>,
    header: CapHeader,
    data: [CapData; 2],
    /// The launcher is not root: no CAP_SYS_ADMIN to keep, set no_new_privs for seccomp(2).
    pub(super) no_new_privs: bool,
}

impl PrivilegePlan {
    pub(super) fn new(credentials: &Credentials, launcher_is_root: bool) -> Self {
        let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|n| *n < 64)
            .unwrap_or(KNOWN_CAPS.len() as u32 - 1);
        let every = if last_cap == 63 {
            u64::MAX
        } else {
            (1u64 << (last_cap + 1)) - 1
        };
        let mut held = credentials.held().bits();
        if launcher_is_root {
            held |= 1 << CAP_SYS_ADMIN;
        }
        let data = [
            CapData {
                effective: held as u32,
                permitted: held as u32,
                inheritable: 0,
            },
            CapData {
                effective: (held >> 32) as u32,
                permitted: (held >> 32) as u32,
                inheritable: 0,
            },
        ];
        let user = credentials.user.as_ref();
        Self {
            bounding_drop: every & !credentials.caps.bits(),
            last_cap,
            user: user.map(|u| (u.uid, u.gid)),
            groups: user.map(|u| u.groups.clone()).unwrap_or_default(),
            header: CapHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            },
            data,
            no_new_privs: !launcher_is_root,
        }
    }

    /// Runs in the child after fork: raw, async-signal-safe calls on this plan only. On
    /// failure, the stage; errno tells why.
    pub(super) fn apply(&self) -> Result<(), Stage> {
        let ok = |rc: libc::c_long| rc == 0;
        // SAFETY: prctl and the raw syscalls take integers, or pointers into `self`, which
        // lives across the calls; none of them allocates or takes a lock.
        unsafe {
            for cap in (0..=self.last_cap).filter(|c| self.bounding_drop & (1 << c) != 0) {
                if libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) != 0 {
                    return Err(Stage::Capabilities);
                }
            }
            let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong;
            if libc::prctl(libc::PR_CAP_AMBIENT, clear, 0, 0, 0) != 0 {
                return Err(Stage::Capabilities);
            }
            if let Some((uid, gid)) = self.user {
                // 32-bit ids on x86_64 and aarch64 (the 16-bit calls are i386/arm's).
                let switched = libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0
                    && ok(libc::syscall(
                        libc::SYS_setgroups,
                        self.groups.len(),
                        self.groups.as_ptr(),
                    ))
                    && ok(libc::syscall(libc::SYS_setresgid, gid, gid, gid))
                    && ok(libc::syscall(libc::SYS_setresuid, uid, uid, uid));
                if !switched {
                    return Err(Stage::Identity);
                }
            }
            let header = &self.header as *const CapHeader;
            if !ok(libc::syscall(libc::SYS_capset, header, self.data.as_ptr())) {
                return Err(Stage::Capabilities);
            }
        }
        Ok(())
    }
}
