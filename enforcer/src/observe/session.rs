//! An observation in progress: the loaded program, the cgroups it watches with the identity of
//! each, and a thread of its own that reads the ring buffer (tokio, AsyncFd) and reports the
//! counters at an interval. Kept apart from the supervisor's runtime so that a flood of
//! events costs the observer's thread, never a notified call's answer.

use super::counters::CgroupStats;
use super::loader::{LoadOptions, ObserveError, Observer, WatchSpec};
use super::report::{Reporter, call_event};
use super::selection::{Selection, UnknownSyscall};
use crate::cli::ObserveArgs;
use crate::events::{
    EventKind, EventSink, LifecycleEvent, LostEvent, LostPlace, LostWhat, Phase, Workload,
};
use crate::profile::ResolvedProfile;
use aya::maps::{MapData, RingBuf};
use enforcer_common::CallRecord;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Something that wants every detailed call (the recorder).
pub type CallConsumer = Box<dyn FnMut(&CallRecord) + Send>;
/// Something that wants the final counts of the watched cgroups and how delivery went.
pub type FinishHook = Box<dyn FnOnce(&CgroupStats, &Delivery) + Send>;

/// How an observation runs.
#[derive(Default)]
pub struct ObservePlan {
    pub load: LoadOptions,
    /// How the workload's cgroup is watched (for [`Observation::start_for`]).
    pub watch: WatchSpec,
    /// Report counters this often (cumulative, the ones that changed); always at the end.
    pub stats_interval: Option<Duration>,
    /// Write each detailed call as a `syscall` event.
    pub emit_calls: bool,
    pub consumer: Option<CallConsumer>,
    pub on_finish: Option<FinishHook>,
}

impl ObservePlan {
    /// For a workload the enforcer launches under `profile`: counted from its exec on, with
    /// detailed events for the syscalls named in `trace`, or when none is named, for every
    /// call the profile may refuse or notify.
    pub fn for_launch(
        profile: &ResolvedProfile,
        args: &ObserveArgs,
    ) -> Result<Self, UnknownSyscall> {
        let selection = if args.trace.is_empty() {
            Selection::refused_by(profile)
        } else {
            Selection::named(&args.trace)?
        };
        Ok(Self {
            watch: WatchSpec {
                from_exec: true,
                selection,
            },
            emit_calls: true,
            ..Self::from_args(args)
        })
    }

    /// The options every command shares: interval, ring buffer size.
    pub fn from_args(args: &ObserveArgs) -> Self {
        Self {
            load: LoadOptions {
                ring_buffer_bytes: args
                    .ring_buffer_bytes
                    .unwrap_or(LoadOptions::default().ring_buffer_bytes),
                empty_programs: args.empty_programs,
                dense_slots: args.dense_counter_slots,
                ..LoadOptions::default()
            },
            stats_interval: args.stats_interval.map(Duration::from_secs),
            ..Self::default()
        }
    }
}

/// How the ring buffer's delivery went, for the end of an observation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Events the eBPF side submitted.
    pub submitted: u64,
    /// Events the reader received.
    pub received: u64,
    /// Events that found the ring buffer full.
    pub ring_buffer_full: u64,
    /// CPU time of the reader thread (reading, decoding, serializing).
    pub reader_cpu: Duration,
}

struct Shared {
    observer: Mutex<Observer>,
    workloads: Mutex<BTreeMap<u64, Arc<Workload>>>,
    reporter: Mutex<Reporter>,
    sink: Arc<EventSink>,
    /// Who losses are reported for: the workload of `run`, or cgroup 0 (the host) when
    /// several cgroups share the program.
    loss_owner: Arc<Workload>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct Observation {
    shared: Arc<Shared>,
    on_finish: Option<FinishHook>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    reader: Option<JoinHandle<(u64, Duration)>>,
}

impl Observation {
    /// Loads the program and starts the reader thread; nothing is watched yet.
    pub fn start(
        mut plan: ObservePlan,
        sink: Arc<EventSink>,
        loss_owner: Arc<Workload>,
    ) -> Result<Self, ObserveError> {
        let mut observer = Observer::load_with(&plan.load)?;
        let ring = observer.take_events()?;
        let shared = Arc::new(Shared {
            observer: Mutex::new(observer),
            workloads: Mutex::default(),
            reporter: Mutex::default(),
            sink,
            loss_owner,
        });
        let on_finish = plan.on_finish.take();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let reader = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("observer".into())
                .spawn(move || read_events(shared, ring, plan, stopped))
                .map_err(|e| {
                    ObserveError::Load(aya::EbpfError::FileError {
                        path: "observer thread".into(),
                        error: e,
                    })
                })?
        };
        Ok(Self {
            shared,
            on_finish,
            stop: Some(stop),
            reader: Some(reader),
        })
    }

    /// Starts for one launched workload; if observation cannot start, enforcement goes on and
    /// the log says observation is degraded, with the reason (DESIGN safety rule 6).
    pub fn start_for(
        plan: ObservePlan,
        sink: &Arc<EventSink>,
        workload: &Arc<Workload>,
    ) -> Option<Self> {
        let spec = plan.watch.clone();
        let attempt = Self::start(plan, sink.clone(), workload.clone())
            .and_then(|o| o.watch(workload.clone(), &spec).map(|()| o));
        match attempt {
            Ok(o) => {
                tracing::info!(
                    "eBPF observer attached to raw_syscalls, watching cgroup {}",
                    workload.cgroup_id
                );
                Some(o)
            }
            Err(e) => {
                tracing::warn!("observation degraded: {e}");
                sink.emit(
                    workload,
                    EventKind::Lifecycle(LifecycleEvent {
                        reason: Some(e.to_string()),
                        ..LifecycleEvent::phase(Phase::ObserverDegraded)
                    }),
                );
                None
            }
        }
    }

