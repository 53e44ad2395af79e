//! Size-based rotation of the event log: PATH grows to at most `max_bytes` (a single line
//! longer than that gets a file of its own), then PATH.K-1 becomes PATH.K, ..., PATH becomes
//! PATH.1, and a fresh PATH is opened. The writer rotates only between lines and after a
//! flush, so a line is never split across two files.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// `--events-max-bytes` and `--events-keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_bytes: u64,
    /// Rotated files kept (PATH.1 .. PATH.keep); the oldest beyond that is deleted.
    pub keep: u32,
}

/// PATH.n, the n-th newest rotated file.
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Tracks the size of the live file and rotates it.
pub(super) struct Rotator {
    path: PathBuf,
    rotation: Rotation,
    size: u64,
}

impl Rotator {
    /// For the file at `path`, which the sink appends to (its current size counts).
    pub fn new(path: &Path, rotation: Rotation) -> io::Result<Self> {
        let size = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        Ok(Self {
            path: path.to_owned(),
            rotation,
            size,
        })
    }

    /// Whether a line of `len` bytes must go to a fresh file. An empty file takes any line.
    pub fn due(&self, len: usize) -> bool {
        self.size > 0 && self.size.saturating_add(len as u64) > self.rotation.max_bytes
    }

    pub fn wrote(&mut self, len: usize) {
        self.size = self.size.saturating_add(len as u64);
    }

    /// Shifts the kept files by one and opens a fresh, empty PATH. The caller has flushed
    /// everything written to the old one.
    pub fn rotate(&mut self) -> io::Result<File> {
        let keep = self.rotation.keep.max(1);
        remove_if_present(&rotated_path(&self.path, keep))?;
        for n in (1..keep).rev() {
            rename_if_present(
                &rotated_path(&self.path, n),
                &rotated_path(&self.path, n + 1),
            )?;
        }
        std::fs::rename(&self.path, rotated_path(&self.path, 1))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(file)
    }
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventKind, EventSink, LifecycleEvent, Phase, SinkOptions, Workload};

    #[test]
    fn lines_are_never_split_and_only_keep_files_stay() {
        let dir = tempfile_dir();
        let path = dir.join("events.jsonl");
        let rotation = Rotation {
            max_bytes: 1000,
            keep: 3,
        };
        let sink = EventSink::open_with(
            Some(&path),
            SinkOptions {
                rotation: Some(rotation),
                ..SinkOptions::default()
            },
        )
        .unwrap();
        let workload = Workload::default();
        for i in 0..200 {
            let mut event = LifecycleEvent::phase(Phase::ObserverDegraded);
            event.pid = Some(i);
            sink.emit(&workload, EventKind::Lifecycle(event));
        }
        drop(sink);
        let mut pids = Vec::new();
        for file in [
            rotated_path(&path, 3),
            rotated_path(&path, 2),
            rotated_path(&path, 1),
        ]
        .into_iter()
        .chain([path.clone()])
        {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.len() as u64 <= rotation.max_bytes,
                "{}",
                file.display()
            );
            assert!(text.ends_with('\n'), "{} ends mid-line", file.display());
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                pids.push(v["pid"].as_u64().unwrap());
            }
        }
        assert!(!rotated_path(&path, 4).exists());
        // The newest lines, in order, with nothing missing between them.
        let first = pids[0];
        assert_eq!(pids, (first..200).collect::<Vec<_>>());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_rotated_file_begins_with_who_is_still_running() {
        let dir = tempfile_dir().join("continued");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.jsonl");
        let rotation = Rotation {
            max_bytes: 2000,
            keep: 100,
        };
        let options = SinkOptions {
            rotation: Some(rotation),
            ..SinkOptions::default()
        };
        let sink = EventSink::open_with(Some(&path), options).unwrap();
        let (a, b) = (
            Workload {
                cgroup_id: 1,
                container: None,
            },
            Workload {
                cgroup_id: 2,
                container: None,
            },
        );
        let start = |name: &str| {
            EventKind::Lifecycle(LifecycleEvent {
                command: Some(vec![name.to_string()]),
                cgroup: Some(format!("/sys/fs/cgroup/{name}")),
                ..LifecycleEvent::phase(Phase::Start)
            })
        };
        sink.emit(&a, start("a"));
        sink.emit(&b, start("b"));
        let noise = |w: &Workload, n: usize| {
            for _ in 0..n {
                sink.emit(
                    w,
                    EventKind::Lifecycle(LifecycleEvent::phase(Phase::ObserverDegraded)),
                );
            }
        };
        noise(&a, 100);
        sink.emit(&b, EventKind::Lifecycle(LifecycleEvent::phase(Phase::Exit)));
        noise(&a, 100);
        drop(sink);
        let files: Vec<PathBuf> = (1..100)
            .map(|n| rotated_path(&path, n))
            .take_while(|p| p.exists())
            .collect();
        assert!(files.len() >= 4, "{} rotations", files.len());
        let mut b_continued = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let heads: Vec<serde_json::Value> = (text.lines())
                .map(|l| serde_json::from_str(l).unwrap())
                .take_while(|v: &serde_json::Value| v["phase"] == "continued")
                .collect();
            let oldest = file == files.last().unwrap();
            assert!(
                oldest
                    || heads.iter().any(|v| v["cgroup_id"] == 1
                        && v["command"][0] == "a"
                        && v["cgroup"] == "/sys/fs/cgroup/a"),
                "{}: {text}",
                file.display()
            );
            b_continued += heads.iter().filter(|v| v["cgroup_id"] == 2).count();
        }
        // b ended a hundred lines in: only the files begun before its exit name it.
        assert!(
            b_continued > 0 && b_continued < files.len() - 1,
            "{b_continued}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("enforcer-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
