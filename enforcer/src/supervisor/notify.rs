//! The seccomp notify fd, with the kernel's own ioctls (libc's definitions): receive, answer,
//! check an id, and the sync wake-up flag. libseccomp's wrappers allocate on every call; this
//! is the supervisor's hot path, measured by `cargo xtask bench notify`.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// SECCOMP_IOCTL_NOTIF_SET_FLAGS = SECCOMP_IOW(4, __u64); the flags travel as the value.
const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::Ioctl = 0x4008_2104;
/// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): wake the supervisor and the caller
/// synchronously, which saves a scheduler round trip when both wait on each other.
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: libc::c_ulong = 1;

/// AUDIT_ARCH_* values of the ABIs the profile module names.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

/// One parked call, as the kernel described it.
#[derive(Debug, Clone, Copy)]
pub struct Notification {
    pub id: u64,
    /// Thread id of the caller, in the supervisor's pid namespace.
    pub pid: u32,
    pub nr: i32,
    pub audit_arch: u32,
    pub args: [u64; 6],
}

impl Notification {
    /// The ABI of the call (x32 calls come with x86_64's AUDIT_ARCH and bit 30 set).
    pub fn arch(&self) -> Option<crate::profile::Arch> {
        use crate::profile::{Arch, X32_SYSCALL_BIT};
        match self.audit_arch {
            AUDIT_ARCH_X86_64 if self.nr & X32_SYSCALL_BIT != 0 => Some(Arch::X32),
            AUDIT_ARCH_X86_64 => Some(Arch::X86_64),
            AUDIT_ARCH_I386 => Some(Arch::X86),
            AUDIT_ARCH_AARCH64 => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

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

pub enum Wait {
    Notification,
    /// No process uses the filter any more.
    Closed,
}

/// Blocks until a notification is pending or the filter has no users left; RECV alone would
/// block forever in the latter case.
pub fn wait(fd: BorrowedFd<'_>) -> Wait {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, -1) };
        if n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
            continue;
        }
        return if n > 0 && pfd.revents & libc::POLLIN != 0 {
            Wait::Notification
        } else {
            Wait::Closed
        };
    }
}

/// Receives one notification; an error means it vanished (the caller was interrupted or
/// died) between the wake-up and the receive.
pub fn receive(fd: BorrowedFd<'_>) -> std::io::Result<Notification> {
    // SAFETY: all-zero is a valid seccomp_notif, and the kernel requires it zeroed.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: RECV fills the struct it is given.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Notification {
        id: req.id,
        pid: req.pid,
        nr: req.data.nr,
        audit_arch: req.data.arch,
        args: req.data.args,
    })
}

/// Whether notification `id` is still pending (its caller still parked in the call).
pub fn id_valid(fd: i32, id: u64) -> bool {
    // SAFETY: ID_VALID reads the u64 it is pointed at.
    unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 }
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
pub fn respond(fd: i32, id: u64, answer: Answer) -> std::io::Result<()> {
    let (val, error, flags) = match answer {
        Answer::Continue => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
        Answer::Value(v) => (v, 0, 0),
        Answer::Error(e) => (0, -e, 0),
    };
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    loop {
        // SAFETY: SEND reads the response it is given.
        if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}
