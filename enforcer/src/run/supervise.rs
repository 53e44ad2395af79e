//! Running the launched workload under its supervisor until it exits.

use super::{EXIT_ENFORCER_FAILED, OnSupervisorExit, RunError};
use crate::cgroup::WorkloadCgroup;
use crate::cli::ObserveMode;
use crate::events::{EventKind, LifecycleEvent, Phase, SupervisorSummary};
use crate::launch::{self, Launched, ResolvedCommand};
use crate::observe::Observation;
use crate::profile::CompiledFilter;
use crate::supervisor::{self, Stats};
use crate::watchdog::Watchdog;
use nix::sys::wait::{WaitStatus, waitpid};
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};

/// How long killed processes may take to let go of the filter, on top of the deadline of
/// the decisions still under way.
const TEARDOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// Launches `cmd` in `cgroup` under `filter`, supervises it, reports (finishing the
/// `observation` of the cgroup, started by the caller; the exit event names its mode), and
/// returns the exit code of `enforcer run`.
pub fn supervise(
    cmd: &ResolvedCommand,
    filter: &CompiledFilter,
    cgroup: &WorkloadCgroup,
    config: Arc<supervisor::Config>,
    on_exit: OnSupervisorExit,
    (mode, observation): (ObserveMode, Option<Observation>),
) -> Result<u8, RunError> {
    let (sink, workload) = (&config.sink, &config.workload);
    let starting = launch::spawn(cmd, filter, cgroup)?;
    // Up before the workload runs anything, so that no moment exists in which the enforcer
    // could die and leave it running; forked before the runtime starts, while this process
    // has a single thread, and after the hand-off, so that it can keep the listener. It runs
    // whatever `on_exit` says: if the enforcer itself dies, the workload goes with it.
    let watchdog = match Watchdog::spawn(cgroup.path(), starting.listener_fd()) {
        Ok(w) => w,
        Err(e) => {
            starting.abort();
            return Err(RunError::Watchdog(e));
        }
    };
    let launched = match starting.start() {
        Ok(l) => l,
        Err(e) => {
            watchdog.dismiss();
            return Err(e.into());
        }
    };
    sink.emit(
        workload,
        EventKind::Lifecycle(LifecycleEvent {
            pid: Some(launched.pid.as_raw() as u32),
            command: Some(cmd.args_lossy()),
            cgroup: Some(cgroup.path().display().to_string()),
            ..LifecycleEvent::phase(Phase::Start)
        }),
    );
    let stats = Arc::new(Stats::default());
    let status = wait_supervised(
        launched,
        cgroup,
        config.clone(),
        stats.clone(),
        (on_exit, &watchdog),
    );
    watchdog.dismiss();
    let status = status?;
    // The workload is gone: the final reports wait for room in the log rather than drop.
    sink.finishing();
    if let Some(observation) = observation {
        observation.finish();
    }
    let (code, exit_code, signal) = match status {
        WaitStatus::Exited(_, c) => (c as u8, Some(c), None),
        WaitStatus::Signaled(_, sig, _) => (128u8.wrapping_add(sig as u8), None, Some(sig as i32)),
        _ => (EXIT_ENFORCER_FAILED, None, None),
    };
    sink.emit(
        workload,
        EventKind::Lifecycle(LifecycleEvent {
            exit_code,
            signal,
            supervisor: Some(summary(&stats)),
            observation: Some(mode.name().to_owned()),
            ..LifecycleEvent::phase(Phase::Exit)
        }),
    );
    sink.flush();
    Ok(code)
}

fn summary(stats: &Stats) -> SupervisorSummary {
    // SAFETY: getrusage fills the struct it is given.
    let max_rss_kb = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru.ru_maxrss as u64
    };
    SupervisorSummary {
        allowed: Stats::get(&stats.allowed),
        emulated: Stats::get(&stats.emulated),
        denied: Stats::get(&stats.denied),
        would_deny: Stats::get(&stats.would_deny),
        stale: Stats::get(&stats.stale),
        max_rss_kb,
    }
}

