//! Docker (dockerd from Debian's docker.io, started by the test on private sockets and data
//! root) with the project's profiles: the seed article verbatim, profiles written by
//! `enforcer record` and `enforcer profile suggest` accepted by `docker run --security-opt
//! seccomp=`, and `enforcer observe` naming the container as `docker ps` does.

use enforcer_tests::engines::{Ctl, DRIVER_PATH, Docker, shared_docker};
use enforcer_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn text(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// `docker run --rm --security-opt seccomp=PROFILE busybox sh -c SCRIPT`.
fn run_under(docker: &Docker, profile: &Path, script: &str) -> std::process::Output {
    let opt = format!("seccomp={}", profile.display());
    docker.run(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        script,
    ])
}

#[test]
fn seed_article_runs_verbatim_with_the_repository_profile() {
    let docker = shared_docker();
    let dir = Scratch::new();
    std::fs::copy(
        real_profile("seed-chmod-errno.json"),
        dir.path("profile.json"),
    )
    .expect("copy the seed profile");
    // The article's command line, word for word, run where profile.json is.
    let article = "docker run --security-opt seccomp=profile.json busybox chmod 777 /etc/hostname";
    let words: Vec<&str> = article.split(' ').skip(1).collect();
    let out = docker
        .cli()
        .args(&words)
        .current_dir(dir.dir.path())
        .output()
        .expect("spawn docker");
    assert_eq!(out.status.code(), Some(1), "{article}: {}", text(&out));
    assert!(
        stderr(&out).contains("chmod: /etc/hostname: Operation not permitted"),
        "{article}: {}",
        text(&out)
    );
    // Without the profile the same chmod works: the profile is what refused it.
    let free = docker.run(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "chmod",
        "777",
        "/etc/hostname",
    ]);
    assert!(free.status.success(), "unconfined: {}", text(&free));
}

/// What runc 1.1 (Docker 20.10's) does itself between installing the container's filter
/// and exec'ing the workload, found by taking each out of a working profile: closing the
/// exec fds (fstatfs, getdents64), setting up the user (fstat, setgroups, setuid, setgid),
/// capabilities (capget, capset, prctl for the bounding set). A profile recorded from the
/// workload alone lacks them, and runc refuses to start the container.
const RUNC_AFTER_FILTER: [&str; 9] = [
    "fstatfs",
    "getdents64",
    "fstat",
    "capget",
    "capset",
    "setgroups",
    "setuid",
    "setgid",
    "prctl",
];

const RECORDED_SCRIPT: &str = "touch /tmp/f && chmod 644 /tmp/f && stat -c %a /tmp/f";

#[test]
fn a_recorded_profile_is_accepted_by_docker_and_the_workload_behaves_as_recorded() {
    let docker = shared_docker();
    let dir = Scratch::new();
    // The workload recorded on the host, in the image's own rootfs.
    let rootfs = dir.mkdir("rootfs");
    let image = enforcer_tests::engines::BusyboxImage::build("busybox:latest");
    let untar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-xf")
        .arg(&image.rootfs_tar)
        .status()
        .unwrap();
    assert!(untar.success());
    let recorded = dir.path("recorded.json");
    let out = enforcer(&[
        "record",
        "--output",
        recorded.to_str().unwrap(),
        "--",
        "chroot",
        rootfs.to_str().unwrap(),
        "/bin/sh",
        "-c",
        RECORDED_SCRIPT,
    ]);
    assert!(out.status.success(), "record: {}", text(&out));
    assert_eq!(stdout(&out).trim(), "644");
    let profile_opt = format!("seccomp={}", recorded.display());

    // Alone, it lacks runc's own calls after the filter: runc says which step failed.
    let alone = docker.run(&[
        "run",
        "--rm",
        "--security-opt",
        &profile_opt,
        "busybox",
        "true",
    ]);
    assert!(!alone.status.success(), "{}", text(&alone));
    assert!(
        text(&alone).contains("operation not permitted"),
        "{}",
        text(&alone)
    );

    // With them, Docker runs the workload as recorded, and refuses what was not recorded:
    // chmod is allowed only with mode bits seen (those of 0644), so 0666 gets the profile's
    // EPERM.
    let mut profile: Value =
        serde_json::from_str(&std::fs::read_to_string(&recorded).unwrap()).unwrap();
    profile["syscalls"]
        .as_array_mut()
        .expect("a syscalls list")
        .push(serde_json::json!({ "names": RUNC_AFTER_FILTER, "action": "SCMP_ACT_ALLOW" }));
    let with_runc = dir.path("recorded-runc.json");
    std::fs::write(&with_runc, profile.to_string()).unwrap();
    let check = enforcer(&["profile", "check", with_runc.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let same = run_under(&docker, &with_runc, RECORDED_SCRIPT);
    assert!(same.status.success(), "{}", text(&same));
    assert_eq!(stdout(&same).trim(), "644", "{}", text(&same));
    let other_mode = run_under(&docker, &with_runc, "touch /tmp/f && chmod 666 /tmp/f");
    assert_eq!(other_mode.status.code(), Some(1), "{}", text(&other_mode));
    assert!(
        stderr(&other_mode).contains("chmod: /tmp/f: Operation not permitted"),
        "{}",
        text(&other_mode)
    );
}

/// A detached container running the driver loop under `profile`, named `name`.
fn driven_container(docker: &Docker, name: &str, profile: &Path) -> (String, Ctl) {
    let ctl = Ctl::new(docker.dir(), name);
    let id = docker.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--security-opt",
        &format!("seccomp={}", profile.display()),
        "-v",
        &format!("{}:/ctl", ctl.dir.display()),
        "busybox",
        "sh",
        DRIVER_PATH,
    ]);
    (id, ctl)
}

