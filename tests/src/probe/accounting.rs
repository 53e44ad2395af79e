//! Probe operations for the observer's accounting: forks, handled signals, interrupted and
//! restarted calls, each a known number of times, with raw syscalls where libc would retry.
//!
//! accounting FORKS BAD_CLONES SIGNALS INTERRUPTS: FORKS children that exit at once (fork +
//! wait4), BAD_CLONES clone calls the kernel refuses with EINVAL, SIGNALS SIGUSR1 sent to
//! itself and handled, INTERRUPTS nanosleeps and pipe reads each cut short by SIGALRM
//! (EINTR: the handler has no SA_RESTART).
//! restarted-read: one pipe read interrupted by SIGALRM whose handler (SA_RESTART) writes
//! the byte the restarted read then gets.
//! sleep-ms N: one nanosleep of N milliseconds.

use super::{num, sys};
use std::sync::atomic::{AtomicI32, Ordering};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        "accounting" => {
            let (forks, bad, signals, interrupts) =
                (num(next()), num(next()), num(next()), num(next()));
            accounting(forks, bad, signals, interrupts);
        }
        "restarted-read" => restarted_read(),
        "sleep-ms" => {
            let ms = num(next());
            let ret = nanosleep_ms(ms);
            println!("nanosleep({ms} ms) = {ret}");
        }
        _ => return false,
    }
    true
}

extern "C" fn on_signal(_: libc::c_int) {}

/// The pipe end the SA_RESTART handler writes to.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn write_wake_byte(_: libc::c_int) {
    let fd = WAKE_FD.load(Ordering::Relaxed);
    // SAFETY: write is async-signal-safe; the buffer is a static byte.
    unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
}

fn handle(signal: libc::c_int, handler: extern "C" fn(libc::c_int), flags: libc::c_int) {
    // SAFETY: a zeroed sigaction with a plain handler and an empty mask is valid.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler as usize;
    sa.sa_flags = flags;
    // SAFETY: installing a handler that only does async-signal-safe work.
    assert_eq!(
        unsafe { libc::sigaction(signal, &sa, std::ptr::null_mut()) },
        0
    );
}

/// SIGALRM once, `ms` milliseconds from now.
fn alarm_in(ms: i64) {
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: ms / 1000,
            tv_usec: (ms % 1000) * 1000,
        },
    };
    sys(
        libc::SYS_setitimer,
        &[libc::ITIMER_REAL as i64, &timer as *const _ as i64, 0],
    );
}

fn nanosleep_ms(ms: i64) -> i64 {
    let ts = libc::timespec {
        tv_sec: ms / 1000,
        tv_nsec: (ms % 1000) * 1_000_000,
    };
    sys(libc::SYS_nanosleep, &[&ts as *const _ as i64, 0])
}

fn pipe() -> [i32; 2] {
    let mut fds = [0i32; 2];
    assert_eq!(sys(libc::SYS_pipe2, &[fds.as_mut_ptr() as i64, 0]), 0);
    fds
}

fn accounting(forks: i64, bad_clones: i64, signals: i64, interrupts: i64) {
    // SIGCHLD blocked: a child's exit never interrupts the parent's calls (under strace it
    // would, since a traced task gets even ignored signals).
    // SAFETY: a sigset built with the libc calls for it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut failed = 0;
    for _ in 0..forks {
        // SAFETY: the child only calls _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: async-signal-safe exit of the forked child.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        if pid < 0 || unsafe { libc::waitpid(pid, &mut status, 0) } != pid || status != 0 {
            failed += 1;
        }
    }
    println!("fork x {forks}: {failed} failed");
    // CLONE_SIGHAND without CLONE_VM: EINVAL before any child exists.
    let mut einval = 0;
    for _ in 0..bad_clones {
        if sys(libc::SYS_clone, &[libc::CLONE_SIGHAND as i64, 0, 0, 0, 0]) == -libc::EINVAL as i64 {
            einval += 1;
        }
    }
    println!("clone(CLONE_SIGHAND) x {bad_clones}: {einval} EINVAL");
    handle(libc::SIGUSR1, on_signal, 0);
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    for _ in 0..signals {
        sys(libc::SYS_kill, &[me.into(), libc::SIGUSR1.into()]);
    }
    println!("kill(self, SIGUSR1) x {signals}");
    // No SA_RESTART: the interrupted calls fail with EINTR.
    handle(libc::SIGALRM, on_signal, 0);
    let fds = pipe();
    let mut eintr = 0;
    for _ in 0..interrupts {
        alarm_in(100);
        if nanosleep_ms(10_000) == -libc::EINTR as i64 {
            eintr += 1;
        }
        let mut byte = 0u8;
        alarm_in(100);
        if sys(
            libc::SYS_read,
            &[fds[0].into(), &mut byte as *mut u8 as i64, 1],
        ) == -libc::EINTR as i64
        {
            eintr += 1;
        }
    }
    println!("interrupted nanosleep and read x {interrupts}: {eintr} EINTR");
}

fn restarted_read() {
    let fds = pipe();
    WAKE_FD.store(fds[1], Ordering::Relaxed);
    handle(libc::SIGALRM, write_wake_byte, libc::SA_RESTART);
    alarm_in(100);
    let mut byte = 0u8;
    let ret = sys(
        libc::SYS_read,
        &[fds[0].into(), &mut byte as *mut u8 as i64, 1],
    );
    println!("read(pipe) interrupted and restarted = {ret}");
}
