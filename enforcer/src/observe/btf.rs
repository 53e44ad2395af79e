//! The kernel layout facts the eBPF program needs and cannot get from its own context:
//! where `thread_info.status` (the TS_COMPAT bit of i386 calls) sits in `struct task_struct`,
//! and the chain of fields from a task to its cgroup v2 id. Read from the running kernel's
//! BTF, so they follow the kernel's configuration.

use enforcer_common::TaskLayout;
use std::path::{Path, PathBuf};

/// The running kernel's BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("kernel BTF {path}: {message} (observation needs a kernel with BTF)")]
    Read { path: PathBuf, message: String },
    #[error("kernel BTF {path}: no member {member} in struct {strukt}")]
    NoMember {
        path: PathBuf,
        strukt: &'static str,
        member: &'static str,
    },
}

/// Byte offsets of the task fields the programs read.
pub fn task_layout(path: &Path) -> Result<TaskLayout, BtfError> {
    let read_err = |e: btf_rs::Error| BtfError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    };
    // Read whole, then parse from memory: parsing from the file seeks once per type
    // (over 100,000 lseeks for vmlinux), which made every `enforcer run` start slowly.
    let bytes = std::fs::read(path).map_err(|e| BtfError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let btf = btf_rs::Btf::from_bytes(&bytes).map_err(read_err)?;
    let offset = |strukt, member| member_bit_offset(&btf, path, strukt, member).map(|b| b / 8);
    Ok(TaskLayout {
        status: offset("task_struct", "thread_info")? + offset("thread_info", "status")?,
        cgroups: offset("task_struct", "cgroups")?,
        dfl_cgrp: offset("css_set", "dfl_cgrp")?,
        kn: offset("cgroup", "kn")?,
        kn_id: offset("kernfs_node", "id")?,
    })
}

/// Offset in bits of `member` in the struct named `strukt` (the first one of that name that
/// has it; the kernel has one).
fn member_bit_offset(
    btf: &btf_rs::Btf,
    path: &Path,
    strukt: &'static str,
    member: &'static str,
) -> Result<u64, BtfError> {
    let types = btf
        .resolve_types_by_name(strukt)
        .map_err(|e| BtfError::Read {
            path: path.to_owned(),
            message: format!("struct {strukt}: {e}"),
        })?;
    types
        .iter()
        .filter_map(|t| match t {
            btf_rs::Type::Struct(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| s.members.iter())
        .find(|m| btf.resolve_name(*m).is_ok_and(|n| n == member))
        .map(|m| u64::from(m.bit_offset()))
        .ok_or(BtfError::NoMember {
            path: path.to_owned(),
            strukt,
            member,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On x86_64 the layout is `struct thread_info { flags; syscall_work; u32 status; ... }`
    /// at the start of `task_struct` (CONFIG_THREAD_INFO_IN_TASK).
    #[test]
    fn finds_thread_info_status_in_this_kernel() {
        let layout = task_layout(Path::new(VMLINUX_BTF)).expect("kernel BTF");
        assert_eq!(layout.status, 16);
    }

    #[test]
    fn missing_btf_names_the_file() {
        let e = task_layout(Path::new("/nonexistent/vmlinux")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/vmlinux"), "{e}");
    }
}
