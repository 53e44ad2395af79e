//! Installs what each command needs, only when it is missing, so a second run is fast and
//! needs neither root nor apt-get: `build` and `run` the build packages and the eBPF
//! toolchain, `test` also the test packages (the lists are in packages.rs).

mod apt;
mod no_services;
mod packages;
mod rust;

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

pub use rust::tools_dir;

/// What `cargo xtask build` and `run` need.
pub fn for_build(root: &Path) -> Result<()> {
    apt::ensure(packages::BUILD_PACKAGES, "building enforcer")?;
    rust::nightly_rust_src()?;
    rust::bpf_linker(root)
}

/// What `cargo xtask test` needs besides the build.
pub fn for_tests() -> Result<()> {
    apt::ensure(packages::TEST_PACKAGES, "the tests")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// For the commands that load eBPF programs and seccomp filters; checked before building so
/// that nobody waits for a build to learn it.
pub fn require_root(command: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "`cargo xtask {command}` loads eBPF programs and seccomp filters, which needs root: run it as root (`cargo xtask build` does not need root)"
        );
    }
    Ok(())
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("spawning {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
