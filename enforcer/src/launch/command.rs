//! Resolving the workload's command before anything is started, so that a missing command is
//! reported (127) without forking.

use super::identity::Credentials;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{cmd}: command not found")]
    NotFound { cmd: String },
    #[error("{cmd}: contains a NUL byte")]
    Nul { cmd: String },
    #[error("no command given after --")]
    Empty,
}

/// An executable path and argv, as C strings ready for execve, and whom it runs as.
#[derive(Debug, Clone)]
pub struct ResolvedCommand {
    pub path: CString,
    pub argv: Vec<CString>,
    /// Docker's default capabilities as root unless [`ResolvedCommand::with_credentials`].
    pub credentials: Credentials,
    /// Fds 3 to 3+N-1 reach the workload as they are (`--preserve-fds N`); every other fd
    /// beyond 0-2 is closed at exec.
    pub preserve_fds: u32,
}

impl ResolvedCommand {
    /// Looks `args[0]` up in PATH as a shell would (a name with a '/' is taken as it is).
    pub fn resolve(args: &[OsString]) -> Result<Self, CommandError> {
        let first = args.first().ok_or(CommandError::Empty)?;
        let path = if first.as_bytes().contains(&b'/') {
            PathBuf::from(first)
        } else {
            search_path(first).ok_or_else(|| CommandError::NotFound {
                cmd: first.to_string_lossy().into_owned(),
            })?
        };
        if !path.exists() {
            return Err(CommandError::NotFound {
                cmd: first.to_string_lossy().into_owned(),
            });
        }
        let c = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| CommandError::Nul {
                cmd: s.to_string_lossy().into_owned(),
            })
        };
        Ok(Self {
            path: c(path.as_os_str())?,
            argv: args.iter().map(|a| c(a)).collect::<Result<_, _>>()?,
            credentials: Credentials::default(),
            preserve_fds: 0,
        })
    }

    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    pub fn with_preserved_fds(mut self, n: u32) -> Self {
        self.preserve_fds = n;
        self
    }

    pub fn display(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    pub fn args_lossy(&self) -> Vec<String> {
        self.argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }
}

fn search_path(name: &OsStr) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
