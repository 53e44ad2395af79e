//! From the raw JSON model to a typed [`Profile`], reporting every problem with its JSON path.
//! Nothing here depends on the host: that is resolution's job.

use super::arch::Arch;
use super::error::{Problem, ProfileError, Warning};
use super::load::{LoadOptions, Loaded, join_path};
use super::model::{ArchMapEntry, Profile, RawArchMap, RawProfile, SyscallRule};
use super::types::{Action, Flag, LIBSECCOMP_MAX_ERRNO, parse_errno};
use std::path::Path;

pub(crate) fn validate(
    raw: RawProfile,
    file: &Path,
    root: &str,
    opts: &LoadOptions,
) -> Result<Loaded, ProfileError> {
    let mut v = Validator {
        file,
        root,
        opts,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let profile = v.profile(raw);
    match (profile, v.errors.len()) {
        (Some(profile), 0) => Ok(Loaded {
            profile,
            warnings: v.warnings,
        }),
        (_, 1) => Err(v.errors.remove(0)),
        _ => Err(ProfileError::Several(v.errors)),
    }
}

pub(super) struct Validator<'a> {
    file: &'a Path,
    root: &'a str,
    pub(super) opts: &'a LoadOptions,
    errors: Vec<ProfileError>,
    warnings: Vec<Warning>,
}

/// Which fields carry the errno of an action: (number field, Podman's name field).
pub(super) struct ErrnoFields<'a> {
    pub(super) ret: Option<u64>,
    pub(super) ret_field: &'static str,
    pub(super) name: Option<&'a str>,
    pub(super) name_field: &'static str,
}

