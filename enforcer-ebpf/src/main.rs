//! The observer: counts every syscall of the watched cgroups, per cgroup v2 id, syscall and
//! ABI (native, i386 compat, x32), at entry and at exit. Exit is where seccomp-denied calls
//! show up (they never reach `sys_enter`), with the errno they returned. Calls selected per
//! cgroup also go to a ring buffer as detailed events (pid, tid, comm, arguments, return).
//!
//! BTF tracepoints (tp_btf) on raw_syscalls: the verifier knows the types of `struct pt_regs`
//! and of the current `task_struct`, so registers, the compat bit and the cgroup id are plain
//! loads, with no probe-read helper on the hot path. Every task of the machine runs these
//! programs on every call, so an unwatched cgroup costs a helper call (the current task),
//! four loads and a bitmap test; a watched one adds a table read and per-CPU array counters
//! (see `WatchEntry` and `DENSE_CALLS`).
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::{BPF_ANY, BPF_NOEXIST},
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, generated::bpf_get_current_task_btf,
    },
    macros::{btf_tracepoint, map},
    maps::{Array, HashMap, LruHashMap, PerCpuArray, PerCpuHashMap, RingBuf},
    programs::BtfTracePointContext,
};
use enforcer_common::{
    ARCH_I386, ARCH_NATIVE, ARCH_X32, CallRecord, DELIVERY_KINDS, DELIVERY_SUBMITTED, DenseBlock,
    ErrnoKey, LOSS_COUNTS_MAP_FULL, LOSS_ERRNO_MAP_FULL, LOSS_KINDS, LOSS_PENDING_MAP_FULL,
    LOSS_RING_BUFFER_FULL, LOSS_TASK_UNREADABLE, MAX_DENSE_SLOTS, MAX_ERRNO_KEYS,
    MAX_PENDING_CALLS, MAX_SELECTED_KEYS, MAX_SYSCALL_KEYS, MAX_WATCHED_CGROUPS, NO_DENSE_SLOT,
    PendingCall, RECORD_ARGS_AT_ENTRY, RECORD_NO_RETURN, RING_BUFFER_BYTES, SELECT_ALL, SELECT_MAP,
    STATE_ACTIVE, STATE_AWAIT_EXEC, SyscallCounts, SyscallKey, TaskLayout, WATCH_BITMAP_WORDS,
    WATCH_TABLE_SLOTS, WatchEntry, WatchState, X32_SYSCALL_BIT, dense_index, watch_table_index,
};

/// Which cgroup ids are watched, as a bitmap: for an unwatched cgroup the programs' only
/// lookup, an array read the verifier inlines (see `WATCH_BITMAP_WORDS`).
#[map]
static WATCH_BITS: Array<u64> = Array::with_max_entries(WATCH_BITMAP_WORDS, 0);

/// How each watched cgroup is watched: in its entry of the table when it holds it, else in
/// the hash map (see `WatchEntry`).
#[map]
static WATCH_TABLE: Array<WatchEntry> = Array::with_max_entries(WATCH_TABLE_SLOTS, 0);

/// Entries of WATCH_TABLE minus one, set by the loader with the table's size.
#[unsafe(no_mangle)]
static WATCH_TABLE_MASK: u64 = WATCH_TABLE_SLOTS as u64 - 1;

#[map]
static WATCHED: HashMap<u64, WatchState> = HashMap::with_max_entries(MAX_WATCHED_CGROUPS, 0);

/// Counters of the cgroups that have a dense slot: entry `dense_slot`, indexed by
/// `dense_index`. The loader may lower the number of slots.
#[map]
static DENSE: PerCpuArray<DenseBlock> = PerCpuArray::with_max_entries(MAX_DENSE_SLOTS, 0);

/// Counters of the other watched cgroups, and of numbers outside the dense blocks.
#[map]
static COUNTS: PerCpuHashMap<SyscallKey, SyscallCounts> =
    PerCpuHashMap::with_max_entries(MAX_SYSCALL_KEYS, BPF_F_NO_PREALLOC);

#[map]
static ERRNOS: PerCpuHashMap<ErrnoKey, u64> =
    PerCpuHashMap::with_max_entries(MAX_ERRNO_KEYS, BPF_F_NO_PREALLOC);

/// (cgroup, nr, arch) whose calls get detailed events, for cgroups whose `select` says MAP.
#[map]
static SELECTED: HashMap<SyscallKey, u8> =
    HashMap::with_max_entries(MAX_SELECTED_KEYS, BPF_F_NO_PREALLOC);

/// Arguments of selected calls in flight, by thread id. LRU: an entry whose exit never came
/// (a thread killed in an exec by another thread) ages out instead of filling the map.
#[map]
static PENDING: LruHashMap<u32, PendingCall> = LruHashMap::with_max_entries(MAX_PENDING_CALLS, 0);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BUFFER_BYTES, 0);

