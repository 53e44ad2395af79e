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
    /// The workload and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnSupervisorExit {
    Enosys,
    Kill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunMode {
    Enforce,
    Audit,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Validate profiles: parse, resolve for this host and compile, without running anything.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long)]
        allow_unknown_syscalls: bool,
    },
}
