//! The report as one self-contained HTML page: inline CSS and SVG, no script, nothing
//! fetched. At the top, which workloads would break and how often; then one section per
//! workload with its calls over time and the tables.

use super::model::{Report, WorkloadReport};
use super::svg::{self, Bar};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #1d232a; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-top: 1px solid #ccd; padding-top: 14px; }
h3 { font-size: 15px; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 6px 0 14px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #e4e6ea; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 13px ui-monospace, monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 9px; font-size: 12px; font-weight: 600; }
.breaks { background: #f6d365; color: #5a3b00; } .denies { background: #f4a3a3; color: #5c0000; }
.clean { background: #c9ebd0; color: #0d4a1c; } .warn { background: #ffe1b3; color: #6b3d00; }
svg.chart { display: block; margin: 6px 0 12px; }
svg .label { font-size: 12px; fill: #333; } svg .count { font-size: 11px; fill: #555; }
svg .would-deny { fill: #e0a100; } svg .denied { fill: #c62828; } svg .allowed { fill: #8fbf9f; }
svg .axis { stroke: #999; stroke-width: 1; } svg .tick { font-size: 11px; }
.legend span { margin-right: 14px; } .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.muted { color: #667; }
"#;

pub fn render(report: &Report) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "enforcer report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "enforcer report" }
                p.muted {
                    (report.events) " events, " (report.workloads.len()) " workloads"
                    @if let (Some(a), Some(b)) = (&report.first, &report.last) {
                        ", " (svg::readable(a)) " .. " (svg::readable(b)) " (local time)"
                    }
                    br;
                    "from " (report.files.join(", "))
                }
                (legend())
                (overview(report))
                @for (i, w) in report.workloads.iter().enumerate() {
                    (workload(i, w, report))
                }
            }
        }
    };
    page.into_string()
}

fn legend() -> Markup {
    html! {
        p.legend {
            span { span.swatch style="background:#e0a100" {} "would-deny (audit: enforce mode would stop it)" }
            span { span.swatch style="background:#c62828" {} "denied" }
        }
    }
}

fn status(w: &WorkloadReport) -> Markup {
    let (would, denied) = (w.would_deny_total(), w.denied_total());
    html! {
        @if would > 0 { span.badge.breaks { "would break" } }
        @else if denied > 0 { span.badge.denies { "denied calls" } }
        @else { span.badge.clean { "nothing would break" } }
        @if !w.degraded.is_empty() || w.lost_total() > 0 { " " span.badge.warn { "incomplete observation" } }
    }
}

fn overview(report: &Report) -> Markup {
    let bars: Vec<Bar> = report
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| Bar {
            label: name(w),
            href: Some(format!("#w{i}")),
            segments: vec![
                (w.would_deny_total(), "would-deny"),
                (w.denied_total(), "denied"),
            ],
        })
        .collect();
    html! {
        h2 { "Which workloads would break" }
        (svg::bars("would-deny and denied calls per workload", &bars))
        table {
            tr { th { "workload" } th { "status" } th.n { "would-deny" } th.n { "denied" }
                 th { "would-deny syscalls" } th.n { "calls observed" } th.n { "lost" } }
            @for (i, w) in report.workloads.iter().enumerate() {
                tr {
                    td { a href=(format!("#w{i}")) { (name(w)) } }
                    td { (status(w)) }
                    td.n { (w.would_deny_total()) }
                    td.n { (w.denied_total()) }
                    td { code { (distinct_syscalls(w).join(", ")) } }
                    td.n { (w.calls_total()) }
                    td.n { (w.lost_total()) }
                }
            }
        }
    }
}

/// What a person calls the workload: the container's name as its engine shows it (with the
/// Kubernetes namespace and pod when known), else for `run` its command and cgroup name, else
/// the report's label.
fn name(w: &WorkloadReport) -> String {
    if let Some(c) = &w.container {
        let base = match c.name.is_empty() {
            true => c.id.chars().take(12).collect(),
            false => c.name.clone(),
        };
        return match (&c.namespace, &c.pod) {
            (Some(ns), Some(pod)) => format!("{ns}/{pod} {base}"),
            _ => base,
        };
    }
    let Some(command) = &w.command else {
        return w.label.clone();
    };
    let mut words = command.iter();
    let program = words
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let command: Vec<String> = program.into_iter().chain(words.cloned()).collect();
    match w.cgroup.as_deref().and_then(|d| d.rsplit('/').next()) {
        Some(leaf) => format!("{} ({leaf})", command.join(" ")),
        None => command.join(" "),
    }
}

fn distinct_syscalls(w: &WorkloadReport) -> Vec<String> {
    let mut names: Vec<String> = w.would_deny.iter().map(|r| r.syscall.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn workload(i: usize, w: &WorkloadReport, report: &Report) -> Markup {
    let start = report
        .workloads
        .iter()
        .flat_map(|w| w.incidents.first())
        .map(|x| x.0)
        .fold(f64::INFINITY, f64::min);
    let end = report
        .workloads
        .iter()
        .flat_map(|w| w.incidents.last())
        .map(|x| x.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut per_syscall: Vec<Bar> = Vec::new();
    for r in &w.would_deny {
        match per_syscall.iter_mut().find(|b| b.label == r.syscall) {
            Some(b) => b.segments[0].0 += r.count,
            None => per_syscall.push(Bar {
                label: r.syscall.clone(),
                href: None,
                segments: vec![(r.count, "would-deny"), (0, "denied")],
            }),
        }
    }
    for r in &w.denials {
        match per_syscall.iter_mut().find(|b| b.label == r.syscall) {
            Some(b) => b.segments[1].0 += r.count,
            None => per_syscall.push(Bar {
                label: r.syscall.clone(),
                href: None,
                segments: vec![(0, "would-deny"), (r.count, "denied")],
            }),
        }
    }
    html! {
        h2 id=(format!("w{i}")) { (name(w)) " " (status(w)) }
        p.muted {
            @if let Some(dir) = &w.cgroup { "cgroup " code { (dir) } " · " }
            "cgroup id " (w.cgroup_ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))
            @if let Some(c) = &w.container { " · container " code { (c.id) } }
            @if let Some(cmd) = &w.command { " · " code { (cmd.join(" ")) } }
            " · host " (w.hosts.iter().cloned().collect::<Vec<_>>().join(", "))
        }
        @for reason in &w.degraded { p { span.badge.warn { "observation degraded" } " " (reason) } }
        @for reason in &w.supervisor_errors { p { span.badge.denies { "supervisor error" } " " (reason) } }
        @if !per_syscall.is_empty() {
            h3 { "On which calls" }
            (svg::bars(&format!("would-deny and denied calls of {} by syscall", name(w)), &per_syscall))
            @if start.is_finite() {
                h3 { "Over time" }
                (svg::timeline(&w.incidents, start, end.max(start)))
            }
        }
        @if !w.would_deny.is_empty() {
            h3 { "Would-deny calls" }
            table {
                tr { th { "syscall" } th.n { "calls" } th { "enforce mode would" } th { "decided by" } th { "first" } th { "last" } th { "paths" } }
                @for r in &w.would_deny {
                    tr { td { code { (r.syscall) } } td.n { (r.count) } td { code { (r.would) } }
                         td { code { (r.rule) } } td { (svg::readable(&r.first)) } td { (svg::readable(&r.last)) }
                         td { (r.paths.join(", ")) } }
                }
            }
        }
        @if !w.denials.is_empty() {
            h3 { "Denied calls" }
            table {
                tr { th { "syscall" } th { "errno" } th.n { "calls" } th { "by" } }
                @for r in &w.denials {
                    tr { td { code { (r.syscall) } } td { (r.errno) } td.n { (r.count) } td { (r.by) } }
                }
            }
        }
        @if !w.decisions.is_empty() {
            h3 { "Decisions on notified calls" }
            table {
                tr { @for o in w.decisions.keys() { th.n { (o) } } }
                tr { @for n in w.decisions.values() { td.n { (n) } } }
            }
        }
        @if !w.lost.is_empty() {
            h3 { "Lost" }
            table {
                tr { th { "what" } th { "where" } th.n { "count" } }
                @for l in &w.lost { tr { td { (l.what) } td { (l.place) } td.n { (l.count) } } }
            }
        }
        @if !w.syscalls.is_empty() {
            h3 { "Syscalls observed (" (w.calls_total()) " calls)" }
            table {
                tr { th { "syscall" } th { "arch" } th.n { "calls" } th.n { "stopped" } th { "errors" } }
                @for r in &w.syscalls {
                    tr { td { code { (r.name) } } td { (r.arch) } td.n { (r.count) } td.n { (r.stopped) }
                         td { (r.errors.iter().map(|(e, n)| format!("{e} {n}")).collect::<Vec<_>>().join(", ")) } }
                }
            }
        }
    }
}
