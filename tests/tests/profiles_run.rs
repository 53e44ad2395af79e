//! Profiles and capabilities in real workloads: under Docker's and Podman's default profiles
//! with Docker's default capabilities, the probe sees what their containers see; --cap-add,
//! --cap-drop and --user really change the workload's capabilities and identity.

use enforcer_tests::*;
use std::process::Output;

/// Docker's default capability set as /proc/PID/status shows it.
const DOCKER_CAPS: &str = "00000000a80425fb";
const CAP_SYS_ADMIN: u64 = 1 << 21;

fn sys(nr: libc::c_long) -> String {
    nr.to_string()
}

/// `enforcer run OPTS -- probe ARGS`, which must exit 0; its stdout.
fn probe(opts: &[&str], args: &[&str]) -> String {
    let s = Scratch::new();
    let out: Output = run_probe(opts, &s.path("e.jsonl"), args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{opts:?} {args:?}: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// The probe's line for the call starting with `call`.
#[track_caller]
fn result<'a>(out: &'a str, call: &str) -> &'a str {
    let line = (out.lines())
        .find(|l| l.starts_with(call))
        .unwrap_or_else(|| panic!("no {call:?} in {out}"));
    line.rsplit_once(" = ").map(|(_, r)| r).unwrap_or_default()
}

/// A /proc/self/status field of the probe.
#[track_caller]
fn field<'a>(out: &'a str, name: &str) -> &'a str {
    (out.lines())
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
        .trim()
}

