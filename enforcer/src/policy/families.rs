//! Alias families (the table is shared with `profile check`: see crate::families) and the
//! named arguments of the syscalls the policy knows by signature.

pub use crate::families::{CHMOD, FAMILIES, MKDIR, family};

/// Width of a register argument as the kernel reads it; comparisons truncate to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    U16,
    U32,
    U64,
}

impl Width {
    pub fn truncate(self, v: u64) -> u64 {
        match self {
            Self::U16 => v & 0xffff,
            Self::U32 => v & 0xffff_ffff,
            Self::U64 => v,
        }
    }
}

/// A syscall argument the policy can name: name, register index, width.
pub type NamedArg = (&'static str, usize, Width);

/// The named arguments of the syscalls the policy knows by signature. The kernel declares
/// the mode `umode_t` (16 bits) and fds and flags `int` / `unsigned int` (32 bits).
pub fn named_args(syscall: &str) -> &'static [NamedArg] {
    match syscall {
        "chmod" => &[("path", 0, Width::U64), ("mode", 1, Width::U16)],
        "fchmod" => &[("fd", 0, Width::U32), ("mode", 1, Width::U16)],
        "fchmodat" => &[
            ("dirfd", 0, Width::U32),
            ("path", 1, Width::U64),
            ("mode", 2, Width::U16),
        ],
        "fchmodat2" => &[
            ("dirfd", 0, Width::U32),
            ("path", 1, Width::U64),
            ("mode", 2, Width::U16),
            ("flags", 3, Width::U32),
        ],
        "mkdir" => &[("path", 0, Width::U64), ("mode", 1, Width::U16)],
        "mkdirat" => &[
            ("dirfd", 0, Width::U32),
            ("path", 1, Width::U64),
            ("mode", 2, Width::U16),
        ],
        _ => &[],
    }
}

pub fn named_arg(syscall: &str, name: &str) -> Option<(usize, Width)> {
    named_args(syscall)
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, i, w)| (*i, *w))
}

/// Width of register `index` of `syscall`: from its signature when known, else 64 bits.
pub fn width_of(syscall: &str, index: usize) -> Width {
    named_args(syscall)
        .iter()
        .find(|(_, i, _)| *i == index)
        .map(|(_, _, w)| *w)
        .unwrap_or(Width::U64)
}
