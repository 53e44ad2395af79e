//! Prometheus metrics (`--metrics ADDR` on run, agent and observe), fed from the event log:
//! [`Metrics`] is the sink's [`EventObserver`], so it sees exactly the events that are
//! written (a dropped event only as its `lost` count) and every counter equals a count in the
//! log of the same run. Metric and label reference: docs/rollout.md#metrics.

mod addr;
mod labels;
mod process;
mod server;
mod setup;

pub use addr::parse_metrics_addr;
pub use labels::{MAX_CONTAINERS, MAX_RULES, workload_label};
pub use server::MetricsError;
pub use setup::{TelemetryError, open_event_log};

use crate::events::{
    DecisionEvent, EventKind, EventObserver, LostPlace, LostWhat, Outcome, Phase,
    SyscallCountEvent, Workload,
};
use labels::{CappedLabels, errno_label, rule_label, syscall_label};
use process::ProcessMetrics;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Buckets of the notify round trip, in seconds: from tens of microseconds (an answer from
/// the registers) to the 5 s deadline after which a call is denied.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.5, 1.0, 5.0,
];

/// What a cumulative `syscall_count` aggregate said last, per (cgroup, arch, nr): the counters grow
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
    process: ProcessMetrics,
    containers: CappedLabels,
    rules: CappedLabels,
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
        let metrics = Self {
            events: counter(
                r,
                "enforcer_events_total",
                "Events logged, by kind.",
                &["kind"],
            ),
            decisions: counter(
                r,
                "enforcer_decisions_total",
                "Decisions on notified calls (decision events), by the rule that decided.",
                &["container", "syscall", "outcome", "rule"],
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
            process: ProcessMetrics::new(r),
            containers: CappedLabels::new(labels::MAX_CONTAINERS),
            rules: CappedLabels::new(labels::MAX_RULES),
            reported: Mutex::default(),
            registry,
        };
        build_info(&metrics.registry);
        metrics.zero_series();
        metrics
    }

    /// The series alerts read exist from the start, at 0, so that `absent()` means "not
    /// exported" and `== 0` means "none": decisions and latency by outcome (with empty
    /// workload labels, which Prometheus stores as no label), losses by every known cause,
    /// lifecycle events by phase.
    fn zero_series(&self) {
        for outcome in Outcome::ALL.iter().map(|o| o.as_str()) {
            self.decisions.with_label_values(&["", "", outcome, ""]);
            self.latency.with_label_values(&[outcome]);
        }
        let ebpf = crate::observe::Losses::default()
            .kinds()
            .map(|(what, _)| (what, LostPlace::Ebpf));
        for (what, place) in ebpf.into_iter().chain(OTHER_LOSSES) {
            self.lost
                .with_label_values(&[what.as_str(), place.as_str()]);
        }
        for phase in Phase::ALL {
            self.lifecycle.with_label_values(&[phase.as_str()]);
        }
    }

    /// The Prometheus text exposition (format 0.0.4), with the queue depth as of now.
    pub fn encode(&self, queue_depth: usize) -> Vec<u8> {
        self.queue_depth
            .set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        self.process.update();
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding writes to memory");
        out
    }

    fn decision(&self, workload: &Workload, d: &DecisionEvent) {
        let outcome = d.outcome.as_str();
        let container = self.containers.label(workload_label(workload));
        let rule = self.rules.label(rule_label(&d.rule).to_string());
        let syscall = syscall_label(Some(&d.syscall));
        self.decisions
            .with_label_values(&[container.as_str(), syscall, outcome, rule.as_str()])
            .inc();
        self.latency
            .with_label_values(&[outcome])
            .observe(d.latency_ns as f64 / 1e9);
    }

    fn aggregate(&self, workload: &Workload, s: &SyscallCountEvent) {
        let key = (workload.cgroup_id, s.arch.clone(), s.nr);
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let last = reported.entry(key).or_default();
        let container = self.containers.label(workload_label(workload));
        let syscall = syscall_label(s.name.as_deref());
        let stopped = s.stopped();
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

/// Losses outside the eBPF program (whose causes [`crate::observe::Losses`] lists).
const OTHER_LOSSES: [(LostWhat, LostPlace); 2] = [
    (LostWhat::SyscallEvent, LostPlace::RingBufferReader),
    (LostWhat::Event, LostPlace::Sink),
];

/// `enforcer_build_info{version, schema, arch} 1`: which enforcer a series came from.
fn build_info(registry: &Registry) {
    let info = IntGaugeVec::new(
        Opts::new(
            "enforcer_build_info",
            "The enforcer's version, event schema and architecture; always 1.",
        ),
        &["version", "schema", "arch"],
    )
    .expect("valid metric");
    info.with_label_values(&[
        env!("CARGO_PKG_VERSION"),
        crate::events::SCHEMA,
        std::env::consts::ARCH,
    ])
    .set(1);
    registry.register(Box::new(info)).expect("unique metric");
}

impl EventObserver for Metrics {
    fn observe(&self, workload: &Workload, kind: &EventKind) {
        match kind {
            EventKind::SyscallCount(s) => self.aggregate(workload, s),
            EventKind::SyscallTrace(_) => {}
            EventKind::Decision(d) => self.decision(workload, d),
            EventKind::Lost(l) => {
                self.lost
                    .with_label_values(&[l.what.as_str(), l.place.as_str()])
                    .inc_by(l.count);
            }
            EventKind::Lifecycle(l) => {
                self.lifecycle.with_label_values(&[l.phase.as_str()]).inc();
                if l.phase == Phase::Unwatch {
                    self.forget(workload.cgroup_id);
                }
            }
        }
        self.events.with_label_values(&[kind.name()]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{LifecycleEvent, LostEvent, LostPlace, LostWhat};

    fn text(m: &Metrics) -> String {
        String::from_utf8(m.encode(3)).unwrap()
    }

    fn aggregate(count: u64, entered: u64, eperm: u64) -> EventKind {
        EventKind::SyscallCount(SyscallCountEvent {
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
                    what: LostWhat::SyscallEvent,
                    place: LostPlace::Ebpf,
                    count,
                }),
            );
        }
        m.observe(
            &w,
            &EventKind::Lifecycle(LifecycleEvent::phase(Phase::Start)),
        );
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
            t.contains(r#"enforcer_events_total{kind="syscall_count"} 3"#),
            "{t}"
        );
        assert!(
            t.contains(r#"enforcer_lifecycle_total{phase="start"} 1"#),
            "{t}"
        );
        assert!(t.contains("enforcer_event_queue_depth 3"), "{t}");
    }

    #[test]
    fn alert_series_start_at_zero_with_build_info_and_process_metrics() {
        let t = text(&Metrics::new());
        for line in [
            r#"enforcer_decisions_total{container="",outcome="would-deny",rule="",syscall=""} 0"#,
            r#"enforcer_decisions_total{container="",outcome="denied",rule="",syscall=""} 0"#,
            r#"enforcer_lost_total{place="ebpf",what="syscall-count"} 0"#,
            r#"enforcer_lost_total{place="sink",what="event"} 0"#,
            r#"enforcer_lifecycle_total{phase="agent-detach"} 0"#,
            r#"enforcer_notify_latency_seconds_count{outcome="allowed"} 0"#,
        ] {
            assert!(t.contains(line), "{line} missing:\n{t}");
        }
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            t.contains(&format!(
                r#"enforcer_build_info{{arch="{}",schema="{}",version="{version}"}} 1"#,
                std::env::consts::ARCH,
                crate::events::SCHEMA
            )),
            "{t}"
        );
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(
                t.lines().any(|l| l.starts_with(&format!("{name} "))),
                "{name}:\n{t}"
            );
        }
    }

    #[test]
    fn decisions_carry_the_deciding_rule_with_failures_folded() {
        let m = Metrics::new();
        let decide = |rule: &str| {
            EventKind::Decision(DecisionEvent {
                syscall: "chmod".into(),
                nr: 90,
                arch: "x86_64".into(),
                args: [0; 6],
                pid: 1,
                path: None,
                rule: rule.into(),
                outcome: Outcome::Denied,
                errno: Some(1),
                would: None,
                latency_ns: 1000,
            })
        };
        let w = Workload::default();
        m.observe(&w, &decide("setuid-bits"));
        m.observe(&w, &decide("error: pid 7 is gone"));
        m.observe(&w, &decide("error: pid 8 is gone"));
        let t = text(&m);
        assert!(t.contains(r#"enforcer_decisions_total{container="host",outcome="denied",rule="setuid-bits",syscall="chmod"} 1"#), "{t}");
        assert!(t.contains(r#"enforcer_decisions_total{container="host",outcome="denied",rule="error",syscall="chmod"} 2"#), "{t}");
    }
}