/// A directory in the scratch space that another uid can reach.
fn searchable_dir(s: &Scratch, name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = s.path(name);
    std::fs::create_dir(&dir).unwrap();
    for d in [s.dir.path(), dir.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn hex(field: &str) -> u64 {
    u64::from_str_radix(field, 16).expect("hex capability set")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The probe's `raw` operation: syscall `nr` with a0, a1 and four zeros.
fn raw(nr: libc::c_long, a0: i64, a1: i64) -> Vec<String> {
    let mut v = vec!["raw".to_string(), sys(nr), a0.to_string(), a1.to_string()];
    v.extend(strings(&["0"; 4]));
    v
}

#[test]
fn docker_default_as_docker_containers_see_it() {
    let profile = real_profile("docker-default.json");
    let mut args = strings(&[
        "mount",
        "unshare",
        "keyctl",
        "clone3",
        "socket",
        "40",
        "personality",
        "0xffffffff",
    ]);
    // open_tree_attr (467) is newer than any syscall Docker's default names (removexattrat,
    // 466): ENOSYS, as runc answers; add_key is known but not named: the default's EPERM.
    args.extend(raw(467, -1, 0));
    args.extend(raw(libc::SYS_add_key, 0, 0));
    args.push("status".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(&["--profile", profile.to_str().unwrap()], &args);
    assert!(result(&out, "mount(").starts_with("-1 EPERM"), "{out}");
    assert!(result(&out, "unshare(").starts_with("-1 EPERM"), "{out}");
    assert!(result(&out, "keyctl(").starts_with("-1 EPERM"), "{out}");
    assert!(result(&out, "clone3(").starts_with("-1 ENOSYS"), "{out}");
    assert!(result(&out, "socket(40,").starts_with("-1 EPERM"), "{out}");
    assert!(!result(&out, "personality(").starts_with("-1"), "{out}");
    assert!(
        result(&out, "syscall(467,").starts_with("-1 ENOSYS"),
        "{out}"
    );
    let add_key = format!("syscall({},", libc::SYS_add_key);
    assert!(result(&out, &add_key).starts_with("-1 EPERM"), "{out}");
    // Docker's default capabilities, as root; no no_new_privs; the filter is on.
    for cap in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(field(&out, cap), DOCKER_CAPS, "{cap}: {out}");
    }
    assert_eq!(hex(field(&out, "CapInh")) | hex(field(&out, "CapAmb")), 0);
    assert_eq!(field(&out, "Uid"), "0\t0\t0\t0");
    assert_eq!(field(&out, "NoNewPrivs"), "0");
    assert_eq!(field(&out, "Seccomp"), "2");
}

#[test]
fn cap_add_sys_admin_lets_mount_through_the_filter() {
    let profile = real_profile("docker-default.json");
    let s = Scratch::new();
    let dir = searchable_dir(&s, "mnt");
    let mut args = vec!["mount-private", dir.to_str().unwrap()];
    // mount with a bad target pointer: EFAULT comes from the kernel's own mount code, after
    // the filter let the call in (the filter would answer EPERM before).
    let efault = raw(libc::SYS_mount, 0, 1);
    args.extend(efault.iter().map(String::as_str));
    args.push("status");
    let out = probe(
        &[
            "--profile",
            profile.to_str().unwrap(),
            "--cap-add",
            "SYS_ADMIN",
        ],
        &args,
    );
    assert_eq!(result(&out, "unshare(CLONE_NEWNS)"), "0", "{out}");
    assert_eq!(result(&out, "mount(NULL, \"/\""), "0", "{out}");
    assert_eq!(result(&out, "mount(\"tmpfs\""), "0", "a real mount: {out}");
    let mount = format!("syscall({},", libc::SYS_mount);
    assert!(result(&out, &mount).starts_with("-1 EFAULT"), "{out}");
    assert_eq!(hex(field(&out, "CapEff")), hex(DOCKER_CAPS) | CAP_SYS_ADMIN);
    // The mount lived in the workload's own mount namespace only.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(dir.to_str().unwrap()), "{mounts}");

    // Without the capability the same calls never reach the kernel.
    let out = probe(&["--profile", profile.to_str().unwrap()], &args);
    assert!(
        result(&out, "unshare(CLONE_NEWNS)").starts_with("-1 EPERM"),
        "{out}"
    );
    assert!(result(&out, &mount).starts_with("-1 EPERM"), "{out}");
}

#[test]
fn podman_default_where_it_differs() {
    let profile = real_profile("podman-default.json");
    let mut args = strings(&[
        "keyctl",
        "clone3",
        "socket",
        "40",
        "personality",
        "0xffffffff",
    ]);
    args.extend(raw(libc::SYS_mount, 0, 1));
    args.extend(raw(libc::SYS_unshare, 1, 0));
    args.extend(raw(libc::SYS_add_key, 0, 0));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(&["--profile", profile.to_str().unwrap()], &args);
    // Podman allows keyctl, clone3, mount and unshare (the kernel's own checks answer) and
    // every socket family, and denies what it does not name with ENOSYS.
    let id = result(&out, "keyctl(");
    assert!(id.parse::<i64>().is_ok_and(|id| id > 0), "{out}");
    assert!(result(&out, "clone3(").starts_with("-1 EINVAL"), "{out}");
    assert!(!result(&out, "socket(40,").starts_with("-1 EPERM"), "{out}");
    assert!(!result(&out, "personality(").starts_with("-1"), "{out}");
    let call = |nr: libc::c_long| format!("syscall({nr},");
    assert!(
        result(&out, &call(libc::SYS_mount)).starts_with("-1 EFAULT"),
        "{out}"
    );
    assert!(
        result(&out, &call(libc::SYS_unshare)).starts_with("-1 EINVAL"),
        "{out}"
    );
    assert!(
        result(&out, &call(libc::SYS_add_key)).starts_with("-1 ENOSYS"),
        "{out}"
    );
}

#[test]
fn cap_drop_all_and_user_drop_for_real() {
    let out = probe(&["--cap-drop", "ALL"], &["status"]);
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(hex(field(&out, cap)), 0, "{cap}: {out}");
    }
    assert_eq!(field(&out, "Uid"), "0\t0\t0\t0");

    let out = probe(&["--user", "65534"], &["status"]);
    assert_eq!(field(&out, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(field(&out, "Gid"), "65534\t65534\t65534\t65534");
    assert_eq!(field(&out, "Groups"), "");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(hex(field(&out, cap)), 0, "{cap}: {out}");
    }
    // As Docker: the bounding set stays (the profile was resolved against it).
    assert_eq!(field(&out, "CapBnd"), DOCKER_CAPS);
    assert_eq!(field(&out, "NoNewPrivs"), "0");

    // Even with every capability added, a user other than root holds none.
    let out = probe(
        &["--user", "nobody:nogroup", "--cap-add", "ALL"],
        &["status"],
    );
    assert_eq!(hex(field(&out, "CapEff")) | hex(field(&out, "CapPrm")), 0);
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_eq!(field(&out, "CapBnd"), field(&own, "CapBnd"), "all we have");
}

#[test]
fn supervised_calls_work_for_another_user() {
    // The built-in default notifies the chmod family; the hand-off happens after the drop.
    let s = Scratch::new();
    let dir = searchable_dir(&s, "d");
    let file = dir.join("f");
    std::fs::write(&file, b"x").unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let f = file.to_str().unwrap();
    let out = probe(
        &["--user", "65534"],
        &["chmod", f, "0640", "chmod", f, "04755", "status"],
    );
    assert_eq!(result(&out, &format!("chmod({f:?}, 0o640)")), "0", "{out}");
    assert!(
        result(&out, &format!("chmod({f:?}, 0o4755)")).starts_with("-1 EPERM"),
        "{out}"
    );
    assert_eq!(mode_of(&file), 0o640);
    assert_eq!(field(&out, "Uid"), "65534\t65534\t65534\t65534");
}
