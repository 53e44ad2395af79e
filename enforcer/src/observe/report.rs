//! Turning what the observer counted and recorded into events: `syscall` aggregates (at an
//! interval and at the end), `syscall` calls from the ring buffer, and `lost` for whatever
//! could not be counted or delivered.

use super::Observer;
use super::counters::{Losses, SyscallStat};
use super::selection::profile_arch;
use crate::events::{
    self, ArgsAt, EventKind, EventSink, LostEvent, LostPlace, SyscallCountEvent, SyscallTraceEvent,
    Workload,
};
use crate::profile;
use enforcer_common::{CallRecord, RECORD_ARGS_AT_ENTRY, RECORD_NO_RETURN};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The kernel's MAX_ERRNO: returns in -4095..=-1 are errors.
const MAX_ERRNO: i64 = 4095;

pub fn syscall_event(stat: &SyscallStat) -> SyscallCountEvent {
    let arch = profile_arch(stat.arch);
    SyscallCountEvent {
        nr: stat.nr,
        name: profile::syscall_name(stat.nr.into(), arch),
        arch: events::arch_label(arch),
        count: stat.calls(),
        entered: stat.entered,
        errors: stat
            .errors
            .iter()
            .map(|(e, n)| (events::errno_name((*e).into()), *n))
            .collect(),
    }
}

pub fn call_event(rec: &CallRecord) -> SyscallTraceEvent {
    let arch = profile_arch(rec.arch);
    let returned = rec.flags & RECORD_NO_RETURN == 0;
    let comm_len = rec
        .comm
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(rec.comm.len());
    SyscallTraceEvent {
        nr: rec.nr,
        name: profile::syscall_name(rec.nr.into(), arch),
        arch: events::arch_label(arch),
        pid: rec.pid,
        tid: rec.tid,
        comm: String::from_utf8_lossy(&rec.comm[..comm_len]).into_owned(),
        args: rec.args,
        args_at: if rec.flags & RECORD_ARGS_AT_ENTRY != 0 {
            ArgsAt::Entry
        } else {
            ArgsAt::Exit
        },
        ret: returned.then_some(rec.ret),
        errno: (returned && (-MAX_ERRNO..0).contains(&rec.ret))
            .then(|| events::errno_name((-rec.ret) as i32)),
    }
}

/// One `lost` event per kind with a count.
pub fn emit_losses(sink: &EventSink, workload: &Workload, losses: &Losses) {
    for (what, count) in losses.kinds() {
        if count > 0 {
            sink.emit(
                workload,
                EventKind::Lost(LostEvent {
                    what,
                    place: LostPlace::Ebpf,
                    count,
                }),
            );
        }
    }
}

/// What has been reported so far, so that interval reports carry only what changed and loss
/// events add up to the total.
#[derive(Default)]
pub struct Reporter {
    last: BTreeMap<(u64, u32, u32), SyscallStat>,
    losses: Losses,
}

impl Reporter {
    /// Emits the cumulative counts of the `workloads` (all of them when `complete`, else only
    /// those that changed since the last report) and the losses since the last report,
    /// attributed to `loss_owner`.
    pub fn report(
        &mut self,
        observer: &Observer,
        workloads: &BTreeMap<u64, Arc<Workload>>,
        sink: &EventSink,
        loss_owner: &Workload,
        complete: bool,
    ) {
        match observer.all_counts() {
            Ok(all) => {
                for (cgroup_id, stats) in all {
                    let Some(workload) = workloads.get(&cgroup_id) else {
                        continue;
                    };
                    for stat in stats {
                        let key = (cgroup_id, stat.arch, stat.nr);
                        if complete || self.last.get(&key) != Some(&stat) {
                            sink.emit(workload, EventKind::SyscallCount(syscall_event(&stat)));
                            self.last.insert(key, stat);
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("reading observer counters: {e}"),
        }
        match observer.losses() {
            Ok(now) => {
                emit_losses(sink, loss_owner, &now.since(&self.losses));
                self.losses = now;
            }
            Err(e) => tracing::warn!("reading observer losses: {e}"),
        }
    }

    /// Forgets what was reported of a cgroup that is gone.
    pub fn forget(&mut self, cgroup_id: u64) {
        self.last.retain(|(id, _, _), _| *id != cgroup_id);
    }
}
