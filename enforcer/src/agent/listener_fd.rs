//! Checking that the fd a peer named `seccompFd` is a seccomp notify listener before the
//! supervisor polls it and issues seccomp ioctls on it.

use std::os::fd::{AsRawFd, OwnedFd};

/// What the kernel calls a listener's file (`anon_inode:` + the name
/// `seccomp_new_listener` gives it).
const LISTENER_LINK: &str = "anon_inode:seccomp notify";

#[derive(Debug, thiserror::Error)]
#[error("the fd named seccompFd is not a seccomp notify listener ({0})")]
pub struct NotAListener(pub String);

/// Ok when `fd` is a seccomp listener; the error says what it is instead.
pub fn check(fd: &OwnedFd) -> Result<(), NotAListener> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    match std::fs::read_link(&link) {
        Ok(target) if target.as_os_str() == LISTENER_LINK => Ok(()),
        Ok(target) => Err(NotAListener(target.display().to_string())),
        Err(e) => Err(NotAListener(format!("{link}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_is_not_a_listener() {
        let (r, _w) = std::io::pipe().unwrap();
        let e = check(&r.into()).unwrap_err();
        assert!(e.0.starts_with("pipe:"), "{e}");
    }
}