impl Validator<'_> {
    /// Absolute JSON path of `rel` (relative to the profile object).
    pub(super) fn p(&self, rel: &str) -> String {
        join_path(self.root, rel)
    }

    pub(super) fn err(&mut self, rel: &str, problem: Problem) {
        let json_path = self.p(rel);
        self.err_at(json_path, problem);
    }

    pub(super) fn err_at(&mut self, json_path: String, problem: Problem) {
        self.errors.push(ProfileError::Invalid {
            file: self.file.to_path_buf(),
            json_path,
            problem,
        });
    }

    pub(super) fn warn(&mut self, rel: &str, message: String) {
        self.warnings.push(Warning {
            file: self.file.to_path_buf(),
            json_path: self.p(rel),
            message,
        });
    }

    fn profile(&mut self, raw: RawProfile) -> Option<Profile> {
        let syscalls = raw.syscalls.unwrap_or_default();
        let default_name = raw.default_action.filter(|a| !a.is_empty());
        let default_action = match &default_name {
            // Docker reads "no defaultAction and no syscalls" as "seccomp disabled".
            None if syscalls.is_empty() => {
                self.err("", Problem::Empty);
                None
            }
            None => {
                self.err("defaultAction", Problem::MissingDefaultAction);
                None
            }
            Some(name) => self.action(
                name,
                "defaultAction",
                "",
                &ErrnoFields {
                    ret: raw.default_errno_ret,
                    ret_field: "defaultErrnoRet",
                    name: raw.default_errno.as_deref(),
                    name_field: "defaultErrno",
                },
            ),
        };
        if default_action == Some(Action::Notify) {
            self.err("defaultAction", Problem::NotifyDefault);
        }
        let default_errno = match default_action {
            Some(Action::Errno(e) | Action::Trace(e))
                if raw.default_errno_ret.is_some() || raw.default_errno.is_some() =>
            {
                Some(e)
            }
            _ => None,
        };

        let architectures: Vec<Arch> = (raw.architectures.as_deref().unwrap_or_default().iter())
            .enumerate()
            .filter_map(|(i, a)| self.arch(a, &format!("architectures[{i}]")))
            .collect();
        let arch_map = self.arch_map(raw.arch_map.as_deref().unwrap_or_default());
        if !raw.architectures.unwrap_or_default().is_empty()
            && !raw.arch_map.unwrap_or_default().is_empty()
        {
            self.err("archMap", Problem::ArchitecturesAndArchMap);
        }
        let flags = (raw.flags.unwrap_or_default().iter().enumerate())
            .filter_map(|(i, f)| {
                let flag = Flag::from_name(f);
                if flag.is_none() {
                    self.err(&format!("flags[{i}]"), Problem::UnknownFlag(f.clone()));
                }
                flag
            })
            .collect();
        let rules: Vec<SyscallRule> = (syscalls.into_iter().enumerate())
            .filter_map(|(i, s)| self.entry(i, s))
            .collect();
        let listener_path = raw.listener_path.filter(|s| !s.is_empty());
        if listener_path.is_none()
            && raw
                .listener_metadata
                .as_deref()
                .is_some_and(|m| !m.is_empty())
        {
            self.err("listenerMetadata", Problem::MetadataWithoutListener);
        }
        self.notify_delivery(&rules, listener_path.is_some());
        Some(Profile {
            origin: self.file.to_path_buf(),
            root_path: self.root.to_string(),
            default_action: default_action?,
            default_errno,
            architectures,
            arch_map,
            flags,
            listener_path,
            listener_metadata: raw.listener_metadata.filter(|s| !s.is_empty()),
            syscalls: rules,
        })
    }

    /// In an OCI config, the runtime delivers notifications to the agent at listenerPath
    /// (runc refuses NOTIFY without one); `enforcer run` delivers them itself.
    fn notify_delivery(&mut self, rules: &[SyscallRule], has_listener: bool) {
        let is_oci = self.root != "$";
        if let Some(rule) = rules.iter().find(|r| r.action == Action::Notify)
            && is_oci
            && !has_listener
        {
            let at = rule.names.first().map_or(&rule.json_path, |n| &n.json_path);
            let problem = Problem::NotifyWithoutListener { rule: at.clone() };
            self.err("listenerPath", problem);
        }
    }

    fn arch(&mut self, name: &str, rel: &str) -> Option<Arch> {
        let arch = Arch::from_scmp_name(name);
        if arch.is_none() {
            self.err(rel, Problem::UnknownArch(name.to_string()));
        }
        arch
    }

    fn arch_map(&mut self, raw: &[RawArchMap]) -> Vec<ArchMapEntry> {
        let mut out = Vec::new();
        for (i, entry) in raw.iter().enumerate() {
            let architecture =
                self.arch(&entry.architecture, &format!("archMap[{i}].architecture"));
            let subs = entry.sub_architectures.as_deref().unwrap_or_default();
            let sub_architectures = (subs.iter().enumerate())
                .filter_map(|(j, a)| self.arch(a, &format!("archMap[{i}].subArchitectures[{j}]")))
                .collect();
            if let Some(architecture) = architecture {
                out.push(ArchMapEntry {
                    architecture,
                    sub_architectures,
                });
            }
        }
        out
    }

    /// Parses an action with its errno; `at` is the action's field, `base` its object.
    pub(super) fn action(
        &mut self,
        name: &str,
        at: &str,
        base: &str,
        errno: &ErrnoFields,
    ) -> Option<Action> {
        let field = |f: &str| {
            if base.is_empty() {
                f.to_string()
            } else {
                format!("{base}.{f}")
            }
        };
        // Podman: an errno name (or decimal string) wins over the number.
        let by_name = errno.name.filter(|n| !n.is_empty()).and_then(|n| {
            let parsed = parse_errno(n);
            if parsed.is_none() {
                self.err(
                    &field(errno.name_field),
                    Problem::UnknownErrno(n.to_string()),
                );
            }
            parsed.map(u64::from)
        });
        if let (Some(n), Some(r)) = (by_name, errno.ret)
            && n != r
        {
            let message = format!(
                "{} {} and {} {r} disagree; {} wins, as in Podman",
                errno.name_field, n, errno.ret_field, errno.name_field
            );
            self.warn(&field(errno.ret_field), message);
        }
        let data = by_name.or(errno.ret);
        let Some(kind) = Action::parse(name, None) else {
            self.err(at, Problem::UnknownAction(name.to_string()));
            return None;
        };
        if let Some(value) = data {
            let given = if by_name.is_some() {
                errno.name_field
            } else {
                errno.ret_field
            };
            if !Action::name_takes_data(name) {
                let action = kind.scmp_name().to_string();
                self.err(
                    &field(given),
                    Problem::ErrnoNotAllowed {
                        field: given,
                        action,
                    },
                );
                return None;
            }
            if value > 0xffff {
                self.err(&field(given), Problem::ErrnoRange(value));
                return None;
            }
            if matches!(kind, Action::Errno(_)) && value > u64::from(LIBSECCOMP_MAX_ERRNO) {
                let message = format!(
                    "errno {value} is compiled as {LIBSECCOMP_MAX_ERRNO}: libseccomp takes no \
                     more and the kernel would cap it at 4095 anyway"
                );
                self.warn(&field(given), message);
            }
        }
        Action::parse(name, data.map(|d| d as u32))
    }
}
