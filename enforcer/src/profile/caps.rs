//! Capability sets as Docker computes a container's: `--cap-add` / `--cap-drop` (with `ALL`)
//! applied to Docker's default set, exactly as moby's `caps.TweakCapabilities` does. The
//! result is the bounding set that profile resolution (`includes.caps`) and the launcher use.

use super::resolve::DOCKER_DEFAULT_CAPS;
use super::types::KNOWN_CAPS;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    #[error(
        "{flag} {name:?}: unknown capability (expected a name like SYS_ADMIN or CAP_SYS_ADMIN, \
         or ALL)"
    )]
    Unknown { flag: &'static str, name: String },
}

/// A set of capabilities, bit N for capability number N (KNOWN_CAPS is in number order).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(u64);

const ALL: &str = "ALL";

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability this crate knows (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE).
    pub fn all() -> Self {
        Self((1u64 << KNOWN_CAPS.len()) - 1)
    }

    pub fn from_bits(bits: u64) -> Self {
        Self(bits & Self::all().0)
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    /// Docker's default set (moby's `caps.DefaultCapabilities`).
    pub fn docker_default() -> Self {
        DOCKER_DEFAULT_CAPS
            .iter()
            .filter_map(|c| number(c))
            .fold(Self::EMPTY, |s, n| s.with(n))
    }

    /// The set a container gets from `--cap-add` / `--cap-drop`, as moby computes it: `ALL`
    /// among the adds gives every capability but the drops; `ALL` among the drops gives the
    /// adds only; otherwise the default set minus the drops plus the adds. Names are taken
    /// with or without `CAP_`, in any case.
    pub fn docker(adds: &[String], drops: &[String]) -> Result<Self, CapError> {
        let adds = CapList::parse("--cap-add", adds)?;
        let drops = CapList::parse("--cap-drop", drops)?;
        Ok(if adds.all {
            Self(Self::all().0 & !drops.set.0)
        } else if drops.all {
            adds.set
        } else {
            Self((Self::docker_default().0 & !drops.set.0) | adds.set.0)
        })
    }

    fn with(self, number: u32) -> Self {
        Self(self.0 | 1 << number)
    }

    /// The capabilities of `self` that `other` lacks.
    pub fn without(self, other: CapSet) -> Self {
        Self(self.0 & !other.0)
    }

    pub fn intersection(self, other: CapSet) -> Self {
        Self(self.0 & other.0)
    }

    pub fn contains(self, name: &str) -> bool {
        number(name).is_some_and(|n| self.0 & (1 << n) != 0)
    }

    /// The names, like "CAP_SYS_ADMIN", in number order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        (KNOWN_CAPS.iter().enumerate())
            .filter(move |(n, _)| self.0 & (1 << n) != 0)
            .map(|(_, name)| *name)
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// The number of capability `name` ("CAP_SYS_ADMIN").
pub fn number(name: &str) -> Option<u32> {
    KNOWN_CAPS.iter().position(|c| *c == name).map(|n| n as u32)
}

/// One of --cap-add / --cap-drop, normalized as moby's NormalizeLegacyCapabilities does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapList {
    /// `ALL` was given.
    pub all: bool,
    /// The capabilities named one by one.
    pub set: CapSet,
}

impl CapList {
    /// `flag` names the option in errors.
    pub fn parse(flag: &'static str, names: &[String]) -> Result<Self, CapError> {
        let mut out = CapList {
            all: false,
            set: CapSet::EMPTY,
        };
        for name in names {
            let upper = name.trim().to_ascii_uppercase();
            if upper == ALL {
                out.all = true;
                continue;
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            let n = number(&full).ok_or_else(|| CapError::Unknown {
                flag,
                name: name.clone(),
            })?;
            out.set = out.set.with(n);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn docker_add_and_drop() {
        let default = CapSet::docker(&[], &[]).unwrap();
        assert_eq!(default, CapSet::docker_default());
        assert_eq!(default.names().count(), DOCKER_DEFAULT_CAPS.len());
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));

        let admin = CapSet::docker(&s(&["sys_admin"]), &s(&["CAP_NET_RAW"])).unwrap();
        assert!(admin.contains("CAP_SYS_ADMIN") && !admin.contains("CAP_NET_RAW"));
        assert!(admin.contains("CAP_CHOWN"));

        let none = CapSet::docker(&[], &s(&["ALL"])).unwrap();
        assert_eq!(none, CapSet::EMPTY);
        let only = CapSet::docker(&s(&["KILL"]), &s(&["all"])).unwrap();
        assert_eq!(only.names().collect::<Vec<_>>(), ["CAP_KILL"]);
        let all_but = CapSet::docker(&s(&["ALL"]), &s(&["SYS_ADMIN"])).unwrap();
        assert_eq!(all_but.names().count(), KNOWN_CAPS.len() - 1);
        assert!(!all_but.contains("CAP_SYS_ADMIN"));

        let err = CapSet::docker(&s(&["SYS_FOO"]), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--cap-add \"SYS_FOO\": unknown capability (expected a name like SYS_ADMIN or \
             CAP_SYS_ADMIN, or ALL)"
        );
    }
}
