//! The command line (contract in DESIGN.md).

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "enforcer",
    version,
    about = "Seccomp profiles, runtime decisions on notified calls, and eBPF observation for Linux workloads"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run CMD in a cgroup of its own under a seccomp profile, supervised and observed.
    Run(RunArgs),
    /// Work with seccomp profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Run CMD unfiltered in a cgroup of its own, record every syscall it makes from its exec
    /// on, and write a profile that allows exactly that.
    Record(RecordArgs),
    /// Watch existing cgroups (all of them when none is named) without launching anything.
    Observe(ObserveCommandArgs),
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Write the profile here (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A profile written by an earlier `enforcer record`: the new recording is united with it.
    #[arg(long, value_name = "FILE")]
    pub merge: Option<PathBuf>,
    /// Write JSON-lines events here ("-" for stdout).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    #[command(flatten)]
    pub observe: ObserveArgs,
    /// The workload and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ObserveCommandArgs {
    /// A cgroup directory (absolute, or relative to the cgroup v2 root); repeatable.
    #[arg(long = "cgroup", value_name = "PATH")]
    pub cgroups: Vec<PathBuf>,
    /// Write JSON-lines events here ("-" for stdout).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// Stop after SECS seconds (default: at SIGINT or SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    #[command(flatten)]
    pub observe: ObserveArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Docker/OCI seccomp profile; default: Docker's default with the chmod family notified.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Policy for notified calls (docs/policy.md); default: the built-in policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// enforce, or audit: let every call through and log what enforce would deny.
    #[arg(long, value_enum, default_value_t = RunMode::Enforce)]
    pub mode: RunMode,
    /// If the supervisor dies while the workload runs: the kernel answers its notified calls
    /// with ENOSYS (enosys), or the workload's cgroup is killed (kill).
    #[arg(long, value_enum, default_value_t = OnSupervisorExit::Enosys)]
    pub on_supervisor_exit: OnSupervisorExit,
    /// Write JSON-lines events here ("-" for stdout).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// Name of the workload's cgroup (created under <cgroup v2 root>/enforcer/).
    #[arg(long, value_name = "NAME")]
    pub cgroup: Option<String>,
    /// Accept profiles that name syscalls no table knows (they are skipped, with a warning).
    #[arg(long)]
    pub allow_unknown_syscalls: bool,
    #[command(flatten)]
    pub caps: CapArgs,
    /// Run as UID[:GID] (numbers or names), as `docker run --user`: a user other than root
    /// keeps no capabilities (the bounding set stays for the profile's includes).
    #[arg(long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    #[command(flatten)]
    pub observe: ObserveArgs,
    /// The workload and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnSupervisorExit {
    Enosys,
    Kill,
}

/// How the eBPF observer reports (run, record, observe).
#[derive(Debug, Clone, Args)]
pub struct ObserveArgs {
    /// Also report syscall counts every SECS seconds (cumulative; always at the end;
    /// observe: every 10 s by default).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stats_interval: Option<u64>,
    /// Detailed `syscall` events for these syscalls (repeat or comma-separate); default for
    /// run: every call the profile may refuse or notify.
    #[arg(long = "trace", value_name = "SYSCALL", value_delimiter = ',')]
    pub trace: Vec<String>,
    /// Size of the eBPF ring buffer of detailed events (a power of two >= 4096).
    #[arg(long, value_name = "BYTES", hide = true)]
    pub ring_buffer_bytes: Option<u32>,
    /// Attach eBPF programs that return at once (nothing is observed): for the benchmark.
    #[arg(long, hide = true)]
    pub empty_programs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunMode {
    Enforce,
    Audit,
}

/// The workload's capabilities, as `docker run`: Docker's default set with these changes.
#[derive(Debug, Clone, Default, Args)]
pub struct CapArgs {
    /// Add a capability (SYS_ADMIN, CAP_SYS_ADMIN, or ALL); repeatable.
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability (or ALL); repeatable.
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Validate profiles: parse, resolve for this host, compile and lint, without running
    /// anything. Lints are warnings (exit 0) unless --strict.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Fail (exit 125) on any warning or lint.
        #[arg(long)]
        strict: bool,
        #[arg(long)]
        allow_unknown_syscalls: bool,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// What the profile does with every syscall of this arch, and which entry says so.
    Explain {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Only this syscall; repeatable.
        #[arg(long = "syscall", value_name = "NAME")]
        syscalls: Vec<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(long)]
        allow_unknown_syscalls: bool,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// What changes from OLD to NEW, per syscall; exit 1 when they differ, as diff(1).
    Diff {
        #[arg(value_name = "OLD")]
        old: PathBuf,
        #[arg(value_name = "NEW")]
        new: PathBuf,
        #[arg(long)]
        allow_unknown_syscalls: bool,
        #[command(flatten)]
        caps: CapArgs,
    },
}
