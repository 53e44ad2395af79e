//! Acting with the workload's credentials: the supervisor carries out an allowed call in a
//! throwaway thread that takes the caller's uids, gids, groups and capabilities first, so it
//! can do nothing the caller could not, and the kernel returns the errno the caller would get.
//!
//! Credentials are per thread in Linux; the raw syscalls below change only the calling
//! thread (libc's wrappers would change every thread of the supervisor).

use std::fs;
use std::os::unix::fs::MetadataExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// real, effective, saved, filesystem
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub groups: Vec<u32>,
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("reading /proc/{tid}/status: {source}")]
    Read {
        tid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("/proc/{tid}/status: no usable {field} line")]
    Parse { tid: u32, field: &'static str },
    #[error("the caller is in another user namespace; acting for it there is not supported yet")]
    UserNamespace,
    #[error("taking the caller's credentials ({step}): {errno}")]
    Apply {
        step: &'static str,
        errno: nix::errno::Errno,
    },
}

impl Creds {
    /// The credentials of thread `tid`. The caller checks afterwards that the notification is
    /// still valid: while its call is parked the thread cannot change them.
    pub fn of(tid: u32) -> Result<Self, CredsError> {
        let ns = |p: String| {
            fs::metadata(p)
                .map(|m| m.ino())
                .map_err(|source| CredsError::Read { tid, source })
        };
        if ns(format!("/proc/{tid}/ns/user"))? != ns("/proc/self/ns/user".into())? {
            return Err(CredsError::UserNamespace);
        }
        let status = fs::read_to_string(format!("/proc/{tid}/status"))
            .map_err(|source| CredsError::Read { tid, source })?;
        let field = |name: &'static str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                .map(str::trim)
                .ok_or(CredsError::Parse { tid, field: name })
        };
        let ids = |name: &'static str| -> Result<[u32; 4], CredsError> {
            let v: Vec<u32> = field(name)?
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            v.try_into()
                .map_err(|_| CredsError::Parse { tid, field: name })
        };
        let cap = |name: &'static str| {
            u64::from_str_radix(field(name)?, 16)
                .map_err(|_| CredsError::Parse { tid, field: name })
        };
        Ok(Self {
            uid: ids("Uid")?,
            gid: ids("Gid")?,
            groups: field("Groups")?
                .split_whitespace()
                .map(|g| {
                    g.parse().map_err(|_| CredsError::Parse {
                        tid,
                        field: "Groups",
                    })
                })
                .collect::<Result<_, _>>()?,
            cap_inh: cap("CapInh")?,
            cap_prm: cap("CapPrm")?,
            cap_eff: cap("CapEff")?,
        })
    }

    /// Runs `f` on a new thread that holds these credentials, and returns its result.
    pub fn run_as<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, CredsError> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.assume()?;
                Ok(f())
            })
            .join()
            .unwrap_or(Err(CredsError::Apply {
                step: "thread",
                errno: nix::errno::Errno::EIO,
            }))
        })
    }

    /// Takes these credentials on the calling thread, irreversibly.
    fn assume(&self) -> Result<(), CredsError> {
        let check = |step: &'static str, r: libc::c_long| {
            if r < 0 {
                Err(CredsError::Apply {
                    step,
                    errno: nix::errno::Errno::last(),
                })
            } else {
                Ok(())
            }
        };
        let [ru, eu, su, fsu] = self.uid.map(libc::c_long::from);
        let [rg, eg, sg, fsg] = self.gid.map(libc::c_long::from);
        // SAFETY: raw credential syscalls on this thread only, with valid arguments; `groups`
        // outlives the call.
        unsafe {
            // Keep the permitted set across the uid change so capset can set the caller's.
            check(
                "keepcaps",
                libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) as libc::c_long,
            )?;
            check(
                "setgroups",
                libc::syscall(libc::SYS_setgroups, self.groups.len(), self.groups.as_ptr()),
            )?;
            check("setresgid", libc::syscall(libc::SYS_setresgid, rg, eg, sg))?;
            check("setresuid", libc::syscall(libc::SYS_setresuid, ru, eu, su))?;
            // setfs*id return the previous id, never an error code.
            libc::syscall(libc::SYS_setfsgid, fsg);
            libc::syscall(libc::SYS_setfsuid, fsu);
            let mut header = libc_cap_header {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            let split = |v: u64| (v as u32, (v >> 32) as u32);
            let (e0, e1) = split(self.cap_eff);
            let (p0, p1) = split(self.cap_prm);
            let (i0, i1) = split(self.cap_inh);
            let data = [
                libc_cap_data {
                    effective: e0,
                    permitted: p0,
                    inheritable: i0,
                },
                libc_cap_data {
                    effective: e1,
                    permitted: p1,
                    inheritable: i1,
                },
            ];
            check(
                "capset",
                libc::syscall(
                    libc::SYS_capset,
                    &mut header as *mut libc_cap_header,
                    data.as_ptr(),
                ),
            )?;
        }
        Ok(())
    }
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
#[allow(non_camel_case_types)]
struct libc_cap_header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[allow(non_camel_case_types)]
struct libc_cap_data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_an_unprivileged_uid_loses_root_powers_on_that_thread_only() {
        let me = Creds::of(std::process::id()).expect("own creds");
        assert_eq!(me.uid[1], 0, "tests run as root");
        let nobody = Creds {
            uid: [65534; 4],
            gid: [65534; 4],
            groups: vec![],
            cap_inh: 0,
            cap_prm: 0,
            cap_eff: 0,
        };
        // As nobody, /etc/shadow (root, 0640) cannot be opened.
        let denied = nobody
            .run_as(|| std::fs::File::open("/etc/shadow").map_err(|e| e.raw_os_error()))
            .unwrap();
        assert_eq!(denied.err(), Some(Some(libc::EACCES)));
        // The supervisor's own threads keep root.
        assert!(std::fs::File::open("/etc/shadow").is_ok());
        assert_eq!(Creds::of(std::process::id()).unwrap(), me);
    }
}
