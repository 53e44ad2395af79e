//! `enforcer run`: profile, cgroup, observer, launch, supervise, report, clean up.

mod observe_mode;
mod supervise;

pub use observe_mode::{ObserveModeError, check as check_observe_mode, log_mode};

pub use supervise::supervise;

pub use crate::cli::OnSupervisorExit;

use crate::cgroup::{CgroupError, WorkloadCgroup};
use crate::cli::{RunArgs, RunMode};
use crate::events::{self, Workload};
use crate::launch::{Credentials, LaunchError, ResolvedCommand};
use crate::policy::{self, PolicyError};
use crate::profile::{self, CapSet, LoadOptions, ProfileError, ResolveContext, ResolvedProfile};
use crate::supervisor::{self, Mode};
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
    Telemetry(#[from] crate::metrics::TelemetryError),
    #[error("{0}")]
    Cgroup(#[from] CgroupError),
    #[error("{0}")]
    Launch(#[from] LaunchError),
    #[error("waiting for the workload: {0}")]
    Wait(nix::errno::Errno),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Observe(#[from] ObserveModeError),
    #[error("starting the supervisor watchdog: {0}")]
    Watchdog(nix::errno::Errno),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Launch(e) => e.exit_code(),
            _ => EXIT_ENFORCER_FAILED,
        }
    }
}

/// The profile to run under: the file given, or the built-in default, resolved for this host.
/// `caps`: the workload's capability (bounding) set, which `includes.caps` are checked against.
/// The built-in default also notifies the calls `policy` has rules for that the supervisor
/// carries out (`@mkdir`), so that those rules apply.
pub fn resolve_profile(
    args: &RunArgs,
    caps: CapSet,
    policy: &policy::Policy,
) -> Result<ResolvedProfile, ProfileError> {
    let ctx = ResolveContext::from_system().with_caps(caps.names());
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
        None => profile::builtin_resolved(&ctx)?.with_notify_overlay(&policy.emulated_syscalls()),
    };
    Ok(resolved)
}

/// Runs the workload and returns the exit code `enforcer run` exits with.
pub fn run(args: &RunArgs) -> Result<u8, RunError> {
    // Everything that can be refused is checked before anything is created or started.
    let credentials = Credentials::docker(
        &args.caps.cap_add,
        &args.caps.cap_drop,
        args.user.as_deref(),
    )
    .map_err(LaunchError::from)?;
    crate::reach::warn_about_caps(credentials.caps);
    let policy = Arc::new(match &args.policy {
        Some(path) => policy::load_file(path)?,
        None => policy::builtin(),
    });
    let profile = Arc::new(resolve_profile(args, credentials.caps, &policy)?);
    let filter = match args.mode {
        RunMode::Enforce => profile.compile()?,
        // Audit: what the profile would stop goes to the supervisor, which lets it run.
        RunMode::Audit => profile.audit_variant().compile()?,
    };
    tracing::info!(
        "profile {} loaded and compiled for {:?} mode: {} BPF instructions, {}",
        profile.origin.display(),
        args.mode,
        filter.program.len(),
        if filter.notify {
            "notified calls go to the supervisor"
        } else {
            "no call is notified"
        }
    );
    let observe = observe_mode::launch_plan(args.observe_mode, &profile, &args.observe)?;
    let cmd = ResolvedCommand::resolve(&args.command)
        .map_err(LaunchError::from)?
        .with_credentials(credentials)
        .with_preserved_fds(args.preserve_fds);
    let sink = crate::metrics::open_event_log(args.events.as_deref(), &args.telemetry)?;
    let name = args
        .cgroup
        .clone()
        .unwrap_or_else(|| format!("run-{}", std::process::id()));
    let cgroup = WorkloadCgroup::create(&name)?;
    tracing::info!(
        "workload cgroup {} (id {})",
        cgroup.path().display(),
        cgroup.id()
    );
    let workload = Arc::new(Workload {
        cgroup_id: cgroup.id(),
        container: None,
    });

    let mut config = supervisor::Config::new(policy, sink.clone(), workload.clone());
    config.cgroup = Some(cgroup.path().to_owned());
    config.sync_wakeup = args.notify_sync_wakeup;
    config.mode = match args.mode {
        RunMode::Enforce => Mode::Enforce,
        RunMode::Audit => Mode::Audit,
    };
    config.profile = Some(profile);
    let observation =
        observe.and_then(|plan| crate::observe::Observation::start_for(plan, &sink, &workload));
    let result = supervise::supervise(
        &cmd,
        &filter,
        &cgroup,
        Arc::new(config),
        args.on_supervisor_exit,
        (args.observe_mode, observation),
    );
    if let Err(e) = cgroup.remove() {
        tracing::warn!("{e}");
    }
    result
}
