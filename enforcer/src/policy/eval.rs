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

/// The file a call acts on, as the supervisor resolved it.
#[derive(Debug, Clone, Copy)]
pub struct FileFact<'a> {
    /// Its absolute path in the workload's root (for mkdir: the directory to be created).
    pub path: &'a str,
    /// A non-directory with more than one link: it has other names, which path rules may
    /// not have been written for (a hard link into an allowed directory).
    pub other_names: bool,
}

/// Supplies the facts about a call on demand.
pub trait Facts {
    fn identity(&mut self) -> Result<&Identity, FactError>;
    /// The file the call's path argument resolves to in the workload's root.
    fn file(&mut self) -> Result<FileFact<'_>, FactError>;
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
    /// Whether deciding `syscall` may ask who the caller is: some rule for it, matching its
    /// registers, names a workload. Lets the supervisor fetch the identity up front, on the
    /// thread that may read /proc, only when it can matter.
    pub fn may_need_identity(&self, syscall: &str, args: &[u64; 6]) -> bool {
        self.rules.iter().any(|r| {
            r.workload.is_some()
                && r.syscalls.iter().any(|s| s == syscall)
                && r.args.iter().all(|c| cond_matches(c, syscall, args))
        })
    }

    /// Whether deciding `syscall` may ask for the file its path names: some rule for it,
    /// matching its registers, has paths.
    pub fn may_need_path(&self, syscall: &str, args: &[u64; 6]) -> bool {
        self.rules.iter().any(|r| {
            r.paths.is_some()
                && r.syscalls.iter().any(|s| s == syscall)
                && r.args.iter().all(|c| cond_matches(c, syscall, args))
        })
    }

    /// The syscalls the rules name that the supervisor carries out itself: a profile must
    /// notify them for the rules to apply.
    pub fn emulated_syscalls(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in self.rules.iter().flat_map(|r| &r.syscalls) {
            if super::EMULATED.contains(&s.as_str()) && !out.contains(&s.as_str()) {
                out.push(s);
            }
        }
        out
    }

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
            let file = facts.file()?;
            if !paths.is_match(file.path) {
                // A refusing rule can miss a file by this name and still cover it by another
                // (`ln denied/f allowed/l` against a deny on `denied/**`): fail closed.
                if self.action != Action::Allow && file.other_names && !self.links {
                    return Err(FactError::new(
                        libc::EPERM,
                        format!(
                            "{} has other names (hard links) that rule {} may cover",
                            file.path, self.name
                        ),
                    ));
                }
                return Ok(false);
            }
            // The name matched, but the file has others: an allow on one name would act on
            // every name of the inode (`ln denied/f allowed/l`). Deny unless the rule says so.
            if self.action == Action::Allow && file.other_names && !self.links {
                return Err(FactError::new(
                    libc::EPERM,
                    format!(
                        "{} has other names (hard links) and rule {} does not allow links",
                        file.path, self.name
                    ),
                ));
            }
            return Ok(true);
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
