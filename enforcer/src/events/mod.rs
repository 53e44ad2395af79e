//! The JSON-lines event log: one object per line, versioned by `schema`, with the workload
//! identity (`cgroup_id`, `container`) that joins the eBPF stream and the notify stream.
//! Written and read with the same types (model.rs); docs/events.schema.json is generated from
//! them (schema.rs).

mod model;
mod read;
mod rotate;
pub mod schema;
mod sink;

pub use model::*;
pub use read::{LineError, parse_line};
pub use rotate::{Rotation, rotated_path};
pub use sink::{EventObserver, EventSink, SinkError, SinkOptions};

/// RFC 3339 UTC timestamp with nanoseconds, as every event carries it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// How events name an architecture: the profile's SCMP_ARCH_* name, lower case, without the
/// prefix ("x86_64", "x86", "x32", "aarch64").
pub fn arch_label(arch: crate::profile::Arch) -> String {
    arch.scmp_name()
        .trim_start_matches("SCMP_ARCH_")
        .to_lowercase()
}

/// Symbolic name of a positive errno ("EPERM"), or its number as text: the same words as
/// the profile commands use.
pub fn errno_name(errno: i32) -> String {
    u32::try_from(errno).map_or_else(|_| errno.to_string(), crate::profile::errno_name)
}
