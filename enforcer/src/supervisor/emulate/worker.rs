//! Worker threads: one per caller root, each with its own fs_struct (unshare(CLONE_FS)),
//! chrooted into that root, taking a caller's file credentials when they differ from the
//! last caller's. A call is handed to its worker once; the worker resolves, decides, acts
//! and answers.
//!
//! A worker keeps root's uids and permitted capabilities (see `creds`): it can chroot and
//! switch credentials, and no caller can ptrace it (that needs a superset of its permitted
//! capabilities). Its fs_struct is its own, so its root, cwd and umask are nobody else's.

use super::super::creds::{Caps, Creds, CredsError, act_as};
use super::Gathered;
use crate::policy::FactError;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, mpsc};

/// A caller's root: the mount and the directory. Callers with the same root share a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootKey {
    mnt_id: u64,
    dev: (u32, u32),
    ino: u64,
}

/// STATX_MNT_ID_UNIQUE (Linux 6.8): mount ids that are never reused.
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;

impl RootKey {
    /// The root of thread `tid`, and an fd on it.
    pub fn of_caller(tid: u32) -> Result<(Self, OwnedFd), FactError> {
        use rustix::fs::{AtFlags, OFlags, StatxFlags};
        let link = format!("/proc/{tid}/root");
        let fail = |e: rustix::io::Errno| FactError::new(libc::EPERM, format!("{link}: {e}"));
        let fd = rustix::fs::open(
            &link,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(fail)?;
        let mask = StatxFlags::INO
            | StatxFlags::MNT_ID
            | StatxFlags::from_bits_retain(STATX_MNT_ID_UNIQUE);
        let st = rustix::fs::statx(&fd, "", AtFlags::EMPTY_PATH, mask).map_err(fail)?;
        Ok((
            Self {
                mnt_id: st.stx_mnt_id,
                dev: (st.stx_dev_major, st.stx_dev_minor),
                ino: st.stx_ino,
            },
            fd,
        ))
    }
}

/// The worker thread's state.
pub struct Worker {
    /// The supervisor's /proc, opened before the chroot: names of the worker's own fds.
    proc: OwnedFd,
    /// The thread's capability sets at start (root's).
    own: Caps,
    /// The credentials taken last; `None` before the first or after a failed switch.
    creds: Option<Creds>,
    umask: Option<u32>,
}

impl Worker {
    /// Takes `creds` for file access unless already held.
    pub fn act_as(&mut self, creds: &Creds) -> Result<(), CredsError> {
        if self.creds.as_ref() == Some(creds) {
            return Ok(());
        }
        self.creds = None;
        act_as(creds, &self.own)?;
        self.creds = Some(creds.clone());
        Ok(())
    }

    /// The umask mkdir applies (the worker's own fs_struct's).
    pub fn set_umask(&mut self, mask: u32) {
        if self.umask != Some(mask) {
            // SAFETY: umask cannot fail; it changes this thread's own fs_struct.
            unsafe { libc::umask(mask as libc::mode_t) };
            self.umask = Some(mask);
        }
    }

    /// The kernel's name of an fd the worker holds, relative to the worker's root.
    pub fn name_of(&self, fd: BorrowedFd<'_>) -> Result<String, i32> {
        let link = format!("thread-self/fd/{}", fd.as_raw_fd());
        let name = rustix::fs::readlinkat(&self.proc, link.as_str(), Vec::new())
            .map_err(|e| e.raw_os_error())?;
        name.into_string().map_err(|_| libc::EPERM)
    }

    /// Starts the worker's state on the calling thread: own fs_struct, chroot into `root`.
    fn start(root: BorrowedFd<'_>) -> Result<Self, String> {
        // Read before the chroot: fs.suid_dumpable decides whether credentials may be taken.
        crate::reach::credential_change_allowed().map_err(|e| e.to_string())?;
        let proc = rustix::fs::open(
            "/proc",
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| format!("/proc: {e}"))?;
        let check = |what: &str, r: libc::c_int| {
            if r < 0 {
                Err(format!("{what}: {}", std::io::Error::last_os_error()))
            } else {
                Ok(())
            }
        };
        // SAFETY: unshare(CLONE_FS) gives this thread its own root, cwd and umask; fchdir
        // and chroot then change only those.
        unsafe {
            check("unshare(CLONE_FS)", libc::unshare(libc::CLONE_FS))?;
            check("fchdir(root)", libc::fchdir(root.as_raw_fd()))?;
            check("chroot", libc::chroot(c".".as_ptr()))?;
        }
        let own = Caps::current().map_err(|e| e.to_string())?;
        Ok(Self {
            proc,
            own,
            creds: None,
            umask: None,
        })
    }
}

/// What a worker does with a call.
pub type Run = Box<dyn FnOnce(&mut Worker, Gathered) + Send>;

/// One call for a worker: what was gathered, and what to do with it there.
pub struct Job {
    pub gathered: Gathered,
    pub run: Run,
}

/// How many roots keep a worker; the least recently used is let go beyond that.
const MAX_WORKERS: usize = 16;

/// Most recently used first.
static WORKERS: Mutex<Vec<(RootKey, mpsc::Sender<Job>)>> = Mutex::new(Vec::new());

/// Hands `job` to the worker of its caller's root, started if needed; says why if no worker
/// can take it (then the call is denied).
pub fn submit(job: Job) -> Result<(), String> {
    let key = job.gathered.root;
    let mut job = job;
    // A worker that died (a job panicked) is replaced once.
    for _ in 0..2 {
        let tx = worker_for(key, job.gathered.root_fd.as_fd())?;
        match tx.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(back)) => {
                job = back;
                let mut pool = WORKERS.lock().unwrap_or_else(|p| p.into_inner());
                pool.retain(|(k, _)| *k != key);
            }
        }
    }
    drop(job);
    Err("the worker thread died".into())
}

fn worker_for(key: RootKey, root: BorrowedFd<'_>) -> Result<mpsc::Sender<Job>, String> {
    let mut pool = WORKERS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = pool.iter().position(|(k, _)| *k == key) {
        if i != 0 {
            let w = pool.remove(i);
            pool.insert(0, w);
        }
        return Ok(pool[0].1.clone());
    }
    let (tx, rx) = mpsc::channel::<Job>();
    let (ready_tx, ready) = mpsc::sync_channel(1);
    let root = root
        .try_clone_to_owned()
        .map_err(|e| format!("dup of the root fd: {e}"))?;
    std::thread::Builder::new()
        .name("creds-worker".into())
        .spawn(move || {
            let mut worker = match Worker::start(root.as_fd()) {
                Ok(w) => w,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            drop(root);
            let _ = ready_tx.send(Ok(()));
            for job in rx {
                let run = std::panic::AssertUnwindSafe(|| (job.run)(&mut worker, job.gathered));
                if std::panic::catch_unwind(run).is_err() {
                    // The credentials may be half switched: take them afresh next time.
                    worker.creds = None;
                }
            }
        })
        .map_err(|e| format!("spawning a worker: {e}"))?;
    ready
        .recv()
        .map_err(|_| "the worker thread died starting".to_string())??;
    pool.insert(0, (key, tx.clone()));
    // Dropping a sender ends its worker once its queue is drained.
    pool.truncate(MAX_WORKERS);
    Ok(tx)
}
