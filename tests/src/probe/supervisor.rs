//! Probe operations that exercise the supervisor: concurrent and racing notified calls, the
//! chmod family's other forms, and changes of identity and root.

use super::{errno_name, num, path, report, sys};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        // chmod-threads T N PATH: T threads, N calls each, alternating 0644 and 04755.
        "chmod-threads" => {
            let (t, n, p) = (num(next()), num(next()), next().to_owned());
            chmod_threads(t as usize, n as u64, &p);
        }
        // chmod-race ALLOWED DENIED N: one thread chmods the path in a shared buffer to 0644
        // N times while another flips the buffer between two equal-length paths.
        "chmod-race" => {
            let (a, d, n) = (next().to_owned(), next().to_owned(), num(next()));
            chmod_race(&a, &d, n as u64);
        }
        // chmod-signalled PATH N: N chmods to 0644 while another thread keeps signalling the
        // calling thread (SIGUSR1, handler with SA_RESTART).
        "chmod-signalled" => {
            let (p, n) = (next().to_owned(), num(next()));
            chmod_signalled(&p, n as u64);
        }
        // bench-chmod N PATH MODE: times N chmod calls, prints the mean in ns per call.
        "bench-chmod" => {
            let (n, p, m) = (num(next()), path(next()), num(next()));
            let start = std::time::Instant::now();
            for _ in 0..n {
                sys(libc::SYS_chmod, &[p.as_ptr() as i64, m]);
            }
            println!(
                "bench-chmod n={n} ns_per_call={}",
                start.elapsed().as_nanos() / n.max(1) as u128
            );
        }
        // fchmodat-dir DIR NAME MODE: fchmodat relative to an open directory fd.
        "fchmodat-dir" => {
            let (d, name, m) = (path(next()), path(next()), num(next()));
            // SAFETY: d is NUL-terminated.
            let dfd = unsafe {
                libc::open(
                    d.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            report(
                &format!("fchmodat(open({d:?}), {name:?}, {m:#o})"),
                sys(libc::SYS_fchmodat, &[dfd as i64, name.as_ptr() as i64, m]),
            );
        }
        // chmod-proc-fd PATH MODE: chmod("/proc/self/fd/N") of an fd opened on PATH.
        "chmod-proc-fd" => {
            let (p, m) = (path(next()), num(next()));
            // SAFETY: p is NUL-terminated.
            let fd = unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            let link = path(&format!("/proc/self/fd/{fd}"));
            report(
                &format!("chmod(\"/proc/self/fd/{fd}\" -> {p:?}, {m:#o})"),
                sys(libc::SYS_chmod, &[link.as_ptr() as i64, m]),
            );
        }
        // setuid UID: become UID (real, effective, saved) for the operations that follow.
        "setuid" => {
            let u = num(next());
            report(
                &format!("setresuid({u})"),
                sys(libc::SYS_setresuid, &[u, u, u]),
            );
        }
        // chroot DIR: change root (and cwd) to DIR.
        "chroot" => {
            let d = path(next());
            report(
                &format!("chroot({d:?})"),
                sys(libc::SYS_chroot, &[d.as_ptr() as i64]),
            );
            let root = path("/");
            sys(libc::SYS_chdir, &[root.as_ptr() as i64]);
        }
        // chdir DIR
        "chdir" => {
            let d = path(next());
            report(
                &format!("chdir({d:?})"),
                sys(libc::SYS_chdir, &[d.as_ptr() as i64]),
            );
        }
        // wait-file PATH: wait until PATH exists (a test's go signal).
        "wait-file" => {
            let p = next().to_owned();
            while !std::path::Path::new(&p).exists() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        _ => return false,
    }
    true
}

fn chmod_threads(threads: usize, n: u64, p: &str) {
    let ok = Arc::new(AtomicU64::new(0));
    let eperm = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (ok, eperm, other, p) = (ok.clone(), eperm.clone(), other.clone(), path(p));
            std::thread::spawn(move || {
                for i in 0..n {
                    let mode = if i % 2 == 0 { 0o644 } else { 0o4755 };
                    match sys(libc::SYS_chmod, &[p.as_ptr() as i64, mode]) {
                        0 => ok.fetch_add(1, Ordering::Relaxed),
                        r if r == -(libc::EPERM as i64) => eperm.fetch_add(1, Ordering::Relaxed),
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    println!(
        "chmod-threads ok={} eperm={} other={}",
        ok.load(Ordering::Relaxed),
        eperm.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
}

fn chmod_race(allowed: &str, denied: &str, n: u64) {
    assert_eq!(
        allowed.len(),
        denied.len(),
        "chmod-race paths must have equal length"
    );
    let len = allowed.len();
    // The shared buffer the two threads fight over; the flipper writes it byte by byte.
    let buf: &'static mut [u8] = Box::leak(vec![0u8; len + 1].into_boxed_slice());
    buf[..len].copy_from_slice(allowed.as_bytes());
    let addr = buf.as_mut_ptr() as usize;
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, a, d) = (
            stop.clone(),
            allowed.as_bytes().to_vec(),
            denied.as_bytes().to_vec(),
        );
        std::thread::spawn(move || {
            let mut flip = false;
            while !stop.load(Ordering::Relaxed) {
                let src = if flip { &d } else { &a };
                // SAFETY: the buffer is leaked (lives forever) and len bytes long; the race on
                // its contents is the point of the test, volatile keeps every write.
                for (i, b) in src.iter().enumerate() {
                    unsafe { std::ptr::write_volatile((addr as *mut u8).add(i), *b) };
                }
                flip = !flip;
            }
        })
    };
    let (mut ok, mut errors) = (0u64, std::collections::BTreeMap::<&str, u64>::new());
    for _ in 0..n {
        match sys(libc::SYS_chmod, &[addr as i64, 0o644]) {
            0 => ok += 1,
            r => *errors.entry(errno_name(-r as i32)).or_default() += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().expect("flipper");
    println!("chmod-race n={n} ok={ok} errors={errors:?}");
}

extern "C" fn on_usr1(_: libc::c_int) {}

fn chmod_signalled(p: &str, n: u64) {
    // SAFETY: installing a handler that does nothing, with SA_RESTART.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let stop = Arc::new(AtomicBool::new(false));
    let signaller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: signalling a thread of this process.
                unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
                sent += 1;
            }
            sent
        })
    };
    let c = path(p);
    let (mut ok, mut other) = (0u64, 0u64);
    for _ in 0..n {
        if sys(libc::SYS_chmod, &[c.as_ptr() as i64, 0o644]) == 0 {
            ok += 1;
        } else {
            other += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = signaller.join().expect("signaller");
    println!("chmod-signalled ok={ok} other={other} signals={sent}");
}
