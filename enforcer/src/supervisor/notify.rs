//! The seccomp notify fd: receive, answer, check an id, and the sync wake-up flag.

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// SECCOMP_IOCTL_NOTIF_SET_FLAGS = SECCOMP_IOW(4, __u64); the flags travel as the value.
const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;
/// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): wake the supervisor and the caller
/// synchronously, which saves a scheduler round trip when both wait on each other.
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: libc::c_ulong = 1;

/// Turns on synchronous wake-ups on `fd`.
pub fn set_sync_wakeup(fd: &OwnedFd) -> std::io::Result<()> {
    // SAFETY: an ioctl on a seccomp listener with a plain integer argument.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub enum Pending {
    Notification,
    Nothing,
    /// No process uses the filter any more.
    Closed,
}

/// Whether a notification waits; RECV would block otherwise.
pub fn pending(fd: &OwnedFd) -> Pending {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(0) | Err(nix::errno::Errno::EINTR) => Pending::Nothing,
        Ok(_)
            if fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLIN)) =>
        {
            Pending::Notification
        }
        Ok(_) | Err(_) => Pending::Closed,
    }
}

pub fn receive(fd: &OwnedFd) -> Result<ScmpNotifReq, libseccomp::error::SeccompError> {
    ScmpNotifReq::receive(fd.as_raw_fd())
}

pub fn id_valid(fd: i32, id: u64) -> bool {
    libseccomp::notify_id_valid(fd, id).is_ok()
}

/// How a call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Let the kernel run the call (register-only decisions; DESIGN rule 2).
    Continue,
    /// Return this value as the call's result (the supervisor did the call itself).
    Value(i64),
    /// Fail with this positive errno.
    Error(i32),
}

/// Answers notification `id`; an error means the caller is gone or was interrupted.
pub fn respond(fd: i32, id: u64, answer: Answer) -> Result<(), libseccomp::error::SeccompError> {
    let resp = match answer {
        Answer::Continue => ScmpNotifResp::new_continue(id, ScmpNotifRespFlags::empty()),
        Answer::Value(v) => ScmpNotifResp::new_val(id, v, ScmpNotifRespFlags::empty()),
        Answer::Error(e) => ScmpNotifResp::new_error(id, -e, ScmpNotifRespFlags::empty()),
    };
    resp.respond(fd)
}