/// Per-CPU counts of what could not be counted or delivered, indexed by `LOSS_*`.
#[map]
static LOSSES: PerCpuArray<u64> = PerCpuArray::with_max_entries(LOSS_KINDS, 0);

/// Per-CPU counts of detailed events submitted, indexed by `DELIVERY_*`.
#[map]
static DELIVERY: PerCpuArray<u64> = PerCpuArray::with_max_entries(DELIVERY_KINDS, 0);

/// The big maps allocate their entries as keys appear: preallocating 65536 per-CPU entries
/// took a quarter of a second at every start. Entries are inserted once per (cgroup, syscall),
/// so the hot path (lookups) is the same.
const BPF_F_NO_PREALLOC: u32 = aya_ebpf::bindings::BPF_F_NO_PREALLOC;

/// Where the task's compat bit and cgroup are, which userspace reads from the kernel's BTF
/// and sets at load time. u64::MAX: unknown (the verifier refuses such a load).
#[unsafe(no_mangle)]
static TASK_LAYOUT: TaskLayout = TaskLayout {
    status: u64::MAX,
    cgroups: u64::MAX,
    dfl_cgrp: u64::MAX,
    kn: u64::MAX,
    kn_id: u64::MAX,
};

/// x86's TS_COMPAT: set in `thread_info.status` while an i386 syscall is running.
const TS_COMPAT: u32 = 0x0002;

/// Offsets in x86_64's `struct pt_regs` (8-byte slots).
const ORIG_AX_SLOT: usize = 15;
/// Argument registers of the native ABI (di, si, dx, r10, r8, r9) and of i386 (bx, cx, dx,
/// si, di, bp).
const NATIVE_ARG_SLOTS: [usize; 6] = [14, 13, 12, 7, 9, 8];
const I386_ARG_SLOTS: [usize; 6] = [5, 11, 12, 13, 14, 4];

/// Errors are the returns in -4095..=-1 (the kernel's MAX_ERRNO).
const MAX_ERRNO: i64 = 4095;

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    let Some(task) = current_task() else {
        return 0;
    };
    let cgroup_id = cgroup_id_of(task);
    let Some(watch) = watch_of(cgroup_id) else {
        return 0;
    };
    // SAFETY: a value of the map, valid while this program runs (entries are only replaced
    // whole by userspace).
    let watch = unsafe { *watch };
    if watch.state != STATE_ACTIVE {
        return 0;
    }
    let raw_nr: i64 = ctx.arg(1);
    let arch = arch_of(task, raw_nr);
    let nr = key_nr(raw_nr);
    count_entry(&watch, cgroup_id, nr, arch);
    if is_selected(&watch, cgroup_id, nr, arch) {
        let args = read_args(ctx.arg(0), arch);
        if never_returns(nr, arch) {
            emit(
                cgroup_id,
                nr,
                arch,
                &args,
                0,
                RECORD_ARGS_AT_ENTRY | RECORD_NO_RETURN,
            );
        } else if PENDING
            .insert(
                current_tid(),
                PendingCall { nr, arch, args },
                BPF_ANY as u64,
            )
            .is_err()
        {
            lose(LOSS_PENDING_MAP_FULL);
        }
    }
    0
}

#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> i32 {
    let Some(task) = current_task() else {
        return 0;
    };
    let cgroup_id = cgroup_id_of(task);
    let Some(watch_ptr) = watch_of(cgroup_id) else {
        return 0;
    };
    let regs: u64 = ctx.arg(0);
    // SAFETY: a BTF tracepoint's `struct pt_regs *` argument: the verifier checks every load
    // from it against the struct's layout.
    let raw_nr = unsafe { core::ptr::read_volatile((regs as *const i64).add(ORIG_AX_SLOT)) };
    let ret: i64 = ctx.arg(1);
    let arch = arch_of(task, raw_nr);
    let nr = key_nr(raw_nr);
    // SAFETY: a value of the map, valid while this program runs.
    let watch = unsafe { *watch_ptr };
    if watch.state == STATE_AWAIT_EXEC {
        if !(ret == 0 && is_exec(nr, arch)) {
            return 0;
        }
        // The workload's own life starts with this exec; its entry was not counted yet.
        // SAFETY: as above; only the task that execs is in the cgroup until now.
        unsafe { (*watch_ptr).state = STATE_ACTIVE };
        count_entry(&watch, cgroup_id, nr, arch);
    } else if watch.state != STATE_ACTIVE {
        return 0;
    }
    count_exit(&watch, cgroup_id, nr, arch, ret);
    if is_selected(&watch, cgroup_id, nr, arch) {
        let tid = current_tid();
        // SAFETY: a value of the map, copied out before it is removed.
        let pending = unsafe { PENDING.get(tid).copied() };
        if pending.is_some() {
            let _ = PENDING.remove(tid);
        }
        match pending {
            Some(p) if p.nr == nr && p.arch == arch => {
                emit(cgroup_id, nr, arch, &p.args, ret, RECORD_ARGS_AT_ENTRY)
            }
            // Never entered (seccomp stopped it) or its entry could not be saved.
            _ => emit(cgroup_id, nr, arch, &read_args(regs, arch), ret, 0),
        }
    }
    0
}

