//! Driving a container's own process from the test: a host directory bind-mounted at /ctl,
//! where the image's driver loop (see image::DRIVER) picks up scripts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct Ctl {
    pub dir: PathBuf,
}

impl Ctl {
    /// A fresh control directory `name` under `parent`.
    pub fn new(parent: &Path, name: &str) -> Self {
        let dir = parent.join(format!("ctl-{name}"));
        std::fs::create_dir_all(&dir).expect("ctl dir");
        Self { dir }
    }

    /// Has the container's own process run `script` with sh; returns its output, ending
    /// with "exit=N".
    pub fn run(&self, script: &str) -> String {
        run_dropped(&self.dir, script, "the container's driver")
    }
}

/// Drops `script` as `cmd.sh` into `dir`, where a driver loop (image::DRIVER, and the bare
/// runc/crun bundles' own) runs it, renames it `cmd.done` and leaves its output in
/// `cmd.out`; returns that output. `who` names the loop in the failure.
pub fn run_dropped(dir: &Path, script: &str, who: &str) -> String {
    let (cmd, done, out) = (
        dir.join("cmd.sh"),
        dir.join("cmd.done"),
        dir.join("cmd.out"),
    );
    let _ = std::fs::remove_file(&done);
    let staged = dir.join("cmd.sh.new");
    std::fs::write(&staged, script).expect("write script");
    std::fs::rename(&staged, &cmd).expect("publish script");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done.exists() {
        assert!(
            Instant::now() < deadline,
            "{who} did not run {script:?} (is it running?)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(&out).expect("read script output")
}
