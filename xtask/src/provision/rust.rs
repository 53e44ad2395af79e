//! The eBPF toolchain: rust-src for the nightly (build-std) and bpf-linker in .tools/.

use crate::progress;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const BPF_LINKER_VERSION: &str = "0.13.0";

fn nightly_sysroot() -> Result<PathBuf> {
    let out = crate::build::nightly_cmd("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc +nightly")?;
    if !out.status.success() {
        bail!(
            "no nightly Rust toolchain: the eBPF program needs one. Install it with `rustup toolchain install nightly --component rust-src`"
        );
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

pub fn nightly_rust_src() -> Result<()> {
    let src = nightly_sysroot()?.join("lib/rustlib/src/rust/library/core");
    if src.is_dir() {
        return Ok(());
    }
    progress::timed(
        "adding rust-src to the nightly toolchain (rustup)",
        "about 30 s",
        || {
            super::run(Command::new("rustup").args([
                "component",
                "add",
                "rust-src",
                "--toolchain",
                "nightly",
            ]))
            .context("`rustup component add rust-src --toolchain nightly` failed; run it by hand")
        },
    )
}

pub fn tools_dir(root: &Path) -> PathBuf {
    root.join(".tools")
}

fn bpf_linker_path(root: &Path) -> PathBuf {
    tools_dir(root).join("bin/bpf-linker")
}

/// bpf-linker has no downloadable build here and Debian has no LLVM 22: link it against the
/// nightly toolchain's own libLLVM, whose name and major version are read from the toolchain.
pub fn bpf_linker(root: &Path) -> Result<()> {
    if bpf_linker_path(root).is_file() {
        return Ok(());
    }
    let libdir = nightly_sysroot()?.join("lib");
    let lib = std::fs::read_dir(&libdir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find_map(|n| {
            n.strip_prefix("lib")
                .and_then(|n| n.strip_suffix(".so"))
                .filter(|n| n.starts_with("LLVM-"))
                .map(str::to_owned)
        })
        .with_context(|| {
            format!(
                "no libLLVM-*.so in {}: is the nightly toolchain complete?",
                libdir.display()
            )
        })?;
    let major = lib
        .trim_start_matches("LLVM-")
        .split('-')
        .next()
        .unwrap_or_default()
        .to_owned();
    let rustflags = format!(
        "-L {d} -l dylib={lib} -C link-args=-Wl,-rpath,{d}",
        d = libdir.display()
    );
    progress::timed(
        &format!(
            "building bpf-linker {BPF_LINKER_VERSION} against {lib} into {} (once)",
            tools_dir(root).display()
        ),
        BPF_LINKER_ESTIMATE,
        || {
            super::run(
                crate::build::clean_cargo("cargo")
                    .args([
                        "install",
                        "bpf-linker",
                        "--version",
                        BPF_LINKER_VERSION,
                        "--locked",
                    ])
                    .args(["--no-default-features", "--features"])
                    .arg(format!("llvm-{major},no-llvm-linking"))
                    .arg("--root")
                    .arg(tools_dir(root))
                    .env("RUSTFLAGS", &rustflags),
            )
            .context(
                "building bpf-linker failed (needs crates.io and the nightly toolchain's libLLVM)",
            )
        },
    )
}

/// Measured on the project's 2-core VM.
const BPF_LINKER_ESTIMATE: &str = "about 2 minutes on 2 cores";
