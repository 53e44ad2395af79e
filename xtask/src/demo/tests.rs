//! The demo tells its story and it holds: run against the binaries `cargo xtask test` built.

use crate::build::Binaries;

#[test]
fn demo_tells_the_seed_article_story_and_exits_ok() {
    crate::provision::require_root("test").expect("the demo loads seccomp filters");
    let root = crate::project_root();
    let bins = Binaries::at(&root);
    assert!(bins.enforcer.is_file(), "run `cargo xtask build` first");
    let mut out = Vec::new();
    let result = super::run(&root, &bins, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(result.is_ok(), "{result:?}\n{text}");
    // The story in its order: Docker's way, the supervisor, the observer, what next.
    let steps = [
        "docker run --security-opt seccomp=profile.json",
        "Operation not permitted",
        "mode of the file now: 600",
        "SCMP_ACT_NOTIFY",
        "mode of the file now: 644",
        "-> allowed by rule builtin:",
        "-> denied by rule builtin:",
        "What the eBPF observer saw, per cgroup",
        "(seed profile, kernel decides)",
        "(default profile, supervisor decides)",
        "--mode audit",
        "enforcer record",
        "enforcer agent",
    ];
    let mut from = 0;
    for step in steps {
        let at = text[from..]
            .find(step)
            .unwrap_or_else(|| panic!("the demo no longer says {step:?} here:\n{text}"));
        from += at + step.len();
    }
    // The observer saw chmod refused before entry under the seed profile.
    let seed = &text[text.find("(seed profile").unwrap()..];
    let chmod = seed
        .lines()
        .find(|l| l.trim_start().starts_with("chmod"))
        .unwrap();
    assert!(chmod.contains("EPERM x2"), "{chmod}");
}
