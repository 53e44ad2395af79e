//! The Grafana dashboard in deploy/grafana is importable JSON whose every query is valid
//! PromQL (checked by promtool) over metrics the enforcer exports (docs/rollout.md lists
//! them; metrics_scrape checks that list against a real scrape).

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/grafana/enforcer-dashboard.json"
);
const ROLLOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rollout.md");

fn exprs(dashboard: &Value) -> Vec<String> {
    dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| {
            t["expr"]
                .as_str()
                .expect("every target has a PromQL expr")
                .to_string()
        })
        .collect()
}

/// `enforcer_*` metric names a query uses (histogram series by their family).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("enforcer_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        out.insert(expr[start..end].trim_end_matches("_bucket").to_string());
        i = end;
    }
    out
}

#[test]
fn every_dashboard_query_is_valid_promql_over_documented_metrics() {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(DASHBOARD).unwrap()).unwrap();
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());
    let exprs = exprs(&dashboard);
    assert!(exprs.len() >= 10, "{exprs:?}");
    // Grafana's variables, as Grafana substitutes them.
    let rules: Vec<Value> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e
                .replace("$__rate_interval", "1m")
                .replace("$__range", "1h")
                .replace("$container", ".*");
            serde_json::json!({"record": format!("enforcer:dashboard_query_{i}"), "expr": e})
        })
        .collect();
    let file = std::env::temp_dir().join(format!(
        "enforcer-dashboard-rules-{}.json",
        std::process::id()
    ));
    // YAML is a superset of JSON: promtool reads this as a rules file.
    std::fs::write(
        &file,
        serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool is not installed: `cargo xtask` installs it (Debian's prometheus)");
    std::fs::remove_file(&file).unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let documented = std::fs::read_to_string(ROLLOUT).unwrap();
    for name in exprs.iter().flat_map(|e| metric_names(e)) {
        assert!(
            documented.contains(&format!("`{name}`")),
            "{name} is not in docs/rollout.md"
        );
    }
}
