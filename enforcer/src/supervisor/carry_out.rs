//! Carrying out a call whose decision depends on its path: facts gathered on the receiving
//! thread, then one hand-off to the emulation worker of the caller's root, which resolves,
//! decides on the resolved file, acts with the caller's credentials, answers and logs.

use super::deadline::Slot;
use super::decide::{Receiver, answer_for, deny, finish};
use super::emulate::{Call as Emulated, Gathered, Job, Worker, submit};
use super::facts::{WorkerFacts, read_identity};
use super::notify::{self, Answer};
use super::{Config, Stats};
use crate::policy::Action;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

/// Starts carrying out `call` (on the receiving thread).
pub fn start(call: Emulated, slot: Arc<Slot>, r: &mut Receiver) {
    let fd = r.listener.as_raw_fd();
    let (id, tid) = (slot.call.req.id, slot.call.req.pid);
    let still_valid = move || notify::id_valid(fd, id);
    let container = r.config.container.clone();
    let identity = move |uid: u32| read_identity(tid, uid, container.as_deref(), &still_valid);
    let wants_identity = r
        .config
        .policy
        .may_need_identity(&slot.call.name, &slot.call.req.args);
    let gathered = r.gatherer.gather(
        &call,
        tid,
        &still_valid,
        wants_identity.then_some(&identity as &dyn Fn(u32) -> _),
    );
    let refuse = |slot: &Slot, why: String, errno: i32| {
        if slot.claim() {
            deny(
                fd,
                &slot.call,
                format!("error: {why}"),
                errno,
                &r.config,
                &r.stats,
            );
        }
        r.deadlines.done(slot);
    };
    let gathered = match gathered {
        Ok(g) => g,
        Err(e) => return refuse(&slot, e.why, e.errno),
    };
    let (listener, config, stats, deadlines) = (
        r.listener.clone(),
        r.config.clone(),
        r.stats.clone(),
        r.deadlines.clone(),
    );
    let job_slot = slot.clone();
    let job = Job {
        gathered,
        run: Box::new(move |worker, gathered| {
            run(
                &call, gathered, worker, &job_slot, &listener, &config, &stats,
            );
            deadlines.done(&job_slot);
        }),
    };
    if let Err(why) = submit(job) {
        refuse(&slot, why, libc::EPERM);
    }
}

/// On the worker: decide with the resolved file, act if allowed, answer, log.
fn run(
    call: &Emulated,
    mut gathered: Gathered,
    worker: &mut Worker,
    slot: &Slot,
    listener: &OwnedFd,
    config: &Config,
    stats: &Stats,
) {
    let fd = listener.as_raw_fd();
    let c = &slot.call;
    if let Err(e) = worker.act_as(&gathered.status.creds) {
        if slot.claim() {
            deny(fd, c, format!("error: {e}"), libc::EPERM, config, stats);
        }
        return;
    }
    let mut facts = WorkerFacts::new(call, &mut gathered, worker);
    let decision = config.policy.decide(&c.name, &c.req.args, &mut facts);
    let target = facts.take_target();
    drop(facts);
    // The caller may have been interrupted while we resolved: do nothing for a call that
    // is no longer parked (its restart would be a second call).
    if !notify::id_valid(fd, c.req.id) || !slot.claim() {
        return;
    }
    let mut answer = answer_for(&decision, config);
    // An allow that depends on memory is carried out by us (DESIGN rule 2). An audit-mode
    // would-deny is continued even when the path was read: nothing is enforced in audit
    // mode, so there is no decision a race could turn, and the event still says would-deny.
    if answer == Answer::Continue && decision.used_path && decision.action == Action::Allow {
        answer = match &target {
            Some(t) => match call.act(t, &gathered, worker) {
                0 => Answer::Value(0),
                errno => Answer::Error(errno),
            },
            None => Answer::Error(libc::EPERM),
        };
    }
    finish(
        fd,
        c,
        &decision,
        answer,
        target.map(|t| t.path),
        None,
        config,
        stats,
    );
}
