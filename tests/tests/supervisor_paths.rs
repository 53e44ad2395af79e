//! Path rules decide on the file, not on a name: a hard link into an allowed tree does not
//! carry an allow to the file's other names; and the second emulated family, mkdir, is made
//! by the supervisor on the parent it resolved, with the caller's credentials and umask.

use enforcer_tests::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn policy(s: &Scratch, family: &str, glob: &Path, links: bool) -> std::path::PathBuf {
    let p = s.path(&format!("policy-{links}.json"));
    let policy = serde_json::json!({
        "rules": [ { "name": "allowed", "syscalls": [family],
                     "paths": [glob.display().to_string()], "action": "allow", "links": links } ]
    });
    std::fs::write(&p, policy.to_string()).unwrap();
    p
}

fn run(s: &Scratch, opts: &[&str], probe: &[&str]) -> String {
    let events = s.path("events.jsonl");
    let out = run_probe(opts, &events, probe);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_hard_link_into_the_allowed_tree_does_not_reach_the_denied_file() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    s.mkdir("denied");
    let f = s.file("denied/f", 0o600);
    let l = allowed.join("l");
    std::fs::hard_link(&f, &l).unwrap();
    let g = s.file("allowed/g", 0o600);
    let strict = policy(&s, "@chmod", &allowed.join("**"), false);
    let text = run(
        &s,
        &["--policy", strict.to_str().unwrap()],
        &[
            "chmod",
            l.to_str().unwrap(),
            "0644",
            "chmod",
            g.to_str().unwrap(),
            "0640",
        ],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("= -1 EPERM (Operation not permitted)"),
        "{text}"
    );
    assert_eq!(
        mode_of(&f),
        0o600,
        "the denied file changed through its link"
    );
    assert!(
        lines[1].ends_with("= 0"),
        "a file with one name is allowed: {text}"
    );
    assert_eq!(mode_of(&g), 0o640);
    // The rule can opt in.
    let lax = policy(&s, "@chmod", &allowed.join("**"), true);
    let text = run(
        &s,
        &["--policy", lax.to_str().unwrap()],
        &["chmod", l.to_str().unwrap(), "0644"],
    );
    assert!(text.trim_end().ends_with("= 0"), "{text}");
    assert_eq!(mode_of(&f), 0o644);
}

#[test]
fn mkdir_is_decided_on_the_resolved_parent_and_made_as_the_caller() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let denied = s.mkdir("denied");
    for d in [&allowed, &denied] {
        std::os::unix::fs::chown(d, Some(1000), Some(1000)).unwrap();
    }
    // A symlink in the allowed tree pointing at the denied one: decided on where it leads.
    std::os::unix::fs::symlink(&denied, allowed.join("to-denied")).unwrap();
    let p = policy(&s, "@mkdir", &allowed.join("*"), false);
    let text = run(
        &s,
        &["--policy", p.to_str().unwrap(), "--user", "1000:1000"],
        &[
            "umask",
            "027",
            "mkdir",
            allowed.join("new").to_str().unwrap(),
            "0777",
            "chdir",
            allowed.to_str().unwrap(),
            "mkdir",
            "rel",
            "0755",
            "mkdir",
            denied.join("no").to_str().unwrap(),
            "0755",
            "mkdir",
            allowed.join("to-denied/no2").to_str().unwrap(),
            "0755",
            "mkdir",
            allowed.join("new").to_str().unwrap(),
            "0755",
        ],
    );
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("umask(")).collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].ends_with("= 0"), "{text}");
    let made = std::fs::metadata(allowed.join("new")).unwrap();
    assert_eq!(
        (made.mode() & 0o7777, made.uid(), made.gid()),
        (0o750, 1000, 1000),
        "made with the caller's umask and ids"
    );
    assert!(
        lines[2].ends_with("= 0") && allowed.join("rel").is_dir(),
        "{text}"
    );
    for (line, path) in [
        (lines[3], denied.join("no")),
        (lines[4], denied.join("no2")),
    ] {
        assert!(
            line.ends_with("= -1 EPERM (Operation not permitted)"),
            "{text}"
        );
        assert!(!path.exists(), "{} was made", path.display());
    }
    assert!(lines[5].ends_with("= -1 EEXIST (File exists)"), "{text}");
}

#[test]
fn a_hard_link_out_of_a_denied_tree_does_not_escape_the_deny() {
    let s = Scratch::new();
    let allowed = s.mkdir("allowed");
    let denied = s.mkdir("denied");
    let f = s.file("denied/f", 0o600);
    let l = allowed.join("l");
    std::fs::hard_link(&f, &l).unwrap();
    let g = s.file("allowed/g", 0o600);
    let p = s.path("deny-policy.json");
    let policy = serde_json::json!({
        "version": 1, "defaultAction": "deny", "defaultErrno": "EPERM",
        "rules": [
            { "name": "denied", "syscalls": ["@chmod"],
              "paths": [denied.join("**").display().to_string()], "action": "deny" },
            { "name": "rest", "syscalls": ["@chmod"], "action": "allow" }
        ]
    });
    std::fs::write(&p, policy.to_string()).unwrap();
    let text = run(
        &s,
        &["--policy", p.to_str().unwrap()],
        &[
            "chmod",
            l.to_str().unwrap(),
            "0644",
            "chmod",
            g.to_str().unwrap(),
            "0640",
        ],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("= -1 EPERM (Operation not permitted)"),
        "{text}"
    );
    assert_eq!(
        mode_of(&f),
        0o600,
        "the denied file changed through its link"
    );
    assert!(
        lines[1].ends_with("= 0"),
        "a file with one name is allowed: {text}"
    );
    assert_eq!(mode_of(&g), 0o640);
}
