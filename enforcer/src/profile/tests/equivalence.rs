//! Our per-arch compilation against a runc-style reference (one multi-arch libseccomp filter,
//! native numbers added non-exact, names libseccomp does not know skipped), both run in a
//! small classic-BPF interpreter over every syscall number of x86_64, i386 and x32.

use super::*;
use libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};

/// Runs a seccomp program on a `struct seccomp_data`, as the kernel would.
fn run(prog: &[libc::sock_filter], data: &[u8; 64]) -> u32 {
    let (mut a, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        let k = i.k as usize;
        let src = if i.code & 0x08 != 0 { x } else { i.k };
        match i.code & 0x07 {
            0x00 => match i.code & 0xe0 {
                0x20 => a = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap()),
                0x00 => a = i.k,
                0x60 => a = mem[k],
                mode => panic!("ld mode {mode:#x}"),
            },
            0x01 => x = if i.code & 0xe0 == 0x60 { mem[k] } else { i.k },
            0x02 => mem[k] = a,
            0x03 => mem[k] = x,
            0x04 => match i.code & 0xf0 {
                0x00 => a = a.wrapping_add(src),
                0x10 => a = a.wrapping_sub(src),
                0x40 => a |= src,
                0x50 => a &= src,
                0x60 => a <<= src,
                0x70 => a >>= src,
                0xa0 => a ^= src,
                op => panic!("alu op {op:#x}"),
            },
            0x05 => {
                let taken = match i.code & 0xf0 {
                    0x00 => {
                        pc += k;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    op => panic!("jmp op {op:#x}"),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            0x06 => return if i.code & 0x18 == 0x10 { a } else { i.k },
            _ => {
                if i.code & 0xf8 == 0 {
                    x = a;
                } else {
                    a = x;
                }
            }
        }
    }
}

fn seccomp_data(nr: i32, audit_arch: u32, arg: u64) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[0..4].copy_from_slice(&nr.to_ne_bytes());
    d[4..8].copy_from_slice(&audit_arch.to_ne_bytes());
    for i in 0..6 {
        d[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
    }
    d
}

/// runc's newest syscall on `arch`: among the names libseccomp knows.
fn runc_newest(r: &ResolvedProfile, arch: Arch) -> Option<u32> {
    (r.rules.iter())
        .filter_map(|rule| ScmpSyscall::from_name_by_arch(&rule.syscall, arch.to_libseccomp()).ok())
        .map(ScmpSyscall::as_raw_syscall)
        .filter(|nr| *nr > 0)
        .max()
        .map(|nr| nr as u32)
}

/// runc's ENOSYS stub (patchbpf), with runc's newest syscall per ABI.
fn runc_enosys_stub(r: &ResolvedProfile) -> Vec<libc::sock_filter> {
    use super::super::bpf::{EnosysBlock, X32Bit, enosys_stub};
    if !r.enosys_for_newer() {
        return Vec::new();
    }
    let blocks: Vec<EnosysBlock> = (r.arches.iter())
        .filter_map(|&arch| {
            let newest = runc_newest(r, arch)?;
            let x32 = match arch {
                Arch::X86_64 => X32Bit::Clear,
                Arch::X32 => X32Bit::Set,
                _ => X32Bit::Any,
            };
            Some(EnosysBlock {
                audit_arch: arch.audit_arch()?,
                x32,
                newest,
            })
        })
        .collect();
    enosys_stub(&blocks)
}

/// What runc builds from the same resolved rules.
fn runc_reference(r: &ResolvedProfile) -> Vec<libc::sock_filter> {
    let mut ctx = ScmpFilterContext::new(r.default_action.to_libseccomp()).unwrap();
    ctx.set_act_badarch(ScmpAction::KillProcess).unwrap();
    for arch in &r.arches[1..] {
        ctx.add_arch(arch.to_libseccomp()).unwrap();
    }
    for rule in r
        .rules
        .iter()
        .filter(|rule| rule.action != r.default_action)
    {
        let Ok(nr) = ScmpSyscall::from_name(&rule.syscall) else {
            continue; // runc: "unknown seccomp syscall ignored"
        };
        let conds: Vec<_> = rule.conditions.iter().map(|c| c.to_libseccomp()).collect();
        ctx.add_rule_conditional(rule.action.to_libseccomp(), nr, &conds)
            .unwrap();
    }
    let fd = nix::sys::memfd::memfd_create(c"ref", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
        .unwrap();
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file).unwrap();
    let mut bytes = Vec::new();
    use std::io::{Read, Seek};
    file.rewind().unwrap();
    file.read_to_end(&mut bytes).unwrap();
    let mut program = runc_enosys_stub(r);
    program.extend(super::super::bpf::parse_program(&bytes).unwrap());
    program
}

#[test]
fn per_arch_filters_match_runc_where_libseccomp_knows_the_name() {
    assert_eq!(
        Arch::native(),
        Arch::X86_64,
        "this comparison is written for x86_64 hosts"
    );
    let args = [
        0,
        1,
        8,
        16,
        38,
        39,
        40,
        41,
        0x20000,
        0x20008,
        0xffff_ffff,
        0x7e02_0000,
        1 << 32,
    ];
    let arches = [
        (Arch::X86_64, 0),
        (Arch::X86, 0),
        (Arch::X32, X32_SYSCALL_BIT),
    ];
    for file in [
        "docker-default.json",
        "podman-default.json",
        "docker-old-format.json",
    ] {
        for ctx in [ctx(), ctx().with_caps(KNOWN_CAPS)] {
            let resolved = real(file).profile.resolve(&ctx).unwrap();
            let ours = resolved.compile().unwrap().program;
            let reference = runc_reference(&resolved);
            let mut differ = BTreeSet::new();
            for (arch, base) in arches {
                let audit = arch.audit_arch().unwrap();
                for nr in (0..600).map(|n| n | base) {
                    for arg in args {
                        let data = seccomp_data(nr, audit, arg);
                        if run(&ours, &data) != run(&reference, &data) {
                            differ.insert((arch, nr));
                        }
                    }
                }
            }
            // Only where runc skipped a name libseccomp 2.5.4 does not know: it leaves out
            // the rule, and its ENOSYS stub starts after the newest name libseccomp knows
            // rather than after the newest the profile names.
            for (arch, nr) in &differ {
                let name = syscall_name((*nr).into(), *arch).unwrap_or_default();
                let unknown_rule = ScmpSyscall::from_name(&name).is_err()
                    && resolved.rules_for(&name).next().is_some();
                let n = *nr as u32;
                let between_stubs = resolved.enosys_for_newer()
                    && runc_newest(&resolved, *arch).is_some_and(|runc| runc < n)
                    && resolved
                        .newest_named(*arch)
                        .is_some_and(|newest| n <= newest);
                assert!(
                    unknown_rule || between_stubs,
                    "{file}: {arch} nr {nr} ({name:?}) differs from runc"
                );
            }
            // Above the newest name either knows, both say ENOSYS.
            let above = seccomp_data(600, Arch::X86_64.audit_arch().unwrap(), 0);
            let enosys = 0x0005_0000 | libc::ENOSYS as u32;
            assert_eq!(
                (run(&ours, &above), run(&reference, &above)),
                (enosys, enosys)
            );
            // Docker's default allows mseal: ours on all three ABIs, runc on none.
            let mseal = if file == "docker-default.json" { 3 } else { 0 };
            assert_eq!(
                differ
                    .iter()
                    .filter(|d| syscall_name(d.1.into(), d.0).as_deref() == Some("mseal"))
                    .count(),
                mseal,
                "{file}"
            );
        }
    }
}
