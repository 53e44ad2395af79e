//! The precedence rules for several rules of one syscall; see the notes at the top of
//! resolve.rs for what libseccomp does and why these rules were chosen.

use super::conditions::may_overlap;
use super::error::{ConflictKind, ProfileError, Warning};
use super::resolve::ResolvedRule;
use super::types::Action;
use std::collections::BTreeMap;
use std::path::Path;

/// Keeps the rules that count, in order, or reports the first conflict.
pub(crate) fn apply(
    rules: Vec<ResolvedRule>,
    default: Action,
    file: &Path,
) -> Result<(Vec<ResolvedRule>, Vec<Warning>), ProfileError> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        by_name.entry(&rule.syscall).or_default().push(i);
    }
    let mut keep = vec![true; rules.len()];
    let mut warnings = Vec::new();
    let conflict = |first: &ResolvedRule, second: &ResolvedRule, reason| ProfileError::Conflict {
        file: file.to_path_buf(),
        syscall: first.syscall.clone(),
        first_path: first.json_path.clone(),
        first_action: first.action,
        second_path: second.json_path.clone(),
        second_action: second.action,
        reason,
    };

    for indices in by_name.values() {
        let (unconditional, conditional): (Vec<usize>, Vec<usize>) = indices
            .iter()
            .partition(|&&i| rules[i].conditions.is_empty());

        // Rules 1 and 2: the first unconditional rule that is not the default action wins.
        let winner = (unconditional.iter().copied())
            .find(|&i| rules[i].action != default)
            .or_else(|| unconditional.first().copied());
        if let Some(w) = winner {
            let won = &rules[w];
            for &u in unconditional.iter().filter(|&&u| u != w) {
                keep[u] = false;
                if rules[u].action != won.action {
                    warnings.push(Warning {
                        file: file.to_path_buf(),
                        json_path: rules[u].json_path.clone(),
                        message: format!(
                            "{} for {:?} is ignored: {} ({}) wins, as libseccomp keeps the \
                             first unconditional rule (after runc skips rules equal to the \
                             default action)",
                            rules[u].action, won.syscall, won.json_path, won.action
                        ),
                    });
                }
            }
            // Rules 3 and 4.
            for &c in &conditional {
                if rules[c].action == won.action {
                    keep[c] = false;
                } else if won.action != default {
                    let (a, b) = if w < c {
                        (won, &rules[c])
                    } else {
                        (&rules[c], won)
                    };
                    return Err(conflict(a, b, ConflictKind::ShadowedConditional));
                }
            }
        }

        // Rule 5.
        let live: Vec<usize> = conditional.into_iter().filter(|&i| keep[i]).collect();
        for (n, &i) in live.iter().enumerate() {
            for &j in &live[n + 1..] {
                if !keep[i] || !keep[j] {
                    continue;
                }
                let (a, b) = (&rules[i], &rules[j]);
                if a.conditions == b.conditions {
                    if a.action != b.action {
                        return Err(conflict(a, b, ConflictKind::SameConditions));
                    }
                    keep[j] = false;
                } else if a.action != b.action && may_overlap(&a.conditions, &b.conditions) {
                    return Err(conflict(a, b, ConflictKind::Overlapping));
                }
            }
        }
    }

    let kept = (rules.into_iter().zip(keep))
        .filter_map(|(rule, keep)| keep.then_some(rule))
        .collect();
    Ok((kept, warnings))
}
