//! The eBPF observer through `enforcer run`: exact counts, seccomp denials seen at exit,
//! i386 and x32 calls marked, detailed events from the ring buffer, loss accounting, and
//! counts reported at an interval.

use enforcer_tests::*;
use serde_json::Value;

fn observed(all: &[Value]) {
    assert!(
        events_of(all, "lifecycle")
            .iter()
            .all(|e| e["phase"] != "observer-degraded"),
        "observer did not load: {all:?}"
    );
}

fn lost(all: &[Value], what: &str) -> u64 {
    events_of(all, "lost")
        .iter()
        .filter(|e| e["what"] == what)
        .map(|e| e["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn counts_are_exact_and_start_at_the_workloads_exec() {
    check_exact_counts(&[]);
}

/// The same counts when the cgroup is counted in the per-CPU hash map instead of the dense
/// array (what cgroups beyond the array's slots get).
#[test]
fn counts_are_exact_in_the_hash_map_too() {
    check_exact_counts(&["--dense-counter-slots", "0"]);
}

fn check_exact_counts(opts: &[&str]) {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let out = run_probe(opts, &events, &["getppid", "12345"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    observed(&all);
    let getppid = syscall_event(&all, "getppid").expect("getppid observed");
    assert_eq!(
        (getppid["count"].as_u64(), getppid["entered"].as_u64()),
        (Some(12345), Some(12345)),
        "{getppid}"
    );
    // The launcher's own calls between fork and exec (installing the filter) are not the
    // workload's; its exec is, once.
    assert!(
        syscall_event(&all, "seccomp").is_none(),
        "launcher set-up counted: {all:?}"
    );
    let execve = syscall_event(&all, "execve").expect("execve observed");
    assert_eq!(execve["count"], 1, "{execve}");
    // exit_group never returns: counted at entry.
    assert_eq!(
        syscall_event(&all, "exit_group").expect("exit_group")["count"],
        1
    );
}

#[test]
fn seccomp_denials_are_seen_at_exit_with_their_arguments() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    // Docker's default refuses mount, and allows personality for some values only (so every
    // personality call is selected for detail, whatever its value).
    let out = run_probe(
        &[],
        &events,
        &["mount", "personality", "0x8", "getppid", "3"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("mount(") && stdout(&out).contains("EPERM"),
        "{}",
        stdout(&out)
    );
    let all = read_events(&events);
    observed(&all);
    let mount = syscall_event(&all, "mount").expect("denied mount observed");
    assert_eq!(
        (mount["count"].as_u64(), mount["entered"].as_u64()),
        (Some(1), Some(0)),
        "{mount}"
    );
    assert_eq!(mount["errors"]["EPERM"], 1, "{mount}");
    // The default selection (what the profile refuses) gives each a detailed event, with
    // the registers read at exit since the call never entered.
    let calls = syscall_calls(&all, "mount");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = calls[0];
    assert_eq!(
        (
            call["args_at"].as_str(),
            call["errno"].as_str(),
            call["comm"].as_str()
        ),
        (Some("exit"), Some("EPERM"), Some("probe")),
        "{call}"
    );
    let flags = call["args"][3].as_u64().unwrap();
    assert_eq!(
        flags,
        libc::MS_RDONLY | libc::MS_REMOUNT | libc::MS_BIND,
        "{call}"
    );
    assert_eq!(call["pid"], call["tid"]);
    let personality = syscall_calls(&all, "personality");
    assert_eq!(personality.len(), 1, "{personality:?}");
    assert_eq!(personality[0]["args"][0], 8);
    // Allowed without condition: no detailed event.
    assert!(syscall_calls(&all, "getppid").is_empty());
}

#[test]
fn i386_and_x32_calls_are_marked_with_their_abi() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let out = run_probe(&[], &events, &["i386-getpid", "x32-getpid", "i386-getpid"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    observed(&all);
    let i386 = syscall_event_of(&all, "getpid", "x86").expect("i386 getpid observed");
    assert_eq!(
        (i386["nr"].as_u64(), i386["count"].as_u64()),
        (Some(20), Some(2)),
        "{i386}"
    );
    let x32 = syscall_event_of(&all, "getpid", "x32").expect("x32 getpid observed");
    assert_eq!(x32["nr"], 39 | 0x4000_0000, "{x32}");
    assert_eq!(x32["count"], 1, "{x32}");
    // Nothing of the two leaked into the native counts.
    assert!(
        syscall_event_of(&all, "getpid", "x86_64").is_none(),
        "{all:?}"
    );
    assert!(syscall_event_of(&all, "close", "x86").is_none());
}

#[test]
fn every_detailed_event_is_delivered_or_counted_as_lost() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let n = 200_000u64;
    // One page of ring buffer (about 36 records) against a flood: most are lost.
    let out = run_probe(
        &["--trace", "getppid", "--ring-buffer-bytes", "4096"],
        &events,
        &["getppid", &n.to_string()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    observed(&all);
    let delivered = syscall_calls(&all, "getppid").len() as u64;
    let ring_lost = lost(&all, "syscall-event");
    let sink_lost = lost(&all, "event");
    assert!(ring_lost > 0, "a 4 KiB ring buffer kept up with {n} calls?");
    assert!(delivered > 0, "nothing delivered");
    assert_eq!(
        delivered + ring_lost + sink_lost,
        n,
        "delivered {delivered}, lost {ring_lost} + {sink_lost}"
    );
    assert_eq!(
        syscall_event(&all, "getppid").expect("aggregate")["count"],
        n
    );
}

#[test]
fn a_roomy_ring_buffer_delivers_every_event() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let out = run_probe(
        &["--trace", "getppid,socket"],
        &events,
        &["getppid", "5000", "socket", "1"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    observed(&all);
    let calls = syscall_calls(&all, "getppid");
    assert_eq!(calls.len(), 5000);
    assert!(
        calls
            .iter()
            .all(|c| c["args_at"] == "entry" && c["ret"].as_i64() > Some(0))
    );
    let socket = syscall_calls(&all, "socket");
    assert_eq!(socket.len(), 1);
    assert_eq!(socket[0]["args"][0], 1);
    assert_eq!(lost(&all, "syscall-event"), 0);
}

#[test]
fn counts_are_reported_at_the_interval_and_at_exit() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let probe = probe_bin();
    let p = probe.to_str().unwrap();
    let script = format!("{p} getppid 10; sleep 2.5; {p} getppid 5");
    let out = enforcer(&[
        "run",
        "--events",
        events.to_str().unwrap(),
        "--stats-interval",
        "1",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = read_events(&events);
    observed(&all);
    let counts: Vec<u64> = all
        .iter()
        .filter(|e| e["kind"] == "syscall_count" && e["name"] == "getppid")
        .map(|e| e["count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.len() >= 2,
        "one report during the run and one at exit: {counts:?}"
    );
    // The shell makes a getppid call of its own.
    let (first, last) = (counts[0], counts[counts.len() - 1]);
    assert!((10..=11).contains(&first), "{counts:?}");
    assert_eq!(last, first + 5, "cumulative: {counts:?}");
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
}

#[test]
fn a_bad_trace_name_is_refused_before_launch() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let marker = s.path("marker");
    let out = run_probe(
        &["--trace", "getppidd"],
        &events,
        &["touch", marker.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("getppidd"), "{}", stderr(&out));
    assert!(!marker.exists(), "the workload ran");
}

#[test]
fn observation_that_cannot_start_degrades_and_enforcement_goes_on() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    // A ring buffer size the kernel refuses: the program cannot load.
    let out = run_probe(
        &["--ring-buffer-bytes", "1000"],
        &events,
        &["chmod", f.to_str().unwrap(), "04755", "mount"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("EPERM").count(), 2, "{}", stdout(&out));
    assert_eq!(mode_of(&f), 0o600);
    let all = read_events(&events);
    let degraded: Vec<&Value> = events_of(&all, "lifecycle")
        .into_iter()
        .filter(|e| e["phase"] == "observer-degraded")
        .collect();
    assert_eq!(degraded.len(), 1, "{all:?}");
    assert!(
        degraded[0]["reason"].as_str().unwrap().contains("1000"),
        "{}",
        degraded[0]
    );
    assert!(syscall_event(&all, "mount").is_none());
    assert_eq!(
        events_of(&all, "decision").len(),
        1,
        "the supervisor still decides"
    );
}
