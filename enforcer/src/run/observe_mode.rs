//! `--observe off|counts|trace` (run, record): which eBPF observation a launched workload
//! gets, and the log line that says what it costs.

use crate::cli::{ObserveArgs, ObserveMode};
use crate::observe::{ObservePlan, Selection, UnknownSyscall};
use crate::profile::ResolvedProfile;

#[derive(Debug, thiserror::Error)]
pub enum ObserveModeError {
    #[error("--trace {names}: detailed events need --observe trace (it is {mode})")]
    TraceNeedsTrace { names: String, mode: &'static str },
    #[error("--stats-interval: there are no counts to report with --observe off")]
    IntervalNeedsCounts,
    #[error(
        "record needs observation: it writes the profile from the calls the eBPF observer \
         sees, so --observe off cannot record (use counts or trace)"
    )]
    RecordNeedsObservation,
    #[error("{0}")]
    Trace(#[from] UnknownSyscall),
}

/// Refuses options that `mode` would ignore.
pub fn check(mode: ObserveMode, args: &ObserveArgs) -> Result<(), ObserveModeError> {
    if mode != ObserveMode::Trace && !args.trace.is_empty() {
        return Err(ObserveModeError::TraceNeedsTrace {
            names: args.trace.join(","),
            mode: mode.name(),
        });
    }
    if mode == ObserveMode::Off && args.stats_interval.is_some() {
        return Err(ObserveModeError::IntervalNeedsCounts);
    }
    Ok(())
}

/// The observation of a workload launched under `profile`; None with `off`.
pub fn launch_plan(
    mode: ObserveMode,
    profile: &ResolvedProfile,
    args: &ObserveArgs,
) -> Result<Option<ObservePlan>, ObserveModeError> {
    check(mode, args)?;
    log_mode(mode);
    Ok(match mode {
        ObserveMode::Off => None,
        ObserveMode::Counts => {
            let mut plan = ObservePlan::for_launch(profile, args)?;
            plan.watch.selection = Selection::default();
            plan.emit_calls = false;
            Some(plan)
        }
        ObserveMode::Trace => Some(ObservePlan::for_launch(profile, args)?),
    })
}

/// Says which mode is on and what it costs the host (RUST_LOG=info).
pub fn log_mode(mode: ObserveMode) {
    match mode {
        ObserveMode::Off => tracing::info!(
            "observation off: no eBPF program attached, syscalls are neither counted nor traced"
        ),
        on => tracing::info!(
            "observation {}: eBPF programs on the raw_syscalls tracepoints put every syscall \
             of the host on the slow path while the workload runs (a getppid loop: about 1.8x \
             anywhere, 2x in the workload; BENCHMARKS.md); --observe off avoids it",
            on.name()
        ),
    }
}
