//! Starting a workload under a seccomp filter: resolve the command, fork, move the child into
//! its cgroup, drop its capabilities and identity, install the filter just before exec, and
//! hand the notify listener to the supervisor without the child making any call the filter
//! could notify.

mod child;
mod command;
mod identity;
mod privileges;

pub use command::{CommandError, ResolvedCommand};
pub use identity::{Credentials, IdentityError, UserIds};

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

/// Forks and execs `cmd` in the cgroup whose `cgroup.procs` is `cgroup_procs`, under `filter`.
pub fn spawn(
    cmd: &ResolvedCommand,
    filter: &CompiledFilter,
    cgroup_procs: &File,
) -> Result<Launched, LaunchError> {
    let (listener_rx, listener_tx) = pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Fork)?;
    let (ack_rx, ack_tx) = pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Fork)?;
    let (err_rx, err_tx) = pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Fork)?;
    let plan = ChildPlan::new(
        cmd,
        filter,
        cgroup_procs.as_raw_fd(),
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
    drop((listener_tx, ack_rx, err_tx));

    let pidfd = match rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid.as_raw()).expect("fork returns a positive pid"),
        rustix::process::PidfdFlags::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return Err(abort(pid, LaunchError::Handoff(e.into()))),
    };
    let listener = if filter.notify {
        match take_listener(&pidfd, listener_rx, ack_tx) {
            Ok(Some(l)) => Some(l),
            // The child failed before the hand-off: its reason is on the error pipe.
            Ok(None) => None,
            Err(e) => return Err(abort(pid, LaunchError::Handoff(e))),
        }
    } else {
        None
    };
    if let Some(failure) = read_failure(err_rx, cmd) {
        let _ = waitpid(pid, None);
        return Err(failure);
    }
    if filter.notify && listener.is_none() {
        return Err(abort(
            pid,
            LaunchError::Handoff(io::Error::other("the workload closed the hand-off pipe")),
        ));
    }
    Ok(Launched {
        pid,
        pidfd,
        listener,
    })
}

/// Receives the listener's fd number from the child, copies the fd out of it with
/// `pidfd_getfd`, then lets it go on to exec (which closes its copy: the fd is CLOEXEC).
fn take_listener(pidfd: &OwnedFd, rx: OwnedFd, tx: OwnedFd) -> io::Result<Option<OwnedFd>> {
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
    File::from(tx).write_all(&[1])?;
    Ok(Some(listener))
}

/// The child's report of a failed stage, if any: EOF (exec closed the pipe) means success.
fn read_failure(rx: OwnedFd, cmd: &ResolvedCommand) -> Option<LaunchError> {
    let mut buf = [0u8; 8];
    let mut rx = File::from(rx);
    match rx.read_exact(&mut buf) {
        Ok(()) => {
            let (stage, errno) = Stage::decode(buf);
            Some(match stage {
                Stage::Exec => LaunchError::Exec {
                    path: cmd.display(),
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
