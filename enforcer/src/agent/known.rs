//! The containers the agent serves, by id, while any of their listeners is attached: what
//! one connection knows (bundle, pid, cgroup) completes another of the same container that
//! does not. crun 1.8's exec connection sends neither a pid nor a bundle; its container's
//! first connection did.
//!
//! Ids are unique per runtime state directory; two runtimes with different `--root`s could
//! reuse one, in which case the first container's bundle and cgroup would be lent to the
//! other's exec: only ever to a connection that knows none of its own.

use super::identity::CgroupOf;
use crate::events::Container;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Known {
    by_id: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    bundle: Option<String>,
    pid: Option<u32>,
    cgroup: Option<CgroupOf>,
    listeners: usize,
}

/// One attached listener of a container; dropping it forgets the container with its last.
pub struct Registration {
    known: Arc<Known>,
    id: String,
}

impl Known {
    /// Fills what `container` and `cgroup` lack from earlier connections of the same id and
    /// records what they know for later ones.
    pub fn register(
        self: &Arc<Self>,
        container: &mut Container,
        cgroup: &mut Option<CgroupOf>,
    ) -> Registration {
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let entry = by_id.entry(container.id.clone()).or_insert(Entry {
            bundle: None,
            pid: None,
            cgroup: None,
            listeners: 0,
        });
        fill(&mut container.bundle, &mut entry.bundle);
        fill(&mut container.pid, &mut entry.pid);
        fill(cgroup, &mut entry.cgroup);
        entry.listeners += 1;
        Registration {
            known: self.clone(),
            id: container.id.clone(),
        }
    }
}

/// Completes `mine` from `known`, or `known` from `mine`.
fn fill<T: Clone>(mine: &mut Option<T>, known: &mut Option<T>) {
    match (mine.as_ref(), known.as_ref()) {
        (None, Some(k)) => *mine = Some(k.clone()),
        (Some(m), None) => *known = Some(m.clone()),
        _ => {}
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut by_id = self.known.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = by_id.get_mut(&self.id) {
            entry.listeners -= 1;
            if entry.listeners == 0 {
                by_id.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(bundle: Option<&str>, pid: Option<u32>) -> Container {
        Container {
            id: "c1".into(),
            name: "c1".into(),
            bundle: bundle.map(str::to_owned),
            pid,
            ..Default::default()
        }
    }

    #[test]
    fn an_exec_without_pid_or_bundle_borrows_its_containers() {
        let known = Arc::new(Known::default());
        let cgroup = CgroupOf {
            path: "/sys/fs/cgroup/c1".into(),
            id: 42,
        };
        let mut first = container(Some("/b"), Some(7));
        let first_reg = known.register(&mut first, &mut Some(cgroup));
        let mut exec = container(None, None);
        let mut exec_cgroup = None;
        let exec_reg = known.register(&mut exec, &mut exec_cgroup);
        assert_eq!((exec.bundle.as_deref(), exec.pid), (Some("/b"), Some(7)));
        assert_eq!(exec_cgroup.map(|c| c.id), Some(42));
        drop(first_reg);
        drop(exec_reg);
        // Forgotten with its last listener.
        let mut later = container(None, None);
        let _reg = known.register(&mut later, &mut None);
        assert_eq!((later.bundle, later.pid), (None, None));
    }
}
