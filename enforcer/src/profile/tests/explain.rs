//! What explain and diff read off a resolved profile: effects per syscall, words, changes.

use super::*;

fn effect(r: &ResolvedProfile, name: &str) -> SyscallEffect {
    r.effect(name, Arch::X86_64).expect("on x86_64")
}

#[test]
fn effects_of_docker_default() {
    let docker = real("docker-default.json").profile;
    let r = docker.resolve(&ctx()).unwrap();
    assert_eq!(effect(&r, "mount").describe(), "denied (EPERM, default)");
    assert_eq!(
        effect(&r, "clone3").describe(),
        "denied (ENOSYS) by $.syscalls[20].names[0]"
    );
    assert_eq!(
        effect(&r, "socket").describe(),
        "allowed when arg0 < 38 by $.syscalls[2].names[0]; allowed when arg0 == 39 by \
         $.syscalls[3].names[0]; allowed when arg0 > 40 by $.syscalls[4].names[0]; otherwise \
         denied (EPERM, default)"
    );
    // Newer than removexattrat (466), the newest syscall it names.
    assert_eq!(r.newest_named(Arch::X86_64), Some(466));
    assert_eq!(
        effect(&r, "open_tree_attr").describe(),
        "denied (ENOSYS, newer than every syscall the profile names)"
    );
    let admin = docker
        .resolve(&ctx().with_caps(DOCKER_DEFAULT_CAPS.iter().copied().chain(["CAP_SYS_ADMIN"])))
        .unwrap();
    assert_eq!(
        effect(&admin, "mount").describe(),
        "allowed by $.syscalls[17].names[12]"
    );
    let all = r.effects(Arch::X86_64);
    assert!(all.len() > 350, "{}", all.len());
    assert!(all.windows(2).all(|w| w[0].name < w[1].name));
    assert!(all.iter().all(|e| e.fallback().conditions.is_empty()));
    // An OCI config's paths start at linux.seccomp.
    let oci = format!(
        r#"{{"ociVersion": "1.0.2", "linux": {{"seccomp": {}}}}}"#,
        std::fs::read_to_string(real_profiles().join("docker-example.json")).unwrap()
    );
    let r = parse(&oci).unwrap().profile.resolve(&ctx()).unwrap();
    assert_eq!(
        effect(&r, "getpid").fallback().origin,
        Origin::Default("$.linux.seccomp.defaultAction".to_string())
    );
}

#[test]
fn diff_in_words() {
    let docker = real("docker-default.json");
    let old = docker.profile.resolve(&ctx()).unwrap();
    assert_eq!(diff(&old, &old), []);
    // The issue's example: mount allowed by a new last entry.
    let text = std::fs::read_to_string(real_profiles().join("docker-default.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    (json["syscalls"].as_array_mut().unwrap())
        .push(serde_json::json!({"names": ["mount"], "action": "SCMP_ACT_ALLOW"}));
    let new = (parse(&json.to_string()).unwrap().profile)
        .resolve(&ctx())
        .unwrap();
    let changes: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
    assert_eq!(
        changes,
        ["mount: was denied (EPERM, default), now allowed by $.syscalls[33].names[0]"]
    );

    let podman = real("podman-default.json").profile.resolve(&ctx()).unwrap();
    let changes: Vec<String> = diff(&old, &podman)
        .iter()
        .map(ToString::to_string)
        .collect();
    for expected in [
        "default action: was denied (EPERM), now denied (ENOSYS)",
        "syscalls newer than the profile: were ENOSYS above number 466, now the default action",
        "keyctl: was denied (EPERM, default), now allowed by $.syscalls[1].names[135]",
        "clone3: was denied (ENOSYS) by $.syscalls[20].names[0], now allowed by $.syscalls[1].names[24]",
        "add_key: was denied (EPERM, default), now denied (ENOSYS, default)",
    ] {
        assert!(
            changes.iter().any(|c| c == expected),
            "{expected:?} in {changes:#?}"
        );
    }
    // Moving entries around changes paths, not behaviour.
    assert!(
        !changes.iter().any(|c| c.starts_with("read:")),
        "{changes:#?}"
    );

    let seed = real("seed-chmod-errno.json")
        .profile
        .resolve(&ctx())
        .unwrap();
    let example = real("docker-example.json").profile.resolve(&ctx()).unwrap();
    let changes: Vec<String> = diff(&seed, &example)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        changes[0],
        "default action: was allowed, now denied (EPERM)"
    );
    assert!(
        changes[1].starts_with(
            "syscalls newer than the profile: were the default action, now ENOSYS above number "
        ),
        "{changes:#?}"
    );
    // Architectures: Docker's default maps i386 and x32, the example does not.
    let changes: Vec<String> = diff(&old, &example)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        changes.contains(
            &"architecture SCMP_ARCH_X86: was in the filter, now its calls kill the process"
                .to_string()
        ),
        "{changes:#?}"
    );
}
