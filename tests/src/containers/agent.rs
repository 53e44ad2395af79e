//! `enforcer agent` as a child process: its socket, policy directory and event log in a
//! directory of its own, its fd table, and waiting for its events.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for something the agent does.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct AgentBuilder {
    policies: Vec<(String, String)>,
    fallback: Option<String>,
    dir: Option<PathBuf>,
}

impl AgentBuilder {
    /// A policy in --policy-dir, chosen with listenerMetadata `policy=NAME`.
    pub fn policy(mut self, name: &str, json: &str) -> Self {
        self.policies.push((name.to_owned(), json.to_owned()));
        self
    }

    /// --policy: for containers whose metadata names none.
    pub fn fallback(mut self, json: &str) -> Self {
        self.fallback = Some(json.to_owned());
        self
    }

    /// Serve from this directory (its socket and files) instead of a new one: a restart.
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    pub fn start(self) -> Agent {
        crate::require_root();
        let (tmp, dir) = match self.dir {
            Some(d) => (None, d),
            None => {
                let t = tempfile::tempdir().expect("agent dir");
                let d = t.path().to_owned();
                (Some(t), d)
            }
        };
        let policy_dir = dir.join("policies");
        std::fs::create_dir_all(&policy_dir).expect("policy dir");
        for (name, json) in &self.policies {
            std::fs::write(policy_dir.join(format!("{name}.json")), json).expect("policy");
        }
        let socket = dir.join("agent.sock");
        let events = dir.join("events.jsonl");
        let log = dir.join(format!(
            "agent-{}.log",
            std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos()
        ));
        let mut cmd = Command::new(crate::enforcer_bin());
        cmd.arg("agent")
            .arg("--socket")
            .arg(&socket)
            .arg("--policy-dir")
            .arg(&policy_dir)
            .arg("--events")
            .arg(&events)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("agent log"));
        if let Some(json) = &self.fallback {
            let p = dir.join("fallback.json");
            std::fs::write(&p, json).expect("fallback policy");
            cmd.arg("--policy").arg(p);
        }
        let child = cmd.spawn().expect("spawn enforcer agent");
        let agent = Agent {
            child,
            _tmp: tmp,
            dir,
            socket,
            events,
            policy_dir,
            log,
        };
        // Its log says so once the socket is bound (connecting to find out would be a
        // connection without a state, which the agent reports as refused).
        agent.wait_until("the agent to listen", || {
            agent.log().contains("enforcer agent: listening on")
        });
        agent
    }
}

pub struct Agent {
    child: Child,
    _tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub events: PathBuf,
    pub policy_dir: PathBuf,
    log: PathBuf,
}

impl Agent {
    pub fn builder() -> AgentBuilder {
        AgentBuilder::default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the agent logged on stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The agent's open fds and what each is ("pipe:[123]", "anon_inode:seccomp notify").
    pub fn fd_table(&self) -> BTreeMap<u32, String> {
        let dir = format!("/proc/{}/fd", self.pid());
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| {
                let e = e.ok()?;
                let fd = e.file_name().to_str()?.parse().ok()?;
                let target = std::fs::read_link(e.path()).ok()?;
                Some((fd, target.display().to_string()))
            })
            .collect()
    }

    /// Every event logged so far, each checked against docs/events.schema.json.
    pub fn events(&self) -> Vec<Value> {
        if !self.events.exists() {
            return Vec::new();
        }
        let events = crate::read_events(&self.events);
        let schema = schema();
        for e in &events {
            let errors: Vec<String> = schema.iter_errors(e).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{e}\ndoes not match the schema: {errors:#?}"
            );
        }
        events
    }

    /// Waits until `ready` holds for the event log; returns the log.
    pub fn wait_events(&self, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut events = Vec::new();
        self.wait_until(what, || {
            events = self.events();
            ready(&events)
        });
        events
    }

    fn wait_until(&self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !ready() {
            assert!(
                Instant::now() < deadline,
                "agent: timed out waiting for {what}\nlog:\n{}\nevents:\n{}",
                self.log(),
                std::fs::read_to_string(&self.events).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: nothing of the agent runs any more, as after a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.schema.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

/// Events of `kind` about container `id`.
pub fn of_container<'a>(events: &'a [Value], id: &str, kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind && e["container"]["id"] == id)
        .collect()
}

/// A policy that allows the chmod family below `glob` (rule `rule`) and denies the rest.
pub fn allow_dir_policy(rule: &str, glob: &str) -> String {
    serde_json::json!({
        "version": 1,
        "defaultAction": "deny",
        "defaultErrno": "EPERM",
        "rules": [{ "name": rule, "syscalls": ["@chmod"], "paths": [glob], "action": "allow" }]
    })
    .to_string()
}
