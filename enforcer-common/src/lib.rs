//! Types shared by the eBPF observer and its userspace loader. `#[repr(C)]` with explicit
//! padding so both sides agree on the layout byte for byte.
#![no_std]

/// Key of the per-CPU syscall counters: one slot per watched cgroup, syscall number and ABI.
/// Also the key of the detailed-event selection map.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyscallKey {
    /// cgroup v2 id (inode of the cgroup directory in the unified hierarchy).
    pub cgroup_id: u64,
    /// Syscall number as the task's ABI numbers it (see `arch`); x32 numbers keep bit 30.
    pub nr: u32,
    /// One of the `ARCH_*` constants: which syscall table `nr` belongs to.
    pub arch: u32,
}

/// Counters per `SyscallKey`, per CPU; failed returns are counted by errno in `ERRNOS`.
/// Also the value of the dense counter array (see `DENSE_CALLS`). Each call the workload
/// makes is counted once, in one of the two: a call is `entered + stopped`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallCounts {
    /// Calls that reached `sys_enter` (seccomp-denied calls never do); a call the kernel
    /// restarts after a signal is counted once.
    pub entered: u64,
    /// Calls whose exit had no entry on their task: stopped before entry by seccomp (or by
    /// the supervisor's answer). Not a fork child's first return, nor `rt_sigreturn`.
    pub stopped: u64,
}

/// Key of the per-CPU error counters: which errno a syscall returned.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrnoKey {
    pub cgroup_id: u64,
    pub nr: u32,
    pub arch: u16,
    /// Positive errno (1 = EPERM).
    pub errno: u16,
}

/// Value of the watch map: how one cgroup is watched.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchState {
    /// `STATE_ACTIVE`, or `STATE_AWAIT_EXEC` until the first successful execve in the cgroup
    /// returns (so that a launcher's own set-up calls between fork and exec are not counted).
    pub state: u32,
    /// Per `ARCH_*` index: `SELECT_NONE`, `SELECT_MAP` (the calls listed in the selection map
    /// get detailed events) or `SELECT_ALL`.
    pub select: [u8; 4],
    /// Index of the cgroup's block in the dense counter array, or `NO_DENSE_SLOT`: its calls
    /// are counted in the per-CPU hash map.
    pub dense_slot: u32,
    pub _pad: u32,
}

/// Where the programs find what they read of the current task, as byte offsets that the
/// loader takes from the running kernel's BTF (a global of the object, frozen at load).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskLayout {
    /// `task_struct.thread_info.status`: the TS_COMPAT bit of i386 calls.
    pub status: u64,
    /// `task_struct.cgroups` (a `css_set *`).
    pub cgroups: u64,
    /// `css_set.dfl_cgrp`: the task's cgroup v2 (a `cgroup *`).
    pub dfl_cgrp: u64,
    /// `cgroup.kn` (a `kernfs_node *`).
    pub kn: u64,
    /// `kernfs_node.id`: the cgroup id.
    pub kn_id: u64,
}

/// Entry of the direct-mapped watch table: entry `watch_table_index` holds the watch of one
/// cgroup (`cgroup_id` 0: empty; no cgroup has id 0). A watched cgroup whose
/// entry another one holds is in the watch hash map instead. An array read and a compare
/// instead of hashing a key, on every call of every watched cgroup.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchEntry {
    pub cgroup_id: u64,
    pub watch: WatchState,
}

/// Entries of the watch table (a power of two); the loader may make it smaller.
pub const WATCH_TABLE_SLOTS: u32 = 4096;

/// The watch table entry of `cgroup_id`, for a table of `mask + 1` entries.
#[inline(always)]
pub fn watch_table_index(cgroup_id: u64, mask: u64) -> u32 {
    (cgroup_id & mask) as u32
}

/// `WatchState::dense_slot` of a cgroup counted in the hash map.
pub const NO_DENSE_SLOT: u32 = u32::MAX;

