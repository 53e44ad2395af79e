//! The event model: the types every writer serializes and every reader (report, `profile
//! suggest`, the tests) deserializes, and from which docs/events.schema.json is generated.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the event schema; bump on any incompatible change (see docs/events.md).
pub const SCHEMA: &str = "enforcer.event.v2";

/// One line of the log, as read back.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "enforcer event (one JSON object per line)")]
pub struct Event {
    pub schema: SchemaVersion,
    /// RFC 3339, UTC, nanoseconds.
    #[schemars(extend("format" = "date-time"))]
    pub time: String,
    pub host: String,
    #[serde(flatten)]
    pub workload: Workload,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The `schema` field: only the version this enforcer writes is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SCHEMA)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == SCHEMA {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(format!(
                "$.schema is {s:?}; this enforcer reads {SCHEMA:?}"
            )))
        }
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SchemaVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "const": SCHEMA })
    }
}

/// Identity of the workload an event is about; every event carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Workload {
    /// The cgroup v2 id: the inode of the workload's cgroup directory (what the eBPF side
    /// keys on); 0 for the host (the observer itself).
    pub cgroup_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Container {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The OCI bundle directory (agent mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// The container's process as its runtime reported it (agent mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What happened; serialized as `kind` plus the kind's own fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// Calls of one syscall and ABI observed in a cgroup, cumulative: at workload exit (every
    /// syscall) and every `--stats-interval` seconds (those that changed).
    SyscallCount(SyscallCountEvent),
    /// One observed call in detail, from the eBPF ring buffer (`--trace`, or by default for
    /// `run` every call the profile may refuse or notify).
    SyscallTrace(SyscallTraceEvent),
    /// The supervisor's answer to one notified call.
    Decision(DecisionEvent),
    /// Something the enforcer could not record.
    Lost(LostEvent),
    /// Workload, agent and observer life: start, exit, watch, observation degraded, ...
    Lifecycle(LifecycleEvent),
}

impl EventKind {
    /// The `kind` as written (also the metrics' `kind` label).
    pub fn name(&self) -> &'static str {
        match self {
            Self::SyscallCount(_) => "syscall_count",
            Self::SyscallTrace(_) => "syscall_trace",
            Self::Decision(_) => "decision",
            Self::Lost(_) => "lost",
            Self::Lifecycle(_) => "lifecycle",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyscallCountEvent {
    pub nr: u32,
    /// The syscall's name; null for a number no table knows.
    pub name: Option<String>,
    /// The ABI: `x86_64`, `x86` (i386 compat calls), `x32`, `aarch64`, ...
    pub arch: String,
    /// Calls seen: returned (denied ones included), or entered for calls that never return.
    pub count: u64,
    /// Calls that reached syscall entry; `count - entered` were stopped before it (seccomp).
    pub entered: u64,
    /// Failed returns by errno name (e.g. "EPERM").
    pub errors: BTreeMap<String, u64>,
}

/// Calls of a `syscall_count` aggregate that seccomp (or the supervisor) stopped before they
/// entered the kernel: `count - entered`, but no more than the failed returns, since a stopped
/// call returns an errno; calls that return twice (fork, vfork: the child's return has no
/// entry of its own) and exits with no syscall number are thereby not counted as stops.
pub fn stopped_before_entry(count: u64, entered: u64, errors: &BTreeMap<String, u64>) -> u64 {
    count.saturating_sub(entered).min(errors.values().sum())
}

impl SyscallCountEvent {
    /// See [`stopped_before_entry`].
    pub fn stopped(&self) -> u64 {
        stopped_before_entry(self.count, self.entered, &self.errors)
    }
}

/// Where a traced call's arguments were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArgsAt {
    /// Saved when the call entered the kernel.
    Entry,
    /// Read at exit: the call never entered (seccomp refused it), or its entry could not be
    /// saved (a `lost` `syscall-args-at-entry` says so).
    Exit,
}

/// One call, from the eBPF ring buffer: who made it, its arguments and what it returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyscallTraceEvent {
    pub nr: u32,
    /// The syscall's name; null for a number no table knows.
    pub name: Option<String>,
    pub arch: String,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// The six argument registers, as unsigned 64-bit numbers.
    pub args: [u64; 6],
    pub args_at: ArgsAt,
    /// The return value; absent for calls that do not return (exit, exit_group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// The errno's name ("EPERM") when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionEvent {
    pub syscall: String,
    pub nr: i32,
    pub arch: String,
    /// The six argument registers, as unsigned 64-bit numbers.
    pub args: [u64; 6],
    pub pid: u32,
    /// The path argument, when the decision read it from the caller's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The policy rule that decided (`profile:$.syscalls[3]` for a profile entry in audit
    /// mode).
    pub rule: String,
    pub outcome: Outcome,
    /// The errno returned to the workload, as a positive number, when denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub errno: Option<i32>,
    /// For would-deny: what enforce mode would have done ("SCMP_ACT_ERRNO(EPERM)", "deny
    /// EPERM", "kill").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub would: Option<String>,
    /// From receiving the notification to answering it.
    pub latency_ns: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Let through (the kernel ran the call).
    Allowed,
    /// Refused with `errno`.
    Denied,
    /// Carried out by the supervisor on the caller's behalf.
    Emulated,
    /// Audit mode: let through, but enforce mode would have refused it (`would`).
    WouldDeny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LostEvent {
    pub what: LostWhat,
    pub place: LostPlace,
    /// How many since the previous `lost` event of this what and place.
    #[schemars(range(min = 1))]
    pub count: u64,
}

/// What was dropped.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum LostWhat {
    /// A counter map was full: calls not counted.
    SyscallCount,
    /// An errno counter map was full: failed returns not counted by errno.
    ErrnoCount,
    /// The syscall's registers could not be read.
    SyscallNumber,
    /// The task's compat status could not be read: call not counted.
    SyscallAbi,
    /// A detailed call event dropped (ring buffer full), or submitted and never read.
    SyscallEvent,
    /// A call's entry arguments could not be saved; its event carries the registers at exit.
    SyscallArgsAtEntry,
    /// Events the writer dropped because its queue was full.
    Event,
}

/// Where it was dropped.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum LostPlace {
    /// In the eBPF program (a map or the ring buffer was full).
    Ebpf,
    /// Between the ring buffer and the reader.
    RingBufferReader,
    /// In the event writer.
    Sink,
}

