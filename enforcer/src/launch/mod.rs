//! Starting a workload under a seccomp filter: resolve the command, fork, move the child into
//! its cgroup, drop its capabilities and identity, install the filter just before exec, and
//! hand the notify listener to the supervisor without the child making any call the filter
//! could notify.

mod child;
mod command;
mod contain;
pub(crate) mod fds;
mod identity;
mod privileges;

pub use command::{CommandError, ResolvedCommand};
pub use identity::{Credentials, IdentityError, UserIds};

use crate::cgroup::{CgroupError, WorkloadCgroup};
use crate::profile::CompiledFilter;
use child::{ChildPlan, Stage};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, pipe2};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}")]
    Command(#[from] CommandError),
    #[error("{0}")]
    Identity(#[from] IdentityError),
    #[error("{0}")]
    Cgroup(#[from] CgroupError),
    #[error("cannot execute {path}: {errno}")]
    Exec { path: String, errno: Errno },
    #[error("workload set-up failed at {stage}: {errno}")]
    Setup { stage: &'static str, errno: Errno },
    #[error("fork: {0}")]
    Fork(Errno),
    #[error("taking the seccomp listener from the workload: {0}")]
    Handoff(io::Error),
}

impl LaunchError {
    /// The `docker run` exit code for this failure: 127 not found, 126 not executable, 125
    /// for the enforcer's own failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Command(CommandError::NotFound { .. }) => 127,
            Self::Exec {
                errno: Errno::ENOENT,
                ..
            } => 127,
            Self::Command(_) | Self::Exec { .. } => 126,
            _ => 125,
        }
    }
}

/// A running workload.
pub struct Launched {
    pub pid: Pid,
    /// Refers to the child even after its pid is reused; readable when it exits.
    pub pidfd: OwnedFd,
    /// The seccomp notify listener, when the filter notifies anything.
    pub listener: Option<OwnedFd>,
}

/// A workload forked and set up, stopped just before its filter (or, when it notifies, just
/// after handing the listener over): [`Starting::start`] lets it exec. In between, the caller
/// sets up what must exist before the workload runs (the watchdog).
pub struct Starting {
    launched: Launched,
    go: File,
    err_rx: OwnedFd,
    path: String,
}

impl Starting {
    pub fn pid(&self) -> Pid {
        self.launched.pid
    }

    /// The listener, for the watchdog to inherit.
    pub fn listener_fd(&self) -> Option<std::os::fd::RawFd> {
        self.launched.listener.as_ref().map(|l| l.as_raw_fd())
    }

    /// Lets the workload go on to exec, and reports a stage that failed after that.
    pub fn start(mut self) -> Result<Launched, LaunchError> {
        let pid = self.launched.pid;
        if let Err(e) = self.go.write_all(&[1]) {
            return Err(abort(pid, LaunchError::Handoff(e)));
        }
        if let Some(failure) = read_failure(self.err_rx, &self.path) {
            let _ = waitpid(pid, None);
            return Err(failure);
        }
        Ok(self.launched)
    }

    /// Kills the workload before it ran anything.
    pub fn abort(self) {
        let _ = abort(self.launched.pid, LaunchError::Fork(Errno::ECANCELED));
    }
}

/// Forks `cmd` in `cgroup`, which it cannot leave (contain.rs), under `filter`; it execs on
/// [`Starting::start`].
pub fn spawn(
    cmd: &ResolvedCommand,
    filter: &CompiledFilter,
    cgroup: &WorkloadCgroup,
) -> Result<Starting, LaunchError> {
    let cgroup_procs = cgroup.procs_file()?;
    let (listener_rx, listener_tx) = pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Fork)?;
    let (ack_rx, ack_tx) = pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Fork)?;
    let (err_rx, err_tx) = pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Fork)?;
    let plan = ChildPlan::new(
        cmd,
        filter,
        (cgroup_procs.as_raw_fd(), cgroup.mount()),
        listener_tx.as_raw_fd(),
        ack_rx.as_raw_fd(),
        err_tx.as_raw_fd(),
    );

    // SAFETY: the child runs only `ChildPlan::run`, which makes raw async-signal-safe calls on
    // memory prepared before the fork and never returns.
    let pid = match unsafe { fork() }.map_err(LaunchError::Fork)? {
        ForkResult::Child => plan.run(),
        ForkResult::Parent { child } => child,
    };
    drop((listener_tx, ack_rx, err_tx, cgroup_procs));
    let path = cmd.display();

    let pidfd = match rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid.as_raw()).expect("fork returns a positive pid"),
        rustix::process::PidfdFlags::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return Err(abort(pid, LaunchError::Handoff(e.into()))),
    };
    let listener = if filter.notify {
        match take_listener(&pidfd, listener_rx) {
            Ok(Some(l)) => Some(l),
            // The child failed before the hand-off: its reason is on the error pipe.
            Ok(None) => {
                let failure = read_failure(err_rx, &path).unwrap_or_else(|| {
                    LaunchError::Handoff(io::Error::other("the workload closed the hand-off pipe"))
                });
                return Err(abort(pid, failure));
            }
            Err(e) => return Err(abort(pid, LaunchError::Handoff(e))),
        }
    } else {
        None
    };
    Ok(Starting {
        launched: Launched {
            pid,
            pidfd,
            listener,
        },
        go: File::from(ack_tx),
        err_rx,
        path,
    })
}

/// Receives the listener's fd number from the child and copies the fd out of it with
/// `pidfd_getfd`; the child closes its copy before exec.
fn take_listener(pidfd: &OwnedFd, rx: OwnedFd) -> io::Result<Option<OwnedFd>> {
    let mut buf = [0u8; 4];
    let mut rx = File::from(rx);
    if let Err(e) = rx.read_exact(&mut buf) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(None)
        } else {
            Err(e)
        };
    }
    let target = i32::from_ne_bytes(buf);
    let listener = rustix::process::pidfd_getfd(
        pidfd.as_fd(),
        target,
        rustix::process::PidfdGetfdFlags::empty(),
    )?;
    tracing::info!("seccomp listener taken from the child (its fd {target}) by pidfd_getfd");
    Ok(Some(listener))
}

/// The child's report of a failed stage, if any: EOF (exec closed the pipe) means success.
fn read_failure(rx: OwnedFd, path: &str) -> Option<LaunchError> {
    let mut buf = [0u8; 8];
    let mut rx = File::from(rx);
    match rx.read_exact(&mut buf) {
        Ok(()) => {
            let (stage, errno) = Stage::decode(buf);
            Some(match stage {
                Stage::Exec => LaunchError::Exec {
                    path: path.to_string(),
                    errno,
                },
                other => LaunchError::Setup {
                    stage: other.name(),
                    errno,
                },
            })
        }
        Err(_) => None,
    }
}

fn abort(pid: Pid, err: LaunchError) -> LaunchError {
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = waitpid(pid, None);
    err
}
