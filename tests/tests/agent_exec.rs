//! `runc exec` / `crun exec` into a running container: the runtime loads the profile again
//! for the new process and connects anew (status "running"); its chmods are decided and
//! attributed to the container it entered.

use enforcer_tests::containers::*;
use serde_json::Value;

const POLICY: &str = ALLOWED_DIR;

fn exec_is_decided_and_attributed(runtime: Runtime) {
    let agent = allowed_dir_agent().start();
    let c = start_container(
        runtime,
        &format!("{}-exec", runtime.binary()),
        &agent.socket,
        &format!("policy={POLICY}"),
        &[],
    );

    // The container's own process runs nothing but its idle loop: every chmod below comes
    // from the exec'd process, under the filter of the exec's own connection.
    let out = c.exec(&["sh", "-c", CHMOD_BOTH]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{} exec: {text}", runtime.binary());
    assert_only_allowed_dir_changed(&text, &c);
    let events = wait_decisions(&agent, &c, 0);
    assert_decisions(&events, &c, POLICY);

    let phases = |phase: &str| -> Vec<Value> {
        agent
            .events()
            .into_iter()
            .filter(|e| {
                e["kind"] == "lifecycle" && e["phase"] == phase && e["container"]["id"] == c.id
            })
            .collect()
    };
    let attach = phases("agent-attach");
    assert_eq!(
        attach.len(),
        2,
        "the container's and the exec's connection: {attach:?}"
    );
    assert!(
        attach[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("status running")),
        "{attach:?}"
    );
    assert_eq!(
        attach[1]["cgroup_id"],
        c.cgroup_id(),
        "exec attributed to the container's cgroup"
    );
    // The exec'd process is gone: its filter has no user left and the agent let it go,
    // while the container's own filter is still served.
    agent.wait_events("the exec's listener to be released", |e| {
        e.iter()
            .any(|e| e["phase"] == "agent-detach" && e["container"]["id"] == c.id)
    });
    assert_eq!(phases("agent-detach").len(), 1);
}

#[test]
fn runc_exec_chmod_is_decided_and_attributed_to_its_container() {
    exec_is_decided_and_attributed(Runtime::Runc);
}

#[test]
fn crun_exec_chmod_is_decided_and_attributed_to_its_container() {
    exec_is_decided_and_attributed(Runtime::Crun);
}
