//! `cargo xtask run` with no arguments: the story of Docker's seccomp article told with
//! enforcer. First Docker's way (a profile gives chmod an errno, the kernel refuses every
//! chmod), then the same workload with the supervisor deciding chmod at runtime, then what the
//! eBPF observer saw per cgroup, then where to go next. It checks its own story and fails when
//! the outcome is not the one it tells.

mod observed;
mod scenario;
#[cfg(test)]
mod tests;

use crate::build::Binaries;
use anyhow::{Context, Result, ensure};
use std::io::Write;
use std::path::Path;

pub fn run(root: &Path, bins: &Binaries, out: &mut dyn Write) -> Result<()> {
    let dir = tempdir()?;
    let result = tell(root, bins, &dir, out);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("enforcer-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn tell(root: &Path, bins: &Binaries, dir: &Path, out: &mut dyn Write) -> Result<()> {
    let seed = root.join("profiles/seed-chmod-errno.json");
    let seed_text = std::fs::read_to_string(&seed)?;
    let seed = seed.to_str().context("utf-8 path")?;
    let cg = |name: &str| format!("demo-{name}-{}", std::process::id());

    writeln!(
        out,
        "== 1. Docker's way: a seccomp profile, and the kernel refuses chmod\n\n\
         Docker's seccomp article starts from a profile that allows every syscall but chmod,\n\
         which gets an errno (profiles/seed-chmod-errno.json):\n\n{}\n\
         With Docker, `docker run --security-opt seccomp=profile.json busybox chmod 644 FILE`\n\
         prints `chmod: FILE: Operation not permitted`. enforcer puts the same file on a\n\
         process of its own; the workload (probe) makes the chmod(2) calls it is told to:\n",
        indent(&seed_text),
    )?;
    let kernel = scenario::run(out, bins, dir, &cg("seed"), &["--profile", seed])?;
    ensure!(
        kernel.mode == 0o600,
        "under the seed profile both chmods must fail, yet the mode is {:o}",
        kernel.mode
    );
    writeln!(
        out,
        "\n  The kernel decided from the profile alone: every chmod fails with EPERM, the\n  \
         harmless 0644 as much as the setuid 04755.\n"
    )?;

    writeln!(
        out,
        "== 2. enforcer's way: the supervisor decides chmod at runtime\n\n\
         Without --profile, enforcer runs Docker's default profile with the chmod family\n\
         (chmod, fchmod, fchmodat, fchmodat2) set to SCMP_ACT_NOTIFY: the kernel parks each\n\
         call and hands it to enforcer's supervisor, whose built-in policy allows a mode\n\
         without the setuid, setgid or world-write bit and denies the others with EPERM:\n"
    )?;
    let supervised = scenario::run(out, bins, dir, &cg("supervised"), &[])?;
    ensure!(
        supervised.mode == 0o644,
        "under the supervisor 0644 must be allowed and 04755 denied, yet the mode is {:o}",
        supervised.mode
    );
    writeln!(out, "\n  The supervisor's decisions, from the event log:")?;
    for d in supervised.events.iter().filter(|e| e["kind"] == "decision") {
        writeln!(
            out,
            "    {}(mode {:o}) -> {} by rule {} in {} us",
            d["syscall"].as_str().unwrap_or("?"),
            d["args"][1].as_u64().unwrap_or(0),
            d["outcome"].as_str().unwrap_or("?"),
            d["rule"].as_str().unwrap_or("?"),
            d["latency_ns"].as_u64().unwrap_or(0) / 1000
        )?;
    }

    writeln!(
        out,
        "\n== 3. What the eBPF observer saw, per cgroup\n\n\
         Each run had a cgroup of its own; an eBPF program on the raw_syscalls tracepoints\n\
         counted its calls at return and at entry. A call that seccomp refused returns\n\
         without entering, so `returned` above `entered` is what the filter stopped:\n"
    )?;
    observed::summary(out, "seed profile, kernel decides", &kernel.events)?;
    observed::summary(
        out,
        "default profile, supervisor decides",
        &supervised.events,
    )?;

    writeln!(
        out,
        "\n== Where to go next (the binary is target/release/enforcer; README.md has more)\n"
    )?;
    for (command, what) in NEXT {
        writeln!(out, "  {command:<46} {what}")?;
    }
    writeln!(
        out,
        "\n  The whole rollout (record, check, audit, report, enforce): docs/rollout.md"
    )?;
    Ok(())
}

const NEXT: [(&str, &str); 4] = [
    (
        "enforcer run --mode audit --events - -- CMD",
        "runs CMD as if allowed, logs what would be stopped",
    ),
    (
        "enforcer record --output my.json -- CMD",
        "a profile from what CMD really does",
    ),
    (
        "enforcer report EVENTS",
        "per workload: what was refused, and by which rule",
    ),
    (
        "enforcer agent --socket PATH",
        "the seccomp agent of runc and crun (deploy/README.md)",
    ),
];

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
