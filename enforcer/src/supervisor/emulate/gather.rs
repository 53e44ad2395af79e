//! What a call names, gathered on the receiving thread (root, in the supervisor's own root):
//! the caller's status, its root, the path copied out of its memory (DESIGN rule 2: open,
//! check the id, read, check again), and the directory or file the call starts from, taken
//! from the caller itself (pidfd_getfd, /proc/TID/cwd) so that a renamed directory is still
//! the caller's directory.

use super::super::creds::Status;
use super::super::memory;
use super::{Call, Operand, RootKey};
use crate::policy::{FactError, Identity};
use rustix::process::{PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

/// PIDFD_THREAD (Linux 6.9): a pidfd for one thread, whose fd table pidfd_getfd reads.
const PIDFD_THREAD: u32 = libc::O_EXCL as u32;
/// Pidfds kept for reuse; beyond this the cache starts over.
const MAX_PIDFDS: usize = 256;

/// Everything the worker needs about one call.
pub struct Gathered {
    pub status: Status,
    pub root: RootKey,
    pub root_fd: OwnedFd,
    /// The path argument, or the errno the kernel would have given reading it; for a
    /// `/proc/self/fd/N/rest` path, `rest` (relative to fd N).
    path: Result<Vec<u8>, i32>,
    /// The path named one of the caller's fds through /proc; `base` is that fd.
    pub mapped: bool,
    /// Where the lookup starts: the caller's fd (fchmod, dirfd, mapped /proc fd) or cwd;
    /// `None` for an absolute path. An errno when the caller has no such fd.
    base: Option<Result<OwnedFd, i32>>,
    pub identity: Option<Identity>,
}

impl Gathered {
    pub fn path(&self) -> Result<&[u8], i32> {
        self.path.as_deref().map_err(|e| *e)
    }

    /// The start directory or file, for a relative lookup.
    pub fn base(&self) -> Result<std::os::fd::BorrowedFd<'_>, i32> {
        match &self.base {
            Some(Ok(fd)) => Ok(fd.as_fd()),
            Some(Err(e)) => Err(*e),
            None => Err(libc::EBADF),
        }
    }

    /// The start fd itself, for a call on it.
    pub fn take_base(&mut self) -> Result<OwnedFd, i32> {
        self.base.take().unwrap_or(Err(libc::EBADF))
    }
}

/// Gathers calls' facts; keeps the callers' pidfds between calls.
#[derive(Default)]
pub struct Gatherer {
    /// (pid, is a thread pidfd) → pidfd. A pidfd names one task forever: a cached one whose
    /// task is gone fails (ESRCH) and is opened again, it never names another task.
    pidfds: HashMap<(u32, bool), OwnedFd>,
}

fn stale() -> FactError {
    FactError::new(libc::EPERM, "the notification is no longer valid")
}

fn errno_of(e: rustix::io::Errno) -> i32 {
    e.raw_os_error()
}

impl Gatherer {
    /// Gathers what `call` from thread `tid` names; `identity` reads who the caller is, when
    /// the policy may ask. Errors here are the caller's (gone, another user namespace):
    /// the call is denied. Errors of the path are kept for the decision to report.
    pub fn gather(
        &mut self,
        call: &Call,
        tid: u32,
        still_valid: &dyn Fn() -> bool,
        identity: Option<&dyn Fn(u32) -> Result<Identity, FactError>>,
    ) -> Result<Gathered, FactError> {
        let status = Status::of(tid).map_err(|e| FactError::new(libc::EPERM, e.to_string()))?;
        let (root, root_fd) = RootKey::of_caller(tid)?;
        let (path, mapped, base) = match call.operand() {
            Operand::Fd(fd) => (Ok(Vec::new()), false, Some(self.take_fd(tid, true, fd))),
            Operand::Path { dirfd, addr } => {
                let path = match memory::read_c_string(tid, addr, still_valid) {
                    Ok(p) => Ok(p.into_bytes()),
                    Err(memory::MemoryError::Stale) => return Err(stale()),
                    Err(e) => Err(e.errno()),
                };
                match path {
                    Ok(p) if p.first() == Some(&b'/') => {
                        match proc_fd(&p, &status)
                            .filter(|m| !m.rest.is_empty() || call.follows_last())
                        {
                            Some(m) => {
                                let pid = if m.thread { tid } else { status.tgid };
                                let fd = self.take_fd(pid, m.thread, m.fd);
                                (Ok(m.rest.to_vec()), true, Some(fd))
                            }
                            None => (Ok(p), false, None),
                        }
                    }
                    Ok(p) => {
                        let base = if dirfd == libc::AT_FDCWD {
                            cwd(tid)
                        } else {
                            self.take_fd(tid, true, dirfd)
                        };
                        (Ok(p), false, Some(base))
                    }
                    Err(e) => (Err(e), false, None),
                }
            }
        };
        let identity = identity.map(|read| read(status.creds.uid[0])).transpose()?;
        if !still_valid() {
            return Err(stale());
        }
        Ok(Gathered {
            status,
            root,
            root_fd,
            path,
            mapped,
            base,
            identity,
        })
    }

