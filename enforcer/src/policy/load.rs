//! Reading and validating a policy file; every error names the file, the place and the problem.

use super::families::{self, named_arg};
use super::model::{ArgSpec, Number, PolicyFile, RuleSpec, WorkloadSpec};
use super::rules::{Action, ArgCond, ArgSelector, Policy, Rule, WorkloadMatch};
use crate::profile::CmpOp;
use globset::{GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {file}: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("policy {file}: line {line}, column {column}: invalid JSON: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("policy {file}: {place}: {problem}")]
    Invalid {
        file: PathBuf,
        place: String,
        problem: String,
    },
}

/// The syscalls a path rule can be carried out for by the supervisor itself (its `emulate`
/// module has one file per family).
pub const EMULATED: &[&str] = &[
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "mkdir",
    "mkdirat",
];

pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        file: path.to_owned(),
        source,
    })?;
    parse_str(&text, path)
}

pub fn parse_str(text: &str, file: &Path) -> Result<Policy, PolicyError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let spec: PolicyFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            PolicyError::Syntax {
                file: file.to_owned(),
                line: inner.line(),
                column: inner.column(),
                message: inner.to_string(),
            }
        } else {
            PolicyError::Invalid {
                file: file.to_owned(),
                place: format!("$.{}", e.path()),
                problem: inner.to_string(),
            }
        }
    })?;
    de.end().map_err(|e| PolicyError::Syntax {
        file: file.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    Compiler { file }.policy(&spec)
}

struct Compiler<'a> {
    file: &'a Path,
}

