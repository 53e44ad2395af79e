//! The `ContainerProcessState` a runtime sends with the notify fd (OCI runtime spec,
//! config-linux.md "The Container Process State"), and picking the `seccompFd` out of the
//! fds that came with it.
//!
//! ```json
//! { "ociVersion": "1.0.2", "fds": ["seccompFd"], "pid": 4422, "metadata": "policy=web",
//!   "state": { "ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 4422,
//!              "bundle": "/containers/c1", "annotations": { "k": "v" } } }
//! ```
//!
//! runc sends `status` "creating" for the container's own process and "running" for
//! `runc exec` (with `state.pid` the container's init). crun 1.8 says "creating" for its init
//! and "running" for exec, where it sends pid 0 and bundle "." (it knows neither there): a
//! pid of 0 and a relative bundle are taken as unknown. Unknown fields are ignored, so a
//! newer spec version still parses.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;

/// The name the spec gives the seccomp notify fd in `fds`.
pub const SECCOMP_FD_NAME: &str = "seccompFd";
/// Longest container id accepted (runc's own limit is far below; this only bounds logs).
const MAX_ID_LEN: usize = 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerProcessState {
    pub oci_version: String,
    /// Names of the fds sent with SCM_RIGHTS, in the same order.
    #[serde(default)]
    pub fds: Vec<String>,
    /// The process the filter belongs to, as the runtime (host pid namespace) sees it.
    pub pid: i64,
    /// The profile's `listenerMetadata`.
    #[serde(default)]
    pub metadata: String,
    pub state: State,
}

/// The container's state (runtime.md "State").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub pid: Option<i64>,
    #[serde(default)]
    pub bundle: Option<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// What is wrong with a received state, with the JSON path of the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("container process state {place}: {problem}")]
pub struct StateError {
    pub place: String,
    pub problem: String,
}

impl StateError {
    fn new(place: &str, problem: impl Into<String>) -> Self {
        Self {
            place: place.to_owned(),
            problem: problem.into(),
        }
    }
}

