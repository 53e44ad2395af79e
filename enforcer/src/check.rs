//! `enforcer profile check`: parse, resolve for this host and compile each file.

use crate::profile::{self, LoadOptions, ResolveContext};
use std::path::PathBuf;

/// Returns the exit code: 0 when every file is valid, 125 otherwise.
pub fn check_files(files: &[PathBuf], allow_unknown_syscalls: bool) -> u8 {
    let ctx = ResolveContext::from_system();
    let mut failed = false;
    for file in files {
        let result = profile::load_file(
            file,
            &LoadOptions {
                allow_unknown_syscalls,
            },
        )
        .and_then(|loaded| {
            loaded.profile.resolve(&ctx)?.compile()?;
            Ok(loaded.warnings)
        });
        match result {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                println!("{}: ok", file.display());
            }
            Err(e) => {
                eprintln!("enforcer: {e}");
                failed = true;
            }
        }
    }
    if failed {
        crate::run::EXIT_ENFORCER_FAILED
    } else {
        0
    }
}
