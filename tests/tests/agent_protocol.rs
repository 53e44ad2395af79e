//! The protocol as the spec allows it beyond what runc and crun do: a state split over
//! several messages, with the fd in the first. A proxy between runc and the agent takes
//! runc's real state and listener and forwards them in pieces.

use enforcer_tests::containers::*;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

const POLICY: &str = ALLOWED_DIR;

#[test]
fn a_state_split_over_several_messages_is_served() {
    let agent = allowed_dir_agent().start();
    let proxy_socket = agent.dir.join("proxy.sock");
    let proxy = UnixListener::bind(&proxy_socket).expect("bind the proxy");
    let agent_socket = agent.socket.clone();
    let forwarder = std::thread::spawn(move || {
        let (from_runc, _) = proxy.accept().expect("runc connects");
        let (state, fds) = recv_with_fds(&from_runc).expect("runc's state");
        assert_eq!(fds.len(), 1, "runc sends one fd");
        let to_agent = UnixStream::connect(&agent_socket).expect("connect to the agent");
        let cuts = [0, 10, state.len() / 2, state.len()];
        for (i, piece) in cuts.windows(2).enumerate() {
            let with: Vec<_> = if i == 0 { vec![fds[0].as_fd()] } else { vec![] };
            send_with_fds(&to_agent, &state[piece[0]..piece[1]], &with).expect("forward");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Like runc 1.1, keep the connection open: the agent must see the state is whole.
        let _ = to_agent.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = (&to_agent).read_to_end(&mut Vec::new());
        state
    });

    let c = start_container(
        Runtime::Runc,
        "split",
        &proxy_socket,
        &format!("policy={POLICY}"),
        &[],
    );
    let out = c.in_init(CHMOD_BOTH);
    assert_only_allowed_dir_changed(&out, &c);
    let events = wait_decisions(&agent, &c, 0);
    assert_decisions(&events, &c, POLICY);
    let state = forwarder.join().unwrap();
    assert!(state.len() > 20, "{}", String::from_utf8_lossy(&state));
}
