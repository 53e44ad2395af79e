//! The differential corpus: chmod- and mkdir-family calls in every form the kernel accepts
//! (and the errors it gives), printed one line per case without the directory's name, so
//! that a run under the enforcer can be compared line by line with a run on the bare kernel.
//!
//!   corpus-setup DIR   makes the fixture tree in DIR (run outside the enforcer, as root)
//!   corpus DIR         runs the cases as root, then as uid/gid 1000 without groups
//!   mkdir PATH MODE

use super::{errno_name, sys};
use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

const SYS_FCHMODAT2: i64 = 452;
const AT_FDCWD: i64 = libc::AT_FDCWD as i64;

pub fn run<'a>(op: &str, args: &mut impl Iterator<Item = &'a str>) -> bool {
    let mut next = || args.next().unwrap_or_else(|| super::usage(op));
    match op {
        "corpus-setup" => setup(Path::new(next())),
        "corpus" => cases(next()),
        // mkdir PATH MODE
        "mkdir" => {
            let (p, m) = (next().to_owned(), super::num(next()));
            super::report(&format!("mkdir({p:?}, {m:#o})"), mkdir(&p, m));
        }
        _ => return false,
    }
    true
}

fn setup(dir: &Path) {
    let file = |name: &str, mode: u32, owner: Option<u32>| {
        let p = dir.join(name);
        std::fs::write(&p, b"x").expect("fixture file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if let Some(u) = owner {
            std::os::unix::fs::chown(&p, Some(u), None).expect("chown");
        }
    };
    let mkdir = |name: &str, mode: u32, owner: Option<u32>| {
        let p = dir.join(name);
        std::fs::create_dir_all(&p).expect("fixture dir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if let Some(u) = owner {
            std::os::unix::fs::chown(&p, Some(u), None).expect("chown");
        }
    };
    mkdir("", 0o755, None);
    for d in ["d", "d2", "cwd", "dd/sub"] {
        mkdir(d, 0o755, None);
    }
    mkdir("locked", 0o700, None);
    mkdir("mkuser", 0o755, Some(1000));
    mkdir("sg", 0o2775, None);
    for i in 0..40 {
        file(&format!("a{i}"), 0o600, None);
    }
    for f in ["d/g1", "d/g2", "cwd/c1", "cwd/c2", "locked/h", "dd/t"] {
        file(f, 0o600, None);
    }
    file("rootowned", 0o644, None);
    file("userfile", 0o600, Some(1000));
    file("userfile2", 0o600, Some(1000));
    let link = |target: &str, name: &str| symlink(target, dir.join(name)).expect("symlink");
    link("a20", "link");
    link("a21", "link2");
    link(&dir.join("a22").display().to_string(), "abslink");
    link("nothing-here", "dangling");
    link("dd/sub", "dirlink");
}

/// One result line: the case, what the call returned, and the mode (and owner) of the file
/// it was about afterwards.
fn show(name: &str, ret: i64, about: Option<&Path>) {
    let result = if ret < 0 {
        format!("ret=-1 errno={}({})", -ret, errno_name(-ret as i32))
    } else {
        format!("ret={ret}")
    };
    let state = match about.map(std::fs::symlink_metadata) {
        Some(Ok(m)) => format!(
            "mode={:o} uid={} gid={}",
            m.mode() & 0o7777,
            m.uid(),
            m.gid()
        ),
        Some(Err(e)) => format!("stat-errno={}", e.raw_os_error().unwrap_or(0)),
        None => String::new(),
    };
    println!("{name}: {result} {state}");
}

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn open(p: &Path, flags: i32) -> i64 {
    let p = c(&p.display().to_string());
    // SAFETY: p is NUL-terminated.
    i64::from(unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) })
}

/// Syscall `nr` with the registers `before`, a pointer to `p`, and `after`.
fn with_path(nr: i64, before: &[i64], p: &str, after: &[i64]) -> i64 {
    let p = c(p);
    let mut regs = before.to_vec();
    regs.push(p.as_ptr() as i64);
    regs.extend_from_slice(after);
    sys(nr, &regs)
}

fn chmod(p: &str, mode: i64) -> i64 {
    with_path(libc::SYS_chmod, &[], p, &[mode])
}

fn fchmodat(dirfd: i64, p: &str, mode: i64) -> i64 {
    with_path(libc::SYS_fchmodat, &[dirfd], p, &[mode])
}

fn fchmodat2(dirfd: i64, p: &str, mode: i64, flags: i64) -> i64 {
    with_path(SYS_FCHMODAT2, &[dirfd], p, &[mode, flags])
}

