//! The observer: counts every syscall of the watched cgroups, per cgroup v2 id, syscall and
//! ABI (native, i386 compat, x32), once each. Each exit is paired with the entry of the same
//! task (`TASKS`): an exit with no entry is a call stopped before entry (seccomp runs before
//! `sys_enter`), unless it is a fork child's first return or rt_sigreturn's (orig_ax -1).
//! Interrupted calls (ERESTART*) are counted as the workload sees them: EINTR once the
//! signal handler returns, or one call when the kernel restarts them. Calls selected per
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
    ErrnoKey, INTERRUPT_HANDLER, INTERRUPT_NONE, INTERRUPT_PENDING, INTERRUPT_RESTART,
    LOSS_COUNTS_MAP_FULL, LOSS_ERRNO_MAP_FULL, LOSS_KINDS, LOSS_PENDING_MAP_FULL,
    LOSS_RING_BUFFER_FULL, LOSS_TASK_UNREADABLE, MAX_DENSE_SLOTS, MAX_ERRNO_KEYS,
    MAX_SELECTED_KEYS, MAX_SYSCALL_KEYS, MAX_TASKS, MAX_WATCHED_CGROUPS, NO_DENSE_SLOT,
    RECORD_ARGS_AT_ENTRY, RECORD_NO_RETURN, RING_BUFFER_BYTES, SELECT_ALL, SELECT_MAP,
    STATE_ACTIVE, STATE_AWAIT_EXEC, SyscallCounts, SyscallKey, TASK_ENTERED, TASK_SELECTED,
    TaskCall, TaskLayout, WATCH_BITMAP_WORDS, WATCH_TABLE_SLOTS, WatchEntry, WatchState,
    X32_SYSCALL_BIT, dense_index, watch_table_index,
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

/// What each task of the watched cgroups is doing, by thread id (see `TaskCall`): exits are
/// paired with entries through it. LRU: the entry of a task that died between two calls
/// ages out instead of filling the map.
#[map]
static TASKS: LruHashMap<u32, TaskCall> = LruHashMap::with_max_entries(MAX_TASKS, 0);

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
const EINTR: i64 = 4;
/// The kernel-internal codes of an interrupted call (ERESTARTSYS, ERESTARTNOINTR,
/// ERESTARTNOHAND, ERESTART_RESTARTBLOCK): the workload sees EINTR or a restart instead.
const ERESTART_CODES: [i64; 4] = [512, 513, 514, 516];
/// `key_nr` of orig_ax -1: no syscall (rt_sigreturn's exit, or syscall(-1)).
const NOT_A_SYSCALL: u32 = u32::MAX;

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
    if nr == NOT_A_SYSCALL {
        // syscall(-1): no syscall is made (ENOSYS); its exit is dropped too.
        return 0;
    }
    let tid = current_tid();
    let selected = is_selected(&watch, cgroup_id, nr, arch);
    if never_returns(nr, arch) {
        count_entry(&watch, cgroup_id, nr, arch);
        // The task ends: nothing of it to pair any more.
        let _ = TASKS.remove(&tid);
        if selected {
            let args = read_args(ctx.arg(0), arch);
            emit(
                cgroup_id,
                nr,
                arch,
                &args,
                0,
                RECORD_ARGS_AT_ENTRY | RECORD_NO_RETURN,
            );
        }
        return 0;
    }
    let flags = if selected {
        TASK_ENTERED | TASK_SELECTED
    } else {
        TASK_ENTERED
    };
    let Some(t) = TASKS.get_ptr_mut(&tid) else {
        let mut first = TaskCall {
            nr,
            arch,
            flags,
            ..TaskCall::default()
        };
        if selected {
            first.args = read_args(ctx.arg(0), arch);
        }
        if TASKS.insert(&tid, &first, BPF_ANY as u64).is_err() {
            lose(LOSS_PENDING_MAP_FULL);
        }
        count_entry(&watch, cgroup_id, nr, arch);
        return 0;
    };
    // SAFETY: this task's entry; only this task's own programs write it, one at a time.
    let t = unsafe { &mut *t };
    if resumes_interrupted(t, nr, arch) {
        // The kernel restarts the interrupted call: still one call of the workload.
        if t.int_flags & TASK_ENTERED == 0 {
            count_entry(&watch, cgroup_id, t.int_nr, t.int_arch);
        }
        t.nr = t.int_nr;
        t.arch = t.int_arch;
        t.flags = TASK_ENTERED | (t.int_flags & TASK_SELECTED);
        t.args = t.int_args;
        t.interrupt = INTERRUPT_NONE;
        return 0;
    }
    t.nr = nr;
    t.arch = arch;
    t.flags = flags;
    if selected {
        t.args = read_args(ctx.arg(0), arch);
    }
    count_entry(&watch, cgroup_id, nr, arch);
    0
}

