//! One connection from a runtime, from its peer check to a supervisor serving its listener,
//! or to a refusal. Whatever is refused has its fds closed (they are `OwnedFd`s dropped on
//! the way out) and is logged and reported as an `agent-reject` lifecycle event.

use super::identity::{self, CgroupOf};
use super::known::{Known, Registration};
use super::listener_fd::{self, NotAListener};
use super::metadata::{self, MetadataError};
use super::policies::{Chosen, Policies, SelectError};
use super::receive::{self, ReceiveError};
use super::state::{ContainerProcessState, StateError};
use crate::engine_names::EngineNames;
use crate::events::{EventKind, EventSink, LifecycleEvent, Phase, Workload};
use crate::supervisor::{self, Mode, Stats};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::OwnedSemaphorePermit;

/// How long a runtime has to send its state once connected.
pub const RECEIVE_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("reading the peer's credentials: {0}")]
    PeerCredentials(std::io::Error),
    #[error("peer uid {uid} is not root")]
    NotRoot { uid: u32 },
    #[error("{0}")]
    Receive(#[from] ReceiveError),
    #[error("no complete state within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{0}")]
    NotAListener(#[from] NotAListener),
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    #[error("{0}")]
    Policy(#[from] SelectError),
}

/// What every connection shares.
pub struct Shared {
    pub policies: Policies,
    pub sink: Arc<EventSink>,
    pub known: Arc<Known>,
    /// Where the engines keep the names they show.
    pub names: EngineNames,
}

/// A listener accepted and what it will be served with.
struct Attached {
    listener: OwnedFd,
    config: supervisor::Config,
    state: ContainerProcessState,
    chosen: Chosen,
    _registration: Registration,
}

/// Serves one connection to its end: until the filter has no more users, or at once when
/// the connection is refused. `receiving` is held while the state is read.
pub async fn handle(stream: UnixStream, shared: Arc<Shared>, receiving: OwnedSemaphorePermit) {
    let peer_pid = stream.peer_cred().ok().and_then(|c| c.pid());
    let mut workload = Workload::default();
    let attached = accept(stream, &shared, &mut workload).await;
    drop(receiving);
    let attached = match attached {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("refused a connection (peer pid {peer_pid:?}): {e}");
            shared.sink.emit(
                &workload,
                EventKind::Lifecycle(LifecycleEvent {
                    pid: peer_pid.map(|p| p as u32),
                    reason: Some(e.to_string()),
                    ..LifecycleEvent::phase(Phase::AgentReject)
                }),
            );
            return;
        }
    };
    serve(attached, &shared).await;
}

/// Everything up to a listener ready to serve. `workload` is filled in as soon as the state
/// says who the container is, so a refusal after that names it.
async fn accept(
    stream: UnixStream,
    shared: &Shared,
    workload: &mut Workload,
) -> Result<Attached, ConnectionError> {
    let cred = stream
        .peer_cred()
        .map_err(ConnectionError::PeerCredentials)?;
    if cred.uid() != 0 {
        // Nothing is read: fds in flight are released with the socket.
        return Err(ConnectionError::NotRoot { uid: cred.uid() });
    }
    let received = tokio::time::timeout(RECEIVE_DEADLINE, receive::receive(&stream))
        .await
        .map_err(|_| ConnectionError::Timeout(RECEIVE_DEADLINE))??;
    drop(stream);
    let state = ContainerProcessState::parse(&received.bytes)?;
    tracing::debug!(
        "state of container {} (OCI {}, state OCI {})",
        state.state.id,
        state.oci_version,
        state.state.oci_version
    );
    workload.container = Some(identity::container(&state, &shared.names));
    let listener = state.take_seccomp_fd(received.fds)?;
    listener_fd::check(&listener)?;
    let selection = metadata::parse(&state.metadata)?;
    let chosen = shared.policies.choose(&selection.policy)?;

    let pids: Vec<u32> = [state.container_pid(), state.process_pid()]
        .into_iter()
        .flatten()
        .collect();
    let lookup = identity::cgroup(&pids);
    let mut cgroup = lookup.as_ref().ok().cloned();
    let mut container = identity::container(&state, &shared.names);
    let registration = shared.known.register(&mut container, &mut cgroup);
    if let (None, Err(e)) = (&cgroup, lookup) {
        // Enforcement does not depend on it; only the join with the observer and a
        // policy's kill action do.
        tracing::warn!("container {}: cgroup unknown: {e}", state.state.id);
    }
    workload.container = Some(container);
    workload.cgroup_id = cgroup.as_ref().map_or(0, |c| c.id);
    let config = config_for(workload, cgroup, &chosen, selection.mode, shared);
    Ok(Attached {
        listener,
        config,
        state,
        chosen,
        _registration: registration,
    })
}

fn config_for(
    workload: &Workload,
    cgroup: Option<CgroupOf>,
    chosen: &Chosen,
    mode: Mode,
    shared: &Shared,
) -> supervisor::Config {
    let mut config = supervisor::Config::new(
        chosen.policy.clone(),
        shared.sink.clone(),
        Arc::new(workload.clone()),
    );
    config.mode = mode;
    config.cgroup = cgroup.map(|c| c.path);
    config.container = workload.container.as_ref().map(|c| c.name.clone());
    config
}

async fn serve(attached: Attached, shared: &Shared) {
    let Attached {
        listener,
        config,
        state,
        chosen,
        _registration,
    } = attached;
    let workload = config.workload.clone();
    let mode = config.mode;
    let lifecycle = |phase: Phase, reason: String| {
        EventKind::Lifecycle(LifecycleEvent {
            pid: state.process_pid(),
            reason: Some(reason),
            ..LifecycleEvent::phase(phase)
        })
    };
    let what = format!(
        "container {} ({}), pid {:?}, policy {}, mode {mode:?}",
        state.state.id,
        state.state.status,
        state.process_pid(),
        chosen.source
    );
    tracing::info!("serving {what}");
    shared.sink.emit(
        &workload,
        lifecycle(
            Phase::AgentAttach,
            format!(
                "status {}, policy {}, mode {}",
                state.state.status,
                chosen.source,
                mode_name(mode)
            ),
        ),
    );
    let stats = Arc::new(Stats::default());
    let ended = supervisor::serve(listener, Arc::new(config), stats.clone()).await;
    let reason = match &ended {
        Ok(()) => "no process uses the filter any more".to_owned(),
        Err(e) => format!("supervisor failed: {e}"),
    };
    match &ended {
        Ok(()) => tracing::info!(
            "done with {what}: {} allowed, {} emulated, {} denied, {} would-deny",
            Stats::get(&stats.allowed),
            Stats::get(&stats.emulated),
            Stats::get(&stats.denied),
            Stats::get(&stats.would_deny)
        ),
        Err(e) => tracing::error!("{what}: {e}"),
    }
    shared
        .sink
        .emit(&workload, lifecycle(Phase::AgentDetach, reason));
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Audit => "audit",
    }
}
