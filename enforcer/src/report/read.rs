//! Reading event logs back into the event model: one event per line, of this schema version;
//! a bad line is an error naming the file, the line and the problem.

use crate::events::{Event, parse_line};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {problem}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// One event as read, with its time in seconds since the epoch (for ordering and charts).
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub event: Event,
    pub at: f64,
}

impl std::ops::Deref for LogEvent {
    type Target = Event;
    fn deref(&self) -> &Event {
        &self.event
    }
}

/// Every event of every file, in file order.
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<LogEvent>, ReadError> {
    let mut out = Vec::new();
    for path in paths {
        read_file(path, &mut out)?;
    }
    Ok(out)
}

fn read_file(path: &Path, out: &mut Vec<LogEvent>) -> Result<(), ReadError> {
    let file = std::fs::File::open(path).map_err(|source| ReadError::Open {
        path: path.to_owned(),
        source,
    })?;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let bad = |problem: String| ReadError::Line {
            path: path.to_owned(),
            line: i + 1,
            problem,
        };
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_line(&line).map_err(|e| bad(e.0))?;
        let at = event.seconds().map_err(bad)?;
        out.push(LogEvent { event, at });
    }
    Ok(())
}
