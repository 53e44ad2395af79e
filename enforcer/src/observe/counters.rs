//! Reading the per-CPU counters back: totals per syscall and ABI for the watched cgroups, what
//! could not be counted, and how many detailed events were submitted.

use super::Observer;
use super::loader::{ObserveError, map_err, removed_or_absent};
use crate::events::LostWhat;
use aya::maps::{MapData, PerCpuArray, PerCpuHashMap, PerCpuValues};
use enforcer_common::{
    DELIVERY_SUBMITTED, ErrnoKey, LOSS_COUNTS_MAP_FULL, LOSS_ERRNO_MAP_FULL, LOSS_PENDING_MAP_FULL,
    LOSS_REGS_UNREADABLE, LOSS_RING_BUFFER_FULL, LOSS_TASK_UNREADABLE, SyscallCounts, SyscallKey,
};
use std::collections::BTreeMap;

/// Totals of one syscall of one ABI in one cgroup, summed over CPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallStat {
    pub nr: u32,
    /// `ARCH_*` of the eBPF side.
    pub arch: u32,
    /// Calls that reached syscall entry (seccomp-denied calls never do); a restarted call
    /// once.
    pub entered: u64,
    /// Calls stopped before entry (by seccomp, or by the supervisor's answer): an exit
    /// with no entry on its task, fork children's first returns and rt_sigreturn aside.
    pub stopped: u64,
    /// Failed returns by errno.
    pub errors: BTreeMap<u16, u64>,
}

impl SyscallStat {
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Calls the workload made, each once.
    pub fn calls(&self) -> u64 {
        self.entered + self.stopped
    }
}

/// Per cgroup id, its syscall totals sorted by (arch, nr).
pub type CgroupStats = BTreeMap<u64, Vec<SyscallStat>>;

/// What the eBPF side could not count or deliver, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Losses {
    pub counts_map_full: u64,
    pub errno_map_full: u64,
    pub regs_unreadable: u64,
    pub ring_buffer_full: u64,
    pub pending_map_full: u64,
    pub task_unreadable: u64,
}

impl Losses {
    pub fn total(&self) -> u64 {
        self.kinds().iter().map(|(_, n)| n).sum()
    }

    /// Each kind with the name `lost` events give it.
    pub fn kinds(&self) -> [(LostWhat, u64); 6] {
        [
            (LostWhat::SyscallCount, self.counts_map_full),
            (LostWhat::ErrnoCount, self.errno_map_full),
            (LostWhat::SyscallNumber, self.regs_unreadable),
            (LostWhat::SyscallEvent, self.ring_buffer_full),
            (LostWhat::SyscallArgsAtEntry, self.pending_map_full),
            (LostWhat::SyscallAbi, self.task_unreadable),
        ]
    }

    /// What was lost since `before`.
    pub fn since(&self, before: &Losses) -> Losses {
        Losses {
            counts_map_full: self.counts_map_full - before.counts_map_full,
            errno_map_full: self.errno_map_full - before.errno_map_full,
            regs_unreadable: self.regs_unreadable - before.regs_unreadable,
            ring_buffer_full: self.ring_buffer_full - before.ring_buffer_full,
            pending_map_full: self.pending_map_full - before.pending_map_full,
            task_unreadable: self.task_unreadable - before.task_unreadable,
        }
    }
}

fn sum<T: aya::Pod + Copy, R: std::iter::Sum<R>>(
    values: &PerCpuValues<T>,
    f: impl Fn(T) -> R,
) -> R {
    values.iter().map(|v| f(*v)).sum()
}

impl Observer {
    /// Totals per syscall for `cgroup_id`, sorted by (arch, syscall number).
    pub fn counts(&self, cgroup_id: u64) -> Result<Vec<SyscallStat>, ObserveError> {
        Ok(self
            .counts_where(|id| id == cgroup_id)?
            .remove(&cgroup_id)
            .unwrap_or_default())
    }

    /// Totals of every cgroup that has any.
    pub fn all_counts(&self) -> Result<CgroupStats, ObserveError> {
        self.counts_where(|_| true)
    }

