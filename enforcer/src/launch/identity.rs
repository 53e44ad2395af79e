//! Whom the workload runs as, from `docker run`'s --cap-add / --cap-drop / --user: the
//! capability set (bounding set, and what root keeps) and the uid, gid and groups.
//!
//! As Docker: the set is Docker's default with the adds and drops (profile::CapSet); a user
//! other than root keeps no capabilities (effective, permitted, inheritable and ambient are
//! empty) while the bounding set stays, which is also what the profile's `includes.caps`
//! are resolved against (moby resolves them against the bounding set). A numeric user that
//! /etc/passwd does not know gets gid 0, as in Docker; supplementary groups are those
//! /etc/group lists the user in.

use crate::profile::{CapError, CapList, CapSet, KNOWN_CAPS};
use nix::unistd::{Gid, Group, Uid, User, getgrouplist};
use std::ffi::CString;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    Caps(#[from] CapError),
    #[error(
        "--cap-add {}: enforcer itself does not have it (not in its bounding set), so the \
         workload cannot", .0.names().collect::<Vec<_>>().join(", ")
    )]
    Unavailable(CapSet),
    #[error("--user {value:?}: {problem}")]
    User { value: String, problem: String },
}

/// A user to switch to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIds {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

/// What the launcher's child sets up before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The bounding set; for root also the effective and permitted set.
    pub caps: CapSet,
    /// `None`: stay root.
    pub user: Option<UserIds>,
}

impl Default for Credentials {
    /// `docker run` without flags: Docker's default capabilities, as root.
    fn default() -> Self {
        Self {
            caps: CapSet::docker_default(),
            user: None,
        }
    }
}

impl Credentials {
    /// `docker run --cap-add ADDS --cap-drop DROPS [--user USER]`, within what the launcher
    /// has: a capability added by name that it lacks is an error; the default set and `ALL`
    /// shrink to what it has (the workload could not hold more).
    pub fn docker(
        adds: &[String],
        drops: &[String],
        user: Option<&str>,
    ) -> Result<Self, IdentityError> {
        let own = launcher_bounding_set();
        let missing = CapList::parse("--cap-add", adds)?.set.without(own);
        if missing != CapSet::EMPTY {
            return Err(IdentityError::Unavailable(missing));
        }
        Ok(Self {
            caps: CapSet::docker(adds, drops)?.intersection(own),
            user: user.map(parse_user).transpose()?,
        })
    }

    /// The capabilities the workload holds after exec (without setuid or file capabilities).
    pub fn held(&self) -> CapSet {
        match &self.user {
            Some(u) if u.uid != 0 => CapSet::EMPTY,
            _ => self.caps,
        }
    }
}

/// This process's bounding set: what it can pass on.
fn launcher_bounding_set() -> CapSet {
    let has = |n: u32| {
        // SAFETY: PR_CAPBSET_READ only reads this process's bounding set.
        unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(n), 0, 0, 0) == 1 }
    };
    let bits = (0..KNOWN_CAPS.len() as u32)
        .filter(|&n| has(n))
        .fold(0u64, |bits, n| bits | 1 << n);
    CapSet::from_bits(bits)
}

/// `UID[:GID]`, each a number or a name.
fn parse_user(value: &str) -> Result<UserIds, IdentityError> {
    let err = |problem: &str| IdentityError::User {
        value: value.to_string(),
        problem: problem.to_string(),
    };
    let (user, group) = match value.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (value, None),
    };
    let entry = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)).ok().flatten(),
        Err(_) if user.is_empty() => return Err(err("no user given")),
        Err(_) => Some(
            User::from_name(user)
                .ok()
                .flatten()
                .ok_or_else(|| err("no such user in /etc/passwd"))?,
        ),
    };
    let uid = match &entry {
        Some(e) => e.uid.as_raw(),
        None => user.parse().map_err(|_| err("not a uid"))?,
    };
    let gid = match group {
        None => entry.as_ref().map_or(0, |e| e.gid.as_raw()),
        Some("") => return Err(err("no group after ':'")),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| err("no such group in /etc/group"))?
                .gid
                .as_raw(),
        },
    };
    let groups = match &entry {
        Some(e) => supplementary_groups(&e.name, gid),
        None => Vec::new(),
    };
    Ok(UserIds { uid, gid, groups })
}

/// The groups /etc/group lists `name` in (getgrouplist adds `gid` itself, which we leave out).
fn supplementary_groups(name: &str, gid: u32) -> Vec<u32> {
    let Ok(cname) = CString::new(name) else {
        return Vec::new();
    };
    getgrouplist(&cname, Gid::from_raw(gid))
        .unwrap_or_default()
        .into_iter()
        .map(Gid::as_raw)
        .filter(|g| *g != gid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_as_docker_takes_them() {
        let nobody = parse_user("65534").unwrap();
        assert_eq!((nobody.uid, nobody.gid), (65534, 65534), "from /etc/passwd");
        let root = parse_user("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        let unknown = parse_user("4242").unwrap();
        assert_eq!(
            (unknown.uid, unknown.gid, unknown.groups),
            (4242, 0, vec![])
        );
        assert_eq!(parse_user("4242:77").unwrap().gid, 77);
        assert_eq!(parse_user("65534:root").unwrap().gid, 0);
        for bad in ["", ":1", "no-such-user-x", "1:", "1:no-such-group-x"] {
            let e = parse_user(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--user {bad:?}: ")), "{e}");
        }
        let c = Credentials::docker(&[], &["ALL".into()], Some("65534")).unwrap();
        assert_eq!((c.caps, c.held()), (CapSet::EMPTY, CapSet::EMPTY));
        let c = Credentials::docker(&["SYS_ADMIN".into()], &[], Some("65534")).unwrap();
        assert!(c.caps.contains("CAP_SYS_ADMIN") && c.held() == CapSet::EMPTY);
    }
}
