//! Issue 12 §1 against `enforcer agent`: a runc container in the host's pid namespace (so
//! that it can see the agent at all), as root with Docker's default capabilities and as uid
//! 1000, attacks every thread of the agent after a chmod made the agent's credential worker
//! take its credentials; everything is denied and the denied file keeps its mode.

use enforcer_tests::containers::*;
use enforcer_tests::probe_bin;
use enforcer_tests::reach::assert_reach_denied;
use serde_json::{Value, json};

/// moby's default capabilities (`docker run` without --cap-add/--cap-drop), as
/// enforcer/src/profile/resolve.rs lists them for `run`; runc's config takes names.
const DOCKER_DEFAULT_CAPS: &str = "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD \
    CAP_NET_RAW CAP_SETGID CAP_SETUID CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE \
    CAP_SYS_CHROOT CAP_KILL CAP_AUDIT_WRITE";

/// A bundle whose process runs as `uid` with `caps`, in the host's pid namespace, with the
/// host's /usr (for the probe's libraries) and the probe at /probe.
fn attacker_bundle(agent: &Agent, uid: u32, caps: &[&str]) -> Bundle {
    let bundle = Bundle::new();
    bundle.configure(
        notify_chmod_profile(&agent.socket, &format!("policy={ALLOWED_DIR}")),
        &[],
    );
    let rootfs = bundle.host_path("/");
    for (link, target) in [("lib", "usr/lib"), ("lib64", "usr/lib64")] {
        std::os::unix::fs::symlink(target, rootfs.join(link)).expect("library link");
    }
    std::fs::write(rootfs.join("probe"), b"").expect("probe mount point");
    let text = std::fs::read_to_string(bundle.path().join("config.json")).expect("config");
    let mut config: Value = serde_json::from_str(&text).expect("config.json is JSON");
    let namespaces = config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces");
    namespaces.retain(|n| n["type"] != "pid");
    let mounts = config["mounts"].as_array_mut().expect("mounts");
    for (source, destination) in [
        ("/usr".into(), "/usr"),
        (probe_bin().display().to_string(), "/probe"),
    ] {
        mounts.push(json!({
            "destination": destination,
            "type": "bind",
            "source": source,
            "options": ["rbind", "ro"]
        }));
    }
    config["process"]["user"] = json!({ "uid": uid, "gid": uid });
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set] = json!(caps);
    }
    bundle.write_config(config);
    // uid 1000 must be able to write the script's output and rename the script.
    if uid != 0 {
        std::os::unix::fs::chown(&rootfs, Some(uid), Some(uid)).expect("chown rootfs");
        std::os::unix::fs::chown(bundle.host_path("/allowed/f"), Some(uid), Some(uid))
            .expect("chown /allowed/f");
    }
    bundle
}

fn attack(name: &str, uid: u32, caps: &[&str]) {
    let agent = allowed_dir_agent().start();
    let c = Container::new(Runtime::Runc, name, attacker_bundle(&agent, uid, caps));
    c.start();
    let out = c.in_init(&format!(
        "chmod 640 /allowed/f; echo allowed=$?; /probe reach {}; chmod 4777 /other/g; echo other=$?",
        agent.pid()
    ));
    let context = format!(
        "uid {uid}, caps {caps:?}:\n{out}\nagent log:\n{}",
        agent.log()
    );
    assert!(
        out.contains("allowed=0"),
        "the allowed chmod failed: {context}"
    );
    assert_reach_denied(&out, 1, &context);
    assert!(
        out.contains("other=1"),
        "the policy did not deny: {context}"
    );
    assert_eq!(c.bundle.mode_of("/other/g"), 0o600, "{context}");
}

#[test]
fn root_container_with_default_capabilities_cannot_reach_the_agent() {
    let caps: Vec<&str> = DOCKER_DEFAULT_CAPS.split_whitespace().collect();
    attack("reach-root", 0, &caps);
}

#[test]
fn uid_1000_container_cannot_reach_the_agent() {
    attack("reach-user", 1000, &[]);
}
