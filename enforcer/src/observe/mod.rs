//! The eBPF observer: loads the embedded program, chooses which cgroups it watches, and reads
//! its per-CPU counters back as per-syscall totals.

mod counters;
mod loader;
pub mod report;

pub use counters::{Losses, SyscallStat};
pub use loader::{ObserveError, Observer};
