//! Long-polls (`wait`, contract "Real time"). A request whose answer would say nothing new (an
//! empty page, or a 304 for its `If-None-Match`) is *held*: the flavor's glue asks for its answer
//! again every [`POLL_INTERVAL`] until something newer is committed, through any replica, or its
//! wait ends; then it is answered as it would have been without `wait`.
//!
//! Handlers and store work stay synchronous: each attempt is one ordinary pass through
//! [`crate::http::Routes::answer`] (a few indexed reads), and the glue sleeps between attempts:
//! WASIp3 on the async clock, so its instance serves other requests meanwhile; WASIp2 in its own
//! instance, which serves this request alone. Nothing is shared between replicas but the store.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::error::ApiError;
use crate::request::Query;
use crate::response::HttpResponse;

/// The longest `wait`, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 30;

/// How long a held request sleeps between two attempts. A change reaches a waiter within about
/// this much (plus the attempt), and each waiter costs the store one attempt per interval: 10
/// cheap indexed reads a second (the trade-off measured in `docs/performance.md`).
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

/// What the glue does with a request after one pass through the routes.
#[derive(Debug)]
pub enum Attempt {
    Answered(HttpResponse),
    /// Held: ask again after this long (sleeping without blocking other requests).
    AskAgainIn(Duration),
}

/// A request's passes through the routes so far, kept on the request between attempts.
#[derive(Debug)]
pub struct Attempts {
    received: Instant,
    count: Cell<u32>,
    statements: Cell<u32>,
    held_until: Cell<Option<Instant>>,
}

impl Default for Attempts {
    fn default() -> Self {
        Attempts {
            received: Instant::now(),
            count: Cell::new(0),
            statements: Cell::new(0),
            held_until: Cell::new(None),
        }
    }
}

impl Attempts {
    /// When the request reached the component (its duration and its wait run from here).
    pub fn received(&self) -> Instant {
        self.received
    }

    /// Starts a pass: not held until a handler holds it.
    pub(crate) fn begin(&self) {
        self.count.set(self.count.get() + 1);
        self.held_until.set(None);
    }

    /// Holds this pass's answer when `wait` has time left; whether it did.
    pub fn hold(&self, wait: Wait) -> bool {
        let deadline = self.received + Duration::from_secs(u64::from(wait.seconds()));
        let held = Instant::now() < deadline;
        self.held_until.set(held.then_some(deadline));
        held
    }

    /// How long to sleep before the next pass, when this one was held.
    pub(crate) fn ask_again_in(&self) -> Option<Duration> {
        let deadline = self.held_until.get()?;
        Some(deadline.saturating_duration_since(Instant::now()).min(POLL_INTERVAL))
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
        let attempts = Attempts::default();
        attempts.begin();
        assert!(!attempts.hold(Wait(0)));
        assert_eq!(attempts.ask_again_in(), None);
        attempts.begin();
        assert!(attempts.hold(Wait(5)));
        assert_eq!(attempts.ask_again_in(), Some(POLL_INTERVAL));
        attempts.begin();
        assert_eq!(attempts.ask_again_in(), None, "a new pass is not held until a handler holds it");
    }
}
