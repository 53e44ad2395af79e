//! The yardstick for the supervisor benchmark: the least a seccomp supervisor can do. A child
//! installs a filter that notifies chmod, then times N chmod calls; the parent answers each
//! with CONTINUE in a bare receive-and-respond loop of raw ioctls. With `sync`, the listener
//! has synchronous wake-ups on, as the enforcer's has by default.
//!
//! usage: notify-baseline N PATH [sync]  → prints `baseline n=N ns_per_call=X`

use std::ffi::CString;

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp).
const SECCOMP_IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const SECCOMP_IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;
const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
// SECCOMP_IOW(4, __u64) and SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP.
const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: libc::c_ulong = 1;

#[repr(C)]
#[derive(Default)]
struct SeccompData {
    nr: i32,
    arch: u32,
    ip: u64,
    args: [u64; 6],
}

#[repr(C)]
#[derive(Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: notify-baseline N PATH [sync]");
    let path = CString::new(
        args.get(2)
            .expect("usage: notify-baseline N PATH [sync]")
            .as_str(),
    )
    .expect("path");
    let sync_wakeup = args.get(3).is_some_and(|a| a == "sync");
    let (ld, jeq, ret) = (
        (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
        (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        (libc::BPF_RET | libc::BPF_K) as u16,
    );
    let prog = [
        stmt(ld, 4), // arch
        jump(jeq, AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, SECCOMP_RET_KILL_PROCESS),
        stmt(ld, 0), // nr
        jump(jeq, libc::SYS_chmod as u32, 0, 1),
        stmt(ret, SECCOMP_RET_USER_NOTIF),
        stmt(ret, SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut _,
    };
    // Child → parent (the listener's number) and parent → child (go).
    let (mut up, mut down) = ([0i32; 2], [0i32; 2]);
    // SAFETY: each array has room for two fds.
    assert_eq!(
        unsafe { libc::pipe(up.as_mut_ptr()) + libc::pipe(down.as_mut_ptr()) },
        0
    );
    // SAFETY: the child uses only raw calls and its own stack until it exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: installing a filter in this child and timing raw syscalls.
        unsafe {
            let listener = libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &fprog as *const _,
            );
            assert!(
                listener >= 0,
                "seccomp: {}",
                std::io::Error::last_os_error()
            );
            libc::write(up[1], (&listener as *const i64).cast(), 8);
            let mut go = 0u8;
            libc::read(down[0], (&mut go as *mut u8).cast(), 1);
            let start = std::time::Instant::now();
            for _ in 0..n {
                libc::syscall(libc::SYS_chmod, path.as_ptr(), 0o644);
            }
            println!(
                "baseline n={n} ns_per_call={}",
                start.elapsed().as_nanos() / n.max(1) as u128
            );
            libc::_exit(0);
        }
    }
    // SAFETY: reading the child's listener number, copying it, and answering notifications
    // on it with plain structs.
    unsafe {
        let mut child_fd = 0i64;
        libc::read(up[0], (&mut child_fd as *mut i64).cast(), 8);
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd, child_fd as i32, 0) as i32;
        assert!(fd >= 0, "pidfd_getfd: {}", std::io::Error::last_os_error());
        if sync_wakeup {
            let r = libc::ioctl(
                fd,
                SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
            );
            assert_eq!(r, 0, "sync wake-up: {}", std::io::Error::last_os_error());
        }
        libc::write(down[1], b"g".as_ptr().cast(), 1);
        for _ in 0..n {
            let mut req = Notif::default();
            if libc::ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &mut req as *mut Notif) != 0 {
                break;
            }
            let mut resp = NotifResp {
                id: req.id,
                val: 0,
                error: 0,
                flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE,
            };
            libc::ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &mut resp as *mut NotifResp);
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
}
