//! The dense counter array's slots: which watched cgroup counts in which block. A cgroup
//! keeps its slot until it is forgotten; a slot given back is zeroed before its next owner
//! gets it, so counts never carry over from one cgroup to another.

use super::Observer;
use super::loader::{ObserveError, map_err};
use aya::maps::{MapData, PerCpuArray, PerCpuValues};
use enforcer_common::{DENSE_CALLS, DenseBlock, MAX_DENSE_SLOTS, SyscallCounts, dense_call};

/// Memory the dense array may take over all CPUs; on machines with more than 32 CPUs it
/// holds fewer slots than `MAX_DENSE_SLOTS`.
const DENSE_BUDGET_BYTES: u64 = 64 << 20;

/// How many slots the array gets on a machine with `cpus` possible CPUs.
pub fn slots_for(cpus: u32) -> u32 {
    let per_slot = u64::from(DENSE_CALLS) * size_of::<SyscallCounts>() as u64 * u64::from(cpus);
    (DENSE_BUDGET_BYTES / per_slot.max(1)).clamp(1, u64::from(MAX_DENSE_SLOTS)) as u32
}

/// What one slot of the array holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Never used: all zeros.
    Clean,
    /// Given back: holds the counts of a cgroup that is gone, to be zeroed before reuse.
    Dirty,
    Owned(u64),
}

/// Slot bookkeeping, on the userspace side only.
#[derive(Debug, Default)]
pub struct DenseSlots {
    slots: Vec<Slot>,
}

impl DenseSlots {
    pub fn new(slots: u32) -> Self {
        Self {
            slots: vec![Slot::Clean; slots as usize],
        }
    }

    pub fn slot_of(&self, cgroup_id: u64) -> Option<u32> {
        let index = self
            .slots
            .iter()
            .position(|s| *s == Slot::Owned(cgroup_id))?;
        Some(index as u32)
    }

    /// A slot for `cgroup_id`: its own, or the lowest free one (with whether it must be
    /// zeroed first); None when every slot is taken.
    pub fn assign(&mut self, cgroup_id: u64) -> Option<(u32, bool)> {
        if let Some(slot) = self.slot_of(cgroup_id) {
            return Some((slot, false));
        }
        let index = self
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Clean | Slot::Dirty))?;
        let dirty = self.slots[index] == Slot::Dirty;
        self.slots[index] = Slot::Owned(cgroup_id);
        Some((index as u32, dirty))
    }

    /// Gives back the slot of `cgroup_id`, if it has one.
    pub fn release(&mut self, cgroup_id: u64) {
        if let Some(slot) = self.slot_of(cgroup_id) {
            self.slots[slot as usize] = Slot::Dirty;
        }
    }

    pub fn owners(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Owned(c) => Some((*c, i as u32)),
            _ => None,
        })
    }
}

impl Observer {
    /// The slot `cgroup_id` counts in, zeroed if it was someone else's; None: the hash map.
    pub(super) fn assign_dense_slot(
        &mut self,
        cgroup_id: u64,
    ) -> Result<Option<u32>, ObserveError> {
        let Some((slot, dirty)) = self.dense.assign(cgroup_id) else {
            return Ok(None);
        };
        if dirty {
            let cpus = aya::util::nr_cpus().map_err(|(_, e)| ObserveError::Cpus(e))?;
            let zero: DenseBlock = [SyscallCounts::default(); DENSE_CALLS as usize];
            let values = PerCpuValues::try_from(vec![zero; cpus]).map_err(ObserveError::Cpus)?;
            let mut array: PerCpuArray<_, DenseBlock> = self.map_mut_as("DENSE")?;
            array.set(slot, values, 0).map_err(map_err("DENSE"))?;
        }
        Ok(Some(slot))
    }

