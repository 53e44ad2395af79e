//! `enforcer run`: profile, cgroup, observer, launch, supervise, report, clean up.

use crate::cgroup::{CgroupError, WorkloadCgroup};
use crate::cli::RunArgs;
use crate::events::{
    self, EventKind, EventSink, LifecycleEvent, LostEvent, SyscallEvent, Workload,
};
use crate::launch::{self, LaunchError, Launched, ResolvedCommand};
use crate::observe::{Observer, SyscallStat};
use crate::policy::{self, PolicyError};
use crate::profile::{self, CompiledFilter, LoadOptions, ProfileError, ResolveContext};
use crate::supervisor::{self, Mode};
use nix::sys::wait::{WaitStatus, waitpid};
use std::sync::Arc;

/// Exit code when the enforcer itself fails (as `docker run`).
pub const EXIT_ENFORCER_FAILED: u8 = 125;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Events(#[from] events::SinkError),
    #[error("{0}")]
    Cgroup(#[from] CgroupError),
    #[error("{0}")]
    Launch(#[from] LaunchError),
    #[error("waiting for the workload: {0}")]
    Wait(nix::errno::Errno),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Launch(e) => e.exit_code(),
            _ => EXIT_ENFORCER_FAILED,
        }
    }
}

/// The profile to run under: the file given, or the built-in default.
pub fn compile_profile(args: &RunArgs) -> Result<CompiledFilter, ProfileError> {
    let ctx = ResolveContext::from_system();
    let resolved = match &args.profile {
        Some(path) => {
            let loaded = profile::load_file(
                path,
                &LoadOptions {
                    allow_unknown_syscalls: args.allow_unknown_syscalls,
                },
            )?;
            for w in &loaded.warnings {
                tracing::warn!("{w}");
            }
            loaded.profile.resolve(&ctx)?
        }
        None => profile::builtin_resolved(&ctx)?,
    };
    resolved.compile()
}

/// Runs the workload and returns the exit code `enforcer run` exits with.
pub fn run(args: &RunArgs) -> Result<u8, RunError> {
    // Everything that can be refused is checked before anything is created or started.
    let filter = compile_profile(args)?;
    let policy = Arc::new(match &args.policy {
        Some(path) => policy::load_file(path)?,
        None => policy::builtin(),
    });
    let cmd = ResolvedCommand::resolve(&args.command).map_err(LaunchError::from)?;
    let sink = Arc::new(EventSink::open(args.events.as_deref())?);
    let name = args
        .cgroup
        .clone()
        .unwrap_or_else(|| format!("run-{}", std::process::id()));
    let cgroup = WorkloadCgroup::create(&name)?;
    let workload = Arc::new(Workload {
        cgroup_id: cgroup.id(),
        container: None,
    });

    let mut config = supervisor::Config::new(policy, sink.clone(), workload.clone());
    config.cgroup = Some(cgroup.path().to_owned());
    config.mode = match args.mode {
        crate::cli::RunMode::Enforce => Mode::Enforce,
        crate::cli::RunMode::Audit => Mode::Audit,
    };
    let result = supervise(&cmd, &filter, &cgroup, Arc::new(config));
    if let Err(e) = cgroup.remove() {
        tracing::warn!("{e}");
    }
    result
}

fn supervise(
    cmd: &ResolvedCommand,
    filter: &CompiledFilter,
    cgroup: &WorkloadCgroup,
    config: Arc<supervisor::Config>,
) -> Result<u8, RunError> {
    let (sink, workload) = (&config.sink, &config.workload);
    let mut observer = start_observer(cgroup.id(), sink, workload);
    let procs = cgroup.procs_file()?;
    let launched = launch::spawn(cmd, filter, &procs)?;
    drop(procs);
    sink.emit(
        workload,
        EventKind::Lifecycle(LifecycleEvent {
            pid: Some(launched.pid.as_raw() as u32),
            command: Some(cmd.args_lossy()),
            ..LifecycleEvent::phase("start")
        }),
    );
    let status = wait_supervised(launched, config.clone())?;
    if let Some(obs) = observer.as_mut() {
        report_counts(obs, sink, workload);
        if let Err(e) = obs.unwatch(workload.cgroup_id) {
            tracing::warn!("{e}");
        }
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
            ..LifecycleEvent::phase("exit")
        }),
    );
    Ok(code)
}

/// Loads the observer and watches the cgroup; on failure enforcement goes on and the log says
/// observation is degraded (DESIGN safety rule 6).
fn start_observer(cgroup_id: u64, sink: &EventSink, workload: &Workload) -> Option<Observer> {
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

/// Serves the listener until the workload is gone and reaps the workload.
fn wait_supervised(
    launched: Launched,
    config: Arc<supervisor::Config>,
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
        let stats = Arc::new(supervisor::Stats::default());
        let supervisor =
            listener.map(|l| tokio::spawn(supervisor::serve(l, config.clone(), stats.clone())));
        // SAFETY: the OwnedFd moves into the AsyncFd, which alone closes it, after deregistering.
        let exited = unsafe { tokio::io::unix::AsyncFd::register(pidfd) }
            .map_err(|e| RunError::Runtime(e.into()))?;
        let _ = exited.readable().await.map_err(RunError::Runtime)?;
        let status = waitpid(pid, None).map_err(RunError::Wait)?;
        if let Some(task) = supervisor {
            // Other processes of the workload may still use the filter; they are killed with
            // the cgroup, which closes the listener and ends the task.
            task.abort();
        }
        Ok(status)
    })
}

fn report_counts(observer: &Observer, sink: &EventSink, workload: &Workload) {
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
