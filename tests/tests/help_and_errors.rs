//! Help and errors that say what to do: each command's help is about that command, `run`
//! takes CMD with or without `--`, and a misspelt word in a profile gets the valid one.

use enforcer_tests::*;

fn help(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--help");
    let out = enforcer(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn each_commands_help_says_what_applies_to_it() {
    let record = help(&["record"]);
    for other in ["default for run", "observe:", "10 s", "notify"] {
        assert!(
            !record.contains(other),
            "record --help mentions {other:?}:\n{record}"
        );
    }
    assert!(
        record.contains("--trace") && record.contains("syscall_trace"),
        "{record}"
    );

    let run = help(&["run"]);
    for needed in ["125", "126", "127", "128+N", "RUST_LOG"] {
        assert!(run.contains(needed), "run --help lacks {needed:?}:\n{run}");
    }

    for cmd in ["check", "explain", "diff", "suggest"] {
        let text = help(&["profile", cmd]);
        assert!(
            text.contains("--allow-unknown-syscalls") && text.contains("skipped with a warning"),
            "profile {cmd} --help:\n{text}"
        );
    }
    let check = help(&["profile", "check"]);
    assert!(check.contains("seccomp profiles"), "{check}");
    let diff = help(&["profile", "diff"]);
    assert!(
        diff.contains("before the change") && diff.contains("after the change"),
        "{diff}"
    );
}

#[test]
fn run_takes_the_command_without_a_double_dash_as_docker_does() {
    let s = Scratch::new();
    let events = s.path("events.jsonl");
    let name = format!("no-dashes-{}", std::process::id());
    // `-c` belongs to sh: everything from CMD on is the workload's.
    let out = enforcer(&[
        "run",
        "--cgroup",
        &name,
        "--events",
        events.to_str().unwrap(),
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let start = read_events(&events)
        .into_iter()
        .find(|e| e["phase"] == "start")
        .expect("start event");
    assert_eq!(start["command"], serde_json::json!(["sh", "-c", "exit 7"]));
    // And with `--`, as before.
    let out = enforcer(&["run", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

/// `profile check` of a profile with one bad word: exit 125 and stderr.
fn check_with(entry: &str) -> String {
    let s = Scratch::new();
    let p = s.path("p.json");
    let text = format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{entry}]}}"#);
    std::fs::write(&p, text).unwrap();
    let out = enforcer(&["profile", "check", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn a_misspelt_word_gets_the_nearest_valid_one() {
    let err = check_with(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNOO"}"#);
    assert!(err.contains("did you mean SCMP_ACT_ERRNO?"), "{err}");
    let err = check_with(r#"{"names": ["read"], "action": "ALLOW"}"#);
    assert!(err.contains("did you mean SCMP_ACT_ALLOW?"), "{err}");
    let err = check_with(
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_MASKEDEQ"}]}"#,
    );
    assert!(err.contains("did you mean SCMP_CMP_MASKED_EQ?"), "{err}");
    let err = check_with(r#"{"names": ["chmodx"], "action": "SCMP_ACT_ALLOW"}"#);
    assert!(
        err.contains("\"chmodx\"") && err.contains("--allow-unknown-syscalls"),
        "{err}"
    );
    let s = Scratch::new();
    let p = s.path("arch.json");
    std::fs::write(
        &p,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86-64"]}"#,
    )
    .unwrap();
    let out = enforcer(&["profile", "check", p.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("did you mean SCMP_ARCH_X86_64?"),
        "{}",
        stderr(&out)
    );
}
