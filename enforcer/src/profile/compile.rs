//! Compilation of a [`ResolvedProfile`] to a classic-BPF seccomp program with libseccomp
//! 2.5.4, ready for a raw seccomp(2) call after fork (no allocation needed there).
//!
//! libseccomp resolves names with tables older than the syscalls current profiles name, and
//! it only takes raw numbers for its native arch: for any other arch it translates the native
//! number by name. So one single-arch filter is built per architecture and they are merged:
//! - native arch: every number added exactly (libseccomp's, else the `syscalls` crate's);
//! - other arches: libseccomp's native number, translated by libseccomp (non-exact add, as
//!   runc does, so that i386 socket calls get libseccomp's socketcall handling);
//! - other arches, names libseccomp does not know: a BPF stub in front of the program for
//!   unconditional rules; a conditional one is an error (never a silent skip).
//!
//! In front of everything, runc's ENOSYS stub for syscalls newer than the profile (enosys.rs).

use super::HANDOFF_SYSCALLS;
use super::arch::Arch;
use super::bpf::{self, StubRule};
use super::error::{Problem, ProfileError};
use super::names::{Plan, plan};
use super::resolve::{ResolvedProfile, ResolvedRule};
use super::types::{Action, ArgCond, Flag};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpFilterContext, ScmpSyscall};
use std::fmt;
use std::io::{Read, Seek, SeekFrom};

/// A program for `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`.
#[derive(Clone)]
pub struct CompiledFilter {
    pub program: Vec<libc::sock_filter>,
    /// SECCOMP_FILTER_FLAG_* from the profile. TSYNC is left out, as runc leaves it: the
    /// launcher installs the filter in a single-threaded child, and the kernel refuses TSYNC
    /// together with NEW_LISTENER. NEW_LISTENER is the launcher's, when `notify` is set.
    pub flags: u32,
    /// Some rule is SCMP_ACT_NOTIFY: install with SECCOMP_FILTER_FLAG_NEW_LISTENER.
    pub notify: bool,
}

impl fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("notify", &self.notify)
            .finish()
    }
}

/// runc's threshold for libseccomp's binary-tree optimization (level 2).
const OPTIMIZE_ABOVE: usize = 32;

impl ResolvedProfile {
    pub fn compile(&self) -> Result<CompiledFilter, ProfileError> {
        self.check_notify()?;
        let native = Arch::native();
        let mut stub = Vec::new();
        let mut merged: Option<ScmpFilterContext> = None;
        let mut every_arch_has_rules = true;
        for &arch in &self.arches {
            let (ctx, added) = self.arch_filter(arch, native, &mut stub)?;
            every_arch_has_rules &= added > 0;
            match merged.as_mut() {
                None => merged = Some(ctx),
                Some(dst) => {
                    dst.merge(ctx)
                        .map_err(|e| self.filter_error(format!("merge {arch}: {e}")))?;
                }
            }
        }
        let mut ctx = merged.ok_or_else(|| self.filter_error("no architecture".to_string()))?;
        // libseccomp <= 2.5.4 builds a broken tree for an arch without rules (runc's note).
        if self.rules.len() > OPTIMIZE_ABOVE && every_arch_has_rules {
            ctx.set_ctl_optimize(2)
                .map_err(|e| self.filter_error(format!("set optimize level 2: {e}")))?;
        }
        let mut program = bpf::enosys_stub(&self.enosys_blocks());
        program.extend(bpf::stub(&stub));
        program.extend(self.export(&ctx)?);
        if program.len() > bpf::MAX_INSNS {
            return Err(self.filter_error(format!(
                "the program has {} instructions; the kernel takes at most {}",
                program.len(),
                bpf::MAX_INSNS
            )));
        }
        let flags = (self.flags.iter())
            .filter(|f| **f != Flag::Tsync)
            .fold(0, |bits, f| bits | f.bits());
        let notify = self.has_notify();
        if self.flags.contains(&Flag::WaitKillableRecv) && !notify {
            return Err(self.filter_error(
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule".to_string(),
            ));
        }
        Ok(CompiledFilter {
            program,
            flags,
            notify,
        })
    }

