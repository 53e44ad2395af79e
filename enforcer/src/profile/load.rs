//! Reading a profile: JSON syntax errors with line and column, type errors with the JSON
//! path (serde_path_to_error), and the OCI config.json form (`linux.seccomp`).

use super::error::{Problem, ProfileError, Warning};
use super::model::{Profile, RawProfile};
use super::validate;
use serde_json::Value;
use std::path::Path;

/// Options of [`load_file`] and [`parse_str`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Turn unknown syscall names into warnings (the name is skipped) instead of errors.
    pub allow_unknown_syscalls: bool,
}

/// A validated profile and what deserved a note while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub profile: Profile,
    pub warnings: Vec<Warning>,
}

/// Reads and validates a Docker/Podman profile or an OCI config.json.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    parse_str(&text, path, opts)
}

/// Parses and validates profile text; `origin` names it in errors.
pub fn parse_str(text: &str, origin: &Path, opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(origin, &e))?;
    if let Some(json_path) = super::duplicates::first_duplicate(text) {
        return Err(ProfileError::Invalid {
            file: origin.to_path_buf(),
            json_path,
            problem: Problem::DuplicateKey,
        });
    }
    let (root_path, value) = select_seccomp(origin, value)?;
    let unknown = super::fields::unknown_fields(&value, &root_path);
    let raw: RawProfile = serde_path_to_error::deserialize(value).map_err(|e| {
        let json_path = join_path(&root_path, &e.path().to_string());
        ProfileError::Invalid {
            file: origin.to_path_buf(),
            json_path,
            problem: Problem::Type(e.into_inner().to_string()),
        }
    })?;
    let mut loaded = validate::validate(raw, origin, &root_path, opts)?;
    loaded
        .warnings
        .extend(unknown.into_iter().map(|(json_path, message)| Warning {
            file: origin.to_path_buf(),
            json_path,
            message,
        }));
    Ok(loaded)
}

fn syntax_error(origin: &Path, e: &serde_json::Error) -> ProfileError {
    // serde_json appends " at line L column C"; we say it in front instead.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    ProfileError::Syntax {
        file: origin.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: full.strip_suffix(&suffix).unwrap_or(&full).to_string(),
    }
}

/// A whole OCI config (an object with `linux` or `ociVersion`) stands for its `linux.seccomp`.
fn select_seccomp(origin: &Path, value: Value) -> Result<(String, Value), ProfileError> {
    let is_oci = value
        .as_object()
        .is_some_and(|o| o.contains_key("linux") || o.contains_key("ociVersion"));
    if !is_oci {
        return Ok(("$".to_string(), value));
    }
    match value.get("linux").and_then(|l| l.get("seccomp")) {
        Some(seccomp) if !seccomp.is_null() => Ok(("$.linux.seccomp".to_string(), seccomp.clone())),
        _ => Err(ProfileError::Invalid {
            file: origin.to_path_buf(),
            json_path: "$.linux".to_string(),
            problem: Problem::NoSeccompInOci,
        }),
    }
}

/// `$` + serde_path_to_error's path (`.` for the root, else `a.b[2]`).
pub(crate) fn join_path(root: &str, rel: &str) -> String {
    if rel.is_empty() || rel == "." {
        root.to_string()
    } else if rel.starts_with('[') {
        format!("{root}{rel}")
    } else {
        format!("{root}.{rel}")
    }
}