impl ContainerProcessState {
    /// Parses and checks one state: the whole text must be one JSON object.
    pub fn parse(bytes: &[u8]) -> Result<Self, StateError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let state: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                StateError::new(
                    &format!("line {}, column {}", inner.line(), inner.column()),
                    format!("invalid JSON: {inner}"),
                )
            } else {
                StateError::new(&format!("$.{}", e.path()), inner.to_string())
            }
        })?;
        de.end().map_err(|e| {
            StateError::new(
                &format!("line {}, column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )
        })?;
        state.check()?;
        Ok(state)
    }

    fn check(&self) -> Result<(), StateError> {
        for (place, pid) in [("$.pid", Some(self.pid)), ("$.state.pid", self.state.pid)] {
            if let Some(pid) = pid
                && !(0..=i64::from(i32::MAX)).contains(&pid)
            {
                return Err(StateError::new(place, format!("not a pid: {pid}")));
            }
        }
        let id = &self.state.id;
        if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
            return Err(StateError::new(
                "$.state.id",
                format!("not a container id: {id:?}"),
            ));
        }
        Ok(())
    }

    /// The process the filter belongs to, when the runtime says.
    pub fn process_pid(&self) -> Option<u32> {
        Some(self.pid as u32).filter(|p| *p > 0)
    }

    /// The container's own process, when the runtime says.
    pub fn container_pid(&self) -> Option<u32> {
        self.state.pid.map(|p| p as u32).filter(|p| *p > 0)
    }

    /// The bundle directory, when the runtime gives an absolute one.
    pub fn bundle(&self) -> Option<&str> {
        self.state.bundle.as_deref().filter(|b| b.starts_with('/'))
    }

    /// Takes the one fd named `seccompFd` out of `fds` (in `fds` order); every other fd is
    /// closed. Refused: names and fds that do not pair up, no `seccompFd`, or several.
    pub fn take_seccomp_fd(&self, mut fds: Vec<OwnedFd>) -> Result<OwnedFd, StateError> {
        if self.fds.len() != fds.len() {
            return Err(StateError::new(
                "$.fds",
                format!(
                    "names {} fds but {} were sent with the message",
                    self.fds.len(),
                    fds.len()
                ),
            ));
        }
        let mut at = self
            .fds
            .iter()
            .enumerate()
            .filter(|(_, n)| *n == SECCOMP_FD_NAME)
            .map(|(i, _)| i);
        match (at.next(), at.next()) {
            (Some(i), None) => Ok(fds.swap_remove(i)),
            (None, _) => Err(StateError::new(
                "$.fds",
                format!("no fd named {SECCOMP_FD_NAME}"),
            )),
            (Some(_), Some(_)) => Err(StateError::new(
                "$.fds",
                format!("several fds named {SECCOMP_FD_NAME}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNC: &str = r#"{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":22573,
        "metadata":"policy=web","state":{"ociVersion":"1.0.2-dev","id":"c1","status":"running",
        "pid":22556,"bundle":"/b","annotations":{"io.kubernetes.cri.container-name":"web"}}}"#;

    fn pipe_fds(n: usize) -> Vec<OwnedFd> {
        (0..n)
            .map(|_| OwnedFd::from(std::io::pipe().expect("pipe").0))
            .collect()
    }

    #[test]
    fn parses_what_runc_sends() {
        let s = ContainerProcessState::parse(RUNC.as_bytes()).unwrap();
        assert_eq!(s.state.id, "c1");
        assert_eq!(s.state.status, "running");
        assert_eq!(
            (s.process_pid(), s.container_pid()),
            (Some(22573), Some(22556))
        );
        assert_eq!(s.metadata, "policy=web");
        assert_eq!(s.bundle(), Some("/b"));
    }

    #[test]
    fn crun_exec_knows_no_pid_nor_bundle() {
        let crun_exec = RUNC
            .replace("22573", "0")
            .replace("22556", "0")
            .replace(r#""/b""#, r#"".""#);
        let s = ContainerProcessState::parse(crun_exec.as_bytes()).unwrap();
        assert_eq!(
            (s.process_pid(), s.container_pid(), s.bundle()),
            (None, None, None)
        );
    }

    #[test]
    fn errors_name_the_place() {
        let e =
            ContainerProcessState::parse(br#"{"ociVersion":"1","pid":1,"state":{}}"#).unwrap_err();
        assert_eq!(e.place, "$.state");
        assert!(e.problem.contains("ociVersion"), "{e}");
        let e = ContainerProcessState::parse(br#"{"ociVersion":"1","pid":"x"}"#).unwrap_err();
        assert_eq!(e.place, "$.pid");
        let e = ContainerProcessState::parse(b"{not json").unwrap_err();
        assert!(e.problem.starts_with("invalid JSON"), "{e}");
        let trailing = format!("{RUNC} {{}}");
        assert!(ContainerProcessState::parse(trailing.as_bytes()).is_err());
        let negative_pid = RUNC.replace("22556", "-1");
        assert_eq!(
            ContainerProcessState::parse(negative_pid.as_bytes())
                .unwrap_err()
                .place,
            "$.state.pid"
        );
        let empty_id = RUNC.replace(r#""id":"c1""#, r#""id":"""#);
        assert_eq!(
            ContainerProcessState::parse(empty_id.as_bytes())
                .unwrap_err()
                .place,
            "$.state.id"
        );
    }

    #[test]
    fn exactly_one_seccomp_fd() {
        let mut s = ContainerProcessState::parse(RUNC.as_bytes()).unwrap();
        assert!(s.take_seccomp_fd(pipe_fds(1)).is_ok());
        assert!(
            s.take_seccomp_fd(pipe_fds(0)).is_err(),
            "named but not sent"
        );
        assert!(
            s.take_seccomp_fd(pipe_fds(2)).is_err(),
            "sent but not named"
        );
        s.fds = vec!["other".into()];
        assert!(s.take_seccomp_fd(pipe_fds(1)).is_err(), "no seccompFd");
        s.fds = vec![SECCOMP_FD_NAME.into(), SECCOMP_FD_NAME.into()];
        assert!(s.take_seccomp_fd(pipe_fds(2)).is_err(), "several");
        s.fds = vec!["other".into(), SECCOMP_FD_NAME.into()];
        assert!(s.take_seccomp_fd(pipe_fds(2)).is_ok());
        s.fds = vec![];
        assert!(s.take_seccomp_fd(pipe_fds(0)).is_err(), "no fds at all");
    }
}
