//! `enforcer record`: a recorded workload runs the same under the profile it produced, a call
//! it never made is refused, argument-aware syscalls are narrowed to the values seen, and
//! recordings merge.

use enforcer_tests::*;
use serde_json::Value;
use std::path::Path;

const ANNOTATION: &str = "x-enforcer-recording";

fn record(output: &Path, extra: &[&str], workload: &[&str]) -> std::process::Output {
    let mut args = vec!["record", "--output", output.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(workload);
    enforcer(&args)
}

/// The probe's output with getppid's result (a pid) left out.
fn without_pids(out: &str) -> String {
    out.lines()
        .map(|l| {
            if l.starts_with("getppid(") {
                l.split(" = ").next().unwrap()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn rule_for<'a>(profile: &'a Value, name: &str) -> &'a Value {
    profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["names"].as_array().unwrap().iter().any(|n| n == name))
        .unwrap_or_else(|| panic!("no rule for {name}: {profile}"))
}

#[test]
fn a_recorded_workload_runs_the_same_under_its_profile_and_nothing_else_runs() {
    let s = Scratch::new();
    let f = s.file("f", 0o600);
    let profile = s.path("recorded.json");
    let probe = probe_bin();
    let p = probe.to_str().unwrap();
    let f = f.to_str().unwrap();
    // A shell starting two processes that make argument-aware calls, one of them forking.
    let script = format!(
        "{p} getppid 3 socket 1 personality 0 chmod {f} 0640 fork; {p} socket 2 fchmodat {f} 0644"
    );
    let workload = ["/bin/sh", "-c", script.as_str()];
    let recorded = record(&profile, &[], &workload);
    assert_eq!(recorded.status.code(), Some(0), "{}", stderr(&recorded));

    let check = enforcer(&["profile", "check", profile.to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{} {}",
        stdout(&check),
        stderr(&check)
    );

    let p_json = load(&profile);
    assert_eq!(p_json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(p_json["defaultErrnoRet"], 1);
    assert_eq!(
        p_json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64"])
    );
    let rec = &p_json[ANNOTATION];
    assert_eq!(rec["runs"], 1);
    assert!(rec["syscalls"]["getppid"].as_u64() >= Some(3), "{rec}");
    assert_eq!(rec["args"]["socket"], serde_json::json!([1, 2]), "{rec}");
    // The launcher's set-up (the allow-all filter, installed before exec) is not recorded.
    assert!(rec["syscalls"].get("seccomp").is_none(), "{rec}");
    // Narrower than a name list: socket and personality by value, clone and the chmod
    // family by the bits seen.
    assert_eq!(
        rule_for(&p_json, "socket")["args"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(rule_for(&p_json, "personality")["args"][0]["valueTwo"], 0);
    assert_eq!(
        rule_for(&p_json, "chmod")["args"][0]["op"],
        "SCMP_CMP_MASKED_EQ"
    );
    assert_eq!(
        rule_for(&p_json, "clone")["args"][0]["op"],
        "SCMP_CMP_MASKED_EQ"
    );

    // Same workload, under the profile: same output, same exit code, the same file mode.
    std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let events = s.path("events.jsonl");
    let mut args = vec![
        "run",
        "--events",
        events.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--",
    ];
    args.extend_from_slice(&workload);
    let replay = enforcer(&args);
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    assert_eq!(
        without_pids(&stdout(&replay)),
        without_pids(&stdout(&recorded))
    );
    assert!(!stdout(&replay).contains("EPERM"), "{}", stdout(&replay));
    assert_eq!(mode_of(Path::new(f)), 0o644);

    // Calls it never made, and argument values it never used, are refused.
    let never = run_probe(
        &["--profile", profile.to_str().unwrap()],
        &s.path("never.jsonl"),
        &[
            "socket",
            "10",
            "personality",
            "8",
            "chmod",
            f,
            "04755",
            "mount",
        ],
    );
    let text = stdout(&never);
    assert_eq!(text.matches("EPERM").count(), 4, "{text}");
    assert_eq!(mode_of(Path::new(f)), 0o644);
}

#[test]
fn merge_unites_recordings_and_sums_their_counts() {
    let s = Scratch::new();
    let first = s.path("first.json");
    let merged = s.path("merged.json");
    let probe = probe_bin();
    let p = probe.to_str().unwrap();
    let a = record(&first, &[], &[p, "getppid", "5", "socket", "1"]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let b = record(
        &merged,
        &["--merge", first.to_str().unwrap()],
        &[p, "getppid", "7", "socket", "2", "i386-getpid"],
    );
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    let rec = &load(&merged)[ANNOTATION];
    assert_eq!(rec["runs"], 2, "{rec}");
    assert_eq!(rec["syscalls"]["getppid"], 12, "{rec}");
    assert_eq!(rec["args"]["socket"], serde_json::json!([1, 2]), "{rec}");
    // The i386 call is kept as coverage, not allowed.
    assert_eq!(rec["other_abis"]["x86"]["getpid"], 1, "{rec}");
    let check = enforcer(&["profile", "check", merged.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let both = run_probe(
        &["--profile", merged.to_str().unwrap()],
        &s.path("e.jsonl"),
        &["socket", "1", "socket", "2"],
    );
    assert!(!stdout(&both).contains("EPERM"), "{}", stdout(&both));
}

#[test]
fn merge_refuses_a_profile_that_is_not_a_recording_before_launching() {
    let s = Scratch::new();
    let marker = s.path("marker");
    let out = record(
        &s.path("out.json"),
        &[
            "--merge",
            real_profile("seed-chmod-errno.json").to_str().unwrap(),
        ],
        &[
            probe_bin().to_str().unwrap(),
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("seed-chmod-errno.json") && err.contains("$.x-enforcer-recording"),
        "{err}"
    );
    assert!(!marker.exists(), "the workload ran");
}
