//! What the forked child does before exec. Only raw, async-signal-safe system calls on memory
//! prepared before the fork: the parent may have other threads, so no allocation, no locks.
//!
//! Capabilities and identity are dropped before the filter is installed (privileges.rs says
//! why that order), so the calls made after the filter is installed are only `write`, `read`,
//! `close`, `execve` and `exit_group`; the profile module refuses profiles that notify them,
//! so the hand-off can never wait on its own supervisor.

use super::ResolvedCommand;
use super::contain::CgroupNamespace;
use super::fds;
use super::privileges::PrivilegePlan;
use crate::profile::CompiledFilter;
use nix::errno::Errno;
use std::os::fd::RawFd;

/// The set-up steps, reported to the parent with the errno when one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Stage {
    Signals = 1,
    Cgroup = 2,
    Seccomp = 3,
    Handoff = 4,
    Exec = 5,
    Capabilities = 6,
    Identity = 7,
    Namespaces = 8,
    ParentDeath = 9,
    Fds = 10,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Signals => "resetting signals",
            Self::Cgroup => "joining the cgroup",
            Self::Seccomp => "installing the seccomp filter",
            Self::Handoff => "handing the listener over",
            Self::Exec => "exec",
            Self::Capabilities => "dropping capabilities",
            Self::Identity => "switching to the user (setgroups, setresgid, setresuid)",
            Self::Namespaces => {
                "entering the cgroup and mount namespaces (unshare, remounting cgroup2)"
            }
            Self::ParentDeath => "tying the workload to the enforcer (PR_SET_PDEATHSIG)",
            Self::Fds => "closing the enforcer's file descriptors (close_range)",
        }
    }

    fn encode(self, errno: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&(self as u32).to_ne_bytes());
        b[4..].copy_from_slice(&errno.to_ne_bytes());
        b
    }

    pub fn decode(b: [u8; 8]) -> (Self, Errno) {
        let stage = match u32::from_ne_bytes(b[..4].try_into().expect("4 bytes")) {
            1 => Self::Signals,
            2 => Self::Cgroup,
            3 => Self::Seccomp,
            4 => Self::Handoff,
            6 => Self::Capabilities,
            7 => Self::Identity,
            8 => Self::Namespaces,
            9 => Self::ParentDeath,
            10 => Self::Fds,
            _ => Self::Exec,
        };
        (
            stage,
            Errno::from_raw(i32::from_ne_bytes(b[4..].try_into().expect("4 bytes"))),
        )
    }
}

/// Everything the child needs, laid out before the fork.
pub struct ChildPlan {
    path: *const libc::c_char,
    argv: Vec<*const libc::c_char>,
    prog: libc::sock_fprog,
    filter_flags: libc::c_ulong,
    notify: bool,
    privileges: PrivilegePlan,
    cgroup_procs: RawFd,
    namespace: CgroupNamespace,
    /// The enforcer's pid: the child dies with it (PR_SET_PDEATHSIG), and checks it did not
    /// miss the death before asking.
    parent: libc::pid_t,
    /// Fds from 3 + this on do not reach the workload.
    preserve_fds: u32,
    listener_tx: RawFd,
    ack_rx: RawFd,
    err_tx: RawFd,
}

const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
/// Once the supervisor has received a notification, non-fatal signals no longer interrupt
/// the caller's wait (Linux 5.19): without it a signal would abort a call the supervisor may
/// be carrying out, and the restarted call would be carried out twice.
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;

impl ChildPlan {
    pub fn new(
        cmd: &ResolvedCommand,
        filter: &CompiledFilter,
        cgroup: (RawFd, &std::path::Path),
        listener_tx: RawFd,
        ack_rx: RawFd,
        err_tx: RawFd,
    ) -> Self {
        let mut argv: Vec<*const libc::c_char> = cmd.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut flags = filter.flags as libc::c_ulong;
        if filter.notify {
            flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        }
        Self {
            path: cmd.path.as_ptr(),
            argv,
            prog: libc::sock_fprog {
                len: filter.program.len() as libc::c_ushort,
                filter: filter.program.as_ptr() as *mut libc::sock_filter,
            },
            filter_flags: flags,
            notify: filter.notify,
            // SAFETY: geteuid cannot fail.
            privileges: PrivilegePlan::new(&cmd.credentials, unsafe { libc::geteuid() } == 0),
            cgroup_procs: cgroup.0,
            namespace: CgroupNamespace::new(cgroup.1),
            // SAFETY: getpid cannot fail.
            parent: unsafe { libc::getpid() },
            preserve_fds: cmd.preserve_fds,
            listener_tx,
            ack_rx,
            err_tx,
        }
    }

