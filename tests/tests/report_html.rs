//! The HTML report is one self-contained page that a browser renders without errors and that
//! shows each workload by the name a person knows it by (for `run`: its command and cgroup
//! name), its would-deny call, and a time axis in readable local time.

mod rollout_support;

use enforcer_tests::*;
use rollout_support::*;
use std::process::Command;

#[test]
fn the_html_report_renders_in_headless_chromium_with_the_workload_and_its_would_deny_call() {
    let (s, _, audit, cgroup) =
        audit_with_extra_call("report-html", &["getppid", "1"], &["socket", "1"]);
    // A second workload, with another command and cgroup.
    let (_s2, _, audit2, cgroup2) =
        audit_with_extra_call("report-html-2", &["getppid", "2"], &["personality", "8"]);
    let page = s.path("report.html");
    let out = enforcer(&[
        "report",
        "--html",
        page.to_str().unwrap(),
        audit.to_str().unwrap(),
        audit2.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch, no script.
    let links: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 40).min(html.len())])
        .collect();
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("http://www.w3.org/2000/svg")),
        "{links:?}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "the page loads something"
    );

    let chromium = which("chromium");
    let profile_dir = s.path("chromium-profile");
    std::fs::create_dir(&profile_dir).unwrap();
    let shown = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let (dom, log) = (stdout(&shown), stderr(&shown));
    assert_eq!(shown.status.code(), Some(0), "{log}");
    assert!(
        !log.contains("CONSOLE") && !log.contains("Uncaught"),
        "page errors: {log}"
    );
    assert!(
        !log.contains("net::ERR"),
        "the page tried to fetch something: {log}"
    );
    // The rendered page: each workload by its command and cgroup name, in the overview and as
    // its section's heading, its status, and the would-deny call with its cause.
    assert!(dom.contains(&format!("/enforcer/{cgroup}")), "{dom}");
    for name in [
        format!("probe getppid 1 socket 1 ({cgroup})"),
        format!("probe getppid 2 personality 8 ({cgroup2})"),
    ] {
        let heading = "<h2 id=\"w";
        let shown = dom
            .match_indices(&heading)
            .any(|(i, _)| dom[i..].split("</h2>").next().unwrap().contains(&name));
        assert!(shown, "no heading names {name:?}: {dom}");
        assert!(
            dom.contains(&format!(">{name}</a>")),
            "the overview does not link {name:?}"
        );
    }
    // The time axis: round local times (HH:MM:SS), not timestamps; the caption says the zone.
    let ticks: Vec<&str> = dom
        .split("class=\"label tick\"")
        .skip(1)
        .map(|t| t.split('>').nth(1).unwrap().split('<').next().unwrap())
        .collect();
    assert!(!ticks.is_empty(), "no time axis ticks: {dom}");
    for tick in &ticks {
        let digits = tick
            .split([':', '.'])
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        assert!(
            digits && tick.len() >= 8 && tick.len() <= 12,
            "tick {tick:?} is not a local time"
        );
    }
    assert!(
        dom.contains("local time (UTC"),
        "the axis does not say its time zone"
    );
    let b = dom.as_bytes();
    let raw = (3..b.len().saturating_sub(3)).find(|&i| {
        b[i] == b'T'
            && b[i - 3] == b'-'
            && b[i + 3] == b':'
            && b[i - 1].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
    });
    assert!(
        raw.is_none(),
        "a raw RFC 3339 time is shown: {}",
        &dom[raw.unwrap_or(0).saturating_sub(20)..][..40.min(dom.len())]
    );
    assert!(dom.contains("would break"), "{dom}");
    let table = &dom[dom.find("Would-deny calls").expect("would-deny table")..];
    assert!(table.contains("<code>socket</code>"), "{table}");
    assert!(
        table.contains("profile:$.defaultAction") && table.contains("SCMP_ACT_ERRNO(EPERM)"),
        "{table}"
    );
    assert!(dom.matches("<svg").count() >= 3, "charts missing: {dom}");
}

/// A program the project installs (xtask provision); its absence fails the test.
fn which(name: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: `cargo xtask test` installs it (TEST_PACKAGES in xtask/src/provision/packages.rs)")
        })
}
