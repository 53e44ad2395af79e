//! The command line (contract in DESIGN.md).

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::net::SocketAddr;
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
    /// Serve as the OCI seccomp agent of runc and crun: the socket their profiles name in
    /// `listenerPath` (see deploy/README.md).
    Agent(AgentArgs),
    /// Summarize event logs per container (per cgroup outside containers): syscalls seen,
    /// denials, would-deny calls and what stops them, decisions, losses.
    Report(ReportArgs),
    /// Print the JSON Schema of the event log, generated from the event types
    /// (docs/events.schema.json is this output).
    #[command(hide = true)]
    EventsSchema,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Event logs (JSON lines), rotated files oldest first: PATH.5 .. PATH.1 PATH (rotated
    /// files that do not exist are skipped, with a note); or a directory: every log in it,
    /// each with its rotations in order.
    #[arg(required = true, value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
    /// JSON instead of text on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page (charts included) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// The event log's rotation and the metrics endpoint (run, agent, observe).
#[derive(Debug, Clone, Default, Args)]
pub struct TelemetryArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics and health at /healthz (ADDR like
    /// 127.0.0.1:9464, localhost:9464, or :9464 for every IPv4 interface).
    #[arg(long, value_name = "ADDR", value_parser = crate::metrics::parse_metrics_addr)]
    pub metrics: Option<SocketAddr>,
    /// Rotate the --events file before it grows past BYTES (never within a line).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub events_max_bytes: Option<u64>,
    /// Rotated files to keep with --events-max-bytes: PATH.1 (newest) .. PATH.K.
    #[arg(long, value_name = "K", default_value_t = 5, requires = "events_max_bytes",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub events_keep: u32,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Unix socket to listen on (the profiles' listenerPath); created with mode 0600.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,
    /// Policy for containers whose listenerMetadata names none; default: the built-in policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Directory of named policies: listenerMetadata `policy=NAME` picks DIR/NAME.json.
    #[arg(long, value_name = "DIR")]
    pub policy_dir: Option<PathBuf>,
    /// Write JSON-lines events here ("-" for stdout).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// A Docker data root or a containers/storage (Podman, CRI-O) graph root whose container
    /// names events should show; repeatable (/var/lib/docker and /var/lib/containers/storage
    /// are always searched after these).
    #[arg(long = "engine-root", value_name = "DIR")]
    pub engine_roots: Vec<PathBuf>,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("stats_interval", |a| a.help(
        "Also report syscall counts every SECS seconds in the --events log (always at the end)"
    )),
    mut_arg("trace", |a| a.help(
        "Also write a `syscall_trace` event to the --events log for every call of these \
         syscalls (repeat or comma-separate); the argument values of clone, socket, \
         personality, prctl and the chmod family are recorded either way"
    )),
)]
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
    /// Record a workload that already runs (a container): this cgroup directory (absolute, or
    /// relative to the cgroup v2 root), instead of launching CMD.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["command", "user"])]
    pub cgroup: Option<PathBuf>,
    /// With --cgroup: stop recording after SECS seconds (default: at SIGINT or SIGTERM, or
    /// when the cgroup is removed).
    #[arg(long, value_name = "SECS", requires = "cgroup")]
    pub duration: Option<u64>,
    #[command(flatten)]
    pub caps: CapArgs,
    /// Run CMD as UID[:GID] (numbers or names), as `run --user`.
    #[arg(long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// off, counts or trace: record needs the observer (off is refused); counts writes no
    /// detailed events, trace writes those --trace names.
    #[arg(long = "observe", value_enum, default_value_t = ObserveMode::Trace)]
    pub observe_mode: ObserveMode,
    #[command(flatten)]
    pub observe: ObserveArgs,
    /// The workload and its arguments (unless --cgroup).
    #[arg(last = true, required_unless_present = "cgroup", value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("stats_interval", |a| a.help(
        "Report syscall counts every SECS seconds [default: 10]"
    )),
    mut_arg("trace", |a| a.help(
        "A `syscall_trace` event for every call of these syscalls in the watched cgroups \
         (repeat or comma-separate)"
    )),
)]
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
    /// A Docker data root or a containers/storage (Podman, CRI-O) graph root whose container
    /// names events should show; repeatable (/var/lib/docker and /var/lib/containers/storage
    /// are always searched after these).
    #[arg(long = "engine-root", value_name = "DIR")]
    pub engine_roots: Vec<PathBuf>,
    #[command(flatten)]
    pub observe: ObserveArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("trace", |a| a.help(
        "A `syscall_trace` event for every call of these syscalls (repeat or \
         comma-separate); default: every call the profile may refuse or notify"
    )),
    after_help = RUN_AFTER_HELP,
)]
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
    /// Ask the kernel for synchronous wake-ups on the notify fd (for benchmarks).
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub notify_sync_wakeup: bool,
    /// If the supervisor fails while the workload runs: the kernel answers its notified calls
    /// with ENOSYS (enosys), or the workload's cgroup is killed (kill). If the enforcer
    /// process itself dies (SIGKILL, crash), the workload's cgroup is always killed and removed.
    #[arg(long, value_enum, default_value_t = OnSupervisorExit::Enosys)]
    pub on_supervisor_exit: OnSupervisorExit,
    /// Write JSON-lines events here ("-" for stdout).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// Pass the enforcer's fds 3 to 3+N-1 on to the workload (as runc's flag); every other fd
    /// beyond 0-2 is closed before exec.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=65536))]
    pub preserve_fds: u32,
    /// Name of the workload's cgroup (created under <cgroup v2 root>/enforcer/).
    #[arg(long, value_name = "NAME")]
    pub cgroup: Option<String>,
    #[arg(long, help = ALLOW_UNKNOWN_SYSCALLS)]
    pub allow_unknown_syscalls: bool,
    #[command(flatten)]
    pub caps: CapArgs,
    /// Run as UID[:GID] (numbers or names), as `docker run --user`: a user other than root
    /// keeps no capabilities (the bounding set stays for the profile's includes).
    #[arg(long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// eBPF observation of the workload: off, counts, or trace (counts and detailed events).
    ///
    /// counts and trace attach programs to the raw_syscalls tracepoints, which puts every
    /// syscall of every process on the host on the kernel's slow path for as long as the
    /// workload runs. Measured (BENCHMARKS.md, 2-core VM, kernel 6.18): a getppid loop
    /// elsewhere on the host takes 1.84x its time, in the workload 2.04x; a
    /// write/openat/close/futex loop in the workload 1.23x. off attaches nothing and costs
    /// nothing; enforcement, the supervisor and its decision events are the same, but calls
    /// that the profile denies in the kernel are neither counted nor traced.
    #[arg(long = "observe", value_enum, default_value_t = ObserveMode::Trace)]
    pub observe_mode: ObserveMode,
    #[command(flatten)]
    pub observe: ObserveArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// The workload and its arguments (after `--` when they start with a dash).
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// `--allow-unknown-syscalls`, wherever a profile is read.
const ALLOW_UNKNOWN_SYSCALLS: &str = "Accept a profile that names syscalls no syscall table \
    knows (typos, or calls newer than this enforcer): they are skipped with a warning instead \
    of refused";

