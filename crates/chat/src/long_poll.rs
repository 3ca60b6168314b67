//! Long-polls (`wait`, contract "Real time"). A request whose answer would say nothing new (an
//! empty page, or a 304 for its `If-None-Match`) is *held* with a [`Watch`]: its room's latest
//! change position, read in the same statement as its page. The flavor's glue sleeps, and every
//! [`POLL_INTERVAL`] reads the room's latest change again (one indexed read); once it has moved,
//! through any replica, or the wait has ended, the request is answered again from the start, as
//! it would have been without `wait`. Nothing is shared between replicas but the store.
//!
//! Handlers and store work stay synchronous: each pass is one ordinary run of
//! [`crate::http::Routes::answer`], and the glue waits between them. WASIp2: in its own instance,
//! which serves this request alone, sleeping and reading its room's position every interval
//! ([`worth_another_pass`]). WASIp3: on the async clock, so the instance serves other requests
//! meanwhile; one ticker per instance reads each watched room once per interval for all its
//! waiters (`serve::ticker`).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::db::SpinDatabase;
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::repositories::changes::ChangeFeedRepository;
use crate::request::Query;
use crate::response::HttpResponse;

/// The longest `wait`, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 30;

/// How often a held request's room is looked at. A change reaches a waiter within about this much
/// (plus a pass); a WASIp2 waiter costs the store one indexed read per interval, a WASIp3
/// instance one per watched room (the trade-off is measured in `docs/performance.md`).
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A request's `wait`: 0-30 seconds, 0 (answer at once) when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wait(u32);

impl Wait {
    pub fn from_query(query: &Query) -> Result<Wait, ApiError> {
        Ok(Wait(query.integer_in("wait", 0..=MAX_WAIT_SECONDS, 0)?))
    }

    pub fn seconds(self) -> u32 {
        self.0
    }
}

/// What a held request waits for: its room's latest change position to pass `seen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    pub room: RoomId,
    pub seen: i64,
    pub wait: Wait,
}

/// What the glue does with a request after one pass through the routes.
#[derive(Debug)]
pub enum Attempt {
    Answered(HttpResponse),
    /// Held: sleep ([`Attempts::pause`]), then pass again once [`worth_another_pass`].
    Held,
}

/// A request's passes through the routes so far, kept on the request between them.
#[derive(Debug, Default)]
pub struct Attempts {
    received: Received,
    count: Cell<u32>,
    statements: Cell<u32>,
    held: Cell<Option<(Watch, Instant)>>,
}

/// When the request reached the component.
#[derive(Debug)]
struct Received(Instant);

impl Default for Received {
    fn default() -> Self {
        Received(Instant::now())
    }
}

impl Attempts {
    /// When the request reached the component (its duration and its wait run from here).
    pub fn received(&self) -> Instant {
        self.received.0
    }

    /// Starts a pass: not held until a handler holds it.
    pub(crate) fn begin(&self) {
        self.count.set(self.count.get() + 1);
        self.held.set(None);
    }

    /// Holds this pass's answer when the watch's wait has time left; whether it did.
    pub fn hold(&self, watch: Watch) -> bool {
        let deadline = self.received.0 + Duration::from_secs(u64::from(watch.wait.seconds()));
        let held = Instant::now() < deadline;
        self.held.set(held.then_some((watch, deadline)));
        held
    }

    pub(crate) fn is_held(&self) -> bool {
        self.held.get().is_some()
    }

    /// What a held request watches, and when its wait ends.
    pub fn held(&self) -> Option<(Watch, Instant)> {
        self.held.get()
    }

    /// How long a held request sleeps before it looks at its room again.
    pub fn pause(&self) -> Duration {
        self.held.get().map_or(Duration::ZERO, |(_, deadline)| {
            deadline.saturating_duration_since(Instant::now()).min(POLL_INTERVAL)
        })
    }

    /// Adds a pass's statements; the total so far.
    pub(crate) fn add_statements(&self, statements: u32) -> u32 {
        self.statements.set(self.statements.get() + statements);
        self.statements.get()
    }

    /// The passes so far.
    pub fn count(&self) -> u32 {
        self.count.get()
    }
}

/// Whether a held request should pass through the routes again: its wait has ended, or its room
/// has changed since its page was read (or the store could not say: the pass will). One indexed
/// read, counted on `attempts`.
pub fn worth_another_pass(attempts: &Attempts) -> bool {
    let Some((watch, deadline)) = attempts.held() else { return true };
    if Instant::now() >= deadline {
        return true;
    }
    attempts.add_statements(1);
    latest_change(watch.room).map_or(true, |latest| latest > watch.seen)
}

/// The room's latest change position, read now on the instance's connection.
pub fn latest_change(room: RoomId) -> Result<i64, ApiError> {
    let db = SpinDatabase::instance()?;
    Ok(ChangeFeedRepository::new(db.as_ref()).latest_change(room)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_0_to_30_seconds_and_0_when_absent() {
        assert_eq!(Wait::from_query(&Query::parse("")).unwrap(), Wait(0));
        assert_eq!(Wait::from_query(&Query::parse("wait=30")).unwrap(), Wait(30));
        for refused in ["wait=31", "wait=-1", "wait=1.5", "wait=", "wait=1&wait=2"] {
            assert!(Wait::from_query(&Query::parse(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_pass_is_held_only_while_its_wait_has_time_left() {
        let watch = |seconds| Watch { room: RoomId::new_random(), seen: 0, wait: Wait(seconds) };
        let attempts = Attempts::default();
        attempts.begin();
        assert!(!attempts.hold(watch(0)));
        assert!(!attempts.is_held());
        attempts.begin();
        assert!(attempts.hold(watch(5)));
        assert_eq!(attempts.pause(), POLL_INTERVAL);
        attempts.begin();
        assert!(!attempts.is_held(), "a new pass is not held until a handler holds it");
    }
}
