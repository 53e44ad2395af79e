//! What a container lives with when its agent dies: the kernel answers ENOSYS to every
//! notified call of the filter whose listener died with it (and nothing runs unchecked); a
//! new `exec` cannot start until an agent listens again; a restarted agent serves new execs
//! but cannot get the old listener back.

use enforcer_tests::containers::*;

const POLICY: &str = ALLOWED_DIR;

fn agent_killed(runtime: Runtime) {
    let mut agent = allowed_dir_agent().start();
    let c = start_container(
        runtime,
        &format!("{}-killed", runtime.binary()),
        &agent.socket,
        &format!("policy={POLICY}"),
        &[],
    );
    let out = c.in_init("chmod 640 /allowed/f; echo rc=$?");
    assert!(out.contains("rc=0"), "served while the agent lives: {out}");
    assert_eq!(c.bundle.mode_of("/allowed/f"), 0o640);

    agent.kill();
    let out = c.in_init("chmod 644 /allowed/f; echo rc=$?");
    assert!(
        out.contains("rc=1") && out.contains("/allowed/f: Function not implemented"),
        "a notified call without its agent must fail with ENOSYS: {out}"
    );
    assert_eq!(
        c.bundle.mode_of("/allowed/f"),
        0o640,
        "the file changed: {out}"
    );

    // No agent at the socket: the runtime refuses to start the exec at all.
    let exec = c.exec(&["true"]);
    assert!(
        !exec.status.success(),
        "{} exec ran without its seccomp agent",
        runtime.binary()
    );

    // Restarted on the same socket (the stale socket file is replaced): new execs are
    // served again, the container's own process still gets ENOSYS.
    let restarted = allowed_dir_agent().in_dir(&agent.dir).start();
    let before = of_container(&restarted.events(), &c.id, "decision").len();
    let exec = c.exec(&["chmod", "644", "/allowed/f"]);
    assert!(
        exec.status.success(),
        "exec after the restart: {}",
        String::from_utf8_lossy(&exec.stderr)
    );
    assert_eq!(c.bundle.mode_of("/allowed/f"), 0o644);
    restarted.wait_events("the exec's decision", |e| {
        of_container(e, &c.id, "decision").len() > before
    });
    let out = c.in_init("chmod 600 /allowed/f; echo rc=$?");
    assert!(out.contains("Function not implemented"), "{out}");
    assert_eq!(c.bundle.mode_of("/allowed/f"), 0o644);
}

#[test]
fn runc_container_whose_agent_died_gets_enosys() {
    agent_killed(Runtime::Runc);
}

#[test]
fn crun_container_whose_agent_died_gets_enosys() {
    agent_killed(Runtime::Crun);
}
