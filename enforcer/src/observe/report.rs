//! Turning the observer's counters into events for one workload: start watching it (or say
//! observation is degraded), and report its per-syscall counts and the losses.

use super::{Observer, SyscallStat};
use crate::events::{
    self, EventKind, EventSink, LifecycleEvent, LostEvent, SyscallEvent, Workload,
};
use crate::profile;

/// Loads the observer and watches the cgroup; on failure enforcement goes on and the log says
/// observation is degraded (DESIGN safety rule 6).
pub fn start_observer(cgroup_id: u64, sink: &EventSink, workload: &Workload) -> Option<Observer> {
    let attempt = Observer::load().and_then(|mut o| o.watch(cgroup_id).map(|()| o));
    match attempt {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::warn!("observation degraded: {e}");
            sink.emit(
                workload,
                EventKind::Lifecycle(LifecycleEvent {
                    reason: Some(e.to_string()),
                    ..LifecycleEvent::phase("observer-degraded")
                }),
            );
            None
        }
    }
}

pub fn report_counts(observer: &Observer, sink: &EventSink, workload: &Workload) {
    match observer.counts(workload.cgroup_id) {
        Ok(stats) => {
            for stat in stats {
                sink.emit(workload, EventKind::Syscall(syscall_event(&stat)));
            }
        }
        Err(e) => tracing::warn!("reading observer counters: {e}"),
    }
    match observer.losses() {
        Ok(l) => {
            for (what, count) in [
                ("syscall-count", l.counts_map_full),
                ("errno-count", l.errno_map_full),
                ("syscall-number", l.regs_unreadable),
            ] {
                if count > 0 {
                    sink.emit(
                        workload,
                        EventKind::Lost(LostEvent {
                            what: what.into(),
                            place: "ebpf".into(),
                            count,
                        }),
                    );
                }
            }
        }
        Err(e) => tracing::warn!("reading observer losses: {e}"),
    }
}

fn syscall_event(stat: &SyscallStat) -> SyscallEvent {
    SyscallEvent {
        nr: stat.nr,
        name: profile::syscall_name(stat.nr.into(), profile::native_arch()),
        arch: events::arch_label(profile::native_arch()),
        count: stat.exited,
        entered: stat.entered,
        errors: stat
            .errors
            .iter()
            .map(|(e, n)| (events::errno_name((*e).into()), *n))
            .collect(),
    }
}
