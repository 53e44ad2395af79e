//! Probe operations for the profile tests: any syscall by number, a mount that really works
//! in a private mount namespace, and what /proc says about the process's identity.

use super::{num, path, report, sys};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        // raw NR A0 A1 A2 A3 A4 A5: syscall NR with six integer arguments.
        "raw" => {
            let nr = num(next());
            let a: Vec<i64> = (0..6).map(|_| num(next())).collect();
            report(&format!("syscall({nr}, {a:?})"), sys(nr, &a));
        }
        // mount-private DIR: unshare(CLONE_NEWNS), make "/" private, mount a tmpfs on DIR.
        "mount-private" => mount_private(next()),
        // status: the identity lines of /proc/self/status.
        "status" => status(),
        _ => return false,
    }
    true
}

fn mount_private(dir: &str) {
    let (root, target, tmpfs) = (path("/"), path(dir), path("tmpfs"));
    report(
        "unshare(CLONE_NEWNS)",
        sys(libc::SYS_unshare, &[libc::CLONE_NEWNS as i64]),
    );
    report(
        "mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE)",
        sys(
            libc::SYS_mount,
            &[
                0,
                root.as_ptr() as i64,
                0,
                (libc::MS_REC | libc::MS_PRIVATE) as i64,
                0,
            ],
        ),
    );
    report(
        &format!("mount(\"tmpfs\", {dir:?}, \"tmpfs\", 0)"),
        sys(
            libc::SYS_mount,
            &[
                tmpfs.as_ptr() as i64,
                target.as_ptr() as i64,
                tmpfs.as_ptr() as i64,
                0,
                0,
            ],
        ),
    );
}

fn status() {
    const KEYS: [&str; 10] = [
        "Uid",
        "Gid",
        "Groups",
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
        "NoNewPrivs",
        "Seccomp",
    ];
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in text.lines() {
        if KEYS.iter().any(|k| line.split(':').next() == Some(k)) {
            println!("{line}");
        }
    }
}
