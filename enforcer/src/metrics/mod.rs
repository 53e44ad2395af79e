//! Prometheus metrics (`--metrics ADDR` on run, agent and observe), fed from the event log:
//! [`Metrics`] is the sink's [`EventObserver`], so it sees exactly the events that are
//! written (a dropped event only as its `lost` count) and every counter equals a count in the
//! log of the same run. Metric and label reference: docs/rollout.md#metrics.

mod labels;
mod server;
mod setup;

pub use labels::{MAX_CONTAINERS, workload_label};
pub use server::MetricsError;
pub use setup::{TelemetryError, open_event_log};

use crate::events::{DecisionEvent, EventKind, EventObserver, Outcome, SyscallEvent, Workload};
use labels::{ContainerLabels, errno_label, syscall_label};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Buckets of the notify round trip, in seconds: from tens of microseconds (an answer from
/// the registers) to the 5 s deadline after which a call is denied.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.5, 1.0, 5.0,
];

/// What a cumulative `syscall` aggregate said last, per (cgroup, arch, nr): the counters grow
/// by the difference to the next report.
#[derive(Default)]
struct Reported {
    count: u64,
    stopped: u64,
    errors: BTreeMap<String, u64>,
}

pub struct Metrics {
    registry: Registry,
    events: IntCounterVec,
    decisions: IntCounterVec,
    latency: HistogramVec,
    syscalls: IntCounterVec,
    stopped: IntCounterVec,
    errors: IntCounterVec,
    lost: IntCounterVec,
    lifecycle: IntCounterVec,
    queue_depth: IntGauge,
    containers: ContainerLabels,
    reported: Mutex<HashMap<(u64, String, u32), Reported>>,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "enforcer_notify_latency_seconds",
                "Time from receiving a notified call to answering it (decision events' latency_ns).",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["outcome"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(latency.clone()))
            .expect("unique metric");
        let queue_depth = IntGauge::new(
            "enforcer_event_queue_depth",
            "Events queued for the event log writer.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(queue_depth.clone()))
            .expect("unique metric");
        Self {
            events: counter(
                r,
                "enforcer_events_total",
                "Events logged, by kind.",
                &["kind"],
            ),
            decisions: counter(
                r,
                "enforcer_decisions_total",
                "Decisions on notified calls (decision events).",
                &["container", "syscall", "outcome"],
            ),
            syscalls: counter(
                r,
                "enforcer_syscalls_total",
                "Calls observed by the eBPF observer (count of syscall aggregates).",
                &["container", "syscall"],
            ),
            stopped: counter(
                r,
                "enforcer_syscalls_stopped_total",
                "Observed calls that failed without entering the kernel: seccomp or the supervisor stopped them.",
                &["container", "syscall"],
            ),
            errors: counter(
                r,
                "enforcer_syscall_errors_total",
                "Observed calls that failed, by errno.",
                &["container", "syscall", "errno"],
            ),
            lost: counter(
                r,
                "enforcer_lost_total",
                "What could not be recorded (lost events' count), by what and where.",
                &["what", "place"],
            ),
            lifecycle: counter(
                r,
                "enforcer_lifecycle_total",
                "Lifecycle events by phase (start, exit, observer-degraded, ...).",
                &["phase"],
            ),
            latency,
            queue_depth,
            registry,
            containers: ContainerLabels::default(),
            reported: Mutex::default(),
        }
    }

    /// The Prometheus text exposition (format 0.0.4), with the queue depth as of now.
    pub fn encode(&self, queue_depth: usize) -> Vec<u8> {
        self.queue_depth
            .set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding writes to memory");
        out
    }

    fn decision(&self, workload: &Workload, d: &DecisionEvent) {
        let outcome = outcome_label(d.outcome);
        let container = self.containers.label(workload);
        self.decisions
            .with_label_values(&[container.as_str(), syscall_label(Some(&d.syscall)), outcome])
            .inc();
        self.latency
            .with_label_values(&[outcome])
            .observe(d.latency_ns as f64 / 1e9);
    }

