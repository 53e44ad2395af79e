//! The workload's own cgroup v2: created before launch, watched by id, emptied and removed
//! after the workload exits.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where cgroup v2 lives: pure v2 hosts mount it at /sys/fs/cgroup, hybrid ones at
/// /sys/fs/cgroup/unified.
const V2_MOUNTS: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
/// Parent of every cgroup the enforcer creates.
const PARENT: &str = "enforcer";

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no cgroup v2 hierarchy (looked for cgroup.controllers under {})", V2_MOUNTS.join(" and "))]
    NoV2,
    #[error("cgroup name {0:?}: must be one path component of letters, digits, '-', '_' or '.'")]
    BadName(String),
    #[error("cgroup {path} already exists; choose another --cgroup name")]
    Exists { path: PathBuf },
    #[error("cgroup {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cgroup {path} still has processes after being killed")]
    NotEmpty { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The mount point of the cgroup v2 hierarchy.
pub fn v2_root() -> Result<PathBuf, CgroupError> {
    V2_MOUNTS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.controllers").is_file())
        .ok_or(CgroupError::NoV2)
}

/// A cgroup this process created and removes on `remove`.
#[derive(Debug)]
pub struct WorkloadCgroup {
    path: PathBuf,
    id: u64,
    /// The cgroup v2 mount it lives under.
    mount: PathBuf,
}

impl WorkloadCgroup {
    /// Creates `<v2 root>/enforcer/<name>`; refuses to reuse an existing one, since removing
    /// it afterwards would kill processes we did not start.
    pub fn create(name: &str) -> Result<Self, CgroupError> {
        let valid = !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            return Err(CgroupError::BadName(name.to_owned()));
        }
        let mount = v2_root()?;
        let parent = mount.join(PARENT);
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let path = parent.join(name);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(CgroupError::Exists { path });
            }
            Err(e) => return Err(CgroupError::Io { path, source: e }),
        }
        // The cgroup v2 id that bpf_get_current_cgroup_id() returns is the directory's inode.
        let id = fs::metadata(&path).map_err(io_err(&path))?.ino();
        Ok(Self { path, id, mount })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cgroup v2 mount point (the launcher hides it from the workload).
    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// `cgroup.procs` opened for writing, for the child to move itself in with `write("0")`
    /// after fork, before it execs.
    pub fn procs_file(&self) -> Result<File, CgroupError> {
        let p = self.path.join("cgroup.procs");
        OpenOptions::new().write(true).open(&p).map_err(io_err(&p))
    }

    /// Sends SIGKILL to whatever is in the cgroup (daemons the workload started), without
    /// waiting for it to go.
    pub fn kill(&self) -> Result<(), CgroupError> {
        let kill = self.path.join("cgroup.kill");
        if self.has_processes()? {
            let mut f = OpenOptions::new()
                .write(true)
                .open(&kill)
                .map_err(io_err(&kill))?;
            f.write_all(b"1").map_err(io_err(&kill))?;
        }
        Ok(())
    }

    /// Kills whatever is left in the cgroup, waits for it to empty and removes it.
    pub fn remove(self) -> Result<(), CgroupError> {
        self.kill()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.has_processes()? {
            if Instant::now() > deadline {
                return Err(CgroupError::NotEmpty { path: self.path });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // rmdir can briefly fail with EBUSY while the last task is being released.
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => {
                    return Err(CgroupError::Io {
                        path: self.path,
                        source: e,
                    });
                }
            }
        }
    }

    fn has_processes(&self) -> Result<bool, CgroupError> {
        let p = self.path.join("cgroup.procs");
        Ok(!fs::read_to_string(&p)
            .map_err(io_err(&p))?
            .trim()
            .is_empty())
    }
}
