//! Reading a string argument out of the workload's memory, as DESIGN.md prescribes: open
//! /proc/TID/mem, check the notification is still valid (so the TID still names the caller),
//! read, check again (so what we read is what the parked call passed), and require the NUL.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Longest path the kernel accepts, NUL included.
pub const PATH_MAX: usize = 4096;
const PAGE: u64 = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MemoryError {
    #[error("opening /proc/{tid}/mem: {errno}")]
    Open { tid: u32, errno: nix::errno::Errno },
    #[error("reading the workload's memory at {addr:#x}: {errno}")]
    Read { addr: u64, errno: nix::errno::Errno },
    #[error("no NUL within {PATH_MAX} bytes at {addr:#x}")]
    TooLong { addr: u64 },
    #[error("the notification is no longer valid (the call was interrupted or its caller died)")]
    Stale,
}

impl MemoryError {
    /// The errno the kernel would have given for a bad pointer or an overlong path.
    pub fn errno(&self) -> i32 {
        match self {
            Self::Read { .. } => libc::EFAULT,
            Self::TooLong { .. } => libc::ENAMETOOLONG,
            Self::Open { .. } | Self::Stale => libc::EPERM,
        }
    }
}

/// Reads the NUL-terminated string at `addr` in thread `tid`; `still_valid` asks the kernel
/// whether the notification is still pending.
pub fn read_c_string(
    tid: u32,
    addr: u64,
    still_valid: &dyn Fn() -> bool,
) -> Result<CString, MemoryError> {
    let mem = File::open(format!("/proc/{tid}/mem")).map_err(|e| MemoryError::Open {
        tid,
        errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
    })?;
    if !still_valid() {
        return Err(MemoryError::Stale);
    }
    let mut buf = Vec::with_capacity(256);
    let mut at = addr;
    // Page by page: the string may end just before an unmapped page, which a larger read
    // would fail on.
    while buf.len() < PATH_MAX {
        let chunk = ((PAGE - at % PAGE) as usize).min(PATH_MAX - buf.len());
        let mut page = vec![0u8; chunk];
        let n = mem.read_at(&mut page, at).map_err(|e| MemoryError::Read {
            addr: at,
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
        if n == 0 {
            return Err(MemoryError::Read {
                addr: at,
                errno: nix::errno::Errno::EIO,
            });
        }
        if let Some(end) = page[..n].iter().position(|b| *b == 0) {
            buf.extend_from_slice(&page[..end]);
            if !still_valid() {
                return Err(MemoryError::Stale);
            }
            return Ok(CString::new(buf).expect("no NUL before the end"));
        }
        buf.extend_from_slice(&page[..n]);
        at += n as u64;
    }
    Err(MemoryError::TooLong { addr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory_and_requires_nul() {
        let s = CString::new("/some/path").unwrap();
        let me = std::process::id();
        assert_eq!(read_c_string(me, s.as_ptr() as u64, &|| true).unwrap(), s);
        assert_eq!(
            read_c_string(me, s.as_ptr() as u64, &|| false),
            Err(MemoryError::Stale)
        );
        let long = vec![b'a'; PATH_MAX + 10];
        assert!(matches!(
            read_c_string(me, long.as_ptr() as u64, &|| true),
            Err(MemoryError::TooLong { .. })
        ));
        assert!(matches!(
            read_c_string(me, 8, &|| true),
            Err(MemoryError::Read { .. })
        ));
    }
}
