//! The built-in default: Docker's default seccomp profile, with the chmod family notified and
//! the calls that create files with a mode decided on it (creation.rs).

use super::error::ProfileError;
use super::load::{LoadOptions, parse_str};
use super::model::Profile;
use super::resolve::{ResolveContext, ResolvedProfile};
use std::path::Path;
use std::sync::OnceLock;

/// Docker's default profile, unchanged: the repository's profiles/docker-default.json (origin,
/// commit and licence in profiles/README.md; a test checks it against the upstream blob).
pub(crate) const DOCKER_DEFAULT_JSON: &str = include_str!("../../../profiles/docker-default.json");

/// How the built-in profile is named in messages.
pub const BUILTIN_ORIGIN: &str = "<builtin:docker-default>";

/// The chmod family: a rule for one member without the others is a bypass (DESIGN rule 4).
pub const CHMOD_FAMILY: &[&str] = crate::families::CHMOD;

/// Docker's default profile, parsed (a unit test guarantees that it parses and validates).
pub fn builtin_default() -> Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE
        .get_or_init(|| {
            parse_str(
                DOCKER_DEFAULT_JSON,
                Path::new(BUILTIN_ORIGIN),
                &LoadOptions::default(),
            )
            .expect("the embedded Docker default profile is valid")
            .profile
        })
        .clone()
}

/// `enforcer run`'s profile without --profile: Docker's default semantics for `ctx`, with
/// the chmod family handed to the supervisor, and no setuid or setgid file created by open,
/// openat, creat, mknod or mknodat (openat2 gets ENOSYS).
pub fn builtin_resolved(ctx: &ResolveContext) -> Result<ResolvedProfile, ProfileError> {
    Ok(builtin_default()
        .resolve(ctx)?
        .with_notify_overlay(CHMOD_FAMILY)
        .with_creation_rules())
}
