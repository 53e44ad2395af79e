//! The profile's `listenerMetadata`, which the runtime passes through as `metadata`: how a
//! container chooses its policy and mode.
//!
//! Form: `key=value` pairs separated by `;` (blanks around them ignored), each key at most
//! once; empty metadata keeps every default.
//!
//! | key | value |
//! | --- | --- |
//! | `policy` | NAME: the file `NAME.json` in the agent's `--policy-dir` (NAME of letters, digits, `.`, `_`, `-`, not starting with `.`) |
//! | `policy-file` | an absolute path to a policy file, without `.` or `..` components |
//! | `mode` | `enforce` (default) or `audit` |
//!
//! Without `policy` or `policy-file` the agent's `--policy` applies, else the built-in
//! policy. Anything else (an unknown key, both policy keys, a relative path) refuses the
//! connection: a typo must not silently fall back to a laxer policy.

use crate::supervisor::Mode;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("listenerMetadata {metadata:?}: {problem}")]
pub struct MetadataError {
    pub metadata: String,
    pub problem: String,
}

/// Which policy a container asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChoice {
    /// The agent's `--policy`, or the built-in policy.
    Default,
    /// `NAME.json` in `--policy-dir`.
    Named(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub policy: PolicyChoice,
    pub mode: Mode,
}

pub fn parse(metadata: &str) -> Result<Selection, MetadataError> {
    let err = |problem: String| MetadataError {
        metadata: metadata.to_owned(),
        problem,
    };
    let mut selection = Selection {
        policy: PolicyChoice::Default,
        mode: Mode::Enforce,
    };
    let mut seen: Vec<&str> = Vec::new();
    for pair in metadata.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| err(format!("{pair:?} is not key=value")))?;
        if seen.contains(&key) {
            return Err(err(format!("{key} given twice")));
        }
        seen.push(key);
        match key {
            "policy" | "policy-file" if selection.policy != PolicyChoice::Default => {
                return Err(err("policy and policy-file exclude each other".into()));
            }
            "policy" => selection.policy = PolicyChoice::Named(policy_name(value).map_err(err)?),
            "policy-file" => {
                selection.policy = PolicyChoice::File(policy_path(value).map_err(err)?)
            }
            "mode" => {
                selection.mode = match value {
                    "enforce" => Mode::Enforce,
                    "audit" => Mode::Audit,
                    _ => return Err(err(format!("mode {value:?}: enforce or audit"))),
                }
            }
            _ => {
                return Err(err(format!(
                    "unknown key {key:?} (known: policy, policy-file, mode)"
                )));
            }
        }
    }
    Ok(selection)
}

fn policy_name(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 200
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "policy name {value:?}: letters, digits, '.', '_' and '-', not starting with '.'"
        ))
    }
}

fn policy_path(value: &str) -> Result<PathBuf, String> {
    let path = Path::new(value);
    // `Path::components` drops "." components and repeated slashes, so check the text too.
    let plain = path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && !value.split('/').any(|part| part == "." || part == "..");
    if plain && path.components().count() > 1 {
        Ok(path.to_owned())
    } else {
        Err(format!(
            "policy-file {value:?}: an absolute path without '.' or '..' components"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(m: &str) -> Selection {
        parse(m).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(
            ok(""),
            Selection {
                policy: PolicyChoice::Default,
                mode: Mode::Enforce
            }
        );
        assert_eq!(ok("policy=web").policy, PolicyChoice::Named("web".into()));
        assert_eq!(
            ok(" policy = web-1.v2 ; mode=audit ;"),
            Selection {
                policy: PolicyChoice::Named("web-1.v2".into()),
                mode: Mode::Audit
            }
        );
        assert_eq!(
            ok("policy-file=/etc/enforcer/p.json").policy,
            PolicyChoice::File("/etc/enforcer/p.json".into())
        );
    }

    #[test]
    fn refused_forms() {
        for bad in [
            "policy=../etc/shadow",
            "policy=a/b",
            "policy=.hidden",
            "policy=",
            "policy-file=relative.json",
            "policy-file=/etc/../shadow",
            "policy-file=/etc/./p.json",
            "policy-file=/",
            "policy=a;policy-file=/p.json",
            "policy=a;policy=b",
            "mode=strict",
            "polcy=a",
            "just-a-word",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        let e = parse("polcy=a").unwrap_err();
        assert!(e.to_string().contains("polcy"), "{e}");
    }
}
