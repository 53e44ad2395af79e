//! `enforcer agent`: the OCI seccomp agent of runc and crun.
//!
//! A container whose `linux.seccomp` has `listenerPath` (and rules with `SCMP_ACT_NOTIFY`)
//! makes its runtime connect to that socket once per filter it loads (the container's own
//! process, and each `runc exec`/`crun exec`) and send one `ContainerProcessState` (JSON)
//! with the filter's notify fd by SCM_RIGHTS. The agent checks the peer (root, by
//! SO_PEERCRED), reads the state within bounds (size, fds, messages, time), checks that the
//! fd named `seccompFd` is a seccomp listener, picks the policy the state's `metadata`
//! (the profile's `listenerMetadata`, see metadata.rs) asks for, and hands the listener to
//! the same supervisor `enforcer run` uses, with the container's identity (state.rs,
//! identity.rs) on every event. Anything wrong refuses that connection only.
//!
//! What the kernel does when the agent is not there (documented for users in deploy/):
//! - No agent listening when the container starts: the runtime cannot connect and fails to
//!   create the container (runc and crun both treat it as an error).
//! - The agent exits or dies, or refuses a connection: the listener is closed, and from then
//!   on every notified call of the processes using that filter fails with ENOSYS (calls
//!   waiting at that moment too). Nothing runs unchecked, but the container is degraded
//!   until it is restarted.
//! - A restarted agent cannot get those listeners back (the kernel has no way to reopen
//!   one); it serves new containers and new `exec`s, whose runtimes connect anew.

mod connection;
mod identity;
mod known;
mod listener_fd;
mod metadata;
mod policies;
mod receive;
mod server;
mod state;

use crate::cli::AgentArgs;
use crate::events;
use crate::policy::PolicyError;
use connection::Shared;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("--policy-dir {0}: not a directory")]
    PolicyDir(std::path::PathBuf),
    #[error("{0}")]
    Events(#[from] events::SinkError),
    #[error("{0}")]
    Telemetry(#[from] crate::metrics::TelemetryError),
    #[error("{0}")]
    Socket(#[from] server::SocketError),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("serving {path}: {source}")]
    Serve {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Which policy decides, in words, for the line the agent prints when it is ready.
fn policy_words(args: &AgentArgs) -> String {
    let fallback = match &args.policy {
        Some(p) => format!("policy {}", p.display()),
        None => "the built-in policy (chmod to setuid, setgid or world-writable modes denied, \
                 other modes allowed; other notified calls denied)"
            .to_owned(),
    };
    match &args.policy_dir {
        Some(dir) => format!(
            "policies by listenerMetadata from {}, else {fallback}",
            dir.display()
        ),
        None => fallback,
    }
}

/// Serves until SIGINT or SIGTERM. Everything that can be refused (policy, policy dir, event
/// log, socket) is checked before the first connection is accepted.
pub fn run(args: &AgentArgs) -> Result<(), AgentError> {
    if let Some(dir) = &args.policy_dir
        && !dir.is_dir()
    {
        return Err(AgentError::PolicyDir(dir.clone()));
    }
    let policies = policies::Policies::new(args.policy.clone(), args.policy_dir.clone())?;
    let sink = crate::metrics::open_event_log(args.events.as_deref(), &args.telemetry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AgentError::Runtime)?;
    runtime.block_on(async {
        // Bound inside the runtime: the listener registers with its reactor.
        let socket = server::bind(&args.socket)?;
        crate::announce::ready(
            "agent",
            &format!(
                "listening on {} for runc/crun (listenerPath); {}",
                args.socket.display(),
                policy_words(args)
            ),
            args.events.as_deref(),
            args.telemetry.metrics,
        );
        let shared = Arc::new(Shared {
            policies,
            sink,
            known: Arc::default(),
            names: crate::engine_names::EngineNames::new(&args.engine_roots),
        });
        server::accept_loop(&socket, shared)
            .await
            .map_err(|source| AgentError::Serve {
                path: args.socket.clone(),
                source,
            })
    })?;
    // Listeners still being served close with the runtime: their containers get ENOSYS.
    runtime.shutdown_background();
    Ok(())
}
