//! Which container a cgroup belongs to, from its path in the cgroup v2 hierarchy. Runtimes
//! name the cgroup after the container id:
//!
//! | runtime | path (relative to the v2 root) |
//! | --- | --- |
//! | runc, crun (cgroupfs driver) | `/<id>` |
//! | Docker, systemd driver | `/system.slice/docker-<id>.scope` |
//! | Docker, cgroupfs driver | `/docker/<id>` |
//! | containerd (CRI) | `.../cri-containerd-<id>.scope` |
//! | CRI-O | `.../crio-<id>.scope` |
//! | Podman | `.../libpod-<id>.scope` |
//! | Kubernetes | `kubepods[-<qos>]-pod<uid>.slice` or `/kubepods/<qos>/pod<uid>/` as a parent |
//!
//! On hybrid hosts the v2 hierarchy is mounted at /sys/fs/cgroup/unified and on pure v2 hosts
//! at /sys/fs/cgroup; paths are taken relative to that mount, so both read alike.

use crate::events::Container;
use std::path::Path;

/// systemd unit suffixes: a top-level component with one of them is not a runc container.
const UNIT_SUFFIXES: [&str; 5] = [".slice", ".scope", ".service", ".mount", ".socket"];

/// Scope prefixes of runtimes that use systemd's cgroup driver.
const SCOPE_PREFIXES: [&str; 4] = ["docker-", "cri-containerd-", "crio-", "libpod-"];

/// The container of the cgroup at `path` (relative to the v2 root, with or without a leading
/// '/'), if the path says one. `own_parent` is a top-level directory that is not a container
/// (the enforcer's own `enforcer`).
pub fn identify(path: &str, own_parent: &str) -> Option<Container> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let pod = parts.iter().find_map(|p| pod_uid(p));
    let id = parts
        .iter()
        .rev()
        .find_map(|p| scope_id(p))
        .or_else(|| cgroupfs_id(&parts, own_parent))?;
    Some(Container {
        name: id.clone(),
        id,
        pod,
        namespace: None,
        ..Default::default()
    })
}

/// Like [`identify`], for an absolute path under the v2 mount `root`.
pub fn identify_under(root: &Path, path: &Path, own_parent: &str) -> Option<Container> {
    let relative = path.strip_prefix(root).ok()?;
    identify(&relative.to_string_lossy(), own_parent)
}

/// `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`.
fn scope_id(part: &str) -> Option<String> {
    let stem = part.strip_suffix(".scope")?;
    // crio-conmon-<id>.scope is the monitor process, not the container.
    if stem.starts_with("crio-conmon-") || stem.starts_with("libpod-conmon-") {
        return None;
    }
    SCOPE_PREFIXES
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .filter(|id| is_id(id))
        .map(str::to_owned)
}

/// cgroupfs layouts: `/docker/<id>`, `/kubepods/<qos>/pod<uid>/<id>`, and runc's `/<id>`.
fn cgroupfs_id(parts: &[&str], own_parent: &str) -> Option<String> {
    let last = *parts.last()?;
    if UNIT_SUFFIXES.iter().any(|s| last.ends_with(s)) || !is_id(last) {
        return None;
    }
    let parent = parts.len().checked_sub(2).map(|i| parts[i]);
    let known_parent = matches!(parent, Some("docker" | "libpod_parent" | "crio"))
        || parent.is_some_and(|p| pod_uid(p).is_some());
    if known_parent {
        return Some(last.to_owned());
    }
    // runc's default: the container's own cgroup directly under the root.
    (parts.len() == 1 && last != own_parent && !is_system_name(last)).then(|| last.to_owned())
}

