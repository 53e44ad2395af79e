//! Where events go: a file or stdout, one complete line per event.
//!
//! Producers (the supervisor, the observer) never wait on the output: `emit` serializes the
//! event and hands the line to a bounded queue that a writer thread drains. When the queue is
//! full the event is dropped and counted, and the writer reports the drops as `lost` events
//! (what `event`, place `sink`) as soon as it catches up. A slow disk or a stalled stdout
//! reader therefore costs events, never enforcement latency.
//!
//! An [`EventObserver`] (the metrics) sees exactly the events that go to the log: those
//! queued, and the writer's own `lost` reports; a dropped event is seen only as part of its
//! `lost` count. With [`Rotation`] the file is rotated by size between lines (rotate.rs), and
//! each new file begins with a `continued` lifecycle event per workload still running, so that
//! a workload whose `start` (or `watch`, `agent-attach`) rotated away keeps its name.

use super::rotate::{Rotation, Rotator};
use super::{
    EventKind, LifecycleEvent, LostEvent, LostPlace, LostWhat, Phase, SchemaVersion, Workload,
};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Lines queued for the writer at most.
pub const QUEUE_CAPACITY: usize = 16384;
/// Bytes the writer gathers before a write(2) to a file (BufWriter's own default).
const BATCH_BYTES: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("event log {path}: {source}")]
pub struct SinkError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

enum Message {
    /// A line, and the rare lifecycle line's identity (boxed: the queue holds thousands).
    Line(Vec<u8>, Option<Box<Identity>>),
    /// Write what is queued and the pending drop counts, then answer.
    Flush(mpsc::Sender<()>),
}

/// How a line changes the workloads whose identity heads each rotated file.
enum Identity {
    /// A start, watch or agent-attach: what the `continued` events repeat.
    Opens(Workload, LifecycleEvent),
    /// An exit, unwatch or agent-detach.
    Closes(Workload),
}

impl Identity {
    fn of(workload: &Workload, kind: &EventKind) -> Option<Self> {
        let EventKind::Lifecycle(l) = kind else {
            return None;
        };
        match l.phase {
            Phase::Start | Phase::Watch | Phase::AgentAttach => {
                Some(Self::Opens(workload.clone(), l.clone()))
            }
            Phase::Exit | Phase::Unwatch | Phase::AgentDetach => {
                Some(Self::Closes(workload.clone()))
            }
            _ => None,
        }
    }
}

/// Which workload an identity is about: its cgroup and container.
type IdentityKey = (u64, Option<String>);

fn identity_key(w: &Workload) -> IdentityKey {
    (w.cgroup_id, w.container.as_ref().map(|c| c.id.clone()))
}

/// Drops not yet reported, per workload.
type Drops = Arc<Mutex<BTreeMap<u64, (Workload, u64)>>>;

/// Sees every event that goes to the log (or would, when there is no log file), in order of
/// emission; called on the producer's thread, so it must be quick and must not block.
pub trait EventObserver: Send + Sync {
    fn observe(&self, workload: &Workload, kind: &EventKind);
}

#[derive(Default, Clone)]
pub struct SinkOptions {
    pub rotation: Option<Rotation>,
    pub observer: Option<Arc<dyn EventObserver>>,
}

/// Shared by every producer; each event is serialized by its producer and written whole by
/// the writer thread, so lines never interleave.
pub struct EventSink {
    host: String,
    queue: Option<SyncSender<Message>>,
    drops: Drops,
    writer: Mutex<Option<JoinHandle<()>>>,
    observer: Option<Arc<dyn EventObserver>>,
    /// Lines queued and not yet taken by the writer.
    depth: Arc<AtomicUsize>,
    /// Set by [`finishing`](Self::finishing): emit waits for room instead of dropping.
    finishing: AtomicBool,
}

impl EventSink {
    /// `None` discards events; `-` is stdout; anything else is a file, appended to.
    pub fn open(path: Option<&Path>) -> Result<Self, SinkError> {
        Self::open_with(path, SinkOptions::default())
    }

