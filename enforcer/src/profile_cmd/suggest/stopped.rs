//! What the events say the profile stopped, and what the workload was seen to call.
//!
//! Stopped calls come from three places: audit mode's `decision` events with outcome
//! `would-deny` and a `profile:` rule; calls seen one by one (`syscall_trace` events with
//! `args_at` "exit": they never entered the kernel) that the profile refuses for those
//! arguments; and `syscall_count` aggregates with calls stopped before entry of a syscall the
//! profile refuses whatever its
//! arguments. Calls a policy rule (not the profile) would deny are not the profile's to
//! change: they are notes.

use crate::events::{ArgsAt, EventKind, LostWhat, Outcome, Phase, arch_label};
use crate::profile::{Action, Arch, HANDOFF_SYSCALLS, ResolvedProfile, lets_run};
use crate::report::LogEvent;
use std::collections::{BTreeMap, BTreeSet};

/// A call the profile stopped: its arguments when the event has them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoppedCall {
    pub syscall: String,
    pub args: Option<[u64; 6]>,
}

#[derive(Debug, Default)]
pub struct Findings {
    /// Per syscall, the calls (distinct argument sets) the profile stopped.
    pub stopped: BTreeMap<String, BTreeSet<StoppedCall>>,
    /// How many stopped calls each syscall had (for the comment of the new entry).
    pub counts: BTreeMap<String, u64>,
    pub notes: BTreeSet<String>,
}

/// Whether the action keeps the call from running (what audit mode reports as would-deny).
pub fn stops(action: Action) -> bool {
    !lets_run(action) && action != Action::Notify
}

pub fn find(events: &[LogEvent], profile: &ResolvedProfile) -> Findings {
    let native = profile.arches.first().copied().unwrap_or_else(Arch::native);
    let native_label = arch_label(native);
    let mut f = Findings::default();
    let add = |f: &mut Findings, syscall: &str, args: Option<[u64; 6]>, n: u64| {
        f.stopped
            .entry(syscall.to_string())
            .or_default()
            .insert(StoppedCall {
                syscall: syscall.to_string(),
                args,
            });
        *f.counts.entry(syscall.to_string()).or_default() += n;
    };
    // Calls the profile refuses whatever the arguments, from the aggregates.
    let mut aggregate_stops: BTreeMap<String, u64> = BTreeMap::new();
    let mut traced: BTreeSet<String> = BTreeSet::new();
    for e in events {
        match &e.kind {
            EventKind::Decision(d) if d.outcome == Outcome::WouldDeny => {
                let (syscall, rule, arch) = (&d.syscall, &d.rule, &d.arch);
                if !rule.starts_with("profile:") {
                    f.notes.insert(format!(
                        "{syscall}: would be denied by policy rule {rule:?}, not by the profile: \
                         amend the policy to let it through"
                    ));
                } else if *arch != native_label {
                    f.notes.insert(format!(
                        "{syscall} ({arch}): calls of another ABI than {native_label} are not \
                         suggested; add them by hand if they are meant to run"
                    ));
                } else {
                    add(&mut f, syscall, Some(d.args), 1);
                }
            }
            EventKind::SyscallCount(s) if s.arch == native_label => {
                let stopped = s.stopped();
                if let Some(name) = &s.name
                    && stopped > 0
                {
                    let n = aggregate_stops.entry(name.clone()).or_default();
                    *n = (*n).max(stopped);
                }
            }
            EventKind::SyscallTrace(t)
                if t.args_at == ArgsAt::Exit && t.errno.is_some() && t.arch == native_label =>
            {
                let Some(name) = &t.name else {
                    continue;
                };
                traced.insert(name.clone());
                if stops(profile.verdict(name, &t.args).action) {
                    add(&mut f, name, Some(t.args), 1);
                }
            }
            _ => {}
        }
    }
    for (name, n) in aggregate_stops {
        if f.stopped.contains_key(&name) || traced.contains(&name) {
            continue;
        }
        let Some(effect) = profile.effect(&name, native) else {
            continue;
        };
        if effect.branches.len() == 1 && stops(effect.fallback().action) {
            add(&mut f, &name, None, n);
        } else if effect.branches.iter().any(|b| stops(b.action)) {
            f.notes.insert(format!(
                "{name}: {n} calls stopped, but the profile decides on its arguments and no \
                 event has them: run with --trace {name} to suggest a rule"
            ));
        }
    }
    f
}

/// Syscalls the events show the workload making, for --tighten; an error says why the events
/// cannot tell (no counts, losses, degraded observation).
pub fn seen(events: &[LogEvent]) -> Result<BTreeSet<String>, String> {
    let mut seen: BTreeSet<String> = HANDOFF_SYSCALLS.iter().map(|s| s.to_string()).collect();
    let mut counted = false;
    for e in events {
        match &e.kind {
            EventKind::SyscallCount(s) => {
                counted = true;
                if let Some(name) = &s.name
                    && s.count > 0
                {
                    seen.insert(name.clone());
                }
            }
            EventKind::SyscallTrace(t) => seen.extend(t.name.clone()),
            EventKind::Decision(d) => {
                seen.insert(d.syscall.clone());
            }
            EventKind::Lost(l) => {
                if matches!(
                    l.what,
                    LostWhat::SyscallCount
                        | LostWhat::SyscallNumber
                        | LostWhat::SyscallAbi
                        | LostWhat::Event
                ) {
                    return Err(format!(
                        "the events lost {} {} at {}: the counts are incomplete",
                        l.count, l.what, l.place
                    ));
                }
            }
            EventKind::Lifecycle(l) if l.phase == Phase::ObserverDegraded => {
                return Err(format!(
                    "observation was degraded ({}): the events have no complete counts",
                    l.reason.as_deref().unwrap_or("no reason given")
                ));
            }
            EventKind::Lifecycle(_) => {}
        }
    }
    if counted {
        Ok(seen)
    } else {
        Err(
            "the events have no `syscall_count` aggregates from the observer (enforcer run, record or \
             observe write them): nothing says which allowed calls were never made"
                .into(),
        )
    }
}
