//! Evaluating the policy for one notified call. Facts that cost something to get (who the
//! caller is, which file its path names) are asked for only when a rule needs them, and a
//! fact that cannot be had makes the call denied (fail closed).

use super::families::{named_arg, width_of};
use super::rules::{Action, ArgCond, ArgSelector, Policy, Rule, WorkloadMatch};

/// Who made the call.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// cgroup path relative to the v2 root, starting with '/'.
    pub cgroup: String,
    pub container: Option<String>,
    pub comm: String,
    pub exe: String,
    pub uid: u32,
}

/// Why a fact about a call could not be had; `errno` is what the call gets then (the errno
/// the kernel would have returned, e.g. ENOENT for a path that does not resolve).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why}")]
pub struct FactError {
    pub errno: i32,
    pub why: String,
}

impl FactError {
    pub fn new(errno: i32, why: impl Into<String>) -> Self {
        Self {
            errno,
            why: why.into(),
        }
    }
}

/// Supplies the facts about a call on demand.
pub trait Facts {
    fn identity(&mut self) -> Result<&Identity, FactError>;
    /// The absolute path the call's path argument resolves to in the workload's root.
    fn path(&mut self) -> Result<&str, FactError>;
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The deciding rule, `default`, or `error: ...` when a fact could not be had.
    pub rule: String,
    /// Audit-only rules that matched on the way: each is a would-deny.
    pub audit: Vec<(String, Action)>,
    /// Whether the path was consulted: then an allow depends on memory and must be carried
    /// out by the supervisor, never continued (DESIGN safety rule 2).
    pub used_path: bool,
}

impl Policy {
    pub fn decide(&self, syscall: &str, args: &[u64; 6], facts: &mut dyn Facts) -> Decision {
        let mut audit = Vec::new();
        let mut used_path = false;
        for rule in &self.rules {
            match rule.matches(syscall, args, facts, &mut used_path) {
                Ok(false) => {}
                Ok(true) if rule.audit => audit.push((rule.name.clone(), rule.action)),
                Ok(true) => {
                    return Decision {
                        action: rule.action,
                        rule: rule.name.clone(),
                        audit,
                        used_path,
                    };
                }
                Err(e) => {
                    return Decision {
                        action: Action::Deny(e.errno),
                        rule: format!("error: {}", e.why),
                        audit,
                        used_path,
                    };
                }
            }
        }
        Decision {
            action: self.default,
            rule: "default".into(),
            audit,
            used_path,
        }
    }
}

impl Rule {
    /// Cheap checks first (syscall, registers), then identity, then the path.
    fn matches(
        &self,
        syscall: &str,
        args: &[u64; 6],
        facts: &mut dyn Facts,
        used_path: &mut bool,
    ) -> Result<bool, FactError> {
        if !self.syscalls.iter().any(|s| s == syscall)
            || !self.args.iter().all(|c| cond_matches(c, syscall, args))
        {
            return Ok(false);
        }
        if let Some(w) = &self.workload
            && !w.matches(facts.identity()?)
        {
            return Ok(false);
        }
        if let Some(paths) = &self.paths {
            *used_path = true;
            return Ok(paths.is_match(facts.path()?));
        }
        Ok(true)
    }
}

fn cond_matches(c: &ArgCond, syscall: &str, args: &[u64; 6]) -> bool {
    let (index, width) = match &c.selector {
        ArgSelector::Index(i) => (*i, width_of(syscall, *i)),
        // Validation made sure every syscall of the rule has the name.
        ArgSelector::Named(n) => match named_arg(syscall, n) {
            Some(iw) => iw,
            None => return false,
        },
    };
    c.matches(index, width, args)
}

impl WorkloadMatch {
    fn matches(&self, id: &Identity) -> bool {
        let glob = |g: &Option<globset::GlobSet>, v: Option<&str>| {
            g.as_ref().is_none_or(|g| v.is_some_and(|v| g.is_match(v)))
        };
        glob(&self.cgroup, Some(&id.cgroup))
            && glob(&self.container, id.container.as_deref())
            && glob(&self.comm, Some(&id.comm))
            && glob(&self.exe, Some(&id.exe))
            && (self.uids.is_empty() || self.uids.iter().any(|(a, b)| (*a..=*b).contains(&id.uid)))
    }
}