fn mkdir(p: &str, mode: i64) -> i64 {
    with_path(libc::SYS_mkdir, &[], p, &[mode])
}

fn mkdirat(dirfd: i64, p: &str, mode: i64) -> i64 {
    with_path(libc::SYS_mkdirat, &[dirfd], p, &[mode])
}

fn chdir(p: &Path) {
    let p = c(&p.display().to_string());
    assert_eq!(sys(libc::SYS_chdir, &[p.as_ptr() as i64]), 0, "chdir");
}

fn cases(dir: &str) {
    let d = Path::new(dir);
    let p = |name: &str| d.join(name);
    let s = |name: &str| p(name).display().to_string();
    let pa = |name: &str| Some(p(name));
    let show =
        |name: &str, ret: i64, about: Option<std::path::PathBuf>| show(name, ret, about.as_deref());
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o022) };

    // Absolute paths: the dirfd is not looked at, whatever it is.
    show("chmod-abs", chmod(&s("a0"), 0o640), pa("a0"));
    show(
        "fchmodat-abs-fd-minus-1",
        fchmodat(-1, &s("a1"), 0o641),
        pa("a1"),
    );
    show(
        "fchmodat-abs-closed-fd",
        fchmodat(999, &s("a2"), 0o642),
        pa("a2"),
    );
    show(
        "fchmodat2-abs-cwd",
        fchmodat2(AT_FDCWD, &s("a3"), 0o643, 0),
        pa("a3"),
    );
    // Relative: from the cwd and from a dirfd.
    chdir(d);
    show("chmod-rel-cwd", chmod("a4", 0o644), pa("a4"));
    let dfd = open(&p("d"), libc::O_RDONLY | libc::O_DIRECTORY);
    show("fchmodat-rel-dirfd", fchmodat(dfd, "g1", 0o645), pa("d/g1"));
    let dpath = open(&p("d"), libc::O_PATH | libc::O_DIRECTORY);
    show(
        "fchmodat-rel-opath-dirfd",
        fchmodat(dpath, "g2", 0o646),
        pa("d/g2"),
    );
    show(
        "fchmodat-rel-fd-minus-1",
        fchmodat(-1, "a5", 0o647),
        pa("a5"),
    );
    let ffd = open(&p("a6"), libc::O_RDONLY);
    show(
        "fchmodat-rel-file-dirfd",
        fchmodat(ffd, "x", 0o650),
        pa("a6"),
    );
    // The caller's fds through /dev/fd and /proc.
    let fd = open(&p("a7"), libc::O_RDONLY);
    show(
        "chmod-dev-fd",
        chmod(&format!("/dev/fd/{fd}"), 0o651),
        pa("a7"),
    );
    let fd = open(&p("a8"), libc::O_RDONLY);
    show(
        "chmod-proc-self-fd",
        chmod(&format!("/proc/self/fd/{fd}"), 0o652),
        pa("a8"),
    );
    let fd = open(&p("a9"), libc::O_PATH);
    let pid = std::process::id();
    show(
        "chmod-proc-tgid-fd-opath",
        chmod(&format!("/proc/{pid}/fd/{fd}"), 0o653),
        pa("a9"),
    );
    let dfd2 = open(&p("dd"), libc::O_RDONLY | libc::O_DIRECTORY);
    show(
        "chmod-proc-self-fd-dir-rest",
        chmod(&format!("/proc/self/fd/{dfd2}/t"), 0o654),
        pa("dd/t"),
    );
    let (a10, a11) = (p("a10"), p("a11"));
    let from_thread = std::thread::spawn(move || {
        let fd = open(&a10, libc::O_RDONLY);
        // SAFETY: gettid cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        let r1 = chmod(&format!("/proc/thread-self/fd/{fd}"), 0o655);
        let fd = open(&a11, libc::O_RDONLY);
        let r2 = chmod(&format!("/proc/self/task/{tid}/fd/{fd}"), 0o656);
        (r1, r2)
    })
    .join()
    .expect("second thread");
    show(
        "chmod-proc-thread-self-fd-second-thread",
        from_thread.0,
        pa("a10"),
    );
    show(
        "chmod-proc-self-task-fd-second-thread",
        from_thread.1,
        pa("a11"),
    );
    // fchmod and AT_EMPTY_PATH.
    let fd = open(&p("a12"), libc::O_RDONLY);
    show("fchmod", sys(libc::SYS_fchmod, &[fd, 0o657]), pa("a12"));
    let fd = open(&p("a13"), libc::O_PATH);
    show(
        "fchmod-opath-fd",
        sys(libc::SYS_fchmod, &[fd, 0o660]),
        pa("a13"),
    );
    show(
        "fchmod-closed-fd",
        sys(libc::SYS_fchmod, &[999, 0o661]),
        None,
    );
    let fd = open(&p("a14"), libc::O_RDONLY);
    show(
        "fchmodat2-empty-path",
        fchmodat2(fd, "", 0o662, libc::AT_EMPTY_PATH as i64),
        pa("a14"),
    );
    let fd = open(&p("a15"), libc::O_PATH);
    show(
        "fchmodat2-empty-path-opath",
        fchmodat2(fd, "", 0o663, libc::AT_EMPTY_PATH as i64),
        pa("a15"),
    );
    show(
        "fchmodat2-empty-path-cwd",
        fchmodat2(AT_FDCWD, "", 0o755, libc::AT_EMPTY_PATH as i64),
        Some(d.to_owned()),
    );
    show("fchmodat-empty-path", fchmodat(AT_FDCWD, "", 0o664), None);
    show("chmod-empty-path", chmod("", 0o664), None);
    // Symlinks.
    let nofollow = libc::AT_SYMLINK_NOFOLLOW as i64;
    show(
        "fchmodat2-nofollow-symlink",
        fchmodat2(AT_FDCWD, &s("link"), 0o665, nofollow),
        pa("link"),
    );
    show("fchmodat2-nofollow-symlink-target", 0, pa("a20"));
    show(
        "fchmodat2-nofollow-file",
        fchmodat2(AT_FDCWD, &s("a16"), 0o666, nofollow),
        pa("a16"),
    );
    show("chmod-symlink", chmod(&s("link2"), 0o667), pa("a21"));
    show(
        "chmod-abs-symlink-inside",
        chmod("abslink", 0o670),
        pa("a22"),
    );
    show(
        "chmod-dir-symlink-rel",
        chmod("dirlink/../t", 0o671),
        pa("dd/t"),
    );
    show("chmod-dangling", chmod(&s("dangling"), 0o672), None);
    show(
        "fchmodat2-nofollow-dangling",
        fchmodat2(AT_FDCWD, &s("dangling"), 0o672, nofollow),
        pa("dangling"),
    );
    show(
        "fchmodat2-bad-flags",
        fchmodat2(AT_FDCWD, &s("a17"), 0o673, 0x4),
        pa("a17"),
    );
    // Dot-dot, errors.
    show("chmod-dotdot-abs", chmod(&s("d/../a18"), 0o674), pa("a18"));
    show(
        "fchmodat-dotdot-dirfd",
        fchmodat(dfd, "../a19", 0o675),
        pa("a19"),
    );
    let up = "../".repeat(40);
    show(
        "chmod-dotdot-above-root",
        chmod(&format!("{up}{}", s("a26")), 0o755),
        pa("a26"),
    );
    show("chmod-enoent", chmod(&s("nope"), 0o600), None);
    show("chmod-enotdir", chmod(&s("a0/x"), 0o600), None);
    show(
        "chmod-trailing-slash-file",
        chmod(&s("a0/"), 0o600),
        pa("a0"),
    );
    show(
        "chmod-trailing-slash-dir",
        chmod(&s("d2/"), 0o711),
        pa("d2"),
    );
    show("chmod-enametoolong", chmod(&"x".repeat(300), 0o600), None);
    show("chmod-efault", sys(libc::SYS_chmod, &[1, 0o600]), None);
    // Mode bits above 07777 in the register (umode_t is 16 bits; the kernel keeps 07777).
    show(
        "chmod-high-mode-bits",
        chmod(&s("a23"), 0x7f00_0000_0000_f000 | 0o4755),
        pa("a23"),
    );
    show(
        "fchmod-high-mode-bits",
        {
            let fd = open(&p("a24"), libc::O_RDONLY);
            sys(libc::SYS_fchmod, &[fd, 0x1_0000 | 0o2710])
        },
        pa("a24"),
    );

    // mkdir.
    show("mkdir-abs", mkdir(&s("m1"), 0o755), pa("m1"));
    show("mkdir-exists", mkdir(&s("m1"), 0o755), pa("m1"));
    show("mkdir-exists-file", mkdir(&s("a0"), 0o755), pa("a0"));
    show(
        "mkdir-exists-dangling",
        mkdir(&s("dangling"), 0o755),
        pa("dangling"),
    );
    show("mkdir-rel-cwd", mkdir("m2", 0o700), pa("m2"));
    show("mkdirat-rel-dirfd", mkdirat(dfd, "m3", 0o750), pa("d/m3"));
    show(
        "mkdirat-abs-fd-minus-1",
        mkdirat(-1, &s("m4"), 0o751),
        pa("m4"),
    );
    show("mkdirat-rel-fd-minus-1", mkdirat(-1, "m5", 0o751), pa("m5"));
    show("mkdir-trailing-slash", mkdir(&s("m6//"), 0o755), pa("m6"));
    show("mkdir-enoent-parent", mkdir(&s("nope/m"), 0o755), None);
    show("mkdir-enotdir-parent", mkdir(&s("a0/m"), 0o755), None);
    show("mkdir-dot", mkdir(&s("d/."), 0o755), None);
    show("mkdir-dotdot", mkdir(&s("d/.."), 0o755), None);
    show("mkdir-root", mkdir("/", 0o755), None);
    show("mkdir-empty", mkdir("", 0o755), None);
    show(
        "mkdir-through-symlink-parent",
        mkdir(&s("dirlink/m7"), 0o755),
        pa("dd/sub/m7"),
    );
    show(
        "mkdir-high-mode-bits",
        mkdir(&s("m8"), 0xffff_0000 | 0o1777),
        pa("m8"),
    );
    show(
        "mkdir-setgid-parent",
        mkdir(&s("sg/m9"), 0o755),
        pa("sg/m9"),
    );
    show(
        "mkdir-proc-self-fd-rest",
        mkdir(&format!("/proc/self/fd/{dfd2}/m10"), 0o755),
        pa("dd/m10"),
    );
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o077) };
    show("mkdir-umask-077", mkdir(&s("m11"), 0o777), pa("m11"));
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o022) };

    // The cwd renamed under the caller: relative calls still start from it.
    chdir(&p("cwd"));
    std::fs::rename(p("cwd"), p("cwd-renamed")).expect("rename");
    show(
        "chmod-rel-renamed-cwd",
        chmod("c1", 0o676),
        pa("cwd-renamed/c1"),
    );
    show(
        "chmod-dotdot-renamed-cwd",
        chmod("../a25", 0o677),
        pa("a25"),
    );
    show(
        "mkdir-rel-renamed-cwd",
        mkdir("m12", 0o755),
        pa("cwd-renamed/m12"),
    );
    // ... and renamed again and again while calls run.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let renamer = {
        let (stop, a, b) = (stop.clone(), p("cwd-renamed"), p("cwd-other"));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::rename(&a, &b);
                let _ = std::fs::rename(&b, &a);
            }
        })
    };
    let failed = (0..200)
        .filter(|i| chmod("c2", if i % 2 == 0 { 0o640 } else { 0o604 }) != 0)
        .count();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    renamer.join().expect("renamer");
    println!("chmod-rel-cwd-renamed-while-running: failed={failed}");
    chdir(d);

    // As uid and gid 1000, without supplementary groups (this thread only: raw syscalls).
    let none: [libc::gid_t; 0] = [];
    assert_eq!(
        sys(libc::SYS_setgroups, &[0, none.as_ptr() as i64]),
        0,
        "setgroups"
    );
    assert_eq!(
        sys(libc::SYS_setresgid, &[1000, 1000, 1000]),
        0,
        "setresgid"
    );
    assert_eq!(
        sys(libc::SYS_setresuid, &[1000, 1000, 1000]),
        0,
        "setresuid"
    );
    show(
        "user-chmod-unsearchable-dir",
        chmod(&s("locked/h"), 0o644),
        None,
    );
    show(
        "user-chmod-not-owned",
        chmod(&s("rootowned"), 0o600),
        pa("rootowned"),
    );
    show(
        "user-chmod-own",
        chmod(&s("userfile"), 0o604),
        pa("userfile"),
    );
    show(
        "user-chmod-setgid-not-in-group",
        chmod(&s("userfile2"), 0o2755),
        pa("userfile2"),
    );
    show(
        "user-mkdir-unsearchable-dir",
        mkdir(&s("locked/x"), 0o755),
        None,
    );
    show("user-mkdir-not-writable", mkdir(&s("u0"), 0o755), pa("u0"));
    show(
        "user-mkdir-own-dir",
        mkdir(&s("mkuser/u1"), 0o777),
        pa("mkuser/u1"),
    );
}
