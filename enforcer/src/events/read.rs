//! Reading one line of an event log back into the model.

use super::Event;

/// Why a line is not an event of this schema.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LineError(pub String);

/// One line of the log: an event of this schema version, with a valid `time`.
pub fn parse_line(line: &str) -> Result<Event, LineError> {
    let event: Event = serde_json::from_str(line).map_err(|e| LineError(describe(line, &e)))?;
    event.seconds().map_err(LineError)?;
    Ok(event)
}

/// serde's message, prefixed with what the line claims to be when that helps (an older
/// schema, an unknown kind).
fn describe(line: &str, e: &serde_json::Error) -> String {
    let message = e.to_string();
    if message.contains("$.schema") {
        return message;
    }
    #[derive(serde::Deserialize)]
    struct Head {
        kind: Option<String>,
    }
    match serde_json::from_str::<Head>(line) {
        Ok(Head { kind: Some(kind) }) => format!("not a valid {kind:?} event: {message}"),
        // Usually a workload's own output on the same stream as `--events -`.
        _ => {
            let start: String = line.chars().take(40).collect();
            format!(
                "not an event ({message}): {start:?}; if the workload's output is mixed into \
                 the log, write the events to a file of their own with `--events FILE`"
            )
        }
    }
}

impl Event {
    /// `time` as seconds since the epoch.
    pub fn seconds(&self) -> Result<f64, String> {
        let t = chrono::DateTime::parse_from_rfc3339(&self.time)
            .map_err(|e| format!("$.time {:?}: {e}", self.time))?;
        Ok(t.timestamp_nanos_opt().map_or(0.0, |ns| ns as f64 / 1e9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::*;

    #[test]
    fn every_kind_written_reads_back_as_written() {
        let workload = Workload {
            cgroup_id: 42,
            container: Some(Container {
                id: "abc".into(),
                name: "web".into(),
                pid: Some(7),
                ..Container::default()
            }),
        };
        let kinds = [
            EventKind::SyscallCount(SyscallCountEvent {
                nr: 90,
                name: Some("chmod".into()),
                arch: "x86_64".into(),
                count: 3,
                entered: 1,
                errors: [("EPERM".to_string(), 2)].into(),
            }),
            EventKind::SyscallTrace(SyscallTraceEvent {
                nr: 90,
                name: None,
                arch: "x86".into(),
                pid: 1,
                tid: 2,
                comm: "sh".into(),
                args: [u64::MAX, 0, 1, 2, 3, 4],
                args_at: ArgsAt::Exit,
                ret: Some(-1),
                errno: Some("EPERM".into()),
            }),
            EventKind::Decision(DecisionEvent {
                syscall: "chmod".into(),
                nr: 90,
                arch: "x86_64".into(),
                args: [0; 6],
                pid: 3,
                path: Some("/tmp/x".into()),
                rule: "builtin".into(),
                outcome: Outcome::WouldDeny,
                errno: Some(1),
                would: Some("deny EPERM".into()),
                latency_ns: 5,
            }),
            EventKind::Lost(LostEvent {
                what: LostWhat::SyscallArgsAtEntry,
                place: LostPlace::RingBufferReader,
                count: 9,
            }),
            EventKind::Lifecycle(LifecycleEvent {
                supervisor: Some(SupervisorSummary::default()),
                ..LifecycleEvent::phase(Phase::SupervisorError)
            }),
        ];
        for kind in kinds {
            let line = super::super::sink::serialize("h", &workload, &kind);
            let text = std::str::from_utf8(&line).unwrap();
            let event = parse_line(text.trim_end()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(event.workload, workload);
            assert_eq!(event.host, "h");
            assert_eq!(format!("{:?}", event.kind), format!("{kind:?}"), "{text}");
        }
    }

    #[test]
    fn an_older_schema_says_which_one_is_read() {
        let line = r#"{"schema":"enforcer.event.v1","time":"2026-01-01T00:00:00Z","host":"h","kind":"syscall","cgroup_id":1,"nr":1,"name":"write","arch":"x86_64","count":1,"entered":1,"errors":{}}"#;
        let e = parse_line(line).unwrap_err().0;
        assert!(e.contains("enforcer.event.v1") && e.contains(SCHEMA), "{e}");
        let line = line.replace("enforcer.event.v1", SCHEMA);
        let e = parse_line(&line).unwrap_err().0;
        assert!(
            e.contains("\"syscall\"") && e.contains("syscall_count"),
            "{e}"
        );
    }
}
