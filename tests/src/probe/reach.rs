//! The attack on the enforcer from inside a workload (issue 12 §1): every thread of every
//! target process is tried every way a process can reach another one, and each result is
//! reported. The targets are the pids given (or the parent, the enforcer of `run`) and all
//! their descendants but this process.
//!
//! Results: `denied` (EPERM or EACCES from the kernel), `absent` (no such fd or thread:
//! nothing was reached, nothing proven), `reached` (the attempt got through: a failure).

use super::{errno_name, num};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;

/// How many fd numbers are tried where the fd directory cannot be listed.
const FDS_TRIED: i32 = 32;
/// PIDFD_THREAD (Linux 6.9): a pidfd for one thread.
const PIDFD_THREAD: i64 = libc::O_EXCL as i64;

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    match op {
        // reach TARGETS: attack TARGETS (`parent`, the enforcer of `run`, or comma-separated
        // pids) and their descendants.
        "reach" => {
            let targets = args.next().unwrap_or_else(|| super::usage(op));
            let pids: Vec<i32> = if targets == "parent" {
                // SAFETY: getppid cannot fail.
                vec![unsafe { libc::getppid() }]
            } else {
                targets.split(',').map(|p| num(p) as i32).collect()
            };
            reach(&pids);
        }
        // dumpable: this process's PR_GET_DUMPABLE.
        "dumpable" => {
            // SAFETY: prctl with integer arguments.
            let d = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
            println!("dumpable = {d}");
        }
        _ => return false,
    }
    true
}

#[derive(Default)]
struct Tally {
    attempts: u64,
    denied: u64,
    reached: u64,
}

impl Tally {
    /// Records one attempt on thread `tid` by `how`: `Ok` means it got through.
    fn note(&mut self, tid: i32, how: &str, result: Result<(), i32>) {
        self.attempts += 1;
        match result {
            Ok(()) => {
                self.reached += 1;
                println!("reach tid={tid} op={how} result=reached");
            }
            Err(e) if e == libc::EPERM || e == libc::EACCES => self.denied += 1,
            Err(e) if e == libc::ENOENT || e == libc::ESRCH || e == libc::EBADF => {}
            // Anything else means the permission check passed (EFAULT on a bad address).
            Err(e) => {
                self.reached += 1;
                println!(
                    "reach tid={tid} op={how} result=reached errno={} ({e})",
                    errno_name(e)
                );
            }
        }
    }
}

fn reach(roots: &[i32]) {
    let processes = descendants(roots);
    let mut tally = Tally::default();
    let mut threads = 0;
    for &pid in &processes {
        for tid in tasks(pid) {
            threads += 1;
            let comm =
                std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap_or_default();
            println!("reach thread pid={pid} tid={tid} comm={}", comm.trim());
            attack(pid, tid, &mut tally);
        }
    }
    println!(
        "reach processes={} threads={threads} attempts={} denied={} reached={}",
        processes.len(),
        tally.attempts,
        tally.denied,
        tally.reached
    );
}

/// `roots` and every process below them, but this one.
fn descendants(roots: &[i32]) -> BTreeSet<i32> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Some(ppid) = parent_of(pid) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let me = std::process::id() as i32;
    let mut found = BTreeSet::new();
    let mut todo: Vec<i32> = roots.to_vec();
    while let Some(p) = todo.pop() {
        if p != me && found.insert(p) {
            todo.extend(children.get(&p).into_iter().flatten());
        }
    }
    found
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn tasks(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn rc(r: i64) -> Result<i64, i32> {
    if r < 0 { Err(errno()) } else { Ok(r) }
}

fn cpath(p: &str) -> CString {
    CString::new(p).expect("no NUL")
}

/// open(2) of `path`; closes what it got.
fn try_open(path: &str, flags: i32) -> Result<(), i32> {
    let p = cpath(path);
    // SAFETY: p is NUL-terminated; the fd, if any, is closed at once.
    let fd = rc(unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) } as i64)?;
    // SAFETY: closing the fd just opened.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

fn try_readlink(path: &str) -> Result<(), i32> {
    std::fs::read_link(path)
        .map(drop)
        .map_err(|e| e.raw_os_error().unwrap_or(0))
}

