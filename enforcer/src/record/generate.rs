//! A Docker-format profile from a recording: everything refused with EPERM by default, the
//! recorded syscalls of the native architecture allowed, the argument-aware ones only with the
//! argument values recorded, and the recording itself kept under `x-enforcer-recording`.

use super::args::{MAX_VALUES, Narrowing, arg_rule, enosys_rule, is_enosys_alias};
use super::recording::{ANNOTATION, Recording};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// errno of the default action: EPERM, as Docker's default profile.
const DEFAULT_ERRNO: u32 = 1;
const LOW_32: u64 = 0xffff_ffff;

pub fn profile(rec: &Recording) -> Value {
    let mut plain: Vec<&str> = Vec::new();
    let mut narrowed: Vec<Value> = Vec::new();
    for name in rec.syscalls.keys().filter(|n| !is_enosys_alias(n)) {
        match narrowed_rule(name, rec) {
            Some(rule) => narrowed.push(rule),
            None => plain.push(name),
        }
    }
    let mut syscalls = vec![json!({
        "names": plain,
        "action": "SCMP_ACT_ALLOW",
        "comment": format!("recorded by enforcer record ({} run(s))", rec.runs),
    })];
    syscalls.extend(narrowed);
    syscalls.push(enosys_rule());
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": DEFAULT_ERRNO,
        "architectures": [rec.arch],
        "syscalls": syscalls,
        ANNOTATION: rec,
    })
}

/// The rule of an argument-aware syscall whose values are all known, when it is narrower than
/// allowing the name.
fn narrowed_rule(name: &str, rec: &Recording) -> Option<Value> {
    if rec.incomplete.contains(name) {
        return None;
    }
    rule_for_values(name, rec.args.get(name)?)
}

/// The entry that allows argument-aware syscall `name` for the argument values seen only (as
/// `record` writes it, `profile suggest` too), when that is narrower than allowing the name.
pub fn rule_for_values(name: &str, values: &BTreeSet<u64>) -> Option<Value> {
    let rule = arg_rule(name)?;
    let index = rule.index;
    let (args, comment) = match rule.narrowing {
        Narrowing::OneOf => {
            let low: BTreeSet<u64> = values.iter().map(|v| v & LOW_32).collect();
            if low.is_empty() || low.len() > MAX_VALUES {
                return None;
            }
            let args: Vec<Value> = low
                .iter()
                .map(|v| {
                    json!({"index": index, "value": LOW_32, "valueTwo": v, "op": "SCMP_CMP_MASKED_EQ"})
                })
                .collect();
            let list: Vec<String> = low.iter().map(|v| format!("{v:#x}")).collect();
            (
                args,
                format!(
                    "{name}: argument {index} one of {} (recorded)",
                    list.join(", ")
                ),
            )
        }
        Narrowing::BitsWithin { width } => {
            let all = if width >= 64 {
                u64::MAX
            } else {
                (1u64 << width) - 1
            };
            let seen = values.iter().fold(0u64, |acc, v| acc | v) & all;
            let outside = !seen & all;
            if outside == 0 {
                return None;
            }
            (
                vec![
                    json!({"index": index, "value": outside, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}),
                ],
                format!("{name}: argument {index} has no bit outside {seen:#x} (recorded)"),
            )
        }
    };
    Some(json!({
        "names": [name],
        "action": "SCMP_ACT_ALLOW",
        "args": args,
        "comment": comment,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{self, LoadOptions, ResolveContext};
    use std::collections::BTreeMap;
    use std::path::Path;

    fn recording() -> Recording {
        Recording {
            version: 1,
            arch: profile::native_arch().scmp_name().to_owned(),
            runs: 1,
            syscalls: BTreeMap::from([
                ("read".to_owned(), 3),
                ("socket".to_owned(), 2),
                ("clone".to_owned(), 1),
                ("fchmodat".to_owned(), 1),
                ("prctl".to_owned(), 1),
            ]),
            args: BTreeMap::from([
                (
                    "socket".to_owned(),
                    BTreeSet::from([1, 0xffff_ffff_0000_0002]),
                ),
                ("clone".to_owned(), BTreeSet::from([0x1200011])),
                ("fchmodat".to_owned(), BTreeSet::from([0o644, 0o755])),
            ]),
            incomplete: BTreeSet::from(["prctl".to_owned()]),
            ..Default::default()
        }
    }

    #[test]
    fn narrow_rules_for_argument_aware_syscalls() {
        let p = profile(&recording());
        let rules = p["syscalls"].as_array().unwrap();
        let names: Vec<&str> = rules[0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        // prctl's values are incomplete: allowed by name.
        assert_eq!(names, ["prctl", "read"]);
        let rule_of = |n: &str| rules.iter().find(|r| r["names"][0] == n).unwrap();
        let socket = &rule_of("socket")["args"];
        assert_eq!(socket.as_array().unwrap().len(), 2);
        assert_eq!(socket[1]["valueTwo"], 2);
        assert_eq!(socket[1]["value"], 0xffff_ffffu64);
        assert_eq!(rule_of("clone")["args"][0]["value"], !0x1200011u64);
        assert_eq!(
            rule_of("fchmodat")["args"][0]["value"],
            0xffff_ffffu64 & !0o755
        );
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["defaultErrnoRet"], 1);
        assert_eq!(p[ANNOTATION]["syscalls"]["read"], 3);
    }

    /// What `enforcer profile check` and `run --profile` do with it: load, resolve, compile.
    #[test]
    fn the_generated_profile_loads_and_compiles() {
        let text = serde_json::to_string_pretty(&profile(&recording())).unwrap();
        let loaded = profile::parse_str(&text, Path::new("recorded.json"), &LoadOptions::default())
            .expect("loads");
        let resolved = loaded
            .profile
            .resolve(&ResolveContext::from_system())
            .expect("resolves");
        resolved.compile().expect("compiles");
    }
}