const RUN_AFTER_HELP: &str = "\
Exit status (as `docker run`):
  N        the workload's exit status
  128+N    the workload was killed by signal N
  125      the enforcer failed: bad profile, policy or option, filter not installed, ...
           (nothing was launched when the input was bad)
  126      CMD cannot be executed
  127      CMD not found

Environment:
  RUST_LOG  what the enforcer logs on stderr (default: warn), e.g. RUST_LOG=info or
            RUST_LOG=enforcer=debug; the event log (--events) is separate

Examples:
  enforcer run -- sh -c 'chmod 4755 /tmp/f'
  enforcer run --profile app.json --mode audit --events events.jsonl ./app --port 80";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnSupervisorExit {
    Enosys,
    Kill,
}

/// What `run` and `record` observe with eBPF (`--observe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObserveMode {
    /// No eBPF program: the host runs at full speed; syscalls are neither counted nor traced.
    Off,
    /// Per-syscall counts of the workload's cgroup, calls seccomp refused included.
    Counts,
    /// Counts, and a `syscall_trace` event for every call --trace names (without --trace:
    /// every call the profile may stop or hand to the supervisor).
    Trace,
}

impl ObserveMode {
    /// The word on the command line and in the exit event.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Counts => "counts",
            Self::Trace => "trace",
        }
    }
}

