//! enforcer: seccomp profiles, a runtime supervisor for notified calls, and eBPF observation.

pub mod agent;
pub mod announce;
pub mod cgroup;
pub mod cli;
pub mod engine_names;
pub mod events;
pub mod families;
pub mod launch;
pub mod metrics;
pub mod observe;
pub mod policy;
pub mod profile;
pub mod profile_cmd;
pub mod reach;
pub mod record;
pub mod report;
pub mod run;
pub mod supervisor;
pub mod watchdog;
