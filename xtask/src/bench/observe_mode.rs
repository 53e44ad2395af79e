//! What `--observe off` saves: a notified chmod and a getppid loop, each as the workload of
//! `enforcer run --observe off` and of `enforcer run` with the default observation, runs
//! interleaved, the fastest of each kept.

use super::notify::ns_per_call;
use super::{Row, ratio_row};
use crate::build::Binaries;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

const CHMOD_CALLS: &str = "50000";
const GETPPID_CALLS: &str = "3000000";
const REPS: usize = 5;

pub fn run(_root: &Path, bins: &Binaries) -> Result<Vec<Row>> {
    let dir = std::env::temp_dir().join(format!("enforcer-bench-observe-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("f");
    std::fs::write(&file, b"")?;
    let f = file.to_str().context("utf-8 path")?;
    let workloads: [&[&str]; 2] = [
        // The built-in policy allows mode 0644 on the registers: a CONTINUE round trip.
        &["bench-chmod", CHMOD_CALLS, f, "0644"],
        &["bench-getppid", GETPPID_CALLS],
    ];
    let under = |mode: &[&str], work: &[&str]| -> Result<f64> {
        let out = Command::new(&bins.enforcer)
            .arg("run")
            .args(mode)
            .arg("--")
            .arg(&bins.probe)
            .args(work)
            .output()?;
        ns_per_call(
            out,
            &format!("enforcer run {} -- {}", mode.join(" "), work[0]),
        )
    };
    // [workload][off, default]: interleaved, so that drifts in the machine's load hit both.
    let mut times = [[f64::INFINITY; 2]; 2];
    for _ in 0..REPS {
        for (w, work) in workloads.iter().enumerate() {
            times[w][0] = times[w][0].min(under(&["--observe", "off"], work)?);
            times[w][1] = times[w][1].min(under(&[], work)?);
        }
    }
    std::fs::remove_dir_all(&dir)?;
    let [chmod, getppid] = times;
    Ok(vec![
        ratio_row(
            format!(
                "notified chmod: default observation (trace) vs --observe off ({:.0} ns)",
                chmod[0]
            ),
            chmod[1],
            chmod[0],
            None,
        ),
        ratio_row(
            format!(
                "getppid x{GETPPID_CALLS} in the workload (CPU time): default vs --observe off ({:.0} ns)",
                getppid[0]
            ),
            getppid[1],
            getppid[0],
            None,
        ),
    ])
}
