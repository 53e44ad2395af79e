//! Label values with a bounded number of distinct values, so that a node running many
//! containers (or a workload making odd calls) cannot grow the exposition without bound:
//!
//! - `container`: the container's name (its id when it has none), `cgroup-<id>` for a
//!   workload outside any container, `host` for cgroup 0; the first [`MAX_CONTAINERS`]
//!   distinct values keep their own label, every later one is counted under `other`. A value
//!   keeps its label for the life of the process, so counters never move between series.
//! - `syscall`: a name from the kernel's syscall tables (a few hundred per ABI), or `unknown`
//!   (a number no table knows).
//! - `errno`: an errno name (`EPERM`), or `other` for a number without one.
//! - `rule`: the policy rule or profile entry that decided (`default`, a rule's name,
//!   `profile:$.syscalls[3]`, `deadline`), `error` for every failure to decide (their reasons
//!   carry variable text), and past [`MAX_RULES`] distinct values `other`: policies are finite,
//!   but an agent may load many.

use crate::events::Workload;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Distinct container label values before `other`.
pub const MAX_CONTAINERS: usize = 64;
/// Distinct rule label values before `other`.
pub const MAX_RULES: usize = 128;
pub const OTHER: &str = "other";
pub const UNKNOWN_SYSCALL: &str = "unknown";

/// The values of one label, capped: the first `max` distinct values keep their own label.
pub struct CappedLabels {
    known: Mutex<BTreeSet<String>>,
    max: usize,
}

impl CappedLabels {
    pub fn new(max: usize) -> Self {
        Self {
            known: Mutex::default(),
            max,
        }
    }

    pub fn label(&self, value: String) -> String {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.contains(&value) {
            return value;
        }
        if known.len() < self.max {
            known.insert(value.clone());
            return value;
        }
        OTHER.to_string()
    }
}

/// A decision's rule, with the reasons of `error: ...` rules folded into `error`.
pub fn rule_label(rule: &str) -> &str {
    if rule.starts_with("error") {
        "error"
    } else {
        rule
    }
}

/// What a workload is called in metrics (before the cap).
pub fn workload_label(workload: &Workload) -> String {
    match &workload.container {
        Some(c) if !c.name.is_empty() => c.name.clone(),
        Some(c) if !c.id.is_empty() => c.id.chars().take(12).collect(),
        _ if workload.cgroup_id == 0 => "host".to_string(),
        _ => format!("cgroup-{}", workload.cgroup_id),
    }
}

/// A syscall name as the events give it: they name calls from the syscall tables, and write
/// `syscall_<nr>` (decisions) or null (observed calls) for numbers no table knows.
pub fn syscall_label(name: Option<&str>) -> &str {
    match name {
        Some(n) if !n.starts_with("syscall_") && !n.is_empty() => n,
        _ => UNKNOWN_SYSCALL,
    }
}

/// An errno as the events name it ("EPERM"); numbers without a name are `other`.
pub fn errno_label(errno: &str) -> &str {
    if errno.starts_with('E')
        && errno
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        errno
    } else {
        OTHER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Container;

    fn container(name: &str) -> Workload {
        Workload {
            cgroup_id: 9,
            container: Some(Container {
                id: format!("{name}-id"),
                name: name.into(),
                ..Container::default()
            }),
        }
    }

    #[test]
    fn containers_past_the_cap_share_one_label_and_earlier_ones_keep_theirs() {
        let labels = CappedLabels::new(MAX_CONTAINERS);
        let label = |name: &str| labels.label(workload_label(&container(name)));
        for i in 0..MAX_CONTAINERS {
            assert_eq!(label(&format!("c{i}")), format!("c{i}"));
        }
        assert_eq!(label("late"), OTHER);
        assert_eq!(label("c3"), "c3");
        let bare = Workload {
            cgroup_id: 42,
            container: None,
        };
        assert_eq!(workload_label(&bare), "cgroup-42");
        assert_eq!(workload_label(&Workload::default()), "host");
    }

    #[test]
    fn unknown_syscalls_and_errno_numbers_fold() {
        assert_eq!(syscall_label(Some("chmod")), "chmod");
        assert_eq!(syscall_label(Some("syscall_9999")), UNKNOWN_SYSCALL);
        assert_eq!(syscall_label(None), UNKNOWN_SYSCALL);
        assert_eq!(errno_label("EPERM"), "EPERM");
        assert_eq!(errno_label("4000"), OTHER);
        assert_eq!(rule_label("error: cannot read pid 7's memory"), "error");
        assert_eq!(rule_label("profile:$.syscalls[3]"), "profile:$.syscalls[3]");
    }
}