    /// Validation refuses these in profiles already; the overlay and public fields could bring
    /// them back. A NOTIFY default is safe only when every hand-off call has an unconditional
    /// rule of another action (audit mode's filter does that).
    fn check_notify(&self) -> Result<(), ProfileError> {
        let invalid = |json_path: &str, problem| ProfileError::Invalid {
            file: self.origin.clone(),
            json_path: json_path.to_string(),
            problem,
        };
        let decided = |syscall: &str| {
            self.rules_for(syscall)
                .any(|r| r.conditions.is_empty() && r.action != Action::Notify)
        };
        if self.default_action == Action::Notify && !HANDOFF_SYSCALLS.iter().all(|s| decided(s)) {
            return Err(invalid(
                &self.field_path("defaultAction"),
                Problem::NotifyDefault,
            ));
        }
        let handoff = (self.rules.iter())
            .find(|r| r.action == Action::Notify && HANDOFF_SYSCALLS.contains(&r.syscall.as_str()));
        match handoff {
            Some(r) => Err(invalid(
                &r.json_path,
                Problem::NotifyHandoff(r.syscall.clone()),
            )),
            None => Ok(()),
        }
    }

    /// The filter of one arch, and how many rules went into it.
    fn arch_filter(
        &self,
        arch: Arch,
        native: Arch,
        stub: &mut Vec<StubRule>,
    ) -> Result<(ScmpFilterContext, usize), ProfileError> {
        let setup = |e: libseccomp::error::SeccompError| self.filter_error(format!("{arch}: {e}"));
        let mut ctx = ScmpFilterContext::new(self.default_action.to_libseccomp()).map_err(setup)?;
        // DESIGN safety rule 3: calls of an ABI the filter does not map kill the process.
        ctx.set_act_badarch(ScmpAction::KillProcess)
            .map_err(setup)?;
        // The launcher sets no_new_privs itself (or does not need it, as root).
        ctx.set_ctl_nnp(false).map_err(setup)?;
        if arch != native {
            ctx.add_arch(arch.to_libseccomp()).map_err(setup)?;
            ctx.remove_arch(ScmpArch::Native).map_err(setup)?;
        }
        let mut added = 0;
        let audit_arch = arch.audit_arch();
        // runc skips rules equal to the default action (libseccomp refuses them: EACCES).
        for rule in self
            .rules
            .iter()
            .filter(|r| r.action != self.default_action)
        {
            let action = rule.action.to_libseccomp();
            let conds: Vec<ScmpArgCompare> = rule
                .conditions
                .iter()
                .map(|c| ArgCond::to_libseccomp(*c))
                .collect();
            let result = match plan(&rule.syscall, arch, native) {
                Plan::Exact(nr) => ctx
                    .add_rule_conditional_exact(action, ScmpSyscall::from(nr), &conds)
                    .map(|_| ()),
                Plan::Translate(nr) => ctx
                    .add_rule_conditional(action, ScmpSyscall::from(nr), &conds)
                    .map(|_| ()),
                Plan::Stub(nr) => match audit_arch.filter(|_| rule.conditions.is_empty()) {
                    Some(audit_arch) => {
                        stub.push(StubRule {
                            audit_arch,
                            // Syscall numbers are non-negative; the kernel compares 32 bits.
                            nr: nr as u32,
                            ret: rule.action.seccomp_ret(),
                        });
                        Ok(())
                    }
                    None => {
                        let message = "libseccomp 2.5.4 does not know this syscall, so it cannot \
                                       filter it here; our stub takes unconditional rules on \
                                       x86, x32, x86_64, arm and aarch64 only";
                        return Err(self.rule_error(rule, arch, message.to_string()));
                    }
                },
                Plan::Absent => continue,
            };
            result.map_err(|e| self.rule_error(rule, arch, format!("libseccomp: {e}")))?;
            added += 1;
        }
        Ok((ctx, added))
    }

    /// seccomp_export_bpf into a memfd (no pipe: a large program would fill it and block).
    fn export(&self, ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, ProfileError> {
        use nix::sys::memfd::{MemFdCreateFlag, memfd_create};
        let io = |what: &str, e: &dyn fmt::Display| self.filter_error(format!("{what}: {e}"));
        let fd = memfd_create(c"enforcer-seccomp-bpf", MemFdCreateFlag::MFD_CLOEXEC)
            .map_err(|e| io("memfd_create", &e))?;
        let mut file = std::fs::File::from(fd);
        ctx.export_bpf(&file)
            .map_err(|e| io("seccomp_export_bpf", &e))?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| io("reading the exported program", &e))?;
        bpf::parse_program(&bytes).map_err(|e| self.filter_error(e))
    }

    fn filter_error(&self, message: String) -> ProfileError {
        ProfileError::Filter {
            file: self.origin.clone(),
            message,
        }
    }

    fn rule_error(&self, rule: &ResolvedRule, arch: Arch, message: String) -> ProfileError {
        ProfileError::Compile {
            file: self.origin.clone(),
            json_path: rule.json_path.clone(),
            syscall: rule.syscall.clone(),
            arch,
            message,
        }
    }
}
