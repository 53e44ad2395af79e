//! The report as text: per workload, what would break first, then what was denied, decided,
//! observed and lost.

use super::model::{Report, WorkloadReport};
use std::fmt::Write;

/// Rows of the observed-syscalls table shown per workload (the JSON has them all).
const SYSCALL_ROWS: usize = 25;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let span = match (&report.first, &report.last) {
        (Some(a), Some(b)) => format!("{a} .. {b}"),
        _ => "no events".to_string(),
    };
    let _ = writeln!(
        out,
        "{} events, {} workloads, {span} ({})",
        report.events,
        report.workloads.len(),
        report.files.join(", ")
    );
    for w in &report.workloads {
        out.push('\n');
        workload(&mut out, w);
    }
    out
}

fn workload(out: &mut String, w: &WorkloadReport) {
    let ids: Vec<String> = w.cgroup_ids.iter().map(u64::to_string).collect();
    let _ = writeln!(out, "== {}  (cgroup {})", w.label, ids.join(", "));
    if let Some(c) = &w.container {
        let _ = writeln!(out, "   container id {}", c.id);
    }
    if let Some(cmd) = &w.command {
        let _ = writeln!(out, "   command: {}", cmd.join(" "));
    }
    let (would, denied) = (w.would_deny_total(), w.denied_total());
    let verdict = match (would, denied) {
        (0, 0) => "nothing would break".to_string(),
        (0, d) => format!("{d} calls denied"),
        (n, _) => format!(
            "WOULD BREAK: {n} calls on {} syscalls would be denied in enforce mode",
            w.would_deny
                .iter()
                .map(|r| &r.syscall)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        ),
    };
    let _ = writeln!(out, "   {verdict}");
    if !w.would_deny.is_empty() {
        let _ = writeln!(
            out,
            "   would-deny (syscall, calls, what enforce mode does, decided by):"
        );
        for r in &w.would_deny {
            let _ = writeln!(
                out,
                "     {:<20} {:>7}  {}  by {}",
                r.syscall, r.count, r.would, r.rule
            );
            if !r.paths.is_empty() {
                let _ = writeln!(out, "       paths: {}", r.paths.join(", "));
            }
        }
    }
    if !w.denials.is_empty() {
        let _ = writeln!(out, "   denied (syscall, errno, calls, by):");
        for r in &w.denials {
            let _ = writeln!(
                out,
                "     {:<20} {:<8} {:>7}  {}",
                r.syscall, r.errno, r.count, r.by
            );
        }
    }
    if !w.decisions.is_empty() {
        let parts: Vec<String> = w
            .decisions
            .iter()
            .map(|(o, n)| format!("{o} {n}"))
            .collect();
        let _ = writeln!(out, "   decisions: {}", parts.join(", "));
    }
    if !w.syscalls.is_empty() {
        let _ = writeln!(
            out,
            "   syscalls observed: {} calls of {} syscalls (syscall, arch, calls, stopped, errors):",
            w.calls_total(),
            w.syscalls.len()
        );
        for r in w.syscalls.iter().take(SYSCALL_ROWS) {
            let errors: Vec<String> = r.errors.iter().map(|(e, n)| format!("{e} {n}")).collect();
            let _ = writeln!(
                out,
                "     {:<20} {:<7} {:>9} {:>7}  {}",
                r.name,
                r.arch,
                r.count,
                r.stopped,
                errors.join(", ")
            );
        }
        if w.syscalls.len() > SYSCALL_ROWS {
            let _ = writeln!(
                out,
                "     ... {} more (--json)",
                w.syscalls.len() - SYSCALL_ROWS
            );
        }
    }
    for l in &w.lost {
        let _ = writeln!(out, "   LOST: {} {} at {}", l.count, l.what, l.place);
    }
    for reason in &w.degraded {
        let _ = writeln!(out, "   OBSERVATION DEGRADED: {reason}");
    }
    for reason in &w.supervisor_errors {
        let _ = writeln!(out, "   SUPERVISOR ERROR: {reason}");
    }
    for e in &w.exits {
        let how = match (e.exit_code, e.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (_, Some(s)) => format!("killed by signal {s}"),
            _ => "exit".to_string(),
        };
        let _ = writeln!(out, "   exited {}: {how}", e.time);
    }
}
