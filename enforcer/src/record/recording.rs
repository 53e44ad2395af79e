//! A recording: which syscalls a workload made and how often, and the argument values of the
//! argument-aware ones. Stored in the generated profile under a top-level key that Docker and
//! the profile loader ignore, so that `--merge` can union recordings of several runs.

use super::args::arg_rule;
use crate::observe::{SyscallStat, profile_arch};
use crate::profile::{self, Arch};
use enforcer_common::{ARCH_NATIVE, CallRecord};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The profile's top-level key that holds the recording.
pub const ANNOTATION: &str = "x-enforcer-recording";
pub const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{0}")]
    Profile(#[from] profile::ProfileError),
    #[error("--merge {}: {json_path}: {problem}", file.display())]
    Invalid {
        file: PathBuf,
        json_path: String,
        problem: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub version: u32,
    /// The native architecture (`SCMP_ARCH_X86_64`): the profile allows its calls only.
    pub arch: String,
    /// How many runs were merged into this one.
    pub runs: u64,
    /// Calls per syscall name, summed over the runs (the coverage).
    pub syscalls: BTreeMap<String, u64>,
    /// Argument values seen, per argument-aware syscall (register values).
    #[serde(default)]
    pub args: BTreeMap<String, BTreeSet<u64>>,
    /// Argument-aware syscalls whose values may be incomplete (detailed events were lost):
    /// the profile allows them by name.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub incomplete: BTreeSet<String>,
    /// Calls through the other ABIs (i386, x32), per ABI and name: seen, not allowed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other_abis: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Argument values collected from the observer's detailed events during one run.
#[derive(Debug, Default)]
pub struct ArgValues {
    values: BTreeMap<String, BTreeSet<u64>>,
}

impl ArgValues {
    pub fn add(&mut self, rec: &CallRecord) {
        if rec.arch != ARCH_NATIVE {
            return;
        }
        let Some(name) = profile::syscall_name(rec.nr.into(), profile::native_arch()) else {
            return;
        };
        if let Some(rule) = arg_rule(&name) {
            let value = rec.args[usize::from(rule.index)];
            self.values.entry(name).or_default().insert(value);
        }
    }
}

impl Recording {
    /// One run: the counts of the workload's cgroup and the values its detailed events carried;
    /// `complete` is false when some detailed events were lost.
    pub fn of_run(stats: &[SyscallStat], values: ArgValues, complete: bool) -> Self {
        let native = profile::native_arch();
        let mut rec = Recording {
            version: VERSION,
            arch: native.scmp_name().to_owned(),
            runs: 1,
            ..Default::default()
        };
        // What the kernel ran: a call the filter stopped (clone3's ENOSYS while recording, or
        // the container's own profile under --cgroup) is not allowed by the recording.
        for stat in stats.iter().filter(|s| s.entered > 0) {
            let arch = profile_arch(stat.arch);
            let Some(name) = profile::syscall_name(stat.nr.into(), arch) else {
                continue;
            };
            if stat.arch == ARCH_NATIVE {
                *rec.syscalls.entry(name).or_default() += stat.entered;
            } else {
                *(rec.other_abis.entry(crate::events::arch_label(arch)))
                    .or_default()
                    .entry(name)
                    .or_default() += stat.entered;
            }
        }
        for name in rec.syscalls.keys().filter(|n| arg_rule(n).is_some()) {
            match values.values.get(name) {
                Some(v) if complete => {
                    rec.args.insert(name.clone(), v.clone());
                }
                _ => {
                    rec.incomplete.insert(name.clone());
                }
            }
        }
        rec
    }

    /// Adds another recording of the same workload: counts summed, values and names united.
    pub fn merge(&mut self, other: Recording) {
        self.runs += other.runs;
        for (name, n) in other.syscalls {
            *self.syscalls.entry(name).or_default() += n;
        }
        for (name, values) in other.args {
            self.args.entry(name).or_default().extend(values);
        }
        self.incomplete.extend(other.incomplete);
        for (abi, calls) in other.other_abis {
            let mine = self.other_abis.entry(abi).or_default();
            for (name, n) in calls {
                *mine.entry(name).or_default() += n;
            }
        }
    }

    /// The recording in a profile that `enforcer record` wrote. The file must be a valid
    /// profile and carry the annotation, for this architecture.
    pub fn read_from(file: &Path) -> Result<Self, RecordingError> {
        let loaded = profile::load_file(file, &profile::LoadOptions::default())?;
        drop(loaded);
        let invalid = |json_path: &str, problem: String| RecordingError::Invalid {
            file: file.to_owned(),
            json_path: json_path.to_owned(),
            problem,
        };
        let text =
            std::fs::read_to_string(file).map_err(|e| invalid("$", format!("cannot read: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid("$", e.to_string()))?;
        let path = format!("$.{ANNOTATION}");
        let annotation = value.get(ANNOTATION).cloned().ok_or_else(|| {
            invalid(
                &path,
                "missing: --merge takes a profile written by `enforcer record`".into(),
            )
        })?;
        let rec: Recording = serde_path_to_error::deserialize(annotation).map_err(|e| {
            let inner = e.path().to_string();
            let at = if inner == "." {
                path.clone()
            } else {
                format!("{path}.{inner}")
            };
            invalid(&at, e.into_inner().to_string())
        })?;
        if rec.version != VERSION {
            return Err(invalid(
                &format!("{path}.version"),
                format!("version {} is not {VERSION}", rec.version),
            ));
        }
        let native: Arch = profile::native_arch();
        if rec.arch != native.scmp_name() {
            return Err(invalid(
                &format!("{path}.arch"),
                format!(
                    "recorded on {}, this host is {}",
                    rec.arch,
                    native.scmp_name()
                ),
            ));
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(nr: u32, arch: u32, calls: u64) -> SyscallStat {
        SyscallStat {
            nr,
            arch,
            entered: calls,
            stopped: 0,
            errors: Default::default(),
        }
    }

    fn record(nr: u32, arg0: u64) -> CallRecord {
        CallRecord {
            nr,
            args: [arg0, 0, 0, 0, 0, 0],
            ..Default::default()
        }
    }

    #[test]
    fn a_run_keeps_counts_values_and_other_abis_apart() {
        let mut values = ArgValues::default();
        values.add(&record(41, 1)); // socket(AF_UNIX)
        values.add(&record(41, 2)); // socket(AF_INET)
        values.add(&record(0, 5)); // read: not argument-aware
        let stats = [stat(0, 0, 10), stat(41, 0, 2), stat(20, 1, 1)];
        let rec = Recording::of_run(&stats, values, true);
        assert_eq!(rec.syscalls["read"], 10);
        assert_eq!(rec.args["socket"], BTreeSet::from([1, 2]));
        assert!(!rec.args.contains_key("read"));
        assert_eq!(rec.other_abis["x86"]["getpid"], 1);
        assert!(rec.incomplete.is_empty());
    }

    #[test]
    fn lost_events_make_argument_values_incomplete() {
        let stats = [stat(41, 0, 2)];
        let rec = Recording::of_run(&stats, ArgValues::default(), false);
        assert!(rec.incomplete.contains("socket"));
        assert!(rec.args.is_empty());
    }

    #[test]
    fn merge_sums_counts_and_unites_values() {
        let mut a = Recording::of_run(&[stat(0, 0, 3), stat(41, 0, 1)], values(&[1]), true);
        let b = Recording::of_run(
            &[stat(0, 0, 4), stat(39, 0, 1), stat(41, 0, 1)],
            values(&[10]),
            true,
        );
        a.merge(b);
        assert_eq!(a.runs, 2);
        assert_eq!(a.syscalls["read"], 7);
        assert_eq!(a.syscalls["getpid"], 1);
        assert_eq!(a.args["socket"], BTreeSet::from([1, 10]));
    }

    fn values(socket_families: &[u64]) -> ArgValues {
        let mut v = ArgValues::default();
        for f in socket_families {
            v.add(&record(41, *f));
        }
        v
    }
}