macro_rules! words {
    ($ty:ty { $($variant:ident => $word:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];
            /// The word as written.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $word),* }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(Outcome {
    Allowed => "allowed",
    Denied => "denied",
    Emulated => "emulated",
    WouldDeny => "would-deny",
});

words!(LostWhat {
    SyscallCount => "syscall-count",
    ErrnoCount => "errno-count",
    SyscallNumber => "syscall-number",
    SyscallAbi => "syscall-abi",
    SyscallEvent => "syscall-event",
    SyscallArgsAtEntry => "syscall-args-at-entry",
    Event => "event",
});

words!(LostPlace {
    Ebpf => "ebpf",
    RingBufferReader => "ring-buffer-reader",
    Sink => "sink",
});

words!(Phase {
    Start => "start",
    Exit => "exit",
    ObserverDegraded => "observer-degraded",
    SupervisorError => "supervisor-error",
    Watch => "watch",
    Unwatch => "unwatch",
    AgentAttach => "agent-attach",
    AgentDetach => "agent-detach",
    AgentReject => "agent-reject",
    Continued => "continued",
});

/// A step in the life of a workload, the agent's hold on a container, or the observer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// `run`/`record` launched the workload (`pid`, `command`, `cgroup`).
    Start,
    /// The workload exited (`exit_code` or `signal`; from `run`, the `supervisor` summary).
    Exit,
    /// Observation could not start; enforcement runs without it (`reason`).
    ObserverDegraded,
    /// The supervisor failed while the workload ran (`reason`); its notified calls now get
    /// ENOSYS, or the workload is killed (`--on-supervisor-exit`).
    SupervisorError,
    /// `enforcer observe` started watching a cgroup (`cgroup`).
    Watch,
    /// `enforcer observe` stopped watching a cgroup (`cgroup`): it was removed, or observe
    /// stopped.
    Unwatch,
    /// `enforcer agent` took a container's listener (`reason`: status, policy, mode).
    AgentAttach,
    /// `enforcer agent` let a container go: no process uses the filter any more.
    AgentDetach,
    /// `enforcer agent` refused a connection (`reason`: what was wrong; `container` when the
    /// state said).
    AgentReject,
    /// The first lines of a rotated-to log file: a workload still running, with the fields of
    /// its `start`, `watch` or `agent-attach` (which are in an older file).
    Continued,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LifecycleEvent {
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// At exit: what the supervisor answered, and its peak memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<SupervisorSummary>,
    /// The cgroup's directory (start, watch, unwatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// At the exit of `run` and `record`: the `--observe` mode (off, counts, trace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<String>,
}

/// At a workload's exit, what the supervisor answered over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupervisorSummary {
    /// Calls let through.
    pub allowed: u64,
    /// Calls carried out by the supervisor.
    pub emulated: u64,
    /// Calls refused.
    pub denied: u64,
    /// Audit mode: calls enforce mode would have refused.
    pub would_deny: u64,
    /// Answers the kernel no longer wanted (caller interrupted or gone).
    pub stale: u64,
    /// The enforcer's peak resident memory, KiB.
    pub max_rss_kb: u64,
}

impl LifecycleEvent {
    pub fn phase(phase: Phase) -> Self {
        Self {
            phase,
            pid: None,
            command: None,
            exit_code: None,
            signal: None,
            reason: None,
            supervisor: None,
            cgroup: None,
            observation: None,
        }
    }
}
