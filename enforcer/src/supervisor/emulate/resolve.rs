//! Resolution on the worker, which lives in the caller's root: `openat2` from the caller's
//! own start directory (or from the root for an absolute path), so `..`, symlinks (absolute
//! ones to the caller's root) and search permissions are the caller's; magic links are
//! refused (the caller's own `/proc/self/fd/N` was mapped to its fd while gathering).

use super::{Gathered, Worker};
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// What a call acts on, held by the worker, and how the policy names it.
pub struct Target {
    /// The file (chmod) or the parent directory (mkdir).
    pub fd: OwnedFd,
    /// How to act on `fd`: `None` as the caller's open file (fchmod), else the *at flags
    /// with an empty path (AT_EMPTY_PATH, and AT_SYMLINK_NOFOLLOW when the caller gave it).
    pub at_flags: Option<u32>,
    /// mkdir: the name to make in `fd`.
    pub leaf: Option<CString>,
    /// The absolute path in the caller's root (for mkdir, of the directory to be made).
    pub path: String,
    /// A non-directory with more than one link.
    pub other_names: bool,
}

/// Opens `path` (O_PATH) as the caller's lookup would: from its start directory when
/// relative, following the last component when `follow`, requiring a directory when `dir`.
pub fn open(g: &Gathered, path: &[u8], follow: bool, dir: bool) -> Result<OwnedFd, i32> {
    use rustix::fs::{OFlags, ResolveFlags};
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    if dir {
        flags |= OFlags::DIRECTORY;
    }
    let name = OsStr::from_bytes(path);
    let how = ResolveFlags::NO_MAGICLINKS;
    let r = if path.first() == Some(&b'/') {
        // Absolute: the dirfd is ignored, as the kernel ignores the caller's (even -1).
        rustix::fs::openat2(rustix::fs::CWD, name, flags, rustix::fs::Mode::empty(), how)
    } else {
        rustix::fs::openat2(g.base()?, name, flags, rustix::fs::Mode::empty(), how)
    };
    r.map_err(|e| e.raw_os_error())
}

/// The target on `fd`: named by the kernel in the worker's (the caller's) root, and
/// checked for other names. Files without a path (pipes, sockets, deleted files) or with a
/// name that is not UTF-8 cannot be matched by path rules: EPERM.
pub fn target(
    fd: OwnedFd,
    at_flags: Option<u32>,
    leaf: Option<CString>,
    w: &Worker,
) -> Result<Target, i32> {
    let name = w.name_of(fd.as_fd())?;
    if !name.starts_with('/') || name.ends_with(" (deleted)") {
        return Err(libc::EPERM);
    }
    let (path, other_names) = match &leaf {
        Some(l) => {
            let l = l.to_str().map_err(|_| libc::EPERM)?;
            let sep = if name.ends_with('/') { "" } else { "/" };
            (format!("{name}{sep}{l}"), false)
        }
        None => {
            let st = rustix::fs::fstat(&fd).map_err(|e| e.raw_os_error())?;
            let dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
            (name, !dir && st.st_nlink > 1)
        }
    };
    Ok(Target {
        fd,
        at_flags,
        leaf,
        path,
        other_names,
    })
}
