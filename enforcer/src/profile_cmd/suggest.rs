//! `enforcer profile suggest --profile P --events E... [--output FILE] [--tighten]`: the
//! smallest change to P that lets through every call the events show P stopping, as a new
//! profile (P's own JSON with entries added or narrowed) and the change in the words of
//! `profile diff`. A syscall P refuses whatever its arguments gets an allow: a plain one, or for
//! the argument-aware syscalls of `record` (clone, socket, personality, prctl, the chmod
//! family) the rule `record` would write for the argument values seen; one P decides on its
//! arguments gets an allow for exactly the argument values seen, compared the way P compares
//! them. With --tighten, allowed syscalls the workload never made are taken out.

mod edit;
mod stopped;

use super::{CommandError, context, fail};
use crate::cli::SuggestArgs;
use crate::profile::{self, Arch, ArgCond, CmpOp, LoadOptions, Origin, ResolvedProfile, lets_run};
use crate::record;
use crate::report::{self, LogEvent, ReadError};
use edit::{ProfileJson, entry_index};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use stopped::{Findings, StoppedCall};

#[derive(Debug, thiserror::Error)]
enum SuggestError {
    #[error("{0}")]
    Command(#[from] CommandError),
    #[error("{0}")]
    Events(#[from] ReadError),
    #[error("--workload {selector:?}: no such workload in the events (they have: {known})")]
    NoWorkload { selector: String, known: String },
    #[error("--tighten: {0}")]
    Tighten(String),
    #[error("{}: {source}", path.display())]
    Profile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the suggested profile does not load: {0}")]
    Suggested(profile::ProfileError),
    #[error("{syscall}: the suggested profile still stops it ({why}); change the profile by hand")]
    StillStopped { syscall: String, why: String },
    #[error("--output {}: {source}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn suggest_profile(args: &SuggestArgs) -> u8 {
    match suggest(args) {
        Ok(()) => 0,
        Err(e) => fail(&e),
    }
}

fn suggest(args: &SuggestArgs) -> Result<(), SuggestError> {
    let ctx = context(&args.caps).map_err(CommandError::from)?;
    let opts = LoadOptions {
        allow_unknown_syscalls: args.allow_unknown_syscalls,
    };
    let loaded = profile::load_file(&args.profile, &opts).map_err(CommandError::from)?;
    let old = loaded.profile.resolve(&ctx).map_err(CommandError::from)?;
    let (_, events) = report::read_logs(&args.events)?;
    let events = workload_events(events, args.workload.as_deref())?;
    let seen = match args.tighten {
        true => Some(stopped::seen(&events).map_err(SuggestError::Tighten)?),
        false => None,
    };
    let findings = stopped::find(&events, &old);

    let text = std::fs::read_to_string(&args.profile).map_err(|source| SuggestError::Profile {
        path: args.profile.clone(),
        source,
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| SuggestError::Profile {
        path: args.profile.clone(),
        source: e.into(),
    })?;
    let mut json = ProfileJson::new(doc, &loaded.profile.root_path);
    let native = old.arches.first().copied().unwrap_or_else(Arch::native);
    let mut notes = findings.notes.clone();
    let mut plain = Vec::new();
    for (name, calls) in &findings.stopped {
        let Some(effect) = old.effect(name, native) else {
            continue;
        };
        let conditional = &effect.branches[..effect.branches.len() - 1];
        if conditional.is_empty() {
            // An unconditional entry that stops it would win over an added allow: take the
            // name out of it.
            if let Origin::Rule(path) = &effect.fallback().origin
                && let Some(index) = entry_index(path)
            {
                json.remove_name(index, name);
            }
            match as_recorded(name, calls, &findings) {
                Some(entry) => json.push(entry),
                None => {
                    if record::arg_rule(name).is_some() && calls.iter().any(|c| c.args.is_none()) {
                        notes.insert(format!(
                            "{name}: allowed whatever its arguments, since the events lack them: \
                             run with --trace {name} for a rule on the values it uses"
                        ));
                    }
                    plain.push(name.clone());
                }
            }
            continue;
        }
        let compared: Vec<&ArgCond> = conditional.iter().flat_map(|b| &b.conditions).collect();
        for call in calls {
            match call.args {
                Some(args) => json.allow(
                    vec![name.clone()],
                    exact_args(&compared, &args),
                    comment(&findings, name, &args_text(&compared, &args)),
                ),
                None => {
                    notes.insert(format!(
                        "{name}: stopped, but the events lack its arguments, which the profile \
                         decides on"
                    ));
                }
            }
        }
    }
    if !plain.is_empty() {
        let counts: Vec<String> = (plain.iter())
            .map(|n| format!("{n} {}", findings.counts.get(n).copied().unwrap_or(0)))
            .collect();
        json.allow(
            plain,
            vec![],
            format!(
                "added by enforcer profile suggest: calls stopped ({})",
                counts.join(", ")
            ),
        );
    }
    if let Some(seen) = &seen {
        let mut keep = seen.clone();
        keep.extend(findings.stopped.keys().cloned());
        for name in json.tighten(&keep) {
            tracing::debug!("--tighten: {name} was never called");
        }
    }
    let out = serde_json::to_string_pretty(&json.finish()).expect("JSON serializes") + "\n";
    let new = check_suggestion(&out, args, &opts, &ctx, &findings, native)?;
    let changes = profile::diff(&old, &new);
    match &args.output {
        Some(path) => {
            std::fs::write(path, &out).map_err(|source| SuggestError::Output {
                path: path.clone(),
                source,
            })?;
            changes.iter().for_each(|c| println!("{c}"));
        }
        None => {
            print!("{out}");
            changes.iter().for_each(|c| eprintln!("{c}"));
        }
    }
    if changes.is_empty() {
        eprintln!("enforcer: no change needed: the events show no call the profile stops");
    }
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(())
}

/// The events of the workload `selector` names, or all of them.
fn workload_events(
    events: Vec<LogEvent>,
    selector: Option<&str>,
) -> Result<Vec<LogEvent>, SuggestError> {
    let Some(selector) = selector else {
        return Ok(events);
    };
    let built = report::build(Vec::new(), &events);
    let keys: BTreeSet<&str> = (built.workloads.iter())
        .filter(|w| w.matches(selector))
        .map(|w| w.key.as_str())
        .collect();
    if keys.is_empty() {
        let known: Vec<&str> = built.workloads.iter().map(|w| w.label.as_str()).collect();
        return Err(SuggestError::NoWorkload {
            selector: selector.to_string(),
            known: known.join(", "),
        });
    }
    Ok(events
        .iter()
        .filter(|e| keys.contains(report::workload_key(e).as_str()))
        .cloned()
        .collect())
}

/// The entry `record` would write for an argument-aware syscall with the values of `calls`,
/// when every call's arguments are known and the rule is narrower than the name.
fn as_recorded(name: &str, calls: &BTreeSet<StoppedCall>, findings: &Findings) -> Option<Value> {
    let index = usize::from(record::arg_rule(name)?.index);
    let values: BTreeSet<u64> = (calls.iter())
        .map(|c| c.args.map(|a| a[index]))
        .collect::<Option<_>>()?;
    let mut entry = record::rule_for_values(name, &values)?;
    let what = entry["comment"].as_str().unwrap_or_default();
    let what = what.trim_end_matches(" (recorded)").to_string();
    entry["comment"] = comment(findings, name, &format!("as record writes it: {what}")).into();
    Some(entry)
}

/// Conditions matching exactly `args` on every argument the profile compares, the way it
/// compares them (a masked comparison keeps its mask).
fn exact_args(compared: &[&ArgCond], args: &[u64; 6]) -> Vec<Value> {
    let mut indexes: Vec<u8> = compared.iter().map(|c| c.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    indexes
        .into_iter()
        .map(|i| {
            let arg = args[usize::from(i)];
            let mask = compared
                .iter()
                .find(|c| c.index == i && c.op == CmpOp::MaskedEq)
                .map(|c| c.value);
            match mask {
                Some(m) => {
                    json!({"index": i, "value": m, "valueTwo": arg & m, "op": "SCMP_CMP_MASKED_EQ"})
                }
                None => json!({"index": i, "value": arg, "op": "SCMP_CMP_EQ"}),
            }
        })
        .collect()
}

fn args_text(compared: &[&ArgCond], args: &[u64; 6]) -> String {
    let mut indexes: Vec<u8> = compared.iter().map(|c| c.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    let parts: Vec<String> = (indexes.iter())
        .map(|&i| format!("arg{i} = {:#x}", args[usize::from(i)]))
        .collect();
    parts.join(", ")
}

fn comment(findings: &Findings, name: &str, what: &str) -> String {
    let n = findings.counts.get(name).copied().unwrap_or(0);
    format!("added by enforcer profile suggest: {name} stopped ({n} calls), {what}")
}

/// Loads the suggestion as `profile check` would and makes sure it lets every stopped call
/// run.
fn check_suggestion(
    text: &str,
    args: &SuggestArgs,
    opts: &LoadOptions,
    ctx: &profile::ResolveContext,
    findings: &Findings,
    native: Arch,
) -> Result<ResolvedProfile, SuggestError> {
    let origin = args
        .output
        .clone()
        .unwrap_or_else(|| "<suggested profile>".into());
    let new = profile::parse_str(text, &origin, opts)
        .and_then(|l| l.profile.resolve(ctx))
        .map_err(SuggestError::Suggested)?;
    for StoppedCall { syscall, args } in findings.stopped.values().flatten() {
        let runs = match args {
            Some(args) => lets_run(new.verdict(syscall, args).action),
            None => new.effect(syscall, native).is_none_or(|e| e.always_runs()),
        };
        if !runs {
            let why = match args {
                Some(a) => new.verdict(syscall, a).json_path.to_string(),
                None => "not every call runs".into(),
            };
            return Err(SuggestError::StillStopped {
                syscall: syscall.clone(),
                why,
            });
        }
    }
    Ok(new)
}