/// Whether the call entering is the restart of the task's interrupted call. A call that
/// returned ERESTART* is restarted at once when no handler runs (the same call, or
/// restart_syscall), or after its handler's rt_sigreturn said so; any other call first is
/// the handler's.
#[inline(always)]
fn resumes_interrupted(t: &mut TaskCall, nr: u32, arch: u32) -> bool {
    match t.interrupt {
        INTERRUPT_PENDING | INTERRUPT_RESTART
            if (nr == t.int_nr && arch == t.int_arch) || is_restart_syscall(nr, arch) =>
        {
            true
        }
        INTERRUPT_PENDING => {
            t.interrupt = INTERRUPT_HANDLER;
            false
        }
        INTERRUPT_RESTART => {
            t.interrupt = INTERRUPT_NONE;
            false
        }
        _ => false,
    }
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
    let tid = current_tid();
    if watch.state == STATE_AWAIT_EXEC {
        if !(ret == 0 && is_exec(nr, arch)) {
            return 0;
        }
        // The workload's own life starts with this exec; its entry was not counted yet.
        // SAFETY: as above; only the task that execs is in the cgroup until now.
        unsafe { (*watch_ptr).state = STATE_ACTIVE };
        count_entry(&watch, cgroup_id, nr, arch);
        known_from_now(tid);
        return 0;
    } else if watch.state != STATE_ACTIVE {
        return 0;
    }
    if ret == 0 && is_fork(nr, arch) {
        // A fork child's first return (only the child gets 0): not a call of its own.
        known_from_now(tid);
        return 0;
    }
    let Some(t) = TASKS.get_ptr_mut(&tid) else {
        // A task not seen since the watch began: whatever it returns from began before.
        known_from_now(tid);
        return 0;
    };
    // SAFETY: this task's entry; only this task's own programs write it, one at a time.
    let t = unsafe { &mut *t };
    if t.flags & TASK_ENTERED != 0 {
        let flags = t.flags;
        t.flags = 0;
        returned(&watch, cgroup_id, t, flags, ret);
        return 0;
    }
    // No entry on this task for this exit.
    if nr == NOT_A_SYSCALL || (ret == 0 && is_exec(nr, arch)) {
        // rt_sigreturn or syscall(-1) (orig_ax -1), or an exec by a thread that took the
        // leader's id (its entry was under its old one): none was stopped.
        return 0;
    }
    let selected = is_selected(&watch, cgroup_id, nr, arch);
    if is_restart_code(ret) {
        // Interrupted before entry (while the supervisor decided): its restart or its
        // EINTR says what became of it.
        t.interrupt = INTERRUPT_PENDING;
        t.int_nr = nr;
        t.int_arch = arch;
        t.int_flags = if selected { TASK_SELECTED } else { 0 };
        if selected {
            t.int_args = read_args(regs, arch);
        }
        return 0;
    }
    if t.interrupt != INTERRUPT_NONE && t.int_nr == nr && t.int_arch == arch {
        // The restart of an interrupted call, stopped this time.
        t.interrupt = INTERRUPT_NONE;
    }
    count_stopped(&watch, cgroup_id, nr, arch, ret);
    if selected {
        emit(cgroup_id, nr, arch, &read_args(regs, arch), ret, 0);
    }
    0
}

