//! Where events go: a file or stdout, one complete line per event.

use super::{Event, EventKind, Workload};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
#[error("event log {path}: {source}")]
pub struct SinkError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Shared by every producer; each event is serialized first and written with one call, so
/// lines never interleave.
pub struct EventSink {
    host: String,
    out: Option<Mutex<Box<dyn Write + Send>>>,
    path: PathBuf,
}

impl EventSink {
    /// `None` discards events; `-` is stdout; anything else is a file, appended to.
    pub fn open(path: Option<&Path>) -> Result<Self, SinkError> {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let out: Option<Box<dyn Write + Send>> = match path {
            None => None,
            Some(p) if p == Path::new("-") => Some(Box::new(io::stdout())),
            Some(p) => Some(Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| SinkError {
                        path: p.to_owned(),
                        source,
                    })?,
            )),
        };
        Ok(Self {
            host,
            out: out.map(Mutex::new),
            path: path.map(Path::to_owned).unwrap_or_default(),
        })
    }

    pub fn emit(&self, workload: &Workload, kind: EventKind) {
        let Some(out) = &self.out else { return };
        let event = Event {
            schema: super::SCHEMA,
            time: super::now_rfc3339(),
            host: &self.host,
            workload,
            kind,
        };
        let mut line = serde_json::to_vec(&event).expect("events serialize to JSON");
        line.push(b'\n');
        let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
            tracing::error!("writing event log {}: {e}", self.path.display());
        }
    }
}
