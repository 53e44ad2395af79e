//! Syscall names and numbers per architecture: libseccomp 2.5.4's own tables first, then the
//! `syscalls` crate (up to Linux 6.15) for the names libseccomp predates (mseal, statmount,
//! listmount, lsm_*, setxattrat, ...).

use super::arch::{Arch, X32_SYSCALL_BIT};
use libseccomp::ScmpSyscall;
use std::str::FromStr;

/// From this x86_64 number on (Linux 5.1), every new syscall has one number on all arches and
/// an x86_64 "common" entry, so its x32 number is this number | X32_SYSCALL_BIT. Older x32
/// numbers differ (512 and up); libseccomp knows all of those.
const UNIFIED_FROM: i32 = 424;

/// libseccomp's number of `name` on its native arch: negative "pseudo" numbers for names it
/// knows on other arches only; `None` when it does not know the name at all.
fn libseccomp_native(name: &str) -> Option<i32> {
    ScmpSyscall::from_name(name)
        .ok()
        .map(ScmpSyscall::as_raw_syscall)
}

/// The arches the `syscalls` crate has tables for (features in Cargo.toml).
const TABLE_ARCHES: [Arch; 11] = [
    Arch::X86_64,
    Arch::X86,
    Arch::Aarch64,
    Arch::Arm,
    Arch::Riscv64,
    Arch::S390X,
    Arch::Ppc,
    Arch::Ppc64,
    Arch::Mips,
    Arch::Mips64,
    Arch::Loongarch64,
];

/// Runs `$body` with `T` bound to the `syscalls` crate's table of `$arch` (x32 excluded).
macro_rules! with_table {
    ($arch:expr, |$t:ident| $body:expr) => {
        match $arch {
            Arch::X86_64 => {
                type $t = syscalls::x86_64::Sysno;
                $body
            }
            Arch::X86 => {
                type $t = syscalls::x86::Sysno;
                $body
            }
            Arch::Aarch64 => {
                type $t = syscalls::aarch64::Sysno;
                $body
            }
            Arch::Arm => {
                type $t = syscalls::arm::Sysno;
                $body
            }
            Arch::Riscv64 => {
                type $t = syscalls::riscv64::Sysno;
                $body
            }
            Arch::S390X => {
                type $t = syscalls::s390x::Sysno;
                $body
            }
            Arch::Ppc => {
                type $t = syscalls::powerpc::Sysno;
                $body
            }
            Arch::Ppc64 | Arch::Ppc64Le => {
                type $t = syscalls::powerpc64::Sysno;
                $body
            }
            Arch::Mips | Arch::Mipsel => {
                type $t = syscalls::mips::Sysno;
                $body
            }
            Arch::Mips64 | Arch::Mipsel64 => {
                type $t = syscalls::mips64::Sysno;
                $body
            }
            Arch::Loongarch64 => {
                type $t = syscalls::loongarch64::Sysno;
                $body
            }
            _ => None,
        }
    };
}

/// The `syscalls` crate's number of `name` (x32 derived from x86_64).
pub(crate) fn table_number(name: &str, arch: Arch) -> Option<i32> {
    if arch == Arch::X32 {
        return table_number(name, Arch::X86_64)
            .filter(|nr| *nr >= UNIFIED_FROM)
            .map(|nr| nr | X32_SYSCALL_BIT);
    }
    with_table!(arch, |T| T::from_str(name).ok().map(|s| s.id()))
}

fn table_name(nr: i64, arch: Arch) -> Option<&'static str> {
    if arch == Arch::X32 {
        let bit = i64::from(X32_SYSCALL_BIT);
        let base = nr & !bit;
        return (nr & bit != 0 && base >= i64::from(UNIFIED_FROM))
            .then(|| table_name(base, Arch::X86_64))
            .flatten();
    }
    let id = usize::try_from(nr).ok()?;
    with_table!(arch, |T| T::new(id).map(|s| s.name()))
}

/// Whether a profile may name `name`: libseccomp knows it for some arch, or the `syscalls`
/// crate knows it for some arch (Docker's default names riscv64's `riscv_hwprobe`, which
/// neither libseccomp 2.5.4 nor the x86/arm64 tables know). Names of other arches (arm's
/// `set_tls`, i386's `socketcall`) are known: compilation skips them where they do not exist.
pub fn is_known(name: &str) -> bool {
    libseccomp_native(name).is_some()
        || TABLE_ARCHES
            .into_iter()
            .any(|arch| table_number(name, arch).is_some())
}

/// The number of `name` on `arch`, or `None` where that syscall does not exist.
pub fn syscall_number(name: &str, arch: Arch) -> Option<i32> {
    if let Ok(nr) = ScmpSyscall::from_name_by_arch(name, arch.to_libseccomp()) {
        let nr = nr.as_raw_syscall();
        if nr >= 0 {
            return Some(nr);
        }
    }
    // libseccomp gives i386's socket calls pseudo numbers (it multiplexes them through
    // socketcall); the direct numbers (socket = 359, ...) come from the table.
    table_number(name, arch)
}

/// The name of syscall `nr` on `arch` (an [`Arch`] or a libseccomp `ScmpArch`, as seccomp
/// notifications carry).
pub fn syscall_name<A: TryInto<Arch>>(nr: i64, arch: A) -> Option<String> {
    let arch = arch.try_into().ok()?;
    if let Ok(n) = i32::try_from(nr)
        && n >= 0
        && let Ok(name) = ScmpSyscall::from(n).get_name_by_arch(arch.to_libseccomp())
    {
        return Some(name);
    }
    table_name(nr, arch).map(str::to_string)
}

/// Every syscall the tables know on `arch`, as (number, name), by number: the `syscalls`
/// crate's table and libseccomp's (the crate's is the longer one where it has one).
pub fn syscalls_of(arch: Arch) -> Vec<(u32, String)> {
    // Where the crate has no table, libseccomp's numbers stay below this.
    const WITHOUT_TABLE: i64 = 1024;
    let end = with_table!(arch, |T| Some(i64::from(T::last().id()) + 1)).unwrap_or(WITHOUT_TABLE);
    (0..end)
        .filter_map(|nr| Some((nr as u32, syscall_name(nr, arch)?)))
        .collect()
}

/// How a rule for one name goes into the filter of one arch (see compile.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Add this number as is: the arch is libseccomp's native one, which takes raw numbers.
    Exact(i32),
    /// Add libseccomp's native number of the name; libseccomp translates it to the arch by
    /// name (its only way for non-native arches), as it does for runc.
    Translate(i32),
    /// libseccomp cannot express it (it does not know the name); our own BPF stub does.
    Stub(i32),
    /// The syscall does not exist on this arch: nothing to filter.
    Absent,
}

pub(crate) fn plan(name: &str, arch: Arch, libseccomp_arch: Arch) -> Plan {
    match libseccomp_native(name) {
        // A pseudo number here means libseccomp knows the name and it is not on this arch.
        Some(_) if arch == libseccomp_arch => {
            libseccomp_number(name, arch).map_or(Plan::Absent, Plan::Exact)
        }
        Some(native) => Plan::Translate(native),
        None if arch == libseccomp_arch => {
            table_number(name, arch).map_or(Plan::Absent, Plan::Exact)
        }
        None => table_number(name, arch).map_or(Plan::Absent, Plan::Stub),
    }
}

fn libseccomp_number(name: &str, arch: Arch) -> Option<i32> {
    ScmpSyscall::from_name_by_arch(name, arch.to_libseccomp())
        .ok()
        .map(ScmpSyscall::as_raw_syscall)
        .filter(|nr| *nr >= 0)
}
