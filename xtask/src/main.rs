//! `cargo xtask`: provisioning, build, run, test and bench for enforcer.
//!
//! Everything a fresh machine needs is installed from here (apt-get, rustup, crates.io), so that
//! `cargo xtask run` and `cargo xtask test` are the only two commands a user has to know.

mod bench;
mod build;
mod demo;
mod progress;
mod provision;

use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str =
    "usage: cargo xtask <build | run [-- ARGS...] | test [-- TEST-ARGS...] | provision>";

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let rest: Vec<String> = args.skip_while(|a| a == "--").collect();
    let root = project_root();
    match cmd.as_str() {
        "provision" => {
            provision::for_build(&root)?;
            provision::for_tests()?;
            Ok(ExitCode::SUCCESS)
        }
        "build" => {
            build::all(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        "run" => {
            if rest.is_empty() {
                provision::require_root("run")?;
            }
            let bins = build::all(&root)?;
            if rest.is_empty() {
                demo::run(&root, &bins, &mut std::io::stdout().lock())?;
                return Ok(ExitCode::SUCCESS);
            }
            let status = Command::new(&bins.enforcer).args(&rest).status()?;
            Ok(ExitCode::from(exit_code_of(status)))
        }
        "bench" => {
            provision::require_root("bench")?;
            let bins = build::all(&root)?;
            bench::run(&root, &bins, &rest)?;
            Ok(ExitCode::SUCCESS)
        }
        "test" => {
            provision::require_root("test")?;
            provision::for_tests()?;
            build::all(&root)?;
            let status = build::cargo_test(&root, &rest)?;
            if !status.success() {
                bail!("tests failed ({status})");
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("{USAGE}"),
    }
}

/// The workspace root: xtask lives one level below it.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(sig)) => 128u8.wrapping_add(sig as u8),
        _ => 1,
    }
}
