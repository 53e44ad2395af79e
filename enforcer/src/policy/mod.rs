//! Decisions on notified calls: a policy file (see model.rs for the format, docs/policy.md for
//! the reference) compiled into ordered rules. First deciding match wins; audit-only rules
//! report and let evaluation go on; no match falls to the default (deny unless told to kill).
//! Fail-closed: a fact that cannot be had (memory, identity) denies.

mod builtin;
mod eval;
pub mod families;
mod load;
mod model;
mod rules;
#[cfg(test)]
mod tests;

pub use builtin::builtin;
pub use eval::{Decision, FactError, Facts, FileFact, Identity};
pub use load::{EMULATED, PolicyError, load_file, parse_str};
pub use rules::{Action, Policy};
