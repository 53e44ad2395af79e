//! Long-running commands say what they do: agent where it listens and with which policy,
//! observe which cgroups it watches and where events go (a warning when nowhere);
//! RUST_LOG=info adds the steps of a run, with no colour codes when stderr is not a terminal.

use enforcer_tests::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn agent_says_where_it_listens_with_which_policy_and_where_events_go() {
    require_root();
    let scratch = Scratch::new();
    let socket = scratch.dir.path().join("agent.sock");
    let mut agent = Command::new(enforcer_bin())
        .args(["agent", "--socket", socket.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(agent.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let warning = lines.next().unwrap().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    agent.wait().unwrap();
    assert!(
        ready.contains(&format!("listening on {}", socket.display()))
            && ready.contains("built-in policy"),
        "{ready}"
    );
    assert!(warning.contains("goes nowhere"), "{warning}");
}

#[test]
fn observe_says_which_cgroups_it_watches_and_where_events_go() {
    require_root();
    let cgroup = cgroup_v2_root().join(format!("enforcer-test-announce-{}", std::process::id()));
    std::fs::create_dir(&cgroup).unwrap();
    let scratch = Scratch::new();
    let events = scratch.dir.path().join("events.jsonl");
    let observe = |extra: &[&str]| {
        let mut args = vec!["observe", "--cgroup", cgroup.to_str().unwrap()];
        args.extend(["--duration", "1"]);
        args.extend(extra);
        enforcer(&args)
    };
    let to_file = observe(&["--events", events.to_str().unwrap()]);
    let nowhere = observe(&[]);
    std::fs::remove_dir(&cgroup).unwrap();
    for out in [&to_file, &nowhere] {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        assert!(
            stderr(out).contains(&format!("watching {} (id ", cgroup.display())),
            "{}",
            stderr(out)
        );
    }
    assert!(
        stderr(&to_file).contains(&format!("events to {}", events.display())),
        "{}",
        stderr(&to_file)
    );
    assert!(
        !stderr(&to_file).contains("warning"),
        "{}",
        stderr(&to_file)
    );
    assert!(
        stderr(&nowhere).contains("warning: no --events and no --metrics"),
        "{}",
        stderr(&nowhere)
    );
}

#[test]
fn rust_log_info_tells_the_steps_of_a_run_without_colour_codes() {
    require_root();
    let out = Command::new(enforcer_bin())
        .env("RUST_LOG", "info")
        .args(["run", "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    for step in [
        "profile <builtin:docker-default> loaded and compiled",
        "BPF instructions",
        "workload cgroup ",
        "eBPF observer attached",
        "seccomp listener taken from the child",
    ] {
        assert!(err.contains(step), "RUST_LOG=info lacks {step:?}:\n{err}");
    }
    assert!(!err.contains('\x1b'), "colour codes into a pipe:\n{err}");
}
