//! The workload stays where the enforcer put it (issue 13 §1): it cannot leave its cgroup,
//! inherits no fd of the enforcer beyond 0-2 (unless --preserve-fds), and dies with the
//! enforcer, whose watchdog then removes its cgroup.

use enforcer_tests::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: i32) -> bool {
    // Zombies count as dead: /proc/PID/stat's state is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

fn daemon_pid(out: &str) -> i32 {
    out.lines()
        .find_map(|l| l.strip_prefix("daemon = "))
        .unwrap_or_else(|| panic!("no daemon line: {out}"))
        .trim()
        .parse()
        .expect("pid")
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A root workload tries to move itself to the root cgroup and make a cgroup of its own, then
/// starts a daemon, makes calls the observer counts, and hits a `kill` rule.
#[test]
fn a_root_workload_cannot_leave_its_cgroup_and_kill_takes_everything() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let after = s.path("after");
    let policy = s.path("policy.json");
    std::fs::write(
        &policy,
        r#"{"rules":[{"name":"no-chmod","syscalls":["@chmod"],"action":"kill"}]}"#,
    )
    .unwrap();
    let events = s.path("events.jsonl");
    let root = cgroup_v2_root();
    let out = run_probe(
        &["--policy", policy.to_str().unwrap()],
        &events,
        &[
            "cgroup-escape",
            root.to_str().unwrap(),
            "daemon",
            "getppid",
            "777",
            "chmod",
            f.to_str().unwrap(),
            "0644",
            "touch",
            after.to_str().unwrap(),
        ],
    );
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("write(") && l.contains("= -1 ")),
        "the move to the root cgroup failed: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("mkdir(") && l.contains("= -1 ")),
        "no sub-cgroup either: {text}"
    );
    assert!(text.contains("cgroup = 0::/\n"), "{text}");
    assert_eq!(out.status.code(), Some(137), "{text} {}", stderr(&out));
    assert!(!after.exists());
    let daemon = daemon_pid(&text);
    wait_until(&format!("the daemon {daemon} was killed"), || {
        !alive(daemon)
    });
    let all = read_events(&events);
    let getppid = syscall_event(&all, "getppid").expect("getppid counted");
    assert!(
        getppid["count"].as_u64().unwrap() >= 777,
        "every getppid counted: {getppid}"
    );
}

/// Runs `enforcer run OPTS -- probe fds` with fds 7 and 9 inherited without close-on-exec.
fn inherited_fds(opts: &[&str]) -> String {
    require_root();
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let mut cmd = Command::new(enforcer_bin());
    cmd.arg("run")
        .args(opts)
        .arg("--")
        .arg(probe_bin())
        .arg("fds");
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: dup2 is async-signal-safe; the fds it makes have no close-on-exec flag.
    unsafe {
        cmd.pre_exec(move || {
            for target in [7, 9] {
                if libc::dup2(raw, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("spawn enforcer");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn the_enforcers_fds_do_not_reach_the_workload() {
    assert_eq!(inherited_fds(&[]), "fds = []\n");
    // runc's --preserve-fds: 3..3+N-1 pass as they are, the rest is closed.
    assert_eq!(inherited_fds(&["--preserve-fds", "5"]), "fds = [7]\n");
}

/// `kill -9` of `enforcer run`: the workload (its daemon too) is killed and the watchdog
/// removes its cgroup.
#[test]
fn the_workload_dies_with_the_enforcer_and_its_cgroup_is_removed() {
    require_root();
    let s = Scratch::new();
    let ready = s.path("ready");
    let name = format!("contain-kill9-{}", std::process::id());
    let cgroup = cgroup_v2_root().join("enforcer").join(&name);
    let mut child = Command::new(enforcer_bin())
        .args(["run", "--cgroup", &name, "--"])
        .arg(probe_bin())
        .args(["daemon", "touch", ready.to_str().unwrap(), "wait-file"])
        .arg(s.path("never"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enforcer");
    wait_until("the workload started", || ready.exists());
    let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap();
    let pids: Vec<i32> = procs.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2, "the probe and its daemon: {procs}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = child.wait();
    for pid in pids {
        wait_until(&format!("{pid} was killed"), || !alive(pid));
    }
    wait_until("the cgroup was removed", || !Path::new(&cgroup).exists());
}
