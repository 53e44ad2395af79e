//! The caller's credentials, read from /proc/TID/status, and taking them on one thread.
//!
//! An emulation worker acts for the caller with the credentials the kernel checks for file
//! operations: the filesystem uid and gid, the supplementary groups and the effective
//! capabilities. It keeps root's real, effective and saved uids and its permitted set, so it
//! can switch to another caller's credentials when they differ (and only then), and so that a
//! caller, which never holds all of root's permitted capabilities, cannot ptrace it.
//!
//! Credentials are per thread in Linux; the raw syscalls below change only the calling
//! thread (libc's wrappers would change every thread of the supervisor).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// real, effective, saved, filesystem
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub groups: Vec<u32>,
    pub cap_eff: u64,
}

impl Creds {
    pub fn fsuid(&self) -> u32 {
        self.uid[3]
    }
    pub fn fsgid(&self) -> u32 {
        self.gid[3]
    }
}

/// What the supervisor needs from /proc/TID/status, read once per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub creds: Creds,
    pub umask: u32,
    /// The caller's thread group in the supervisor's pid namespace.
    pub tgid: u32,
    /// Its tgid and tid in its own (innermost) pid namespace, as its /proc names them.
    pub ns_tgid: u32,
    pub ns_tid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("reading /proc/{tid}/{what}: {source}")]
    Read {
        tid: u32,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("/proc/{tid}/status: no usable {field} line")]
    Parse { tid: u32, field: &'static str },
    #[error("the caller is in another user namespace; acting for it there is not supported")]
    UserNamespace,
    #[error("{0}")]
    Reachable(#[from] crate::reach::ReachError),
    #[error("taking the caller's credentials ({step}): {errno}")]
    Apply {
        step: &'static str,
        errno: nix::errno::Errno,
    },
}

/// The supervisor's own user namespace (its inode), read once.
fn own_user_ns() -> Option<u64> {
    static NS: OnceLock<Option<u64>> = OnceLock::new();
    *NS.get_or_init(|| fs::metadata("/proc/self/ns/user").ok().map(|m| m.ino()))
}

impl Status {
    /// The status of thread `tid`. The caller checks afterwards that the notification is
    /// still valid: while its call is parked the thread cannot change any of it.
    pub fn of(tid: u32) -> Result<Self, CredsError> {
        let ns = fs::metadata(format!("/proc/{tid}/ns/user"))
            .map(|m| m.ino())
            .map_err(|source| CredsError::Read {
                tid,
                what: "ns/user",
                source,
            })?;
        if Some(ns) != own_user_ns() {
            return Err(CredsError::UserNamespace);
        }
        let text = fs::read_to_string(format!("/proc/{tid}/status")).map_err(|source| {
            CredsError::Read {
                tid,
                what: "status",
                source,
            }
        })?;
        Self::parse(tid, &text)
    }

    fn parse(tid: u32, text: &str) -> Result<Self, CredsError> {
        let field = |name: &'static str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                .map(str::trim)
                .ok_or(CredsError::Parse { tid, field: name })
        };
        let numbers = |name: &'static str, radix: u32| -> Result<Vec<u32>, CredsError> {
            field(name)?
                .split_whitespace()
                .map(|x| u32::from_str_radix(x, radix))
                .collect::<Result<_, _>>()
                .map_err(|_| CredsError::Parse { tid, field: name })
        };
        let four = |name: &'static str| -> Result<[u32; 4], CredsError> {
            numbers(name, 10)?
                .try_into()
                .map_err(|_| CredsError::Parse { tid, field: name })
        };
        let last = |name: &'static str| -> Result<u32, CredsError> {
            numbers(name, 10)?
                .last()
                .copied()
                .ok_or(CredsError::Parse { tid, field: name })
        };
        let cap_eff = u64::from_str_radix(field("CapEff")?, 16).map_err(|_| CredsError::Parse {
            tid,
            field: "CapEff",
        })?;
        Ok(Self {
            creds: Creds {
                uid: four("Uid")?,
                gid: four("Gid")?,
                groups: numbers("Groups", 10)?,
                cap_eff,
            },
            umask: last_octal(numbers("Umask", 8)).ok_or(CredsError::Parse {
                tid,
                field: "Umask",
            })?,
            tgid: last("Tgid")?,
            ns_tgid: last("NStgid")?,
            ns_tid: last("NSpid")?,
        })
    }
}

fn last_octal(v: Result<Vec<u32>, CredsError>) -> Option<u32> {
    v.ok()?.last().copied()
}

/// The capability sets of the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct` of capset(2).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`, one per 32 capabilities.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn apply_err(step: &'static str) -> CredsError {
    CredsError::Apply {
        step,
        errno: nix::errno::Errno::last(),
    }
}

impl Caps {
    /// The calling thread's sets.
    pub fn current() -> Result<Self, CredsError> {
        let mut header = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget fills two CapData for version 3.
        let r = unsafe {
            libc::syscall(
                libc::SYS_capget,
                &mut header as *mut CapHeader,
                data.as_mut_ptr(),
            )
        };
        if r < 0 {
            return Err(apply_err("capget"));
        }
        let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
        Ok(Self {
            effective: join(data[0].effective, data[1].effective),
            permitted: join(data[0].permitted, data[1].permitted),
            inheritable: join(data[0].inheritable, data[1].inheritable),
        })
    }