    fn counts_where(&self, wanted: impl Fn(u64) -> bool) -> Result<CgroupStats, ObserveError> {
        let mut stats: BTreeMap<(u64, u32, u32), SyscallStat> = BTreeMap::new();
        fn stat(
            stats: &mut BTreeMap<(u64, u32, u32), SyscallStat>,
            (cgroup_id, arch, nr): (u64, u32, u32),
        ) -> &mut SyscallStat {
            stats
                .entry((cgroup_id, arch, nr))
                .or_insert_with(|| SyscallStat {
                    nr,
                    arch,
                    ..Default::default()
                })
        }
        // A cgroup counts in its dense block, and in the hash map for numbers outside it (or
        // all of them when it got no block): the totals add both.
        for (cgroup_id, arch, nr, counts) in self.dense_counts(&wanted)? {
            let s = stat(&mut stats, (cgroup_id, arch, nr));
            s.entered += counts.entered;
            s.stopped += counts.stopped;
        }
        let counts: PerCpuHashMap<&MapData, SyscallKey, SyscallCounts> =
            PerCpuHashMap::try_from(self.map("COUNTS")?).map_err(map_err("COUNTS"))?;
        for entry in counts.iter() {
            let (key, values) = entry.map_err(map_err("COUNTS"))?;
            if !wanted(key.cgroup_id) {
                continue;
            }
            let s = stat(&mut stats, (key.cgroup_id, key.arch, key.nr));
            s.entered += sum(&values, |c| c.entered);
            s.stopped += sum(&values, |c| c.stopped);
        }
        let errnos: PerCpuHashMap<&MapData, ErrnoKey, u64> =
            PerCpuHashMap::try_from(self.map("ERRNOS")?).map_err(map_err("ERRNOS"))?;
        for entry in errnos.iter() {
            let (key, values) = entry.map_err(map_err("ERRNOS"))?;
            if !wanted(key.cgroup_id) {
                continue;
            }
            let s = stat(&mut stats, (key.cgroup_id, key.arch.into(), key.nr));
            *s.errors.entry(key.errno).or_default() += sum(&values, |n| n);
        }
        let mut by_cgroup = CgroupStats::new();
        for ((cgroup_id, _, _), s) in stats {
            by_cgroup.entry(cgroup_id).or_default().push(s);
        }
        Ok(by_cgroup)
    }

    /// Drops the counters of `cgroup_id` (a cgroup that is gone).
    pub fn forget(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        fn purge<K: aya::Pod, V: aya::Pod>(
            map: &mut PerCpuHashMap<&mut MapData, K, V>,
            name: &'static str,
            matches: impl Fn(&K) -> bool,
        ) -> Result<(), ObserveError> {
            let keys: Vec<K> = map.keys().filter_map(Result::ok).filter(matches).collect();
            for key in keys {
                removed_or_absent(name, map.remove(&key))?;
            }
            Ok(())
        }
        self.dense.release(cgroup_id);
        let mut counts: PerCpuHashMap<_, SyscallKey, SyscallCounts> = self.map_mut_as("COUNTS")?;
        purge(&mut counts, "COUNTS", |k| k.cgroup_id == cgroup_id)?;
        let mut errnos: PerCpuHashMap<_, ErrnoKey, u64> = self.map_mut_as("ERRNOS")?;
        purge(&mut errnos, "ERRNOS", |k| k.cgroup_id == cgroup_id)
    }

    /// What could not be counted or delivered since the program was loaded.
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
            ring_buffer_full: read(LOSS_RING_BUFFER_FULL)?,
            pending_map_full: read(LOSS_PENDING_MAP_FULL)?,
            task_unreadable: read(LOSS_TASK_UNREADABLE)?,
        })
    }

    /// Detailed events the eBPF side submitted to the ring buffer since it was loaded.
    pub fn submitted_events(&self) -> Result<u64, ObserveError> {
        let delivery: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(self.map("DELIVERY")?).map_err(map_err("DELIVERY"))?;
        Ok(sum(
            &delivery
                .get(&DELIVERY_SUBMITTED, 0)
                .map_err(map_err("DELIVERY"))?,
            |n| n,
        ))
    }
}
