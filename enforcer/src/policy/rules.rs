//! The compiled policy: rules checked in order, the first deciding match wins.

use super::families::Width;
use crate::profile::CmpOp;
use globset::GlobSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    /// Fail the call with this positive errno.
    Deny(i32),
    /// Kill the workload (its whole cgroup).
    Kill,
}

/// One register condition, its register and width resolved per syscall.
#[derive(Debug, Clone)]
pub struct ArgCond {
    pub selector: ArgSelector,
    /// The profiles' own operators, with their comparison.
    pub op: CmpOp,
    pub value: u64,
    pub value_two: u64,
}

#[derive(Debug, Clone)]
pub enum ArgSelector {
    Named(String),
    Index(usize),
}

impl ArgCond {
    /// Compares the register as the kernel reads it: truncated to the argument's width, with
    /// the policy's values truncated the same way.
    pub fn matches(&self, index: usize, width: Width, args: &[u64; 6]) -> bool {
        let a = width.truncate(args[index]);
        self.op.holds(
            a,
            width.truncate(self.value),
            width.truncate(self.value_two),
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct WorkloadMatch {
    pub cgroup: Option<GlobSet>,
    pub container: Option<GlobSet>,
    pub comm: Option<GlobSet>,
    pub exe: Option<GlobSet>,
    /// Inclusive uid ranges; empty means any.
    pub uids: Vec<(u32, u32)>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub syscalls: Vec<String>,
    pub args: Vec<ArgCond>,
    pub paths: Option<GlobSet>,
    pub workload: Option<WorkloadMatch>,
    pub action: Action,
    pub audit: bool,
    /// A path-decided allow may act on a file with other names (hard links).
    pub links: bool,
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it came from, or "builtin".
    pub source: String,
    pub default: Action,
    pub rules: Vec<Rule>,
}
