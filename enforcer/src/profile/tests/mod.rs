//! Unit tests of the profile module: the real profiles (../profiles), bad input, precedence, and
//! the compiled filters in a real kernel.

mod equivalence;
mod errors;
mod explain;
mod fixtures;
mod kernel;
mod lint;
mod precedence;

use super::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The real profiles (the repository's profiles/) this module must load as Docker and Podman do.
fn real_profiles() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    assert!(
        dir.join("README.md").is_file(),
        "the real profiles are missing: expected them in {}",
        dir.display()
    );
    dir
}

fn real(name: &str) -> Loaded {
    let path = real_profiles().join(name);
    load_file(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{} must load: {e}", path.display()))
}

/// Docker's default capabilities on x86_64 with a 6.18 kernel.
fn ctx() -> ResolveContext {
    ResolveContext::new(DOCKER_DEFAULT_CAPS.iter().copied(), Arch::X86_64, (6, 18))
}

const ORIGIN: &str = "/x/p.json";

fn parse(text: &str) -> Result<Loaded, ProfileError> {
    parse_str(text, Path::new(ORIGIN), &LoadOptions::default())
}

/// The error message for `text`, which must not load.
fn load_error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(e) => e.to_string(),
    }
}

fn resolve(text: &str) -> Result<ResolvedProfile, ProfileError> {
    parse(text).expect("loads").profile.resolve(&ctx())
}

/// (syscall, action, number of conditions) of every rule, in order.
fn summary(resolved: &ResolvedProfile) -> Vec<(String, Action, usize)> {
    (resolved.rules.iter())
        .map(|r| (r.syscall.clone(), r.action, r.conditions.len()))
        .collect()
}
