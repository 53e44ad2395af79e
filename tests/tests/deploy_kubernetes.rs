//! deploy/kubernetes and deploy/logs fit together, checked offline (there is no cluster
//! here): every manifest parses; the agent serves --metrics on a named port that the scrape
//! annotation and the ServiceMonitor name, its probes ask /healthz, its resources are sized
//! (from the measurement in docs/rollout.md), and its event log is a file on the node where
//! the shipped Vector and Fluent Bit configs read it, without per-run Loki labels.

use enforcer_tests::*;
use serde::Deserialize;
use serde_yaml::Value;
use std::path::{Path, PathBuf};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");

/// Peak RSS of the agent measured under load (docs/rollout.md, "Sizing the agent"), MiB.
const MEASURED_PEAK_RSS_MIB: f64 = 10.0;

fn manifests() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(DEPLOY).join("kubernetes");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let v =
                    Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for field in ["apiVersion", "kind"] {
                    assert!(v[field].is_string(), "{}: no {field}", path.display());
                }
                assert!(v["metadata"]["name"].is_string(), "{}", path.display());
                out.push((path.clone(), v));
            }
        }
    }
    out
}

fn find<'a>(docs: &'a [(PathBuf, Value)], kind: &str) -> &'a Value {
    &docs
        .iter()
        .find(|(_, v)| v["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in deploy/kubernetes"))
        .1
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// The value after `flag` in the container's args.
fn arg<'a>(args: &'a [Value], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a.as_str() == Some(flag))
        .unwrap_or_else(|| panic!("the agent runs without {flag}: {args:?}"));
    str_of(&args[i + 1])
}

/// A Kubernetes memory quantity in MiB (Mi, Gi, M, or bytes).
fn mib(q: &str) -> f64 {
    let (n, unit) = q.split_at(q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len()));
    let n: f64 = n
        .parse()
        .unwrap_or_else(|_| panic!("memory quantity {q:?}"));
    n * match unit {
        "Ki" => 1.0 / 1024.0,
        "Mi" => 1.0,
        "Gi" => 1024.0,
        "M" => 1e6 / 1048576.0,
        "" => 1.0 / 1048576.0,
        _ => panic!("memory quantity {q:?}"),
    }
}

