//! Probe operations for the observer: calls through the other x86 ABIs, and the loops the
//! benchmark times.

use super::{num, report, sys};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        // i386-getpid: getpid through int 0x80, the i386 compat entry (nr 20).
        "i386-getpid" => report("int80(getpid)", i386_syscall(20)),
        // x32-getpid: getpid numbered for the x32 ABI (39 | bit 30).
        "x32-getpid" => report("x32(getpid)", sys(39 | 0x4000_0000, &[])),
        // fork: fork (glibc: clone with SIGCHLD and the tid flags); the child exits 0.
        "fork" => {
            // SAFETY: the child only calls _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: async-signal-safe exit of the forked child.
                unsafe { libc::_exit(0) };
            }
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            report(
                "fork()",
                if pid < 0 {
                    pid.into()
                } else {
                    i64::from(status)
                },
            );
        }
        // mixed N: N rounds of write(/dev/null), openat+close(/dev/null), futex wake.
        "mixed" => {
            let n = num(next());
            mixed(n as u64);
            println!("mixed x {n} = 0");
        }
        _ => return false,
    }
    true
}

/// A syscall through the i386 compat entry of an x86_64 kernel, without arguments.
#[cfg(target_arch = "x86_64")]
fn i386_syscall(nr: i64) -> i64 {
    let ret: i64;
    // SAFETY: int 0x80 with only eax set runs an argument-less i386 syscall; the kernel
    // preserves every register but eax (r8-r11 are zeroed, declared clobbered).
    unsafe {
        std::arch::asm!(
            "int 0x80",
            inlateout("rax") nr => ret,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
            options(nostack),
        );
    }
    // The compat return is a 32-bit value.
    i64::from(ret as i32)
}

fn mixed(n: u64) {
    let null = c"/dev/null";
    // SAFETY: a NUL-terminated path; the fd is ours.
    let out = unsafe { libc::open(null.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    let byte = [0u8; 1];
    let word: u32 = 0;
    for _ in 0..n {
        sys(libc::SYS_write, &[out as i64, byte.as_ptr() as i64, 1]);
        let fd = sys(
            libc::SYS_openat,
            &[
                libc::AT_FDCWD as i64,
                null.as_ptr() as i64,
                (libc::O_RDONLY | libc::O_CLOEXEC) as i64,
            ],
        );
        sys(libc::SYS_close, &[fd]);
        sys(
            libc::SYS_futex,
            &[&word as *const u32 as i64, libc::FUTEX_WAKE as i64, 1],
        );
    }
}