    /// Counts of the cgroups with a dense slot, as (cgroup, arch, nr, counts), nonzero only.
    pub(super) fn dense_counts(
        &self,
        wanted: &impl Fn(u64) -> bool,
    ) -> Result<Vec<(u64, u32, u32, SyscallCounts)>, ObserveError> {
        let map = self.map("DENSE")?;
        let array: PerCpuArray<&MapData, DenseBlock> =
            PerCpuArray::try_from(map).map_err(map_err("DENSE"))?;
        let mut out = Vec::new();
        for (cgroup_id, slot) in self.dense.owners().filter(|(c, _)| wanted(*c)) {
            let per_cpu = array.get(&slot, 0).map_err(map_err("DENSE"))?;
            for (index, call) in (0..DENSE_CALLS).filter_map(|i| Some((i, dense_call(i)?))) {
                let mut total = SyscallCounts::default();
                for block in per_cpu.iter() {
                    let c = block[index as usize];
                    total.entered += c.entered;
                    total.stopped += c.stopped;
                }
                if total != SyscallCounts::default() {
                    out.push((cgroup_id, call.0, call.1, total));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_given_back_is_marked_for_zeroing_and_reused() {
        let mut slots = DenseSlots::new(2);
        assert_eq!(slots.assign(10), Some((0, false)));
        assert_eq!(slots.assign(11), Some((1, false)));
        assert_eq!(
            slots.assign(10),
            Some((0, false)),
            "a cgroup keeps its slot"
        );
        assert_eq!(slots.assign(12), None, "all taken: the hash map counts it");
        slots.release(10);
        assert_eq!(slots.slot_of(10), None);
        assert_eq!(slots.assign(12), Some((0, true)), "reused, zeroed first");
        assert_eq!(slots.assign(12), Some((0, false)));
    }

    /// Real kernel: with one dense slot and one watch table entry, a second cgroup is
    /// watched and counted in the hash maps, the slot of a forgotten cgroup starts from zero
    /// for the next one, and a watch moves from the hash map to a freed table entry.
    #[test]
    fn counts_stay_exact_across_slot_reuse_and_the_hash_maps() {
        use crate::cgroup::WorkloadCgroup;
        use crate::observe::{LoadOptions, WatchSpec};
        use enforcer_common::ARCH_NATIVE;
        use std::os::fd::AsRawFd;

        let mut observer = Observer::load_with(&LoadOptions {
            dense_slots: Some(1),
            watch_table_slots: Some(1),
            ..LoadOptions::default()
        })
        .expect("load the observer (root, and built by cargo xtask)");
        let getppids = |observer: &Observer, cg: &WorkloadCgroup| -> Option<u64> {
            let counts = observer.counts(cg.id()).expect("counts");
            let nr = libc::SYS_getppid as u32;
            let s = counts
                .iter()
                .find(|s| s.nr == nr && s.arch == ARCH_NATIVE)?;
            assert_eq!(s.stopped, 0, "{s:?}");
            Some(s.entered)
        };
        /// A child that joins `cg` and calls getppid `n` times.
        fn run_in(cg: &WorkloadCgroup, n: usize) {
            let procs = cg.procs_file().expect("cgroup.procs");
            // SAFETY: the child only makes raw syscalls (write, getppid, _exit), which are
            // safe after fork in a multi-threaded process.
            match unsafe { libc::fork() } {
                0 => unsafe {
                    if libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) != 1 {
                        libc::_exit(1);
                    }
                    for _ in 0..n {
                        libc::getppid();
                    }
                    libc::_exit(0)
                },
                pid => {
                    let mut status = 0;
                    // SAFETY: waiting for our own child.
                    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
                    assert_eq!(status, 0, "child failed");
                }
            }
        }
        let tag = std::process::id();
        let spec = WatchSpec::default();
        let first = WorkloadCgroup::create(&format!("dense-test-a-{tag}")).unwrap();
        observer.watch(first.id(), &spec).unwrap();
        assert_eq!(observer.dense.slot_of(first.id()), Some(0));
        run_in(&first, 300);
        assert_eq!(getppids(&observer, &first), Some(300));

        let second = WorkloadCgroup::create(&format!("dense-test-b-{tag}")).unwrap();
        observer.watch(second.id(), &spec).unwrap();
        assert_eq!(observer.dense.slot_of(second.id()), None, "no slot left");
        assert_eq!(observer.watch_table_holder(0).unwrap(), first.id());
        run_in(&second, 200);
        assert_eq!(getppids(&observer, &second), Some(200), "hash maps count");
        let mut watched = observer.watches_in_maps().unwrap();
        watched.sort();
        assert_eq!(watched, vec![first.id(), second.id()]);

        observer.unwatch(first.id()).unwrap();
        observer.forget(first.id()).unwrap();
        first.remove().unwrap();
        assert_eq!(observer.watches_in_maps().unwrap(), vec![second.id()]);
        // Watched again, the second moves into the freed table entry and takes the freed
        // dense slot, zeroed: its totals add the hash map's 200 and the slot's new calls.
        observer.watch(second.id(), &spec).unwrap();
        assert_eq!(observer.watch_table_holder(0).unwrap(), second.id());
        assert_eq!(observer.dense.slot_of(second.id()), Some(0), "slot reused");
        assert_eq!(observer.watches_in_maps().unwrap(), vec![second.id()]);
        assert_eq!(getppids(&observer, &second), Some(200), "slot zeroed");
        run_in(&second, 50);
        assert_eq!(getppids(&observer, &second), Some(250));

        let third = WorkloadCgroup::create(&format!("dense-test-c-{tag}")).unwrap();
        observer.watch(third.id(), &spec).unwrap();
        assert_eq!(observer.dense.slot_of(third.id()), None);
        run_in(&third, 100);
        assert_eq!(getppids(&observer, &third), Some(100));
        assert_eq!(getppids(&observer, &second), Some(250));
        second.remove().unwrap();
        third.remove().unwrap();
    }

    #[test]
    fn slots_fit_the_memory_budget() {
        assert_eq!(slots_for(2), MAX_DENSE_SLOTS);
        assert_eq!(slots_for(32), MAX_DENSE_SLOTS);
        assert_eq!(slots_for(128), 16);
        assert_eq!(slots_for(100_000), 1);
    }
}
