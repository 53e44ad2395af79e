//! The process behind a notification, as the supervisor sees it: its fds, its root, its
//! credentials. Everything read here is re-validated against the notification id by the
//! caller of these functions, so a recycled TID cannot be mistaken for the caller.

use super::creds::{Creds, CredsError};
use crate::policy::FactError;
use rustix::process::{PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// PIDFD_THREAD (Linux 6.9): a pidfd for this very thread, whose fd table pidfd_getfd reads.
const PIDFD_THREAD: u32 = libc::O_EXCL as u32;

impl From<CredsError> for FactError {
    fn from(e: CredsError) -> Self {
        Self::new(libc::EPERM, e.to_string())
    }
}

pub struct Caller {
    pub tid: u32,
    pidfd: OwnedFd,
    /// The caller's root directory, opened through /proc/TID/root.
    pub root: OwnedFd,
    /// Where that root is in the supervisor's view ("/" when not chrooted).
    pub root_path: PathBuf,
    pub creds: Creds,
}

fn errno_of(e: impl Into<std::io::Error>) -> i32 {
    e.into().raw_os_error().unwrap_or(libc::EPERM)
}

impl Caller {
    pub fn open(tid: u32) -> Result<Self, FactError> {
        let pid = rustix::process::Pid::from_raw(tid as i32)
            .ok_or_else(|| FactError::new(libc::EPERM, "pid 0"))?;
        let pidfd = pidfd_open(pid, PidfdFlags::from_bits_retain(PIDFD_THREAD))
            .map_err(|e| FactError::new(libc::EPERM, format!("pidfd_open({tid}): {e}")))?;
        let root_link = format!("/proc/{tid}/root");
        let root = rustix::fs::open(
            &root_link,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| FactError::new(libc::EPERM, format!("{root_link}: {e}")))?;
        let root_path = std::fs::read_link(&root_link)
            .map_err(|e| FactError::new(libc::EPERM, format!("{root_link}: {e}")))?;
        Ok(Self {
            tid,
            pidfd,
            root,
            root_path,
            creds: Creds::of(tid)?,
        })
    }

    /// A copy of the caller's fd `fd`.
    pub fn dup_fd(&self, fd: i32) -> Result<OwnedFd, FactError> {
        pidfd_getfd(self.pidfd.as_fd(), fd, PidfdGetfdFlags::empty())
            .map_err(|e| FactError::new(errno_of(e), format!("the caller's fd {fd}: {e}")))
    }

    /// The caller's working directory.
    pub fn cwd(&self) -> Result<OwnedFd, FactError> {
        let link = format!("/proc/{}/cwd", self.tid);
        rustix::fs::open(
            &link,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| FactError::new(errno_of(e), format!("{link}: {e}")))
    }

    /// The absolute path of an open file as the caller names it (inside its root).
    /// Files outside the caller's root, or deleted ones, have no such name: refused.
    pub fn path_in_root(&self, fd: &OwnedFd) -> Result<String, FactError> {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| FactError::new(libc::EPERM, format!("naming the file: {e}")))?;
        if !link.is_absolute() || link.as_os_str().as_bytes().ends_with(b" (deleted)") {
            return Err(FactError::new(
                libc::EPERM,
                format!("the file has no path: {}", link.display()),
            ));
        }
        let inside = if self.root_path == Path::new("/") {
            link.clone()
        } else {
            let rel = link.strip_prefix(&self.root_path).map_err(|_| {
                FactError::new(
                    libc::EPERM,
                    format!(
                        "{} is outside the caller's root {}",
                        link.display(),
                        self.root_path.display()
                    ),
                )
            })?;
            Path::new("/").join(rel)
        };
        inside.to_str().map(str::to_owned).ok_or_else(|| {
            FactError::new(
                libc::EPERM,
                format!("path is not UTF-8: {}", inside.display()),
            )
        })
    }

    /// Resolves `path` as the kernel would for the caller: relative to `base` (its cwd or a
    /// dirfd) when relative, within its root, never through magic links; opened O_PATH with
    /// the caller's credentials, so search permission is checked as for the caller.
    pub fn resolve(
        &self,
        base: Option<&OwnedFd>,
        path: &[u8],
        follow: bool,
    ) -> Result<OwnedFd, FactError> {
        let full = if path.first() == Some(&b'/') {
            path.to_vec()
        } else {
            let cwd;
            let base = match base {
                Some(b) => b,
                None => {
                    cwd = self.cwd()?;
                    &cwd
                }
            };
            let mut p = self.path_in_root(base)?.into_bytes();
            p.push(b'/');
            p.extend_from_slice(path);
            p
        };
        let mut flags = rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC;
        if !follow {
            flags |= rustix::fs::OFlags::NOFOLLOW;
        }
        let resolve = rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS;
        let root = self
            .root
            .try_clone()
            .map_err(|e| FactError::new(libc::EPERM, format!("dup of the root fd: {e}")))?;
        let name = OsStr::from_bytes(&full).to_owned();
        let shown = name.to_string_lossy().into_owned();
        self.creds
            .run_as(move || {
                rustix::fs::openat2(
                    root.as_fd(),
                    &name,
                    flags,
                    rustix::fs::Mode::empty(),
                    resolve,
                )
            })?
            .map_err(|e| FactError::new(errno_of(e), format!("resolving {shown}: {e}")))
    }
}
