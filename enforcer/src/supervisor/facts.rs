//! The facts the policy asks about one notified call, fetched on demand and checked against
//! the notification id after every read, so that they describe the parked call and nothing
//! else.

use super::caller::Caller;
use super::chmod::{self, ChmodCall, Target};
use super::memory;
use crate::policy::{FactError, Facts, Identity};

pub struct CallFacts<'a> {
    pub tid: u32,
    pub syscall: &'a str,
    pub args: &'a [u64; 6],
    pub container: Option<&'a str>,
    /// Asks the kernel whether the notification is still pending.
    pub still_valid: &'a (dyn Fn() -> bool + Sync),
    caller: Option<Result<Caller, FactError>>,
    identity: Option<Result<Identity, FactError>>,
    target: Option<Result<Target, FactError>>,
}

fn stale() -> FactError {
    FactError::new(libc::EPERM, "the notification is no longer valid")
}

impl<'a> CallFacts<'a> {
    pub fn new(
        tid: u32,
        syscall: &'a str,
        args: &'a [u64; 6],
        container: Option<&'a str>,
        still_valid: &'a (dyn Fn() -> bool + Sync),
    ) -> Self {
        Self {
            tid,
            syscall,
            args,
            container,
            still_valid,
            caller: None,
            identity: None,
            target: None,
        }
    }

    pub fn caller(&mut self) -> Result<&Caller, FactError> {
        if self.caller.is_none() {
            let c = Caller::open(self.tid).and_then(|c| {
                if (self.still_valid)() {
                    Ok(c)
                } else {
                    Err(stale())
                }
            });
            self.caller = Some(c);
        }
        self.caller
            .as_ref()
            .expect("set above")
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The resolved file, once `path` has been asked for.
    pub fn take_target(&mut self) -> Option<Target> {
        self.target.take().and_then(Result::ok)
    }

    fn read_identity(&mut self) -> Result<Identity, FactError> {
        let tid = self.tid;
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
        let uid = self.caller()?.creds.uid[0];
        let id = Identity {
            cgroup,
            container: self.container.map(str::to_owned),
            comm,
            exe,
            uid,
        };
        if (self.still_valid)() {
            Ok(id)
        } else {
            Err(stale())
        }
    }

    fn resolve_target(&mut self) -> Result<Target, FactError> {
        let call = ChmodCall::parse(self.syscall, self.args).ok_or_else(|| {
            FactError::new(
                libc::EPERM,
                format!("no path resolution for {}", self.syscall),
            )
        })??;
        let tid = self.tid;
        let still_valid = self.still_valid;
        let read_path = move |addr: u64| {
            memory::read_c_string(tid, addr, still_valid)
                .map(|s| s.into_bytes())
                .map_err(|e| FactError::new(e.errno(), e.to_string()))
        };
        let target = chmod::resolve(&call, self.caller()?, &read_path)?;
        if (self.still_valid)() {
            Ok(target)
        } else {
            Err(stale())
        }
    }
}

impl Facts for CallFacts<'_> {
    fn identity(&mut self) -> Result<&Identity, FactError> {
        if self.identity.is_none() {
            self.identity = Some(self.read_identity());
        }
        self.identity
            .as_ref()
            .expect("set above")
            .as_ref()
            .map_err(Clone::clone)
    }

    fn path(&mut self) -> Result<&str, FactError> {
        if self.target.is_none() {
            self.target = Some(self.resolve_target());
        }
        self.target
            .as_ref()
            .expect("set above")
            .as_ref()
            .map(|t| t.path.as_str())
            .map_err(Clone::clone)
    }
}
