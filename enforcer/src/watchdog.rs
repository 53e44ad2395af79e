//! `--on-supervisor-exit kill`: a small process that outlives the enforcer and, if the
//! enforcer dies without saying goodbye (SIGKILL, crash), kills the workload's whole cgroup,
//! so no workload runs on without its supervisor. Without it the kernel answers the
//! workload's notified calls with ENOSYS, which is also fail-closed.

use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, Pid, fork, pipe2};
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The byte that tells the watchdog the enforcer is exiting on purpose.
const GOODBYE: u8 = b'x';

pub struct Watchdog {
    tx: File,
    pid: Pid,
}

impl Watchdog {
    /// Forks the watchdog for the cgroup at `cgroup`. Call before the async runtime starts:
    /// the child then forks from a single-threaded process. The watchdog keeps its inherited
    /// copy of the seccomp listener open: when the enforcer dies, the workload's pending
    /// notified calls then stay parked (instead of failing with ENOSYS) until it is killed.
    pub fn spawn(cgroup: &Path) -> nix::Result<Self> {
        let kill = CString::new(cgroup.join("cgroup.kill").as_os_str().as_bytes())
            .map_err(|_| nix::errno::Errno::EINVAL)?;
        let (rx, tx) = pipe2(OFlag::O_CLOEXEC)?;
        // SAFETY: the child only makes async-signal-safe raw calls on memory prepared before
        // the fork, then _exits.
        match unsafe { fork() }? {
            ForkResult::Child => {
                drop(tx);
                watch(&rx, &kill)
            }
            ForkResult::Parent { child } => Ok(Self {
                tx: File::from(tx),
                pid: child,
            }),
        }
    }

    /// The enforcer is exiting on purpose: the watchdog leaves the cgroup alone.
    pub fn dismiss(mut self) {
        let _ = self.tx.write_all(&[GOODBYE]);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

fn watch(rx: &OwnedFd, kill: &CString) -> ! {
    // Inherited from the enforcer with the fork; said again as every enforcer process says it
    // first (this one holds the seccomp listener). prctl is async-signal-safe, and setting 0
    // cannot fail.
    let _ = crate::reach::make_unreachable();
    // SAFETY: signal dispositions, a blocking read, open/write/_exit: all async-signal-safe,
    // on an fd and a string prepared before the fork.
    unsafe {
        // A Ctrl-C meant for the enforcer must not take its watchdog down first.
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(sig, libc::SIG_IGN);
        }
        let mut b = 0u8;
        let n = loop {
            let n = libc::read(rx.as_raw_fd(), (&mut b as *mut u8).cast(), 1);
            if !(n < 0 && *libc::__errno_location() == libc::EINTR) {
                break n;
            }
        };
        if !(n == 1 && b == GOODBYE) {
            let fd = libc::open(kill.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"1".as_ptr().cast(), 1);
            }
        }
        libc::_exit(0)
    }
}