    /// Sets the calling thread's sets.
    fn set(&self) -> Result<(), CredsError> {
        let mut header = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let split = |v: u64| (v as u32, (v >> 32) as u32);
        let (e0, e1) = split(self.effective);
        let (p0, p1) = split(self.permitted);
        let (i0, i1) = split(self.inheritable);
        let data = [
            CapData {
                effective: e0,
                permitted: p0,
                inheritable: i0,
            },
            CapData {
                effective: e1,
                permitted: p1,
                inheritable: i1,
            },
        ];
        // SAFETY: capset reads the header and two CapData; pid 0 is this thread.
        let r = unsafe {
            libc::syscall(
                libc::SYS_capset,
                &mut header as *mut CapHeader,
                data.as_ptr(),
            )
        };
        if r < 0 {
            return Err(apply_err("capset"));
        }
        Ok(())
    }
}

/// Makes the calling thread check file access as `creds` do: filesystem ids, groups and
/// effective capabilities. The caller of this checked `crate::reach::credential_change_allowed`
/// (a worker does when it starts, while it can still read /proc/sys). `own` are the thread's sets when it started (root's): its permitted
/// set stays, so that it can take other credentials later. Changes this thread only.
pub fn act_as(creds: &Creds, own: &Caps) -> Result<(), CredsError> {
    if creds.cap_eff & !own.permitted != 0 {
        return Err(CredsError::Apply {
            step: "the caller holds capabilities the supervisor does not",
            errno: nix::errno::Errno::EPERM,
        });
    }
    let undumpable = |r: Result<(), nix::errno::Errno>| {
        r.map_err(|errno| CredsError::Apply {
            step: "non-dumpable again",
            errno,
        })
    };
    // Full effective set first: setgroups and setfs*id need CAP_SETGID / CAP_SETUID.
    Caps {
        effective: own.permitted,
        ..*own
    }
    .set()?;
    // SAFETY: raw credential syscalls on this thread only; `groups` outlives the call.
    unsafe {
        if libc::syscall(
            libc::SYS_setgroups,
            creds.groups.len(),
            creds.groups.as_ptr(),
        ) < 0
        {
            return Err(apply_err("setgroups"));
        }
        // setfs*id return the previous id, never an error code.
        libc::syscall(libc::SYS_setfsgid, creds.fsgid());
        libc::syscall(libc::SYS_setfsuid, creds.fsuid());
    }
    // The fs id changes reset the process's dumpable flag to fs.suid_dumpable; it goes back
    // to 0 before this thread takes the caller's capabilities (docs/security.md).
    undumpable(crate::reach::restore_after_credential_change())?;
    // setfsuid dropped or raised the filesystem capabilities; say exactly which hold.
    Caps {
        effective: creds.cap_eff,
        ..*own
    }
    .set()?;
    undumpable(crate::reach::restore_after_credential_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields_the_supervisor_uses() {
        let text = "Name:\tx\nUmask:\t0027\nTgid:\t40\nNgid:\t0\nPid:\t41\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t10 11 \nNStgid:\t40\t3\nNSpid:\t41\t4\nCapEff:\t00000000a80425fb\n";
        let s = Status::parse(41, text).unwrap();
        assert_eq!(s.creds.uid, [1, 2, 3, 4]);
        assert_eq!(s.creds.fsgid(), 8);
        assert_eq!(s.creds.groups, [10, 11]);
        assert_eq!(s.creds.cap_eff, 0xa80425fb);
        assert_eq!((s.umask, s.tgid, s.ns_tgid, s.ns_tid), (0o027, 40, 3, 4));
    }

    #[test]
    fn acting_as_nobody_loses_root_powers_on_that_thread_only_and_can_switch_back() {
        let me = Status::of(std::process::id()).expect("own status").creds;
        assert_eq!(me.uid[1], 0, "tests run as root");
        let nobody = Creds {
            uid: [0, 0, 0, 65534],
            gid: [0, 0, 0, 65534],
            groups: vec![],
            cap_eff: 0,
        };
        let shadow = || {
            std::fs::File::open("/etc/shadow")
                .map(|_| ())
                .map_err(|e| e.raw_os_error())
        };
        let me2 = me.clone();
        let (as_nobody, back) = std::thread::spawn(move || {
            let own = Caps::current().unwrap();
            act_as(&nobody, &own).unwrap();
            let as_nobody = shadow();
            act_as(&me2, &own).unwrap();
            (as_nobody, shadow())
        })
        .join()
        .unwrap();
        // As nobody, /etc/shadow (root, 0640) cannot be opened; back as root it can.
        assert_eq!(as_nobody, Err(Some(libc::EACCES)));
        assert_eq!(back, Ok(()));
        // The supervisor's other threads kept root.
        assert!(shadow().is_ok());
        assert_eq!(Status::of(std::process::id()).unwrap().creds, me);
    }
}
