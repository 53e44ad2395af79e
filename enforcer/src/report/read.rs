//! Reading event logs back: one JSON object per line, checked for the schema version and the
//! fields every event has; a bad line is an error naming the file, the line and the problem.

use crate::events::SCHEMA;
use serde::Deserialize;
use std::collections::BTreeMap;
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

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct ContainerIdentity {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One event as read: the common fields, and every kind's own fields as options (the two
/// `syscall` forms and `decision` share names such as `errno`, with different types).
#[derive(Debug, Clone, Deserialize)]
pub struct LogEvent {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub kind: String,
    pub cgroup_id: u64,
    pub container: Option<ContainerIdentity>,
    /// `syscall`: the name (null for a number no table knows).
    pub name: Option<String>,
    pub nr: Option<i64>,
    pub arch: Option<String>,
    pub count: Option<u64>,
    pub entered: Option<u64>,
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    pub tid: Option<u32>,
    pub args: Option<Vec<u64>>,
    pub args_at: Option<String>,
    /// A name ("EPERM") in `syscall` calls, a number in decisions.
    pub errno: Option<serde_json::Value>,
    /// `decision`.
    pub syscall: Option<String>,
    pub rule: Option<String>,
    pub outcome: Option<String>,
    pub would: Option<String>,
    pub path: Option<String>,
    /// `lost`.
    pub what: Option<String>,
    pub place: Option<String>,
    /// `lifecycle`.
    pub phase: Option<String>,
    pub command: Option<Vec<String>>,
    pub cgroup: Option<String>,
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Seconds since the epoch, from `time`.
    #[serde(skip)]
    pub at: f64,
}

impl LogEvent {
    /// A `syscall` aggregate (it has `count`), as opposed to one call.
    pub fn is_aggregate(&self) -> bool {
        self.kind == "syscall" && self.count.is_some()
    }

    /// The errno as a name, whichever form the event has.
    pub fn errno_name(&self) -> Option<String> {
        match self.errno.as_ref()? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(crate::events::errno_name(n.as_i64()? as i32)),
            _ => None,
        }
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
        let mut event: LogEvent =
            serde_json::from_str(&line).map_err(|e| bad(format!("not an event: {e}")))?;
        if event.schema != SCHEMA {
            return Err(bad(format!(
                "$.schema is {:?}; this enforcer reads {SCHEMA:?}",
                event.schema
            )));
        }
        event.at = chrono::DateTime::parse_from_rfc3339(&event.time)
            .map_err(|e| bad(format!("$.time {:?}: {e}", event.time)))?
            .timestamp_nanos_opt()
            .map_or(0.0, |ns| ns as f64 / 1e9);
        out.push(event);
    }
    Ok(())
}
