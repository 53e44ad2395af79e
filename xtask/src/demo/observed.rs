//! What the eBPF observer counted for one workload's cgroup, as a short table.

use serde_json::Value;
use std::io::Write;

/// The busiest syscalls and every one with errors; `title` says which run it was.
pub fn summary(out: &mut dyn Write, title: &str, events: &[Value]) -> std::io::Result<()> {
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
    writeln!(
        out,
        "  cgroup {cgroup} ({title}): {total} calls of {} syscalls",
        rows.len()
    )?;
    if rows.is_empty() {
        for e in events.iter().filter(|e| e["phase"] == "observer-degraded") {
            writeln!(out, "    observation degraded: {}", e["reason"])?;
        }
    }
    writeln!(
        out,
        "    {:<14} {:>8} {:>8}  errors",
        "syscall", "returned", "entered"
    )?;
    let with_errors = |e: &&&Value| e["errors"].as_object().is_some_and(|m| !m.is_empty());
    let chmod = |e: &&&Value| e["name"] == "chmod";
    for e in rows.iter().take(4).chain(
        rows.iter()
            .skip(4)
            .filter(|e| chmod(e) || (with_errors(e) && e["count"].as_u64() < Some(10))),
    ) {
        let errors = e["errors"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} x{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let row = format!(
            "    {:<14} {:>8} {:>8}  {errors}",
            e["name"].as_str().unwrap_or("?"),
            e["count"].as_u64().unwrap_or(0),
            e["entered"].as_u64().unwrap_or(0),
        );
        writeln!(out, "{}", row.trim_end())?;
    }
    Ok(())
}
