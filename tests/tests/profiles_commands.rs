//! `enforcer profile check | explain | diff` on the real profiles.

use enforcer_tests::*;

const REAL: [&str; 7] = [
    "docker-conditional-include.json",
    "docker-default.json",
    "docker-example.json",
    "docker-old-format.json",
    "podman-default.json",
    "podman-example.json",
    "seed-chmod-errno.json",
];

fn path(name: &str) -> String {
    real_profile(name).to_str().unwrap().to_string()
}

#[test]
fn every_real_profile_passes_check() {
    let files: Vec<String> = REAL.iter().map(|n| path(n)).collect();
    let mut args = vec!["profile", "check"];
    args.extend(files.iter().map(String::as_str));
    let out = enforcer(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for f in &files {
        assert!(
            stdout(&out)
                .lines()
                .any(|l| l.starts_with(&format!("{f}: ok"))),
            "{f}: {}",
            stdout(&out)
        );
    }
    // The directory holds no other profile this list would miss.
    let dir = real_profile("README.md");
    let on_disk = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(on_disk, REAL.len());
}

#[test]
fn lints_warn_and_strict_refuses() {
    let seed = path("seed-chmod-errno.json");
    let out = enforcer(&["profile", "check", &seed]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: profile {seed}: $.syscalls[0].name: chmod is denied (EPERM) here, but \
             fchmod, fchmodat, fchmodat2 of the chmod family"
        )),
        "{err}"
    );
    assert!(err.contains("[partial-family]"), "{err}");
    assert!(
        err.contains(
            "$.defaultAction: io_uring_setup, io_uring_enter, io_uring_register are allowed"
        ),
        "{err}"
    );
    let strict = enforcer(&["profile", "check", "--strict", &seed]);
    assert_eq!(strict.status.code(), Some(125));
    assert!(
        stderr(&strict).contains("error: profile"),
        "{}",
        stderr(&strict)
    );

    // Docker's default maps i386 and x32 next to x86_64.
    let docker = path("docker-default.json");
    let out = enforcer(&["profile", "check", "--strict", &docker]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains(&format!(
            "profile {docker}: $.archMap[0].subArchitectures[1]: SCMP_ARCH_X32 calls are allowed \
             next to SCMP_ARCH_X86_64"
        )),
        "{}",
        stderr(&out)
    );

    // Notify lints: a call this arch lacks, and escape hatches left open.
    let s = Scratch::new();
    let file = s.path("notify.json");
    std::fs::write(
        &file,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["chmod", "fchmod", "fchmodat", "fchmodat2", "socketcall"], "action": "SCMP_ACT_NOTIFY"},
            {"names": ["seccomp"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let out = enforcer(&["profile", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("$.syscalls[0].names[4]: SCMP_ACT_NOTIFY on \"socketcall\", which SCMP_ARCH_X86_64 does not have"),
        "{err}"
    );
    assert!(
        err.contains("$.defaultAction: ptrace is allowed while the profile notifies"),
        "{err}"
    );
    assert!(err.contains("process_vm_writev is allowed while"), "{err}");
    assert!(
        !err.contains("seccomp is allowed"),
        "seccomp is denied: {err}"
    );
}

#[test]
fn explain_docker_default() {
    let docker = path("docker-default.json");
    let out = enforcer(&[
        "profile",
        "explain",
        &docker,
        "--syscall",
        "mount",
        "--syscall",
        "clone3",
        "--syscall",
        "socket",
        "--syscall",
        "open_tree_attr",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let row = |start: &str| -> Vec<String> {
        let line = (text.lines())
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} row in {text}"));
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(
        row("mount "),
        [
            "mount",
            "165",
            "denied (EPERM)",
            "always",
            "$.defaultAction (default)"
        ]
    );
    assert_eq!(
        row("clone3 "),
        [
            "clone3",
            "435",
            "denied (ENOSYS)",
            "always",
            "$.syscalls[20].names[0]"
        ]
    );
    assert_eq!(
        row("socket "),
        [
            "socket",
            "41",
            "allowed",
            "arg0 < 38",
            "$.syscalls[2].names[0]"
        ]
    );
    assert_eq!(
        row("open_tree_attr "),
        [
            "open_tree_attr",
            "467",
            "denied (ENOSYS)",
            "always",
            "newer than the profile"
        ]
    );
    assert!(text.contains("syscalls newer than the profile (number above 466): denied (ENOSYS)"));
    // socket's other branches follow on rows of their own, the fallback last.
    let socket_rows: Vec<&str> = (text.lines())
        .skip_while(|l| !l.starts_with("socket "))
        .take(4)
        .collect();
    assert!(
        socket_rows[3].trim_start().starts_with("denied (EPERM)")
            && socket_rows[3].contains("otherwise")
            && socket_rows[3].ends_with("$.defaultAction (default)"),
        "{text}"
    );

    // With CAP_SYS_ADMIN, Docker's includes let mount and clone3 through.
    let out = enforcer(&[
        "profile",
        "explain",
        &docker,
        "--syscall",
        "mount",
        "--syscall",
        "clone3",
        "--cap-add",
        "SYS_ADMIN",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["arch"], "SCMP_ARCH_X86_64");
    assert_eq!(json["enosys_above"], 466);
    assert!(
        json["capabilities"]
            .as_array()
            .unwrap()
            .contains(&"CAP_SYS_ADMIN".into())
    );
    let mount = &json["syscalls"][0];
    assert_eq!(mount["name"], "mount");
    assert_eq!(mount["branches"][0]["action"], "SCMP_ACT_ALLOW");
    assert_eq!(
        mount["branches"][0]["json_path"],
        "$.syscalls[17].names[12]"
    );
    assert_eq!(mount["branches"][0]["origin"], "rule");
    assert_eq!(
        json["syscalls"][1]["summary"],
        "allowed by $.syscalls[17].names[2]"
    );

    // All syscalls, as JSON: every x86_64 syscall once, errnos named.
    let out = enforcer(&["profile", "explain", &path("podman-default.json"), "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let all = json["syscalls"].as_array().unwrap();
    assert!(all.len() > 350, "{}", all.len());
    assert_eq!(json["default_action"]["errno_name"], "ENOSYS");
    let add_key = all.iter().find(|s| s["name"] == "add_key").unwrap();
    assert_eq!(add_key["branches"][0]["errno"], 38);
    assert_eq!(add_key["branches"][0]["origin"], "default");
    let personality = all.iter().find(|s| s["name"] == "personality").unwrap();
    let conds = &personality["branches"][4]["conditions"][0];
    assert_eq!(
        (
            conds["index"].as_u64(),
            conds["op"].as_str(),
            conds["value"].as_u64()
        ),
        (Some(0), Some("SCMP_CMP_EQ"), Some(0xffff_ffff))
    );

    // Bad input: exit 125, saying what.
    let out = enforcer(&["profile", "explain", &docker, "--syscall", "nosuchcall"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--syscall \"nosuchcall\": unknown syscall"));
    let out = enforcer(&["profile", "explain", &docker, "--syscall", "socketcall"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("does not exist on SCMP_ARCH_X86_64"));
}

#[test]
fn diff_in_words_a_reviewer_can_approve() {
    let docker = path("docker-default.json");
    let same = enforcer(&["profile", "diff", &docker, &docker]);
    assert_eq!(
        (same.status.code(), stdout(&same)),
        (Some(0), String::new())
    );

    // Docker's default with mount allowed by a new last entry.
    let s = Scratch::new();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&docker).unwrap()).unwrap();
    (json["syscalls"].as_array_mut().unwrap())
        .push(serde_json::json!({"names": ["mount"], "action": "SCMP_ACT_ALLOW"}));
    let changed = s.path("changed.json");
    std::fs::write(&changed, json.to_string()).unwrap();
    let out = enforcer(&["profile", "diff", &docker, changed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "mount: was denied (EPERM, default), now allowed by $.syscalls[33].names[0]\n"
    );

    let out = enforcer(&["profile", "diff", &docker, &path("podman-default.json")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "default action: was denied (EPERM), now denied (ENOSYS)"
    );
    for expected in [
        "keyctl: was denied (EPERM, default), now allowed by $.syscalls[1].names[135]",
        "clone3: was denied (ENOSYS) by $.syscalls[20].names[0], now allowed by $.syscalls[1].names[24]",
        "socket: was allowed when arg0 < 38 by $.syscalls[2].names[0]; allowed when arg0 == 39 by \
         $.syscalls[3].names[0]; allowed when arg0 > 40 by $.syscalls[4].names[0]; otherwise \
         denied (EPERM, default), now allowed by $.syscalls[35].names[0]",
    ] {
        assert!(lines.contains(&expected), "{expected:?} in {text}");
    }
    // Capabilities change both sides alike: with CAP_SYS_ADMIN Docker allows mount too.
    let out = enforcer(&[
        "profile",
        "diff",
        &docker,
        changed.to_str().unwrap(),
        "--cap-add",
        "SYS_ADMIN",
    ]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), String::new()));

    let out = enforcer(&["profile", "diff", &docker, "/nonexistent/p.json"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("profile /nonexistent/p.json: cannot read"));
}
