//! `enforcer profile check | explain | diff`: the commands over the profile module. Each
//! returns the process exit code: 0 fine, 125 bad input (named with file and JSON path), and
//! for diff 1 when the profiles differ, as diff(1).

mod check;
mod diff;
mod explain;
mod suggest;

pub use check::check_files;
pub use diff::diff_files;
pub use explain::{ExplainOptions, explain_file};
pub use suggest::suggest_profile;

use crate::cli::CapArgs;
use crate::profile::{
    self, CapError, CapSet, LoadOptions, Loaded, ProfileError, ResolveContext, ResolvedProfile,
};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Caps(#[from] CapError),
    #[error("--syscall {name:?}: {problem}")]
    Syscall { name: String, problem: String },
}

/// The resolution context of `docker run` with these --cap-add / --cap-drop on this host.
pub fn context(caps: &CapArgs) -> Result<ResolveContext, CapError> {
    let set = CapSet::docker(&caps.cap_add, &caps.cap_drop)?;
    Ok(ResolveContext::from_system().with_caps(set.names()))
}

/// Loads `file` and resolves it for `ctx`.
fn load_resolved(
    file: &Path,
    ctx: &ResolveContext,
    allow_unknown_syscalls: bool,
) -> Result<(Loaded, ResolvedProfile), ProfileError> {
    let loaded = profile::load_file(
        file,
        &LoadOptions {
            allow_unknown_syscalls,
        },
    )?;
    let resolved = loaded.profile.resolve(ctx)?;
    Ok((loaded, resolved))
}

/// Prints the error as every enforcer error is printed, and gives 125.
fn fail(e: &dyn std::fmt::Display) -> u8 {
    eprintln!("enforcer: {e}");
    crate::run::EXIT_ENFORCER_FAILED
}
