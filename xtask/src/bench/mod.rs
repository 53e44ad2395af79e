//! `cargo xtask bench [SECTION...]`: performance measured as ratios within one run (with and
//! without the feature), printed and written to BENCHMARKS.md with the command that
//! reproduces them. Never part of pass/fail tests: a shared 2-core VM is noisy.

mod notify;
mod observe_mode;

use crate::build::Binaries;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::path::Path;

/// One measured line of a section.
pub struct Row {
    pub what: String,
    /// The ratio or rate as printed, e.g. "1.04x" or "182000 calls/s".
    pub value: String,
    /// The target it is held to, if any ("<= 1.10x").
    pub target: Option<String>,
    /// Whether the target is met; None when there is none.
    pub met: Option<bool>,
}

pub struct Section {
    pub name: &'static str,
    pub title: &'static str,
    pub run: fn(&Path, &Binaries) -> Result<Vec<Row>>,
}

mod observer;

/// Every section; each lives in its own file.
fn sections() -> Vec<Section> {
    vec![
        Section {
            name: "notify",
            title: "Supervisor: notified calls",
            run: notify::run,
        },
        Section {
            name: "observer",
            title: "eBPF observer",
            run: observer::run,
        },
        Section {
            name: "observe-mode",
            title: "run --observe off against the default",
            run: observe_mode::run,
        },
    ]
}

pub fn run(root: &Path, bins: &Binaries, only: &[String]) -> Result<()> {
    let all = sections();
    if let Some(unknown) = only
        .iter()
        .find(|o| !all.iter().any(|s| s.name == o.as_str()))
    {
        let names: Vec<&str> = all.iter().map(|s| s.name).collect();
        bail!(
            "no bench section {unknown:?}; sections: {}",
            names.join(", ")
        );
    }
    let mut md = String::from(
        "# Benchmarks\n\nRatios measured within one run of `cargo xtask bench` on the machine named below (with and without the feature, same work), so that machine noise cancels out as far as it can. Not part of the tests.\n\n",
    );
    let _ = writeln!(
        md,
        "Machine: {} cores, kernel {}.\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        kernel()
    );
    for s in all
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
    {
        println!("== {}", s.title);
        let rows = (s.run)(root, bins)?;
        let _ = writeln!(
            md,
            "## {}\n\nReproduce: `cargo xtask bench {}`\n\n| measurement | result | target | met |\n| --- | --- | --- | --- |",
            s.title, s.name
        );
        for r in &rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            println!(
                "  {:<60} {:>16}  {:<10} {}",
                r.what,
                r.value,
                r.target.as_deref().unwrap_or(""),
                met
            );
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.what,
                r.value,
                r.target.as_deref().unwrap_or(""),
                met
            );
        }
        md.push('\n');
    }
    if only.is_empty() {
        std::fs::write(root.join("BENCHMARKS.md"), md)?;
        println!("written to BENCHMARKS.md");
    } else {
        println!("(BENCHMARKS.md is written only by a full `cargo xtask bench`)");
    }
    Ok(())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// `a / b` formatted as a ratio, with whether it is within `target`.
pub fn ratio_row(what: impl Into<String>, a: f64, b: f64, target: Option<f64>) -> Row {
    let r = a / b;
    Row {
        what: what.into(),
        value: format!("{r:.3}x"),
        target: target.map(|t| format!("<= {t:.2}x")),
        met: target.map(|t| r <= t),
    }
}
