//! Debian packages: check what is there (dpkg-query, then PATH or the file), install only
//! what is missing, and only then need apt-get and root.

use super::packages::Package;
use crate::progress;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;

/// Installs the packages of `list` that are missing; `purpose` says who needs them.
pub fn ensure(list: &[Package], purpose: &str) -> Result<()> {
    let missing: Vec<&str> = list.iter().filter(|p| !present(p)).map(|p| p.deb).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names = missing.join(" ");
    if which("apt-get").is_none() {
        bail!(
            "{purpose} needs {names}, and there is no apt-get here: install them with your package manager"
        );
    }
    if !super::is_root() {
        bail!(
            "{purpose} needs {names}: run `apt-get install {names}` as root, or run cargo xtask as root"
        );
    }
    progress::timed(
        &format!("installing {names} for {purpose} with apt-get"),
        "a minute or more, depending on the mirror",
        || {
            super::run(Command::new("apt-get").args(["update", "-qq"]))
                .context("apt-get update failed: check the package sources in /etc/apt")?;
            let _no_services = super::no_services::NoServiceStarts::forbid()?;
            super::run(
                Command::new("apt-get")
                    .args(["install", "-y", "-qq", "--no-install-recommends"])
                    .args(&missing)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
            .with_context(|| format!("apt-get install {names} failed"))
        },
    )
}

/// dpkg decides where there is one; elsewhere the program or file the package provides.
fn present(p: &Package) -> bool {
    dpkg_installed(p.deb).unwrap_or_else(|| {
        if p.provides.starts_with('/') {
            std::path::Path::new(p.provides).exists()
        } else {
            which(p.provides).is_some()
        }
    })
}

/// None when there is no dpkg-query to ask.
fn dpkg_installed(pkg: &str) -> Option<bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
    })
}
