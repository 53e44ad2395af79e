//! The classic-BPF side: reading libseccomp's exported program, and the small stub we put in
//! front of it for rules libseccomp 2.5.4 cannot express (names it does not know, on arches
//! other than its native one, where it can only translate syscalls by name).

#[cfg(doc)]
use super::arch::Arch;

// Opcodes (linux/filter.h) and offsets in struct seccomp_data.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JMP_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JMP_JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const BPF_JMP_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub(crate) const MAX_INSNS: usize = 4096;

/// One unconditional rule the stub decides: on `audit_arch`, syscall `nr` returns `ret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StubRule {
    /// AUDIT_ARCH_* (see [`Arch::audit_arch`]).
    pub audit_arch: u32,
    pub nr: u32,
    pub ret: u32,
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Instructions to run before libseccomp's program. Each rule is self-contained and falls
/// through when it does not match, and libseccomp's program reloads what it reads, so
/// prepending keeps its relative jumps valid. The arch is checked before the number, so an
/// x32 or i386 call can only match a rule of its own ABI.
pub(crate) fn stub(rules: &[StubRule]) -> Vec<libc::sock_filter> {
    let mut out = Vec::with_capacity(rules.len() * 5);
    for rule in rules {
        out.extend([
            insn(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
            insn(BPF_JMP_JEQ_K, 0, 3, rule.audit_arch),
            insn(BPF_LD_W_ABS, 0, 0, OFFSET_NR),
            insn(BPF_JMP_JEQ_K, 0, 1, rule.nr),
            insn(BPF_RET_K, 0, 0, rule.ret),
        ]);
    }
    out
}

/// Which calls of one AUDIT_ARCH an [`EnosysBlock`] looks at: x86_64 and x32 share
/// AUDIT_ARCH_X86_64 and differ by bit 30 of the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum X32Bit {
    /// The arch has no x32 ABI: every number.
    Any,
    /// Numbers without bit 30 (x86_64 proper).
    Clear,
    /// Numbers with bit 30 (x32).
    Set,
}

/// runc's ENOSYS stub for one ABI: a call numbered above `newest` gets ENOSYS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EnosysBlock {
    pub audit_arch: u32,
    pub x32: X32Bit,
    pub newest: u32,
}

const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

/// Self-contained blocks like [`stub`]'s (short jumps, fall through when they do not
/// decide), so this goes in front of the rest unchanged. Unsigned comparison, as runc's.
pub(crate) fn enosys_stub(blocks: &[EnosysBlock]) -> Vec<libc::sock_filter> {
    const X32_BIT: u32 = 0x4000_0000;
    let mut out = Vec::with_capacity(blocks.len() * 6);
    for b in blocks {
        // Instructions after the arch check: [jset], jgt, ret.
        let after_arch_check: u8 = if b.x32 == X32Bit::Any { 3 } else { 4 };
        out.push(insn(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH));
        out.push(insn(BPF_JMP_JEQ_K, 0, after_arch_check, b.audit_arch));
        out.push(insn(BPF_LD_W_ABS, 0, 0, OFFSET_NR));
        match b.x32 {
            X32Bit::Any => {}
            // Skip the jgt and the ret when the call is of the other ABI.
            X32Bit::Clear => out.push(insn(BPF_JMP_JSET_K, 2, 0, X32_BIT)),
            X32Bit::Set => out.push(insn(BPF_JMP_JSET_K, 0, 2, X32_BIT)),
        }
        out.push(insn(BPF_JMP_JGT_K, 0, 1, b.newest));
        out.push(insn(BPF_RET_K, 0, 0, RET_ERRNO_ENOSYS));
    }
    out
}

/// Parses seccomp_export_bpf's output: struct sock_filter in host byte order.
pub(crate) fn parse_program(bytes: &[u8]) -> Result<Vec<libc::sock_filter>, String> {
    const SIZE: usize = std::mem::size_of::<libc::sock_filter>();
    if bytes.is_empty() || !bytes.len().is_multiple_of(SIZE) {
        return Err(format!(
            "libseccomp exported {} bytes, not a whole number of {SIZE}-byte instructions",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(SIZE)
        .map(|c| {
            insn(
                u16::from_ne_bytes([c[0], c[1]]),
                c[2],
                c[3],
                u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect())
}
