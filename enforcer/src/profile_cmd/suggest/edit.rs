//! Edits of the profile's JSON text, so that the suggested profile is the user's own file
//! with the fewest changes: entries appended to `syscalls`, names taken out of entries (an
//! entry left without names goes), every other field kept as it was.

use serde_json::{Value, json};
use std::collections::BTreeSet;

/// `SCMP_ACT_ALLOW` / `SCMP_ACT_LOG`: the entries --tighten may narrow.
const RUNS: [&str; 2] = ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"];

pub struct ProfileJson {
    doc: Value,
    /// Keys from the document to the profile object (`linux`, `seccomp` in an OCI config).
    root: Vec<String>,
}

/// The index of the `syscalls` entry a JSON path points into (`$.syscalls[3].names[0]`).
pub fn entry_index(json_path: &str) -> Option<usize> {
    let rest = &json_path[json_path.rfind(".syscalls[")? + ".syscalls[".len()..];
    rest[..rest.find(']')?].parse().ok()
}

impl ProfileJson {
    /// `root_path` as the loader reports it: `$` or `$.linux.seccomp`.
    pub fn new(doc: Value, root_path: &str) -> Self {
        let root = root_path
            .trim_start_matches('$')
            .split('.')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        Self { doc, root }
    }

    fn entries(&mut self) -> &mut Vec<Value> {
        let mut profile = &mut self.doc;
        for key in &self.root {
            profile = &mut profile[key.as_str()];
        }
        let syscalls = &mut profile["syscalls"];
        if !syscalls.is_array() {
            *syscalls = Value::Array(Vec::new());
        }
        syscalls.as_array_mut().expect("made an array above")
    }

    /// Takes `name` out of entry `index`.
    pub fn remove_name(&mut self, index: usize, name: &str) {
        if let Some(entry) = self.entries().get_mut(index) {
            take_names(entry, |n| n != name);
        }
    }

    /// Appends an entry allowing `names` (under `args`, when any).
    pub fn allow(&mut self, names: Vec<String>, args: Vec<Value>, comment: String) {
        let mut entry = json!({ "names": names, "action": "SCMP_ACT_ALLOW", "comment": comment });
        if !args.is_empty() {
            entry["args"] = Value::Array(args);
        }
        self.push(entry);
    }

    /// Appends `entry` as it is.
    pub fn push(&mut self, entry: Value) {
        self.entries().push(entry);
    }

    /// Takes every name not in `seen` out of the entries that let calls run; returns them.
    pub fn tighten(&mut self, seen: &BTreeSet<String>) -> BTreeSet<String> {
        let mut removed = BTreeSet::new();
        for entry in self.entries() {
            let runs = entry["action"].as_str().is_some_and(|a| RUNS.contains(&a));
            if runs {
                take_names(entry, |n| {
                    let keep = seen.contains(n);
                    if !keep {
                        removed.insert(n.to_string());
                    }
                    keep
                });
            }
        }
        removed
    }

    /// The document, without the entries that lost all their names.
    pub fn finish(mut self) -> Value {
        self.entries().retain(|e| !e.is_null());
        self.doc
    }
}

/// Keeps the names `keep` says yes to; an entry left without names becomes null (removed by
/// `finish`, so that indexes stay valid until then).
fn take_names(entry: &mut Value, mut keep: impl FnMut(&str) -> bool) {
    if let Some(names) = entry["names"].as_array_mut() {
        names.retain(|n| n.as_str().is_none_or(&mut keep));
        if names.is_empty() && entry.get("name").is_none() {
            *entry = Value::Null;
        }
    } else if let Some(name) = entry["name"].as_str()
        && !keep(name)
    {
        *entry = Value::Null;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_lose_names_keep_their_place_and_go_when_empty() {
        let doc = json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "mount"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["umount2"], "action": "SCMP_ACT_ALLOW"},
            {"name": "reboot", "action": "SCMP_ACT_ERRNO"}
        ]}}});
        let mut p = ProfileJson::new(doc, "$.linux.seccomp");
        assert_eq!(entry_index("$.linux.seccomp.syscalls[2].name"), Some(2));
        p.remove_name(2, "reboot");
        let removed = p.tighten(&["read".to_string()].into());
        p.allow(vec!["reboot".into()], vec![], "c".into());
        assert_eq!(removed, ["mount".to_string(), "umount2".to_string()].into());
        let out = p.finish();
        assert_eq!(
            out["linux"]["seccomp"]["syscalls"],
            json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "comment": "c"}])
        );
    }
}
