//! The chmod family, carried out by the supervisor when an allow depends on the path: on its
//! own copy of the path, resolved for the caller, acting on the very file the policy matched,
//! with the caller's credentials, returning the kernel's own result.
//!
//! Adding another path-taking syscall means a `parse` arm (where its path and fd are) and a
//! `perform` arm (the call itself on the resolved fd).

use super::caller::Caller;
use crate::policy::FactError;
use std::os::fd::{AsRawFd, OwnedFd};

const AT_FDCWD: i32 = libc::AT_FDCWD;
const AT_SYMLINK_NOFOLLOW: u32 = libc::AT_SYMLINK_NOFOLLOW as u32;
const AT_EMPTY_PATH: u32 = libc::AT_EMPTY_PATH as u32;
const SYS_FCHMODAT2: libc::c_long = 452;

/// What a chmod-family call operates on, decoded from its registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChmodCall {
    /// fchmod(fd, mode)
    Fd { fd: i32, mode: u16 },
    /// chmod / fchmodat / fchmodat2: a path (pointer) relative to dirfd.
    Path {
        dirfd: i32,
        addr: u64,
        flags: u32,
        mode: u16,
    },
}

impl ChmodCall {
    /// Decodes the registers as the kernel does (int fds, umode_t mode, unsigned flags).
    pub fn parse(syscall: &str, a: &[u64; 6]) -> Option<Result<Self, FactError>> {
        let call = match syscall {
            "chmod" => Self::Path {
                dirfd: AT_FDCWD,
                addr: a[0],
                flags: 0,
                mode: a[1] as u16,
            },
            "fchmod" => Self::Fd {
                fd: a[0] as i32,
                mode: a[1] as u16,
            },
            "fchmodat" => Self::Path {
                dirfd: a[0] as i32,
                addr: a[1],
                flags: 0,
                mode: a[2] as u16,
            },
            "fchmodat2" => {
                let flags = a[3] as u32;
                if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
                    return Some(Err(FactError::new(
                        libc::EINVAL,
                        format!("fchmodat2 flags {flags:#x}"),
                    )));
                }
                Self::Path {
                    dirfd: a[0] as i32,
                    addr: a[1],
                    flags,
                    mode: a[2] as u16,
                }
            }
            _ => return None,
        };
        Some(Ok(call))
    }

    pub fn mode(&self) -> u16 {
        match self {
            Self::Fd { mode, .. } | Self::Path { mode, .. } => *mode,
        }
    }
}

/// The file a call operates on: an fd the supervisor holds, and how it is named in the
/// caller's root (what path globs match).
pub struct Target {
    pub fd: OwnedFd,
    pub path: String,
    /// The fd is the caller's own open file (fchmod): act on it directly.
    pub is_open_file: bool,
    pub nofollow: bool,
}

/// Resolves the file of `call`. `read_path` copies the path argument out of the caller's
/// memory (DESIGN.md's rules) — it is read once, and only this copy is used.
pub fn resolve(
    call: &ChmodCall,
    caller: &Caller,
    read_path: &dyn Fn(u64) -> Result<Vec<u8>, FactError>,
) -> Result<Target, FactError> {
    let (fd, is_open_file, nofollow) = match *call {
        ChmodCall::Fd { fd, .. } => (caller.dup_fd(fd)?, true, false),
        ChmodCall::Path {
            dirfd, addr, flags, ..
        } => {
            let path = read_path(addr)?;
            let nofollow = flags & AT_SYMLINK_NOFOLLOW != 0;
            let base = if dirfd == AT_FDCWD { None } else { Some(dirfd) };
            if path.is_empty() {
                if flags & AT_EMPTY_PATH == 0 {
                    return Err(FactError::new(libc::ENOENT, "empty path"));
                }
                match base {
                    Some(fd) => (caller.dup_fd(fd)?, true, nofollow),
                    None => (caller.cwd()?, false, nofollow),
                }
            } else if let Some(fd) = proc_fd_link(&path, caller.tid) {
                // /proc/self/fd/N names the caller's fd N, which a resolution from the
                // supervisor would get wrong (self would be the supervisor).
                (caller.dup_fd(fd)?, true, false)
            } else {
                let base_fd = base.map(|fd| caller.dup_fd(fd)).transpose()?;
                (
                    caller.resolve(base_fd.as_ref(), &path, !nofollow)?,
                    false,
                    nofollow,
                )
            }
        }
    };
    let path = caller.path_in_root(&fd)?;
    Ok(Target {
        fd,
        path,
        is_open_file,
        nofollow,
    })
}

/// `/proc/self/fd/N`, `/proc/thread-self/fd/N` or `/proc/<caller>/fd/N` → N.
fn proc_fd_link(path: &[u8], tid: u32) -> Option<i32> {
    let s = std::str::from_utf8(path).ok()?;
    let rest = s.strip_prefix("/proc/")?;
    let (who, fd) = rest.split_once("/fd/")?;
    let tid_s = tid.to_string();
    let is_caller = who == "self"
        || who == "thread-self"
        || who == tid_s
        || who.strip_prefix("self/task/").is_some();
    if !is_caller {
        return None;
    }
    fd.parse().ok()
}

/// Carries the chmod out on `target` with the caller's credentials; returns 0 or the errno
/// the kernel gave.
pub fn perform(call: &ChmodCall, target: &Target, caller: &Caller) -> Result<i32, FactError> {
    let mode = call.mode() as libc::c_long;
    // The worker outlives this call's borrows: it gets its own copy of the fd.
    let target_fd = target
        .fd
        .try_clone()
        .map_err(|e| FactError::new(libc::EPERM, format!("dup of the target fd: {e}")))?;
    let (is_open_file, nofollow) = (target.is_open_file, target.nofollow);
    let result = caller.creds.run_as(move || {
        let fd = target_fd.as_raw_fd() as libc::c_long;
        // SAFETY: plain syscalls on an fd this process owns, with an empty, static path.
        let r = unsafe {
            if is_open_file && !nofollow {
                libc::syscall(libc::SYS_fchmod, fd, mode)
            } else {
                let flags = AT_EMPTY_PATH | if nofollow { AT_SYMLINK_NOFOLLOW } else { 0 };
                libc::syscall(SYS_FCHMODAT2, fd, c"".as_ptr(), mode, flags as libc::c_long)
            }
        };
        if r < 0 {
            nix::errno::Errno::last_raw()
        } else {
            0
        }
    })?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_registers_as_the_kernel() {
        let a = [u64::MAX - 99, 0x1000, 0x1_0000 | 0o644, 0x100, 0, 0];
        assert_eq!(
            ChmodCall::parse("fchmodat2", &a).unwrap().unwrap(),
            ChmodCall::Path {
                dirfd: -100,
                addr: 0x1000,
                flags: 0x100,
                mode: 0o644
            }
        );
        assert_eq!(
            ChmodCall::parse("fchmodat2", &[0, 0, 0, 0x2, 0, 0])
                .unwrap()
                .unwrap_err()
                .errno,
            libc::EINVAL
        );
        assert!(ChmodCall::parse("mount", &a).is_none());
    }

    #[test]
    fn proc_fd_links() {
        assert_eq!(proc_fd_link(b"/proc/self/fd/3", 77), Some(3));
        assert_eq!(proc_fd_link(b"/proc/thread-self/fd/12", 77), Some(12));
        assert_eq!(proc_fd_link(b"/proc/77/fd/4", 77), Some(4));
        assert_eq!(proc_fd_link(b"/proc/78/fd/4", 77), None);
        assert_eq!(proc_fd_link(b"/etc/passwd", 77), None);
    }
}
