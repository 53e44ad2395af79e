//! What xtask is doing, on stderr, with how long the slow steps take.

use anyhow::Result;
use std::time::Instant;

/// Runs `step`, saying before what it does and how long it usually takes, and after how long
/// it took.
pub fn timed<T>(what: &str, expect: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("xtask: {what} ({expect})");
    let start = Instant::now();
    let out = step()?;
    eprintln!(
        "xtask: {what}: done in {}",
        human(start.elapsed().as_secs())
    );
    Ok(out)
}

fn human(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        _ => format!("{} min {} s", secs / 60, secs % 60),
    }
}
