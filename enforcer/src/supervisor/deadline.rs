//! The decision deadline without a timer per call: each call that leaves the receiving
//! thread is tracked in a table, and one watchdog thread per listener denies the ones still
//! unanswered when their time is up. Whoever claims a call first answers it: a worker claims
//! it before acting, so nothing is carried out after the deadline answered.

use super::InFlight;
use super::decide::Call;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PENDING: u8 = 0;
const CLAIMED: u8 = 1;

/// One call being decided away from the receiving thread.
pub struct Slot {
    pub call: Call,
    state: AtomicU8,
    /// Keeps `serve` waiting until the call is answered.
    in_flight: Mutex<Option<InFlight>>,
}

impl Slot {
    pub fn new(call: Call, in_flight: InFlight) -> Self {
        Self {
            call,
            state: AtomicU8::new(PENDING),
            in_flight: Mutex::new(Some(in_flight)),
        }
    }

    /// Takes the right to answer; false if the deadline (or anyone) took it first.
    pub fn claim(&self) -> bool {
        self.state
            .compare_exchange(PENDING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The call is answered and logged.
    fn release(&self) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

/// The table of calls under way, and its watchdog.
pub struct Deadlines {
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    deadline: Duration,
    stop: AtomicBool,
}

impl Deadlines {
    /// Starts the watchdog; `expire` answers a call whose deadline passed (after it was
    /// claimed for that).
    pub fn start(
        deadline: Duration,
        expire: impl Fn(&Slot) + Send + 'static,
    ) -> std::io::Result<Arc<Self>> {
        let this = Arc::new(Self {
            slots: Mutex::new(HashMap::new()),
            deadline,
            stop: AtomicBool::new(false),
        });
        let watched = this.clone();
        // Precision: a tenth of the deadline, at most 100 ms.
        let tick = (deadline / 10).clamp(Duration::from_millis(1), Duration::from_millis(100));
        std::thread::Builder::new()
            .name("notify-deadline".into())
            .spawn(move || {
                while !watched.stop.load(Ordering::Acquire) {
                    std::thread::sleep(tick);
                    for slot in watched.expired() {
                        if slot.claim() {
                            expire(&slot);
                        }
                        slot.release();
                    }
                }
            })?;
        Ok(this)
    }

    fn expired(&self) -> Vec<Arc<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let late: Vec<u64> = slots
            .iter()
            .filter(|(_, s)| s.call.started.elapsed() >= self.deadline)
            .map(|(id, _)| *id)
            .collect();
        late.iter().filter_map(|id| slots.remove(id)).collect()
    }

    pub fn track(&self, slot: Arc<Slot>) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(slot.call.req.id, slot);
    }

    /// `slot` was answered (by its claimer) and logged.
    pub fn done(&self, slot: &Slot) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&slot.call.req.id);
        slot.release();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}