impl Compiler<'_> {
    fn err(&self, place: impl Into<String>, problem: impl Into<String>) -> PolicyError {
        PolicyError::Invalid {
            file: self.file.to_owned(),
            place: place.into(),
            problem: problem.into(),
        }
    }

    fn policy(&self, spec: &PolicyFile) -> Result<Policy, PolicyError> {
        if let Some(v) = spec.version.filter(|v| *v != 1) {
            return Err(self.err("$.version", format!("unknown version {v} (only 1 exists)")));
        }
        let errno = match &spec.default_errno {
            Some(n) => errno(n)
                .ok_or_else(|| self.err("$.defaultErrno", format!("unknown errno {}", show(n))))?,
            None => libc::EPERM,
        };
        let default = match spec.default_action.as_deref().unwrap_or("deny") {
            "deny" => Action::Deny(errno),
            "kill" => Action::Kill,
            "allow" => return Err(self.err("$.defaultAction", "\"allow\" as the default would let every unmatched notified call through; name what to allow in rules")),
            other => return Err(self.err("$.defaultAction", format!("unknown action {other:?} (deny, kill)"))),
        };
        let rules = spec
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| self.rule(i, r))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            source: self.file.display().to_string(),
            default,
            rules,
        })
    }

    fn rule(&self, i: usize, spec: &RuleSpec) -> Result<Rule, PolicyError> {
        let at = |field: &str| format!("$.rules[{i}].{field}");
        if spec.syscalls.is_empty() {
            return Err(self.err(at("syscalls"), "names no syscall"));
        }
        let mut syscalls = Vec::new();
        for (j, s) in spec.syscalls.iter().enumerate() {
            match s.strip_prefix('@') {
                Some(f) => syscalls.extend(
                    families::family(f)
                        .ok_or_else(|| {
                            self.err(
                                format!("{}[{j}]", at("syscalls")),
                                format!("unknown family {s:?}"),
                            )
                        })?
                        .iter()
                        .map(|m| m.to_string()),
                ),
                None if crate::profile::syscall_number(s, crate::profile::native_arch())
                    .is_some() =>
                {
                    syscalls.push(s.clone())
                }
                None => {
                    return Err(self.err(
                        format!("{}[{j}]", at("syscalls")),
                        format!("unknown syscall {s:?}"),
                    ));
                }
            }
        }
        let args = spec
            .args
            .iter()
            .enumerate()
            .map(|(j, a)| self.arg(&format!("{}[{j}]", at("args")), a, &syscalls))
            .collect::<Result<_, _>>()?;
        let paths = if spec.paths.is_empty() {
            None
        } else {
            if let Some(s) = syscalls.iter().find(|s| !EMULATED.contains(&s.as_str())) {
                return Err(self.err(at("paths"), format!("path rules need the supervisor to carry the call out itself, which it does for {} only, not {s:?}", EMULATED.join(", "))));
            }
            Some(self.globs(&at("paths"), &spec.paths)?)
        };
        let workload = spec
            .workload
            .as_ref()
            .map(|w| self.workload(&at("workload"), w))
            .transpose()?;
        let errno = match &spec.errno {
            Some(n) => Some(
                errno(n)
                    .ok_or_else(|| self.err(at("errno"), format!("unknown errno {}", show(n))))?,
            ),
            None => None,
        };
        let action = match spec.action.as_str() {
            "allow" | "kill" if errno.is_some() => {
                return Err(self.err(
                    at("errno"),
                    format!(
                        "errno given for action {:?}, which returns none",
                        spec.action
                    ),
                ));
            }
            "allow" => Action::Allow,
            "kill" => Action::Kill,
            "deny" => Action::Deny(errno.unwrap_or(libc::EPERM)),
            other => {
                return Err(self.err(
                    at("action"),
                    format!("unknown action {other:?} (allow, deny, kill)"),
                ));
            }
        };
        if spec.links && (spec.paths.is_empty() || action != Action::Allow) {
            return Err(self.err(
                at("links"),
                "\"links\" applies to an allow decided on paths: give \"paths\" and action allow",
            ));
        }
        if spec.audit && action == Action::Allow {
            return Err(self.err(
                at("audit"),
                "an audit-only rule reports what it would deny: its action must be deny or kill",
            ));
        }
        Ok(Rule {
            name: spec.name.clone().unwrap_or_else(|| format!("rules[{i}]")),
            syscalls,
            args,
            paths,
            workload,
            action,
            audit: spec.audit,
            links: spec.links,
        })
    }

    fn arg(&self, at: &str, spec: &ArgSpec, syscalls: &[String]) -> Result<ArgCond, PolicyError> {
        let selector = match (&spec.arg, spec.index) {
            (Some(name), None) => {
                if let Some(s) = syscalls.iter().find(|s| named_arg(s, name).is_none()) {
                    return Err(self.err(
                        format!("{at}.arg"),
                        format!("{s} has no argument named {name:?}"),
                    ));
                }
                ArgSelector::Named(name.clone())
            }
            (None, Some(i)) if i <= 5 => ArgSelector::Index(i as usize),
            (None, Some(i)) => {
                return Err(self.err(format!("{at}.index"), format!("index {i} is above 5")));
            }
            _ => return Err(self.err(at, "give exactly one of \"arg\" (a name) or \"index\"")),
        };
        // The prefix is optional in policies.
        let name = format!("SCMP_CMP_{}", spec.op.trim_start_matches("SCMP_CMP_"));
        let op = CmpOp::from_scmp_name(&name)
            .ok_or_else(|| self.err(format!("{at}.op"), format!("unknown op {:?}", spec.op)))?;
        let value = number(&spec.value).ok_or_else(|| {
            self.err(
                format!("{at}.value"),
                format!("not a number: {}", show(&spec.value)),
            )
        })?;
        let value_two = match &spec.value_two {
            Some(n) => number(n).ok_or_else(|| {
                self.err(
                    format!("{at}.valueTwo"),
                    format!("not a number: {}", show(n)),
                )
            })?,
            None if op == CmpOp::MaskedEq => {
                return Err(self.err(
                    format!("{at}.valueTwo"),
                    "MASKED_EQ needs valueTwo (value is the mask)",
                ));
            }
            None => 0,
        };
        Ok(ArgCond {
            selector,
            op,
            value,
            value_two,
        })
    }

    fn globs(&self, at: &str, patterns: &[String]) -> Result<GlobSet, PolicyError> {
        let mut b = GlobSetBuilder::new();
        for (j, p) in patterns.iter().enumerate() {
            // literal_separator: `*` stays within one path component, as in a shell.
            let g = globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map_err(|e| self.err(format!("{at}[{j}]"), e.to_string()))?;
            b.add(g);
        }
        b.build().map_err(|e| self.err(at, e.to_string()))
    }

    fn glob(&self, at: &str, pattern: &Option<String>) -> Result<Option<GlobSet>, PolicyError> {
        pattern
            .as_ref()
            .map(|p| self.globs(at, std::slice::from_ref(p)))
            .transpose()
    }

    fn workload(&self, at: &str, spec: &WorkloadSpec) -> Result<WorkloadMatch, PolicyError> {
        let uids = spec
            .uid
            .iter()
            .enumerate()
            .map(|(j, n)| {
                uid_range(n).ok_or_else(|| {
                    self.err(
                        format!("{at}.uid[{j}]"),
                        format!("not a uid or range: {}", show(n)),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(WorkloadMatch {
            cgroup: self.glob(&format!("{at}.cgroup"), &spec.cgroup)?,
            container: self.glob(&format!("{at}.container"), &spec.container)?,
            comm: self.glob(&format!("{at}.comm"), &spec.comm)?,
            exe: self.glob(&format!("{at}.exe"), &spec.exe)?,
            uids,
        })
    }
}

fn show(n: &Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Text(t) => format!("{t:?}"),
    }
}

/// A number from JSON: an integer, or text in decimal (may be negative), 0o octal or 0x hex.
pub fn number(n: &Number) -> Option<u64> {
    match n {
        Number::Int(i) => Some(*i),
        Number::Text(t) => {
            let t = t.trim();
            if let Some(h) = t.strip_prefix("0x") {
                u64::from_str_radix(h, 16).ok()
            } else if let Some(o) = t.strip_prefix("0o") {
                u64::from_str_radix(o, 8).ok()
            } else if let Some(neg) = t.strip_prefix('-') {
                neg.parse::<i64>().ok().map(|v| (-v) as u64)
            } else {
                t.parse().ok()
            }
        }
    }
}

/// An errno: a positive number or a name such as "EPERM".
pub fn errno(n: &Number) -> Option<i32> {
    match n {
        Number::Int(i) => i32::try_from(*i).ok().filter(|e| (1..4096).contains(e)),
        Number::Text(t) => {
            (1..4096).find(|e| format!("{:?}", nix::errno::Errno::from_raw(*e)) == *t)
        }
    }
}

fn uid_range(n: &Number) -> Option<(u32, u32)> {
    match n {
        Number::Int(i) => u32::try_from(*i).ok().map(|u| (u, u)),
        Number::Text(t) => match t.split_once('-') {
            Some((a, b)) => {
                Some((a.trim().parse().ok()?, b.trim().parse().ok()?)).filter(|(a, b)| a <= b)
            }
            None => t.trim().parse().ok().map(|u| (u, u)),
        },
    }
}
