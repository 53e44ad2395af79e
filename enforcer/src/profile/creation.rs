//! The built-in default's promise on every route: no call of the workload creates a file with
//! the setuid or setgid bit. The chmod family is notified (the built-in policy decides on its
//! mode register); the calls that create a file with a mode are decided here, in the kernel's
//! filter, on their registers, without a notification:
//!
//! - `open`, `openat` with O_CREAT or O_TMPFILE, `creat`, `mknod`, `mknodat`: a mode with
//!   S_ISUID or S_ISGID gets EPERM; every other call runs.
//! - `openat2` carries its mode in memory (struct open_how), which a filter cannot read and
//!   the supervisor may not CONTINUE on: it gets ENOSYS, as on a kernel before 5.6, so callers
//!   fall back to `openat` (glibc's open() never uses it).
//!
//! libseccomp drops every conditional rule of a syscall that also has an unconditional one
//! (Docker's default allows all six unconditionally), so the rules of these syscalls are
//! replaced, not added to: allow when no creating flag is set, allow when the mode has neither
//! bit, deny each (creating flag, bit) pair. The allow and deny rules are disjoint and cover
//! every call, so libseccomp's rule order cannot matter.
//!
//! Not part of the promise: world-writable creation (the mode is filtered by the caller's
//! umask, which is the caller's business), ACLs set with setxattr (they cannot set S_ISUID or
//! S_ISGID), and file capabilities (`security.capability`, a name in memory: it needs
//! CAP_SETFCAP, which `--cap-drop SETFCAP` takes away).

use super::resolve::{ResolvedProfile, ResolvedRule};
use super::types::{Action, ArgCond, CmpOp};

/// Marks the rules [`ResolvedProfile::with_creation_rules`] adds.
pub const CREATION_PATH: &str = "<builtin: no setuid/setgid file creation>";

/// The mode bits no created file may have.
const FORBIDDEN_BITS: [u64; 2] = [libc::S_ISUID as u64, libc::S_ISGID as u64];
/// The flags with which open/openat create a file (O_TMPFILE without its O_DIRECTORY part).
const CREATING_FLAGS: [u64; 2] = [
    libc::O_CREAT as u64,
    (libc::O_TMPFILE & !libc::O_DIRECTORY) as u64,
];

/// A call that creates a file with a mode register: (syscall, flags argument if the call
/// creates only with a flag, mode argument).
const ROUTES: [(&str, Option<u8>, u8); 5] = [
    ("open", Some(1), 2),
    ("openat", Some(2), 3),
    ("creat", None, 1),
    ("mknod", None, 1),
    ("mknodat", None, 2),
];

const OPENAT2: &str = "openat2";

fn masked(index: u8, mask: u64, datum: u64) -> ArgCond {
    ArgCond {
        index,
        op: CmpOp::MaskedEq,
        value: mask,
        value_two: datum,
    }
}

fn rule(syscall: &str, action: Action, conditions: Vec<ArgCond>) -> ResolvedRule {
    ResolvedRule {
        syscall: syscall.to_string(),
        action,
        conditions,
        json_path: CREATION_PATH.to_string(),
    }
}

impl ResolvedProfile {
    /// Replaces the rules of the creating calls by the ones above (see the module notes).
    pub fn with_creation_rules(mut self) -> Self {
        let ours = |s: &str| s == OPENAT2 || ROUTES.iter().any(|r| r.0 == s);
        self.rules.retain(|r| !ours(&r.syscall));
        let eperm = Action::Errno(libc::EPERM as u32);
        let all_bits = FORBIDDEN_BITS.iter().fold(0, |a, b| a | b);
        for (syscall, flags, mode) in ROUTES {
            if let Some(flags) = flags {
                let creating = CREATING_FLAGS.iter().fold(0, |a, b| a | b);
                self.rules.push(rule(
                    syscall,
                    Action::Allow,
                    vec![masked(flags, creating, 0)],
                ));
            }
            self.rules.push(rule(
                syscall,
                Action::Allow,
                vec![masked(mode, all_bits, 0)],
            ));
            for bit in FORBIDDEN_BITS {
                let on_mode = masked(mode, bit, bit);
                match flags {
                    None => self.rules.push(rule(syscall, eperm, vec![on_mode])),
                    Some(flags) => {
                        for flag in CREATING_FLAGS {
                            let conds = vec![masked(flags, flag, flag), on_mode];
                            self.rules.push(rule(syscall, eperm, conds));
                        }
                    }
                }
            }
        }
        self.rules.push(rule(
            OPENAT2,
            Action::Errno(libc::ENOSYS as u32),
            Vec::new(),
        ));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ResolveContext, builtin_resolved};

    fn verdict(syscall: &str, args: [u64; 6]) -> Action {
        let ctx = ResolveContext::from_system();
        builtin_resolved(&ctx)
            .unwrap()
            .verdict(syscall, &args)
            .action
    }

    const EPERM: Action = Action::Errno(libc::EPERM as u32);
    const CREAT: u64 = libc::O_CREAT as u64;
    const TMPFILE: u64 = libc::O_TMPFILE as u64;

    #[test]
    fn creating_a_setuid_or_setgid_file_is_denied_on_every_route() {
        assert_eq!(verdict("openat", [0, 0, CREAT, 0o4755, 0, 0]), EPERM);
        assert_eq!(verdict("openat", [0, 0, TMPFILE | 2, 0o2700, 0, 0]), EPERM);
        assert_eq!(verdict("open", [0, CREAT, 0o6755, 0, 0, 0]), EPERM);
        assert_eq!(verdict("creat", [0, 0o4700, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict("mknod", [0, 0o102755, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict("mknodat", [0, 0, 0o104755, 0, 0, 0]), EPERM);
        assert_eq!(
            verdict("openat2", [0; 6]),
            Action::Errno(libc::ENOSYS as u32)
        );
    }

    #[test]
    fn other_calls_run() {
        assert_eq!(verdict("openat", [0, 0, CREAT, 0o755, 0, 0]), Action::Allow);
        // Without a creating flag the kernel ignores the mode register.
        assert_eq!(verdict("openat", [0, 0, 2, 0o4755, 0, 0]), Action::Allow);
        assert_eq!(verdict("creat", [0, 0o666, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(verdict("mknod", [0, 0o10644, 0, 0, 0, 0]), Action::Allow);
    }

    #[test]
    fn the_filter_compiles() {
        let ctx = ResolveContext::from_system();
        builtin_resolved(&ctx).unwrap().compile().unwrap();
    }
}
