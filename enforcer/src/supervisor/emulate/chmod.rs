//! The chmod family: chmod, fchmod, fchmodat, fchmodat2.

use super::{Gathered, Member, Operand, Target, Worker, last_errno, resolve};
use std::os::fd::AsRawFd;

const AT_FDCWD: i32 = libc::AT_FDCWD;
const AT_SYMLINK_NOFOLLOW: u32 = libc::AT_SYMLINK_NOFOLLOW as u32;
const AT_EMPTY_PATH: u32 = libc::AT_EMPTY_PATH as u32;
const SYS_FCHMODAT2: libc::c_long = 452;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chmod {
    operand: Operand,
    /// fchmodat2's flags (0 for the others).
    flags: u32,
    /// umode_t: the kernel reads 16 bits, and keeps the 07777 ones.
    mode: u16,
}

impl Chmod {
    /// The registers as the kernel reads them (int fds, umode_t mode, unsigned flags).
    pub(super) fn decode(m: Member, a: &[u64; 6]) -> Result<Self, i32> {
        let path = |dirfd: u64, addr: u64| Operand::Path {
            dirfd: dirfd as i32,
            addr,
        };
        let (operand, flags, mode) = match m {
            Member::Chmod => (path(AT_FDCWD as u64, a[0]), 0, a[1]),
            Member::Fchmod => (Operand::Fd(a[0] as i32), 0, a[1]),
            Member::Fchmodat => (path(a[0], a[1]), 0, a[2]),
            Member::Fchmodat2 => {
                let flags = a[3] as u32;
                if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
                    return Err(libc::EINVAL);
                }
                (path(a[0], a[1]), flags, a[2])
            }
            Member::Mkdir | Member::Mkdirat => unreachable!("not a chmod"),
        };
        Ok(Self {
            operand,
            flags,
            mode: mode as u16,
        })
    }

    pub(super) fn operand(&self) -> Operand {
        self.operand
    }

    pub(super) fn follows_last(&self) -> bool {
        self.flags & AT_SYMLINK_NOFOLLOW == 0
    }

    pub(super) fn resolve(&self, g: &mut Gathered, w: &Worker) -> Result<Target, i32> {
        if let Operand::Fd(_) = self.operand {
            // fchmod: the caller's own open file, acted on as such (an O_PATH fd gets EBADF).
            return resolve::target(g.take_base()?, None, None, w);
        }
        let path = g.path()?;
        if path.is_empty() && !g.mapped {
            if self.flags & AT_EMPTY_PATH == 0 {
                return Err(libc::ENOENT);
            }
            return resolve::target(g.take_base()?, Some(self.flags), None, w);
        }
        if path.is_empty() {
            // /proc/self/fd/N: the magic link followed, to the fd's file.
            return resolve::target(g.take_base()?, Some(AT_EMPTY_PATH), None, w);
        }
        let fd = resolve::open(g, path, self.follows_last(), false)?;
        let flags = AT_EMPTY_PATH | (self.flags & AT_SYMLINK_NOFOLLOW);
        resolve::target(fd, Some(flags), None, w)
    }

    pub(super) fn act(&self, target: &Target) -> i32 {
        let fd = target.fd.as_raw_fd() as libc::c_long;
        let mode = libc::c_long::from(self.mode);
        // SAFETY: plain syscalls on an fd the worker holds, with an empty, static path.
        let r = unsafe {
            match target.at_flags {
                None => libc::syscall(libc::SYS_fchmod, fd, mode),
                Some(flags) => libc::syscall(
                    SYS_FCHMODAT2,
                    fd,
                    c"".as_ptr(),
                    mode,
                    libc::c_long::from(flags),
                ),
            }
        };
        if r < 0 { last_errno() } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_registers_as_the_kernel() {
        let a = [u64::MAX - 99, 0x1000, 0x1_0000 | 0o644, 0x100, 0, 0];
        assert_eq!(
            Chmod::decode(Member::Fchmodat2, &a).unwrap(),
            Chmod {
                operand: Operand::Path {
                    dirfd: -100,
                    addr: 0x1000
                },
                flags: 0x100,
                mode: 0o644
            }
        );
        assert_eq!(
            Chmod::decode(Member::Fchmodat2, &[0, 0, 0, 0x2, 0, 0]),
            Err(libc::EINVAL)
        );
        assert_eq!(
            Chmod::decode(Member::Fchmod, &[3, 0o4755, 0, 0, 0, 0])
                .unwrap()
                .operand(),
            Operand::Fd(3)
        );
    }
}
