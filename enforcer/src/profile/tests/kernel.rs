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
    let filter = shared("docker-example.json")
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
