//! The names container engines show (`docker ps`, `podman ps`), read from the engines' own
//! stores, since neither Docker nor Podman puts the name in the OCI config or state:
//!
//! | engine | where the name is |
//! | --- | --- |
//! | Docker | `<data root>/containers/<id>/config.v2.json`, `"Name": "/web"` |
//! | Podman, CRI-O, Buildah (containers/storage) | `<graph root>/<driver>-containers/containers.json`, `"names"` of the entry with that id |
//!
//! Podman's bundle is `<graph root>/<driver>-containers/<id>/userdata`, so the agent finds
//! that file from the state alone; otherwise the roots searched are the `--engine-root`
//! directories, then `/var/lib/docker` and `/var/lib/containers/storage`. containerd has
//! no names but its ids (`ctr run ... ID`), which events show as they are; Kubernetes names
//! come from the OCI annotations (agent/identity.rs).
//!
//! The files are written by the engine's daemon or CLI as root, outside every container, so
//! a workload cannot forge its name; a name is still taken only if it looks like one
//! (the engines' own rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 253 bytes), and files
//! larger than 16 MiB are not read.

use crate::events::Container;
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Roots searched after the `--engine-root` ones.
pub const DEFAULT_ROOTS: [&str; 2] = ["/var/lib/docker", "/var/lib/containers/storage"];
const MAX_FILE: u64 = 16 << 20;
const MAX_NAME: usize = 253;

/// Where to look for names.
#[derive(Debug, Clone)]
pub struct EngineNames {
    roots: Vec<PathBuf>,
}

impl EngineNames {
    /// `extra` (the `--engine-root` directories) first, then DEFAULT_ROOTS.
    pub fn new(extra: &[PathBuf]) -> Self {
        let roots = extra
            .iter()
            .cloned()
            .chain(DEFAULT_ROOTS.iter().map(PathBuf::from))
            .collect();
        Self { roots }
    }

    /// `c` named as its engine shows it, unless it has a name other than its id already
    /// (a Kubernetes container name).
    pub fn named(&self, mut c: Container) -> Container {
        if (c.name.is_empty() || c.name == c.id)
            && let Some(name) = self.name_of(&c.id, c.bundle.as_deref().map(Path::new))
        {
            c.name = name;
        }
        c
    }

    /// The name the engine shows for container `id`, whose OCI bundle may be known.
    pub fn name_of(&self, id: &str, bundle: Option<&Path>) -> Option<String> {
        if !is_safe_id(id) {
            return None;
        }
        if let Some(name) = bundle.and_then(|b| from_storage_bundle(b, id)) {
            return Some(name);
        }
        self.roots
            .iter()
            .find_map(|r| docker_name(r, id).or_else(|| storage_name(r, id)))
    }
}

/// An id that is one path component (containers of every engine have such ids).
fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// A name as the engines allow them; Docker's leading '/' dropped.
fn checked_name(raw: &str) -> Option<String> {
    let name = raw.strip_prefix('/').unwrap_or(raw);
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    ok.then(|| name.to_owned())
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_FILE).then_some(bytes)
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(rename = "Name")]
    name: String,
}

fn docker_name(root: &Path, id: &str) -> Option<String> {
    let bytes = read_small(&root.join("containers").join(id).join("config.v2.json"))?;
    let config: DockerConfig = serde_json::from_slice(&bytes).ok()?;
    checked_name(&config.name)
}

#[derive(Deserialize)]
struct StorageContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
}

/// The first name of `id` in a containers/storage `containers.json`.
fn name_in_containers_json(path: &Path, id: &str) -> Option<String> {
    let bytes = read_small(path)?;
    let entries: Vec<StorageContainer> = serde_json::from_slice(&bytes).ok()?;
    entries
        .into_iter()
        .find(|e| e.id == id)
        .and_then(|e| e.names.first().and_then(|n| checked_name(n)))
}

/// `<root>/<driver>-containers/containers.json` for each driver directory of the root.
fn storage_name(root: &Path, id: &str) -> Option<String> {
    std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("-containers"))
        .find_map(|e| name_in_containers_json(&e.path().join("containers.json"), id))
}

/// A bundle `<root>/<driver>-containers/<id>/userdata` (Podman's) names its store.
fn from_storage_bundle(bundle: &Path, id: &str) -> Option<String> {
    let container_dir = bundle
        .file_name()
        .is_some_and(|n| n == "userdata")
        .then(|| bundle.parent())??;
    if container_dir.file_name()? != id {
        return None;
    }
    let driver_dir = container_dir.parent()?;
    if !driver_dir
        .file_name()?
        .to_string_lossy()
        .ends_with("-containers")
    {
        return None;
    }
    name_in_containers_json(&driver_dir.join("containers.json"), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "83d979f8fbd5703b2d6359b0480a81d22b5b803ea37f1e99a2577b6da0219d29";

    fn storage(dir: &Path, names: &str) -> PathBuf {
        let store = dir.join("overlay-containers");
        std::fs::create_dir_all(store.join(ID).join("userdata")).unwrap();
        std::fs::write(
            store.join("containers.json"),
            format!(
                r#"[{{"id":"other","names":["x"]}},{{"id":"{ID}","names":{names},"image":"i"}}]"#
            ),
        )
        .unwrap();
        store.join(ID).join("userdata")
    }

    #[test]
    fn docker_name_from_the_data_root() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("containers").join(ID);
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(
            c.join("config.v2.json"),
            r#"{"ID":"x","Name":"/web-1","State":{}}"#,
        )
        .unwrap();
        let names = EngineNames::new(&[dir.path().to_owned()]);
        assert_eq!(names.name_of(ID, None).as_deref(), Some("web-1"));
        assert_eq!(names.name_of("unknown", None), None);
    }

    #[test]
    fn podman_name_from_the_bundle_or_the_graph_root() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = storage(dir.path(), r#"["web"]"#);
        let none = EngineNames::new(&[]);
        assert_eq!(none.name_of(ID, Some(&bundle)).as_deref(), Some("web"));
        let rooted = EngineNames::new(&[dir.path().to_owned()]);
        assert_eq!(rooted.name_of(ID, None).as_deref(), Some("web"));
        // A bundle that is not <id>/userdata of a store says nothing.
        assert_eq!(none.name_of(ID, Some(dir.path())), None);
    }

    #[test]
    fn odd_names_and_ids_are_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = storage(dir.path(), r#"["we b\n"]"#);
        assert_eq!(EngineNames::new(&[]).name_of(ID, Some(&bundle)), None);
        assert_eq!(
            EngineNames::new(&[dir.path().to_owned()]).name_of("..", None),
            None
        );
        assert_eq!(checked_name(&"a".repeat(254)), None);
        assert_eq!(checked_name("/db.1_x-y").as_deref(), Some("db.1_x-y"));
    }
}
