//! A daemon the tests start, stopped by its guard (SIGTERM, then SIGKILL), and a directory
//! whose mounts are undone before it is removed: whatever a test started ends with the test,
//! even when it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an engine may take to start or stop.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Daemon {
    pub name: &'static str,
    child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Spawns `cmd` with stdout and stderr in `log`.
    pub fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("daemon log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e} (run `cargo xtask test`)"));
        Self { name, child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready` holds; fails loudly (with the daemon's log) if the daemon exits
    /// or takes longer than PATIENCE.
    pub fn wait_ready(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !ready() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before {what}; its log:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready ({what}) after {PATIENCE:?}; its log:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then SIGKILL if it has not ended within PATIENCE.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to the process whose pid is in `pidfile`, if it still runs that `comm`.
pub fn kill_pidfile(pidfile: &Path, comm: &str) {
    let Some(pid) = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    else {
        return;
    };
    let running =
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm);
    if running {
        // SAFETY: kill(2) with a pid that the engine we started wrote and that still runs
        // the engine's program.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// A scratch directory for an engine's data: on drop, every mount below it is detached
/// (deepest first) before it is removed, so nothing of the engine stays mounted.
pub struct EngineDir {
    dir: tempfile::TempDir,
}

impl EngineDir {
    pub fn new(engine: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("enforcer-{engine}-"))
            .tempdir()
            .expect("engine dir");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Detaches every mount at or below the directory.
    pub fn unmount_all(&self) {
        let mut mounts = mounts_under(self.dir.path());
        mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
        for m in mounts {
            // SAFETY: umount2 with a NUL-terminated path; MNT_DETACH only detaches.
            let c = std::ffi::CString::new(m.as_os_str().as_encoded_bytes()).expect("path");
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

impl Drop for EngineDir {
    fn drop(&mut self) {
        self.unmount_all();
    }
}

/// Waits (up to PATIENCE) until no process has `dir` in its command line: the helpers an
/// engine leaves behind (Podman's conmon, which runs `podman container cleanup` when its
/// container ends and mounts the store again) must be done before the mounts are undone.
pub fn wait_for_helpers_of(dir: &Path) {
    let needle = dir.as_os_str().as_encoded_bytes().to_vec();
    let deadline = Instant::now() + PATIENCE;
    let mentions = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|cmd| cmd.windows(needle.len()).any(|w| w == needle.as_slice()))
    };
    while mentions() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Mount points at or below `dir`, from /proc/self/mountinfo (octal escapes decoded).
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .filter(|p| p.starts_with(dir))
        .collect()
}

fn unescape(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && let Some(n) = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|t| u8::from_str_radix(t, 8).ok())
        {
            out.push(n);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs `cmd` to its end; fails loudly with its output unless it succeeds.
pub fn checked(mut cmd: Command, what: &str) -> std::process::Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (run `cargo xtask test`)"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
