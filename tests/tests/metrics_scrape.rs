//! /metrics scraped while `enforcer run` supervises a workload: the exposition passes
//! `promtool check metrics`, and its counters equal the counts in the event log of the same
//! run. Then SIGTERM: the enforcer passes it on, reports the exit and flushes the log.

mod metrics_support;

use enforcer_tests::*;
use metrics_support::{KNOWN_LOSSES, free_port, http_get, phases, stopped, wait_for};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

type Samples = BTreeMap<String, u64>;

/// `name{a="x",b="y"}` with the labels sorted, as the key of a sample.
fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// The samples of the families the event log accounts for.
fn parse(text: &str) -> Samples {
    let families = [
        "enforcer_decisions_total",
        "enforcer_notify_latency_seconds_count",
        "enforcer_syscalls_total",
        "enforcer_syscalls_stopped_total",
        "enforcer_syscall_errors_total",
        "enforcer_events_total",
        "enforcer_lost_total",
        "enforcer_lifecycle_total",
    ];
    let mut out = Samples::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
        if !families.contains(&name) {
            continue;
        }
        let labels: Vec<(&str, &str)> = labels
            .trim_end_matches('}')
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k, v.trim_matches('"'))
            })
            .collect();
        out.insert(
            key(name, &labels),
            value.parse().unwrap_or_else(|_| panic!("{line}")),
        );
    }
    out
}

/// What the counters must be, from the event log.
fn expected(events: &[Value]) -> Samples {
    let mut out = Samples::new();
    // The series alerts read, at 0 from the start.
    let zero = |name: &str, labels: &[(&str, &str)]| (key(name, labels), 0);
    for outcome in ["allowed", "denied", "emulated", "would-deny"] {
        let empty = [("container", ""), ("rule", ""), ("syscall", "")];
        out.extend([
            zero(
                "enforcer_decisions_total",
                &[&empty[..], &[("outcome", outcome)]].concat(),
            ),
            zero(
                "enforcer_notify_latency_seconds_count",
                &[("outcome", outcome)],
            ),
        ]);
    }
    for (what, place) in KNOWN_LOSSES {
        out.extend([zero(
            "enforcer_lost_total",
            &[("place", place), ("what", what)],
        )]);
    }
    for phase in phases() {
        out.extend([zero("enforcer_lifecycle_total", &[("phase", &phase)])]);
    }
    let mut add = |k: String, n: u64| *out.entry(k).or_default() += n;
    let mut last: BTreeMap<(String, String, String), &Value> = BTreeMap::new();
    for e in events {
        let kind = e["kind"].as_str().unwrap();
        add(key("enforcer_events_total", &[("kind", kind)]), 1);
        let container = format!("cgroup-{}", e["cgroup_id"]);
        match kind {
            "decision" => {
                let (outcome, syscall) = (
                    e["outcome"].as_str().unwrap(),
                    e["syscall"].as_str().unwrap(),
                );
                let labels = [
                    ("container", container.as_str()),
                    ("outcome", outcome),
                    ("rule", e["rule"].as_str().unwrap()),
                    ("syscall", syscall),
                ];
                add(key("enforcer_decisions_total", &labels), 1);
                add(
                    key(
                        "enforcer_notify_latency_seconds_count",
                        &[("outcome", outcome)],
                    ),
                    1,
                );
            }
            "syscall_count" => {
                // A number no table knows has no name: labelled "unknown".
                let name = e["name"].as_str().unwrap_or("unknown").to_string();
                let k = (container, name, e["arch"].as_str().unwrap().to_string());
                last.insert(k, e); // cumulative: the last report counts
            }
            "lost" => {
                let labels = [
                    ("place", e["place"].as_str().unwrap()),
                    ("what", e["what"].as_str().unwrap()),
                ];
                add(
                    key("enforcer_lost_total", &labels),
                    e["count"].as_u64().unwrap(),
                );
            }
            "lifecycle" => add(
                key(
                    "enforcer_lifecycle_total",
                    &[("phase", e["phase"].as_str().unwrap())],
                ),
                1,
            ),
            _ => {}
        }
    }
    for ((container, name, _), e) in last {
        let labels = [
            ("container", container.as_str()),
            ("syscall", name.as_str()),
        ];
        add(
            key("enforcer_syscalls_total", &labels),
            e["count"].as_u64().unwrap(),
        );
        let stopped = stopped(e);
        if stopped > 0 {
            add(key("enforcer_syscalls_stopped_total", &labels), stopped);
        }
        for (errno, n) in e["errors"].as_object().unwrap() {
            let labels = [
                ("container", container.as_str()),
                ("errno", errno.as_str()),
                ("syscall", name.as_str()),
            ];
            add(
                key("enforcer_syscall_errors_total", &labels),
                n.as_u64().unwrap(),
            );
        }
    }
    out
}