    fn aggregate(&self, workload: &Workload, s: &SyscallEvent) {
        let key = (workload.cgroup_id, s.arch.clone(), s.nr);
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let last = reported.entry(key).or_default();
        let container = self.containers.label(workload);
        let syscall = syscall_label(s.name.as_deref());
        let stopped = crate::events::stopped_before_entry(s.count, s.entered, &s.errors);
        self.syscalls
            .with_label_values(&[container.as_str(), syscall])
            .inc_by(s.count.saturating_sub(last.count));
        // Series for stops and errors appear with the first one, not for every syscall.
        if stopped > last.stopped {
            self.stopped
                .with_label_values(&[container.as_str(), syscall])
                .inc_by(stopped - last.stopped);
        }
        for (errno, n) in &s.errors {
            let before = last.errors.get(errno).copied().unwrap_or(0);
            if *n > before {
                self.errors
                    .with_label_values(&[container.as_str(), syscall, errno_label(errno)])
                    .inc_by(n - before);
            }
        }
        last.count = last.count.max(s.count);
        last.stopped = last.stopped.max(stopped);
        for (errno, n) in &s.errors {
            let e = last.errors.entry(errno.clone()).or_default();
            *e = (*e).max(*n);
        }
    }

    /// A cgroup that `observe` stopped watching: what it reported is no longer needed.
    fn forget(&self, cgroup_id: u64) {
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        reported.retain(|(id, _, _), _| *id != cgroup_id);
    }
}

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Allowed => "allowed",
        Outcome::Denied => "denied",
        Outcome::Emulated => "emulated",
        Outcome::WouldDeny => "would-deny",
    }
}

impl EventObserver for Metrics {
    fn observe(&self, workload: &Workload, kind: &EventKind) {
        let name = match kind {
            EventKind::Syscall(s) => {
                self.aggregate(workload, s);
                "syscall"
            }
            EventKind::SyscallCall(_) => "syscall",
            EventKind::Decision(d) => {
                self.decision(workload, d);
                "decision"
            }
            EventKind::Lost(l) => {
                self.lost
                    .with_label_values(&[l.what.as_str(), l.place.as_str()])
                    .inc_by(l.count);
                "lost"
            }
            EventKind::Lifecycle(l) => {
                self.lifecycle.with_label_values(&[l.phase.as_str()]).inc();
                if l.phase == "unwatch" {
                    self.forget(workload.cgroup_id);
                }
                "lifecycle"
            }
        };
        self.events.with_label_values(&[name]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{LifecycleEvent, LostEvent};

    fn text(m: &Metrics) -> String {
        String::from_utf8(m.encode(3)).unwrap()
    }

    fn aggregate(count: u64, entered: u64, eperm: u64) -> EventKind {
        EventKind::Syscall(SyscallEvent {
            nr: 165,
            name: Some("mount".into()),
            arch: "x86_64".into(),
            count,
            entered,
            errors: [("EPERM".to_string(), eperm)].into_iter().collect(),
        })
    }

    #[test]
    fn cumulative_aggregates_count_once_and_losses_add_up() {
        let m = Metrics::new();
        let w = Workload {
            cgroup_id: 5,
            container: None,
        };
        m.observe(&w, &aggregate(2, 0, 2));
        m.observe(&w, &aggregate(5, 1, 4));
        m.observe(&w, &aggregate(5, 1, 4)); // the final, complete report repeats
        for count in [3, 4] {
            m.observe(
                &Workload::default(),
                &EventKind::Lost(LostEvent {
                    what: "syscall-event".into(),
                    place: "ebpf".into(),
                    count,
                }),
            );
        }
        m.observe(&w, &EventKind::Lifecycle(LifecycleEvent::phase("start")));
        let t = text(&m);
        assert!(
            t.contains(r#"enforcer_syscalls_total{container="cgroup-5",syscall="mount"} 5"#),
            "{t}"
        );
        assert!(
            t.contains(
                r#"enforcer_syscalls_stopped_total{container="cgroup-5",syscall="mount"} 4"#
            ),
            "{t}"
        );
        assert!(t.contains(r#"enforcer_syscall_errors_total{container="cgroup-5",errno="EPERM",syscall="mount"} 4"#), "{t}");
        assert!(
            t.contains(r#"enforcer_lost_total{place="ebpf",what="syscall-event"} 7"#),
            "{t}"
        );
        assert!(
            t.contains(r#"enforcer_events_total{kind="syscall"} 3"#),
            "{t}"
        );
        assert!(
            t.contains(r#"enforcer_lifecycle_total{phase="start"} 1"#),
            "{t}"
        );
        assert!(t.contains("enforcer_event_queue_depth 3"), "{t}");
    }
}