/// How the eBPF observer reports (run, record, observe).
#[derive(Debug, Clone, Args)]
pub struct ObserveArgs {
    /// Also report syscall counts every SECS seconds (always at the end).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stats_interval: Option<u64>,
    /// A `syscall_trace` event for every call of these syscalls (repeat or comma-separate).
    #[arg(long = "trace", value_name = "SYSCALL", value_delimiter = ',')]
    pub trace: Vec<String>,
    /// Size of the eBPF ring buffer of detailed events (a power of two >= 4096).
    #[arg(long, value_name = "BYTES", hide = true)]
    pub ring_buffer_bytes: Option<u32>,
    /// Attach eBPF programs that return at once (nothing is observed): for the benchmark.
    #[arg(long, hide = true)]
    pub empty_programs: bool,
    /// Cgroups counted in the per-CPU array at most, the rest in the hash map (0: all in
    /// the hash map): for tests of both.
    #[arg(long, value_name = "N", hide = true)]
    pub dense_counter_slots: Option<u32>,
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
        /// Docker/OCI seccomp profiles, or OCI config.json files (their linux.seccomp).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Fail (exit 125) on any warning or lint.
        #[arg(long)]
        strict: bool,
        #[arg(long, help = ALLOW_UNKNOWN_SYSCALLS)]
        allow_unknown_syscalls: bool,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// What the profile does with every syscall of this arch, and which entry says so.
    Explain {
        /// A Docker/OCI seccomp profile, or an OCI config.json (its linux.seccomp).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Only this syscall; repeatable.
        #[arg(long = "syscall", value_name = "NAME")]
        syscalls: Vec<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(long, help = ALLOW_UNKNOWN_SYSCALLS)]
        allow_unknown_syscalls: bool,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// What changes from OLD to NEW, per syscall; exit 1 when they differ, as diff(1).
    Diff {
        /// The profile before the change (a seccomp profile or an OCI config.json).
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The profile after the change.
        #[arg(value_name = "NEW")]
        new: PathBuf,
        #[arg(long, help = ALLOW_UNKNOWN_SYSCALLS)]
        allow_unknown_syscalls: bool,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// The smallest change to PROFILE that lets through every call the events show it
    /// stopping (would-deny in audit mode, seccomp denials in enforce mode): a new profile,
    /// and the change in the words of `profile diff`. clone, socket, personality, prctl and
    /// the chmod family are allowed only for the argument values seen, as `record` writes
    /// them; other syscalls by name.
    Suggest(SuggestArgs),
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// The profile the events were recorded under (a seccomp profile or an OCI config.json).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Event logs of the workload running under PROFILE (audit or enforce mode).
    #[arg(long = "events", value_name = "FILE", required = true, num_args = 1..)]
    pub events: Vec<PathBuf>,
    /// Write the new profile here (default: stdout; the change goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also remove allowed syscalls the workload never made (needs the observer's
    /// `syscall_count` events, complete: no losses, observation not degraded). Conditions are
    /// left as they are; the calls added get them as without --tighten.
    #[arg(long)]
    pub tighten: bool,
    /// Only the events of this workload: a container name or id, or a cgroup id.
    #[arg(long, value_name = "NAME|ID")]
    pub workload: Option<String>,
    #[arg(long, help = ALLOW_UNKNOWN_SYSCALLS)]
    pub allow_unknown_syscalls: bool,
    #[command(flatten)]
    pub caps: CapArgs,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument a user can see says what it is for.
    #[test]
    fn every_visible_argument_has_a_description() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if !arg.is_hide_set()
                    && !["help", "version"].contains(&id)
                    && arg.get_help().is_none()
                {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let mut cli = Cli::command();
        cli.build();
        walk(&cli, "enforcer", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }
}