    pub fn watch(&self, workload: Arc<Workload>, spec: &WatchSpec) -> Result<(), ObserveError> {
        let id = workload.cgroup_id;
        lock(&self.shared.workloads).insert(id, workload);
        lock(&self.shared.observer).watch(id, spec)
    }

    /// Stops watching a cgroup; reports its final counts first, then drops them.
    pub fn unwatch(&self, cgroup_id: u64) -> Result<(), ObserveError> {
        let Some(workload) = lock(&self.shared.workloads).remove(&cgroup_id) else {
            return Ok(());
        };
        let mut observer = lock(&self.shared.observer);
        observer.unwatch(cgroup_id)?;
        let mut reporter = lock(&self.shared.reporter);
        let only = BTreeMap::from([(cgroup_id, workload)]);
        reporter.report(
            &observer,
            &only,
            &self.shared.sink,
            &self.shared.loss_owner,
            true,
        );
        reporter.forget(cgroup_id);
        observer.forget(cgroup_id)
    }

    pub fn watched(&self) -> Vec<u64> {
        lock(&self.shared.workloads).keys().copied().collect()
    }

    /// Stops: drains the ring buffer, reports every watched cgroup's counts and the losses,
    /// checks that every submitted event arrived, and unwatches everything.
    pub fn finish(mut self) -> Delivery {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let (received, reader_cpu) = self
            .reader
            .take()
            .and_then(|r| r.join().ok())
            .unwrap_or_default();
        let shared = &self.shared;
        let observer = lock(&shared.observer);
        let workloads = lock(&shared.workloads).clone();
        lock(&shared.reporter).report(
            &observer,
            &workloads,
            &shared.sink,
            &shared.loss_owner,
            true,
        );
        let delivery = Delivery {
            submitted: observer.submitted_events().unwrap_or(received),
            received,
            ring_buffer_full: observer.losses().map(|l| l.ring_buffer_full).unwrap_or(0),
            reader_cpu,
        };
        if let Some(hook) = self.on_finish.take() {
            let mut stats = observer.all_counts().unwrap_or_default();
            stats.retain(|id, _| workloads.contains_key(id));
            hook(&stats, &delivery);
        }
        drop(observer);
        // Submitted but never read: cannot happen with a drained ring buffer, and is reported
        // if it does rather than left silent.
        if delivery.submitted > delivery.received {
            shared.sink.emit(
                &shared.loss_owner,
                EventKind::Lost(LostEvent {
                    what: LostWhat::SyscallEvent,
                    place: LostPlace::RingBufferReader,
                    count: delivery.submitted - delivery.received,
                }),
            );
        }
        for id in workloads.keys() {
            if let Err(e) = lock(&shared.observer).unwatch(*id) {
                tracing::warn!("{e}");
            }
        }
        delivery
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// The reader thread: a current-thread runtime waiting on the ring buffer's fd, the report
/// interval and the stop signal. Returns how many events it received and its CPU time.
fn read_events(
    shared: Arc<Shared>,
    ring: RingBuf<MapData>,
    mut plan: ObservePlan,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> (u64, Duration) {
    let mut received = 0u64;
    let mut handle = |rec: &CallRecord| {
        received += 1;
        if plan.emit_calls {
            let workload = lock(&shared.workloads)
                .get(&rec.cgroup_id)
                .cloned()
                .unwrap_or_else(|| {
                    Arc::new(Workload {
                        cgroup_id: rec.cgroup_id,
                        container: None,
                    })
                });
            shared
                .sink
                .emit(&workload, EventKind::SyscallTrace(call_event(rec)));
        }
        if let Some(consumer) = plan.consumer.as_mut() {
            consumer(rec);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("observer runtime: {e}");
            return (0, Duration::ZERO);
        }
    };
    let interval = plan.stats_interval;
    runtime.block_on(async {
        // SAFETY: the RingBuf owns its map fd and moves into the AsyncFd, which keeps it (and
        // so the fd) until it is dropped; the fd never changes.
        let mut ring = match unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) } {
            Ok(fd) => fd,
            Err(e) => {
                tracing::error!("watching the ring buffer: {}", std::io::Error::from(e));
                return;
            }
        };
        let mut ticker = interval.map(|every| {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            tokio::select! {
                ready = ring.readable_mut() => match ready {
                    Ok(mut guard) => {
                        drain(guard.get_inner_mut(), &mut handle);
                        guard.clear_ready();
                    }
                    Err(e) => {
                        tracing::error!("ring buffer: {e}");
                        break;
                    }
                },
                _ = async { ticker.as_mut().expect("guarded").tick().await }, if ticker.is_some() => {
                    let observer = lock(&shared.observer);
                    let workloads = lock(&shared.workloads).clone();
                    lock(&shared.reporter).report(&observer, &workloads, &shared.sink, &shared.loss_owner, false);
                }
                _ = &mut stopped => break,
            }
        }
        // Whatever was committed before the stop.
        drain(ring.get_mut(), &mut handle);
    });
    (received, thread_cpu_time())
}

fn drain(ring: &mut RingBuf<MapData>, handle: &mut impl FnMut(&CallRecord)) {
    while let Some(item) = ring.next() {
        if item.len() < size_of::<CallRecord>() {
            tracing::warn!("short ring buffer record ({} bytes)", item.len());
            continue;
        }
        // SAFETY: the record is at least size_of::<CallRecord>() bytes, written by the eBPF
        // side as a CallRecord (plain integers, any bit pattern valid); read unaligned since
        // the ring only guarantees 8-byte alignment.
        let rec = unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<CallRecord>()) };
        handle(&rec);
    }
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