/// `kubepods-burstable-pod<uid>.slice` (systemd driver, '-' of the uid written '_') or
/// `pod<uid>` (cgroupfs driver).
fn pod_uid(part: &str) -> Option<String> {
    let stem = part.strip_suffix(".slice").unwrap_or(part);
    let at = stem.rfind("pod")?;
    let before = &stem[..at];
    if !(before.is_empty() || before.starts_with("kubepods") && before.ends_with('-')) {
        return None;
    }
    let uid = stem[at + 3..].replace('_', "-");
    let hex_groups: Vec<&str> = uid.split('-').collect();
    let is_uid = hex_groups.len() == 5
        && hex_groups
            .iter()
            .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_hexdigit()));
    is_uid.then_some(uid)
}

/// Container ids as runtimes make them (Docker, containerd and CRI-O: 64 hex digits; runc
/// takes any name of letters, digits, '-', '_', '.').
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Top-level directories hosts have that are not containers.
fn is_system_name(s: &str) -> bool {
    matches!(
        s,
        "kubepods" | "docker" | "libpod_parent" | "crio" | "machine" | "user"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4c3c7a5f2bd3e1d0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6";
    const UID: &str = "0e5d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c";

    fn id_of(path: &str) -> Option<String> {
        identify(path, "enforcer").map(|c| c.id)
    }

    #[test]
    fn runc_container_directly_under_the_root() {
        assert_eq!(id_of("/mycontainer").as_deref(), Some("mycontainer"));
        assert_eq!(id_of("mycontainer").as_deref(), Some("mycontainer"));
        assert_eq!(id_of("/system.slice"), None);
        assert_eq!(id_of("/init.scope"), None);
        assert_eq!(id_of("/enforcer"), None);
        assert_eq!(id_of("/"), None);
    }

    #[test]
    fn docker_systemd_and_cgroupfs_drivers() {
        let c = identify(&format!("/system.slice/docker-{ID}.scope"), "enforcer").unwrap();
        assert_eq!((c.id.as_str(), c.name.as_str(), c.pod), (ID, ID, None));
        assert_eq!(id_of(&format!("/docker/{ID}")).as_deref(), Some(ID));
        assert_eq!(id_of("/system.slice/docker.service"), None);
    }

    #[test]
    fn containerd_crio_and_podman_scopes() {
        assert_eq!(
            id_of(&format!("/system.slice/cri-containerd-{ID}.scope")).as_deref(),
            Some(ID)
        );
        assert_eq!(
            id_of(&format!("/machine.slice/crio-{ID}.scope")).as_deref(),
            Some(ID)
        );
        assert_eq!(
            id_of(&format!("/machine.slice/crio-conmon-{ID}.scope")),
            None
        );
        assert_eq!(
            id_of(&format!("/machine.slice/libpod-{ID}.scope")).as_deref(),
            Some(ID)
        );
    }

    #[test]
    fn kubernetes_pods_with_systemd_and_cgroupfs_drivers() {
        let underscored = UID.replace('-', "_");
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{underscored}.slice/cri-containerd-{ID}.scope"
        );
        let c = identify(&systemd, "enforcer").unwrap();
        assert_eq!((c.id.as_str(), c.pod.as_deref()), (ID, Some(UID)));
        let guaranteed = format!("/kubepods.slice/kubepods-pod{underscored}.slice/crio-{ID}.scope");
        let c = identify(&guaranteed, "enforcer").unwrap();
        assert_eq!((c.id.as_str(), c.pod.as_deref()), (ID, Some(UID)));
        let cgroupfs = format!("/kubepods/besteffort/pod{UID}/{ID}");
        let c = identify(&cgroupfs, "enforcer").unwrap();
        assert_eq!((c.id.as_str(), c.pod.as_deref()), (ID, Some(UID)));
        // The pod's own cgroup is not a container.
        assert_eq!(id_of(&format!("/kubepods/besteffort/pod{UID}")), None);
    }

    #[test]
    fn hybrid_and_pure_v2_mounts_read_alike() {
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            let path = Path::new(root).join(format!("system.slice/docker-{ID}.scope"));
            let c = identify_under(Path::new(root), &path, "enforcer").unwrap();
            assert_eq!(c.id, ID);
        }
    }
}
