//! Deciding one notified call and answering it.
//!
//! Three routes: a decision on the registers alone is answered on the receiving thread; a
//! call the supervisor carries out (see `emulate`) whose decision may need its path goes to
//! an emulation worker (`carry_out`); any other decision needing the caller's identity goes
//! to the runtime's blocking pool. The last two are tracked by the deadline watchdog.

use super::deadline::{Deadlines, Slot};
use super::emulate::{Call as Emulated, Gatherer};
use super::facts::IdentityFacts;
use super::notify::Notification;
use super::notify::{self, Answer};
use super::{Config, InFlight, Stats};
use crate::events::{DecisionEvent, EventKind, Outcome, errno_name};
use crate::policy::{Action, Decision, FactError, Facts, FileFact, Identity};
use crate::profile::Action as ProfileAction;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Enforce decisions, or only report what would be denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    /// Every call proceeds; what enforce mode would deny is logged as would-deny.
    Audit,
}

/// What one call is, for deciding and for the event.
pub struct Call {
    pub req: Notification,
    pub name: String,
    pub started: Instant,
}

impl Call {
    /// The ABI as events name it; made for the event, after the answer.
    fn arch_label(&self) -> String {
        self.req
            .arch()
            .map(crate::events::arch_label)
            .unwrap_or_else(|| format!("audit-arch-{:#x}", self.req.audit_arch))
    }
}

/// The first phase: facts that cost nothing. Asking for more marks the call as needing them.
struct RegistersOnly {
    needed: bool,
}

impl Facts for RegistersOnly {
    fn identity(&mut self) -> Result<&Identity, FactError> {
        self.needed = true;
        Err(FactError::new(libc::EPERM, "needs identity"))
    }
    fn file(&mut self) -> Result<FileFact<'_>, FactError> {
        self.needed = true;
        Err(FactError::new(libc::EPERM, "needs path"))
    }
}

/// The receiving thread's own state.
pub struct Receiver {
    pub listener: Arc<OwnedFd>,
    pub config: Arc<Config>,
    pub stats: Arc<Stats>,
    pub runtime: tokio::runtime::Handle,
    pub in_flight: InFlight,
    pub deadlines: Arc<Deadlines>,
    pub gatherer: Gatherer,
}

/// A deny that no rule made (an error on the way, the deadline).
fn error_decision(rule: String, errno: i32) -> Decision {
    Decision {
        action: Action::Deny(errno),
        rule,
        audit: vec![],
        used_path: false,
    }
}

/// Decides `req`: at once when the registers suffice, else on a worker or the blocking pool
/// under the deadline. Called on the receiving thread.
pub fn dispatch(req: Notification, r: &mut Receiver) {
    let started = Instant::now();
    let (config, stats) = (&r.config, &r.stats);
    let fd = r.listener.as_raw_fd();
    let arch = req.arch();
    let call = Call {
        req,
        name: arch
            .and_then(|a| crate::profile::syscall_name(req.nr.into(), a))
            .unwrap_or_else(|| format!("syscall_{}", req.nr)),
        started,
    };
    if config.mode == Mode::Audit
        && let Some(profile) = &config.profile
    {
        let verdict = profile.verdict(&call.name, &call.req.args);
        if verdict.action != ProfileAction::Notify {
            // Only here because audit mode turned the profile's stop into a notification.
            let decision = Decision {
                action: Action::Deny(verdict_errno(verdict.action)),
                rule: format!("profile:{}", verdict.json_path),
                audit: vec![],
                used_path: false,
            };
            let would = Some(describe_profile_action(verdict.action));
            finish(
                fd,
                &call,
                &decision,
                Answer::Continue,
                None,
                would,
                config,
                stats,
            );
            return;
        }
    }
    let mut regs = RegistersOnly { needed: false };
    let decision = config.policy.decide(&call.name, &call.req.args, &mut regs);
    if !regs.needed {
        let answer = answer_for(&decision, config);
        finish(fd, &call, &decision, answer, None, None, config, stats);
        return;
    }
    let decoded = Emulated::decode(arch, req.nr, &req.args);
    let slot = Arc::new(Slot::new(call, r.in_flight.clone()));
    r.deadlines.track(slot.clone());
    match decoded {
        Some(Ok(emulated)) if config.policy.may_need_path(&slot.call.name, &req.args) => {
            super::carry_out::start(emulated, slot, r)
        }
        decoded => {
            let no_file = match decoded {
                // The kernel refuses these registers before looking at the path.
                Some(Err(errno)) => {
                    FactError::new(errno, format!("invalid arguments: {}", errno_name(errno)))
                }
                _ => FactError::new(libc::EPERM, "no path for this call"),
            };
            let (listener, config, stats, deadlines) = (
                r.listener.clone(),
                r.config.clone(),
                r.stats.clone(),
                r.deadlines.clone(),
            );
            r.runtime.spawn_blocking(move || {
                decide_identity(&slot, listener.as_raw_fd(), &config, &stats, no_file);
                deadlines.done(&slot);
            });
        }
    }
}

/// Denies `call` with `errno` for a reason no rule gave (an error on the way, the deadline).
pub fn deny(fd: i32, call: &Call, rule: String, errno: i32, config: &Config, stats: &Stats) {
    let decision = error_decision(rule, errno);
    finish(
        fd,
        call,
        &decision,
        Answer::Error(errno),
        None,
        None,
        config,
        stats,
    );
}

