//! Helpers for the agent tests: minimal busybox bundles, real runc and crun containers, the
//! `enforcer agent` process, and SCM_RIGHTS for the tests that play the runtime themselves.

mod agent;
mod bundle;
mod fdpass;
mod runtime;
mod scenario;

pub use agent::{Agent, AgentBuilder, allow_dir_policy, of_container};
pub use bundle::{Bundle, CHMOD_FAMILY, notify_chmod_profile};
pub use fdpass::{recv_with_fds, send_with_fds};
pub use runtime::{Container, Runtime, cgroup_id_of};
pub use scenario::{
    ALLOWED_DIR, CHMOD_BOTH, allowed_dir_agent, assert_decisions, assert_only_allowed_dir_changed,
    start_container, wait_decisions,
};
