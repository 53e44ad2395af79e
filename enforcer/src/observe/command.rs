//! `enforcer observe`: watches existing cgroups (the ones named, or every cgroup of the host,
//! rescanned as containers come and go) without launching anything, until the duration is up
//! or the enforcer is interrupted.

use super::container;
use super::loader::{ObserveError, WatchSpec};
use super::selection::{Selection, UnknownSyscall};
use super::session::{Observation, ObservePlan};
use crate::cgroup::{self, CgroupError};
use crate::cli::ObserveCommandArgs;
use crate::engine_names::EngineNames;
use crate::events::{self, EventKind, EventSink, LifecycleEvent, Phase, Workload};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The directory under the v2 root where `enforcer run` puts its workloads (see cgroup.rs):
/// not a container itself.
const ENFORCER_PARENT: &str = "enforcer";

/// How often counts are reported without --stats-interval.
const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(10);

/// How often the host's cgroups are rescanned when watching all of them.
const RESCAN: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ObserveCommandError {
    #[error("{0}")]
    Cgroup(#[from] CgroupError),
    #[error("--cgroup {}: not a cgroup directory under {}: {reason}", path.display(), root.display())]
    NotACgroup {
        path: PathBuf,
        root: PathBuf,
        reason: String,
    },
    #[error("{0}")]
    Trace(#[from] UnknownSyscall),
    #[error("{0}")]
    Events(#[from] events::SinkError),
    #[error("{0}")]
    Telemetry(#[from] crate::metrics::TelemetryError),
    #[error("{0}")]
    Observer(#[from] ObserveError),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// A cgroup to watch: its directory and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub id: u64,
}

pub fn observe(args: &ObserveCommandArgs) -> Result<(), ObserveCommandError> {
    let root = cgroup::v2_root()?;
    let named = args
        .cgroups
        .iter()
        .map(|p| named_target(&root, p))
        .collect::<Result<Vec<_>, _>>()?;
    let selection = Selection::named(&args.observe.trace)?;
    let sink = crate::metrics::open_event_log(args.events.as_deref(), &args.telemetry)?;
    let mut plan = ObservePlan::from_args(&args.observe);
    plan.emit_calls = true;
    // Watching has no workload exit to report at: counts go out regularly by default.
    plan.stats_interval.get_or_insert(DEFAULT_STATS_INTERVAL);
    // Losses are the program's, shared by every cgroup: reported for the host (cgroup 0).
    let host = Arc::new(Workload::default());
    let observation = Observation::start(plan, sink.clone(), host)?;
    let spec = WatchSpec {
        from_exec: false,
        selection,
    };
    let own = own_cgroup(&root);
    let scan = || -> Vec<Target> {
        if named.is_empty() {
            all_targets(&root, own.as_deref())
        } else {
            // A named cgroup that was removed is unwatched.
            named
                .iter()
                .filter(|t| t.path.join("cgroup.procs").exists())
                .cloned()
                .collect()
        }
    };
    let names = EngineNames::new(&args.engine_roots);
    let mut known = BTreeMap::new();
    sync_watches(
        &observation,
        &sink,
        &mut known,
        &root,
        &names,
        &spec,
        scan(),
    );
    crate::announce::ready(
        "observe",
        &watching_words(&named, &root, known.len(), args.duration),
        args.events.as_deref(),
        args.telemetry.metrics,
    );
    until_stopped(args.duration, RESCAN, || {
        sync_watches(
            &observation,
            &sink,
            &mut known,
            &root,
            &names,
            &spec,
            scan(),
        );
        true
    })?;
    observation.finish();
    // Their final counts are out: the watches end.
    for (id, path) in known {
        sink.emit(&host_workload(id), watch_event(Phase::Unwatch, &path));
    }
    sink.flush();
    Ok(())
}

/// Calls `tick` every `every` until `duration` seconds are up, SIGINT or SIGTERM arrives, or
/// `tick` says to stop (returns false): the wait of `observe` and `record --cgroup`.
pub fn until_stopped(
    duration: Option<u64>,
    every: Duration,
    mut tick: impl FnMut() -> bool,
) -> Result<(), ObserveCommandError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ObserveCommandError::Runtime)?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(ObserveCommandError::Runtime)?;
        let deadline = async {
            match duration {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = ticks.tick() => if !tick() { break },
            }
        }
        Ok(())
    })
}

fn host_workload(cgroup_id: u64) -> Workload {
    Workload {
        cgroup_id,
        container: None,
    }
}

/// What observe watches, in words, for the line it prints when it is ready.
fn watching_words(named: &[Target], root: &Path, now: usize, duration: Option<u64>) -> String {
    let what = if named.is_empty() {
        format!(
            "watching every cgroup under {} ({now} now, rescanned every {} s)",
            root.display(),
            RESCAN.as_secs()
        )
    } else {
        let list: Vec<String> = named
            .iter()
            .map(|t| format!("{} (id {})", t.path.display(), t.id))
            .collect();
        format!("watching {}", list.join(", "))
    };
    match duration {
        Some(secs) => format!("{what} for {secs} s"),
        None => format!("{what} until interrupted"),
    }
}

/// `--cgroup PATH`: absolute, or relative to the v2 root.
pub fn named_target(root: &Path, path: &Path) -> Result<Target, ObserveCommandError> {
    let full = if path.is_absolute() {
        path.to_owned()
    } else {
        root.join(path)
    };
    let err = |reason: String| ObserveCommandError::NotACgroup {
        path: path.to_owned(),
        root: root.to_owned(),
        reason,
    };
    let full = full.canonicalize().map_err(|e| err(e.to_string()))?;
    if !full.starts_with(root) || !full.join("cgroup.procs").is_file() {
        return Err(err("no cgroup.procs in it".into()));
    }
    let id = std::fs::metadata(&full)
        .map_err(|e| err(e.to_string()))?
        .ino();
    Ok(Target { path: full, id })
}

/// Every cgroup of the host except the one the enforcer runs in (whose event writing would
/// otherwise observe itself).
fn all_targets(root: &Path, own: Option<&Path>) -> Vec<Target> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&dir) else {
            continue;
        };
        if Some(dir.as_path()) != own {
            found.push(Target {
                path: dir.clone(),
                id: meta.ino(),
            });
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            stack.extend(
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    found
}

/// The cgroup v2 directory of this process (`0::/path` in /proc/self/cgroup).
fn own_cgroup(root: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(root.join(rel.trim_start_matches('/')))
}

pub fn watch_event(phase: Phase, path: &Path) -> EventKind {
    EventKind::Lifecycle(LifecycleEvent {
        cgroup: Some(path.display().to_string()),
        ..LifecycleEvent::phase(phase)
    })
}

/// Watches the targets not watched yet and unwatches (with a final report) the ones gone.
fn sync_watches(
    observation: &Observation,
    sink: &EventSink,
    known: &mut BTreeMap<u64, PathBuf>,
    root: &Path,
    names: &EngineNames,
    spec: &WatchSpec,
    targets: Vec<Target>,
) {
    let wanted: BTreeMap<u64, Target> = targets.into_iter().map(|t| (t.id, t)).collect();
    let gone: Vec<(u64, PathBuf)> = known
        .iter()
        .filter(|(id, _)| !wanted.contains_key(id))
        .map(|(id, p)| (*id, p.clone()))
        .collect();
    for (id, _) in &gone {
        known.remove(id);
    }
    for (id, path) in gone {
        match observation.unwatch(id) {
            Ok(()) => sink.emit(&host_workload(id), watch_event(Phase::Unwatch, &path)),
            Err(e) => tracing::warn!("unwatching cgroup {id}: {e}"),
        }
    }
    let watched = observation.watched();
    for (id, target) in wanted {
        if watched.contains(&id) {
            continue;
        }
        known.insert(id, target.path.clone());
        let workload = Arc::new(Workload {
            cgroup_id: id,
            container: container::identify_under(root, &target.path, ENFORCER_PARENT)
                .map(|c| names.named(c)),
        });
        match observation.watch(workload.clone(), spec) {
            Ok(()) => sink.emit(&workload, watch_event(Phase::Watch, &target.path)),
            Err(e) => tracing::warn!("watching {}: {e}", target.path.display()),
        }
    }
}