/// The call's deadline passed before it was answered: denied.
pub fn expire(slot: &Slot, fd: i32, config: &Config, stats: &Stats) {
    deny(
        fd,
        &slot.call,
        "deadline".into(),
        libc::EPERM,
        config,
        stats,
    );
}

fn decide_identity(slot: &Slot, fd: i32, config: &Config, stats: &Stats, no_file: FactError) {
    let call = &slot.call;
    let id = call.req.id;
    let still_valid = move || notify::id_valid(fd, id);
    let mut facts = IdentityFacts::new(
        call.req.pid,
        config.container.as_deref(),
        &still_valid,
        no_file,
    );
    let decision = config.policy.decide(&call.name, &call.req.args, &mut facts);
    if !slot.claim() {
        return; // the deadline answered already
    }
    let answer = answer_for(&decision, config);
    finish(fd, call, &decision, answer, None, None, config, stats);
}

/// The kernel's answer for a decision, in the configured mode. A kill in enforce mode kills
/// the workload's cgroup right here, before the answer.
pub fn answer_for(decision: &Decision, config: &Config) -> Answer {
    match (decision.action, config.mode) {
        (Action::Allow, _) => Answer::Continue,
        // Audit mode: the workload runs as if allowed; the event says would-deny.
        (_, Mode::Audit) => Answer::Continue,
        (Action::Deny(errno), Mode::Enforce) => Answer::Error(errno),
        (Action::Kill, Mode::Enforce) => {
            kill_workload(config);
            Answer::Error(libc::EPERM)
        }
    }
}

fn kill_workload(config: &Config) {
    match &config.cgroup {
        Some(cg) => {
            if let Err(e) = std::fs::write(cg.join("cgroup.kill"), b"1") {
                tracing::error!("killing cgroup {}: {e}", cg.display());
            }
        }
        None => tracing::error!(
            "policy says kill, but the workload's cgroup is unknown; the call is denied"
        ),
    }
}

/// The errno a would-deny reports for a profile action (kills and traps have none: EPERM
/// stands for "stopped").
fn verdict_errno(action: ProfileAction) -> i32 {
    match action {
        ProfileAction::Errno(e) | ProfileAction::Trace(e) => e as i32,
        _ => libc::EPERM,
    }
}

fn describe_profile_action(action: ProfileAction) -> String {
    match action {
        ProfileAction::Errno(e) => format!("SCMP_ACT_ERRNO({})", errno_name(e as i32)),
        other => other.scmp_name().to_owned(),
    }
}

fn describe_policy_action(action: Action) -> String {
    match action {
        Action::Allow => "allow".into(),
        Action::Deny(e) => format!("deny {}", errno_name(e)),
        Action::Kill => "kill".into(),
    }
}

/// Answers the kernel and logs the decision (and any audit-only rule that matched). `would`
/// overrides what a would-deny says enforce mode would have done.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    fd: i32,
    call: &Call,
    decision: &Decision,
    answer: Answer,
    path: Option<String>,
    would: Option<String>,
    config: &Config,
    stats: &Stats,
) {
    if let Err(e) = notify::respond(fd, call.req.id, answer) {
        // A kill has already taken the caller down: its decision is still logged.
        let killed = decision.action == Action::Kill && config.mode == Mode::Enforce;
        if !killed {
            tracing::debug!("answer to notification {} not delivered: {e}", call.req.id);
            stats.stale.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    let latency_ns = call.started.elapsed().as_nanos() as u64;
    let (outcome, errno) = match (answer, decision.action) {
        (Answer::Continue, Action::Allow) => (Outcome::Allowed, None),
        (Answer::Continue, Action::Deny(e)) => (Outcome::WouldDeny, Some(e)),
        (Answer::Continue, Action::Kill) => (Outcome::WouldDeny, None),
        (Answer::Value(_), _) => (Outcome::Emulated, None),
        (Answer::Error(e), _) => (Outcome::Denied, Some(e)),
    };
    let counter = match outcome {
        Outcome::Allowed => &stats.allowed,
        Outcome::Emulated => &stats.emulated,
        Outcome::Denied => &stats.denied,
        Outcome::WouldDeny => &stats.would_deny,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let arch = call.arch_label();
    let event = |rule: &str, outcome: Outcome, errno: Option<i32>, would: Option<String>| {
        EventKind::Decision(DecisionEvent {
            syscall: call.name.clone(),
            nr: call.req.nr,
            arch: arch.clone(),
            args: call.req.args,
            pid: call.req.pid,
            path: path.clone(),
            rule: rule.to_owned(),
            outcome,
            errno,
            would,
            latency_ns,
        })
    };
    for (rule, action) in &decision.audit {
        stats.would_deny.fetch_add(1, Ordering::Relaxed);
        let errno = if let Action::Deny(e) = action {
            Some(*e)
        } else {
            None
        };
        config.sink.emit(
            &config.workload,
            event(
                rule,
                Outcome::WouldDeny,
                errno,
                Some(describe_policy_action(*action)),
            ),
        );
    }
    let would = match outcome {
        Outcome::WouldDeny => would.or_else(|| Some(describe_policy_action(decision.action))),
        _ => None,
    };
    config.sink.emit(
        &config.workload,
        event(&decision.rule, outcome, errno, would),
    );
}
