//! Fields the profile model does not know. Docker (Go's encoding/json) ignores them, and so do
//! we, so Docker's inputs stay accepted; but a misspelt field (`valuetwo`, `errnoret`,
//! `include`) silently changes what a rule matches, so each one is a warning naming the field
//! and the fields that place knows (an error with `--strict`).

use serde_json::Value;

/// Docker's fields (moby's `Seccomp`, runtime-spec's `LinuxSeccomp`) and Podman's
/// `defaultErrno`.
const PROFILE: &[&str] = &[
    "defaultAction",
    "defaultErrnoRet",
    "defaultErrno",
    "architectures",
    "archMap",
    "syscalls",
    "flags",
    "listenerPath",
    "listenerMetadata",
];
/// moby's `Syscall` (runtime-spec's `LinuxSyscall` plus name, comment, includes, excludes),
/// and Podman's `errno`.
const SYSCALL: &[&str] = &[
    "name", "names", "action", "errnoRet", "errno", "args", "comment", "includes", "excludes",
];
const ARG: &[&str] = &["index", "value", "valueTwo", "op"];
const FILTER: &[&str] = &["caps", "arches", "minKernel"];
const ARCH_MAP: &[&str] = &["architecture", "subArchitectures"];

/// (JSON path, message) for every unknown field of the profile object `value` at `root`.
pub(crate) fn unknown_fields(value: &Value, root: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    check(value, root, PROFILE, "a profile", &mut out);
    let items = |field: &str| {
        (value.get(field).and_then(Value::as_array).into_iter())
            .flatten()
            .enumerate()
    };
    for (i, entry) in items("archMap") {
        let at = format!("{root}.archMap[{i}]");
        check(entry, &at, ARCH_MAP, "an archMap entry", &mut out);
    }
    for (i, entry) in items("syscalls") {
        let at = format!("{root}.syscalls[{i}]");
        check(entry, &at, SYSCALL, "a syscall entry", &mut out);
        for filter in ["includes", "excludes"] {
            if let Some(f) = entry.get(filter) {
                check(f, &format!("{at}.{filter}"), FILTER, filter, &mut out);
            }
        }
        let args = entry.get("args").and_then(Value::as_array);
        for (k, arg) in args.into_iter().flatten().enumerate() {
            check(
                arg,
                &format!("{at}.args[{k}]"),
                ARG,
                "an args entry",
                &mut out,
            );
        }
    }
    out
}

fn check(value: &Value, at: &str, known: &[&str], what: &str, out: &mut Vec<(String, String)>) {
    let Some(object) = value.as_object() else {
        return; // a type error, which reading reports
    };
    for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
        out.push((
            format!("{at}.{key}"),
            format!(
                "unknown field {key:?}, ignored as Docker ignores it; {what} has these fields: {}",
                known.join(", ")
            ),
        ));
    }
}
