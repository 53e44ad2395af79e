//! One run of the demo: the probe workload makes a harmless and a setuid chmod under
//! `enforcer run`; what it printed, the file's mode after, and the event log.

use crate::build::Binaries;
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

pub struct Outcome {
    /// The file's mode after the workload ran.
    pub mode: u32,
    pub events: Vec<Value>,
}

/// Runs `enforcer run OPTS -- probe chmod FILE 0644 chmod FILE 04755` on a fresh 0600 file,
/// showing the command as a user would type it and what the workload printed.
pub fn run(
    out: &mut dyn Write,
    bins: &Binaries,
    dir: &Path,
    cgroup: &str,
    opts: &[&str],
) -> Result<Outcome> {
    let file = dir.join(format!("{cgroup}.file"));
    std::fs::write(&file, b"demo")?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    let events = dir.join(format!("{cgroup}.jsonl"));
    let f = file.to_str().context("utf-8 path")?;
    let shown: Vec<&str> = ["enforcer run"]
        .into_iter()
        .chain(opts.iter().map(|o| shorter(o)))
        .collect();
    writeln!(out, "  (FILE is {f}, mode 600)")?;
    writeln!(
        out,
        "  $ {} -- probe chmod FILE 0644 chmod FILE 04755",
        shown.join(" ")
    )?;
    let result = Command::new(&bins.enforcer)
        .arg("run")
        .arg("--events")
        .arg(&events)
        .args(["--cgroup", cgroup])
        .args(opts)
        .arg("--")
        .arg(&bins.probe)
        .args(["chmod", f, "0644", "chmod", f, "04755"])
        .output()
        .context("running enforcer")?;
    for line in String::from_utf8_lossy(&result.stdout).lines() {
        writeln!(out, "  {}", line.replace(f, "FILE"))?;
    }
    for line in String::from_utf8_lossy(&result.stderr).lines() {
        writeln!(out, "  (stderr) {line}")?;
    }
    anyhow::ensure!(
        result.status.success(),
        "enforcer run failed: {}",
        result.status
    );
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o7777;
    writeln!(out, "  mode of the file now: {mode:o} (it was 600)")?;
    let events = std::fs::read_to_string(&events)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("parsing the event log")?;
    Ok(Outcome { mode, events })
}

/// A path inside the repository as a user there would type it.
fn shorter(arg: &str) -> &str {
    arg.find("profiles/").map_or(arg, |at| &arg[at..])
}
