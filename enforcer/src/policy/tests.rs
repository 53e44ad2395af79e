//! Precedence and matching of policy files, decided with facts supplied by the test.

use super::{Action, FactError, Facts, FileFact, Identity, parse_str};
use std::path::Path;

struct Given {
    identity: Identity,
    path: Result<String, FactError>,
    other_names: bool,
    asked_path: bool,
}

impl Given {
    fn new(uid: u32, path: &str) -> Self {
        Self {
            identity: Identity {
                uid,
                comm: "app".into(),
                exe: "/usr/bin/app".into(),
                cgroup: "/enforcer/x".into(),
                container: Some("web".into()),
            },
            path: Ok(path.into()),
            other_names: false,
            asked_path: false,
        }
    }
}

impl Facts for Given {
    fn identity(&mut self) -> Result<&Identity, FactError> {
        Ok(&self.identity)
    }
    fn file(&mut self) -> Result<FileFact<'_>, FactError> {
        self.asked_path = true;
        let other_names = self.other_names;
        self.path
            .as_deref()
            .map(|path| FileFact { path, other_names })
            .map_err(Clone::clone)
    }
}

const POLICY: &str = r#"{
  "defaultAction": "deny", "defaultErrno": "EACCES",
  "rules": [
    { "name": "canary", "syscalls": ["@chmod"], "paths": ["/etc/**"], "action": "deny", "audit": true },
    { "name": "root-anything", "syscalls": ["@chmod"], "workload": { "uid": [0] }, "action": "allow" },
    { "name": "no-setuid", "syscalls": ["@chmod"], "args": [{ "arg": "mode", "op": "MASKED_EQ", "value": "0o4000", "valueTwo": "0o4000" }], "action": "kill" },
    { "name": "data", "syscalls": ["@chmod"], "paths": ["/data/**"], "workload": { "container": "web", "comm": "ap*" }, "action": "allow" },
    { "name": "small-modes", "syscalls": ["chmod"], "args": [{ "arg": "mode", "op": "LE", "value": "0o644" }, { "arg": "mode", "op": "GE", "value": "0o600" }], "action": "allow" }
  ]
}"#;

fn decide(uid: u32, syscall: &str, mode: u64, path: &str) -> (Action, String, Vec<String>, bool) {
    let policy = parse_str(POLICY, Path::new("test.json")).unwrap();
    let mode_index = if syscall == "chmod" || syscall == "fchmod" {
        1
    } else {
        2
    };
    let mut args = [0u64; 6];
    args[mode_index] = mode;
    let mut facts = Given::new(uid, path);
    let d = policy.decide(syscall, &args, &mut facts);
    (
        d.action,
        d.rule,
        d.audit.into_iter().map(|(r, _)| r).collect(),
        d.used_path,
    )
}

#[test]
fn first_deciding_match_wins_and_audit_rules_only_report() {
    // The audit canary matches and reports; the next rule decides.
    let (action, rule, audit, used_path) = decide(0, "chmod", 0o4755, "/etc/shadow");
    assert_eq!((action, rule.as_str()), (Action::Allow, "root-anything"));
    assert_eq!(audit, ["canary"]);
    assert!(
        used_path,
        "the canary read the path: an allow now depends on memory"
    );
    // Not root: the setuid rule comes before the path rule.
    assert_eq!(decide(1000, "fchmodat", 0o4755, "/data/x").0, Action::Kill);
    assert_eq!(decide(1000, "fchmodat", 0o640, "/data/x").1, "data");
    // Ranges by two ANDed conditions; chmod only.
    assert_eq!(decide(1000, "chmod", 0o640, "/srv/x").1, "small-modes");
    assert_eq!(
        decide(1000, "chmod", 0o700, "/srv/x"),
        (Action::Deny(libc::EACCES), "default".into(), vec![], true)
    );
    assert_eq!(decide(1000, "fchmod", 0o640, "/srv/x").1, "default");
}

#[test]
fn a_fact_that_cannot_be_had_denies_with_its_errno() {
    let policy = parse_str(POLICY, Path::new("test.json")).unwrap();
    let mut facts = Given::new(1000, "");
    facts.path = Err(FactError::new(libc::ENOENT, "no such file"));
    let mut args = [0u64; 6];
    args[1] = 0o640;
    let d = policy.decide("chmod", &args, &mut facts);
    assert_eq!(d.action, Action::Deny(libc::ENOENT));
    assert!(d.rule.starts_with("error:"), "{}", d.rule);
}

#[test]
fn registers_are_compared_as_the_kernel_truncates_them() {
    // umode_t: the kernel reads 0x1_0000 | 0o4000 as 0o4000, and 0x1_0640 as 0o640.
    assert_eq!(
        decide(1000, "fchmodat", 0x1_0000 | 0o4755, "/data/x").0,
        Action::Kill
    );
    assert_eq!(
        decide(1000, "chmod", 0x1_0000 | 0o640, "/srv/x").1,
        "small-modes"
    );
}

#[test]
fn a_path_allow_on_a_file_with_other_names_needs_links() {
    let text = |links: bool| {
        format!(
            r#"{{ "rules": [ {{ "name": "data", "syscalls": ["@chmod"], "paths": ["/data/**"], "action": "allow", "links": {links} }} ] }}"#
        )
    };
    let mut args = [0u64; 6];
    args[1] = 0o640;
    for (links, other_names, want) in [
        (false, false, Action::Allow),
        (false, true, Action::Deny(libc::EPERM)),
        (true, true, Action::Allow),
    ] {
        let policy = parse_str(&text(links), Path::new("t.json")).unwrap();
        let mut facts = Given::new(0, "/data/l");
        facts.other_names = other_names;
        let d = policy.decide("chmod", &args, &mut facts);
        assert_eq!(
            d.action, want,
            "links {links}, other names {other_names}: {d:?}"
        );
    }
    // `links` without paths, or on a deny, is refused.
    let bad = r#"{ "rules": [ { "syscalls": ["@chmod"], "action": "allow", "links": true } ] }"#;
    let e = parse_str(bad, Path::new("t.json")).unwrap_err().to_string();
    assert!(e.contains("$.rules[0].links"), "{e}");
}

#[test]
fn mkdir_is_a_family_with_named_args_and_path_rules() {
    let p = r#"{ "rules": [ { "syscalls": ["@mkdir"], "args": [{ "arg": "mode", "op": "MASKED_EQ", "value": "0o002", "valueTwo": 0 }], "paths": ["/data/*"], "action": "allow" } ] }"#;
    let policy = parse_str(p, Path::new("t.json")).unwrap();
    assert_eq!(policy.rules[0].syscalls, ["mkdir", "mkdirat"]);
    let mut facts = Given::new(0, "/data/new");
    assert_eq!(
        policy
            .decide("mkdirat", &[0, 0, 0o755, 0, 0, 0], &mut facts)
            .action,
        Action::Allow
    );
    assert_eq!(
        policy
            .decide("mkdir", &[0, 0o777, 0, 0, 0, 0], &mut facts)
            .action,
        Action::Deny(libc::EPERM)
    );
}
