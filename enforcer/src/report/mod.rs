//! `enforcer report EVENTS... [--json] [--html FILE]`: what event logs say per workload
//! (a container, or a cgroup outside containers): syscalls observed, denials, would-deny calls
//! and the profile entry or policy rule behind each, decisions, losses, degraded observation.

mod html;
mod model;
mod read;
mod svg;
mod text;

pub use model::{Report, WorkloadReport, build, workload_key};
pub use read::{LogEvent, ReadError, read_logs};

use crate::cli::ReportArgs;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("--html {}: {source}", path.display())]
    Html {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the logs (see [`read_logs`]) and builds the report.
pub fn from_files(paths: &[PathBuf]) -> Result<Report, ReadError> {
    let (files, events) = read_logs(paths)?;
    let names = files.iter().map(|p| p.display().to_string()).collect();
    Ok(build(names, &events))
}

pub fn report(args: &ReportArgs) -> Result<(), ReportError> {
    let report = from_files(&args.events)?;
    if let Some(path) = &args.html {
        std::fs::write(path, html::render(&report)).map_err(|source| ReportError::Html {
            path: path.clone(),
            source,
        })?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serializes")
        );
    } else {
        print!("{}", text::render(&report));
    }
    Ok(())
}
