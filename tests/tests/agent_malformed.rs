//! Connections the agent must refuse: each is refused with an event naming the problem,
//! leaves the agent's fd table as it was, and does not disturb a container the agent is
//! serving at the same time.

use enforcer_tests::containers::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

const POLICY: &str = ALLOWED_DIR;

fn state(fds: &[&str], metadata: &str) -> Vec<u8> {
    json!({
        "ociVersion": "1.0.2", "fds": fds, "pid": std::process::id(), "metadata": metadata,
        "state": { "ociVersion": "1.0.2", "id": "forged", "status": "creating",
                   "pid": std::process::id(), "bundle": "/nonexistent" }
    })
    .to_string()
    .into_bytes()
}

fn pipes(n: usize) -> Vec<OwnedFd> {
    (0..n).map(|_| std::io::pipe().unwrap().0.into()).collect()
}

/// Connects, sends `data` with `fds` in one message and waits for the agent to hang up.
/// The agent may hang up before the message is sent (a peer it refuses on sight): the
/// event it logs is what the test checks.
fn send(socket: &Path, data: &[u8], fds: Vec<OwnedFd>) {
    let s = UnixStream::connect(socket).expect("connect to the agent");
    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
    let _ = send_with_fds(&s, data, &borrowed);
    drop(fds);
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = (&s).read_to_end(&mut Vec::new());
}

fn rejects(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["phase"] == "agent-reject")
        .collect()
}

/// Runs one refused connection and checks its event and the agent's fd table.
fn refused(agent: &Agent, case: &str, expect: &str, connect: impl FnOnce()) {
    let fds_before = settled_fd_table(agent);
    let before = rejects(&agent.events()).len();
    connect();
    let events = agent.wait_events(&format!("the refusal of {case}"), |e| {
        rejects(e).len() > before
    });
    let reject = rejects(&events)[before];
    let reason = reject["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(expect),
        "{case}: reason {reason:?}, expected {expect:?}"
    );
    assert_eq!(
        settled_fd_table(agent),
        fds_before,
        "{case}: the agent's fds changed"
    );
}

/// The agent's fd table once it stops changing, without the emulation workers' handles on
/// `/proc`: workers belong to the process-wide pool (one per container root, the least
/// recently used let go), so theirs come and go with other containers, not with a connection.
fn settled_fd_table(agent: &Agent) -> std::collections::BTreeMap<u32, String> {
    let table = || {
        let mut t = agent.fd_table();
        t.retain(|_, target| target != "/proc");
        t
    };
    let mut last = table();
    for _ in 0..25 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = table();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

#[test]
fn malformed_connections_are_refused_without_leaking_or_disturbing_others() {
    let agent = allowed_dir_agent().start();
    let socket = agent.socket.clone();
    let served = start_container(
        Runtime::Runc,
        "served",
        &socket,
        &format!("policy={POLICY}"),
        &[],
    );
    // runc returns once it has sent the state; the agent takes the listener soon after.
    agent.wait_events("the served container's listener", |e| {
        e.iter()
            .any(|e| e["phase"] == "agent-attach" && e["container"]["id"] == served.id)
    });
    let fds_at_start = settled_fd_table(&agent);
    assert!(
        fds_at_start
            .values()
            .any(|t| t == "anon_inode:seccomp notify"),
        "the served container's listener: {fds_at_start:?}"
    );

    refused(&agent, "bad JSON", "invalid JSON", || {
        send(&socket, b"{\"ociVersion\": oops", pipes(1))
    });
    refused(&agent, "trailing data", "invalid JSON", || {
        let mut data = state(&["seccompFd"], "");
        data.extend_from_slice(b"}");
        send(&socket, &data, pipes(1))
    });
    refused(&agent, "too large", "larger than", || {
        let s = UnixStream::connect(&socket).unwrap();
        let fds = pipes(1);
        send_with_fds(&s, b"{\"x\": \"", &[fds[0].as_fd()]).unwrap();
        // The agent stops reading at its limit and hangs up: writing then fails.
        let _ = (&s).write_all(&vec![b'a'; 2 << 20]);
    });
    refused(&agent, "no fd", "no fd named seccompFd", || {
        send(&socket, &state(&[], ""), vec![])
    });
    refused(&agent, "a named fd not sent", "names 1 fds but 0", || {
        send(&socket, &state(&["seccompFd"], ""), vec![])
    });
    refused(
        &agent,
        "several seccomp fds",
        "several fds named seccompFd",
        || send(&socket, &state(&["seccompFd", "seccompFd"], ""), pipes(2)),
    );
    refused(&agent, "too many fds", "more than 4 fds", || {
        send(&socket, &state(&["seccompFd"], ""), pipes(5))
    });
    refused(
        &agent,
        "a fd that is not a listener",
        "not a seccomp notify listener (pipe:",
        || send(&socket, &state(&["seccompFd"], ""), pipes(1)),
    );
    refused(
        &agent,
        "nothing sent",
        "closed the connection before a complete state",
        || drop(UnixStream::connect(&socket).unwrap()),
    );

    // A peer that is not root. The socket is root's alone (0600); opened up here so that
    // the agent's own SO_PEERCRED check is what refuses.
    std::fs::set_permissions(&agent.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    refused(
        &agent,
        "a peer that is not root",
        "peer uid 65534 is not root",
        || {
            let socket = socket.clone();
            std::thread::spawn(move || {
                // SAFETY: the raw syscalls change this thread's credentials only (glibc's
                // wrappers would change every thread of the test process); the thread ends here.
                unsafe {
                    assert_eq!(libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534), 0);
                    assert_eq!(libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534), 0);
                }
                send(&socket, &state(&["seccompFd"], ""), pipes(1));
            })
            .join()
            .unwrap();
        },
    );
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A peer that sends half a state and stalls: refused at the deadline, while the served
    // container's calls go on being decided.
    refused(&agent, "a stalled peer", "no complete state within", || {
        let s = UnixStream::connect(&socket).unwrap();
        send_with_fds(&s, &state(&["seccompFd"], "")[..20], &[pipes(1)[0].as_fd()]).unwrap();
        let out = served.in_init("chmod 640 /allowed/f; echo rc=$?");
        assert!(
            out.contains("rc=0"),
            "served during a stalled connection: {out}"
        );
        assert_eq!(served.bundle.mode_of("/allowed/f"), 0o640);
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = (&s).read_to_end(&mut Vec::new());
    });

    // Real runtimes with metadata the agent cannot honour: refused, the listener closed, so
    // the container's notified calls fail with ENOSYS.
    for (name, metadata, expect) in [
        ("typo", "polcy=allowed-dir", "unknown key \"polcy\""),
        ("missing", "policy=missing", "missing.json"),
    ] {
        let mut started = None;
        refused(&agent, metadata, expect, || {
            started = Some(start_container(Runtime::Runc, name, &socket, metadata, &[]))
        });
        let c = started.unwrap();
        let events = agent.events();
        let reject = rejects(&events).last().copied().unwrap();
        assert_eq!(reject["container"]["id"], c.id.as_str(), "{reject}");
        let out = c.in_init("chmod 644 /allowed/f; echo rc=$?");
        assert!(out.contains("Function not implemented"), "{out}");
        assert_eq!(c.bundle.mode_of("/allowed/f"), 0o600);
    }

    let out = served.in_init(CHMOD_BOTH);
    assert_only_allowed_dir_changed(&out, &served);
    assert_eq!(settled_fd_table(&agent), fds_at_start);
}
