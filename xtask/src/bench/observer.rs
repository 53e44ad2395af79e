//! The observer's cost and throughput, measured against the same work with no eBPF program
//! attached (the workload's CPU time, user and system, which the programs add to), and
//! against programs that return at once (the raw_syscalls tracepoints' own cost, the floor
//! of any observer built on them): a tight getppid loop in a watched and in an unwatched
//! cgroup, a mixed write/openat/futex loop in a watched one, and the ring buffer's delivery
//! rate to the JSON sink with its loss accounting and the consumer's CPU share.

use super::{Row, ratio_row};
use crate::build::Binaries;
use anyhow::{Context, Result, bail};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GETPPID_CALLS: u64 = 3_000_000;
const MIXED_ROUNDS: u64 = 300_000;
const FLOOD_CALLS: u64 = 1_000_000;
/// Runs of each measurement, interleaved; the fastest is kept, as the one least disturbed by
/// whatever else the machine was doing.
const REPS: usize = 7;

pub fn run(_root: &Path, bins: &Binaries) -> Result<Vec<Row>> {
    let cgroups = BenchCgroups::create()?;
    let work = |cg: &Path, args: &[&str]| run_in(cg, &bins.probe, args);
    let getppid = ["getppid".to_owned(), GETPPID_CALLS.to_string()];
    let mixed = ["mixed".to_owned(), MIXED_ROUNDS.to_string()];
    let getppid: Vec<&str> = getppid.iter().map(String::as_str).collect();
    let mixed: Vec<&str> = mixed.iter().map(String::as_str).collect();

    // [watched getppid, unwatched getppid, watched mixed], without and with the program.
    let mut bare: [Vec<f64>; 3] = Default::default();
    let mut observed: [Vec<f64>; 3] = Default::default();
    // getppid with programs that return at once: what the tracepoints cost by themselves.
    let mut floor = Vec::new();
    for _ in 0..REPS {
        let empty = Observe::empty_programs(&bins.enforcer, &cgroups)?;
        floor.push(work(&cgroups.unwatched, &getppid)?);
        empty.stop()?;
        bare[0].push(work(&cgroups.watched, &getppid)?);
        bare[1].push(work(&cgroups.unwatched, &getppid)?);
        bare[2].push(work(&cgroups.watched, &mixed)?);
        let observer = Observe::start(&bins.enforcer, &cgroups.watched, &[], &cgroups.scratch)?;
        observed[0].push(work(&cgroups.watched, &getppid)?);
        observed[1].push(work(&cgroups.unwatched, &getppid)?);
        observed[2].push(work(&cgroups.watched, &mixed)?);
        observer.stop()?;
    }
    let mut rows = vec![
        ratio_row(
            format!("getppid x{GETPPID_CALLS}, empty programs attached: the tracepoints' own cost"),
            fastest(&floor),
            fastest(&bare[1]),
            None,
        ),
        ratio_row(
            format!("getppid x{GETPPID_CALLS}, watched cgroup (vs no program)"),
            fastest(&observed[0]),
            fastest(&bare[0]),
            Some(1.10),
        ),
        ratio_row(
            format!("getppid x{GETPPID_CALLS}, unwatched cgroup (vs no program)"),
            fastest(&observed[1]),
            fastest(&bare[1]),
            Some(1.03),
        ),
        // What the programs cost beyond the hook itself, which no program can go below.
        ratio_row(
            format!("getppid x{GETPPID_CALLS}, watched cgroup (vs empty programs)"),
            fastest(&observed[0]),
            fastest(&floor),
            None,
        ),
        ratio_row(
            format!("getppid x{GETPPID_CALLS}, unwatched cgroup (vs empty programs)"),
            fastest(&observed[1]),
            fastest(&floor),
            None,
        ),
        ratio_row(
            format!("write/openat/close/futex x{MIXED_ROUNDS}, watched (vs no program)"),
            fastest(&observed[2]),
            fastest(&bare[2]),
            Some(1.02),
        ),
    ];
    rows.extend(ring_buffer_rows(bins, &cgroups)?);
    Ok(rows)
}

