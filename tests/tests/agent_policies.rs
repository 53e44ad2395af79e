//! Several containers served at once, each with the policy its listenerMetadata chooses: a
//! named policy, a policy file, and the agent's --policy in audit mode.

use enforcer_tests::containers::*;
use serde_json::Value;

#[test]
fn containers_at_once_get_the_policies_their_metadata_names() {
    let agent = Agent::builder()
        .policy("alpha", &allow_dir_policy("alpha", "/allowed/**"))
        .fallback(r#"{"version": 1, "defaultAction": "deny", "rules": []}"#)
        .start();
    let beta = agent.dir.join("beta.json");
    std::fs::write(&beta, allow_dir_policy("beta", "/other/**")).unwrap();

    let start = |runtime: Runtime, name: &str, metadata: &str| {
        start_container(runtime, name, &agent.socket, metadata, &[])
    };
    let alpha = start(Runtime::Runc, "alpha", "policy=alpha");
    let beta = start(
        Runtime::Crun,
        "beta",
        &format!("policy-file={}", beta.display()),
    );
    let audited = start(Runtime::Runc, "audited", "mode=audit");

    // All three are served at the same time; their calls come in concurrently.
    let outputs: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = [&alpha, &beta, &audited]
            .into_iter()
            .map(|c| s.spawn(move || c.in_init(CHMOD_BOTH)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });

    // alpha: only /allowed.
    assert_only_allowed_dir_changed(&outputs[0], &alpha);
    // beta: only /other.
    assert!(
        outputs[1].contains("allowed=1") && outputs[1].contains("other=0"),
        "{}",
        outputs[1]
    );
    assert_eq!(
        (
            beta.bundle.mode_of("/allowed/f"),
            beta.bundle.mode_of("/other/g")
        ),
        (0o600, 0o644)
    );
    // audited: --policy denies every chmod, but audit mode lets both through.
    assert!(
        outputs[2].contains("allowed=0") && outputs[2].contains("other=0"),
        "{}",
        outputs[2]
    );
    assert_eq!(audited.bundle.mode_of("/other/g"), 0o644);

    let events = agent.wait_events("six decisions", |e| {
        [&alpha, &beta, &audited]
            .iter()
            .all(|c| of_container(e, &c.id, "decision").len() >= 2)
    });
    assert_decisions(&events, &alpha, "alpha");
    let outcome = |c: &Container, path: &str| -> (String, String) {
        let d: &Value = of_container(&events, &c.id, "decision")
            .into_iter()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("no decision on {path} for {}", c.id));
        (
            d["outcome"].as_str().unwrap_or_default().to_owned(),
            d["rule"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        outcome(&beta, "/other/g"),
        ("emulated".into(), "beta".into())
    );
    assert_eq!(
        outcome(&beta, "/allowed/f"),
        ("denied".into(), "default".into())
    );
    let audited_decisions = of_container(&events, &audited.id, "decision");
    assert_eq!(audited_decisions.len(), 2, "{audited_decisions:?}");
    for d in audited_decisions {
        assert_eq!(d["outcome"], "would-deny", "{d}");
    }
    for c in [&alpha, &beta, &audited] {
        for d in of_container(&events, &c.id, "decision") {
            assert_eq!(d["cgroup_id"], c.cgroup_id(), "{d}");
        }
    }
}

#[test]
fn policy_rules_match_the_container_name_from_the_annotations() {
    let by_name = serde_json::json!({
        "version": 1,
        "rules": [{ "name": "web-only", "syscalls": ["@chmod"],
                    "workload": { "container": "web*" }, "action": "allow" }]
    });
    let agent = Agent::builder()
        .policy("by-name", &by_name.to_string())
        .start();
    let start = |name: &str, k8s_name: &str| {
        start_container(
            Runtime::Runc,
            name,
            &agent.socket,
            "policy=by-name",
            &[("io.kubernetes.container.name", k8s_name)],
        )
    };
    let web = start("named-web", "web-frontend");
    let db = start("named-db", "db");
    let out = web.in_init("chmod 644 /other/g; echo rc=$?");
    assert!(out.contains("rc=0"), "{out}");
    let out = db.in_init("chmod 644 /other/g; echo rc=$?");
    assert!(out.contains("rc=1"), "{out}");
    assert_eq!(
        (
            web.bundle.mode_of("/other/g"),
            db.bundle.mode_of("/other/g")
        ),
        (0o644, 0o600)
    );
    let events = agent.wait_events("both decisions", |e| {
        [&web, &db]
            .iter()
            .all(|c| !of_container(e, &c.id, "decision").is_empty())
    });
    let rule = |c: &Container| of_container(&events, &c.id, "decision")[0]["rule"].clone();
    assert_eq!(
        (rule(&web), rule(&db)),
        ("web-only".into(), "default".into())
    );
    assert_eq!(
        of_container(&events, &web.id, "decision")[0]["container"]["name"],
        "web-frontend"
    );
}
