//! Reading what the `reach` probe (src/probe/reach.rs) reports.

/// The probe's summary says it attacked at least `min_processes` processes (the enforcer and
/// its helpers) and a credential worker that holds the workload's credentials (the thread
/// the original attack took over), made attempts, and had every one denied.
pub fn assert_reach_denied(text: &str, min_processes: usize, context: &str) {
    assert!(
        text.contains("comm=creds-worker"),
        "no credential worker among the targets: {context}"
    );
    let summary = text
        .lines()
        .find(|l| l.starts_with("reach processes="))
        .unwrap_or_else(|| panic!("the probe printed no summary: {context}"));
    let field = |name: &str| -> u64 {
        summary
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {summary:?}"))
    };
    assert!(
        field("processes") >= min_processes as u64,
        "fewer targets than the enforcer's processes: {context}"
    );
    assert!(field("denied") > 0, "nothing was tried: {context}");
    assert_eq!(
        field("reached"),
        0,
        "the workload reached the enforcer: {context}"
    );
}
