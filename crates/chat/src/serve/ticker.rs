//! The instance's ticker (WASIp3): one task per instance looks at the rooms its held long-polls
//! watch, once per [`POLL_INTERVAL`] and one indexed read per room, and wakes only the waiters
//! whose room has moved past what their page saw, or whose wait has ended. With a timer and a
//! look per waiter, 150 idle waiters kept a third of a core busy; this way a held request costs
//! nothing until it is woken. (A timer cannot simply be shared: wit-bindgen registers a host
//! timer with the task that first polls it.)
//!
//! The ticker runs in a task spawned from the first waiter's task and stops at the first tick with
//! no waiter left. Its timer is always awaited to its end, never dropped (see `take_turn`). A wait
//! ends at the first tick after its deadline: up to one interval late.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Instant;

use spin_sdk::http_wasip3::wasip3::clocks::monotonic_clock;

use crate::ids::RoomId;
use crate::long_poll::{self, Attempts, POLL_INTERVAL};

struct Waiter {
    room: RoomId,
    seen: i64,
    deadline: Instant,
    waker: Waker,
    woken: Rc<Cell<bool>>,
}

#[derive(Default)]
struct Ticker {
    running: bool,
    waiters: Vec<Waiter>,
}

thread_local! {
    static TICKER: RefCell<Ticker> = RefCell::new(Ticker::default());
}

/// Returns once a held request is worth another pass: its room moved, its wait ended, or the
/// store could not tell (the pass will).
pub async fn until_worth_another_pass(attempts: &Attempts) {
    let Some((watch, deadline)) = attempts.held() else { return };
    let woken = Rc::new(Cell::new(false));
    poll_fn(|cx| {
        if woken.get() {
            return Poll::Ready(());
        }
        TICKER.with(|ticker| {
            let mut ticker = ticker.borrow_mut();
            match ticker.waiters.iter_mut().find(|waiter| Rc::ptr_eq(&waiter.woken, &woken)) {
                Some(waiter) => waiter.waker.clone_from(cx.waker()),
                None => ticker.waiters.push(Waiter {
                    room: watch.room,
                    seen: watch.seen,
                    deadline,
                    waker: cx.waker().clone(),
                    woken: woken.clone(),
                }),
            }
            if !ticker.running {
                ticker.running = true;
                wit_bindgen::spawn(tick());
            }
        });
        Poll::Pending
    })
    .await;
}

async fn tick() {
    let interval = u64::try_from(POLL_INTERVAL.as_nanos()).unwrap_or(u64::MAX);
    loop {
        monotonic_clock::wait_for(interval).await;
        let waiters = TICKER.with(|ticker| std::mem::take(&mut ticker.borrow_mut().waiters));
        if waiters.is_empty() {
            TICKER.with(|ticker| ticker.borrow_mut().running = false);
            return;
        }
        let now = Instant::now();
        let mut latest: HashMap<RoomId, Option<i64>> = HashMap::new();
        let mut still_waiting = Vec::with_capacity(waiters.len());
        for waiter in waiters {
            let room_latest = *latest.entry(waiter.room).or_insert_with(|| long_poll::latest_change(waiter.room).ok());
            if waiter.deadline <= now || room_latest.is_none_or(|room_latest| room_latest > waiter.seen) {
                waiter.woken.set(true);
                waiter.waker.wake();
            } else {
                still_waiting.push(waiter);
            }
        }
        TICKER.with(|ticker| ticker.borrow_mut().waiters.extend(still_waiting));
    }
}
