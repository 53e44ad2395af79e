//! `record --cgroup PATH`: records a workload that already runs (a container) in its cgroup,
//! from now until the duration is up, the enforcer is interrupted, or the cgroup is removed,
//! as the Security Profiles Operator and Inspektor Gadget record containers.

use super::RecordError;
use crate::cgroup;
use crate::cli::RecordArgs;
use crate::events::{EventSink, Phase, Workload};
use crate::observe::command::{named_target, until_stopped, watch_event};
use crate::observe::{FinishHook, Observation, ObservePlan, Selection, WatchSpec};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How often the recorder looks whether the cgroup is still there.
const POLL: Duration = Duration::from_millis(200);

pub fn record(
    path: &Path,
    args: &RecordArgs,
    mut plan: ObservePlan,
    selection: Selection,
    hand_over: &dyn Fn(u64) -> FinishHook,
) -> Result<(), RecordError> {
    let root = cgroup::v2_root()?;
    let target = named_target(&root, path)?;
    let sink = Arc::new(EventSink::open(args.events.as_deref())?);
    let workload = Arc::new(Workload {
        cgroup_id: target.id,
        container: crate::observe::container::identify_under(&root, &target.path, "enforcer"),
    });
    plan.on_finish = Some(hand_over(target.id));
    let observation = Observation::start(plan, sink.clone(), workload.clone())?;
    // Its calls in flight now began before: only what it does from here on is recorded.
    let watch = WatchSpec {
        from_exec: false,
        selection,
    };
    observation.watch(workload.clone(), &watch)?;
    sink.emit(&workload, watch_event(Phase::Watch, &target.path));
    let procs = target.path.join("cgroup.procs");
    until_stopped(args.duration, POLL, || procs.exists())?;
    observation.finish();
    sink.emit(&workload, watch_event(Phase::Unwatch, &target.path));
    sink.flush();
    Ok(())
}
