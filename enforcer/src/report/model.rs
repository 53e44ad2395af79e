//! What a report says, per workload: a container (by id), or a cgroup of a host when no
//! container is known. Built from events in any order: `syscall_count` aggregates are cumulative,
//! so the largest report of each (cgroup, arch, syscall) counts; everything else adds up.

use super::read::LogEvent;
use crate::events::{
    ArgsAt, Container, DecisionEvent, EventKind, LifecycleEvent, Outcome, Phase, SyscallCountEvent,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub files: Vec<String>,
    /// Time of the first and the last event (RFC 3339).
    pub first: Option<String>,
    pub last: Option<String>,
    pub events: u64,
    /// Most would-deny and denied calls first.
    pub workloads: Vec<WorkloadReport>,
}

#[derive(Debug, Default, Serialize)]
pub struct WorkloadReport {
    /// `container:<id>` or `cgroup:<host>:<id>`.
    pub key: String,
    /// How a person calls it: the container's name, the cgroup's directory, or its id.
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    pub cgroup_ids: BTreeSet<u64>,
    /// The cgroup's directory, from `start`/`watch` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    pub hosts: BTreeSet<String>,
    pub syscalls: Vec<SyscallRow>,
    pub denials: Vec<DenialRow>,
    pub would_deny: Vec<WouldDenyRow>,
    /// Decisions by outcome (allowed, denied, emulated, would-deny).
    pub decisions: BTreeMap<String, u64>,
    pub lost: Vec<LostRow>,
    /// Reasons given by `observer-degraded` events.
    pub degraded: Vec<String>,
    pub supervisor_errors: Vec<String>,
    pub exits: Vec<ExitRow>,
    /// When would-deny and denied decisions happened (seconds since the epoch), for charts.
    #[serde(skip)]
    pub incidents: Vec<(f64, Incident)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incident {
    WouldDeny,
    Denied,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyscallRow {
    pub name: String,
    pub arch: String,
    pub count: u64,
    pub entered: u64,
    /// Stopped before the kernel ran them (seccomp or the supervisor): see
    /// [`stopped_before_entry`](crate::events::stopped_before_entry).
    pub stopped: u64,
    pub errors: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct DenialRow {
    pub syscall: String,
    pub errno: String,
    pub count: u64,
    /// "supervisor" (a decision) or "seccomp" (stopped by the filter, from the observer).
    pub by: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct WouldDenyRow {
    pub syscall: String,
    /// The profile entry (`profile:$.syscalls[3]`, `profile:$.defaultAction`) or the policy
    /// rule that would stop it.
    pub rule: String,
    /// What enforce mode would do ("SCMP_ACT_ERRNO(EPERM)", "deny EPERM").
    pub would: String,
    pub count: u64,
    pub first: String,
    pub last: String,
    /// Up to a few distinct paths the calls named.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LostRow {
    pub what: String,
    pub place: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExitRow {
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

const MAX_PATHS: usize = 5;

impl WorkloadReport {
    pub fn would_deny_total(&self) -> u64 {
        self.would_deny.iter().map(|r| r.count).sum()
    }

    pub fn denied_total(&self) -> u64 {
        self.denials.iter().map(|r| r.count).sum()
    }

    pub fn calls_total(&self) -> u64 {
        self.syscalls.iter().map(|r| r.count).sum()
    }

    pub fn lost_total(&self) -> u64 {
        self.lost.iter().map(|r| r.count).sum()
    }

    /// Whether `selector` names this workload: the container's name or id (or an id prefix
    /// of at least 12 characters), or a cgroup id.
    pub fn matches(&self, selector: &str) -> bool {
        let by_container = self.container.as_ref().is_some_and(|c| {
            c.name == selector
                || c.id == selector
                || (selector.len() >= 12 && c.id.starts_with(selector))
        });
        let by_cgroup = selector
            .parse::<u64>()
            .is_ok_and(|id| self.cgroup_ids.contains(&id));
        by_container || by_cgroup || self.label == selector
    }
}

/// The workload an event belongs to.
pub fn workload_key(e: &LogEvent) -> String {
    match &e.workload.container {
        Some(c) => format!("container:{}", c.id),
        None => format!("cgroup:{}:{}", e.host, e.workload.cgroup_id),
    }
}

/// Accumulates one workload's events.
#[derive(Default)]
struct Builder {
    report: WorkloadReport,
    /// Largest aggregate per (cgroup, arch, nr).
    aggregates: BTreeMap<(u64, String, u32), SyscallCountEvent>,
    /// errno names of stopped calls seen one by one, per syscall.
    stopped_calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Calls the supervisor kept from entering (denied or emulated), per syscall.
    supervisor_stopped: BTreeMap<String, u64>,
    denials: BTreeMap<(String, String), u64>,
    would_deny: BTreeMap<(String, String, String), WouldDenyRow>,
    lost: BTreeMap<(String, String), u64>,
}

pub fn build(files: Vec<String>, events: &[LogEvent]) -> Report {
    let mut builders: BTreeMap<String, Builder> = BTreeMap::new();
    let mut report = Report {
        files,
        events: events.len() as u64,
        ..Report::default()
    };
    let mut span: Option<(f64, &str, f64, &str)> = None;
    for e in events {
        span = Some(match span {
            None => (e.at, &e.time, e.at, &e.time),
            Some((lo, lt, hi, ht)) => {
                let (lo, lt) = if e.at < lo {
                    (e.at, e.time.as_str())
                } else {
                    (lo, lt)
                };
                let (hi, ht) = if e.at > hi {
                    (e.at, e.time.as_str())
                } else {
                    (hi, ht)
                };
                (lo, lt, hi, ht)
            }
        });
        builders.entry(workload_key(e)).or_default().add(e);
    }
    if let Some((_, first, _, last)) = span {
        report.first = Some(first.to_string());
        report.last = Some(last.to_string());
    }
    report.workloads = builders.into_iter().map(|(key, b)| b.finish(key)).collect();
    report.workloads.sort_by(|a, b| {
        (b.would_deny_total() + b.denied_total())
            .cmp(&(a.would_deny_total() + a.denied_total()))
            .then_with(|| a.label.cmp(&b.label))
    });
    report
}

impl Builder {
    fn add(&mut self, e: &LogEvent) {
        let r = &mut self.report;
        r.hosts.insert(e.host.clone());
        r.cgroup_ids.insert(e.workload.cgroup_id);
        if r.container.is_none() {
            r.container = e.workload.container.clone();
        }
        match &e.kind {
            EventKind::SyscallCount(s) => {
                let key = (e.workload.cgroup_id, s.arch.clone(), s.nr);
                let bigger = self
                    .aggregates
                    .get(&key)
                    .is_none_or(|old| s.count >= old.count);
                if bigger {
                    self.aggregates.insert(key, s.clone());
                }
            }
            EventKind::SyscallTrace(t) => {
                if t.args_at == ArgsAt::Exit
                    && let Some(errno) = &t.errno
                {
                    *self
                        .stopped_calls
                        .entry(syscall_name(t.name.as_deref(), t.nr))
                        .or_default()
                        .entry(errno.clone())
                        .or_default() += 1;
                }
            }
            EventKind::Decision(d) => self.decision(d, e),
            EventKind::Lost(l) => {
                let key = (l.what.to_string(), l.place.to_string());
                *self.lost.entry(key).or_default() += l.count;
            }
            EventKind::Lifecycle(l) => self.lifecycle(l, e),
        }
    }

    fn decision(&mut self, d: &DecisionEvent, e: &LogEvent) {
        let syscall = d.syscall.clone();
        *self
            .report
            .decisions
            .entry(d.outcome.to_string())
            .or_default() += 1;
        match d.outcome {
            Outcome::Denied => {
                let errno = d
                    .errno
                    .map_or_else(|| "?".into(), crate::events::errno_name);
                *self.denials.entry((syscall.clone(), errno)).or_default() += 1;
                *self.supervisor_stopped.entry(syscall).or_default() += 1;
                self.report.incidents.push((e.at, Incident::Denied));
            }
            Outcome::Emulated => *self.supervisor_stopped.entry(syscall).or_default() += 1,
            Outcome::WouldDeny => {
                let rule = d.rule.clone();
                let would = d.would.clone().unwrap_or_default();
                let row = self
                    .would_deny
                    .entry((syscall.clone(), rule.clone(), would.clone()))
                    .or_insert_with(|| WouldDenyRow {
                        syscall,
                        rule,
                        would,
                        count: 0,
                        first: e.time.clone(),
                        last: e.time.clone(),
                        paths: Vec::new(),
                    });
                row.count += 1;
                // RFC 3339 UTC with fixed precision sorts as text.
                if e.time < row.first {
                    row.first = e.time.clone();
                }
                if e.time > row.last {
                    row.last = e.time.clone();
                }
                if let Some(p) = &d.path
                    && row.paths.len() < MAX_PATHS
                    && !row.paths.contains(p)
                {
                    row.paths.push(p.clone());
                }
                self.report.incidents.push((e.at, Incident::WouldDeny));
            }
            Outcome::Allowed => {}
        }
    }

    fn lifecycle(&mut self, l: &LifecycleEvent, e: &LogEvent) {
        let r = &mut self.report;
        match l.phase {
            Phase::Start | Phase::Watch | Phase::Continued => {
                if r.cgroup.is_none() {
                    r.cgroup = l.cgroup.clone();
                }
                if r.command.is_none() {
                    r.command = l.command.clone();
                }
            }
            Phase::Exit => r.exits.push(ExitRow {
                time: e.time.clone(),
                exit_code: l.exit_code,
                signal: l.signal,
            }),
            Phase::ObserverDegraded => r
                .degraded
                .push(l.reason.clone().unwrap_or_else(|| "no reason given".into())),
            Phase::SupervisorError => r
                .supervisor_errors
                .push(l.reason.clone().unwrap_or_default()),
            _ => {}
        }
    }

    fn finish(mut self, key: String) -> WorkloadReport {
        let mut syscalls: BTreeMap<(String, String), SyscallRow> = BTreeMap::new();
        for e in self.aggregates.values() {
            let name = syscall_name(e.name.as_deref(), e.nr);
            let arch = e.arch.clone();
            let row = syscalls
                .entry((name.clone(), arch.clone()))
                .or_insert_with(|| SyscallRow {
                    name,
                    arch,
                    count: 0,
                    entered: 0,
                    stopped: 0,
                    errors: BTreeMap::new(),
                });
            row.count += e.count;
            row.entered += e.entered;
            row.stopped += e.stopped();
            for (errno, n) in &e.errors {
                *row.errors.entry(errno.clone()).or_default() += n;
            }
        }
        let mut rows: Vec<SyscallRow> = syscalls.into_values().collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        for row in &rows {
            let by_supervisor = self.supervisor_stopped.get(&row.name).copied().unwrap_or(0);
            let by_filter = row.stopped.saturating_sub(by_supervisor);
            if by_filter > 0 {
                let errno = stopped_errno(row, self.stopped_calls.get(&row.name));
                self.report.denials.push(DenialRow {
                    syscall: row.name.clone(),
                    errno,
                    count: by_filter,
                    by: "seccomp",
                });
            }
        }
        self.report.syscalls = rows;
        self.report
            .denials
            .extend(
                self.denials
                    .into_iter()
                    .map(|((syscall, errno), count)| DenialRow {
                        syscall,
                        errno,
                        count,
                        by: "supervisor",
                    }),
            );
        self.report
            .denials
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cmp(b)));
        self.report.would_deny = self.would_deny.into_values().collect();
        self.report
            .would_deny
            .sort_by_key(|r| std::cmp::Reverse(r.count));
        self.report.lost = (self.lost.into_iter())
            .map(|((what, place), count)| LostRow { what, place, count })
            .collect();
        self.report.incidents.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.report.label = label(&self.report);
        self.report.key = key;
        self.report
    }
}

fn syscall_name(name: Option<&str>, nr: u32) -> String {
    name.map_or_else(|| format!("syscall_{nr}"), str::to_string)
}

/// The errno seccomp answered a syscall's stopped calls with: the only errno its calls
/// failed with, else the most frequent among its calls seen one by one, else unknown.
fn stopped_errno(row: &SyscallRow, calls: Option<&BTreeMap<String, u64>>) -> String {
    if row.errors.len() == 1 {
        return row.errors.keys().next().cloned().unwrap_or_default();
    }
    calls
        .and_then(|c| c.iter().max_by_key(|(_, n)| **n))
        .map_or_else(|| "unknown".to_string(), |(e, _)| e.clone())
}

fn label(r: &WorkloadReport) -> String {
    if let Some(c) = &r.container {
        let name = if c.name.is_empty() {
            c.id.chars().take(12).collect()
        } else {
            c.name.clone()
        };
        return match (&c.namespace, &c.pod) {
            (Some(ns), Some(pod)) => format!("{ns}/{pod}/{name}"),
            _ => name,
        };
    }
    let ids: Vec<String> = r.cgroup_ids.iter().map(u64::to_string).collect();
    match &r.cgroup {
        Some(dir) => dir.clone(),
        None if r.cgroup_ids == BTreeSet::from([0]) => "host (the observer itself)".into(),
        None => format!("cgroup {}", ids.join(", ")),
    }
}