/// The cgroup v2 directory of a process.
fn cgroup_dir(pid: u32) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    cgroup_v2_root().join(rel.trim_start_matches('/'))
}

fn start_observe(cgroup: &Path, events: &Path, engine_root: &Path) -> Child {
    Command::new(enforcer_bin())
        .arg("observe")
        .arg("--cgroup")
        .arg(cgroup)
        .arg("--events")
        .arg(events)
        .arg("--engine-root")
        .arg(engine_root)
        .args(["--stats-interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enforcer observe")
}

fn wait_for(what: &str, events: &Path, mut ready: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = if events.exists() {
            read_events(events)
        } else {
            Vec::new()
        };
        if ready(&all) {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {all:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn observe_names_the_container_as_docker_ps_and_suggest_amends_its_profile() {
    let docker = shared_docker();
    let dir = Scratch::new();
    let seed = dir.path("seed.json");
    std::fs::copy(real_profile("seed-chmod-errno.json"), &seed).unwrap();
    let name = format!("enforcer-web-{}", std::process::id());
    let (id, ctl) = driven_container(&docker, &name, &seed);
    let shown = docker.ok(&[
        "ps",
        "--no-trunc",
        "--filter",
        &format!("id={id}"),
        "--format",
        "{{.ID}} {{.Names}}",
    ]);
    assert_eq!(shown, format!("{id} {name}"), "docker ps");

    let events = dir.path("events.jsonl");
    let mut observe = start_observe(&cgroup_dir(docker.pid_of(&id)), &events, &docker.data_root);
    wait_for("the container's cgroup to be watched", &events, |e| {
        e.iter().any(|v| v["phase"] == "watch")
    });
    let out = ctl.run("for i in 1 2 3; do chmod 777 /etc/hostname; done; true");
    assert_eq!(
        out.matches("Operation not permitted").count(),
        3,
        "the seed profile let chmod run: {out}"
    );
    let all = wait_for("three denied chmods", &events, |e| {
        syscall_event(e, "chmod").is_some_and(|s| s["errors"]["EPERM"].as_u64() >= Some(3))
    });
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(observe.id() as i32, libc::SIGTERM) };
    assert!(observe.wait().unwrap().success());

    let chmod = syscall_event(&all, "chmod").unwrap();
    assert_eq!(chmod["container"]["id"], id.as_str(), "{chmod}");
    assert_eq!(chmod["container"]["name"], name.as_str(), "{chmod}");
    assert!(chmod["count"].as_u64() >= Some(3), "{chmod}");
    assert_eq!(
        chmod["entered"], 0,
        "seccomp stopped them before entry: {chmod}"
    );
    let watch = all.iter().find(|v| v["phase"] == "watch").unwrap();
    assert_eq!(watch["container"]["name"], name.as_str(), "{watch}");

    // suggest: allow chmod. Docker accepts the amended profile and chmod then works.
    let suggested = dir.path("suggested.json");
    let out = enforcer(&[
        "profile",
        "suggest",
        "--profile",
        seed.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--output",
        suggested.to_str().unwrap(),
        "--workload",
        &name,
    ]);
    assert!(out.status.success(), "suggest: {}", text(&out));
    let now = run_under(
        &docker,
        &suggested,
        "chmod 777 /etc/hostname && stat -c %a /etc/hostname",
    );
    assert!(
        now.status.success(),
        "under the suggested profile: {}",
        text(&now)
    );
    assert_eq!(stdout(&now).trim(), "777");
    docker.ok(&["rm", "-f", &id]);
}
