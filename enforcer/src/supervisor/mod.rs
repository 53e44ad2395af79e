//! The supervisor: receives the calls the kernel parked on the notify listener, asks the
//! policy, answers the kernel and logs a `decision` event for each.
//!
//! Calls are served concurrently: a decision that needs no facts beyond the registers is
//! answered at once on the receiving thread; a call the supervisor carries out itself goes,
//! once, to the emulation worker of the caller's root (`emulate`, `carry_out`); one that
//! needs only the caller's identity goes to the blocking pool. A watchdog denies what is not
//! answered by the deadline (`deadline`). Fail-closed throughout: an error, a stale id or a
//! passed deadline is a deny.

mod carry_out;
mod creds;
mod deadline;
mod decide;
mod emulate;
mod facts;
mod memory;
mod notify;

pub use decide::Mode;

use crate::events::{EventSink, Workload};
use crate::policy::Policy;
use crate::profile::ResolvedProfile;
use notify::Wait;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("watching the seccomp listener: {0}")]
    Poll(std::io::Error),
    #[error("the thread receiving notifications died")]
    ReceiverDied,
}

/// What the supervisor needs to decide for one workload.
pub struct Config {
    pub policy: Arc<Policy>,
    pub sink: Arc<EventSink>,
    pub workload: Arc<Workload>,
    pub mode: Mode,
    /// The workload's cgroup, which a `kill` outcome kills whole.
    pub cgroup: Option<PathBuf>,
    /// Container name for identity rules (agent mode).
    pub container: Option<String>,
    /// How long a decision may take before the call is denied.
    pub deadline: Duration,
    /// Ask the kernel for synchronous wake-ups on the listener.
    pub sync_wakeup: bool,
    /// The profile the workload runs under: in audit mode, what it would have done with a
    /// call is the reason given for a would-deny.
    pub profile: Option<Arc<ResolvedProfile>>,
}

impl Config {
    pub fn new(policy: Arc<Policy>, sink: Arc<EventSink>, workload: Arc<Workload>) -> Self {
        Self {
            policy,
            sink,
            workload,
            mode: Mode::Enforce,
            cgroup: None,
            container: None,
            deadline: Duration::from_secs(5),
            sync_wakeup: true,
            profile: None,
        }
    }
}

/// Counts of what the supervisor answered.
#[derive(Debug, Default)]
pub struct Stats {
    pub allowed: AtomicU64,
    pub emulated: AtomicU64,
    pub denied: AtomicU64,
    pub would_deny: AtomicU64,
    /// Answers the kernel no longer wanted (caller gone or interrupted).
    pub stale: AtomicU64,
}

impl Stats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Serves `listener` until every process using the filter has exited and every decision
/// under way has been answered and logged.
///
/// Receiving runs on a thread of its own that blocks in the kernel, as the leanest possible
/// supervisor does; register-only decisions are answered right there, the rest go to the
/// runtime's blocking pool under a deadline.
pub async fn serve(
    listener: OwnedFd,
    config: Arc<Config>,
    stats: Arc<Stats>,
) -> Result<(), SupervisorError> {
    if config.sync_wakeup
        && let Err(e) = notify::set_sync_wakeup(&listener)
    {
        tracing::debug!("sync wake-up not available: {e}");
    }
    let runtime = tokio::runtime::Handle::current();
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let (in_flight, mut all_answered) = tokio::sync::mpsc::channel(1);
    let listener = Arc::new(listener);
    let deadlines = {
        let (listener, config, stats) = (listener.clone(), config.clone(), stats.clone());
        deadline::Deadlines::start(config.deadline, move |slot| {
            decide::expire(slot, listener.as_raw_fd(), &config, &stats)
        })
        .map_err(SupervisorError::Poll)?
    };
    let mut receiver = decide::Receiver {
        listener,
        config,
        stats,
        runtime,
        in_flight,
        deadlines: deadlines.clone(),
        gatherer: emulate::Gatherer::default(),
    };
    let started = std::thread::Builder::new()
        .name("notify-receiver".into())
        .spawn(move || {
            receive_loop(&mut receiver);
            drop(receiver);
            let _ = done_tx.send(());
        })
        .map_err(SupervisorError::Poll);
    if let Err(e) = started {
        deadlines.stop();
        return Err(e);
    }
    // The receiving thread says when the filter has no users left; if it never says, it
    // died (a panic), the listener is closed with it, and the workload's notified calls now
    // fail with ENOSYS: the caller must hear of it (and may kill the workload).
    let received = done.await.map_err(|_| SupervisorError::ReceiverDied);
    // Decisions still running hold a sender each; the channel closes when the last is
    // answered and logged (at most the deadline after its call came in).
    if received.is_ok() {
        let _ = all_answered.recv().await;
    }
    deadlines.stop();
    received
}

/// Held by every decision that outlives its turn on the receiving thread, until it is
/// answered and logged: `serve` ends when none is left. Nothing is ever sent.
pub(crate) type InFlight = tokio::sync::mpsc::Sender<()>;

fn receive_loop(r: &mut decide::Receiver) {
    let listener = r.listener.clone();
    loop {
        match notify::wait(listener.as_fd()) {
            Wait::Notification => {}
            Wait::Closed => return,
        }
        match notify::receive(listener.as_fd()) {
            Ok(req) => decide::dispatch(req, r),
            // The caller went away between the wake-up and the receive.
            Err(e) => tracing::debug!("notification vanished before it was received: {e}"),
        }
    }
}