/// Counters per cgroup in the dense counter array: one per syscall number of each ABI that
/// the kernel's tables can hold (native and i386 below 512, x32 below 1024 once bit 30 is
/// taken off). A per-CPU array lookup is a few inlined instructions where a per-CPU hash
/// lookup hashes and compares a 16-byte key, and the counters are the watched hot path.
pub const DENSE_CALLS: u32 = 2048;
/// One cgroup's counters in the dense array: 32 KiB, the most a per-CPU value may be, and
/// read back by userspace in one lookup.
pub type DenseBlock = [SyscallCounts; DENSE_CALLS as usize];
/// Most cgroups counted densely at once; the loader lowers it on machines with many CPUs
/// (each slot takes 32 KiB per CPU). Other watched cgroups are counted in the hash map.
pub const MAX_DENSE_SLOTS: u32 = 64;

const DENSE_I386_BASE: u32 = 512;
const DENSE_X32_BASE: u32 = 1024;

/// Where a call is counted in its cgroup's block of the dense array; None for numbers
/// outside the tables (-1, or a number no kernel has yet), which go to the hash map.
#[inline(always)]
pub fn dense_index(nr: u32, arch: u32) -> Option<u32> {
    let (base, n, room) = match arch {
        ARCH_NATIVE => (0, nr, DENSE_I386_BASE),
        ARCH_I386 => (DENSE_I386_BASE, nr, DENSE_X32_BASE - DENSE_I386_BASE),
        ARCH_X32 => (
            DENSE_X32_BASE,
            nr & !X32_SYSCALL_BIT,
            DENSE_CALLS - DENSE_X32_BASE,
        ),
        _ => return None,
    };
    if n < room { Some(base + n) } else { None }
}

/// The (arch, nr) counted at `index` of a dense block: the inverse of [`dense_index`].
pub fn dense_call(index: u32) -> Option<(u32, u32)> {
    match index {
        i if i < DENSE_I386_BASE => Some((ARCH_NATIVE, i)),
        i if i < DENSE_X32_BASE => Some((ARCH_I386, i - DENSE_I386_BASE)),
        i if i < DENSE_CALLS => Some((ARCH_X32, (i - DENSE_X32_BASE) | X32_SYSCALL_BIT)),
        _ => None,
    }
}

pub const STATE_ACTIVE: u32 = 1;
pub const STATE_AWAIT_EXEC: u32 = 2;

pub const SELECT_NONE: u8 = 0;
pub const SELECT_MAP: u8 = 1;
pub const SELECT_ALL: u8 = 2;

/// What one task of a watched cgroup is doing, keyed by thread id: the call it entered (so
/// that its exit is paired with it), and a call a signal interrupted until the workload
/// sees how it ends (EINTR, or the kernel restarts it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCall {
    /// The call in flight, valid while `flags` has `TASK_ENTERED`.
    pub nr: u32,
    pub arch: u32,
    /// `TASK_*` bits.
    pub flags: u32,
    /// `INTERRUPT_*`: where the interrupted call (`int_nr`, `int_arch`) stands.
    pub interrupt: u32,
    pub int_nr: u32,
    pub int_arch: u32,
    /// `TASK_*` bits of the interrupted call (`TASK_ENTERED`: its entry was counted;
    /// `TASK_SELECTED`: `int_args` hold its arguments).
    pub int_flags: u32,
    pub _pad: u32,
    /// Arguments of the call in flight, when it is selected for detailed events.
    pub args: [u64; 6],
    pub int_args: [u64; 6],
}

/// The task entered `TaskCall::nr` and has not returned from it yet.
pub const TASK_ENTERED: u32 = 1;
/// The call is selected for a detailed event and its arguments were saved at entry.
pub const TASK_SELECTED: u32 = 2;

/// No interrupted call.
pub const INTERRUPT_NONE: u32 = 0;
/// A call returned ERESTART*: the task's next call is its restart, or a signal handler's.
pub const INTERRUPT_PENDING: u32 = 1;
/// A signal handler runs; its `rt_sigreturn` says whether the call restarts or fails EINTR.
pub const INTERRUPT_HANDLER: u32 = 2;
/// The handler returned and the kernel restarts the call: the next entry is that call.
pub const INTERRUPT_RESTART: u32 = 3;

/// One detailed event of the ring buffer: a selected call, at its exit (or at its entry for
/// the calls that never return).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallRecord {
    pub cgroup_id: u64,
    pub args: [u64; 6],
    /// Return value; 0 for calls that never return (`RECORD_NO_RETURN`).
    pub ret: i64,
    /// Thread group id (what userspace calls the pid).
    pub pid: u32,
    pub tid: u32,
    pub nr: u32,
    pub arch: u32,
    /// `RECORD_*` bits.
    pub flags: u32,
    pub _pad: u32,
    pub comm: [u8; 16],
}

