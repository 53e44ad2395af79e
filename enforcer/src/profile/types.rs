//! The vocabulary of profiles: actions, comparison operators, flags, capabilities, errno
//! names and kernel versions, each with its parser.

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp};
use std::fmt;

/// What seccomp does with a matching call. `SCMP_ACT_KILL` is `KillThread`, as in
/// libseccomp and runc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    KillProcess,
    KillThread,
    Trap,
    /// Fail the call with this errno.
    Errno(u32),
    Notify,
    /// Hand the call to a ptrace tracer with this message value.
    Trace(u32),
    Log,
    Allow,
}

/// runc's value for SCMP_ACT_ERRNO and SCMP_ACT_TRACE without errnoRet.
pub(crate) const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// The largest errno libseccomp 2.5.4 accepts (it wants less than MAX_ERRNO, 4095). Larger
/// values (Docker's example profile has 12345) are compiled as this: the kernel would cap
/// them at 4095 anyway, so the call still fails with an errno no program knows.
pub(crate) const LIBSECCOMP_MAX_ERRNO: u32 = 4094;

/// Every `SCMP_ACT_*` name [`Action::parse`] takes.
pub(crate) const ACTION_NAMES: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_ALLOW",
];

impl Action {
    /// Parses a `SCMP_ACT_*` name; `data` is errnoRet, already checked to be allowed here.
    pub(crate) fn parse(name: &str, data: Option<u32>) -> Option<Self> {
        Some(match name {
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_ERRNO" => Action::Errno(data.unwrap_or(DEFAULT_ERRNO)),
            "SCMP_ACT_NOTIFY" => Action::Notify,
            "SCMP_ACT_TRACE" => Action::Trace(data.unwrap_or(DEFAULT_ERRNO)),
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_ALLOW" => Action::Allow,
            _ => return None,
        })
    }

    /// Whether the action name takes errnoRet (ERRNO, and TRACE as runc does).
    pub(crate) fn name_takes_data(name: &str) -> bool {
        matches!(name, "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE")
    }

    /// The `SCMP_ACT_*` name, without the data.
    pub fn scmp_name(self) -> &'static str {
        match self {
            Action::KillProcess => "SCMP_ACT_KILL_PROCESS",
            Action::KillThread => "SCMP_ACT_KILL_THREAD",
            Action::Trap => "SCMP_ACT_TRAP",
            Action::Errno(_) => "SCMP_ACT_ERRNO",
            Action::Notify => "SCMP_ACT_NOTIFY",
            Action::Trace(_) => "SCMP_ACT_TRACE",
            Action::Log => "SCMP_ACT_LOG",
            Action::Allow => "SCMP_ACT_ALLOW",
        }
    }

    /// The SECCOMP_RET_* value the kernel sees (validation keeps data within 16 bits).
    pub(crate) fn seccomp_ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | e.min(LIBSECCOMP_MAX_ERRNO),
            Action::Notify => 0x7fc0_0000,
            Action::Trace(m) => 0x7ff0_0000 | (m & 0xffff),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }

    pub(crate) fn to_libseccomp(self) -> ScmpAction {
        match self {
            Action::KillProcess => ScmpAction::KillProcess,
            Action::KillThread => ScmpAction::KillThread,
            Action::Trap => ScmpAction::Trap,
            Action::Errno(e) => ScmpAction::Errno(e.min(LIBSECCOMP_MAX_ERRNO) as i32),
            Action::Notify => ScmpAction::Notify,
            // Lossless: validation keeps data within 16 bits.
            Action::Trace(m) => ScmpAction::Trace((m & 0xffff) as u16),
            Action::Log => ScmpAction::Log,
            Action::Allow => ScmpAction::Allow,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Errno(e) | Action::Trace(e) => write!(f, "{}({e})", self.scmp_name()),
            _ => f.write_str(self.scmp_name()),
        }
    }
}

/// `SCMP_CMP_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmpOp {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == valueTwo`.
    MaskedEq,
}

impl CmpOp {
    /// Every `SCMP_CMP_*` name.
    pub const NAMES: [&'static str; 7] = [
        OPS[0].1, OPS[1].1, OPS[2].1, OPS[3].1, OPS[4].1, OPS[5].1, OPS[6].1,
    ];
}

const OPS: [(CmpOp, &str, &str); 7] = [
    (CmpOp::Ne, "SCMP_CMP_NE", "!="),
    (CmpOp::Lt, "SCMP_CMP_LT", "<"),
    (CmpOp::Le, "SCMP_CMP_LE", "<="),
    (CmpOp::Eq, "SCMP_CMP_EQ", "=="),
    (CmpOp::Ge, "SCMP_CMP_GE", ">="),
    (CmpOp::Gt, "SCMP_CMP_GT", ">"),
    (CmpOp::MaskedEq, "SCMP_CMP_MASKED_EQ", "&"),
];

impl CmpOp {
    pub fn from_scmp_name(name: &str) -> Option<Self> {
        OPS.iter().find(|o| o.1 == name).map(|o| o.0)
    }

