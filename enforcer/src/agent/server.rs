//! The agent's socket: bound at the profiles' `listenerPath`, root-only, accepting any
//! number of runtimes at once, until SIGINT or SIGTERM.

use super::connection::{self, Shared};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;

/// Connections being read at once; more wait in the socket's backlog. Served containers do
/// not count.
const MAX_RECEIVING: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("socket {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("socket {0}: exists and is not a socket")]
    NotASocket(PathBuf),
    #[error("socket {0}: another agent is listening on it")]
    InUse(PathBuf),
}

/// The bound socket; removes its file when dropped, if the file is still this socket.
pub struct BoundSocket {
    pub listener: UnixListener,
    path: PathBuf,
    inode: u64,
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!("removing socket {}: {e}", self.path.display());
        }
    }
}

/// Binds `path` (mode 0600). A stale socket left by an agent that died is replaced; a live
/// one or any other file is refused.
pub fn bind(path: &Path) -> Result<BoundSocket, SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(SocketError::NotASocket(path.to_owned()));
        }
        Ok(_) => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(SocketError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    // Only root may connect; SO_PEERCRED is checked on every connection as well.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    let inode = std::fs::symlink_metadata(path).map_err(io)?.ino();
    Ok(BoundSocket {
        listener,
        path: path.to_owned(),
        inode,
    })
}

/// Accepts connections until SIGINT or SIGTERM; each is handled on a task of its own.
pub async fn accept_loop(socket: &BoundSocket, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let receiving = Arc::new(Semaphore::new(MAX_RECEIVING));
    loop {
        let permit = tokio::select! {
            p = receiving.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        };
        let stream = tokio::select! {
            s = socket.listener.accept() => s,
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        };
        match stream {
            Ok((stream, _)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    connection::handle(stream, shared, permit).await;
                });
            }
            // Out of fds or memory: back off instead of spinning; connections wait.
            Err(e) => {
                tracing::error!("accepting a connection: {e}");
                drop(permit);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