/// The exit of the call the task entered (`t.nr`, whatever the exit's own number says:
/// rt_sigreturn exits as -1).
#[inline(always)]
fn returned(watch: &WatchState, cgroup_id: u64, t: &mut TaskCall, flags: u32, ret: i64) {
    let (nr, arch) = (t.nr, t.arch);
    if is_sigreturn(nr, arch) {
        // Its "return" is the interrupted context's register: no result of its own.
        if t.interrupt == INTERRUPT_HANDLER {
            handler_returned(watch, cgroup_id, t, ret);
        }
        if flags & TASK_SELECTED != 0 {
            emit(
                cgroup_id,
                nr,
                arch,
                &t.args,
                0,
                RECORD_ARGS_AT_ENTRY | RECORD_NO_RETURN,
            );
        }
        return;
    }
    if is_restart_code(ret) {
        // The workload does not see this code: the restart or EINTR comes later.
        t.interrupt = INTERRUPT_PENDING;
        t.int_nr = nr;
        t.int_arch = arch;
        t.int_flags = TASK_ENTERED | (flags & TASK_SELECTED);
        t.int_args = t.args;
        return;
    }
    if is_error(ret) {
        count_errno(cgroup_id, nr, arch, (-ret) as u16);
    }
    if flags & TASK_SELECTED != 0 {
        emit(cgroup_id, nr, arch, &t.args, ret, RECORD_ARGS_AT_ENTRY);
    }
}

/// A signal handler returned over an interrupted call: rt_sigreturn gives back the
/// register the workload resumes with, -EINTR when the call failed, or the call's number
/// when the kernel restarts it.
#[inline(always)]
fn handler_returned(watch: &WatchState, cgroup_id: u64, t: &mut TaskCall, ret: i64) {
    let (nr, arch) = (t.int_nr, t.int_arch);
    // i386's sigreturn gives the 32-bit register back zero-extended.
    let ret = if t.arch == ARCH_I386 {
        i64::from(ret as i32)
    } else {
        ret
    };
    if ret == -EINTR {
        t.interrupt = INTERRUPT_NONE;
        let entered = t.int_flags & TASK_ENTERED != 0;
        if entered {
            count_errno(cgroup_id, nr, arch, EINTR as u16);
        } else {
            count_stopped(watch, cgroup_id, nr, arch, ret);
        }
        if t.int_flags & TASK_SELECTED != 0 {
            let at = if entered { RECORD_ARGS_AT_ENTRY } else { 0 };
            emit(cgroup_id, nr, arch, &t.int_args, ret, at);
        }
    } else if ret == i64::from(nr) {
        t.interrupt = INTERRUPT_RESTART;
    }
    // Anything else: the return of a nested handler; the outer one decides.
}

/// From now on the task's exits are paired with its entries.
#[inline(always)]
fn known_from_now(tid: u32) {
    if TASKS
        .insert(&tid, &TaskCall::default(), BPF_ANY as u64)
        .is_err()
    {
        lose(LOSS_PENDING_MAP_FULL);
    }
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

/// clone, fork, vfork, clone3: a child's first return is one of them, returning 0.
#[inline(always)]
fn is_fork(nr: u32, arch: u32) -> bool {
    match arch {
        ARCH_I386 => nr == 2 || nr == 120 || nr == 190 || nr == 435,
        ARCH_X32 => matches!(nr & !X32_SYSCALL_BIT, 56..=58 | 435),
        _ => matches!(nr, 56..=58 | 435),
    }
}

/// sigreturn, rt_sigreturn.
#[inline(always)]
fn is_sigreturn(nr: u32, arch: u32) -> bool {
    match arch {
        ARCH_I386 => nr == 119 || nr == 173,
        ARCH_X32 => nr == (513 | X32_SYSCALL_BIT),
        _ => nr == 15,
    }
}

/// restart_syscall: how the kernel resumes an interrupted sleep (ERESTART_RESTARTBLOCK).
#[inline(always)]
fn is_restart_syscall(nr: u32, arch: u32) -> bool {
    match arch {
        ARCH_I386 => nr == 0,
        ARCH_X32 => nr == (219 | X32_SYSCALL_BIT),
        _ => nr == 219,
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

/// A call whose exit had no entry: stopped before entry, with what it returned.
#[inline(always)]
fn count_stopped(watch: &WatchState, cgroup_id: u64, nr: u32, arch: u32, ret: i64) {
    bump(watch, cgroup_id, nr, arch, |c| c.stopped += 1);
    if is_error(ret) {
        count_errno(cgroup_id, nr, arch, (-ret) as u16);
    }
}

#[inline(always)]
fn is_error(ret: i64) -> bool {
    (-MAX_ERRNO..0).contains(&ret)
}

#[inline(always)]
fn is_restart_code(ret: i64) -> bool {
    ERESTART_CODES.contains(&-ret)
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
