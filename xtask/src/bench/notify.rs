//! Notify section: what a notified call costs, and how close our supervisor comes to the
//! least a supervisor can do on the same kind of notify fd.

use super::{Row, ratio_row};
use crate::build::Binaries;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

const CALLS: &str = "50000";
const EMULATED_CALLS: &str = "20000";

/// The `ns_per_call=` a probe or the baseline printed.
fn ns_per_call(out: std::process::Output, what: &str) -> Result<f64> {
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
    let unfiltered = ns_per_call(probe(CALLS).output()?, "probe")?;
    let baseline = ns_per_call(
        Command::new(&bins.notify_baseline)
            .args([CALLS, f])
            .output()?,
        "notify-baseline",
    )?;
    let notified = under_enforcer(&[], CALLS)?;
    let notified_no_sync = under_enforcer(&["--notify-sync-wakeup", "false"], CALLS)?;
    let emulated = under_enforcer(
        &["--policy", policy.to_str().context("utf-8 path")?],
        EMULATED_CALLS,
    )?;
    let unfiltered_again = ns_per_call(probe(EMULATED_CALLS).output()?, "probe")?;
    let observed_out = Command::new(&bins.enforcer)
        .arg("run")
        .arg("--")
        .arg(&bins.probe)
        .args(["bench-chmod", CALLS, f, "0644"])
        .output()?;
    let observed = ns_per_call(observed_out, "enforcer run (observed)")?;
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
            format!("our supervisor vs minimal receive/respond loop ({baseline:.0} ns)"),
            notified,
            baseline,
            Some(1.25),
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
