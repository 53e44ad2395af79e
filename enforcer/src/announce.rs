//! What the long-running commands (agent, observe) say on stderr when they are ready, so that
//! a person who starts one knows where it listens, what it watches and where events go.

use std::net::SocketAddr;
use std::path::Path;

/// Where events go, in words; None when they go nowhere (no --events and no --metrics).
pub fn events_destination(events: Option<&Path>, metrics: Option<SocketAddr>) -> Option<String> {
    let file = events.map(|p| match p.to_str() {
        Some("-") => "events to stdout".to_owned(),
        _ => format!("events to {}", p.display()),
    });
    let metrics = metrics.map(|a| format!("metrics on http://{a}/metrics"));
    match (file, metrics) {
        (None, None) => None,
        (Some(f), None) => Some(f),
        (None, Some(m)) => Some(m),
        (Some(f), Some(m)) => Some(format!("{f}, {m}")),
    }
}

/// One line on stderr: `enforcer COMMAND: WHAT; EVENTS`, and a warning when events go nowhere.
pub fn ready(command: &str, what: &str, events: Option<&Path>, metrics: Option<SocketAddr>) {
    match events_destination(events, metrics) {
        Some(to) => eprintln!("enforcer {command}: {what}; {to}"),
        None => {
            eprintln!("enforcer {command}: {what}");
            eprintln!(
                "enforcer {command}: warning: no --events and no --metrics: what it sees goes nowhere (--events FILE, or - for stdout)"
            );
        }
    }
}
