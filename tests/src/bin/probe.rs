//! A workload for tests and the demo: makes exactly the system calls it is told to, with raw
//! syscall(2) so libc cannot substitute another call, and prints what the kernel returned.
//!
//! usage: probe OP [ARGS]... [OP [ARGS]...]...
//!   chmod PATH MODE | fchmod PATH MODE | fchmodat PATH MODE | fchmodat2 PATH MODE FLAGS
//!   getppid COUNT | mount | unshare | keyctl | clone3 | socket FAMILY | personality VALUE
//!   touch PATH | exit CODE | kill-self SIGNAL
//!   i386-getpid | x32-getpid | fork | mixed N (src/probe/observer.rs)
//!   accounting FORKS BAD_CLONES SIGNALS INTERRUPTS | restarted-read | sleep-ms N
//!   (src/probe/accounting.rs)
//!   thread | clone-flags FLAGS | clone3-flags FLAGS (src/probe/aliases.rs)
//!   raw NR A0..A5 | mount-private DIR | status (src/probe/profiles.rs)
//!   reach parent|PID,... | dumpable (src/probe/reach.rs)
//!   cgroup-escape ROOT | fds | daemon | umask MODE | create ROUTE PATH MODE (src/probe/contain.rs)
//!   corpus-setup DIR | corpus DIR (src/probe/corpus.rs)
//!   bench-getppid N (src/probe/timing.rs)
//! Each call prints `op(args) = ret` or `op(args) = -1 ERRNO (message)`. Numbers take 0o/0x.

#[path = "../probe/accounting.rs"]
mod probe_accounting;
#[path = "../probe/aliases.rs"]
mod probe_aliases;
#[path = "../probe/contain.rs"]
mod probe_contain;
#[path = "../probe/corpus.rs"]
mod probe_corpus;
#[path = "../probe/observer.rs"]
mod probe_observer;
#[path = "../probe/profiles.rs"]
mod probe_profiles;
#[path = "../probe/reach.rs"]
mod probe_reach;
#[path = "../probe/supervisor.rs"]
mod probe_supervisor;
#[path = "../probe/timing.rs"]
mod probe_timing;

