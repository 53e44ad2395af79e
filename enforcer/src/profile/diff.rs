//! What changes from one resolved profile to another, in words a reviewer can approve:
//! "mount: was denied (EPERM, default), now allowed by $.syscalls[3].names[0]". Syscalls are
//! compared by what the filter does with them on the native arch (same actions under the same
//! conditions), not by where the rule sits, so moving an entry is no change.

use super::arch::Arch;
use super::effective::SyscallEffect;
use super::resolve::ResolvedProfile;
use super::words::action_words;
use std::collections::BTreeMap;
use std::fmt;

/// One change: what (a syscall, "default action", an architecture, ...) and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub subject: String,
    pub text: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.text)
    }
}

fn change(subject: impl Into<String>, text: String) -> Change {
    Change {
        subject: subject.into(),
        text,
    }
}

/// The changes from `old` to `new`, both resolved for the same host: the profile-wide ones
/// first, then per syscall by name.
pub fn diff(old: &ResolvedProfile, new: &ResolvedProfile) -> Vec<Change> {
    let native = old.arches.first().copied().unwrap_or_else(Arch::native);
    let mut out = Vec::new();
    if old.default_action != new.default_action {
        out.push(change(
            "default action",
            format!(
                "was {}, now {}",
                action_words(old.default_action),
                action_words(new.default_action)
            ),
        ));
    }
    for &arch in old.arches.iter().filter(|a| !new.arches.contains(a)) {
        let text = "was in the filter, now its calls kill the process".to_string();
        out.push(change(format!("architecture {arch}"), text));
    }
    for &arch in new.arches.iter().filter(|a| !old.arches.contains(a)) {
        let text = "was not in the filter (its calls killed the process), now in it".to_string();
        out.push(change(format!("architecture {arch}"), text));
    }
    let newer = |p: &ResolvedProfile| match p.newest_named(native) {
        Some(n) if p.enosys_for_newer() => format!("ENOSYS above number {n}"),
        _ => "the default action".to_string(),
    };
    if newer(old) != newer(new) {
        let text = format!("were {}, now {}", newer(old), newer(new));
        out.push(change("syscalls newer than the profile", text));
    }
    let field = |name: &str, a: String, b: String| {
        (a != b).then(|| change(name, format!("was {a}, now {b}")))
    };
    let flags = |p: &ResolvedProfile| {
        let names: Vec<&str> = p.flags.iter().map(|f| f.name()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let text = |v: &Option<String>| v.as_ref().map_or("none".to_string(), |s| format!("{s:?}"));
    out.extend(field("flags", flags(old), flags(new)));
    out.extend(field(
        "listenerPath",
        text(&old.listener_path),
        text(&new.listener_path),
    ));
    out.extend(field(
        "listenerMetadata",
        text(&old.listener_metadata),
        text(&new.listener_metadata),
    ));
    out.extend(syscall_changes(old.effects(native), new.effects(native)));
    out
}

fn syscall_changes(old: Vec<SyscallEffect>, new: Vec<SyscallEffect>) -> Vec<Change> {
    let new: BTreeMap<String, SyscallEffect> =
        new.into_iter().map(|e| (e.name.clone(), e)).collect();
    old.into_iter()
        .filter_map(|o| {
            let n = new.get(&o.name)?;
            (!o.same_behaviour(n)).then(|| {
                change(
                    o.name.clone(),
                    format!("was {}, now {}", o.describe(), n.describe()),
                )
            })
        })
        .collect()
}