/// Every way in, on thread `tid` of process `pid`.
fn attack(pid: i32, tid: i32, tally: &mut Tally) {
    let task = format!("/proc/{pid}/task/{tid}");
    for (how, flags) in [("mem-read", libc::O_RDONLY), ("mem-write", libc::O_WRONLY)] {
        tally.note(tid, how, try_open(&format!("{task}/mem"), flags));
        tally.note(tid, how, try_open(&format!("/proc/{tid}/mem"), flags));
    }
    tally.note(
        tid,
        "environ",
        try_open(&format!("{task}/environ"), libc::O_RDONLY),
    );
    for link in ["exe", "cwd", "root"] {
        tally.note(tid, link, try_readlink(&format!("{task}/{link}")));
    }
    for n in fd_numbers(&task) {
        tally.note(tid, "fd-readlink", try_readlink(&format!("{task}/fd/{n}")));
        tally.note(
            tid,
            "fd-open",
            try_open(&format!("{task}/fd/{n}"), libc::O_RDONLY),
        );
        tally.note(
            tid,
            "fd-open-proc",
            try_open(&format!("/proc/{pid}/fd/{n}"), libc::O_RDONLY),
        );
    }
    tally.note(tid, "ptrace-attach", ptrace_attach(tid));
    tally.note(tid, "ptrace-seize", ptrace_seize(tid));
    tally.note(
        tid,
        "process_vm_readv",
        vm_access(tid, libc::SYS_process_vm_readv),
    );
    tally.note(
        tid,
        "process_vm_writev",
        vm_access(tid, libc::SYS_process_vm_writev),
    );
    for (what, target, flags) in [("process", pid, 0), ("thread", tid, PIDFD_THREAD)] {
        match pidfd_open(target, flags) {
            Ok(pidfd) => {
                for n in 0..FDS_TRIED {
                    // SAFETY: pidfd_getfd on a pidfd this process owns; a got fd is closed.
                    let r = rc(unsafe {
                        libc::syscall(
                            libc::SYS_pidfd_getfd,
                            libc::c_long::from(pidfd),
                            libc::c_long::from(n),
                            0 as libc::c_long,
                        )
                    });
                    if let Ok(fd) = r {
                        // SAFETY: closing the fd just taken.
                        unsafe { libc::close(fd as i32) };
                    }
                    tally.note(tid, &format!("pidfd_getfd-{what}"), r.map(drop));
                }
                // SAFETY: closing our own pidfd.
                unsafe { libc::close(pidfd) };
            }
            Err(e) => println!("reach tid={tid} pidfd_open({what}) = {}", errno_name(e)),
        }
    }
}

/// The fd numbers to try: those the directory lists (root with CAP_DAC_READ_SEARCH may list
/// it; listing shows numbers, not files), else 0..FDS_TRIED.
fn fd_numbers(task: &str) -> Vec<i32> {
    match std::fs::read_dir(format!("{task}/fd")) {
        Ok(d) => d
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => (0..FDS_TRIED).collect(),
    }
}

fn pidfd_open(pid: i32, flags: i64) -> Result<i32, i32> {
    // SAFETY: pidfd_open with integer arguments.
    rc(unsafe { libc::syscall(libc::SYS_pidfd_open, libc::c_long::from(pid), flags) })
        .map(|fd| fd as i32)
}

fn ptrace_attach(tid: i32) -> Result<(), i32> {
    // SAFETY: ptrace with integer arguments; a tracee we got is let go at once.
    unsafe {
        rc(libc::ptrace(libc::PTRACE_ATTACH, tid, 0, 0))?;
        let mut status = 0;
        libc::waitpid(tid, &mut status, libc::__WALL);
        libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0);
    }
    Ok(())
}

fn ptrace_seize(tid: i32) -> Result<(), i32> {
    // SAFETY: as ptrace_attach; a seized tracee must be stopped before it can be detached.
    unsafe {
        rc(libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0))?;
        libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0);
        let mut status = 0;
        libc::waitpid(tid, &mut status, libc::__WALL);
        libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0);
    }
    Ok(())
}

/// process_vm_readv/writev of 8 bytes at an address that is mapped in no process: with
/// access the kernel answers EFAULT, without it EPERM.
fn vm_access(tid: i32, nr: i64) -> Result<(), i32> {
    let mut buf = [0u8; 8];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: 0x10 as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the local iovec points at `buf`, alive across the call; the remote one is only
    // an address in the other process.
    // Every argument as a long: the kernel reads whole registers for the counts and flags.
    let (one, flags): (libc::c_long, libc::c_ulong) = (1, 0);
    rc(unsafe {
        libc::syscall(
            nr,
            libc::c_long::from(tid),
            &local as *const libc::iovec,
            one,
            &remote as *const libc::iovec,
            one,
            flags,
        )
    })
    .map(drop)
}
