//! `enforcer agent` as the seccomp agent of real runc and crun containers: the container's
//! own process makes notified chmods, decided by the policy its listenerMetadata names,
//! with the container's identity on every event.

use enforcer_tests::containers::*;
use serde_json::Value;

const POLICY: &str = ALLOWED_DIR;
const ANNOTATIONS: [(&str, &str); 3] = [
    ("io.kubernetes.cri.container-name", "web"),
    ("io.kubernetes.cri.sandbox-name", "web-7d9f"),
    ("io.kubernetes.cri.sandbox-namespace", "shop"),
];

fn directory_policy_under(runtime: Runtime) {
    let agent = allowed_dir_agent().start();
    let c = start_container(
        runtime,
        &format!("{}-dir", runtime.binary()),
        &agent.socket,
        &format!("policy={POLICY}"),
        &ANNOTATIONS,
    );

    let out = c.in_init(CHMOD_BOTH);
    assert_only_allowed_dir_changed(&out, &c);
    let events = wait_decisions(&agent, &c, 0);
    assert_decisions(&events, &c, POLICY);

    // Identity from the state: id, bundle, pid and the Kubernetes names of the annotations.
    let container = &of_container(&events, &c.id, "decision")[0]["container"];
    assert_eq!(container["name"], "web", "{container}");
    assert_eq!(container["pod"], "web-7d9f", "{container}");
    assert_eq!(container["namespace"], "shop", "{container}");
    assert_eq!(container["pid"], c.pid(), "{container}");
    let attach: Vec<&Value> = of_container(&events, &c.id, "lifecycle")
        .into_iter()
        .filter(|e| e["phase"] == "agent-attach")
        .collect();
    assert_eq!(attach.len(), 1, "{attach:?}");
    let reason = attach[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("status creating") && reason.contains(&format!("{POLICY}.json")),
        "{reason}"
    );
    assert_eq!(attach[0]["cgroup_id"], c.cgroup_id());
}

#[test]
fn runc_container_chmod_is_decided_by_the_directory_policy() {
    directory_policy_under(Runtime::Runc);
}

#[test]
fn crun_container_chmod_is_decided_by_the_directory_policy() {
    directory_policy_under(Runtime::Crun);
}
