//! Acting with the workload's credentials: the supervisor carries out an allowed call in a
//! throwaway thread that takes the caller's uids, gids, groups and capabilities first, so it
//! can do nothing the caller could not, and the kernel returns the errno the caller would get.
//!
//! Credentials are per thread in Linux; the raw syscalls below change only the calling
//! thread (libc's wrappers would change every thread of the supervisor).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// A thread holding one set of credentials, and its job queue.
struct Worker {
    creds: Creds,
    jobs: mpsc::Sender<Job>,
}

/// How many credential sets keep a worker; the least recently used is let go beyond that.
const MAX_WORKERS: usize = 16;

/// Most recently used first.
static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

fn forget_worker(creds: &Creds) {
    WORKERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|w| w.creds != *creds);
}

fn lost_worker() -> CredsError {
    CredsError::Apply {
        step: "worker thread",
        errno: nix::errno::Errno::EIO,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// real, effective, saved, filesystem
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub groups: Vec<u32>,
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("reading /proc/{tid}/status: {source}")]
    Read {
        tid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("/proc/{tid}/status: no usable {field} line")]
    Parse { tid: u32, field: &'static str },
    #[error("the caller is in another user namespace; acting for it there is not supported yet")]
    UserNamespace,
    #[error("{0}")]
    Reachable(#[from] crate::reach::ReachError),
    #[error("taking the caller's credentials ({step}): {errno}")]
    Apply {
        step: &'static str,
        errno: nix::errno::Errno,
    },
}

impl Creds {
    /// The credentials of thread `tid`. The caller checks afterwards that the notification is
    /// still valid: while its call is parked the thread cannot change them.
    pub fn of(tid: u32) -> Result<Self, CredsError> {
        let ns = |p: String| {
            fs::metadata(p)
                .map(|m| m.ino())
                .map_err(|source| CredsError::Read { tid, source })
        };
        if ns(format!("/proc/{tid}/ns/user"))? != ns("/proc/self/ns/user".into())? {
            return Err(CredsError::UserNamespace);
        }
        let status = fs::read_to_string(format!("/proc/{tid}/status"))
            .map_err(|source| CredsError::Read { tid, source })?;
        let field = |name: &'static str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                .map(str::trim)
                .ok_or(CredsError::Parse { tid, field: name })
        };
        let ids = |name: &'static str| -> Result<[u32; 4], CredsError> {
            let v: Vec<u32> = field(name)?
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            v.try_into()
                .map_err(|_| CredsError::Parse { tid, field: name })
        };
        let cap = |name: &'static str| {
            u64::from_str_radix(field(name)?, 16)
                .map_err(|_| CredsError::Parse { tid, field: name })
        };
        Ok(Self {
            uid: ids("Uid")?,
            gid: ids("Gid")?,
            groups: field("Groups")?
                .split_whitespace()
                .map(|g| {
                    g.parse().map_err(|_| CredsError::Parse {
                        tid,
                        field: "Groups",
                    })
                })
                .collect::<Result<_, _>>()?,
            cap_inh: cap("CapInh")?,
            cap_prm: cap("CapPrm")?,
            cap_eff: cap("CapEff")?,
        })
    }

    /// Runs `f` on a thread that holds these credentials, and returns its result. Such
    /// threads are kept for reuse (taking credentials is irreversible, so each serves only
    /// the credentials it took): a call costs a channel round trip, not a thread.
    pub fn run_as<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CredsError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let mut job: Option<Job> = Some(Box::new(move || {
            let _ = tx.send(f());
        }));
        // A worker that died (its job panicked) is replaced once.
        for _ in 0..2 {
            let worker = self.worker()?;
            match worker.send(job.take().expect("not sent yet")) {
                Ok(()) => return rx.recv().map_err(|_| lost_worker()),
                Err(mpsc::SendError(back)) => {
                    job = Some(back);
                    forget_worker(self);
                }
            }
        }
        Err(lost_worker())
    }

    /// The job queue of the worker that holds these credentials, started if needed.
    fn worker(&self) -> Result<mpsc::Sender<Job>, CredsError> {
        let mut pool = WORKERS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = pool.iter().position(|w| w.creds == *self) {
            let w = pool.remove(i);
            let jobs = w.jobs.clone();
            pool.insert(0, w);
            return Ok(jobs);
        }
        crate::reach::credential_change_allowed()?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready) = mpsc::sync_channel(1);
        let creds = self.clone();
        std::thread::Builder::new()
            .name("creds-worker".into())
            .spawn(move || {
                let taken = creds.assume();
                let ok = taken.is_ok();
                let _ = ready_tx.send(taken);
                if ok {
                    for job in queue {
                        job();
                    }
                }
            })
            .map_err(|e| CredsError::Apply {
                step: "spawning a worker",
                errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)),
            })?;
        ready.recv().map_err(|_| lost_worker())??;
        pool.insert(
            0,
            Worker {
                creds: self.clone(),
                jobs: jobs.clone(),
            },
        );
        // Dropping a sender ends its worker once its queue is drained.
        pool.truncate(MAX_WORKERS);
        Ok(jobs)
    }

    /// Takes these credentials on the calling thread, irreversibly.
    fn assume(&self) -> Result<(), CredsError> {
        let check = |step: &'static str, r: libc::c_long| {
            if r < 0 {
                Err(CredsError::Apply {
                    step,
                    errno: nix::errno::Errno::last(),
                })
            } else {
                Ok(())
            }
        };
        let [ru, eu, su, fsu] = self.uid.map(libc::c_long::from);
        let [rg, eg, sg, fsg] = self.gid.map(libc::c_long::from);
        // SAFETY: raw credential syscalls on this thread only, with valid arguments; `groups`
        // outlives the call.
        unsafe {
            // Keep the permitted set across the uid change so capset can set the caller's.
            check(
                "keepcaps",
                libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) as libc::c_long,
            )?;
            check(
                "setgroups",
                libc::syscall(libc::SYS_setgroups, self.groups.len(), self.groups.as_ptr()),
            )?;
            check("setresgid", libc::syscall(libc::SYS_setresgid, rg, eg, sg))?;
            check("setresuid", libc::syscall(libc::SYS_setresuid, ru, eu, su))?;
            // setfs*id return the previous id, never an error code.
            libc::syscall(libc::SYS_setfsgid, fsg);
            libc::syscall(libc::SYS_setfsuid, fsu);
            // The id changes reset the process's dumpable flag to fs.suid_dumpable; it goes
            // back to 0 before capset gives this thread the caller's capabilities, from which
            // point the caller could otherwise attach to it (docs/security.md).
            crate::reach::restore_after_credential_change().map_err(|errno| CredsError::Apply {
                step: "non-dumpable again",
                errno,
            })?;
            let mut header = CapHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            let split = |v: u64| (v as u32, (v >> 32) as u32);
            let (e0, e1) = split(self.cap_eff);
            let (p0, p1) = split(self.cap_prm);
            let (i0, i1) = split(self.cap_inh);
            let data = [
                CapData {
                    effective: e0,
                    permitted: p0,
                    inheritable: i0,
                },
                CapData {
                    effective: e1,
                    permitted: p1,
                    inheritable: i1,
                },
            ];
            check(
                "capset",
                libc::syscall(
                    libc::SYS_capset,
                    &mut header as *mut CapHeader,
                    data.as_ptr(),
                ),
            )?;
        }
        // capset only lowers capabilities, which does not reset the flag; asserted anyway.
        crate::reach::restore_after_credential_change().map_err(|errno| CredsError::Apply {
            step: "non-dumpable again",
            errno,
        })
    }
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct` of capset(2).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`, one per 32 capabilities.
#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_an_unprivileged_uid_loses_root_powers_on_that_thread_only() {
        let me = Creds::of(std::process::id()).expect("own creds");
        assert_eq!(me.uid[1], 0, "tests run as root");
        let nobody = Creds {
            uid: [65534; 4],
            gid: [65534; 4],
            groups: vec![],
            cap_inh: 0,
            cap_prm: 0,
            cap_eff: 0,
        };
        // As nobody, /etc/shadow (root, 0640) cannot be opened.
        let denied = nobody
            .run_as(|| std::fs::File::open("/etc/shadow").map_err(|e| e.raw_os_error()))
            .unwrap();
        assert_eq!(denied.err(), Some(Some(libc::EACCES)));
        // The supervisor's own threads keep root.
        assert!(std::fs::File::open("/etc/shadow").is_ok());
        assert_eq!(Creds::of(std::process::id()).unwrap(), me);
    }
}
