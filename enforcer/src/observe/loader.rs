//! Loading and attaching the embedded eBPF object, and choosing what it watches.

use super::btf::{self, BtfError};
use super::dense::{self, DenseSlots};
use super::selection::Selection;
use aya::maps::{Array, HashMap, MapData, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Ebpf, EbpfError, EbpfLoader, include_bytes_aligned};
use enforcer_common::{
    NO_DENSE_SLOT, RING_BUFFER_BYTES, STATE_ACTIVE, STATE_AWAIT_EXEC, SyscallKey,
    WATCH_BITMAP_WORDS, WATCH_TABLE_SLOTS, WatchState,
};

/// The object `cargo xtask build` compiled; empty when the binary was built without it.
static EBPF_OBJECT: &[u8] = include_bytes_aligned!(concat!(env!("OUT_DIR"), "/enforcer.bpf.o"));

/// The tracepoint programs of the object, with the tracepoint each is attached to.
const PROGRAMS: [(&str, &str); 2] = [("sys_enter", "sys_enter"), ("sys_exit", "sys_exit")];
/// Programs that return at once, for measuring the tracepoints' own cost.
const EMPTY_PROGRAMS: [(&str, &str); 2] =
    [("floor_enter", "sys_enter"), ("floor_exit", "sys_exit")];

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(
        "this enforcer binary was built without its eBPF object (build it with `cargo xtask build`)"
    )]
    NoObject,
    #[error("{0}")]
    Btf(#[from] BtfError),
    #[error("ring buffer size {0}: must be a power of two of at least 4096 bytes")]
    RingBufferSize(u32),
    #[error("watch table size {0}: must be a power of two")]
    WatchTableSize(u32),
    #[error("loading the eBPF object: {0}")]
    Load(#[from] EbpfError),
    #[error("eBPF program {name}: {source}")]
    Program {
        name: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("eBPF map {name}: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("eBPF map {0} is missing from the object (or was already taken)")]
    MissingMap(&'static str),
    #[error("counting the possible CPUs (/sys/devices/system/cpu/possible): {0}")]
    Cpus(#[source] std::io::Error),
}

pub(super) fn map_err(name: &'static str) -> impl Fn(aya::maps::MapError) -> ObserveError {
    move |source| ObserveError::Map { name, source }
}

/// A map removal's result, where a key that is not there (any more) is not an error: aya
/// reports that as the syscall's ENOENT.
pub(super) fn removed_or_absent(
    name: &'static str,
    result: Result<(), aya::maps::MapError>,
) -> Result<(), ObserveError> {
    match result {
        Err(aya::maps::MapError::SyscallError(e))
            if e.io_error.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(())
        }
        other => other.map_err(map_err(name)),
    }
}

/// How the program is loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Size of the ring buffer of detailed events, in bytes.
    pub ring_buffer_bytes: u32,
    /// Attach programs that return at once instead (nothing is counted): the benchmark's
    /// measure of what the raw_syscalls tracepoints cost by themselves.
    pub empty_programs: bool,
    /// Cgroups counted in the dense per-CPU array at most (the others in the hash map);
    /// None: as many as the memory budget allows for this machine's CPUs.
    pub dense_slots: Option<u32>,
    /// Entries of the direct-mapped watch table (a power of two); None: `WATCH_TABLE_SLOTS`.
    /// Smaller only in tests, to make cgroups share an entry.
    pub watch_table_slots: Option<u32>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            ring_buffer_bytes: RING_BUFFER_BYTES,
            empty_programs: false,
            dense_slots: None,
            watch_table_slots: None,
        }
    }
}

/// How one cgroup is watched.
#[derive(Debug, Clone, Default)]
pub struct WatchSpec {
    /// Count nothing until the first successful execve in the cgroup returns: a workload the
    /// enforcer launches joins its cgroup before exec, and the launcher's own calls in
    /// between are not the workload's.
    pub from_exec: bool,
    /// The calls that get detailed events.
    pub selection: Selection,
}

/// A loaded and attached observer. Dropping it detaches the programs.
pub struct Observer {
    pub(super) ebpf: Ebpf,
    pub(super) dense: DenseSlots,
    pub(super) watch_table_mask: u64,
}

impl Observer {
    /// Loads with the default options.
    pub fn load() -> Result<Self, ObserveError> {
        Self::load_with(&LoadOptions::default())
    }

    /// Loads the programs and attaches them to `raw_syscalls:sys_enter` / `sys_exit` as BTF
    /// tracepoints, which need no tracefs. The kernel's BTF types the programs' arguments and
    /// gives the layout facts they need (where the i386 compat bit and the cgroup id are).
    pub fn load_with(options: &LoadOptions) -> Result<Self, ObserveError> {
        if EBPF_OBJECT.is_empty() {
            return Err(ObserveError::NoObject);
        }
        let bytes = options.ring_buffer_bytes;
        if bytes < 4096 || !bytes.is_power_of_two() {
            return Err(ObserveError::RingBufferSize(bytes));
        }
        let layout = btf::task_layout(std::path::Path::new(btf::VMLINUX_BTF))?;
        let slots = match options.dense_slots {
            Some(n) => n.min(enforcer_common::MAX_DENSE_SLOTS),
            None => {
                let cpus = aya::util::nr_cpus().map_err(|(_, e)| ObserveError::Cpus(e))?;
                dense::slots_for(u32::try_from(cpus).unwrap_or(u32::MAX))
            }
        };
        let btf = aya::Btf::from_sys_fs().map_err(|e| {
            ObserveError::Btf(BtfError::Read {
                path: btf::VMLINUX_BTF.into(),
                message: e.to_string(),
            })
        })?;
        let table_slots = options.watch_table_slots.unwrap_or(WATCH_TABLE_SLOTS);
        if !table_slots.is_power_of_two() {
            return Err(ObserveError::WatchTableSize(table_slots));
        }
        let watch_table_mask = u64::from(table_slots - 1);
        let mut ebpf = EbpfLoader::new()
            .override_global("WATCH_TABLE_MASK", &watch_table_mask, true)
            .map_max_entries("WATCH_TABLE", table_slots)
            .override_global("TASK_LAYOUT", &layout, true)
            .map_max_entries("EVENTS", bytes)
            // An array cannot be empty; with no slots to give, entry 0 is never used.
            .map_max_entries("DENSE", slots.max(1))
            .load(EBPF_OBJECT)?;
        let programs = if options.empty_programs {
            EMPTY_PROGRAMS
        } else {
            PROGRAMS
        };
        for (name, tracepoint) in programs {
            let program: &mut BtfTracePoint = ebpf
                .program_mut(name)
                .ok_or(ObserveError::Program {
                    name,
                    source: aya::programs::ProgramError::UnexpectedProgramType,
                })?
                .try_into()
                .map_err(|source| ObserveError::Program { name, source })?;
            program
                .load(tracepoint, &btf)
                .map_err(|source| ObserveError::Program { name, source })?;
            program
                .attach()
                .map_err(|source| ObserveError::Program { name, source })?;
        }
        Ok(Self {
            ebpf,
            dense: DenseSlots::new(slots),
            watch_table_mask,
        })
    }

    /// Starts (or changes) the watch of cgroup `cgroup_id`.
    pub fn watch(&mut self, cgroup_id: u64, spec: &WatchSpec) -> Result<(), ObserveError> {
        self.clear_selection(cgroup_id)?;
        // The selection goes in before the watch entry that points at it.
        let mut selected: HashMap<_, SyscallKey, u8> = self.map_mut_as("SELECTED")?;
        for (arch, nr) in spec.selection.listed() {
            selected
                .insert(
                    SyscallKey {
                        cgroup_id,
                        nr,
                        arch,
                    },
                    1,
                    0,
                )
                .map_err(map_err("SELECTED"))?;
        }
        let state = WatchState {
            state: if spec.from_exec {
                STATE_AWAIT_EXEC
            } else {
                STATE_ACTIVE
            },
            select: spec.selection.modes(),
            dense_slot: self.assign_dense_slot(cgroup_id)?.unwrap_or(NO_DENSE_SLOT),
            _pad: 0,
        };
        self.place_watch(cgroup_id, state)?;
        self.set_watch_bit(cgroup_id, true)
    }

    /// Stops counting for `cgroup_id`; its counters stay readable until [`Observer::forget`].
    pub fn unwatch(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        self.set_watch_bit(cgroup_id, false)?;
        self.remove_watch(cgroup_id)?;
        self.clear_selection(cgroup_id)
    }

    /// Takes the ring buffer of detailed events out of the object, for a reader task.
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>, ObserveError> {
        let map = self
            .ebpf
            .take_map("EVENTS")
            .ok_or(ObserveError::MissingMap("EVENTS"))?;
        RingBuf::try_from(map).map_err(map_err("EVENTS"))
    }

    /// The bitmap the programs read first (ids beyond it are found in WATCHED alone).
    fn set_watch_bit(&mut self, cgroup_id: u64, on: bool) -> Result<(), ObserveError> {
        let Ok(word) = u32::try_from(cgroup_id / 64) else {
            return Ok(());
        };
        if word >= WATCH_BITMAP_WORDS {
            return Ok(());
        }
        let map = self
            .ebpf
            .map_mut("WATCH_BITS")
            .ok_or(ObserveError::MissingMap("WATCH_BITS"))?;
        let mut bits: Array<&mut MapData, u64> =
            Array::try_from(map).map_err(map_err("WATCH_BITS"))?;
        let old = bits.get(&word, 0).map_err(map_err("WATCH_BITS"))?;
        let bit = 1u64 << (cgroup_id % 64);
        let new = if on { old | bit } else { old & !bit };
        bits.set(word, new, 0).map_err(map_err("WATCH_BITS"))
    }

    fn clear_selection(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        let mut selected: HashMap<_, SyscallKey, u8> = self.map_mut_as("SELECTED")?;
        let keys: Vec<SyscallKey> = selected
            .keys()
            .filter_map(Result::ok)
            .filter(|k| k.cgroup_id == cgroup_id)
            .collect();
        for key in keys {
            removed_or_absent("SELECTED", selected.remove(&key))?;
        }
        Ok(())
    }

    /// Map `name` of the object, as the typed map `M` (HashMap, Array, ...), for writing.
    pub(super) fn map_mut_as<'a, M>(&'a mut self, name: &'static str) -> Result<M, ObserveError>
    where
        M: TryFrom<&'a mut aya::maps::Map, Error = aya::maps::MapError>,
    {
        let map = self
            .ebpf
            .map_mut(name)
            .ok_or(ObserveError::MissingMap(name))?;
        M::try_from(map).map_err(map_err(name))
    }

    pub(super) fn map(&self, name: &'static str) -> Result<&aya::maps::Map, ObserveError> {
        self.ebpf.map(name).ok_or(ObserveError::MissingMap(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(errno: i32) -> Result<(), aya::maps::MapError> {
        Err(aya::maps::MapError::SyscallError(aya::sys::SyscallError {
            call: "bpf_map_delete_elem",
            io_error: std::io::Error::from_raw_os_error(errno),
        }))
    }

    #[test]
    fn removing_a_key_that_is_gone_is_not_an_error() {
        assert!(removed_or_absent("M", Ok(())).is_ok());
        assert!(removed_or_absent("M", failed(libc::ENOENT)).is_ok());
        let e = removed_or_absent("M", failed(libc::EPERM)).unwrap_err();
        assert!(e.to_string().contains("eBPF map M"), "{e}");
    }
}
