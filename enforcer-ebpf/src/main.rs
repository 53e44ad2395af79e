//! The observer: counts every syscall of the watched cgroups, per cgroup v2 id and syscall,
//! at entry and at exit. Exit is where seccomp-denied calls show up (they never reach
//! `sys_enter`), with the errno they returned.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_cgroup_id, bpf_probe_read_kernel},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
    programs::RawTracePointContext,
};
use enforcer_common::{
    ARCH_NATIVE, ErrnoKey, LOSS_COUNTS_MAP_FULL, LOSS_ERRNO_MAP_FULL, LOSS_KINDS,
    LOSS_REGS_UNREADABLE, MAX_ERRNO_KEYS, MAX_SYSCALL_KEYS, MAX_WATCHED_CGROUPS, SyscallCounts,
    SyscallKey,
};

/// cgroup ids to watch; everything else costs one lookup and returns.
#[map]
static WATCHED: HashMap<u64, u8> = HashMap::with_max_entries(MAX_WATCHED_CGROUPS, 0);

#[map]
static COUNTS: PerCpuHashMap<SyscallKey, SyscallCounts> =
    PerCpuHashMap::with_max_entries(MAX_SYSCALL_KEYS, 0);

#[map]
static ERRNOS: PerCpuHashMap<ErrnoKey, u64> = PerCpuHashMap::with_max_entries(MAX_ERRNO_KEYS, 0);

/// Per-CPU counts of what could not be counted, indexed by `LOSS_*`.
#[map]
static LOSSES: PerCpuArray<u64> = PerCpuArray::with_max_entries(LOSS_KINDS, 0);

/// Offset of `orig_ax` in x86_64's `struct pt_regs`: the syscall number survives there after
/// `ax` has been overwritten by the return value.
const ORIG_AX_OFFSET: usize = 15 * 8;

/// Errors are the returns in -4095..=-1 (the kernel's MAX_ERRNO).
const MAX_ERRNO: i64 = 4095;

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(ctx: RawTracePointContext) -> i32 {
    let cgroup_id = current_cgroup_id();
    if !is_watched(cgroup_id) {
        return 0;
    }
    let nr: i64 = ctx.arg(1);
    bump(
        cgroup_id,
        nr,
        |c| c.entered += 1,
        SyscallCounts {
            entered: 1,
            ..Default::default()
        },
    );
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    let cgroup_id = current_cgroup_id();
    if !is_watched(cgroup_id) {
        return 0;
    }
    let regs: u64 = ctx.arg(0);
    // SAFETY: `regs` is the tracepoint's `struct pt_regs *`; bpf_probe_read_kernel checks the
    // address and fails instead of faulting.
    let nr = match unsafe { bpf_probe_read_kernel((regs as usize + ORIG_AX_OFFSET) as *const i64) }
    {
        Ok(nr) => nr,
        Err(_) => {
            lose(LOSS_REGS_UNREADABLE);
            return 0;
        }
    };
    let ret: i64 = ctx.arg(1);
    let failed = (-MAX_ERRNO..0).contains(&ret);
    let first = SyscallCounts {
        exited: 1,
        errors: failed as u64,
        ..Default::default()
    };
    bump(
        cgroup_id,
        nr,
        |c| {
            c.exited += 1;
            c.errors += failed as u64;
        },
        first,
    );
    if failed {
        count_errno(cgroup_id, nr, (-ret) as u16);
    }
    0
}

#[inline(always)]
fn current_cgroup_id() -> u64 {
    // SAFETY: a helper without arguments, available to tracing programs on cgroup v2 kernels.
    unsafe { bpf_get_current_cgroup_id() }
}

#[inline(always)]
fn is_watched(cgroup_id: u64) -> bool {
    WATCHED.get_ptr(cgroup_id).is_some()
}

/// Syscall numbers are small non-negative integers; anything else (-1 for "no syscall") is
/// folded into u32::MAX so it is still counted, not dropped.
#[inline(always)]
fn key_nr(nr: i64) -> u32 {
    if (0..u32::MAX as i64).contains(&nr) {
        nr as u32
    } else {
        u32::MAX
    }
}

#[inline(always)]
fn bump(cgroup_id: u64, nr: i64, update: impl Fn(&mut SyscallCounts), first: SyscallCounts) {
    let key = SyscallKey {
        cgroup_id,
        nr: key_nr(nr),
        arch: ARCH_NATIVE,
    };
    if let Some(counts) = COUNTS.get_ptr_mut(key) {
        // SAFETY: per-CPU value of this CPU; no other program instance runs on it meanwhile.
        update(unsafe { &mut *counts });
        return;
    }
    // NOEXIST: a per-CPU insert of an existing key would reset the other CPUs' values.
    if COUNTS.insert(key, first, BPF_NOEXIST as u64).is_err() {
        match COUNTS.get_ptr_mut(key) {
            // Another CPU inserted the key between our lookup and insert.
            // SAFETY: as above.
            Some(counts) => update(unsafe { &mut *counts }),
            None => lose(LOSS_COUNTS_MAP_FULL),
        }
    }
}

#[inline(always)]
fn count_errno(cgroup_id: u64, nr: i64, errno: u16) {
    let key = ErrnoKey {
        cgroup_id,
        nr: key_nr(nr),
        arch: ARCH_NATIVE as u16,
        errno,
    };
    if let Some(n) = ERRNOS.get_ptr_mut(key) {
        // SAFETY: per-CPU value of this CPU.
        unsafe { *n += 1 };
        return;
    }
    if ERRNOS.insert(key, 1u64, BPF_NOEXIST as u64).is_err() {
        match ERRNOS.get_ptr_mut(key) {
            // SAFETY: per-CPU value of this CPU.
            Some(n) => unsafe { *n += 1 },
            None => lose(LOSS_ERRNO_MAP_FULL),
        }
    }
}

#[inline(always)]
fn lose(kind: u32) {
    if let Some(n) = LOSSES.get_ptr_mut(kind) {
        // SAFETY: per-CPU array slot of this CPU.
        unsafe { *n += 1 };
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(no_mangle)]
#[unsafe(link_section = "license")]
pub static LICENSE: [u8; 4] = *b"GPL\0";
