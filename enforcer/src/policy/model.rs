//! The policy file as written (JSON, in the style of the seccomp profiles it pairs with).
//!
//! ```json
//! {
//!   "defaultAction": "deny", "defaultErrno": "EPERM",
//!   "rules": [
//!     { "name": "safe-chmod-in-data", "syscalls": ["@chmod"],
//!       "args": [{ "arg": "mode", "op": "SCMP_CMP_MASKED_EQ", "value": "0o6002", "valueTwo": 0 }],
//!       "paths": ["/data/**"], "action": "allow" },
//!     { "name": "canary", "syscalls": ["mount"], "action": "deny", "audit": true }
//!   ]
//! }
//! ```

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyFile {
    /// Optional format version; only 1 exists.
    #[serde(default)]
    pub version: Option<u32>,
    /// What happens to a notified call no rule decides: "deny" (default) or "kill".
    #[serde(default)]
    pub default_action: Option<String>,
    /// Errno of a default deny: a name ("EPERM") or a number; default EPERM.
    #[serde(default)]
    pub default_errno: Option<Number>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    /// Names the rule in decision events; default "rules[N]".
    #[serde(default)]
    pub name: Option<String>,
    /// Syscall names, or alias families written "@chmod", "@open", ...
    pub syscalls: Vec<String>,
    /// Register conditions, ANDed.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// Globs over the absolute path after resolution in the workload's root; any may match.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Who made the call; every field given must match.
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    /// "allow", "deny" or "kill".
    pub action: String,
    /// Errno for "deny": a name or a number; default EPERM.
    #[serde(default)]
    pub errno: Option<Number>,
    /// Audit only: a match is logged as would-deny and evaluation goes on.
    #[serde(default)]
    pub audit: bool,
    /// A path rule's allow also holds for a file with several hard links (by default it is
    /// denied: the other names may be outside `paths`).
    #[serde(default)]
    pub links: bool,
    /// For the reader of the file; not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArgSpec {
    /// A named argument of the syscall's family ("mode", "flags", "fd", "dirfd")...
    #[serde(default)]
    pub arg: Option<String>,
    /// ...or a register index 0..=5.
    #[serde(default)]
    pub index: Option<u32>,
    /// SCMP_CMP_EQ, NE, LT, LE, GT, GE, MASKED_EQ (the "SCMP_CMP_" prefix is optional).
    pub op: String,
    pub value: Number,
    /// The compared value for MASKED_EQ (value is the mask), as in seccomp profiles.
    #[serde(default)]
    pub value_two: Option<Number>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Glob over the cgroup path (relative to the cgroup v2 root, starting with '/').
    #[serde(default)]
    pub cgroup: Option<String>,
    /// Glob over the container name (agent mode).
    #[serde(default)]
    pub container: Option<String>,
    /// Glob over /proc/PID/comm.
    #[serde(default)]
    pub comm: Option<String>,
    /// Glob over the executable's path.
    #[serde(default)]
    pub exe: Option<String>,
    /// Real uid is one of these ("1000" or a range "1000-1999").
    #[serde(default)]
    pub uid: Vec<Number>,
}

/// A number, or text: a decimal, "0o..", "0x.." or an errno name / uid range.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(u64),
    Text(String),
}
