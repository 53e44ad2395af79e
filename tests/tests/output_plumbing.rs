//! Output behaves as a Unix tool's: a reader that goes away ends a command quietly, a failed
//! `record` leaves no profile behind, and `report` names a line that is not an event.

use enforcer_tests::*;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// Runs enforcer with stdout a pipe whose reader is already gone, as after `| head -c 10`
/// has read its fill (closed before the start, so the very first write meets it).
fn into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(enforcer_bin())
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("spawn enforcer")
}

fn assert_quiet(args: &[&str]) {
    let out = into_closed_pipe(args);
    let quiet = out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(0);
    assert!(
        quiet && !stderr(&out).contains("panicked"),
        "enforcer {args:?} into a closed pipe: {:?}\n{}",
        out.status,
        stderr(&out)
    );
}

#[test]
fn a_closed_pipe_ends_printing_commands_quietly() {
    let docker = real_profile("docker-default.json");
    let podman = real_profile("podman-default.json");
    let (docker, podman) = (docker.to_str().unwrap(), podman.to_str().unwrap());
    assert_quiet(&["profile", "explain", "--json", docker]);
    assert_quiet(&["profile", "explain", docker]);
    assert_quiet(&["profile", "check", docker]);
    // diff exits 1 when the profiles differ; a closed pipe must still not panic.
    let out = into_closed_pipe(&["profile", "diff", docker, podman]);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_ne!(out.status.code(), Some(101));
}

#[test]
fn a_failed_record_leaves_no_profile_behind() {
    require_root();
    let scratch = Scratch::new();
    let dir = scratch.dir.path();
    let output = dir.join("profile.json");
    let not_executable = scratch.file("not-executable", 0o644);
    for (cmd, code) in [
        ("/nonexistent/enforcer-test-command", 127),
        (not_executable.to_str().unwrap(), 126),
    ] {
        let out = enforcer(&["record", "--output", output.to_str().unwrap(), "--", cmd]);
        assert_eq!(out.status.code(), Some(code), "{cmd}: {}", stderr(&out));
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "not-executable")
            .collect();
        assert!(left.is_empty(), "record of {cmd} left {left:?}");
    }
    // A recording that works writes the file whole and says what it allows.
    let out = enforcer(&[
        "record",
        "--output",
        output.to_str().unwrap(),
        "--",
        "/bin/true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let names = profile["syscalls"][0]["names"].as_array().unwrap().len();
    let said = format!("wrote {}: allows ", output.display());
    assert!(stderr(&out).contains(&said), "{}", stderr(&out));
    assert!(names > 0);
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        2,
        "only the profile and the scratch file"
    );
}

#[test]
fn report_names_a_line_that_is_not_an_event_and_suggests_an_events_file() {
    require_root();
    let scratch = Scratch::new();
    let events = scratch.dir.path().join("mixed.jsonl");
    // What `run --events -` gives when the workload also writes to stdout.
    let out = Command::new(enforcer_bin())
        .args([
            "run",
            "--events",
            "-",
            "--",
            "/bin/echo",
            "hello from the workload",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&events, &out.stdout).unwrap();
    let line = stdout(&out)
        .lines()
        .position(|l| l == "hello from the workload")
        .expect("the workload's line")
        + 1;
    let report = enforcer(&["report", events.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(125));
    let err = stderr(&report);
    assert!(
        err.contains(&format!("{}:{line}: not an event", events.display())),
        "{err}"
    );
    assert!(err.contains("\"hello from the workload\""), "{err}");
    assert!(err.contains("--events FILE"), "{err}");
}
