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

/// Counters per `SyscallKey`, per CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallCounts {
    /// Calls that reached `sys_enter` (seccomp-denied calls never do).
    pub entered: u64,
    /// Calls that reached `sys_exit`, denied ones included.
    pub exited: u64,
    /// Of the exits, how many returned an error (-4095..=-1).
    pub errors: u64,
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
}

pub const STATE_ACTIVE: u32 = 1;
pub const STATE_AWAIT_EXEC: u32 = 2;

pub const SELECT_NONE: u8 = 0;
pub const SELECT_MAP: u8 = 1;
pub const SELECT_ALL: u8 = 2;

/// Arguments of a selected call saved at entry, keyed by thread id, until its exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingCall {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
}

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
/// Threads with a selected call in flight at once.
pub const MAX_PENDING_CALLS: u32 = 16384;
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
/// A selected call's entry could not be saved; its event carries the registers at exit.
pub const LOSS_PENDING_MAP_FULL: u32 = 4;
/// The task's status (compat bit) could not be read; the call was not counted.
pub const LOSS_TASK_UNREADABLE: u32 = 5;
pub const LOSS_KINDS: u32 = 6;

/// Index into the per-CPU `DELIVERY` array.
pub const DELIVERY_SUBMITTED: u32 = 0;
pub const DELIVERY_KINDS: u32 = 1;

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
    unsafe impl aya::Pod for super::PendingCall {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::CallRecord {}
}