    pub fn scmp_name(self) -> &'static str {
        OPS.iter().find(|o| o.0 == self).map_or("", |o| o.1)
    }

    /// Whether `arg` compares true with `value` (the mask, for `MaskedEq`) and `value_two`,
    /// as the kernel's filter compares them: profiles and policies both use this.
    pub fn holds(self, arg: u64, value: u64, value_two: u64) -> bool {
        match self {
            CmpOp::Ne => arg != value,
            CmpOp::Lt => arg < value,
            CmpOp::Le => arg <= value,
            CmpOp::Eq => arg == value,
            CmpOp::Ge => arg >= value,
            CmpOp::Gt => arg > value,
            CmpOp::MaskedEq => arg & value == value_two,
        }
    }

    fn symbol(self) -> &'static str {
        OPS.iter().find(|o| o.0 == self).map_or("", |o| o.2)
    }
}

/// One comparison of a syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArgCond {
    /// 0 to 5.
    pub index: u8,
    pub op: CmpOp,
    /// The operand; the mask for `MaskedEq`.
    pub value: u64,
    /// The operand of `MaskedEq`; ignored by the other operators (as runc does).
    pub value_two: u64,
}

impl ArgCond {
    pub(crate) fn to_libseccomp(self) -> ScmpArgCompare {
        match self.op {
            CmpOp::MaskedEq => ScmpArgCompare::new(
                self.index.into(),
                ScmpCompareOp::MaskedEqual(self.value),
                self.value_two,
            ),
            op => {
                let op = match op {
                    CmpOp::Ne => ScmpCompareOp::NotEqual,
                    CmpOp::Lt => ScmpCompareOp::Less,
                    CmpOp::Le => ScmpCompareOp::LessOrEqual,
                    CmpOp::Eq => ScmpCompareOp::Equal,
                    CmpOp::Ge => ScmpCompareOp::GreaterEqual,
                    _ => ScmpCompareOp::Greater,
                };
                ScmpArgCompare::new(self.index.into(), op, self.value)
            }
        }
    }
}

impl fmt::Display for ArgCond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            CmpOp::MaskedEq => write!(
                f,
                "arg{} & {:#x} == {:#x}",
                self.index, self.value, self.value_two
            ),
            op => write!(f, "arg{} {} {}", self.index, op.symbol(), self.value),
        }
    }
}

/// `SECCOMP_FILTER_FLAG_*` that profiles may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Tsync,
    Log,
    SpecAllow,
    WaitKillableRecv,
}

const FLAGS: [(Flag, &str, u32); 4] = [
    (Flag::Tsync, "SECCOMP_FILTER_FLAG_TSYNC", 1),
    (Flag::Log, "SECCOMP_FILTER_FLAG_LOG", 1 << 1),
    (Flag::SpecAllow, "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1 << 2),
    (
        Flag::WaitKillableRecv,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        1 << 5,
    ),
];

impl Flag {
    pub fn from_name(name: &str) -> Option<Self> {
        FLAGS.iter().find(|f| f.1 == name).map(|f| f.0)
    }

    pub fn name(self) -> &'static str {
        FLAGS.iter().find(|f| f.0 == self).map_or("", |f| f.1)
    }

    /// The bit for seccomp(2).
    pub fn bits(self) -> u32 {
        FLAGS.iter().find(|f| f.0 == self).map_or(0, |f| f.2)
    }
}

/// Linux capability names, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40).
pub const KNOWN_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Parses an errno as Podman does: a decimal number or a name like "EPERM" (with the libc
/// aliases EWOULDBLOCK, EDEADLOCK and ENOTSUP).
pub(crate) fn parse_errno(text: &str) -> Option<u32> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let alias = match text {
        "EWOULDBLOCK" => "EAGAIN",
        "EDEADLOCK" => "EDEADLK",
        "ENOTSUP" => "EOPNOTSUPP",
        other => other,
    };
    // Only the user-visible errnos (1..=133); 512 and up are kernel-internal.
    (1..=133)
        .find(|&n| syscalls::Errno::new(n).name() == Some(alias))
        .map(|n| n as u32)
}

/// A kernel version as `minKernel` holds it.
pub type KernelVersion = (u32, u32);

/// Parses `minKernel` as moby does: "" is no constraint, otherwise exactly "<major>.<minor>",
/// each a decimal 0..=255, and not "0.0". `Err(())` means malformed.
pub(crate) fn parse_min_kernel(text: &str) -> Result<Option<KernelVersion>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    let part = |p: &str| -> Result<u32, ()> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        p.parse::<u8>().map(u32::from).map_err(|_| ())
    };
    let (major, minor) = text.split_once('.').ok_or(())?;
    let version = (part(major)?, part(minor)?);
    if version == (0, 0) {
        return Err(());
    }
    Ok(Some(version))
}

/// Parses a kernel release ("6.18.0-1-amd64") as moby does: the leading "<major>.<minor>".
pub(crate) fn parse_release(release: &str) -> Option<KernelVersion> {
    let (major, rest) = release.split_once('.')?;
    let minor_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((major.parse().ok()?, rest[..minor_len].parse().ok()?))
}
