//! Actions and effects in words a reviewer reads without the seccomp manual: "denied (EPERM,
//! default)", "allowed by $.syscalls[3].names[0]", "allowed when arg0 == 8; otherwise ...".

use super::effective::{Branch, Origin, SyscallEffect};
use super::types::Action;

/// The errno's name ("EPERM"), or its number when it has none.
pub fn errno_name(errno: u32) -> String {
    i32::try_from(errno)
        .ok()
        .and_then(|e| syscalls::Errno::new(e).name())
        .map_or_else(|| errno.to_string(), str::to_string)
}

/// What the action does, and a detail for the parentheses.
fn verb(action: Action) -> (&'static str, Option<String>) {
    match action {
        Action::Allow => ("allowed", None),
        Action::Log => ("allowed and logged", None),
        Action::Errno(e) => ("denied", Some(errno_name(e))),
        Action::KillProcess => ("kills the process", None),
        Action::KillThread => ("kills the thread", None),
        Action::Trap => ("trapped", Some("SIGSYS".to_string())),
        Action::Trace(m) => ("handed to the tracer", Some(format!("message {m}"))),
        Action::Notify => ("sent to the supervisor", None),
    }
}

/// "denied (EPERM)", "allowed".
pub fn action_words(action: Action) -> String {
    with_details(action, &[])
}

fn with_details(action: Action, extra: &[&str]) -> String {
    let (verb, detail) = verb(action);
    let details: Vec<&str> = detail
        .as_deref()
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    if details.is_empty() {
        verb.to_string()
    } else {
        format!("{verb} ({})", details.join(", "))
    }
}

impl Branch {
    /// "denied (EPERM, default)", "allowed by $.syscalls[0].names[3]", without conditions.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Rule(path) => format!("{} by {path}", action_words(self.action)),
            Origin::Default(_) => with_details(self.action, &["default"]),
            Origin::NewerThanProfile { .. } => {
                with_details(self.action, &["newer than every syscall the profile names"])
            }
        }
    }

    /// "arg0 == 8 and arg2 != 9".
    pub fn conditions_text(&self) -> String {
        let conds: Vec<String> = self.conditions.iter().map(ToString::to_string).collect();
        conds.join(" and ")
    }
}

impl SyscallEffect {
    /// The whole effect in one line: "allowed when arg0 == 0 by $.syscalls[5]; ...; otherwise
    /// denied (EPERM, default)".
    pub fn describe(&self) -> String {
        let fallback = self.fallback().describe();
        if self.branches.len() == 1 {
            return fallback;
        }
        let mut parts: Vec<String> = self.branches[..self.branches.len() - 1]
            .iter()
            .map(|b| {
                let by = b.origin.json_path().unwrap_or_default();
                let action = action_words(b.action);
                format!("{action} when {} by {by}", b.conditions_text())
            })
            .collect();
        parts.push(format!("otherwise {fallback}"));
        parts.join("; ")
    }
}