use std::ffi::CString;
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter().map(String::as_str);
    while let Some(op) = it.next() {
        let mut next = || it.next().unwrap_or_else(|| usage(op));
        match op {
            "chmod" => {
                let (p, m) = (path(next()), num(next()));
                report(
                    &format!("chmod({p:?}, {m:#o})"),
                    sys(libc::SYS_chmod, &[p.as_ptr() as i64, m]),
                );
            }
            "fchmod" => {
                let (p, m) = (path(next()), num(next()));
                // SAFETY: p is a NUL-terminated path.
                let fd = unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
                report(
                    &format!("fchmod(open({p:?}), {m:#o})"),
                    sys(libc::SYS_fchmod, &[fd as i64, m]),
                );
            }
            "fchmodat" => {
                let (p, m) = (path(next()), num(next()));
                report(
                    &format!("fchmodat(AT_FDCWD, {p:?}, {m:#o})"),
                    sys(
                        libc::SYS_fchmodat,
                        &[libc::AT_FDCWD as i64, p.as_ptr() as i64, m],
                    ),
                );
            }
            "fchmodat2" => {
                let (p, m, f) = (path(next()), num(next()), num(next()));
                report(
                    &format!("fchmodat2(AT_FDCWD, {p:?}, {m:#o}, {f:#x})"),
                    sys(452, &[libc::AT_FDCWD as i64, p.as_ptr() as i64, m, f]),
                );
            }
            "getppid" => {
                let n = num(next());
                let mut last = 0;
                for _ in 0..n {
                    last = sys(libc::SYS_getppid, &[]);
                }
                println!("getppid() x {n} = {last}");
            }
            "mount" => {
                let (src, dst, ty) = (path("none"), path("/tmp"), path("tmpfs"));
                report(
                    "mount(\"none\", \"/tmp\", \"tmpfs\", MS_RDONLY|MS_REMOUNT)",
                    sys(
                        libc::SYS_mount,
                        &[
                            src.as_ptr() as i64,
                            dst.as_ptr() as i64,
                            ty.as_ptr() as i64,
                            (libc::MS_RDONLY | libc::MS_REMOUNT | libc::MS_BIND) as i64,
                            0,
                        ],
                    ),
                );
            }
            "unshare" => report(
                "unshare(CLONE_NEWUTS)",
                sys(libc::SYS_unshare, &[libc::CLONE_NEWUTS as i64]),
            ),
            "keyctl" => report(
                "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING)",
                sys(libc::SYS_keyctl, &[0, -3, 0]),
            ),
            "clone3" => report("clone3(NULL, 0)", sys(libc::SYS_clone3, &[0, 0])),
            "socket" => {
                let family = num(next());
                let r = sys(libc::SYS_socket, &[family, libc::SOCK_STREAM as i64, 0]);
                report(&format!("socket({family}, SOCK_STREAM, 0)"), r);
            }
            "personality" => {
                let v = num(next());
                report(
                    &format!("personality({v:#x})"),
                    sys(libc::SYS_personality, &[v]),
                );
            }
            "touch" => {
                let p = next();
                let r = std::fs::write(p, b"").map(|_| 0).unwrap_or(-1);
                println!("touch({p:?}) = {r}");
            }
            "exit" => {
                let _ = std::io::stdout().flush();
                std::process::exit(num(next()) as i32);
            }
            "kill-self" => {
                let _ = std::io::stdout().flush();
                // SAFETY: sending a signal to ourselves.
                unsafe { libc::kill(libc::getpid(), num(next()) as i32) };
            }
            other => {
                if !probe_supervisor::run(other, &mut it)
                    && !probe_corpus::run(other, &mut it)
                    && !probe_observer::run(other, &mut it)
                    && !probe_accounting::run(other, &mut it)
                    && !probe_aliases::run(other, &mut it)
                    && !probe_profiles::run(other, &mut it)
                    && !probe_reach::run(other, &mut it)
                    && !probe_contain::run(other, &mut it)
                    && !probe_timing::run(other, &mut it)
                {
                    usage(other)
                }
            }
        }
    }
}

fn usage(op: &str) -> ! {
    eprintln!("probe: bad or incomplete operation {op:?} (see the usage in src/bin/probe.rs)");
    std::process::exit(2)
}

fn path(s: &str) -> CString {
    CString::new(s).expect("no NUL in arguments")
}

fn num(s: &str) -> i64 {
    let parsed = if let Some(h) = s.strip_prefix("0x") {
        i64::from_str_radix(h, 16)
    } else if let Some(o) = s.strip_prefix("0o") {
        i64::from_str_radix(o, 8)
    } else if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8)
    } else {
        s.parse()
    };
    parsed.unwrap_or_else(|_| usage(s))
}

/// Raw syscall with up to six arguments; returns the kernel's value or -errno.
fn sys(nr: i64, a: &[i64]) -> i64 {
    let g = |i: usize| a.get(i).copied().unwrap_or(0);
    // SAFETY: the callers pass pointers to live, NUL-terminated strings where the syscall
    // expects them, and plain integers elsewhere.
    let r = unsafe { libc::syscall(nr, g(0), g(1), g(2), g(3), g(4), g(5)) };
    if r == -1 {
        -(std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as i64)
    } else {
        r
    }
}

fn report(call: &str, ret: i64) {
    if ret < 0 {
        let err = std::io::Error::from_raw_os_error(-ret as i32).to_string();
        let message = err.split(" (os error").next().unwrap_or_default();
        println!("{call} = -1 {} ({message})", errno_name(-ret as i32));
    } else {
        println!("{call} = {ret}");
    }
}

fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::ENOSYS => "ENOSYS",
        libc::EFAULT => "EFAULT",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EBADF => "EBADF",
        libc::EEXIST => "EEXIST",
        libc::EBUSY => "EBUSY",
        libc::ESRCH => "ESRCH",
        libc::EROFS => "EROFS",
        _ => "E?",
    }
}