/// The arguments were saved at syscall entry (otherwise read from the registers at exit: the
/// call never entered, which is what a seccomp denial looks like).
pub const RECORD_ARGS_AT_ENTRY: u32 = 1;
/// Emitted at entry: the call (exit, exit_group) does not return.
pub const RECORD_NO_RETURN: u32 = 2;

/// Native syscall table of the kernel (x86_64 here).
pub const ARCH_NATIVE: u32 = 0;
/// i386 compat calls (int 0x80, sysenter, or 32-bit tasks): the task's TS_COMPAT status bit.
pub const ARCH_I386: u32 = 1;
/// x32 calls: a native syscall with bit 30 set in its number.
pub const ARCH_X32: u32 = 2;
pub const ARCHES: u32 = 3;

/// x86's `__X32_SYSCALL_BIT`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Words of the watch bitmap: bit `id % 64` of word `id / 64` is set when cgroup `id` is
/// watched, for ids below `WATCH_BITMAP_WORDS * 64` (cgroup ids are kernfs inode numbers,
/// small and reused); larger ids go to the watch map alone.
pub const WATCH_BITMAP_WORDS: u32 = 65536;

/// Capacity of the watch map (cgroups watched at once).
pub const MAX_WATCHED_CGROUPS: u32 = 4096;
/// Capacity of the counter maps.
pub const MAX_SYSCALL_KEYS: u32 = 65536;
pub const MAX_ERRNO_KEYS: u32 = 65536;
/// Capacity of the detailed-event selection map.
pub const MAX_SELECTED_KEYS: u32 = 65536;
/// Threads of the watched cgroups tracked at once (least recently used ones make room).
pub const MAX_TASKS: u32 = 16384;
/// Default size of the ring buffer (a power of two, a multiple of the page size).
pub const RING_BUFFER_BYTES: u32 = 1 << 20;

/// Index into the per-CPU `LOSSES` array: why something was not counted or not delivered.
pub const LOSS_COUNTS_MAP_FULL: u32 = 0;
pub const LOSS_ERRNO_MAP_FULL: u32 = 1;
/// The syscall's registers could not be read (probe reads of raw tracepoints; the BTF
/// tracepoints read them directly and never lose them).
pub const LOSS_REGS_UNREADABLE: u32 = 2;
/// A detailed event found the ring buffer full.
pub const LOSS_RING_BUFFER_FULL: u32 = 3;
/// A call's entry could not be saved in the task map: its exit cannot be paired with it,
/// and a selected call's event carries the registers at exit.
pub const LOSS_PENDING_MAP_FULL: u32 = 4;
/// The task's status (compat bit) could not be read; the call was not counted.
pub const LOSS_TASK_UNREADABLE: u32 = 5;
pub const LOSS_KINDS: u32 = 6;

/// Index into the per-CPU `DELIVERY` array.
pub const DELIVERY_SUBMITTED: u32 = 0;
pub const DELIVERY_KINDS: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_indexes_are_distinct_and_invert() {
        let mut seen = [false; DENSE_CALLS as usize];
        for arch in [ARCH_NATIVE, ARCH_I386, ARCH_X32] {
            for n in 0..1100u32 {
                let nr = if arch == ARCH_X32 {
                    n | X32_SYSCALL_BIT
                } else {
                    n
                };
                let Some(i) = dense_index(nr, arch) else {
                    continue;
                };
                assert!(!seen[i as usize], "index {i} used twice");
                seen[i as usize] = true;
                assert_eq!(dense_call(i), Some((arch, nr)));
            }
        }
        assert!(seen.iter().all(|s| *s), "every index is some call's");
        assert_eq!(dense_index(u32::MAX, ARCH_NATIVE), None);
        assert_eq!(dense_index(512, ARCH_NATIVE), None);
        assert_eq!(dense_call(DENSE_CALLS), None);
    }
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are #[repr(C)] structs of plain integers with no implicit padding
    // (field sizes add up to the struct size), so every byte pattern is a valid value.
    unsafe impl aya::Pod for super::SyscallKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SyscallCounts {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::ErrnoKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::WatchState {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::TaskCall {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::CallRecord {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::TaskLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::WatchEntry {}
}
