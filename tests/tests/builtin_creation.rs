//! The built-in default keeps its promise on every route (issue 13 §2): no call of the
//! workload creates a setuid or setgid file. The creating calls are decided in the kernel's
//! filter (no decision events); openat2 gets ENOSYS; world-writable creation is the umask's.

use enforcer_tests::*;

/// Runs the probe under the built-in default with `umask 0` first; returns stdout and the
/// decision events.
fn under_builtin(probe_args: &[&str]) -> (String, Vec<serde_json::Value>) {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let mut args = vec!["umask", "0"];
    args.extend_from_slice(probe_args);
    let out = run_probe(&[], &events, &args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    let all = read_events(&events);
    let decisions = events_of(&all, "decision").into_iter().cloned().collect();
    (text, decisions)
}

const ROUTES: [&str; 5] = ["open", "openat", "creat", "mknod", "mknodat"];

#[test]
fn no_route_creates_a_setuid_or_setgid_file() {
    let s = Scratch::new();
    let dir = s.mkdir("d");
    let mut args: Vec<String> = Vec::new();
    let mut files = Vec::new();
    for route in ROUTES {
        for (k, mode) in ["0o4755", "0o2755", "0o6711"].iter().enumerate() {
            let f = dir.join(format!("{route}-{k}"));
            args.extend(["create".into(), route.into(), f.display().to_string()]);
            args.push((*mode).to_string());
            files.push(f);
        }
    }
    for mode in ["0o4700", "0o2700"] {
        args.extend(["create", "tmpfile", dir.to_str().unwrap(), mode].map(String::from));
    }
    let f = dir.join("openat2");
    args.extend(["create", "openat2", f.to_str().unwrap(), "0o4755"].map(String::from));
    files.push(f);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (text, decisions) = under_builtin(&refs);
    let results: Vec<&str> = text.lines().filter(|l| l.contains(") = ")).collect();
    assert_eq!(results.len(), 5 * 3 + 2 + 1, "{text}");
    for line in &results[..17] {
        assert!(
            line.ends_with("= -1 EPERM (Operation not permitted)"),
            "{text}"
        );
    }
    assert!(
        results[17].ends_with("= -1 ENOSYS (Function not implemented)"),
        "{text}"
    );
    for f in files {
        assert!(!f.exists(), "{} was not created: {text}", f.display());
    }
    assert!(decisions.is_empty(), "decided in the kernel: {decisions:?}");
}

#[test]
fn other_modes_are_created_and_world_writable_is_the_umasks_business() {
    let s = Scratch::new();
    let dir = s.mkdir("d");
    let mut args: Vec<String> = Vec::new();
    for route in ROUTES {
        let f = dir.join(route);
        args.extend(["create", route, f.to_str().unwrap(), "0o1777"].map(String::from));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (text, decisions) = under_builtin(&refs);
    let modes: Vec<&str> = text.lines().filter(|l| l.starts_with("mode = ")).collect();
    assert_eq!(modes, vec!["mode = 0o1777"; 5], "{text}");
    assert!(decisions.is_empty(), "{decisions:?}");
}