#[test]
fn the_agent_daemonset_exports_metrics_answers_probes_is_sized_and_logs_where_shippers_read() {
    let docs = manifests();
    let ds = find(&docs, "DaemonSet");
    let pod = &ds["spec"]["template"];
    let agent = pod["spec"]["containers"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "agent")
        .expect("the agent container");
    let args = agent["args"].as_sequence().unwrap();

    // Every flag is one `enforcer agent` knows.
    let help = enforcer(&["agent", "--help"]);
    for flag in args
        .iter()
        .filter_map(|a| a.as_str())
        .filter(|a| a.starts_with("--"))
    {
        assert!(stdout(&help).contains(flag), "enforcer agent has no {flag}");
    }

    // --metrics on the named port; the annotation and the probes use it.
    let metrics = arg(args, "--metrics");
    let port: u64 = metrics.rsplit_once(':').unwrap().1.parse().unwrap();
    let named = agent["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "metrics")
        .expect("a port named metrics");
    assert_eq!(named["containerPort"].as_u64(), Some(port));
    assert!(
        metrics.starts_with(':') || metrics.starts_with("0.0.0.0:"),
        "--metrics {metrics}: Prometheus scrapes the pod's IP, not its loopback"
    );
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(str_of(&annotations["prometheus.io/scrape"]), "true");
    assert_eq!(str_of(&annotations["prometheus.io/port"]), port.to_string());
    assert_eq!(str_of(&annotations["prometheus.io/path"]), "/metrics");
    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &agent[probe]["httpGet"];
        assert_eq!(str_of(&get["path"]), "/healthz", "{probe}");
        let p = &get["port"];
        assert!(
            p.as_str() == Some("metrics") || p.as_u64() == Some(port),
            "{probe} port {p:?}"
        );
    }

    // Sized from the measurement: requests and a memory limit with room above the peak.
    let resources = &agent["resources"];
    assert!(resources["requests"]["cpu"].is_string(), "{resources:?}");
    let request = mib(str_of(&resources["requests"]["memory"]));
    let limit = mib(str_of(&resources["limits"]["memory"]));
    assert!(
        request >= MEASURED_PEAK_RSS_MIB
            && limit >= 2.0 * MEASURED_PEAK_RSS_MIB
            && limit >= request,
        "memory request {request} MiB, limit {limit} MiB, measured peak {MEASURED_PEAK_RSS_MIB} MiB"
    );
    assert!(
        resources["limits"]["cpu"].is_null(),
        "a CPU limit throttles the agent, and every notified call of the node waits on it"
    );

    // The event log is a file on the node, rotated, where the shippers read it.
    let events = Path::new(arg(args, "--events"));
    arg(args, "--events-max-bytes");
    let mount = agent["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| events.starts_with(str_of(&m["mountPath"])))
        .unwrap_or_else(|| panic!("{} is on no volume", events.display()));
    let volume = pod["spec"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let on_node = Path::new(str_of(&volume["hostPath"]["path"]))
        .join(events.strip_prefix(str_of(&mount["mountPath"])).unwrap());
    let on_node = on_node.to_str().unwrap();
    let vector = std::fs::read_to_string(Path::new(DEPLOY).join("logs/vector.toml")).unwrap();
    assert!(
        vector.contains(&format!("include = [\"{on_node}\"]")),
        "vector.toml does not read {on_node}"
    );
    let fluent = std::fs::read_to_string(Path::new(DEPLOY).join("logs/fluent-bit.conf")).unwrap();
    assert!(
        fluent
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Path", on_node]),
        "fluent-bit.conf does not read {on_node}"
    );
}

#[test]
fn the_service_monitor_scrapes_the_agents_named_port() {
    let docs = manifests();
    let ds = find(&docs, "DaemonSet");
    let service = find(&docs, "Service");
    let monitor = find(&docs, "ServiceMonitor");
    let pod_labels = ds["spec"]["template"]["metadata"]["labels"]
        .as_mapping()
        .unwrap();
    for (k, v) in service["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "the Service selects no agent pod"
        );
    }
    let namespace = &ds["metadata"]["namespace"];
    assert_eq!(&service["metadata"]["namespace"], namespace);
    let port = &service["spec"]["ports"][0];
    assert_eq!(str_of(&port["targetPort"]), "metrics");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], port["name"]);
    assert_eq!(str_of(&endpoint["path"]), "/metrics");
    let service_labels = service["metadata"]["labels"].as_mapping().unwrap();
    for (k, v) in monitor["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(
            service_labels.get(k),
            Some(v),
            "the ServiceMonitor selects no Service"
        );
    }
    let namespaces = monitor["spec"]["namespaceSelector"]["matchNames"]
        .as_sequence()
        .unwrap();
    assert!(namespaces.contains(namespace));
}

#[test]
fn log_shippers_label_loki_streams_with_bounded_values_only() {
    // Per-run or per-workload values (cgroup-<id>, container names and ids) are fields.
    let per_run = ["workload", "cgroup", "container", "pid"];
    let vector = std::fs::read_to_string(Path::new(DEPLOY).join("logs/vector.toml")).unwrap();
    let labels: Vec<&str> = vector
        .lines()
        .filter(|l| l.starts_with("labels."))
        .collect();
    assert!(labels.iter().any(|l| l.contains("kind")), "{labels:?}");
    let fluent = std::fs::read_to_string(Path::new(DEPLOY).join("logs/fluent-bit.conf")).unwrap();
    let fluent_labels: Vec<&str> = fluent
        .lines()
        .filter(|l| l.trim_start().starts_with("Labels"))
        .collect();
    assert!(!fluent_labels.is_empty());
    for line in labels.iter().chain(&fluent_labels) {
        for word in per_run {
            assert!(
                !line.contains(word),
                "a Loki label from a per-run value: {line}"
            );
        }
    }
}
