//! The watchdog of `enforcer run`: a small process that outlives the enforcer and, if the
//! enforcer dies without saying goodbye (SIGKILL, crash), kills the workload's whole cgroup
//! and removes it, so no workload runs on without its supervisor and no cgroup is left behind.
//! (The workload's main process also has PR_SET_PDEATHSIG; its children do not, so the cgroup
//! is the way to reach them all.)
//!
//! It holds a copy of the seccomp listener: when the enforcer dies, the workload's pending
//! notified calls stay parked (instead of failing with ENOSYS) until they are killed. If the
//! supervisor fails while the enforcer lives, `--on-supervisor-exit enosys` asks the watchdog
//! to let its copy go ([`Watchdog::release_listener`]), so that the kernel answers ENOSYS.

use crate::launch::fds;
use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, Pid, fork, pipe2};
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The byte that tells the watchdog the enforcer is exiting on purpose.
const GOODBYE: u8 = b'x';
/// The byte that tells the watchdog to close its copy of the listener.
const RELEASE: u8 = b'r';
/// How long the watchdog waits for the killed cgroup to empty before giving up on removing it
/// (in steps of 10 ms).
const REMOVE_STEPS: u32 = 500;

pub struct Watchdog {
    tx: File,
    pid: Pid,
}

/// What the watchdog child works with, prepared before the fork.
struct Plan {
    rx: RawFd,
    listener: Option<RawFd>,
    dir: CString,
    kill: CString,
}

impl Watchdog {
    /// Forks the watchdog for the cgroup at `cgroup`, keeping `listener` (the seccomp
    /// listener) open in it. Call before the async runtime starts: the child then forks from a
    /// single-threaded process. Every other fd of the enforcer is closed in the watchdog.
    pub fn spawn(cgroup: &Path, listener: Option<RawFd>) -> nix::Result<Self> {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes());
        let (dir, kill) = match (c(cgroup), c(&cgroup.join("cgroup.kill"))) {
            (Ok(d), Ok(k)) => (d, k),
            _ => return Err(nix::errno::Errno::EINVAL),
        };
        let (rx, tx) = pipe2(OFlag::O_CLOEXEC)?;
        let plan = Plan {
            rx: rx.as_raw_fd(),
            listener,
            dir,
            kill,
        };
        // SAFETY: the child only makes async-signal-safe raw calls on memory prepared before
        // the fork, then _exits.
        match unsafe { fork() }? {
            ForkResult::Child => watch(&plan),
            ForkResult::Parent { child } => {
                drop(rx);
                Ok(Self {
                    tx: File::from(tx),
                    pid: child,
                })
            }
        }
    }

    /// The supervisor is gone while the enforcer lives: the watchdog closes its copy of the
    /// listener, so the workload's notified calls fail with ENOSYS.
    pub fn release_listener(&self) {
        let _ = (&self.tx).write_all(&[RELEASE]);
    }

    /// The enforcer is exiting on purpose: the watchdog leaves the cgroup alone.
    pub fn dismiss(mut self) {
        let _ = self.tx.write_all(&[GOODBYE]);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

fn watch(plan: &Plan) -> ! {
    let mut keep = [plan.rx, plan.listener.unwrap_or(plan.rx)];
    keep.sort_unstable();
    let keep: &[RawFd] = if keep[0] == keep[1] {
        &keep[..1]
    } else {
        &keep
    };
    fds::close_all_except(keep);
    // Inherited from the enforcer with the fork; said again as every enforcer process says it
    // first (this one holds the seccomp listener). prctl is async-signal-safe, and setting 0
    // cannot fail.
    let _ = crate::reach::make_unreachable();
    // SAFETY: signal dispositions, blocking reads, open/write/close/rmdir/nanosleep/_exit:
    // all async-signal-safe, on fds and strings prepared before the fork.
    unsafe {
        // A Ctrl-C meant for the enforcer must not take its watchdog down first.
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(sig, libc::SIG_IGN);
        }
        loop {
            let mut b = 0u8;
            let n = libc::read(plan.rx, (&mut b as *mut u8).cast(), 1);
            match (n, b) {
                (-1, _) if *libc::__errno_location() == libc::EINTR => continue,
                (1, GOODBYE) => libc::_exit(0),
                (1, RELEASE) => {
                    if let Some(fd) = plan.listener {
                        libc::close(fd);
                    }
                }
                // EOF: the enforcer died without a goodbye.
                _ => break,
            }
        }
        let fd = libc::open(plan.kill.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, b"1".as_ptr().cast(), 1);
            libc::close(fd);
        }
        // rmdir fails with EBUSY until the killed tasks are gone.
        let step = libc::timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        for _ in 0..REMOVE_STEPS {
            if libc::rmdir(plan.dir.as_ptr()) == 0 || *libc::__errno_location() != libc::EBUSY {
                break;
            }
            libc::nanosleep(&step, std::ptr::null_mut());
        }
        libc::_exit(0)
    }
}
