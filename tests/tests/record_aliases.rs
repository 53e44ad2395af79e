//! A recorded profile's argument rules cannot be gone around: clone3, whose flags seccomp
//! cannot read, gets ENOSYS (as under Docker's default) so that glibc falls back to clone,
//! whose flags the rule checks; and calls of the other ABIs (i386's socketcall and the
//! rest, x32) are killed, never allowed, since the profile maps the native arch only.

use enforcer_tests::*;
use serde_json::Value;

/// CLONE_NEWUSER | CLONE_NEWNET: what a pthreads program never asks for.
const NEW_NAMESPACES: &str = "0x50000000";

fn record_threads(s: &Scratch) -> std::path::PathBuf {
    let profile = s.path("recorded.json");
    let out = enforcer(&[
        "record",
        "--output",
        profile.to_str().unwrap(),
        "--",
        probe_bin().to_str().unwrap(),
        "thread",
        "getppid",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("join = 7"), "{}", stdout(&out));
    profile
}

fn run_under(profile: &std::path::Path, probe_args: &[&str]) -> std::process::Output {
    let s = Scratch::new();
    run_probe(
        &["--profile", profile.to_str().unwrap()],
        &s.path("events.jsonl"),
        probe_args,
    )
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
fn clone3_gets_enosys_and_clone_keeps_its_recorded_flags() {
    let s = Scratch::new();
    let profile = record_threads(&s);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    let clone3 = rule_for(&json, "clone3");
    assert_eq!(
        (clone3["action"].as_str(), clone3["errnoRet"].as_u64()),
        (Some("SCMP_ACT_ERRNO"), Some(38)),
        "{clone3}"
    );
    // The recording saw glibc's fallback: clone with the thread flags, narrowed to them.
    assert!(rule_for(&json, "clone")["args"].is_array(), "{json}");

    let out = run_under(
        &profile,
        &[
            "thread",
            "clone3-flags",
            NEW_NAMESPACES,
            "clone-flags",
            NEW_NAMESPACES,
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text} {}", stderr(&out));
    assert!(text.contains("pthread_create + join = 7"), "{text}");
    assert!(
        text.contains(&format!("clone3({NEW_NAMESPACES}) = -1 ENOSYS")),
        "{text}"
    );
    assert!(
        text.contains(&format!("clone({NEW_NAMESPACES}) = -1 EPERM")),
        "{text}"
    );
}

/// i386 and x32 calls (socketcall, the i386 clone and personality, ...) are not mapped by a
/// recorded profile: the process is killed (SIGSYS) rather than any rule widened.
#[test]
fn calls_of_other_abis_are_killed_under_a_recorded_profile() {
    let s = Scratch::new();
    let profile = record_threads(&s);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64"])
    );
    for op in ["i386-getpid", "x32-getpid"] {
        let out = run_under(&profile, &["getppid", "1", op]);
        let text = stdout(&out);
        assert!(text.contains("getppid()"), "{op}: {text}");
        assert!(!text.contains("getpid) ="), "{op} was not killed: {text}");
        assert_eq!(
            out.status.code(),
            Some(128 + libc::SIGSYS),
            "{op}: {text} {}",
            stderr(&out)
        );
    }
}
