//! Keeping a root workload in its cgroup, as container runtimes do: after the child has joined
//! its cgroup it enters a new cgroup namespace rooted there, and a new mount namespace in which
//! the host's cgroup v2 mount is replaced by a fresh, read-only cgroup2 mount. That mount shows
//! only the workload's own cgroup (the namespace's root), so no `cgroup.procs` outside it can
//! be named, and read-only means the workload can neither move itself nor make sub-cgroups
//! (whose other ids the observer would not count). Remounting needs CAP_SYS_ADMIN, which the
//! workload does not keep (unless `--cap-add SYS_ADMIN`, as in Docker).
//!
//! A cgroup namespace alone does not do it: a uid-0 process without capabilities can still
//! write its pid into the host's root `cgroup.procs`. The rest of the filesystem is the host's,
//! unchanged; propagation is made private so the swap stays in the workload's namespace (and
//! mounts the workload makes with SYS_ADMIN no longer reach the host).
//! `/proc/self/cgroup` reads `0::/`; cgroup ids, which the observer keys on, do not change.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Stacked mounts on the cgroup v2 path are taken off one by one, up to this many.
const MAX_STACKED: usize = 8;

/// Prepared before the fork: the path of the cgroup v2 mount.
pub(super) struct CgroupNamespace {
    mount_point: CString,
}

impl CgroupNamespace {
    pub(super) fn new(v2_mount: &Path) -> Self {
        Self {
            mount_point: CString::new(v2_mount.as_os_str().as_bytes())
                .expect("the cgroup v2 mount path has no NUL"),
        }
    }

    /// Runs in the child, after it joined its cgroup and before capabilities are dropped.
    /// On failure errno says why.
    pub(super) fn enter(&self) -> Result<(), ()> {
        let ok = |rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(()) };
        let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        // SAFETY: unshare, mount and umount2 take integers and pointers to NUL-terminated
        // strings prepared before the fork; they neither allocate nor lock in this process.
        unsafe {
            ok(libc::unshare(libc::CLONE_NEWCGROUP | libc::CLONE_NEWNS))?;
            ok(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            // The host's mount, and any stacked under it, must be gone: a lower one would show
            // the host's hierarchy again. EINVAL: the path is no longer a mount point.
            let mut removed = 0;
            while removed < MAX_STACKED
                && libc::umount2(self.mount_point.as_ptr(), libc::MNT_DETACH) == 0
            {
                removed += 1;
            }
            if removed == MAX_STACKED {
                *libc::__errno_location() = libc::EBUSY;
            }
            if removed == 0 || removed == MAX_STACKED {
                return Err(());
            }
            // Mounted from inside the new cgroup namespace, cgroup2's root is the workload's
            // cgroup.
            ok(libc::mount(
                c"cgroup2".as_ptr(),
                self.mount_point.as_ptr(),
                c"cgroup2".as_ptr(),
                flags,
                std::ptr::null(),
            ))
        }
    }
}