/// Every getppid of a flood traced through the ring buffer to the JSON sink.
fn ring_buffer_rows(bins: &Binaries, cgroups: &BenchCgroups) -> Result<Vec<Row>> {
    let observer = Observe::start(
        &bins.enforcer,
        &cgroups.watched,
        &["--trace", "getppid"],
        &cgroups.scratch,
    )?;
    let cpu_before = cpu_time(observer.child.id())?;
    let flood = FLOOD_CALLS.to_string();
    let started = Instant::now();
    run_in(&cgroups.watched, &bins.probe, &["getppid", &flood])?;
    // Rates below are per second of wall time, from the flood's start to the last event.
    // Until every event is written: the log stops growing.
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let len = std::fs::metadata(&observer.events)
            .map(|m| m.len())
            .unwrap_or(0);
        if len == last {
            break;
        }
        last = len;
    }
    let wall = started.elapsed().as_secs_f64() - 0.2;
    let cpu = cpu_time(observer.child.id())? - cpu_before;
    let events = observer.stop()?;
    let delivered = events
        .iter()
        .filter(|e| e["kind"] == "syscall_trace" && e["name"] == "getppid")
        .count() as u64;
    let lost: u64 = events
        .iter()
        .filter(|e| e["kind"] == "lost")
        .filter_map(|e| e["count"].as_u64())
        .sum();
    let unaccounted = FLOOD_CALLS as i64 - (delivered + lost) as i64;
    Ok(vec![
        Row {
            what: format!("ring buffer: getppid x{FLOOD_CALLS} traced, events/s written as JSON"),
            value: format!("{:.0} events/s", delivered as f64 / wall),
            target: None,
            met: None,
        },
        Row {
            what: format!("ring buffer: lost (counted) of {FLOOD_CALLS}"),
            value: lost.to_string(),
            target: None,
            met: None,
        },
        Row {
            what: "ring buffer: unaccounted events (produced - delivered - lost)".into(),
            value: unaccounted.to_string(),
            target: Some("0".into()),
            met: Some(unaccounted == 0),
        },
        Row {
            what: "ring buffer: consumer (enforcer observe) CPU, share of one core".into(),
            value: format!("{:.1}%", 100.0 * cpu / wall),
            target: None,
            met: None,
        },
    ])
}

fn fastest(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Runs the probe in cgroup `cg` and returns the CPU time (user + system) it took, in seconds:
/// unlike wall time, not inflated when other work on the machine takes the CPU away.
fn run_in(cg: &Path, probe: &Path, args: &[&str]) -> Result<f64> {
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} {}",
        cg.display(),
        probe.display(),
        args.join(" ")
    );
    let child = Command::new("/bin/sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .spawn()?;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("probe {args:?} failed (wait status {status:#x})");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// CPU time of every thread of process `pid`, in seconds (schedstat: nanoseconds on CPU).
fn cpu_time(pid: u32) -> Result<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let stat = std::fs::read_to_string(task?.path().join("schedstat"))?;
        ns += stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(ns as f64 / 1e9)
}

/// `enforcer observe` on one cgroup, its events in a file.
pub(super) struct Observe {
    child: Child,
    events: PathBuf,
}

impl Observe {
    pub(super) fn start(
        enforcer: &Path,
        cg: &Path,
        extra: &[&str],
        scratch: &Path,
    ) -> Result<Self> {
        let events = scratch.join("events.jsonl");
        let _ = std::fs::remove_file(&events);
        let child = Command::new(enforcer)
            .arg("observe")
            .arg("--cgroup")
            .arg(cg)
            .arg("--events")
            .arg(&events)
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .context("starting enforcer observe")?;
        let id = std::fs::metadata(cg)?.ino();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&events).unwrap_or_default();
            if text.lines().any(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .is_ok_and(|v| v["phase"] == "watch" && v["cgroup_id"] == id)
            }) {
                return Ok(Self { child, events });
            }
            if Instant::now() > deadline {
                bail!("enforcer observe did not start watching {}", cg.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Programs that return at once, attached (to any cgroup: they look at none).
    pub(super) fn empty_programs(enforcer: &Path, cgroups: &BenchCgroups) -> Result<Self> {
        Self::start(
            enforcer,
            &cgroups.watched,
            &["--empty-programs"],
            &cgroups.scratch,
        )
    }

    /// Stops it (SIGTERM: it reports and flushes) and returns its events.
    pub(super) fn stop(mut self) -> Result<Vec<serde_json::Value>> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait()?;
        if !status.success() {
            bail!("enforcer observe: {status}");
        }
        let text = std::fs::read_to_string(&self.events)?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// A watched and an unwatched cgroup for the workloads, removed at the end.
pub(super) struct BenchCgroups {
    parent: PathBuf,
    watched: PathBuf,
    unwatched: PathBuf,
    scratch: PathBuf,
}

impl BenchCgroups {
    pub(super) fn create() -> Result<Self> {
        let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.join("cgroup.controllers").is_file())
            .context("no cgroup v2 hierarchy")?;
        let parent = root.join(format!("enforcer-bench-{}", std::process::id()));
        let (watched, unwatched) = (parent.join("watched"), parent.join("unwatched"));
        std::fs::create_dir_all(&watched)?;
        std::fs::create_dir_all(&unwatched)?;
        let scratch = std::env::temp_dir().join(format!("enforcer-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        Ok(Self {
            parent,
            watched,
            unwatched,
            scratch,
        })
    }
}

impl Drop for BenchCgroups {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.watched);
        let _ = std::fs::remove_dir(&self.unwatched);
        let _ = std::fs::remove_dir(&self.parent);
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}
