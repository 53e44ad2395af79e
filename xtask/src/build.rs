//! Builds the eBPF object with nightly, then the userspace binaries with the object embedded.

use crate::{progress, provision};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Measured from a fresh clone on the project's 2-core VM.
const FIRST_BUILD_ESTIMATE: &str = "first build: about 4 minutes on 2 cores";

pub struct Binaries {
    pub enforcer: PathBuf,
    pub probe: PathBuf,
    /// The minimal supervisor the notify benchmark compares against.
    pub notify_baseline: PathBuf,
}

/// Variables the outer `cargo xtask` sets that would make an inner cargo use the wrong
/// toolchain or flags.
const INHERITED_CARGO_ENV: &[&str] = &[
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTUP_TOOLCHAIN",
    "CARGO_BUILD_TARGET",
];

pub fn clean_cargo(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for var in INHERITED_CARGO_ENV {
        cmd.env_remove(var);
    }
    cmd
}

pub fn nightly_cmd(program: &str) -> Command {
    let mut cmd = clean_cargo(program);
    cmd.arg("+nightly");
    cmd
}

pub fn ebpf_object(root: &Path) -> PathBuf {
    root.join("target/ebpf/bpfel-unknown-none/release/enforcer-ebpf")
}

pub fn all(root: &Path) -> Result<Binaries> {
    provision::for_build(root)?;
    let first = !root.join("target/release/enforcer").is_file();
    let expect = if first {
        FIRST_BUILD_ESTIMATE
    } else {
        "only what changed"
    };
    progress::timed("building the eBPF program and enforcer", expect, || {
        build_ebpf(root)?;
        build_userspace(root)
    })?;
    Ok(Binaries::at(root))
}

impl Binaries {
    /// Where `cargo xtask build` puts them.
    pub fn at(root: &Path) -> Self {
        Self {
            enforcer: root.join("target/release/enforcer"),
            probe: root.join("target/release/probe"),
            notify_baseline: root.join("target/release/notify-baseline"),
        }
    }
}

fn with_tools_path(cmd: &mut Command, root: &Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![provision::tools_dir(root).join("bin")];
    dirs.extend(std::env::split_paths(&path));
    cmd.env(
        "PATH",
        std::env::join_paths(dirs).expect("PATH entries are valid"),
    );
}

fn build_ebpf(root: &Path) -> Result<()> {
    let mut cmd = nightly_cmd("cargo");
    cmd.current_dir(root)
        .args(["build", "--release", "--package", "enforcer-ebpf"])
        .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(root.join("target/ebpf"));
    with_tools_path(&mut cmd, root);
    provision::run(&mut cmd).context("building the eBPF program")
}

/// The environment under which every userspace cargo command runs, so that the build script
/// sees the same object and cargo reuses one set of artifacts for build and test.
fn userspace_cargo(root: &Path) -> Command {
    let mut cmd = clean_cargo("cargo");
    cmd.current_dir(root)
        .env("ENFORCER_EBPF_OBJ", ebpf_object(root));
    cmd
}

fn build_userspace(root: &Path) -> Result<()> {
    provision::run(userspace_cargo(root).args([
        "build",
        "--release",
        "--package",
        "enforcer",
        "--package",
        "enforcer-tests",
        "--bins",
    ]))
    .context("building the enforcer binary")
}

pub fn cargo_test(root: &Path, extra: &[String]) -> Result<ExitStatus> {
    let mut cmd = userspace_cargo(root);
    cmd.args(["test", "--release"])
        .env("ENFORCER_BIN", root.join("target/release/enforcer"))
        .env("ENFORCER_PROBE_BIN", root.join("target/release/probe"))
        .args(extra);
    Ok(cmd.status()?)
}
