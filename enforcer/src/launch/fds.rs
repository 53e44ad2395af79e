//! The enforcer's file descriptors stay the enforcer's: the workload inherits 0, 1, 2 and,
//! with `--preserve-fds N`, 3 to 3+N-1 (as runc's flag), nothing else. Raw close_range(2)
//! calls, async-signal-safe, for forked children (the launch child, the watchdog).

use std::os::fd::RawFd;

/// Every fd from `first` on gets close-on-exec: the launch child still needs its pipes to
/// the parent until exec, and exec then closes them together with whatever the enforcer
/// inherited without close-on-exec. Needs Linux 5.11; an error (errno set) fails the launch.
pub(crate) fn cloexec_from(first: u32) -> Result<(), ()> {
    // SAFETY: close_range only changes flags of this process's fds; no memory is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 { Ok(()) } else { Err(()) }
}

/// Closes every fd but those in `keep` (sorted ascending, no duplicates, none negative).
pub(crate) fn close_all_except(keep: &[RawFd]) {
    let mut from: u32 = 0;
    for &fd in keep {
        let fd = fd as u32;
        if fd > from {
            close_range(from, fd - 1);
        }
        from = fd + 1;
    }
    close_range(from, u32::MAX);
}

fn close_range(first: u32, last: u32) {
    // SAFETY: closes this process's fds in the range; no memory is passed.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
}
