//! Packages are installed without starting their services: docker.io, containerd, podman
//! and prometheus would otherwise start daemons on the host's default sockets and ports
//! (dockerd on /run/docker.sock with iptables rules, containerd, Prometheus on :9090). The
//! tests start the engines themselves on private sockets and roots, and nothing else.
//!
//! Debian's maintainer scripts ask /usr/sbin/policy-rc.d (invoke-rc.d and, for systemd
//! units, deb-systemd-invoke); exit status 101 means "action forbidden". A host that has
//! its own policy-rc.d keeps it.

use anyhow::{Context, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// While alive, maintainer scripts may not start services; removes what it wrote.
pub struct NoServiceStarts {
    /// The file it wrote, if it wrote one.
    wrote: Option<PathBuf>,
}

impl NoServiceStarts {
    pub fn forbid() -> Result<Self> {
        Self::forbid_at(Path::new(POLICY_RC_D))
    }

    fn forbid_at(path: &Path) -> Result<Self> {
        if path.exists() {
            return Ok(Self { wrote: None });
        }
        std::fs::write(
            path,
            "#!/bin/sh\n# written by cargo xtask for one apt-get install\nexit 101\n",
        )
        .with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", path.display()))?;
        Ok(Self {
            wrote: Some(path.to_owned()),
        })
    }
}

impl Drop for NoServiceStarts {
    fn drop(&mut self) {
        if let Some(p) = &self.wrote {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn forbids_service_starts_while_alive_and_keeps_a_hosts_own_file() {
        let dir = std::env::temp_dir().join(format!("xtask-policy-rc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy-rc.d");
        {
            let _guard = NoServiceStarts::forbid_at(&path).unwrap();
            let status = Command::new(&path)
                .args(["docker", "start"])
                .status()
                .unwrap();
            assert_eq!(
                status.code(),
                Some(101),
                "invoke-rc.d reads 101 as forbidden"
            );
        }
        assert!(!path.exists(), "the guard removes what it wrote");
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        drop(NoServiceStarts::forbid_at(&path).unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "#!/bin/sh\nexit 0\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
