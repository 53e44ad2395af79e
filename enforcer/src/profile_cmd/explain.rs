//! `enforcer profile explain FILE`: what the filter does with every syscall of the native arch
//! after resolution (capabilities, kernel, arch), with the conditions, the errno and the entry
//! each answer comes from; a table, or JSON with `--json`.

use super::{CommandError, context, fail, load_resolved};
use crate::cli::CapArgs;
use crate::profile::{
    Action, Branch, Origin, ResolveContext, ResolvedProfile, SyscallEffect, action_words,
    errno_name, is_known_syscall,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    pub file: PathBuf,
    /// Only these syscalls (all when empty).
    pub syscalls: Vec<String>,
    pub caps: CapArgs,
    pub json: bool,
    pub allow_unknown_syscalls: bool,
}

/// Prints the explanation; 0, or 125 for bad input.
pub fn explain_file(opts: &ExplainOptions) -> u8 {
    match explain(opts) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => fail(&e),
    }
}

fn explain(opts: &ExplainOptions) -> Result<String, CommandError> {
    let ctx = context(&opts.caps)?;
    let (_, resolved) = load_resolved(&opts.file, &ctx, opts.allow_unknown_syscalls)?;
    let native = ctx.native_arch;
    let effects = if opts.syscalls.is_empty() {
        resolved.effects(native)
    } else {
        (opts.syscalls.iter())
            .map(|name| {
                resolved.effect(name, native).ok_or_else(|| {
                    let problem = if is_known_syscall(name) {
                        format!("does not exist on {native}")
                    } else {
                        "unknown syscall".to_string()
                    };
                    CommandError::Syscall {
                        name: name.clone(),
                        problem,
                    }
                })
            })
            .collect::<Result<_, _>>()?
    };
    let report = Report::new(&opts.file, &ctx, &resolved, &effects);
    Ok(if opts.json {
        let mut text = serde_json::to_string_pretty(&report).expect("plain data serializes");
        text.push('\n');
        text
    } else {
        report.table()
    })
}

/// The JSON form (and the data of the table).
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    arch: String,
    /// Every ABI in the filter, native first.
    arches: Vec<String>,
    kernel: String,
    capabilities: Vec<String>,
    default_action: ActionView,
    /// Syscalls numbered above this get ENOSYS (runc's rule); null when they get the default.
    enosys_above: Option<u32>,
    syscalls: Vec<SyscallView>,
}

#[derive(Debug, Serialize)]
struct ActionView {
    action: &'static str,
    errno: Option<u32>,
    errno_name: Option<String>,
    /// In words: "denied (EPERM)".
    words: String,
    json_path: Option<String>,
}

#[derive(Debug, Serialize)]
struct SyscallView {
    name: String,
    nr: u32,
    /// The whole answer in one line.
    summary: String,
    /// Conditional branches in order (the first whose conditions all hold decides), then the
    /// unconditional one.
    branches: Vec<BranchView>,
}

#[derive(Debug, Serialize)]
struct BranchView {
    #[serde(flatten)]
    action: ActionView,
    /// "rule", "default" or "newer-than-profile".
    origin: &'static str,
    /// ANDed; empty for the last branch.
    conditions: Vec<ConditionView>,
    /// The conditions in words, or "otherwise" / "always".
    when: String,
}

#[derive(Debug, Serialize)]
struct ConditionView {
    index: u8,
    op: &'static str,
    value: u64,
    value_two: u64,
}

fn action_view(action: Action, json_path: Option<&str>) -> ActionView {
    let errno = match action {
        Action::Errno(e) => Some(e),
        _ => None,
    };
    ActionView {
        action: action.scmp_name(),
        errno,
        errno_name: errno.map(errno_name),
        words: action_words(action),
        json_path: json_path.map(str::to_string),
    }
}

impl BranchView {
    fn new(b: &Branch, only: bool) -> Self {
        let origin = match b.origin {
            Origin::Rule(_) => "rule",
            Origin::Default(_) => "default",
            Origin::NewerThanProfile { .. } => "newer-than-profile",
        };
        let when = match (b.conditions.is_empty(), only) {
            (false, _) => b.conditions_text(),
            (true, true) => "always".to_string(),
            (true, false) => "otherwise".to_string(),
        };
        Self {
            action: action_view(b.action, b.origin.json_path()),
            origin,
            conditions: (b.conditions.iter())
                .map(|c| ConditionView {
                    index: c.index,
                    op: c.op.scmp_name(),
                    value: c.value,
                    value_two: c.value_two,
                })
                .collect(),
            when,
        }
    }
}

impl Report {
    fn new(
        file: &Path,
        ctx: &ResolveContext,
        resolved: &ResolvedProfile,
        effects: &[SyscallEffect],
    ) -> Self {
        let native = ctx.native_arch;
        let default_path = resolved.field_path("defaultAction");
        Report {
            file: file.display().to_string(),
            arch: native.to_string(),
            arches: resolved.arches.iter().map(ToString::to_string).collect(),
            kernel: format!("{}.{}", ctx.kernel.0, ctx.kernel.1),
            capabilities: ctx.caps.iter().cloned().collect(),
            default_action: action_view(resolved.default_action, Some(&default_path)),
            enosys_above: (resolved.enosys_for_newer())
                .then(|| resolved.newest_named(native))
                .flatten(),
            syscalls: (effects.iter())
                .map(|e| SyscallView {
                    name: e.name.clone(),
                    nr: e.nr,
                    summary: e.describe(),
                    branches: (e.branches.iter())
                        .map(|b| BranchView::new(b, e.branches.len() == 1))
                        .collect(),
                })
                .collect(),
        }
    }

    fn table(&self) -> String {
        let mut out = format!(
            "profile: {}\narch: {} (in the filter: {})\nkernel: {}\ncapabilities: {}\n\
             default action: {} ({})\n",
            self.file,
            self.arch,
            self.arches.join(", "),
            self.kernel,
            if self.capabilities.is_empty() {
                "none".to_string()
            } else {
                self.capabilities.join(", ")
            },
            self.default_action.words,
            self.default_action.json_path.as_deref().unwrap_or_default(),
        );
        if let Some(n) = self.enosys_above {
            out.push_str(&format!(
                "syscalls newer than the profile (number above {n}): denied (ENOSYS)\n"
            ));
        }
        out.push('\n');
        let mut rows = vec![[
            "SYSCALL".to_string(),
            "NR".to_string(),
            "ACTION".to_string(),
            "WHEN".to_string(),
            "FROM".to_string(),
        ]];
        for s in &self.syscalls {
            for (i, b) in s.branches.iter().enumerate() {
                let (name, nr) = if i == 0 {
                    (s.name.clone(), s.nr.to_string())
                } else {
                    (String::new(), String::new())
                };
                let from = match b.origin {
                    "default" => format!(
                        "{} (default)",
                        b.action.json_path.as_deref().unwrap_or_default()
                    ),
                    "newer-than-profile" => "newer than the profile".to_string(),
                    _ => b.action.json_path.clone().unwrap_or_default(),
                };
                rows.push([name, nr, b.action.words.clone(), b.when.clone(), from]);
            }
        }
        let widths: Vec<usize> = (0..5)
            .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
            .collect();
        for row in rows {
            let line: Vec<String> = (row.iter().zip(&widths))
                .map(|(cell, w)| format!("{cell:w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}
