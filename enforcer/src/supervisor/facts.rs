//! The facts the policy asks about one notified call: who the caller is (read from /proc and
//! checked against the notification id), and, for the calls the supervisor carries out, the
//! file resolved on the emulation worker.

use super::creds::Status;
use super::emulate::{Call as Emulated, Gathered, Target, Worker};
use crate::events::errno_name;
use crate::policy::{FactError, Facts, FileFact, Identity};

fn stale() -> FactError {
    FactError::new(libc::EPERM, "the notification is no longer valid")
}

/// Who thread `tid` (real uid `uid`) is; `still_valid` asks the kernel whether the
/// notification is still pending, so that a recycled TID is not mistaken for the caller.
pub fn read_identity(
    tid: u32,
    uid: u32,
    container: Option<&str>,
    still_valid: &dyn Fn() -> bool,
) -> Result<Identity, FactError> {
    let read = |what: &str| {
        std::fs::read_to_string(format!("/proc/{tid}/{what}"))
            .map_err(|e| FactError::new(libc::EPERM, format!("/proc/{tid}/{what}: {e}")))
    };
    let cgroup = read("cgroup")?
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("")
        .to_owned();
    let comm = read("comm")?.trim_end().to_owned();
    let exe = std::fs::read_link(format!("/proc/{tid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let id = Identity {
        cgroup,
        container: container.map(str::to_owned),
        comm,
        exe,
        uid,
    };
    if still_valid() { Ok(id) } else { Err(stale()) }
}

/// Facts for a call the supervisor does not carry out: the identity only; a path rule cannot
/// name it (the policy refuses such rules), and `file` says why not.
pub struct IdentityFacts<'a> {
    pub tid: u32,
    pub container: Option<&'a str>,
    pub still_valid: &'a dyn Fn() -> bool,
    /// What asking for the file gives: the kernel's errno for registers it refuses.
    pub no_file: FactError,
    identity: Option<Result<Identity, FactError>>,
}

impl<'a> IdentityFacts<'a> {
    pub fn new(
        tid: u32,
        container: Option<&'a str>,
        still_valid: &'a dyn Fn() -> bool,
        no_file: FactError,
    ) -> Self {
        Self {
            tid,
            container,
            still_valid,
            no_file,
            identity: None,
        }
    }
}

impl Facts for IdentityFacts<'_> {
    fn identity(&mut self) -> Result<&Identity, FactError> {
        if self.identity.is_none() {
            let tid = self.tid;
            let id = Status::of(tid)
                .map_err(|e| FactError::new(libc::EPERM, e.to_string()))
                .and_then(|s| read_identity(tid, s.creds.uid[0], self.container, self.still_valid));
            self.identity = Some(id);
        }
        self.identity
            .as_ref()
            .expect("set above")
            .as_ref()
            .map_err(Clone::clone)
    }

    fn file(&mut self) -> Result<FileFact<'_>, FactError> {
        Err(self.no_file.clone())
    }
}

/// Facts on the emulation worker: the identity gathered on the receiving thread (when the
/// policy may ask), the file resolved here, on first request.
pub struct WorkerFacts<'a> {
    pub call: &'a Emulated,
    pub gathered: &'a mut Gathered,
    pub worker: &'a Worker,
    pub identity: Option<Identity>,
    target: Option<Result<Target, FactError>>,
}

impl<'a> WorkerFacts<'a> {
    pub fn new(call: &'a Emulated, gathered: &'a mut Gathered, worker: &'a Worker) -> Self {
        let identity = gathered.identity.take();
        Self {
            call,
            gathered,
            worker,
            identity,
            target: None,
        }
    }

    /// The resolved file, once the policy asked for it.
    pub fn take_target(&mut self) -> Option<Target> {
        self.target.take().and_then(Result::ok)
    }
}

impl Facts for WorkerFacts<'_> {
    fn identity(&mut self) -> Result<&Identity, FactError> {
        self.identity
            .as_ref()
            .ok_or_else(|| FactError::new(libc::EPERM, "the caller's identity was not read"))
    }

    fn file(&mut self) -> Result<FileFact<'_>, FactError> {
        if self.target.is_none() {
            let t = self
                .call
                .resolve(self.gathered, self.worker)
                .map_err(|e| FactError::new(e, format!("resolving the path: {}", errno_name(e))));
            self.target = Some(t);
        }
        match self.target.as_ref().expect("set above") {
            Ok(t) => Ok(FileFact {
                path: &t.path,
                other_names: t.other_names,
            }),
            Err(e) => Err(e.clone()),
        }
    }
}
