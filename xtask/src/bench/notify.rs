//! Notify section: what a notified call costs, and how close our supervisor comes to the
//! least a supervisor can do on the same kind of notify fd.

use super::observer::{BenchCgroups, Observe};
use super::{Row, ratio_row};
use crate::build::Binaries;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

const CALLS: &str = "50000";
const EMULATED_CALLS: &str = "20000";
/// Runs of each measurement; the fastest is kept (single runs on a shared VM swing widely,
/// mostly in how long an idle CPU takes to wake).
const REPS: usize = 3;

/// The fastest of `REPS` runs of `measure`.
fn fastest(mut measure: impl FnMut() -> Result<f64>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..REPS {
        best = best.min(measure()?);
    }
    Ok(best)
}

/// The `ns_per_call=` a probe or the baseline printed.
pub(super) fn ns_per_call(out: std::process::Output, what: &str) -> Result<f64> {
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{what} failed: {}\n{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("ns_per_call="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{what} printed no timing: {text}"))
}

pub fn run(_root: &Path, bins: &Binaries) -> Result<Vec<Row>> {
    let dir = std::env::temp_dir().join(format!("enforcer-bench-notify-{}", std::process::id()));
    let allowed = dir.join("allowed");
    std::fs::create_dir_all(&allowed)?;
    let file = allowed.join("f");
    std::fs::write(&file, b"")?;
    let f = file.to_str().context("utf-8 path")?;
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"rules":[{{"name":"allowed","syscalls":["@chmod"],"paths":["{}/**"],"action":"allow"}}]}}"#,
            allowed.display()
        ),
    )?;

    let probe = |n: &str| {
        let mut c = Command::new(&bins.probe);
        c.args(["bench-chmod", n, f, "0644"]);
        c
    };
    // The supervisor alone: the observer's programs return at once (its own cost is measured
    // by the observer section and by the last row here).
    let under_enforcer = |opts: &[&str], n: &str| -> Result<f64> {
        let out = Command::new(&bins.enforcer)
            .args(["run", "--empty-programs"])
            .args(opts)
            .arg("--")
            .arg(&bins.probe)
            .args(["bench-chmod", n, f, "0644"])
            .output()?;
        ns_per_call(out, &format!("enforcer run {}", opts.join(" ")))
    };
    let baseline_with = |extra: &[&str]| {
        fastest(|| {
            let out = Command::new(&bins.notify_baseline)
                .args([CALLS, f])
                .args(extra)
                .output()?;
            ns_per_call(out, "notify-baseline")
        })
    };
    let unfiltered = fastest(|| ns_per_call(probe(CALLS).output()?, "probe"))?;
    // Both sides alike: the enforcer turns sync wake-ups on by default, the bare loop with
    // `sync`; without them, a call waits for an idle CPU to wake on each side. And the bare
    // loop runs with the same empty eBPF programs attached as `enforcer run` below (they
    // put every syscall of the host on the slow path).
    let cgroups = BenchCgroups::create()?;
    let empty = Observe::empty_programs(&bins.enforcer, &cgroups)?;
    let baseline = baseline_with(&["sync"])?;
    let baseline_no_sync = baseline_with(&[])?;
    empty.stop()?;
    let notified = fastest(|| under_enforcer(&[], CALLS))?;
    let notified_no_sync = fastest(|| under_enforcer(&["--notify-sync-wakeup", "false"], CALLS))?;
    let emulated = fastest(|| {
        under_enforcer(
            &["--policy", policy.to_str().context("utf-8 path")?],
            EMULATED_CALLS,
        )
    })?;
    let unfiltered_again = fastest(|| ns_per_call(probe(EMULATED_CALLS).output()?, "probe"))?;
    let observed = fastest(|| {
        let out = Command::new(&bins.enforcer)
            .arg("run")
            .arg("--")
            .arg(&bins.probe)
            .args(["bench-chmod", CALLS, f, "0644"])
            .output()?;
        ns_per_call(out, "enforcer run (observed)")
    })?;
    std::fs::remove_dir_all(&dir)?;

    let rate = |ns: f64| Row {
        what: String::new(),
        value: format!("{:.0} calls/s", 1e9 / ns),
        target: None,
        met: None,
    };
    Ok(vec![
        ratio_row(
            format!("notified chmod (CONTINUE) vs unfiltered ({unfiltered:.0} ns)"),
            notified,
            unfiltered,
            None,
        ),
        ratio_row(
            format!(
                "our supervisor vs minimal receive/respond loop, sync wake-up on ({baseline:.0} ns)"
            ),
            notified,
            baseline,
            Some(1.25),
        ),
        ratio_row(
            format!(
                "our supervisor vs minimal receive/respond loop, sync wake-up off ({baseline_no_sync:.0} ns)"
            ),
            notified_no_sync,
            baseline_no_sync,
            None,
        ),
        Row {
            what: "notified calls per second, sync wake-up on".into(),
            ..rate(notified)
        },
        Row {
            what: "notified calls per second, sync wake-up off".into(),
            ..rate(notified_no_sync)
        },
        ratio_row(
            "sync wake-up off vs on (time per call)",
            notified_no_sync,
            notified,
            None,
        ),
        ratio_row(
            format!("emulated chmod (path rule, {emulated:.0} ns) vs unfiltered"),
            emulated,
            unfiltered_again,
            None,
        ),
        ratio_row(
            "emulated chmod vs notified CONTINUE",
            emulated,
            notified,
            None,
        ),
        ratio_row(
            "notified chmod with default observation on vs off",
            observed,
            notified,
            None,
        ),
    ])
}
