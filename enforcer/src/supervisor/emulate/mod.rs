//! Calls the supervisor carries out itself when an allow depends on a path (DESIGN rule 2).
//!
//! A notified call is decoded once from (arch, nr, registers) into a [`Call`]. The receiving
//! thread, which may read /proc and take the caller's fds, gathers what the call names
//! (`gather`: the path copied out of the caller's memory, the directory it starts from, the
//! caller's credentials, umask and root) and hands the call once to a worker thread that
//! lives in the caller's root (`worker`), where the path is resolved as the caller's own
//! lookup would resolve it (`resolve`), the policy decides on the resolved file, and the
//! call is made with the caller's credentials; the worker answers the kernel.
//!
//! Adding an emulated syscall family is one file (decoding, resolution and the call itself)
//! and one arm in [`Call`].

mod chmod;
mod gather;
mod mkdir;
mod resolve;
mod worker;

pub use gather::{Gathered, Gatherer};
pub use resolve::Target;
pub use worker::{Job, RootKey, Worker, submit};

use crate::profile::Arch;
use std::sync::OnceLock;

/// An emulated call, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Chmod(chmod::Chmod),
    Mkdir(mkdir::Mkdir),
}

/// What a call names in the caller's terms: one of its fds, or a path in its memory taken
/// from a directory fd (or AT_FDCWD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Fd(i32),
    Path { dirfd: i32, addr: u64 },
}

/// The members of the emulated families, as syscall numbers identify them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Chmod,
    Fchmod,
    Fchmodat,
    Fchmodat2,
    Mkdir,
    Mkdirat,
}

const MEMBERS: &[(Member, &str)] = &[
    (Member::Chmod, "chmod"),
    (Member::Fchmod, "fchmod"),
    (Member::Fchmodat, "fchmodat"),
    (Member::Fchmodat2, "fchmodat2"),
    (Member::Mkdir, "mkdir"),
    (Member::Mkdirat, "mkdirat"),
];

/// (arch, nr) → member, built once from libseccomp's tables.
fn member(arch: Arch, nr: i32) -> Option<Member> {
    static TABLE: OnceLock<Vec<(Arch, i32, Member)>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            [Arch::X86_64, Arch::X86, Arch::X32, Arch::Aarch64]
                .into_iter()
                .flat_map(|a| {
                    MEMBERS.iter().filter_map(move |(m, name)| {
                        crate::profile::syscall_number(name, a).map(|nr| (a, nr, *m))
                    })
                })
                .collect()
        })
        .iter()
        .find(|(a, n, _)| *a == arch && *n == nr)
        .map(|(_, _, m)| *m)
}

impl Call {
    /// Decodes a notified call; `None` if it is not one the supervisor carries out, an errno
    /// if the kernel would refuse its registers before looking at anything else.
    pub fn decode(arch: Option<Arch>, nr: i32, args: &[u64; 6]) -> Option<Result<Self, i32>> {
        let m = member(arch?, nr)?;
        Some(match m {
            Member::Chmod | Member::Fchmod | Member::Fchmodat | Member::Fchmodat2 => {
                chmod::Chmod::decode(m, args).map(Self::Chmod)
            }
            Member::Mkdir | Member::Mkdirat => Ok(Self::Mkdir(mkdir::Mkdir::decode(m, args))),
        })
    }

    pub fn operand(&self) -> Operand {
        match self {
            Self::Chmod(c) => c.operand(),
            Self::Mkdir(c) => c.operand(),
        }
    }

    /// Whether a path naming one of the caller's fds through /proc (`/proc/self/fd/N`) names
    /// that fd's file itself, the magic link followed.
    pub fn follows_last(&self) -> bool {
        match self {
            Self::Chmod(c) => c.follows_last(),
            Self::Mkdir(_) => false,
        }
    }

    /// Resolves what the call acts on, on the worker.
    pub fn resolve(&self, g: &mut Gathered, w: &Worker) -> Result<Target, i32> {
        match self {
            Self::Chmod(c) => c.resolve(g, w),
            Self::Mkdir(c) => c.resolve(g, w),
        }
    }

    /// Makes the call on `target`, on the worker; 0 or the errno the kernel gave.
    pub fn act(&self, target: &Target, g: &Gathered, w: &mut Worker) -> i32 {
        match self {
            Self::Chmod(c) => c.act(target),
            Self::Mkdir(c) => c.act(target, g, w),
        }
    }
}

/// The errno of the last failed libc call.
fn last_errno() -> i32 {
    nix::errno::Errno::last_raw()
}
