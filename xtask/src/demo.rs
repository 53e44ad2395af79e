//! `cargo xtask run` with no arguments: the chmod scenario, first decided at runtime by the
//! supervisor, then denied by the kernel under the seed profile, with what the observer saw.

use crate::build::Binaries;
use anyhow::{Context, Result};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

pub fn run(root: &Path, bins: &Binaries) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("enforcer-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("scratch");
    let seed = root.join("profiles/seed-chmod-errno.json");

    println!("== 1. Built-in default (Docker's default profile, chmod family -> supervisor)");
    let builtin = scenario(bins, &dir, &file, "demo-builtin", &[])?;
    println!("\n== 2. {} (chmod -> EPERM in the kernel)", seed.display());
    let seeded = scenario(
        bins,
        &dir,
        &file,
        "demo-seed",
        &["--profile", seed.to_str().context("utf-8 path")?],
    )?;

    println!("\n== What the observer saw, per cgroup (calls returned / reached entry / errors)");
    for (title, events) in [("built-in default", &builtin), ("seed profile", &seeded)] {
        summary(title, events);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Runs the probe workload under enforcer and prints its output, the file's mode and the
/// supervisor's decisions; returns the event log.
fn scenario(
    bins: &Binaries,
    dir: &Path,
    file: &Path,
    cgroup: &str,
    opts: &[&str],
) -> Result<Vec<Value>> {
    std::fs::write(file, b"demo")?;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    let events = dir.join(format!("{cgroup}.jsonl"));
    let f = file.to_str().context("utf-8 path")?;
    let mut cmd = Command::new(&bins.enforcer);
    cmd.arg("run")
        .arg("--events")
        .arg(&events)
        .args(["--cgroup", cgroup])
        .args(opts);
    cmd.arg("--")
        .arg(&bins.probe)
        .args(["chmod", f, "0644", "chmod", f, "04755"]);
    println!(
        "$ enforcer run {} -- probe chmod FILE 0644 chmod FILE 04755",
        opts.join(" ")
    );
    let out = cmd.output().context("running enforcer")?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    println!(
        "exit status {}; mode of the file now: {:o}",
        out.status.code().unwrap_or(-1),
        std::fs::metadata(file)?.permissions().mode() & 0o7777
    );
    let log: Vec<Value> = std::fs::read_to_string(&events)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("parsing the event log")?;
    for d in log.iter().filter(|e| e["kind"] == "decision") {
        println!(
            "  supervisor: {}(mode {:o}) -> {} by rule {} in {} us",
            d["syscall"].as_str().unwrap_or("?"),
            d["args"][1].as_u64().unwrap_or(0),
            d["outcome"].as_str().unwrap_or("?"),
            d["rule"].as_str().unwrap_or("?"),
            d["latency_ns"].as_u64().unwrap_or(0) / 1000
        );
    }
    Ok(log)
}

fn summary(title: &str, events: &[Value]) {
    let cgroup = events
        .first()
        .map(|e| e["cgroup_id"].to_string())
        .unwrap_or_default();
    let mut rows: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "syscall_count")
        .collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e["count"].as_u64().unwrap_or(0)));
    let total: u64 = rows.iter().map(|e| e["count"].as_u64().unwrap_or(0)).sum();
    println!(
        "cgroup {cgroup} ({title}): {total} calls of {} syscalls",
        rows.len()
    );
    if rows.is_empty() {
        for e in events.iter().filter(|e| e["phase"] == "observer-degraded") {
            println!("  observation degraded: {}", e["reason"]);
        }
    }
    let denied = |e: &&&Value| e["errors"].as_object().is_some_and(|m| !m.is_empty());
    for e in rows
        .iter()
        .take(6)
        .chain(rows.iter().skip(6).filter(denied))
    {
        println!(
            "  {:<14} {:>5} / {:>5}  {}",
            e["name"].as_str().unwrap_or("?"),
            e["count"],
            e["entered"],
            e["errors"]
                .as_object()
                .map(|m| m
                    .iter()
                    .map(|(k, v)| format!("{k} x{v}"))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
    }
}
