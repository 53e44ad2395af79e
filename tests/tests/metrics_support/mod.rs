//! What the metrics tests share: HTTP GET over a plain socket, free ports, and a real
//! Prometheus server (Debian's `prometheus`, installed by `cargo xtask`) with its query API.

#![allow(dead_code)] // each test file uses a part

use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// GET `path` from 127.0.0.1:`port`: (status line and headers, body).
pub fn http_get(port: u16, path: &str) -> (String, String) {
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the endpoint");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    (head.to_string(), body.to_string())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Percent-encoding of a query parameter's value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus server scraping `targets` every second; killed on drop.
pub struct Prometheus {
    child: Child,
    pub port: u16,
}

impl Prometheus {
    pub fn start(dir: &Path, targets: &[String]) -> Self {
        let port = free_port();
        let config = dir.join("prometheus.yml");
        // YAML is a superset of JSON.
        let yaml = serde_json::json!({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "enforcer", "static_configs": [{"targets": targets}]}],
        });
        std::fs::write(&config, yaml.to_string()).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus is not installed: `cargo xtask` installs it (Debian's prometheus)");
        let p = Self { child, port };
        wait_for("Prometheus to be ready", 60, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http_get(port, "/-/ready").0.contains(" 200")
        });
        p
    }

    /// GET an API path with parameters; the `data` of a successful answer.
    pub fn api(&self, path: &str, params: &[(&str, String)]) -> Value {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let (head, body) = http_get(self.port, &format!("{path}?{}", query.join("&")));
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path} {params:?}: {e}: {head}\n{body}"));
        assert_eq!(v["status"], "success", "{path} {params:?}: {body}");
        v["data"].clone()
    }

    /// An instant query at `time` (seconds since the epoch): the result vector.
    pub fn query(&self, expr: &str, time: f64) -> Vec<Value> {
        let data = self.api(
            "/api/v1/query",
            &[("query", expr.to_string()), ("time", format!("{time:.3}"))],
        );
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// A range query: the result matrix.
    pub fn query_range(&self, expr: &str, start: f64, end: f64, step: u64) -> Vec<Value> {
        let data = self.api(
            "/api/v1/query_range",
            &[
                ("query", expr.to_string()),
                ("start", format!("{start:.3}")),
                ("end", format!("{end:.3}")),
                ("step", format!("{step}s")),
            ],
        );
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// Which targets are up (by instance).
    pub fn targets_up(&self) -> Vec<String> {
        let data = self.api("/api/v1/targets", &[("state", "active".into())]);
        data["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["health"] == "up")
            .map(|t| t["labels"]["instance"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The (what, place) of every loss the enforcer knows: exported at 0 from the start.
pub const KNOWN_LOSSES: [(&str, &str); 8] = [
    ("syscall-count", "ebpf"),
    ("errno-count", "ebpf"),
    ("syscall-number", "ebpf"),
    ("syscall-event", "ebpf"),
    ("syscall-args-at-entry", "ebpf"),
    ("syscall-abi", "ebpf"),
    ("syscall-event", "ring-buffer-reader"),
    ("event", "sink"),
];

/// Every lifecycle phase of the event model (docs/events.schema.json is generated from it):
/// exported at 0 from the start.
pub fn phases() -> Vec<String> {
    (enforcer::events::Phase::ALL.iter())
        .map(|p| p.as_str().to_string())
        .collect()
}

/// Calls of a cumulative `syscall_count` aggregate stopped before entry: `count - entered`, at
/// most the failed returns.
pub fn stopped(e: &Value) -> u64 {
    let errors: u64 = e["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    (e["count"].as_u64().unwrap() - e["entered"].as_u64().unwrap()).min(errors)
}
