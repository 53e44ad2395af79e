//! Which eBPF programs a process holds, as the kernel lists them: the `bpf-prog` and
//! `bpf_link` fds in its fd table (a raw tracepoint stays attached exactly as long as its link
//! or program fd is open; the enforcer pins nothing), their `prog_id` in fdinfo, and each
//! program's name from the kernel (BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD).

use std::collections::BTreeMap;

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
/// Where `name` sits in `struct bpf_prog_info` (after type, id, tag, the two lengths, two
/// instruction pointers, load_time, created_by_uid, nr_map_ids and map_ids).
const NAME_OFFSET: usize = 64;
const NAME_LEN: usize = 16;

/// The programs process `pid` holds: id to name.
pub fn programs_of(pid: u32) -> BTreeMap<u32, String> {
    let dir = format!("/proc/{pid}/fd");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let Ok(entry) = entry else { continue };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.display().to_string();
        if !(target.contains("bpf-prog") || target.contains("bpf_link")) {
            continue;
        }
        let fd = entry.file_name();
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.to_string_lossy()))
            .unwrap_or_default();
        let id = info
            .lines()
            .find_map(|l| l.strip_prefix("prog_id:"))
            .and_then(|v| v.trim().parse().ok());
        if let Some(id) = id {
            found.insert(id, program_name(id));
        }
    }
    found
}

/// The kernel's name for program `id` (truncated to 15 bytes, as the kernel keeps it).
fn program_name(id: u32) -> String {
    let mut attr = [0u8; 128];
    attr[..4].copy_from_slice(&id.to_ne_bytes());
    // SAFETY: bpf(2) reads the attr buffer, which outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_GET_FD_BY_ID,
            attr.as_ptr(),
            attr.len() as libc::c_long,
        )
    };
    assert!(
        fd >= 0,
        "BPF_PROG_GET_FD_BY_ID {id}: {}",
        std::io::Error::last_os_error()
    );
    let mut info = [0u8; 256];
    let mut attr = [0u8; 128];
    attr[..4].copy_from_slice(&(fd as u32).to_ne_bytes());
    attr[4..8].copy_from_slice(&(info.len() as u32).to_ne_bytes());
    attr[8..16].copy_from_slice(&(info.as_mut_ptr() as u64).to_ne_bytes());
    // SAFETY: bpf(2) writes at most info_len bytes into `info`; both buffers outlive the
    // call; the fd is closed after it.
    let rc = unsafe {
        let rc = libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            attr.as_ptr(),
            attr.len() as libc::c_long,
        );
        libc::close(fd as i32);
        rc
    };
    assert_eq!(
        rc,
        0,
        "BPF_OBJ_GET_INFO_BY_FD {id}: {}",
        std::io::Error::last_os_error()
    );
    let name = &info[NAME_OFFSET..NAME_OFFSET + NAME_LEN];
    let end = name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
    String::from_utf8_lossy(&name[..end]).into_owned()
}
