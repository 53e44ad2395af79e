//! `enforcer profile check FILE...`: parse, resolve for this host, compile, lint.

use super::{context, fail, load_resolved};
use crate::cli::CapArgs;
use crate::profile;
use std::path::{Path, PathBuf};

/// 0 when every file is valid (lints are warnings), 125 otherwise; with `strict`, a warning
/// or lint fails its file too.
pub fn check_files(
    files: &[PathBuf],
    caps: &CapArgs,
    strict: bool,
    allow_unknown_syscalls: bool,
) -> u8 {
    let ctx = match context(caps) {
        Ok(ctx) => ctx,
        Err(e) => return fail(&e),
    };
    let mut failed = false;
    for file in files {
        failed |= !check_one(file, &ctx, strict, allow_unknown_syscalls);
    }
    if failed {
        crate::run::EXIT_ENFORCER_FAILED
    } else {
        0
    }
}

fn check_one(
    file: &Path,
    ctx: &profile::ResolveContext,
    strict: bool,
    allow_unknown_syscalls: bool,
) -> bool {
    let result = load_resolved(file, ctx, allow_unknown_syscalls).and_then(|(loaded, resolved)| {
        resolved.compile()?;
        let mut notes: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        notes.extend(resolved.warnings.iter().map(ToString::to_string));
        notes.extend(
            profile::lint(&loaded.profile, &resolved)
                .iter()
                .map(ToString::to_string),
        );
        Ok(notes)
    });
    let notes = match result {
        Ok(notes) => notes,
        Err(e) => {
            fail(&e);
            return false;
        }
    };
    let label = if strict { "error" } else { "warning" };
    for note in &notes {
        eprintln!("{label}: {note}");
    }
    match (notes.len(), strict) {
        (0, _) => println!("{}: ok", file.display()),
        (n, false) => println!("{}: ok, {n} warning(s)", file.display()),
        (n, true) => {
            println!("{}: {n} warning(s), refused by --strict", file.display());
            return false;
        }
    }
    true
}
