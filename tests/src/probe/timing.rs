//! Probe operations that time themselves, for `cargo xtask bench`.

use super::{num, sys};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    match op {
        // bench-getppid N: N getppid calls; prints the CPU time (user and system) per call,
        // which the syscall tracepoints add to, and which other load on the machine does not.
        "bench-getppid" => {
            let n = num(args.next().unwrap_or_else(|| super::usage(op)));
            let before = cpu_ns();
            for _ in 0..n {
                sys(libc::SYS_getppid, &[]);
            }
            println!(
                "bench-getppid n={n} ns_per_call={}",
                (cpu_ns() - before) / n.max(1) as u128
            );
        }
        _ => return false,
    }
    true
}

fn cpu_ns() -> u128 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let ns = |t: libc::timeval| t.tv_sec as u128 * 1_000_000_000 + t.tv_usec as u128 * 1000;
    ns(ru.ru_utime) + ns(ru.ru_stime)
}
