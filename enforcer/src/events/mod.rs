//! The JSON-lines event log: one object per line, versioned by `schema`, with the workload
//! identity (`cgroup_id`, `container`) that joins the eBPF stream and the notify stream.

mod rotate;
mod sink;

pub use rotate::{Rotation, rotated_path};
pub use sink::{EventObserver, EventSink, SinkError, SinkOptions};

use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the event schema; bump on any incompatible change (see docs/events.md).
pub const SCHEMA: &str = "enforcer.event.v1";

/// Identity of the workload an event is about.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Workload {
    pub cgroup_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The OCI bundle directory (agent mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// The container's process as its runtime reported it (agent mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What happened; serialized as `kind` plus the kind's own fields.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// Calls of one syscall observed in a cgroup (an aggregate: `count` calls).
    Syscall(SyscallEvent),
    /// One observed call in detail (a syscall selected for the ring buffer).
    #[serde(rename = "syscall")]
    SyscallCall(SyscallCallEvent),
    /// The supervisor's answer to one notified call.
    Decision(DecisionEvent),
    /// Something the enforcer could not record.
    Lost(LostEvent),
    /// Workload and observer life: start, exit, observation degraded.
    Lifecycle(LifecycleEvent),
}

#[derive(Debug, Clone, Serialize)]
pub struct SyscallEvent {
    pub nr: u32,
    pub name: Option<String>,
    pub arch: String,
    /// Calls that returned (denied ones included).
    pub count: u64,
    /// Calls that reached syscall entry; `count - entered` were stopped before it (seccomp).
    pub entered: u64,
    /// Failed returns by errno name (e.g. "EPERM").
    pub errors: BTreeMap<String, u64>,
}

/// Calls of a `syscall` aggregate that seccomp (or the supervisor) stopped before they
/// entered the kernel: `count - entered`, but no more than the failed returns, since a stopped
/// call returns an errno; calls that return twice (fork, vfork: the child's return has no
/// entry of its own) and exits with no syscall number are thereby not counted as stops.
pub fn stopped_before_entry(count: u64, entered: u64, errors: &BTreeMap<String, u64>) -> u64 {
    count.saturating_sub(entered).min(errors.values().sum())
}

/// One call, from the eBPF ring buffer: who made it, its arguments and what it returned.
#[derive(Debug, Clone, Serialize)]
pub struct SyscallCallEvent {
    pub nr: u32,
    pub name: Option<String>,
    pub arch: String,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// The six argument registers.
    pub args: [u64; 6],
    /// "entry" (saved when the call entered) or "exit" (read at exit: the call never entered,
    /// as when seccomp refused it).
    pub args_at: &'static str,
    /// The return value; absent for calls that do not return (exit, exit_group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// Positive errno when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionEvent {
    pub syscall: String,
    pub nr: i32,
    pub arch: String,
    pub args: [u64; 6],
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The policy rule that decided.
    pub rule: String,
    pub outcome: Outcome,
    /// Positive errno returned to the workload, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    /// For would-deny: what enforce mode would have done ("SCMP_ACT_ERRNO(EPERM)", "deny
    /// EPERM", "kill").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would: Option<String>,
    /// From receiving the notification to answering it.
    pub latency_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Allowed,
    Denied,
    Emulated,
    WouldDeny,
}

#[derive(Debug, Clone, Serialize)]
pub struct LostEvent {
    /// What was dropped: "syscall-count", "errno-count", "syscall-number", "syscall-event",
    /// "syscall-args-at-entry", "syscall-abi", "event" (see docs/events.md).
    pub what: String,
    /// Where: "ebpf", "supervisor", "sink".
    pub place: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LifecycleEvent {
    /// "start", "exit", "observer-degraded", "supervisor-error", "watch", "unwatch".
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// At exit: what the supervisor answered, and its peak memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<SupervisorSummary>,
    /// For "watch" and "unwatch" (`enforcer observe`): the cgroup's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SupervisorSummary {
    pub allowed: u64,
    pub emulated: u64,
    pub denied: u64,
    pub would_deny: u64,
    /// Answers the kernel no longer wanted (caller interrupted or gone).
    pub stale: u64,
    pub max_rss_kb: u64,
}

impl LifecycleEvent {
    pub fn phase(phase: &str) -> Self {
        Self {
            phase: phase.to_owned(),
            pid: None,
            command: None,
            exit_code: None,
            signal: None,
            reason: None,
            supervisor: None,
            cgroup: None,
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    pub schema: &'static str,
    /// RFC 3339, UTC, nanoseconds.
    pub time: String,
    pub host: &'a str,
    #[serde(flatten)]
    pub workload: &'a Workload,
    #[serde(flatten)]
    pub kind: &'a EventKind,
}

/// RFC 3339 UTC timestamp with nanoseconds, as every event carries it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// How events name an architecture: the profile's SCMP_ARCH_* name, lower case, without the
/// prefix ("x86_64", "x86", "x32", "aarch64").
pub fn arch_label(arch: crate::profile::Arch) -> String {
    arch.scmp_name()
        .trim_start_matches("SCMP_ARCH_")
        .to_lowercase()
}

/// Symbolic name of a positive errno ("EPERM"), or its number as text: the same words as
/// the profile commands use.
pub fn errno_name(errno: i32) -> String {
    u32::try_from(errno).map_or_else(|_| errno.to_string(), crate::profile::errno_name)
}
