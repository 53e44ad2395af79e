//! The eBPF observer: loads the embedded program, chooses which cgroups it watches and which
//! of their calls it reports in detail, reads its per-CPU counters and its ring buffer back,
//! and names the container behind a cgroup.

mod btf;
pub mod command;
pub mod container;
mod counters;
mod dense;
mod loader;
pub mod report;
mod selection;
mod session;
mod watch_table;

pub use counters::{CgroupStats, Losses, SyscallStat};
pub use loader::{LoadOptions, ObserveError, Observer, WatchSpec};
pub use selection::{AbiSelection, Selection, UnknownSyscall, abis, profile_arch};
pub use session::{CallConsumer, Delivery, FinishHook, Observation, ObservePlan};
