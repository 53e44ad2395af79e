//! Reading the per-CPU counters back: totals per syscall for one cgroup, and the losses.

use super::{ObserveError, Observer};
use aya::maps::{MapData, PerCpuArray, PerCpuHashMap, PerCpuValues};
use enforcer_common::{
    ErrnoKey, LOSS_COUNTS_MAP_FULL, LOSS_ERRNO_MAP_FULL, LOSS_REGS_UNREADABLE, SyscallCounts,
    SyscallKey,
};
use std::collections::BTreeMap;

/// Totals of one syscall in one cgroup, summed over CPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallStat {
    pub nr: u32,
    /// Calls that reached syscall entry (seccomp-denied calls never do).
    pub entered: u64,
    /// Calls that returned, denied ones included.
    pub exited: u64,
    /// Failed returns by errno.
    pub errors: BTreeMap<u16, u64>,
}

impl SyscallStat {
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// What the eBPF side could not count, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Losses {
    pub counts_map_full: u64,
    pub errno_map_full: u64,
    pub regs_unreadable: u64,
}

impl Losses {
    pub fn total(&self) -> u64 {
        self.counts_map_full + self.errno_map_full + self.regs_unreadable
    }
}

fn map_err(name: &'static str) -> impl Fn(aya::maps::MapError) -> ObserveError {
    move |source| ObserveError::Map { name, source }
}

fn sum<T: aya::Pod + Copy, R: std::iter::Sum<R>>(
    values: &PerCpuValues<T>,
    f: impl Fn(T) -> R,
) -> R {
    values.iter().map(|v| f(*v)).sum()
}

impl Observer {
    /// Totals per syscall for `cgroup_id`, sorted by syscall number.
    pub fn counts(&self, cgroup_id: u64) -> Result<Vec<SyscallStat>, ObserveError> {
        let mut stats: BTreeMap<u32, SyscallStat> = BTreeMap::new();
        let counts: PerCpuHashMap<&MapData, SyscallKey, SyscallCounts> =
            PerCpuHashMap::try_from(self.map("COUNTS")?).map_err(map_err("COUNTS"))?;
        for entry in counts.iter() {
            let (key, values) = entry.map_err(map_err("COUNTS"))?;
            if key.cgroup_id != cgroup_id {
                continue;
            }
            let stat = stats.entry(key.nr).or_insert_with(|| SyscallStat {
                nr: key.nr,
                ..Default::default()
            });
            stat.entered += sum(&values, |c| c.entered);
            stat.exited += sum(&values, |c| c.exited);
        }
        let errnos: PerCpuHashMap<&MapData, ErrnoKey, u64> =
            PerCpuHashMap::try_from(self.map("ERRNOS")?).map_err(map_err("ERRNOS"))?;
        for entry in errnos.iter() {
            let (key, values) = entry.map_err(map_err("ERRNOS"))?;
            if key.cgroup_id != cgroup_id {
                continue;
            }
            let stat = stats.entry(key.nr).or_insert_with(|| SyscallStat {
                nr: key.nr,
                ..Default::default()
            });
            *stat.errors.entry(key.errno).or_default() += sum(&values, |n| n);
        }
        Ok(stats.into_values().collect())
    }

    /// What could not be counted since the program was loaded.
    pub fn losses(&self) -> Result<Losses, ObserveError> {
        let losses: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(self.map("LOSSES")?).map_err(map_err("LOSSES"))?;
        let read = |i: u32| -> Result<u64, ObserveError> {
            Ok(sum(&losses.get(&i, 0).map_err(map_err("LOSSES"))?, |n| n))
        };
        Ok(Losses {
            counts_map_full: read(LOSS_COUNTS_MAP_FULL)?,
            errno_map_full: read(LOSS_ERRNO_MAP_FULL)?,
            regs_unreadable: read(LOSS_REGS_UNREADABLE)?,
        })
    }

    fn map(&self, name: &'static str) -> Result<&aya::maps::Map, ObserveError> {
        self.ebpf.map(name).ok_or(ObserveError::MissingMap(name))
    }
}