/// Programs that return at once: attached instead of the two above, they measure what the
/// raw_syscalls tracepoints cost by themselves (`cargo xtask bench observer`).
#[btf_tracepoint(function = "sys_enter")]
pub fn floor_enter(_ctx: BtfTracePointContext) -> i32 {
    0
}

#[btf_tracepoint(function = "sys_exit")]
pub fn floor_exit(_ctx: BtfTracePointContext) -> i32 {
    0
}

/// The current task; None (counted as a loss) if it cannot be had, which a task context
/// never gives.
#[inline(always)]
fn current_task() -> Option<*const u8> {
    // SAFETY: bpf_get_current_task_btf gives a trusted pointer to the current task.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    if task.is_null() {
        lose(LOSS_TASK_UNREADABLE);
        return None;
    }
    Some(task)
}

/// A byte offset of `TASK_LAYOUT`.
#[inline(always)]
fn layout(field: &u64) -> usize {
    // SAFETY: reading a global of this program's .rodata, set by the loader (frozen, so the
    // verifier knows it as a constant and checks each load below against the BTF type).
    unsafe { core::ptr::read_volatile(field) as usize }
}

/// A field of a kernel struct, at a BTF-checked offset.
#[inline(always)]
fn field<T: Copy>(base: *const u8, offset: usize) -> T {
    // SAFETY: `base` is a BTF-typed kernel pointer and `offset` a constant the verifier
    // checks against that type; such loads cannot fault (a bad one reads zero).
    unsafe { core::ptr::read_volatile(base.add(offset) as *const T) }
}

/// `task->cgroups->dfl_cgrp->kn->id`, what bpf_get_current_cgroup_id returns, read with
/// four loads instead of a helper call on every syscall of the machine.
#[inline(always)]
fn cgroup_id_of(task: *const u8) -> u64 {
    let css_set: *const u8 = field(task, layout(&TASK_LAYOUT.cgroups));
    let cgroup: *const u8 = field(css_set, layout(&TASK_LAYOUT.dfl_cgrp));
    let kn: *const u8 = field(cgroup, layout(&TASK_LAYOUT.kn));
    field(kn, layout(&TASK_LAYOUT.kn_id))
}

/// The watch entry of a watched cgroup; an unwatched one costs the bitmap read alone.
#[inline(always)]
fn watch_of(cgroup_id: u64) -> Option<*mut WatchState> {
    const IDS: u64 = WATCH_BITMAP_WORDS as u64 * 64;
    if cgroup_id < IDS {
        let word = WATCH_BITS.get((cgroup_id / 64) as u32)?;
        if *word & (1 << (cgroup_id % 64)) == 0 {
            return None;
        }
    }
    // SAFETY: a global of .rodata, set by the loader.
    let mask = unsafe { core::ptr::read_volatile(&WATCH_TABLE_MASK) };
    if let Some(entry) = WATCH_TABLE.get_ptr_mut(watch_table_index(cgroup_id, mask)) {
        // SAFETY: a value of the map, valid while this program runs.
        if unsafe { (*entry).cgroup_id } == cgroup_id {
            // SAFETY: as above.
            return Some(unsafe { &raw mut (*entry).watch });
        }
    }
    WATCHED.get_ptr_mut(cgroup_id)
}

#[inline(always)]
fn current_tid() -> u32 {
    bpf_get_current_pid_tgid() as u32
}

