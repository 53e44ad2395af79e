//! Installs what the build and the tests need, only when it is missing, so a second run is fast.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages: libseccomp-dev links the userspace binary; the OCI runtimes and busybox
/// serve the container tests; prometheus (for promtool) and chromium check what the metrics
/// endpoint and the HTML report give users.
const APT_PACKAGES: &[&str] = &[
    "libseccomp-dev",
    "runc",
    "crun",
    "busybox-static",
    // unshare (crun's hybrid-cgroup workaround in the agent tests) and systemd-analyze
    // (the agent's systemd unit is verified).
    "util-linux",
    "systemd",
    "prometheus",
    "chromium",
];
const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn all(root: &Path) -> Result<()> {
    require_root()?;
    apt_packages()?;
    nightly_rust_src()?;
    bpf_linker(root)?;
    Ok(())
}

fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "enforcer loads eBPF programs and seccomp filters, which needs root: run `cargo xtask` as root"
        );
    }
    Ok(())
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if which("apt-get").is_none() {
        bail!(
            "missing packages {missing:?} and no apt-get here: install them with your package manager"
        );
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))
        .context("apt-get update failed: check the package sources in /etc/apt")?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .with_context(|| format!("apt-get install {} failed", missing.join(" ")))
}

fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

pub fn nightly_sysroot() -> Result<PathBuf> {
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

fn nightly_rust_src() -> Result<()> {
    let src = nightly_sysroot()?.join("lib/rustlib/src/rust/library/core");
    if src.is_dir() {
        return Ok(());
    }
    eprintln!("xtask: adding rust-src to the nightly toolchain");
    run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))
        .context("`rustup component add rust-src --toolchain nightly` failed; run it by hand")
}

pub fn tools_dir(root: &Path) -> PathBuf {
    root.join(".tools")
}

pub fn bpf_linker_path(root: &Path) -> PathBuf {
    tools_dir(root).join("bin/bpf-linker")
}

/// bpf-linker has no downloadable build here and Debian has no LLVM 22: link it against the
/// nightly toolchain's own libLLVM, whose name and major version are read from the toolchain.
fn bpf_linker(root: &Path) -> Result<()> {
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
    eprintln!("xtask: building bpf-linker {BPF_LINKER_VERSION} against {lib} (about a minute)");
    let rustflags = format!(
        "-L {d} -l dylib={lib} -C link-args=-Wl,-rpath,{d}",
        d = libdir.display()
    );
    run(crate::build::clean_cargo("cargo")
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
        .env("RUSTFLAGS", rustflags))
    .context("building bpf-linker failed (needs crates.io and the nightly toolchain's libLLVM)")
}

pub fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
    })
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("spawning {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