    /// Runs in the child after fork; never returns.
    pub fn run(&self) -> ! {
        // SAFETY: every pointer was prepared by `new` from data the parent keeps alive across
        // the fork (the child has a copy of it); each call is async-signal-safe.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
                self.fail(Stage::Signals, 125);
            }
            if libc::write(self.cgroup_procs, b"0".as_ptr().cast(), 1) != 1 {
                self.fail(Stage::Cgroup, 125);
            }
            if self.namespace.enter().is_err() {
                self.fail(Stage::Namespaces, 125);
            }
            if fds::cloexec_from(self.preserve_fds.saturating_add(3)).is_err() {
                self.fail(Stage::Fds, 125);
            }
            if let Err(stage) = self.privileges.apply() {
                self.fail(stage, 125);
            }
            // Non-dumpable as the enforcer it was forked from, until execve gives the
            // workload a fresh mm; a uid change above reset the flag to fs.suid_dumpable.
            if crate::reach::make_unreachable().is_err() {
                self.fail(Stage::Identity, 125);
            }
            // After the identity switch, which clears it. The fork is made by the thread that
            // lives as long as the enforcer (the main thread): the signal comes when the
            // enforcer dies, however it dies; exec keeps it (no id change, capabilities only
            // shrink), and the watchdog kills the rest of the cgroup.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                self.fail(Stage::ParentDeath, 125);
            }
            if libc::getppid() != self.parent {
                *libc::__errno_location() = libc::ESRCH;
                self.fail(Stage::ParentDeath, 125);
            }
            // Without a listener to hand over, the parent's go comes before the filter (which
            // might deny read).
            if !self.notify && !self.wait_for_go() {
                self.fail(Stage::Handoff, 125);
            }
            // With the CAP_SYS_ADMIN the drop kept, the filter goes in without no_new_privs,
            // as runc does; setting it would break setuid programs inside the workload.
            if self.privileges.no_new_privs
                && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            {
                self.fail(Stage::Seccomp, 125);
            }
            let fd = libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.filter_flags,
                &self.prog as *const libc::sock_fprog,
            );
            if fd < 0 {
                self.fail(Stage::Seccomp, 125);
            }
            if self.notify {
                let n = (fd as i32).to_ne_bytes();
                if libc::write(self.listener_tx, n.as_ptr().cast(), 4) != 4 || !self.wait_for_go() {
                    self.fail(Stage::Handoff, 125);
                }
                // The supervisor holds its own copy now; the workload must not keep one.
                libc::close(fd as i32);
            }
            libc::execve(self.path, self.argv.as_ptr(), environ_ptr());
            let code = if Errno::last_raw() == libc::ENOENT {
                127
            } else {
                126
            };
            self.fail(Stage::Exec, code);
        }
    }

    /// Waits for the parent's go (it has set up what must exist before the workload runs).
    unsafe fn wait_for_go(&self) -> bool {
        let mut go = 0u8;
        // SAFETY: read into a byte on this stack, from a pipe prepared before the fork.
        unsafe { libc::read(self.ack_rx, (&mut go as *mut u8).cast(), 1) == 1 }
    }

    /// Reports the failed stage and errno to the parent and exits.
    unsafe fn fail(&self, stage: Stage, code: i32) -> ! {
        let msg = stage.encode(Errno::last_raw());
        // SAFETY: write and _exit are async-signal-safe; `msg` lives on this stack.
        unsafe {
            libc::write(self.err_tx, msg.as_ptr().cast(), msg.len());
            libc::_exit(code)
        }
    }
}

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

fn environ_ptr() -> *const *const libc::c_char {
    // SAFETY: reading libc's `environ` pointer; the parent does not change the environment
    // while forking.
    unsafe { environ }
}
