//! `enforcer profile diff OLD NEW`: one line per change, as profile::diff words them. Exit 0
//! when the profiles do the same thing on this host, 1 when they differ (as diff(1)), 125 when
//! one cannot be read.

use super::{context, fail, load_resolved};
use crate::cli::CapArgs;
use crate::profile;
use std::path::Path;

/// Exit code when the profiles differ.
pub const EXIT_DIFFERENT: u8 = 1;

pub fn diff_files(old: &Path, new: &Path, caps: &CapArgs, allow_unknown_syscalls: bool) -> u8 {
    let ctx = match context(caps) {
        Ok(ctx) => ctx,
        Err(e) => return fail(&e),
    };
    let resolved = load_resolved(old, &ctx, allow_unknown_syscalls).and_then(|(_, o)| {
        let (_, n) = load_resolved(new, &ctx, allow_unknown_syscalls)?;
        Ok((o, n))
    });
    let (old, new) = match resolved {
        Ok(pair) => pair,
        Err(e) => return fail(&e),
    };
    let changes = profile::diff(&old, &new);
    for c in &changes {
        println!("{c}");
    }
    if changes.is_empty() {
        0
    } else {
        EXIT_DIFFERENT
    }
}