    /// A copy of fd `fd` of the process (`thread` false: its thread group leader, whose
    /// table /proc/self/fd shows) or thread `pid`.
    fn take_fd(&mut self, pid: u32, thread: bool, fd: i32) -> Result<OwnedFd, i32> {
        for _ in 0..2 {
            let pidfd = self.pidfd(pid, thread)?;
            match pidfd_getfd(pidfd, fd, PidfdGetfdFlags::empty()) {
                Ok(f) => return Ok(f),
                Err(rustix::io::Errno::SRCH) => {
                    self.pidfds.remove(&(pid, thread));
                }
                Err(e) => return Err(errno_of(e)),
            }
        }
        Err(libc::ESRCH)
    }

    fn pidfd(&mut self, pid: u32, thread: bool) -> Result<std::os::fd::BorrowedFd<'_>, i32> {
        if !self.pidfds.contains_key(&(pid, thread)) {
            if self.pidfds.len() >= MAX_PIDFDS {
                self.pidfds.clear();
            }
            let p = rustix::process::Pid::from_raw(pid as i32).ok_or(libc::ESRCH)?;
            let flags = if thread { PIDFD_THREAD } else { 0 };
            let fd = pidfd_open(p, PidfdFlags::from_bits_retain(flags)).map_err(errno_of)?;
            self.pidfds.insert((pid, thread), fd);
        }
        Ok(self.pidfds[&(pid, thread)].as_fd())
    }
}

/// The caller's working directory (of its own thread: threads may unshare it).
fn cwd(tid: u32) -> Result<OwnedFd, i32> {
    rustix::fs::open(
        format!("/proc/{tid}/cwd"),
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|_| libc::EPERM)
}

/// A path naming one of the caller's fds through /proc.
#[derive(Debug, PartialEq, Eq)]
struct ProcFd<'a> {
    /// The calling thread's table (thread-self, task/TID) rather than the process's.
    thread: bool,
    fd: i32,
    /// What follows `fd/N`, without its leading slashes ("." for slashes only).
    rest: &'a [u8],
}

/// `/proc/self/fd/N`, `/proc/thread-self/fd/N`, `/proc/<tgid>/fd/N`,
/// `/proc/<tgid|self>/task/<tid>/fd/N` or `/dev/fd/N` (a link to /proc/self/fd), with the
/// caller's ids as its own /proc shows them. Others are left to the lookup, which refuses
/// magic links (RESOLVE_NO_MAGICLINKS).
fn proc_fd<'a>(path: &'a [u8], status: &Status) -> Option<ProcFd<'a>> {
    let (thread, after) = if let Some(r) = path.strip_prefix(b"/dev/fd/") {
        (false, r)
    } else {
        let r = path.strip_prefix(b"/proc/")?;
        let (who, r) = split_component(r)?;
        let tgid = status.ns_tgid.to_string();
        let thread = match who {
            b"thread-self" => true,
            b"self" => false,
            w if w == tgid.as_bytes() => false,
            _ => return None,
        };
        let r = match (thread, r.strip_prefix(b"task/")) {
            (false, Some(t)) => {
                let (task, r) = split_component(t)?;
                if task != status.ns_tid.to_string().as_bytes() {
                    return None;
                }
                return with_fd(true, r.strip_prefix(b"fd/")?);
            }
            _ => r.strip_prefix(b"fd/")?,
        };
        (thread, r)
    };
    with_fd(thread, after)
}

fn split_component(p: &[u8]) -> Option<(&[u8], &[u8])> {
    let slash = p.iter().position(|b| *b == b'/')?;
    Some((&p[..slash], &p[slash + 1..]))
}

fn with_fd(thread: bool, p: &[u8]) -> Option<ProcFd<'_>> {
    let digits = p.iter().take_while(|b| b.is_ascii_digit()).count();
    let fd = std::str::from_utf8(&p[..digits]).ok()?.parse().ok()?;
    let rest = &p[digits..];
    if !rest.is_empty() && rest[0] != b'/' {
        return None;
    }
    let trimmed = {
        let start = rest.iter().position(|b| *b != b'/').unwrap_or(rest.len());
        &rest[start..]
    };
    let rest: &[u8] = if trimmed.is_empty() && !rest.is_empty() {
        b"."
    } else {
        trimmed
    };
    Some(ProcFd { thread, fd, rest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::creds::Creds;

    #[test]
    fn proc_fd_links() {
        let s = Status {
            creds: Creds {
                uid: [0; 4],
                gid: [0; 4],
                groups: vec![],
                cap_eff: 0,
            },
            umask: 0o22,
            tgid: 500,
            ns_tgid: 7,
            ns_tid: 9,
        };
        let p = |path: &[u8]| proc_fd(path, &s).map(|m| (m.thread, m.fd, m.rest.to_vec()));
        assert_eq!(p(b"/proc/self/fd/3"), Some((false, 3, vec![])));
        assert_eq!(p(b"/dev/fd/4/x/y"), Some((false, 4, b"x/y".to_vec())));
        assert_eq!(
            p(b"/proc/thread-self/fd/12/"),
            Some((true, 12, b".".to_vec()))
        );
        assert_eq!(p(b"/proc/7/fd/5"), Some((false, 5, vec![])));
        assert_eq!(p(b"/proc/7/task/9/fd/5"), Some((true, 5, vec![])));
        assert_eq!(p(b"/proc/self/task/9/fd/5"), Some((true, 5, vec![])));
        assert_eq!(p(b"/proc/8/fd/5"), None, "another process");
        assert_eq!(p(b"/proc/7/task/8/fd/5"), None, "another thread");
        assert_eq!(p(b"/proc/self/fd/5x"), None);
        assert_eq!(p(b"/etc/passwd"), None);
    }
}
