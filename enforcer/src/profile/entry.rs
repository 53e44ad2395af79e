//! Validation of one `syscalls` entry: names, action, comparisons, includes/excludes.

use super::HANDOFF_SYSCALLS;
use super::arch::Arch;
use super::error::Problem;
use super::model::{Filter, RawArg, RawFilter, RawSyscall, SyscallName, SyscallRule};
use super::names;
use super::types::{Action, ArgCond, CmpOp, KNOWN_CAPS, parse_min_kernel};
use super::validate::{ErrnoFields, Validator};

impl Validator<'_> {
    pub(super) fn entry(&mut self, i: usize, s: RawSyscall) -> Option<SyscallRule> {
        let base = format!("syscalls[{i}]");
        let names = self.names(&base, s.name, s.names.unwrap_or_default());
        let action = match s.action.as_deref().filter(|a| !a.is_empty()) {
            None => {
                self.err(&format!("{base}.action"), Problem::MissingAction);
                None
            }
            Some(name) => self.action(
                name,
                &format!("{base}.action"),
                &base,
                &ErrnoFields {
                    ret: s.errno_ret,
                    ret_field: "errnoRet",
                    name: s.errno.as_deref(),
                    name_field: "errno",
                },
            ),
        };
        if action == Some(Action::Notify) {
            for n in names
                .iter()
                .filter(|n| HANDOFF_SYSCALLS.contains(&n.name.as_str()))
            {
                self.err_at(n.json_path.clone(), Problem::NotifyHandoff(n.name.clone()));
            }
        }
        let args = self.args(&base, s.args.unwrap_or_default());
        let includes = self.filter(&format!("{base}.includes"), s.includes.unwrap_or_default());
        let excludes = self.filter(&format!("{base}.excludes"), s.excludes.unwrap_or_default());
        Some(SyscallRule {
            json_path: self.p(&base),
            names,
            action: action?,
            args: args?,
            comment: s.comment.filter(|c| !c.is_empty()),
            includes,
            excludes,
        })
    }

    fn names(&mut self, base: &str, name: Option<String>, list: Vec<String>) -> Vec<SyscallName> {
        let name = name.filter(|n| !n.is_empty());
        let candidates: Vec<(String, String)> = match name {
            Some(n) if list.is_empty() => vec![(n, format!("{base}.name"))],
            Some(_) => {
                self.err(base, Problem::NameAndNames);
                return Vec::new();
            }
            None => (list.into_iter().enumerate())
                .map(|(j, n)| (n, format!("{base}.names[{j}]")))
                .collect(),
        };
        if candidates.is_empty() {
            self.err(&format!("{base}.names"), Problem::NoNames);
        }
        let mut out = Vec::new();
        for (n, rel) in candidates {
            if n.is_empty() {
                self.err(&rel, Problem::EmptySyscallName);
            } else if !names::is_known(&n) {
                if self.opts.allow_unknown_syscalls {
                    self.warn(&rel, format!("unknown syscall {n:?} skipped"));
                } else {
                    self.err(&rel, Problem::UnknownSyscall(n));
                }
            } else {
                out.push(SyscallName {
                    name: n,
                    json_path: self.p(&rel),
                });
            }
        }
        out
    }

    fn args(&mut self, base: &str, raw: Vec<RawArg>) -> Option<Vec<ArgCond>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (k, a) in raw.into_iter().enumerate() {
            let at = format!("{base}.args[{k}]");
            let index = u8::try_from(a.index).ok().filter(|i| *i <= 5);
            if index.is_none() {
                self.err(&format!("{at}.index"), Problem::ArgIndex(a.index));
            }
            let op = CmpOp::from_scmp_name(&a.op);
            if op.is_none() {
                self.err(&format!("{at}.op"), Problem::UnknownOp(a.op.clone()));
            }
            match (index, op) {
                (Some(index), Some(op)) => {
                    if op != CmpOp::MaskedEq && a.value_two != 0 {
                        let message = format!("valueTwo is ignored by {}", op.scmp_name());
                        self.warn(&format!("{at}.valueTwo"), message);
                    }
                    out.push(ArgCond {
                        index,
                        op,
                        value: a.value,
                        value_two: a.value_two,
                    });
                }
                _ => ok = false,
            }
        }
        let repeated =
            (out.iter().enumerate()).find(|(i, a)| out[..*i].iter().any(|b| b.index == a.index));
        if let Some((_, a)) = repeated
            && out.iter().any(|b| b.index != a.index)
        {
            self.err(
                &format!("{base}.args"),
                Problem::MixedRepeatedArgs { index: a.index },
            );
            ok = false;
        }
        ok.then_some(out)
    }

    fn filter(&mut self, rel: &str, raw: RawFilter) -> Filter {
        let caps = raw.caps.unwrap_or_default();
        for (k, cap) in caps.iter().enumerate() {
            if !KNOWN_CAPS.contains(&cap.as_str()) {
                self.err(
                    &format!("{rel}.caps[{k}]"),
                    Problem::UnknownCapability(cap.clone()),
                );
            }
        }
        let arches = raw.arches.unwrap_or_default();
        for (k, arch) in arches.iter().enumerate() {
            if !Arch::is_docker_name(arch) {
                let hint = match arch.as_str() {
                    "386" | "i386" | "i686" => " (Docker calls it \"x86\")".to_string(),
                    "x86_64" => " (Docker calls it \"amd64\")".to_string(),
                    "aarch64" => " (Docker calls it \"arm64\")".to_string(),
                    _ => " (Docker's names: amd64, x86, x32, arm64, arm, ppc64le, s390x, riscv64, ...)"
                        .to_string(),
                };
                let problem = Problem::UnknownDockerArch {
                    name: arch.clone(),
                    hint,
                };
                self.err(&format!("{rel}.arches[{k}]"), problem);
            }
        }
        let text = raw.min_kernel.unwrap_or_default();
        let min_kernel = parse_min_kernel(&text).unwrap_or_else(|()| {
            self.err(
                &format!("{rel}.minKernel"),
                Problem::KernelVersion(text.clone()),
            );
            None
        });
        Filter {
            caps,
            arches,
            min_kernel,
        }
    }
}
