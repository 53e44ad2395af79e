//! The agent scenario every engine goes through: a container whose chmod family the
//! engine's runtime hands to `enforcer agent` (policy by listenerMetadata), one in audit
//! mode, and the agent killed under a running container.

use super::driver::Ctl;
use crate::containers::{
    ALLOWED_DIR, Agent, allowed_dir_agent, notify_chmod_profile, of_container,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Makes two files, chmods both, prints each status and the modes after.
const CHMOD_BOTH: &str = "touch /allowed/f /other/g; \
    chmod 640 /allowed/f; echo allowed=$?; chmod 640 /other/g; echo other=$?; \
    stat -c '%n %a' /allowed/f /other/g";

/// A container the engine started: its id, the name the engine shows, its control dir.
pub struct Started {
    pub id: String,
    pub shown_name: String,
    pub ctl: Ctl,
}

/// How an engine starts a detached container running the image's driver loop under the
/// seccomp profile at the given path, named (where the engine takes a name) as given.
pub trait StartWithProfile {
    fn start_driven(&self, name: &str, profile: &Path) -> Started;
    fn scratch(&self) -> &Path;
}

fn write_profile(dir: &Path, name: &str, agent: &Agent, metadata: &str) -> PathBuf {
    let p = dir.join(format!("{name}.json"));
    std::fs::write(
        &p,
        notify_chmod_profile(&agent.socket, metadata).to_string(),
    )
    .expect("write profile");
    p
}

fn decisions_of<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    of_container(events, id, "decision")
}

fn decision_for<'a>(events: &'a [Value], id: &str, path: &str) -> &'a Value {
    decisions_of(events, id)
        .into_iter()
        .rev()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no decision for {path} of {id}: {events:#?}"))
}

/// Runs the whole scenario on `engine`; `tag` keeps names unique.
pub fn agent_decides_chmod(engine: &impl StartWithProfile, tag: &str) {
    let agent = allowed_dir_agent().start();
    let dir = engine.scratch();
    let enforce = write_profile(dir, "enforce", &agent, &format!("policy={ALLOWED_DIR}"));
    let audit = write_profile(
        dir,
        "audit",
        &agent,
        &format!("policy={ALLOWED_DIR};mode=audit"),
    );

    // Enforce: the policy allows /allowed and denies the rest with EPERM.
    let a = engine.start_driven(&format!("enforcer-{tag}-enforce"), &enforce);
    let out = a.ctl.run(CHMOD_BOTH);
    assert!(
        out.contains("allowed=0") && out.contains("/allowed/f 640"),
        "chmod in /allowed: {out}"
    );
    assert!(
        out.contains("other=1")
            && out.contains("/other/g: Operation not permitted")
            && out.contains("/other/g 644"),
        "chmod in /other was not refused with EPERM: {out}"
    );
    let events = agent.wait_events("both decisions of the enforce container", |e| {
        decisions_of(e, &a.id).len() >= 2
    });
    let allowed = decision_for(&events, &a.id, "/allowed/f");
    assert_eq!(
        (allowed["outcome"].as_str(), allowed["rule"].as_str()),
        (Some("emulated"), Some(ALLOWED_DIR)),
        "{allowed}"
    );
    let denied = decision_for(&events, &a.id, "/other/g");
    assert_eq!(denied["outcome"], "denied", "{denied}");
    for d in decisions_of(&events, &a.id) {
        assert_eq!(
            d["container"]["name"],
            a.shown_name.as_str(),
            "events must name the container as the engine shows it: {d}"
        );
    }

    // Audit: nothing is refused, the would-be denial is logged.
    let b = engine.start_driven(&format!("enforcer-{tag}-audit"), &audit);
    let out = b.ctl.run(CHMOD_BOTH);
    assert!(
        out.contains("allowed=0") && out.contains("other=0") && out.contains("/other/g 640"),
        "audit mode refused a call: {out}"
    );
    let events = agent.wait_events("both decisions of the audit container", |e| {
        decisions_of(e, &b.id).len() >= 2
    });
    let would = decision_for(&events, &b.id, "/other/g");
    assert_eq!(would["outcome"], "would-deny", "{would}");
    assert_eq!(would["container"]["name"], b.shown_name.as_str(), "{would}");

    // The agent gone: notified calls get ENOSYS, nothing runs unchecked.
    let mut agent = agent;
    agent.kill();
    let out = a
        .ctl
        .run("chmod 600 /allowed/f; echo allowed=$?; stat -c '%n %a' /allowed/f");
    assert!(
        out.contains("Function not implemented") && out.contains("allowed=1"),
        "after the agent died: {out}"
    );
    assert!(out.contains("/allowed/f 640"), "the mode changed: {out}");
}
