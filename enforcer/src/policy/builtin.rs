//! The built-in policy of DESIGN.md, written in the policy format itself (builtin.json): in
//! the chmod family a mode with the setuid, setgid or world-write bit is denied with EPERM and
//! any other mode allowed; every other notified call is denied with EPERM.

use super::{Policy, load::parse_str};
use std::path::Path;

const BUILTIN: &str = include_str!("builtin.json");

pub fn builtin() -> Policy {
    parse_str(BUILTIN, Path::new("builtin")).expect("the built-in policy is valid (tested)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, FactError, Facts, FileFact, Identity};

    /// Facts for register-only decisions: asking for memory or identity is a test failure.
    struct NoFacts;
    impl Facts for NoFacts {
        fn identity(&mut self) -> Result<&Identity, FactError> {
            panic!("the built-in policy must not need the caller's identity")
        }
        fn file(&mut self) -> Result<FileFact<'_>, FactError> {
            panic!("the built-in policy must not read memory")
        }
    }

    fn decide(syscall: &str, args: [u64; 6]) -> (Action, bool) {
        let d = builtin().decide(syscall, &args, &mut NoFacts);
        (d.action, d.used_path)
    }

    const EPERM: Action = Action::Deny(libc::EPERM);

    #[test]
    fn chmod_modes() {
        assert_eq!(
            decide("chmod", [0, 0o644, 0, 0, 0, 0]),
            (Action::Allow, false)
        );
        assert_eq!(decide("chmod", [0, 0o4755, 0, 0, 0, 0]).0, EPERM);
        assert_eq!(decide("fchmod", [3, 0o2755, 0, 0, 0, 0]).0, EPERM);
        assert_eq!(decide("fchmodat", [0, 0, 0o646, 0, 0, 0]).0, EPERM);
        assert_eq!(
            decide("fchmodat", [0, 0o4000, 0o640, 0, 0, 0]).0,
            Action::Allow,
            "mode is arg 2 of fchmodat"
        );
        assert_eq!(
            decide("fchmodat2", [0, 0, 0o600, 0x100, 0, 0]).0,
            Action::Allow
        );
    }

    #[test]
    fn mode_is_truncated_as_the_kernel_does() {
        // umode_t is 16 bits: the kernel reads 0x1_0000 | 0o644 as 0o644.
        assert_eq!(
            decide("chmod", [0, 0x1_0000 | 0o644, 0, 0, 0, 0]).0,
            Action::Allow
        );
        assert_eq!(
            decide("chmod", [0, 0xffff_0000_0000_0000 | 0o4755, 0, 0, 0, 0]).0,
            EPERM
        );
    }

    #[test]
    fn other_calls_are_denied() {
        let d = builtin().decide("mount", &[0; 6], &mut NoFacts);
        assert_eq!((d.action, d.rule.as_str()), (EPERM, "default"));
    }
}
