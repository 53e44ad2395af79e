//! The chmod scenario the agent tests share: a policy that allows one directory, a chmod
//! inside it and one outside, and what the container and the event log must show.

use super::agent::{Agent, AgentBuilder, allow_dir_policy, of_container};
use super::bundle::{Bundle, notify_chmod_profile};
use super::runtime::{Container, Runtime};
use serde_json::Value;
use std::path::Path;

/// The policy of the scenario: the chmod family allowed below /allowed, denied elsewhere.
pub const ALLOWED_DIR: &str = "allowed-dir";

/// An agent that has ALLOWED_DIR in its --policy-dir.
pub fn allowed_dir_agent() -> AgentBuilder {
    Agent::builder().policy(ALLOWED_DIR, &allow_dir_policy(ALLOWED_DIR, "/allowed/**"))
}

/// Starts a container of `runtime` running the driver loop, whose chmod family goes to the
/// agent at `listener` with `metadata`.
pub fn start_container(
    runtime: Runtime,
    name: &str,
    listener: &Path,
    metadata: &str,
    annotations: &[(&str, &str)],
) -> Container {
    let bundle = Bundle::new();
    bundle.configure(notify_chmod_profile(listener, metadata), annotations);
    let c = Container::new(runtime, name, bundle);
    c.start();
    c
}

/// Tries both files; prints each status.
pub const CHMOD_BOTH: &str =
    "chmod 644 /allowed/f; echo allowed=$?; chmod 644 /other/g; echo other=$?";

/// The chmod in /allowed succeeded and changed the mode; the one in /other failed with
/// EPERM and left the file alone.
pub fn assert_only_allowed_dir_changed(out: &str, c: &Container) {
    assert!(
        out.contains("allowed=0"),
        "chmod in /allowed failed:\n{out}"
    );
    assert!(
        out.contains("other=1") && out.contains("/other/g: Operation not permitted"),
        "chmod in /other was not refused with EPERM:\n{out}"
    );
    assert_eq!(c.bundle.mode_of("/allowed/f"), 0o644, "{out}");
    assert_eq!(c.bundle.mode_of("/other/g"), 0o600, "{out}");
}

/// The two decisions of CHMOD_BOTH: emulated by `rule` for /allowed/f, denied by the
/// default for /other/g; both about container `c`, under its cgroup id.
pub fn assert_decisions(events: &[Value], c: &Container, rule: &str) {
    let decisions = of_container(events, &c.id, "decision");
    let cgroup_id = c.cgroup_id();
    for d in &decisions {
        assert_eq!(
            d["cgroup_id"], cgroup_id,
            "decision not under the container's cgroup: {d}"
        );
        assert_eq!(
            d["container"]["bundle"],
            c.bundle.path().display().to_string(),
            "{d}"
        );
        assert!(d["container"]["pid"].as_u64().is_some_and(|p| p > 0), "{d}");
    }
    let find = |path: &str| {
        decisions
            .iter()
            .rev()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("no decision for {path} of {}: {decisions:?}", c.id))
    };
    let allowed = find("/allowed/f");
    assert_eq!(
        (allowed["outcome"].as_str(), allowed["rule"].as_str()),
        (Some("emulated"), Some(rule)),
        "{allowed}"
    );
    let denied = find("/other/g");
    assert_eq!(
        (denied["outcome"].as_str(), denied["errno"].as_i64()),
        (Some("denied"), Some(i64::from(libc::EPERM))),
        "{denied}"
    );
}

/// Waits for the decisions of one run of CHMOD_BOTH in container `c` (`before` of them
/// were logged earlier).
pub fn wait_decisions(agent: &super::Agent, c: &Container, before: usize) -> Vec<Value> {
    agent.wait_events(&format!("two more decisions about {}", c.id), |e| {
        of_container(e, &c.id, "decision").len() >= before + 2
    })
}
