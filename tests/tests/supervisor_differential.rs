//! The emulation gives exactly what the kernel gives (DESIGN rule 9): the corpus of chmod- and
//! mkdir-family calls (src/probe/corpus.rs) runs on the bare kernel and under a policy whose
//! path rule allows everything, so that every call is carried out by the supervisor; return
//! value, errno and the resulting mode and owner must be the same, case by case.

use enforcer_tests::*;
use std::process::Command;

fn setup(dir: &std::path::Path) {
    let out = Command::new(probe_bin())
        .args(["corpus-setup", dir.to_str().unwrap()])
        .output()
        .expect("run probe");
    assert!(out.status.success(), "corpus-setup: {}", stderr(&out));
}

#[test]
fn every_emulated_call_returns_what_the_kernel_returns() {
    require_root();
    let s = Scratch::new();
    // The scratch dir is the caller's way in; the fixture trees are below it.
    s.mkdir("bare");
    s.mkdir("emulated");
    let (bare, emulated) = (s.path("bare/t"), s.path("emulated/t"));
    setup(&bare);
    setup(&emulated);

    let kernel = Command::new(probe_bin())
        .args(["corpus", bare.to_str().unwrap()])
        .output()
        .expect("run probe");
    assert!(kernel.status.success(), "bare run: {}", stderr(&kernel));

    let policy = s.path("allow-all.json");
    std::fs::write(
        &policy,
        r#"{ "rules": [ { "name": "everything", "syscalls": ["@chmod", "@mkdir"],
             "paths": ["/", "/**"], "action": "allow", "links": true } ] }"#,
    )
    .unwrap();
    let events = s.path("events.jsonl");
    let under = run_probe(
        &["--policy", policy.to_str().unwrap()],
        &events,
        &["corpus", emulated.to_str().unwrap()],
    );
    assert_eq!(under.status.code(), Some(0), "{}", stderr(&under));

    let (k, e) = (stdout(&kernel), stdout(&under));
    let (kl, el): (Vec<&str>, Vec<&str>) = (k.lines().collect(), e.lines().collect());
    assert!(kl.len() > 60, "the corpus ran: {k}");
    let diff: Vec<String> = kl
        .iter()
        .zip(&el)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("kernel:   {a}\nemulated: {b}"))
        .collect();
    assert!(
        diff.is_empty() && kl.len() == el.len(),
        "{} of {} cases differ:\n{}",
        diff.len(),
        kl.len(),
        diff.join("\n")
    );
    // Every call went through the supervisor: the policy read every path.
    let decisions = events_of(&read_events(&events), "decision").len();
    assert!(
        decisions >= 60,
        "only {decisions} decisions: not every call was notified"
    );
}
