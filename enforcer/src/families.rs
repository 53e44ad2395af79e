//! Alias families: syscalls that do the same thing by other names, so that a rule for one
//! must cover all of them (a rule for `chmod` alone is walked around with `fchmodat`). One
//! table for the whole crate: `profile check` lints profiles that split a family, policies
//! name a family as `@name`, and the built-in default notifies the whole chmod family.
//!
//! Members are listed for every architecture (`chown32`, `stat64`, ... exist on 32-bit ABIs
//! only); users of the table skip the names that do not exist where they look. Calls that
//! reach the same kernel object by a different route (`open_by_handle_at`, io_uring) or
//! whose variants do different things (`clone3` vs `fork`) are not aliases and are left out.

/// The chmod family: every way to change a file's mode.
pub const CHMOD: &[&str] = &["chmod", "fchmod", "fchmodat", "fchmodat2"];

/// The mkdir family.
pub const MKDIR: &[&str] = &["mkdir", "mkdirat"];

/// `name` → members.
pub const FAMILIES: &[(&str, &[&str])] = &[
    ("chmod", CHMOD),
    (
        "chown",
        &[
            "chown", "fchown", "lchown", "fchownat", "chown32", "fchown32", "lchown32",
        ],
    ),
    ("open", &["open", "openat", "openat2", "creat"]),
    (
        "stat",
        &[
            "stat",
            "lstat",
            "fstat",
            "newfstatat",
            "statx",
            "stat64",
            "lstat64",
            "fstat64",
            "fstatat64",
        ],
    ),
    ("access", &["access", "faccessat", "faccessat2"]),
    ("unlink", &["unlink", "unlinkat", "rmdir"]),
    ("rename", &["rename", "renameat", "renameat2"]),
    ("link", &["link", "linkat"]),
    ("symlink", &["symlink", "symlinkat"]),
    ("mkdir", MKDIR),
    ("mknod", &["mknod", "mknodat"]),
    ("readlink", &["readlink", "readlinkat"]),
    (
        "utime",
        &[
            "utime",
            "utimes",
            "futimesat",
            "utimensat",
            "utimensat_time64",
        ],
    ),
    (
        "truncate",
        &["truncate", "ftruncate", "truncate64", "ftruncate64"],
    ),
    (
        "setxattr",
        &["setxattr", "lsetxattr", "fsetxattr", "setxattrat"],
    ),
    (
        "removexattr",
        &[
            "removexattr",
            "lremovexattr",
            "fremovexattr",
            "removexattrat",
        ],
    ),
    ("exec", &["execve", "execveat"]),
    (
        "mount",
        &[
            "mount",
            "move_mount",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "open_tree",
            "open_tree_attr",
            "mount_setattr",
        ],
    ),
    ("umount", &["umount", "umount2"]),
    (
        "kill",
        &[
            "kill",
            "tkill",
            "tgkill",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "pidfd_send_signal",
        ],
    ),
    (
        "setuid",
        &[
            "setuid",
            "setreuid",
            "setresuid",
            "setfsuid",
            "setuid32",
            "setreuid32",
            "setresuid32",
            "setfsuid32",
        ],
    ),
    (
        "setgid",
        &[
            "setgid",
            "setregid",
            "setresgid",
            "setfsgid",
            "setgid32",
            "setregid32",
            "setresgid32",
            "setfsgid32",
        ],
    ),
];

/// The members of family `name` (without the `@`).
pub fn family(name: &str) -> Option<&'static [&'static str]> {
    FAMILIES.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// The family `syscall` belongs to, as (name, members).
pub fn family_of(syscall: &str) -> Option<(&'static str, &'static [&'static str])> {
    FAMILIES
        .iter()
        .find(|(_, members)| members.contains(&syscall))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_is_a_syscall_and_in_one_family_only() {
        for (name, members) in FAMILIES {
            for m in *members {
                assert!(crate::profile::is_known_syscall(m), "{name}: {m}");
                assert_eq!(family_of(m).map(|f| f.0), Some(*name), "{m}");
            }
        }
        assert_eq!(family("chmod"), Some(CHMOD));
        assert_eq!(family("nope"), None);
    }
}
