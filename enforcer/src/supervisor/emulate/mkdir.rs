//! The mkdir family: mkdir, mkdirat. The parent is resolved as the caller's lookup would,
//! and the directory is made in it with the caller's credentials and umask.

use super::{Gathered, Member, Operand, Target, Worker, last_errno, resolve};
use std::ffi::CString;
use std::os::fd::AsRawFd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mkdir {
    operand: Operand,
    /// umode_t, as the kernel reads it.
    mode: u16,
}

impl Mkdir {
    pub(super) fn decode(m: Member, a: &[u64; 6]) -> Self {
        let (dirfd, addr, mode) = match m {
            Member::Mkdir => (libc::AT_FDCWD, a[0], a[1]),
            Member::Mkdirat => (a[0] as i32, a[1], a[2]),
            _ => unreachable!("not a mkdir"),
        };
        Self {
            operand: Operand::Path { dirfd, addr },
            mode: mode as u16,
        }
    }

    pub(super) fn operand(&self) -> Operand {
        self.operand
    }

    /// The parent directory and the last component; the policy sees the new directory's path.
    pub(super) fn resolve(&self, g: &mut Gathered, w: &Worker) -> Result<Target, i32> {
        let (parent, leaf) = split(g.path()?)?;
        let leaf = CString::new(leaf).map_err(|_| libc::EINVAL)?;
        let fd = match parent {
            Some(p) => resolve::open(g, p, true, true)?,
            None => g.take_base()?,
        };
        resolve::target(fd, None, Some(leaf), w)
    }

    pub(super) fn act(&self, target: &Target, g: &Gathered, w: &mut Worker) -> i32 {
        let Some(leaf) = &target.leaf else {
            return libc::EINVAL;
        };
        w.set_umask(g.status.umask);
        // SAFETY: mkdirat on an fd the worker holds, with a NUL-terminated name.
        let r = unsafe {
            libc::mkdirat(
                target.fd.as_raw_fd(),
                leaf.as_ptr(),
                libc::mode_t::from(self.mode),
            )
        };
        if r < 0 { last_errno() } else { 0 }
    }
}

/// Splits a mkdir path as the kernel's parent lookup does: trailing slashes belong to the
/// last component; `None` as parent means the start directory (a single relative name).
fn split(path: &[u8]) -> Result<(Option<&[u8]>, &[u8]), i32> {
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    let trimmed = match path.iter().rposition(|b| *b != b'/') {
        Some(end) => &path[..=end],
        // "/" or "//": the root itself, which exists.
        None => return Ok((Some(b"/"), b".")),
    };
    Ok(match trimmed.iter().rposition(|b| *b == b'/') {
        Some(slash) => (Some(&trimmed[..=slash]), &trimmed[slash + 1..]),
        None => (None, trimmed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_the_kernel() {
        assert_eq!(split(b"a"), Ok((None, &b"a"[..])));
        assert_eq!(split(b"a/b/"), Ok((Some(&b"a/"[..]), &b"b"[..])));
        assert_eq!(split(b"/x"), Ok((Some(&b"/"[..]), &b"x"[..])));
        assert_eq!(split(b"//"), Ok((Some(&b"/"[..]), &b"."[..])));
        assert_eq!(split(b""), Err(libc::ENOENT));
        assert_eq!(
            Mkdir::decode(Member::Mkdirat, &[7, 0x10, 0x1_0000 | 0o755, 0, 0, 0]),
            Mkdir {
                operand: Operand::Path {
                    dirfd: 7,
                    addr: 0x10
                },
                mode: 0o755
            }
        );
    }
}