    /// As [`open`](Self::open), with rotation (files only) and an observer.
    pub fn open_with(path: Option<&Path>, options: SinkOptions) -> Result<Self, SinkError> {
        let failed = |source| SinkError {
            path: path.map(Path::to_owned).unwrap_or_default(),
            source,
        };
        let rotator = match (options.rotation, path) {
            (Some(_), Some(p)) if p == Path::new("-") => {
                return Err(failed(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "--events-max-bytes rotates a file; stdout cannot be rotated",
                )));
            }
            (Some(rotation), Some(p)) => Some(Rotator::new(p, rotation).map_err(failed)?),
            _ => None,
        };
        let out: Option<Box<dyn Write + Send>> = match path {
            None => None,
            Some(p) if p == Path::new("-") => Some(Box::new(io::stdout())),
            Some(p) => Some(Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| SinkError {
                        path: p.to_owned(),
                        source,
                    })?,
            )),
        };
        // stdout may be a pipe the workload writes to as well: each line goes out in one
        // write(2) of its own, which a pipe keeps whole (up to PIPE_BUF), instead of in
        // batches that a full pipe splits wherever the workload's output lands.
        let batch = if path == Some(Path::new("-")) {
            0
        } else {
            BATCH_BYTES
        };
        let path = path.map(Path::to_owned).unwrap_or_default();
        Ok(Self::start(
            out,
            path,
            QUEUE_CAPACITY,
            batch,
            rotator,
            options.observer,
        ))
    }

    /// A sink writing to `out` through a queue of `capacity` lines.
    pub fn with_output(out: Option<Box<dyn Write + Send>>, path: PathBuf, capacity: usize) -> Self {
        Self::start(out, path, capacity, BATCH_BYTES, None, None)
    }

    fn start(
        out: Option<Box<dyn Write + Send>>,
        path: PathBuf,
        capacity: usize,
        batch: usize,
        rotator: Option<Rotator>,
        observer: Option<Arc<dyn EventObserver>>,
    ) -> Self {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let drops = Drops::default();
        let depth = Arc::new(AtomicUsize::new(0));
        let (queue, writer) = match out {
            None => (None, None),
            Some(out) => {
                let (tx, rx) = mpsc::sync_channel(capacity);
                let writer = Writer {
                    out: BufWriter::with_capacity(batch, out),
                    path,
                    host: host.clone(),
                    drops: drops.clone(),
                    failed: false,
                    rotator,
                    observer: observer.clone(),
                    depth: depth.clone(),
                    running: BTreeMap::new(),
                };
                let handle = std::thread::Builder::new()
                    .name("event-writer".into())
                    .spawn(move || writer.run(rx))
                    .expect("spawning the event writer thread");
                (Some(tx), Some(handle))
            }
        };
        Self {
            host,
            queue,
            drops,
            writer: Mutex::new(writer),
            observer,
            depth,
            finishing: AtomicBool::new(false),
        }
    }

    /// From now on `emit` waits for room in the queue instead of dropping: for the final
    /// reports (counts, exit), once the workload is gone and nothing waits on the producers.
    pub fn finishing(&self) {
        self.finishing.store(true, Ordering::Relaxed);
    }

    /// Queues one event; never blocks. A full queue drops it and counts the drop.
    pub fn emit(&self, workload: &Workload, kind: EventKind) {
        let Some(queue) = &self.queue else {
            self.observed(workload, &kind);
            return;
        };
        let line = serialize(&self.host, workload, &kind);
        let message = Message::Line(line, Identity::of(workload, &kind).map(Box::new));
        // Counted before the send, so the writer never takes a line the count lacks.
        self.depth.fetch_add(1, Ordering::Relaxed);
        let sent = if self.finishing.load(Ordering::Relaxed) {
            queue
                .send(message)
                .map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            queue.try_send(message)
        };
        match sent {
            Ok(()) => self.observed(workload, &kind),
            Err(TrySendError::Full(_)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                let mut drops = self.drops.lock().unwrap_or_else(|p| p.into_inner());
                drops
                    .entry(workload.cgroup_id)
                    .or_insert_with(|| (workload.clone(), 0))
                    .1 += 1;
            }
            // The writer is gone (it panicked); nothing can be written any more.
            Err(TrySendError::Disconnected(_)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn observed(&self, workload: &Workload, kind: &EventKind) {
        if let Some(observer) = &self.observer {
            observer.observe(workload, kind);
        }
    }

    /// Lines waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    /// Waits until everything queued so far is written (for the end of a run).
    pub fn flush(&self) {
        let Some(queue) = &self.queue else { return };
        let (tx, rx) = mpsc::channel();
        if queue.send(Message::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Events dropped and not yet reported (for tests and the exit summary).
    pub fn pending_drops(&self) -> u64 {
        let drops = self.drops.lock().unwrap_or_else(|p| p.into_inner());
        drops.values().map(|(_, n)| n).sum()
    }
}

impl Drop for EventSink {
    fn drop(&mut self) {
        self.flush();
        // Closing the queue ends the writer.
        self.queue = None;
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = writer {
            let _ = handle.join();
        }
    }
}

/// [`Event`](super::Event) as written: the same fields, borrowed, so that producers never copy
/// the workload's identity into each event.
#[derive(serde::Serialize)]
struct EventRef<'a> {
    schema: SchemaVersion,
    time: String,
    host: &'a str,
    #[serde(flatten)]
    workload: &'a Workload,
    #[serde(flatten)]
    kind: &'a EventKind,
}

pub(super) fn serialize(host: &str, workload: &Workload, kind: &EventKind) -> Vec<u8> {
    let event = EventRef {
        schema: SchemaVersion,
        time: super::now_rfc3339(),
        host,
        workload,
        kind,
    };
    let mut line = serde_json::to_vec(&event).expect("events serialize to JSON");
    line.push(b'\n');
    line
}

struct Writer {
    out: BufWriter<Box<dyn Write + Send>>,
    path: PathBuf,
    host: String,
    drops: Drops,
    /// A write failed: said once, then quiet.
    failed: bool,
    rotator: Option<Rotator>,
    observer: Option<Arc<dyn EventObserver>>,
    depth: Arc<AtomicUsize>,
    /// Workloads started (watched, attached) and not ended yet, as of the lines written:
    /// each rotated file begins with their identity. The count is of starts not yet ended
    /// (an agent sees a container once per `runc exec`).
    running: BTreeMap<IdentityKey, (Workload, LifecycleEvent, usize)>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        loop {
            // Write whatever is queued without flushing, then report drops and flush once the
            // queue is empty, then block for more.
            let message = match rx.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Empty) => {
                    self.report_drops();
                    self.flush();
                    match rx.recv() {
                        Ok(m) => m,
                        Err(_) => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            };
            match message {
                Message::Line(line, identity) => {
                    self.depth.fetch_sub(1, Ordering::Relaxed);
                    self.write(&line);
                    self.track(identity);
                }
                Message::Flush(ack) => {
                    self.report_drops();
                    self.flush();
                    let _ = ack.send(());
                }
            }
        }
        self.report_drops();
        self.flush();
    }

    fn report_drops(&mut self) {
        let drops = std::mem::take(&mut *self.drops.lock().unwrap_or_else(|p| p.into_inner()));
        for (_, (workload, count)) in drops {
            let kind = EventKind::Lost(LostEvent {
                what: LostWhat::Event,
                place: LostPlace::Sink,
                count,
            });
            self.write(&serialize(&self.host, &workload, &kind));
            if let Some(observer) = &self.observer {
                observer.observe(&workload, &kind);
            }
        }
    }

    fn track(&mut self, identity: Option<Box<Identity>>) {
        match identity.map(|i| *i) {
            Some(Identity::Opens(workload, event)) => {
                let entry = self
                    .running
                    .entry(identity_key(&workload))
                    .or_insert_with(|| (workload.clone(), event.clone(), 0));
                *entry = (workload, event, entry.2 + 1);
            }
            Some(Identity::Closes(workload)) => {
                let key = identity_key(&workload);
                if let Some(entry) = self.running.get_mut(&key) {
                    entry.2 -= 1;
                    if entry.2 == 0 {
                        self.running.remove(&key);
                    }
                }
            }
            None => {}
        }
    }

    fn write(&mut self, line: &[u8]) {
        if let Some(rotator) = &mut self.rotator
            && rotator.due(line.len())
        {
            // Between lines, after everything before this one is in the old file.
            match self.out.flush().and_then(|()| rotator.rotate()) {
                Ok(file) => {
                    *self.out.get_mut() = Box::new(file);
                    self.continued();
                }
                Err(e) => self.fail(e),
            }
        }
        self.write_line(line);
    }

    /// The first lines of a fresh file: who is still running, with the fields of the event
    /// that began it.
    fn continued(&mut self) {
        let running: Vec<(Workload, LifecycleEvent)> = (self.running.values())
            .map(|(w, e, _)| (w.clone(), e.clone()))
            .collect();
        for (workload, event) in running {
            let kind = EventKind::Lifecycle(LifecycleEvent {
                phase: Phase::Continued,
                ..event
            });
            self.write_line(&serialize(&self.host, &workload, &kind));
            if let Some(observer) = &self.observer {
                observer.observe(&workload, &kind);
            }
        }
    }

    fn write_line(&mut self, line: &[u8]) {
        match self.out.write_all(line) {
            Ok(()) => {
                if let Some(rotator) = &mut self.rotator {
                    rotator.wrote(line.len());
                }
            }
            Err(e) => self.fail(e),
        }
    }

    fn flush(&mut self) {
        if let Err(e) = self.out.flush() {
            self.fail(e);
        }
    }

    fn fail(&mut self, e: io::Error) {
        if !self.failed {
            tracing::error!("writing event log {}: {e}", self.path.display());
            self.failed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{LifecycleEvent, Phase};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// An output that blocks every write until released, like a stalled pipe reader.
    struct Gate {
        open: Arc<AtomicBool>,
        lines: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            while !self.open.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            self.lines.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_output_drops_and_counts_instead_of_blocking() {
        let open = Arc::new(AtomicBool::new(false));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate {
            open: open.clone(),
            lines: lines.clone(),
        };
        // Tiny queue and no BufWriter slack: the first line the writer takes blocks it.
        let sink = EventSink::with_output(Some(Box::new(gate)), "gate".into(), 4);
        let workload = Workload {
            cgroup_id: 7,
            container: None,
        };
        let started = std::time::Instant::now();
        for _ in 0..1000 {
            sink.emit(
                &workload,
                EventKind::Lifecycle(LifecycleEvent::phase(Phase::Start)),
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "emit blocked"
        );
        let dropped = sink.pending_drops();
        assert!(dropped > 0, "nothing was dropped");
        open.store(true, Ordering::Release);
        sink.flush();
        let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        let written = text.lines().filter(|l| l.contains("\"start\"")).count() as u64;
        let lost: u64 = text
            .lines()
            .filter(|l| l.contains("\"lost\""))
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["count"]
                    .as_u64()
                    .unwrap()
            })
            .sum();
        assert_eq!(written + lost, 1000, "{text}");
        assert!(text.contains("\"place\":\"sink\""), "{text}");
    }
}
