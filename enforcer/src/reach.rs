//! Out of the workload's reach (DESIGN safety rule 7; the reasoning is in docs/security.md).
//!
//! Every enforcer process is made non-dumpable first thing. The kernel then refuses ptrace,
//! `/proc/PID/mem`, `/proc/PID/fd/*`, `/proc/PID/environ`, `process_vm_readv/writev` and
//! `pidfd_getfd` on any of its threads to every process without CAP_SYS_PTRACE in the
//! enforcer's user namespace, whatever its uid. The flag belongs to the process (its mm), so
//! one call covers every thread, and fork copies it (the watchdog, the launch child until its
//! execve, which gives the workload a fresh, dumpable mm).
//!
//! The kernel resets the flag to `fs.suid_dumpable` whenever a thread changes its effective
//! or filesystem ids, or gains capabilities (commit_creds in kernel/cred.c). The supervisor's
//! credential workers do that: [`credential_change_allowed`] refuses it when the reset would
//! make the process reachable, and [`restore_after_credential_change`] sets the flag back.

use crate::profile::CapSet;
use nix::errno::Errno;
use std::sync::Once;

const SUID_DUMPABLE: &str = "/proc/sys/fs/suid_dumpable";

/// Capabilities that let a workload reach the enforcer anyway (docs/security.md).
pub const REACHING_CAPS: [&str; 2] = ["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"];

#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error(
        "{SUID_DUMPABLE} is {0}: taking a caller's credentials would make the enforcer \
         ptrace-able by that caller while it holds them (only 0 or 2 are safe); refused"
    )]
    SuidDumpable(String),
    #[error("reading {SUID_DUMPABLE}: {0}")]
    Read(#[source] std::io::Error),
}

/// Makes this process non-dumpable (every thread of it, and what it forks from now on).
pub fn make_unreachable() -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments; async-signal-safe, so callable after fork too.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }).map(drop)
}

/// Whether this process is non-dumpable now.
pub fn is_unreachable() -> bool {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 }
}

/// Whether a thread of the enforcer may take another process's credentials. The change
/// resets the process's dumpable flag to `fs.suid_dumpable` until it is set back, and the
/// flag is per process: with 1 ("dumpable"), every thread that already holds a caller's
/// credentials is open to that caller during another worker's change. 0 keeps the process
/// non-dumpable, 2 ("suidsafe") makes ptrace need CAP_SYS_PTRACE. Refusals are logged once.
pub fn credential_change_allowed() -> Result<(), ReachError> {
    let result = std::fs::read_to_string(SUID_DUMPABLE)
        .map_err(ReachError::Read)
        .and_then(|v| judge_suid_dumpable(&v));
    if let Err(e) = &result {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!("{e}: calls that need the caller's credentials are denied");
        });
    }
    result
}

/// 0 and 2 keep a process whose credentials change out of reach; 1 (and anything unknown)
/// does not.
fn judge_suid_dumpable(value: &str) -> Result<(), ReachError> {
    match value.trim() {
        "0" | "2" => Ok(()),
        other => Err(ReachError::SuidDumpable(other.to_owned())),
    }
}

/// Sets the flag back after this thread changed its credentials (the kernel reset it).
pub fn restore_after_credential_change() -> Result<(), Errno> {
    make_unreachable()
}

/// Warns when the workload's capabilities let it reach the enforcer despite all this.
pub fn warn_about_caps(caps: CapSet) {
    for cap in REACHING_CAPS.into_iter().filter(|c| caps.contains(c)) {
        tracing::warn!(
            "the workload holds {cap}: it can reach the enforcer (ptrace it, read its memory \
             and take its fds, or get around it by other means) and so get past the profile \
             and the policy; see docs/security.md"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_suid_dumpable_1_is_refused() {
        assert!(judge_suid_dumpable("0\n").is_ok());
        assert!(judge_suid_dumpable("2\n").is_ok());
        assert!(matches!(
            judge_suid_dumpable("1\n"),
            Err(ReachError::SuidDumpable(v)) if v == "1"
        ));
    }

    #[test]
    fn a_credential_change_resets_the_flag_and_restoring_sets_it_back() {
        // A thread of its own: the change is irreversible for that thread.
        std::thread::spawn(|| {
            // Dumpable first, so that the reset is seen whatever fs.suid_dumpable says.
            // SAFETY: prctl with integer arguments.
            assert_eq!(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) }, 0);
            // SAFETY: raw setresgid on this thread only (libc's wrapper would change every
            // thread); gid 65534 for real, effective and saved.
            let rc = unsafe { libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) };
            assert_eq!(rc, 0, "tests run as root");
            let reset: i32 = std::fs::read_to_string(SUID_DUMPABLE)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            // SAFETY: prctl with integer arguments.
            let now = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
            assert_eq!(now, reset, "commit_creds sets the flag to fs.suid_dumpable");
            restore_after_credential_change().unwrap();
            assert!(is_unreachable());
        })
        .join()
        .unwrap();
    }
}
