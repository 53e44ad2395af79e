//! Compiled filters in the real kernel: a forked child installs the filter with a raw
//! seccomp(2) call, makes a few calls and reports through its exit status.

use super::*;

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;

/// How the child ended: `Ok(exit code)` or `Err(signal)`.
fn run_in_child(
    filter: &CompiledFilter,
    extra_flags: libc::c_ulong,
    check: fn() -> i32,
) -> Result<i32, i32> {
    let prog = libc::sock_fprog {
        len: u16::try_from(filter.program.len()).expect("at most 4096 instructions"),
        filter: filter.program.as_ptr().cast_mut(),
    };
    let flags = libc::c_ulong::from(filter.flags) | extra_flags;
    // SAFETY: the child only makes raw syscalls on data prepared before fork, then _exits;
    // it never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: prctl and seccomp read only `prog`, which outlives the calls; _exit ends
        // the child without running the parent's destructors.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                libc::_exit(90);
            }
            if libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0 {
                libc::_exit(91);
            }
            libc::_exit(check());
        }
    }
    let mut status = 0;
    // SAFETY: waits for the child we just forked; `status` is ours.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(libc::WTERMSIG(status))
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// An i386 syscall through `int 0x80` (IA32 emulation), with its first three arguments 0.
#[cfg(target_arch = "x86_64")]
fn i386_syscall0(nr: i32) -> i32 {
    let ret: i32;
    // SAFETY: the call gets ebx = ecx = edx = 0 (NULL pointers at worst: EFAULT) and only
    // writes eax; rbx cannot be an asm operand, so it is swapped through a scratch register,
    // and r8-r11 are declared clobbered as the compat entry may not preserve them.
    unsafe {
        std::arch::asm!(
            "xchg {zero}, rbx",
            "int 0x80",
            "xchg {zero}, rbx",
            zero = inout(reg) 0u64 => _,
            inlateout("eax") nr => ret,
            in("ecx") 0,
            in("edx") 0,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Runs in the child under plain Docker default (no notify overlay).
#[cfg(target_arch = "x86_64")]
fn docker_default_checks() -> i32 {
    // SAFETY: raw syscalls with valid (or deliberately null) arguments.
    unsafe {
        let rc = libc::mount(
            c"none".as_ptr(),
            c"/mnt".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        );
        if rc != -1 || errno() != libc::EPERM {
            return 1;
        }
        if libc::syscall(libc::SYS_getpid) <= 0 {
            return 2;
        }
        // fchmodat2 (452) is allowed: the kernel itself answers ENOENT.
        let rc = libc::syscall(
            452,
            libc::AT_FDCWD,
            c"/nonexistent-enforcer-test".as_ptr(),
            0o644,
            0,
        );
        if rc != -1 || errno() != libc::ENOENT {
            return 3;
        }
        // clone3 without CAP_SYS_ADMIN: ENOSYS from the filter (the kernel would say EINVAL).
        if libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0) != -1
            || errno() != libc::ENOSYS
        {
            return 4;
        }
        // mseal (462), unknown to libseccomp 2.5.4, is allowed: the kernel answers.
        if libc::syscall(462, 0, 0, 1) != -1 || errno() != libc::EINVAL {
            return 5;
        }
        // The i386 part of the filter: getpid (20) allowed, mount (21) EPERM.
        if i386_syscall0(20) != libc::getpid() {
            return 6;
        }
        if i386_syscall0(21) != -libc::EPERM {
            return 7;
        }
        // The x32 part: mount is EPERM from the filter (this kernel has no x32 ABI: ENOSYS).
        if libc::syscall(libc::c_long::from(X32_SYSCALL_BIT) | libc::SYS_mount) != -1
            || errno() != libc::EPERM
        {
            return 8;
        }
    }
    0
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn docker_default_in_the_kernel() {
    assert!(
        is_root(),
        "this test installs seccomp filters in a forked child: run it as root"
    );
    let filter = builtin_default()
        .resolve(&ResolveContext::from_system())
        .unwrap()
        .compile()
        .unwrap();
    assert!(!filter.notify);
    assert_eq!(run_in_child(&filter, 0, docker_default_checks), Ok(0));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn unmapped_abis_kill_the_process() {
    assert!(is_root(), "run as root");
    // docker-example.json has no architectures: native only, so i386 and x32 calls hit the
    // bad-arch action, KILL_PROCESS (SIGSYS).
    let filter = real("docker-example.json")
        .profile
        .resolve(&ctx())
        .unwrap()
        .compile()
        .unwrap();
    let x32 = || -> i32 {
        // SAFETY: a raw syscall without arguments.
        unsafe { libc::syscall(libc::c_long::from(X32_SYSCALL_BIT) | libc::SYS_getpid) };
        0
    };
    assert_eq!(run_in_child(&filter, 0, x32), Err(libc::SIGSYS));
    let i386 = || -> i32 {
        i386_syscall0(20);
        0
    };
    assert_eq!(run_in_child(&filter, 0, i386), Err(libc::SIGSYS));
}

#[test]
fn builtin_with_notify_installs_with_a_listener() {
    assert!(is_root(), "run as root");
    let filter = builtin_resolved(&ResolveContext::from_system())
        .unwrap()
        .compile()
        .unwrap();
    assert!(filter.notify);
    // Installing returns the listener fd; the child exits without a notified call.
    let prog_len = filter.program.len();
    assert!(prog_len > 100, "{prog_len} instructions");
    assert_eq!(
        run_in_child(&filter, SECCOMP_FILTER_FLAG_NEW_LISTENER, || 0),
        Ok(0)
    );
}

/// The probe profile of the ENOSYS tests: names calls up to exit_group (231 on x86_64), denies
/// with EPERM by default.
#[cfg(target_arch = "x86_64")]
const NEWEST_231: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["exit_group", "exit", "getpid"], "action": "SCMP_ACT_ALLOW"}]}"#;

#[cfg(target_arch = "x86_64")]
fn enosys_checks() -> i32 {
    let call = |nr: libc::c_long| {
        // SAFETY: raw syscalls with zero arguments: at worst EFAULT/EINVAL from the kernel.
        let rc = unsafe { libc::syscall(nr, 0, 0, 0, 0, 0, 0) };
        if rc == -1 { errno() } else { 0 }
    };
    // Named: allowed.
    // SAFETY: getpid has no arguments.
    if unsafe { libc::syscall(libc::SYS_getpid) } <= 0 {
        return 1;
    }
    // Known and older than exit_group, not named: the default's EPERM.
    if call(libc::SYS_getppid) != libc::EPERM || call(libc::SYS_mount) != libc::EPERM {
        return 2;
    }
    // Newer than every named syscall: ENOSYS, so libc would fall back.
    if call(libc::SYS_getrandom) != libc::ENOSYS || call(libc::SYS_clone3) != libc::ENOSYS {
        return 3;
    }
    // Beyond any table, and the edge: 231 is named, 232 (epoll_wait) is newer.
    if call(1000) != libc::ENOSYS || call(232) != libc::ENOSYS {
        return 4;
    }
    0
}

#[cfg(target_arch = "x86_64")]
#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    assert!(is_root(), "run as root");
    let resolved = resolve(NEWEST_231).unwrap();
    assert_eq!(resolved.newest_named(Arch::X86_64), Some(231));
    assert!(resolved.enosys_for_newer());
    let filter = resolved.compile().unwrap();
    assert_eq!(run_in_child(&filter, 0, enosys_checks), Ok(0));
    assert_eq!(resolved.enosys_blocks().len(), 1);

    // As runc: no stub when the default lets calls run or already is ENOSYS.
    for default in [
        r#""SCMP_ACT_ALLOW""#,
        r#""SCMP_ACT_LOG""#,
        r#""SCMP_ACT_TRACE""#,
        r#""SCMP_ACT_ERRNO", "defaultErrnoRet": 38"#,
    ] {
        let text = NEWEST_231.replace(r#""SCMP_ACT_ERRNO""#, default);
        let r = resolve(&text).unwrap();
        assert!(
            !r.enosys_for_newer() && r.enosys_blocks().is_empty(),
            "{default}"
        );
    }
    // The kill actions keep the stub, as in runc.
    let kill = resolve(&NEWEST_231.replace(r#""SCMP_ACT_ERRNO""#, r#""SCMP_ACT_KILL_PROCESS""#));
    assert!(kill.unwrap().enosys_for_newer());
}

/// x32 and i386 calls are compared with their own ABI's newest named syscall.
#[cfg(target_arch = "x86_64")]
#[test]
fn enosys_per_abi() {
    assert!(is_root(), "run as root");
    let text = NEWEST_231.replace(
        r#""syscalls""#,
        r#""architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls""#,
    );
    let resolved = resolve(&text).unwrap();
    // i386: exit_group is 252, getpid 20, exit 1.
    assert_eq!(resolved.newest_named(Arch::X86), Some(252));
    assert_eq!(
        resolved.newest_named(Arch::X32),
        Some(231 | X32_SYSCALL_BIT as u32)
    );
    let filter = resolved.compile().unwrap();
    let checks = || -> i32 {
        // i386 mount (21) is older than exit_group (252): EPERM; i386 getrandom (355) ENOSYS.
        if i386_syscall0(21) != -libc::EPERM || i386_syscall0(355) != -libc::ENOSYS {
            return 1;
        }
        // x32 getppid (110 | bit 30): EPERM; x32 getrandom (318 | bit 30): ENOSYS.
        let x32 = |nr: libc::c_long| {
            // SAFETY: a raw syscall without arguments.
            let rc = unsafe { libc::syscall(libc::c_long::from(X32_SYSCALL_BIT) | nr) };
            if rc == -1 { errno() } else { 0 }
        };
        if x32(libc::SYS_getppid) != libc::EPERM || x32(libc::SYS_getrandom) != libc::ENOSYS {
            return 2;
        }
        enosys_checks() * 10
    };
    assert_eq!(run_in_child(&filter, 0, checks), Ok(0));
}