/// The ABI of the current call: i386 when the task's TS_COMPAT bit is set (it is cleared on
/// every return to user mode, after the exit tracepoint), x32 when bit 30 of the number is.
#[inline(always)]
fn arch_of(task: *const u8, raw_nr: i64) -> u32 {
    let status: u32 = field(task, layout(&TASK_LAYOUT.status));
    if status & TS_COMPAT != 0 {
        ARCH_I386
    } else if raw_nr >= 0 && (raw_nr as u64) & X32_SYSCALL_BIT as u64 != 0 {
        ARCH_X32
    } else {
        ARCH_NATIVE
    }
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
fn is_exec(nr: u32, arch: u32) -> bool {
    match arch {
        ARCH_I386 => nr == 11 || nr == 358,
        ARCH_X32 => nr == (520 | X32_SYSCALL_BIT) || nr == (545 | X32_SYSCALL_BIT),
        _ => nr == 59 || nr == 322,
    }
}

/// exit and exit_group: their detailed event is emitted at entry.
#[inline(always)]
fn never_returns(nr: u32, arch: u32) -> bool {
    match arch {
        ARCH_I386 => nr == 1 || nr == 252,
        ARCH_X32 => nr == (60 | X32_SYSCALL_BIT) || nr == (231 | X32_SYSCALL_BIT),
        _ => nr == 60 || nr == 231,
    }
}

#[inline(always)]
fn is_selected(watch: &WatchState, cgroup_id: u64, nr: u32, arch: u32) -> bool {
    let mode = match arch {
        ARCH_I386 => watch.select[1],
        ARCH_X32 => watch.select[2],
        _ => watch.select[0],
    };
    match mode {
        SELECT_ALL => true,
        SELECT_MAP => SELECTED
            .get_ptr(SyscallKey {
                cgroup_id,
                nr,
                arch,
            })
            .is_some(),
        _ => false,
    }
}

/// The six argument registers of the call, from the saved user registers.
#[inline(always)]
fn read_args(regs: u64, arch: u32) -> [u64; 6] {
    let regs = regs as *const u64;
    // SAFETY: a BTF tracepoint's `struct pt_regs *`: each load is checked by the verifier.
    let slot = |s: usize| unsafe { core::ptr::read_volatile(regs.add(s)) };
    let mut args = [0u64; 6];
    if arch == ARCH_I386 {
        for (a, s) in args.iter_mut().zip(I386_ARG_SLOTS) {
            *a = slot(s) as u32 as u64;
        }
    } else {
        for (a, s) in args.iter_mut().zip(NATIVE_ARG_SLOTS) {
            *a = slot(s);
        }
    }
    args
}

#[inline(always)]
fn emit(cgroup_id: u64, nr: u32, arch: u32, args: &[u64; 6], ret: i64, flags: u32) {
    let Some(mut entry) = EVENTS.reserve::<CallRecord>(0) else {
        lose(LOSS_RING_BUFFER_FULL);
        return;
    };
    let pid_tgid = bpf_get_current_pid_tgid();
    entry.write(CallRecord {
        cgroup_id,
        args: *args,
        ret,
        pid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        nr,
        arch,
        flags,
        _pad: 0,
        comm: bpf_get_current_comm().unwrap_or_default(),
    });
    entry.submit(0);
    tally(&DELIVERY, DELIVERY_SUBMITTED);
}

#[inline(always)]
fn count_entry(watch: &WatchState, cgroup_id: u64, nr: u32, arch: u32) {
    bump(watch, cgroup_id, nr, arch, |c| c.entered += 1);
}

#[inline(always)]
fn count_exit(watch: &WatchState, cgroup_id: u64, nr: u32, arch: u32, ret: i64) {
    bump(watch, cgroup_id, nr, arch, |c| c.exited += 1);
    if (-MAX_ERRNO..0).contains(&ret) {
        count_errno(cgroup_id, nr, arch, (-ret) as u16);
    }
}

/// Counts a call in the cgroup's dense block when it has one and the number fits, else in
/// the hash map.
#[inline(always)]
fn bump(
    watch: &WatchState,
    cgroup_id: u64,
    nr: u32,
    arch: u32,
    update: impl Fn(&mut SyscallCounts),
) {
    if watch.dense_slot != NO_DENSE_SLOT
        && let Some(i) = dense_index(nr, arch)
        && let Some(block) = DENSE.get_ptr_mut(watch.dense_slot)
        // SAFETY: per-CPU value of this CPU; no other program instance runs on it meanwhile.
        // The index is read back through memory so that the compiler keeps the bounds check
        // (it knows dense_index's range; the verifier must see the check).
        && let Some(counts) = unsafe { (*block).get_mut(core::ptr::read_volatile(&i) as usize) }
    {
        update(counts);
        return;
    }
    let key = SyscallKey {
        cgroup_id,
        nr,
        arch,
    };
    if let Some(counts) = COUNTS.get_ptr_mut(key) {
        // SAFETY: as above.
        update(unsafe { &mut *counts });
        return;
    }
    let mut first = SyscallCounts::default();
    update(&mut first);
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
fn count_errno(cgroup_id: u64, nr: u32, arch: u32, errno: u16) {
    let key = ErrnoKey {
        cgroup_id,
        nr,
        arch: arch as u16,
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
    tally(&LOSSES, kind);
}

#[inline(always)]
fn tally(array: &PerCpuArray<u64>, index: u32) {
    if let Some(n) = array.get_ptr_mut(index) {
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
