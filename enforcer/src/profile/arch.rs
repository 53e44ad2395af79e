//! Architectures: the `SCMP_ARCH_*` names of profiles, the names Docker and Podman compare
//! `includes.arches` / `excludes.arches` against, and the libseccomp tokens.

use libseccomp::ScmpArch;
use std::fmt;

/// A seccomp architecture (ABI) as named in profiles.
#[allow(non_camel_case_types)] // the names follow SCMP_ARCH_*, which users know
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86,
    X86_64,
    X32,
    Arm,
    Aarch64,
    Mips,
    Mips64,
    Mips64N32,
    Mipsel,
    Mipsel64,
    Mipsel64N32,
    Ppc,
    Ppc64,
    Ppc64Le,
    S390,
    S390X,
    Parisc,
    Parisc64,
    Riscv64,
    Loongarch64,
    M68k,
    Sh,
    Sheb,
}

/// (arch, SCMP name, names Docker/Podman use for the host arch, libseccomp token).
///
/// Docker (moby/profiles) maps GOARCH to libseccomp's spelling: amd64, x86 (not "386"), arm64,
/// ...; Podman uses libseccomp's own name of the native arch, which agrees. Where the two
/// disagree (moby's "mips3l64n32" typo, "loong64"/"loongarch64") both spellings are accepted.
const TABLE: &[(Arch, &str, &[&str], ScmpArch)] = &[
    (Arch::X86, "SCMP_ARCH_X86", &["x86"], ScmpArch::X86),
    (
        Arch::X86_64,
        "SCMP_ARCH_X86_64",
        &["amd64"],
        ScmpArch::X8664,
    ),
    (Arch::X32, "SCMP_ARCH_X32", &["x32"], ScmpArch::X32),
    (Arch::Arm, "SCMP_ARCH_ARM", &["arm"], ScmpArch::Arm),
    (
        Arch::Aarch64,
        "SCMP_ARCH_AARCH64",
        &["arm64"],
        ScmpArch::Aarch64,
    ),
    (Arch::Mips, "SCMP_ARCH_MIPS", &["mips"], ScmpArch::Mips),
    (
        Arch::Mips64,
        "SCMP_ARCH_MIPS64",
        &["mips64"],
        ScmpArch::Mips64,
    ),
    (
        Arch::Mips64N32,
        "SCMP_ARCH_MIPS64N32",
        &["mips64n32"],
        ScmpArch::Mips64N32,
    ),
    (
        Arch::Mipsel,
        "SCMP_ARCH_MIPSEL",
        &["mipsel", "mipsle"],
        ScmpArch::Mipsel,
    ),
    (
        Arch::Mipsel64,
        "SCMP_ARCH_MIPSEL64",
        &["mipsel64"],
        ScmpArch::Mipsel64,
    ),
    (
        Arch::Mipsel64N32,
        "SCMP_ARCH_MIPSEL64N32",
        &["mipsel64n32", "mips3l64n32"],
        ScmpArch::Mipsel64N32,
    ),
    (Arch::Ppc, "SCMP_ARCH_PPC", &["ppc"], ScmpArch::Ppc),
    (Arch::Ppc64, "SCMP_ARCH_PPC64", &["ppc64"], ScmpArch::Ppc64),
    (
        Arch::Ppc64Le,
        "SCMP_ARCH_PPC64LE",
        &["ppc64le"],
        ScmpArch::Ppc64Le,
    ),
    (Arch::S390, "SCMP_ARCH_S390", &["s390"], ScmpArch::S390),
    (Arch::S390X, "SCMP_ARCH_S390X", &["s390x"], ScmpArch::S390X),
    (
        Arch::Parisc,
        "SCMP_ARCH_PARISC",
        &["parisc"],
        ScmpArch::Parisc,
    ),
    (
        Arch::Parisc64,
        "SCMP_ARCH_PARISC64",
        &["parisc64"],
        ScmpArch::Parisc64,
    ),
    (
        Arch::Riscv64,
        "SCMP_ARCH_RISCV64",
        &["riscv64"],
        ScmpArch::Riscv64,
    ),
    (
        Arch::Loongarch64,
        "SCMP_ARCH_LOONGARCH64",
        &["loong64", "loongarch64"],
        ScmpArch::Loongarch64,
    ),
    (Arch::M68k, "SCMP_ARCH_M68K", &["m68k"], ScmpArch::M68k),
    (Arch::Sh, "SCMP_ARCH_SH", &["sh"], ScmpArch::Sh),
    (Arch::Sheb, "SCMP_ARCH_SHEB", &["sheb"], ScmpArch::Sheb),
];

// AUDIT_ARCH_* (linux/audit.h): EM_* | __AUDIT_ARCH_64BIT (0x8000_0000) | __AUDIT_ARCH_LE.
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

/// x32 syscalls are x86_64 syscalls with this bit set in the number.
pub const X32_SYSCALL_BIT: i32 = 0x4000_0000;

impl Arch {
    fn row(self) -> &'static (Arch, &'static str, &'static [&'static str], ScmpArch) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .expect("every Arch has a row in TABLE")
    }

    /// Every `SCMP_ARCH_*` name.
    pub fn scmp_names() -> impl Iterator<Item = &'static str> {
        TABLE.iter().map(|row| row.1)
    }

    /// Parses a `SCMP_ARCH_*` name.
    pub fn from_scmp_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|row| row.1 == name).map(|row| row.0)
    }

    /// The `SCMP_ARCH_*` name.
    pub fn scmp_name(self) -> &'static str {
        self.row().1
    }

    /// The names Docker and Podman give this arch in `includes.arches`/`excludes.arches`.
    pub fn docker_names(self) -> &'static [&'static str] {
        self.row().2
    }

    /// Whether `name` is a Docker/Podman arch name of any architecture.
    pub fn is_docker_name(name: &str) -> bool {
        TABLE.iter().any(|row| row.2.contains(&name))
    }

    /// The libseccomp token (libseccomp 2.5.4 refuses LoongArch, M68k and SuperH at run time).
    pub fn to_libseccomp(self) -> ScmpArch {
        self.row().3
    }

    /// The architecture libseccomp was built for, which is the one this process runs on.
    pub fn native() -> Self {
        Self::try_from(ScmpArch::native()).unwrap_or(if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        })
    }

    /// AUDIT_ARCH_* value of the arches our own BPF stub handles (see bpf.rs).
    pub(crate) fn audit_arch(self) -> Option<u32> {
        match self {
            Arch::X86 => Some(AUDIT_ARCH_I386),
            Arch::X86_64 | Arch::X32 => Some(AUDIT_ARCH_X86_64),
            Arch::Aarch64 => Some(AUDIT_ARCH_AARCH64),
            Arch::Arm => Some(AUDIT_ARCH_ARM),
            _ => None,
        }
    }
}

impl TryFrom<ScmpArch> for Arch {
    type Error = ScmpArch;

    /// `ScmpArch::Native` becomes the native arch; tokens newer than this crate fail.
    fn try_from(arch: ScmpArch) -> Result<Self, ScmpArch> {
        let arch = if arch == ScmpArch::Native {
            ScmpArch::native()
        } else {
            arch
        };
        TABLE
            .iter()
            .find(|row| row.3 == arch)
            .map(|row| row.0)
            .ok_or(arch)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scmp_name())
    }
}

/// The architecture this process runs on (the one syscall numbers from eBPF and seccomp
/// notifications of native workloads are in).
pub fn native_arch() -> Arch {
    Arch::native()
}