fn scrape(port: u16) -> String {
    let (head, body) = http_get(port, "/metrics");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is not installed: `cargo xtask` installs it (Debian's prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        stdout(&out),
        stderr(&out)
    );
}

fn events_so_far(path: &Path) -> Vec<Value> {
    if !path.exists() {
        return Vec::new();
    }
    read_events(path)
}

#[test]
fn scraped_counters_equal_the_event_log_and_sigterm_ends_the_run_cleanly() {
    require_root();
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let events = s.path("events.jsonl");
    let port = free_port();
    let probe = probe_bin();
    let script = format!(
        "{} chmod {f} 0644 chmod {f} 04755 getppid 3 mount; exec sleep 60",
        probe.display(),
        f = f.display()
    );
    let mut child = Command::new(enforcer_bin())
        .args([
            "run",
            "--events",
            events.to_str().unwrap(),
            "--stats-interval",
            "1",
        ])
        .args([
            "--metrics",
            &format!("127.0.0.1:{port}"),
            "--cgroup",
            &format!("metrics-{}", std::process::id()),
        ])
        .args(["--", "/bin/sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enforcer");

    // The probe's calls are decided and counted, and the shell has become `sleep`.
    wait_for("the decisions and a count report after them", 20, || {
        let ev = events_so_far(&events);
        let decided = events_of(&ev, "decision").len() == 2;
        decided && syscall_event(&ev, "getppid").is_some_and(|e| e["count"].as_u64() >= Some(3))
    });
    std::thread::sleep(Duration::from_millis(1500));

    // Interval reports may land between reading the log and scraping: read, scrape, read
    // again, and compare when the log stood still.
    let mut result = Err(String::new());
    for _ in 0..10 {
        let before = events_so_far(&events).len();
        let text = scrape(port);
        std::thread::sleep(Duration::from_millis(300));
        let log = events_so_far(&events);
        if log.len() != before {
            continue;
        }
        promtool_check(&text);
        let (want, got) = (expected(&log), parse(&text));
        result = if want == got {
            Ok(())
        } else {
            let diff: Vec<String> = want
                .keys()
                .chain(got.keys())
                .filter(|k| want.get(*k) != got.get(*k))
                .map(|k| format!("{k}: log {:?}, metrics {:?}", want.get(k), got.get(k)))
                .collect();
            Err(diff.join("\n"))
        };
        if result.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    if let Err(diff) = result {
        panic!("metrics differ from the event log:\n{diff}");
    }

    // SIGTERM reaches the workload through the enforcer, which reports and flushes.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(128 + 15), "{err}");
    let log = read_events(&events);
    let exit = log.last().unwrap();
    assert_eq!(
        (exit["kind"].as_str(), exit["phase"].as_str()),
        (Some("lifecycle"), Some("exit")),
        "{exit}"
    );
    assert_eq!(exit["signal"], 15, "{exit}");
    assert!(std::fs::read_to_string(&events).unwrap().ends_with('\n'));
}
