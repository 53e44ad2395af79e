//! deploy/ as users take it: the profile is Docker's default with the chmod family sent to
//! the agent; the runc/crun example config runs under the agent with the example policy;
//! the systemd unit verifies and its command line starts the agent; the Kubernetes manifest
//! carries the same policy, socket and profile names.

use enforcer_tests::containers::*;
use enforcer_tests::*;
use serde_json::Value;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn deploy(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

const PROFILE: &str = "seccomp/chmod-notify.json";

#[test]
fn deploy_profile_is_dockers_default_with_the_chmod_family_notified() {
    let profile = deploy(PROFILE);
    let check = enforcer(&["profile", "check", profile.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    let docker = real_profile("docker-default.json");
    let diff = enforcer(&[
        "profile",
        "diff",
        docker.to_str().unwrap(),
        profile.to_str().unwrap(),
    ]);
    let text = stdout(&diff);
    assert_eq!(diff.status.code(), Some(1), "{text}{}", stderr(&diff));
    let mut notified = Vec::new();
    for line in text.lines() {
        let (what, change) = line.split_once(": ").unwrap_or((line, ""));
        match what {
            "architecture SCMP_ARCH_X86" | "architecture SCMP_ARCH_X32" => {
                assert!(change.contains("kill"), "{line}")
            }
            "listenerPath" | "listenerMetadata" => {}
            name if CHMOD_FAMILY.contains(&name) => {
                assert!(change.contains("now sent to the supervisor"), "{line}");
                notified.push(name);
            }
            _ => panic!(
                "deploy/{PROFILE} differs from Docker's default beyond the chmod family: {line}"
            ),
        }
    }
    assert_eq!(notified, CHMOD_FAMILY, "{text}");

    let config = json("oci/config.json");
    assert_eq!(
        config["linux"]["seccomp"],
        json(PROFILE),
        "oci/config.json carries the profile"
    );
}

fn example_config_under(runtime: Runtime) {
    let agent = Agent::builder()
        .policy("default", &read("policies/default.json"))
        .start();
    let mut config = json("oci/config.json");
    assert_eq!(
        config["linux"]["seccomp"]["listenerMetadata"],
        "policy=default"
    );
    config["linux"]["seccomp"]["listenerPath"] = agent.socket.display().to_string().into();
    let bundle = Bundle::new();
    bundle.write_config(config);
    bundle.reset_file("/data/f", 0o600);
    let c = Container::new(runtime, &format!("{}-deploy", runtime.binary()), bundle);
    c.start();
    let out = c.in_init(
        "chmod 640 /data/f; echo safe=$?; chmod 4755 /data/f; echo setuid=$?; \
         chmod 644 /other/g; echo other=$?",
    );
    assert!(
        out.contains("safe=0") && out.contains("setuid=1") && out.contains("other=1"),
        "{out}"
    );
    assert_eq!(
        (c.bundle.mode_of("/data/f"), c.bundle.mode_of("/other/g")),
        (0o640, 0o600),
        "{out}"
    );
    let events = agent.wait_events("three decisions", |e| {
        of_container(e, &c.id, "decision").len() >= 3
    });
    let rules: Vec<&str> = of_container(&events, &c.id, "decision")
        .iter()
        .map(|d| d["rule"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        rules,
        ["data:safe-modes", "default", "default"],
        "{events:?}"
    );
}

#[test]
fn example_config_runs_under_runc_with_the_example_policy() {
    example_config_under(Runtime::Runc);
}

#[test]
fn example_config_runs_under_crun_with_the_example_policy() {
    example_config_under(Runtime::Crun);
}

#[test]
fn systemd_unit_verifies_and_its_command_line_serves() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let at = |p: &str| dir.path().join(p).display().to_string();
    let unit = read("systemd/enforcer-agent.service")
        .replace("/usr/local/bin/enforcer", enforcer_bin().to_str().unwrap())
        .replace("/run/enforcer", &at("run"))
        .replace("/etc/enforcer", &at("etc"))
        .replace("/var/log/enforcer", &at("log"));
    let unit_file = dir.path().join("enforcer-agent.service");
    std::fs::write(&unit_file, &unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_file)
        .output()
        .expect("systemd-analyze (the systemd package; run `cargo xtask test`)");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        stderr(&verify)
    );

    // ExecStart, its continuation lines joined, run as systemd would (directories made as
    // RuntimeDirectory= and LogsDirectory= make them).
    let exec = unit
        .split_once("ExecStart=")
        .unwrap()
        .1
        .split_inclusive('\n')
        .scan(true, |more, line| {
            let this = (*more).then_some(line);
            *more = line.trim_end().ends_with('\\');
            this
        })
        .map(|l| l.trim_end().trim_end_matches('\\'))
        .collect::<Vec<_>>()
        .join(" ");
    let args: Vec<&str> = exec.split_whitespace().collect();
    for d in ["run", "etc/policies", "log"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    std::fs::copy(
        deploy("policies/default.json"),
        dir.path().join("etc/policies/default.json"),
    )
    .unwrap();
    let mut agent = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socket = dir.path().join("run/agent.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::metadata(&socket).is_ok_and(|m| m.file_type().is_socket()) {
        if let Some(status) = agent.try_wait().unwrap() {
            panic!("the unit's command line exited with {status}: {exec}");
        }
        assert!(Instant::now() < deadline, "no socket from: {exec}");
        std::thread::sleep(Duration::from_millis(20));
    }
    agent.kill().unwrap();
    agent.wait().unwrap();
}

#[test]
fn kubernetes_manifest_matches_the_profile_and_policy() {
    let manifest = read("kubernetes/enforcer-agent.yaml");
    // The ConfigMap's default.json is deploy/policies/default.json.
    let embedded: String = manifest
        .split_once("  default.json: |\n")
        .unwrap()
        .1
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert_eq!(
        embedded.trim_end(),
        read("policies/default.json").trim_end()
    );
    // The agent listens where the profile's listenerPath says, on a host path.
    let listener = json(PROFILE)["listenerPath"].as_str().unwrap().to_owned();
    let dir = listener.rsplit_once('/').unwrap().0;
    assert!(manifest.contains(&format!("- {listener}\n")), "{listener}");
    assert!(manifest.contains(&format!("path: {dir}\n")), "{dir}");
    // The pod names the profile the init container installs.
    let pod = read("kubernetes/example-pod.yaml");
    let installed = "profiles/enforcer-chmod-notify.json";
    assert!(manifest.contains(&format!("/host/seccomp/{installed}")));
    assert!(pod.contains(&format!("localhostProfile: {installed}")));
    assert!(
        manifest.contains("type: Unconfined"),
        "the agent must not run under the profile"
    );
}