/// Serves the listener until the workload's main process exits, and reaps it. If the
/// supervisor fails first, the log says so and, with `--on-supervisor-exit kill`, the
/// workload's cgroup is killed; otherwise its notified calls get ENOSYS from the kernel.
///
/// SIGTERM to the enforcer is passed on to the workload, which is still supervised while it
/// shuts down; `run` then reports its exit and flushes the log as usual. SIGINT does not stop
/// the enforcer either: from a terminal it reaches the workload (same process group) anyway.
fn wait_supervised(
    launched: Launched,
    cgroup: &WorkloadCgroup,
    config: Arc<supervisor::Config>,
    stats: Arc<Stats>,
    on_exit: (OnSupervisorExit, &Watchdog),
) -> Result<WaitStatus, RunError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let Launched {
        pid,
        pidfd,
        listener,
    } = launched;
    runtime.block_on(async {
        let mut supervisor = listener.map(|l| tokio::spawn(supervisor::serve(l, config.clone(), stats.clone())));
        // SAFETY: the OwnedFd moves into the AsyncFd, which alone closes it, after deregistering.
        let exited = unsafe { tokio::io::unix::AsyncFd::register(pidfd) }.map_err(|e| RunError::Runtime(e.into()))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(RunError::Runtime)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(RunError::Runtime)?;
        loop {
            tokio::select! {
                ready = exited.readable() => {
                    let _guard = ready.map_err(RunError::Runtime)?;
                    break;
                }
                _ = terminate.recv() => {
                    tracing::info!("SIGTERM: passing it on to the workload");
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                }
                _ = interrupt.recv() => {}
                result = async { supervisor.as_mut().expect("guarded").await }, if supervisor.is_some() => {
                    supervisor = None;
                    if let Some(reason) = failure(result) {
                        supervisor_failed(&config, on_exit, reason);
                    }
                }
            }
        }
        let status = waitpid(pid, None).map_err(RunError::Wait)?;
        if let Some(mut task) = supervisor {
            // The rest of the workload goes with its main process (as it would when the
            // cgroup is removed), so the filter is left without users, and the supervisor
            // ends once the decisions under way are answered and logged (a kill decision's
            // event included).
            if let Err(e) = cgroup.kill() {
                tracing::error!("{e}");
            }
            match tokio::time::timeout(config.deadline + TEARDOWN, &mut task).await {
                Ok(result) => {
                    if let Some(reason) = failure(result) {
                        supervisor_failed(&config, on_exit, reason);
                    }
                }
                Err(_) => {
                    // Only processes that left the cgroup can still hold the filter; their
                    // notified calls get ENOSYS once this process exits.
                    tracing::warn!("processes outside the workload's cgroup still use its filter");
                    task.abort();
                }
            }
        }
        Ok(status)
    })
}

/// Why the supervisor task ended badly, if it did.
fn failure(
    result: Result<Result<(), supervisor::SupervisorError>, tokio::task::JoinError>,
) -> Option<String> {
    match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(format!("supervisor task: {e}")),
    }
}

fn supervisor_failed(
    config: &supervisor::Config,
    (on_exit, watchdog): (OnSupervisorExit, &Watchdog),
    reason: String,
) {
    tracing::error!("supervisor failed: {reason}");
    config.sink.emit(
        &config.workload,
        EventKind::Lifecycle(LifecycleEvent {
            reason: Some(reason),
            ..LifecycleEvent::phase(Phase::SupervisorError)
        }),
    );
    if on_exit == OnSupervisorExit::Enosys {
        watchdog.release_listener();
    }
    if on_exit == OnSupervisorExit::Kill
        && let Some(cg) = &config.cgroup
        && let Err(e) = std::fs::write(cg.join("cgroup.kill"), b"1")
    {
        tracing::error!("killing cgroup {}: {e}", cg.display());
    }
}
