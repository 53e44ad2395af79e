//! Types shared by the eBPF observer and its userspace loader. `#[repr(C)]` with explicit
//! padding so both sides agree on the layout byte for byte.
#![no_std]

/// Key of the per-CPU syscall counters: one slot per watched cgroup and syscall number.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyscallKey {
    /// cgroup v2 id (inode of the cgroup directory in the unified hierarchy).
    pub cgroup_id: u64,
    /// Syscall number as the task's ABI numbers it (see `arch`).
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

/// Native syscall table of the kernel.
pub const ARCH_NATIVE: u32 = 0;

/// Capacity of the watch map (cgroups watched at once).
pub const MAX_WATCHED_CGROUPS: u32 = 4096;
/// Capacity of the counter maps.
pub const MAX_SYSCALL_KEYS: u32 = 65536;
pub const MAX_ERRNO_KEYS: u32 = 65536;

/// Index into the per-CPU `LOSSES` array: why an event was not counted.
pub const LOSS_COUNTS_MAP_FULL: u32 = 0;
pub const LOSS_ERRNO_MAP_FULL: u32 = 1;
pub const LOSS_REGS_UNREADABLE: u32 = 2;
pub const LOSS_KINDS: u32 = 3;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all three are #[repr(C)] structs of plain integers with no implicit padding
    // (field sizes add up to the struct size), so every byte pattern is a valid value.
    unsafe impl aya::Pod for super::SyscallKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SyscallCounts {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::ErrnoKey {}
}
