//! `enforcer record`: runs a workload without a filter that refuses anything, in a cgroup of
//! its own, observes every syscall of every process in it from its exec on, and writes a
//! Docker-format profile that allows what it did and nothing else.

mod args;
mod existing;
mod generate;
mod recording;

pub use args::arg_rule;
pub use generate::{profile as generate_profile, rule_for_values};
pub use recording::{ANNOTATION, ArgValues, Recording, RecordingError};

use crate::cgroup::{CgroupError, WorkloadCgroup};
use crate::cli::{ObserveMode, OnSupervisorExit, RecordArgs};
use crate::events::{self, EventSink, Workload};
use crate::launch::Credentials;
use crate::launch::{LaunchError, ResolvedCommand};
use crate::observe::{
    Delivery, FinishHook, Observation, ObserveError, ObservePlan, Selection, SyscallStat, WatchSpec,
};
use crate::profile::{self, LoadOptions, ProfileError, ResolveContext};
use crate::run::{EXIT_ENFORCER_FAILED, RunError};
use crate::{policy, supervisor};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0}")]
    Merge(#[from] RecordingError),
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Events(#[from] events::SinkError),
    #[error("{0}")]
    Cgroup(#[from] CgroupError),
    #[error("{0}")]
    Launch(#[from] LaunchError),
    #[error("{0}")]
    Trace(#[from] crate::observe::UnknownSyscall),
    #[error("{0}")]
    Observe(#[from] crate::run::ObserveModeError),
    #[error("recording needs the eBPF observer: {0}")]
    Observer(#[from] ObserveError),
    #[error("{0}")]
    Run(#[from] RunError),
    #[error("--output {}: {source}", file.display())]
    Output {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the observer delivered no counts for the workload's cgroup")]
    NoCounts,
    #[error("{0}")]
    Existing(#[from] crate::observe::command::ObserveCommandError),
}

impl RecordError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Launch(e) => e.exit_code(),
            Self::Run(e) => e.exit_code(),
            _ => EXIT_ENFORCER_FAILED,
        }
    }
}

/// The recording filter: lets everything through, for every x86 ABI (calls of an ABI a
/// filter does not list would be killed as a bad architecture, which would change what the
/// workload does), but the calls the generated profile answers ENOSYS, so that what the
/// workload does instead (clone for clone3) is recorded.
fn recording_filter() -> String {
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [args::enosys_rule()],
    })
    .to_string()
}

/// What the observer hands over at the end of the run.
type Outcome = Arc<Mutex<Option<(Vec<SyscallStat>, Delivery)>>>;

/// Records the workload and writes the profile; returns the workload's exit code (0 for a
/// workload recorded in its cgroup, which goes on running).
pub fn record(args: &RecordArgs) -> Result<u8, RecordError> {
    // Everything that can be refused is checked before anything starts.
    if args.observe_mode == ObserveMode::Off {
        return Err(crate::run::ObserveModeError::RecordNeedsObservation.into());
    }
    crate::run::check_observe_mode(args.observe_mode, &args.observe)?;
    crate::run::log_mode(args.observe_mode);
    let previous = args
        .merge
        .as_deref()
        .map(Recording::read_from)
        .transpose()?;
    let destination = Destination::open(args.output.as_deref())?;
    // The argument-aware syscalls in detail (their values make the narrower rules), and what
    // --trace names, as events.
    let mut traced = args::names();
    traced.extend(args.observe.trace.iter().cloned());
    let selection = Selection::named(&traced)?;
    let values = Arc::new(Mutex::new(ArgValues::default()));
    let outcome: Outcome = Arc::default();
    let mut plan = ObservePlan::from_args(&args.observe);
    plan.emit_calls = !args.observe.trace.is_empty();
    plan.consumer = Some({
        let values = values.clone();
        Box::new(move |rec| lock(&values).add(rec))
    });
    let hand_over = |id: u64| -> FinishHook {
        let outcome = outcome.clone();
        Box::new(move |stats, delivery| {
            *lock(&outcome) = Some((stats.get(&id).cloned().unwrap_or_default(), *delivery));
        })
    };
    let code = match &args.cgroup {
        Some(path) => {
            existing::record(path, args, plan, selection, &hand_over)?;
            0
        }
        None => launched(args, plan, selection, &hand_over)?,
    };

    let (stats, delivery) = lock(&outcome).take().ok_or(RecordError::NoCounts)?;
    let complete = delivery.ring_buffer_full == 0 && delivery.submitted == delivery.received;
    if !complete {
        tracing::warn!(
            "detailed events were lost ({} of {}): argument-aware syscalls are allowed by name",
            delivery.submitted.saturating_sub(delivery.received) + delivery.ring_buffer_full,
            delivery.submitted + delivery.ring_buffer_full
        );
    }
    let values = std::mem::take(&mut *lock(&values));
    let mut recording = Recording::of_run(&stats, values, complete);
    for (abi, calls) in &recording.other_abis {
        let names: Vec<&str> = calls.keys().map(String::as_str).collect();
        tracing::warn!(
            "the workload made {abi} calls ({}); the profile allows the native ABI only",
            names.join(", ")
        );
    }
    if let Some(previous) = previous {
        recording.merge(previous);
    }
    destination.write(&recording)?;
    Ok(code)
}

/// `record -- CMD`: launches CMD in a cgroup of its own under the recording filter, with the
/// credentials `run` would give it, observed from its exec on.
fn launched(
    args: &RecordArgs,
    mut plan: ObservePlan,
    selection: Selection,
    hand_over: &dyn Fn(u64) -> FinishHook,
) -> Result<u8, RecordError> {
    let credentials = Credentials::docker(
        &args.caps.cap_add,
        &args.caps.cap_drop,
        args.user.as_deref(),
    )
    .map_err(LaunchError::from)?;
    let filter = profile::parse_str(
        &recording_filter(),
        Path::new("<record: allow all but clone3>"),
        &LoadOptions::default(),
    )?
    .profile
    .resolve(&ResolveContext::from_system())?
    .compile()?;
    let watch = WatchSpec {
        from_exec: true,
        selection,
    };
    let cmd = ResolvedCommand::resolve(&args.command)
        .map_err(LaunchError::from)?
        .with_credentials(credentials);
    let sink = Arc::new(EventSink::open(args.events.as_deref())?);
    let cgroup = WorkloadCgroup::create(&format!("record-{}", std::process::id()))?;
    let workload = Arc::new(Workload {
        cgroup_id: cgroup.id(),
        container: None,
    });
    plan.on_finish = Some(hand_over(cgroup.id()));
    let started = Observation::start(plan, sink.clone(), workload.clone())
        .and_then(|o| o.watch(workload.clone(), &watch).map(|()| o));
    let observation = match started {
        Ok(o) => o,
        Err(e) => {
            let _ = cgroup.remove();
            return Err(e.into());
        }
    };
    let mut config = supervisor::Config::new(Arc::new(policy::builtin()), sink.clone(), workload);
    config.cgroup = Some(cgroup.path().to_owned());
    let result = crate::run::supervise(
        &cmd,
        &filter,
        &cgroup,
        Arc::new(config),
        OnSupervisorExit::Enosys,
        (args.observe_mode, Some(observation)),
    );
    if let Err(e) = cgroup.remove() {
        tracing::warn!("{e}");
    }
    Ok(result?)
}

/// How many syscalls the generated profile allows only with some argument values: those of
/// every rule after the first, which allows the rest by name.
fn narrowed_names(profile: &serde_json::Value) -> usize {
    let rules = profile["syscalls"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let names: std::collections::BTreeSet<&str> = rules
        .iter()
        .skip(1)
        .filter_map(|r| r["names"].as_array())
        .flatten()
        .filter_map(|n| n.as_str())
        .collect();
    names.len()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where the profile goes. For --output, a temporary file beside it, made before anything
/// starts (an unwritable place is refused first) and renamed over it once the profile is
/// complete; when recording fails it is removed, so no empty or partial profile is left.
enum Destination {
    Stdout,
    File {
        path: PathBuf,
        temp: tempfile::NamedTempFile,
    },
}

impl Destination {
    fn open(out: Option<&Path>) -> Result<Self, RecordError> {
        let Some(path) = out else {
            return Ok(Self::Stdout);
        };
        let failed = |source| RecordError::Output {
            file: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".enforcer-record-")
            .permissions(std::fs::Permissions::from_mode(0o644))
            .tempfile_in(dir)
            .map_err(failed)?;
        Ok(Self::File {
            path: path.to_owned(),
            temp,
        })
    }

    fn write(self, recording: &Recording) -> Result<(), RecordError> {
        let profile = generate_profile(recording);
        let mut text = serde_json::to_string_pretty(&profile).expect("profiles serialize to JSON");
        text.push('\n');
        let (path, temp) = match self {
            Self::Stdout => {
                // A reader that went away (`| head`) wanted no more: nothing to report.
                return match std::io::stdout().lock().write_all(text.as_bytes()) {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                        Err(RecordError::Output {
                            file: PathBuf::from("-"),
                            source: e,
                        })
                    }
                    _ => Ok(()),
                };
            }
            Self::File { path, temp } => (path, temp),
        };
        let failed = |source| RecordError::Output {
            file: path.clone(),
            source,
        };
        let mut file = temp.as_file();
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        temp.persist(&path).map_err(|e| failed(e.error))?;
        eprintln!(
            "enforcer: wrote {}: allows {} syscalls ({} of them only with the argument values seen) on {}",
            path.display(),
            recording.syscalls.len(),
            narrowed_names(&profile),
            recording.arch
        );
        Ok(())
    }
}
