use clap::Parser;
use enforcer::cli::{Cli, Command, ProfileCommand};
use enforcer::run::{self, EXIT_ENFORCER_FAILED};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything else, and before any thread: no process of a workload may ptrace this
    // one, read its memory or take its fds (docs/security.md).
    let unreachable = enforcer::reach::make_unreachable();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = unreachable {
        eprintln!("enforcer: making this process non-dumpable (prctl PR_SET_DUMPABLE): {e}");
        return ExitCode::from(EXIT_ENFORCER_FAILED);
    }
    // Usage errors are the enforcer's own failure: 125, as `docker run` does.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ENFORCER_FAILED
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if matches!(cli.command, Command::Profile(_) | Command::Report(_)) {
        end_quietly_on_closed_pipe();
    }
    match cli.command {
        Command::Run(args) => match run::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("enforcer: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Command::Profile(command) => ExitCode::from(profile_command(command)),
        Command::Record(args) => match enforcer::record::record(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("enforcer: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Command::Observe(args) => match enforcer::observe::command::observe(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("enforcer: {e}");
                ExitCode::from(EXIT_ENFORCER_FAILED)
            }
        },
        Command::Agent(args) => match enforcer::agent::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("enforcer: {e}");
                ExitCode::from(EXIT_ENFORCER_FAILED)
            }
        },
        Command::EventsSchema => {
            print!("{}", enforcer::events::schema::generate());
            ExitCode::SUCCESS
        }
        Command::Report(args) => match enforcer::report::report(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("enforcer: {e}");
                ExitCode::from(EXIT_ENFORCER_FAILED)
            }
        },
    }
}

/// For the commands whose work is what they print: a reader that goes away (`| head`) ends
/// them as it ends cat(1), instead of a panic in println!. run, record, observe and agent keep
/// SIGPIPE ignored: a closed event pipe must not kill a supervisor (their sink reports it).
fn end_quietly_on_closed_pipe() {
    // SAFETY: sets this process's SIGPIPE disposition to the default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn profile_command(command: ProfileCommand) -> u8 {
    use enforcer::profile_cmd::{
        ExplainOptions, check_files, diff_files, explain_file, suggest_profile,
    };
    match command {
        ProfileCommand::Check {
            files,
            strict,
            allow_unknown_syscalls,
            caps,
        } => check_files(&files, &caps, strict, allow_unknown_syscalls),
        ProfileCommand::Explain {
            file,
            syscalls,
            json,
            allow_unknown_syscalls,
            caps,
        } => explain_file(&ExplainOptions {
            file,
            syscalls,
            caps,
            json,
            allow_unknown_syscalls,
        }),
        ProfileCommand::Diff {
            old,
            new,
            allow_unknown_syscalls,
            caps,
        } => diff_files(&old, &new, &caps, allow_unknown_syscalls),
        ProfileCommand::Suggest(args) => suggest_profile(&args),
    }
}
