//! Who a connection is about: the container named in the state (id, bundle, pid, and the
//! Kubernetes names the CRI runtimes put in its annotations), and its cgroup v2 id, which is
//! the key the eBPF observer counts under.

use super::state::ContainerProcessState;
use crate::engine_names::EngineNames;
use crate::events::Container;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Annotation keys, containerd's CRI plugin first, then CRI-O's.
const NAME_KEYS: [&str; 2] = [
    "io.kubernetes.cri.container-name",
    "io.kubernetes.container.name",
];
const POD_KEYS: [&str; 2] = ["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"];
const NAMESPACE_KEYS: [&str; 2] = [
    "io.kubernetes.cri.sandbox-namespace",
    "io.kubernetes.pod.namespace",
];

#[derive(Debug, thiserror::Error)]
pub enum CgroupLookupError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: no cgroup v2 entry (0::)")]
    NoV2Entry(String),
    #[error(
        "{file}: cgroup {path:?} is outside the agent's cgroup namespace (run the agent in the host's)"
    )]
    OtherNamespace { file: String, path: String },
    #[error("{0}")]
    NoV2Mount(#[from] crate::cgroup::CgroupError),
    #[error("the state names no process")]
    NoPid,
}

/// The container as events name it. Its name is the Kubernetes container name when the
/// annotations give one, else the name its engine shows (Podman's, from the store its
/// bundle is in; Docker's, from a data root), else the id.
pub fn container(state: &ContainerProcessState, names: &EngineNames) -> Container {
    let s = &state.state;
    let find = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| s.annotations.get(*k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    names.named(Container {
        id: s.id.clone(),
        name: find(&NAME_KEYS).unwrap_or_else(|| s.id.clone()),
        pod: find(&POD_KEYS),
        namespace: find(&NAMESPACE_KEYS),
        bundle: state.bundle().map(str::to_owned),
        pid: state.container_pid(),
    })
}

/// A process's cgroup v2: its directory and id (the directory's inode).
#[derive(Debug, Clone)]
pub struct CgroupOf {
    pub path: PathBuf,
    pub id: u64,
}

/// The cgroup of the first of `pids` that can be read: the container's own process first
/// (alive as long as the container), then the process the filter belongs to.
pub fn cgroup(pids: &[u32]) -> Result<CgroupOf, CgroupLookupError> {
    let mut last = None;
    for pid in pids {
        match cgroup_of_pid(*pid) {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(CgroupLookupError::NoPid))
}

fn cgroup_of_pid(pid: u32) -> Result<CgroupOf, CgroupLookupError> {
    let file = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&file).map_err(|source| CgroupLookupError::Read {
        path: file.clone(),
        source,
    })?;
    let relative = v2_path(&text).ok_or_else(|| CgroupLookupError::NoV2Entry(file.clone()))?;
    // In a cgroup namespace of its own the agent sees other cgroups as "/../..": not
    // resolvable from here.
    if relative.split('/').any(|c| c == "..") {
        return Err(CgroupLookupError::OtherNamespace {
            file,
            path: relative.to_owned(),
        });
    }
    let path = crate::cgroup::v2_root()?.join(relative.trim_start_matches('/'));
    let id = std::fs::metadata(&path)
        .map_err(|source| CgroupLookupError::Read {
            path: path.display().to_string(),
            source,
        })?
        .ino();
    Ok(CgroupOf { path, id })
}

/// The path of the `0::` line of a /proc/PID/cgroup text.
fn v2_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container_of(state: &ContainerProcessState) -> Container {
        container(state, &EngineNames::new(&[]))
    }

    fn state_with(annotations: &str) -> ContainerProcessState {
        let text = format!(
            r#"{{"ociVersion":"1","fds":[],"pid":10,"state":{{"ociVersion":"1","id":"c1",
            "status":"creating","pid":9,"bundle":"/b","annotations":{annotations}}}}}"#
        );
        ContainerProcessState::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn names_from_containerd_and_crio_annotations() {
        let c = container_of(&state_with(
            r#"{"io.kubernetes.cri.container-name":"web","io.kubernetes.cri.sandbox-name":"web-7d9",
                "io.kubernetes.cri.sandbox-namespace":"shop"}"#,
        ));
        assert_eq!(
            (
                c.id.as_str(),
                c.name.as_str(),
                c.pod.as_deref(),
                c.namespace.as_deref()
            ),
            ("c1", "web", Some("web-7d9"), Some("shop"))
        );
        assert_eq!((c.bundle.as_deref(), c.pid), (Some("/b"), Some(9)));
        let c = container_of(&state_with(
            r#"{"io.kubernetes.container.name":"db","io.kubernetes.pod.name":"db-0",
                "io.kubernetes.pod.namespace":"data"}"#,
        ));
        assert_eq!(
            (c.name.as_str(), c.pod.as_deref(), c.namespace.as_deref()),
            ("db", Some("db-0"), Some("data"))
        );
        let c = container_of(&state_with("{}"));
        assert_eq!((c.name.as_str(), c.pod, c.namespace), ("c1", None, None));
    }

    #[test]
    fn v2_line() {
        let hybrid = "9:name=systemd:/c1\n1:cpu:/c1\n0::/c1\n";
        assert_eq!(v2_path(hybrid), Some("/c1"));
        assert_eq!(v2_path("4:memory:/x\n"), None);
    }

    #[test]
    fn own_cgroup_resolves() {
        let own = cgroup(&[std::process::id()]).unwrap();
        assert!(own.path.is_dir() && own.id > 0, "{own:?}");
    }
}
