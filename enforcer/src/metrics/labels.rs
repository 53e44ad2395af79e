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

use crate::events::Workload;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Distinct container label values before `other`.
pub const MAX_CONTAINERS: usize = 64;
pub const OTHER: &str = "other";
pub const UNKNOWN_SYSCALL: &str = "unknown";

/// The container label of each workload, capped.
#[derive(Default)]
pub struct ContainerLabels {
    known: Mutex<BTreeSet<String>>,
}

impl ContainerLabels {
    pub fn label(&self, workload: &Workload) -> String {
        let value = workload_label(workload);
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.contains(&value) {
            return value;
        }
        if known.len() < MAX_CONTAINERS {
            known.insert(value.clone());
            return value;
        }
        OTHER.to_string()
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
        let labels = ContainerLabels::default();
        for i in 0..MAX_CONTAINERS {
            assert_eq!(labels.label(&container(&format!("c{i}"))), format!("c{i}"));
        }
        assert_eq!(labels.label(&container("late")), OTHER);
        assert_eq!(labels.label(&container("c3")), "c3");
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
    }
}
