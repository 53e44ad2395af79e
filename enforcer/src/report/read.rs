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

/// The logs `paths` name, read in order: a directory stands for its `*.jsonl` logs, each with
/// its rotations oldest first (NAME.jsonl.K .. NAME.jsonl.1, NAME.jsonl); a rotated file
/// (PATH.N) that does not exist is skipped with a note on stderr, since rotation may not have
/// made it yet. Returns the files read and their events.
pub fn read_logs(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<LogEvent>), ReadError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(logs_in(path)?);
        } else if rotation_of(path).is_some() && !path.exists() {
            eprintln!(
                "enforcer: {}: no such rotated log (not rotated yet?), skipped",
                path.display()
            );
        } else {
            files.push(path.clone());
        }
    }
    let events = read_all(&files)?;
    Ok((files, events))
}

/// PATH.N's base and N.
fn rotation_of(path: &Path) -> Option<(String, u32)> {
    let name = path.file_name()?.to_str()?;
    let (base, n) = name.rsplit_once('.')?;
    let n = n
        .parse()
        .ok()
        .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))?;
    Some((base.to_string(), n))
}

/// The `*.jsonl` logs of `dir` and their rotations: by name, each log's oldest file first.
fn logs_in(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let open = |source| ReadError::Open {
        path: dir.to_owned(),
        source,
    };
    // (base name, N or 0 for the live file, path).
    let mut found: Vec<(String, u32, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(open)? {
        let path = entry.map_err(open)?.path();
        if !path.is_file() {
            continue;
        }
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let (base, order) = match rotation_of(&path) {
            Some((base, n)) => (base, n),
            None => (name, 0),
        };
        if base.ends_with(".jsonl") {
            found.push((base, order, path));
        }
    }
    // By log, then oldest first: the highest N first, the live file (0) last.
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    if found.is_empty() {
        return Err(open(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no event log (*.jsonl) in this directory",
        )));
    }
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
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
