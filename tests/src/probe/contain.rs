//! Probe operations for the containment tests: leaving the cgroup, inherited fds, a daemon
//! that outlives its parent, and every route that creates a file with a mode.

use super::{num, path, report, sys};

/// Runs `op` if it is one of ours, taking its arguments from `args`; false if unknown.
pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        // cgroup-escape ROOT: write our pid into ROOT/cgroup.procs, make ROOT/escape, and
        // print the v2 line of /proc/self/cgroup.
        "cgroup-escape" => cgroup_escape(next()),
        // fds: the open fds above 2 (checked with F_GETFD, which opens nothing).
        "fds" => fds(),
        // daemon: fork a child that leaves the session, closes stdio (so that nobody waits for
        // its output) and sleeps; print its pid.
        "daemon" => daemon(),
        // umask MODE
        "umask" => {
            let m = num(next());
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(m as libc::mode_t) };
            println!("umask({m:#o})");
        }
        // create ROUTE PATH MODE: open | openat | creat | mknod | mknodat | tmpfile (PATH is
        // a directory) | openat2; prints the call and, when a file was made, its mode.
        "create" => {
            let (route, p, m) = (next(), next(), num(next()));
            create(route, p, m);
        }
        _ => return false,
    }
    true
}

fn cgroup_escape(root: &str) {
    let procs = format!("{root}/cgroup.procs");
    let pid = std::process::id().to_string();
    let r = std::fs::write(&procs, &pid);
    print_io(&format!("write({procs:?}, {pid})"), r);
    let dir = format!("{root}/escape");
    print_io(&format!("mkdir({dir:?})"), std::fs::create_dir(&dir));
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let v2 = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .unwrap_or("none");
    println!("cgroup = {v2}");
}

fn print_io(call: &str, r: std::io::Result<()>) {
    match r {
        Ok(()) => println!("{call} = 0"),
        Err(e) => report(call, -i64::from(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

fn fds() {
    // SAFETY: F_GETFD on any number only reads the fd table.
    let open: Vec<String> = (3..1024)
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0)
        .map(|fd: i32| fd.to_string())
        .collect();
    println!("fds = [{}]", open.join(" "));
}

fn daemon() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: the child only calls setsid, close and pause, then never returns.
    match unsafe { libc::fork() } {
        0 => unsafe {
            libc::setsid();
            for fd in 0..3 {
                libc::close(fd);
            }
            loop {
                libc::pause();
            }
        },
        pid => println!("daemon = {pid}"),
    }
}

fn create(route: &str, p: &str, mode: i64) {
    let c = path(p);
    let at = libc::AT_FDCWD as i64;
    let ptr = c.as_ptr() as i64;
    let wr = (libc::O_WRONLY | libc::O_CLOEXEC) as i64;
    let creat = wr | libc::O_CREAT as i64;
    let (call, ret) = match route {
        "open" => ("open(O_CREAT)", sys(libc::SYS_open, &[ptr, creat, mode])),
        "openat" => (
            "openat(O_CREAT)",
            sys(libc::SYS_openat, &[at, ptr, creat, mode]),
        ),
        "creat" => ("creat", sys(libc::SYS_creat, &[ptr, mode])),
        "mknod" => ("mknod", sys(libc::SYS_mknod, &[ptr, mode, 0])),
        "mknodat" => ("mknodat", sys(libc::SYS_mknodat, &[at, ptr, mode, 0])),
        "tmpfile" => {
            let flags = (libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC) as i64;
            (
                "openat(O_TMPFILE)",
                sys(libc::SYS_openat, &[at, ptr, flags, mode]),
            )
        }
        "openat2" => {
            // struct open_how { flags, mode, resolve }
            let how: [u64; 3] = [creat as u64, mode as u64, 0];
            let r = sys(
                libc::SYS_openat2,
                &[
                    at,
                    ptr,
                    how.as_ptr() as i64,
                    std::mem::size_of_val(&how) as i64,
                ],
            );
            ("openat2(O_CREAT)", r)
        }
        _ => super::usage(route),
    };
    report(&format!("{call}({p:?}, {mode:#o})"), ret);
    if ret >= 0 {
        // SAFETY: a zeroed stat is a valid out-buffer for fstat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let fd = if route.starts_with("mknod") {
            // SAFETY: c is a NUL-terminated path; st is ours.
            unsafe { libc::lstat(c.as_ptr(), &mut st) };
            -1
        } else {
            // SAFETY: ret is the fd the call returned; st is ours.
            unsafe { libc::fstat(ret as i32, &mut st) };
            ret as i32
        };
        println!("mode = {:#o}", st.st_mode & 0o7777);
        if fd >= 0 {
            // SAFETY: closing the fd we opened.
            unsafe { libc::close(fd) };
        }
    }
}
