//! Probe operations for the ways to make one call: threads through glibc (clone3, or clone
//! when clone3 fails with ENOSYS), and raw clone and clone3 with the flags given.
//!
//! thread: one pthread, created and joined. clone-flags FLAGS | clone3-flags FLAGS: a child
//! with these flags (and SIGCHLD) that exits at once; prints the call's result.

use super::{num, report, sys};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        "thread" => {
            let joined = std::thread::spawn(|| 7).join();
            println!("pthread_create + join = {}", joined.unwrap_or(-1));
        }
        "clone-flags" => {
            let flags = num(next());
            let ret = sys(
                libc::SYS_clone,
                &[flags | i64::from(libc::SIGCHLD), 0, 0, 0, 0],
            );
            reap(ret);
            report(&format!("clone({flags:#x})"), ret);
        }
        "clone3-flags" => {
            let flags = num(next());
            // struct clone_args, CLONE_ARGS_SIZE_VER0: flags, pidfd, child_tid, parent_tid,
            // exit_signal, stack, stack_size, tls.
            let mut clone_args = [0u64; 8];
            clone_args[0] = flags as u64;
            clone_args[4] = libc::SIGCHLD as u64;
            let size = std::mem::size_of_val(&clone_args) as i64;
            let ret = sys(libc::SYS_clone3, &[clone_args.as_ptr() as i64, size]);
            reap(ret);
            report(&format!("clone3({flags:#x})"), ret);
        }
        _ => return false,
    }
    true
}

/// In the child (0): exit at once; in the parent: wait for it.
fn reap(ret: i64) {
    if ret == 0 {
        // SAFETY: the child of a fork-like clone only exits.
        unsafe { libc::_exit(0) };
    }
    if ret > 0 {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(ret as i32, &mut status, 0) };
    }
}
