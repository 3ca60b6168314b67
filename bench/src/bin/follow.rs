//! Fan-out under real time: `--followers` users long-poll one room (`GET .../messages?after=...&wait=`
//! or, with `--feed`, the change feed) while `--senders` users send into it; how long a message
//! takes to reach every follower, from the moment its send began.
//!
//! ```text
//! SPIN_VARIABLE_JWT_SECRET=... target/release/follow --url http://127.0.0.1:3000 [--url ...] \
//!     --followers 150 --senders 5 --duration 60
//! ```
//!
//! Followers go to the `--url`s in turn (follower i to url i mod n), senders too. Each message
//! carries its number; a follower records, for every message sent during the run, the time from
//! its send's start to the answer that brought it. `--senders 0` measures how many waiters the
//! server holds at once: each follower sends one long-poll, which should end at its wait's end
//! with an empty page (any other answer is counted as an error).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bench::report::{print_header, print_row, RouteStats};
use bench::setup::{set_up, SetUp};
use clap::Parser;
use tokio::time::Instant;

#[derive(Parser)]
struct Args {
    /// Base URL of the app; repeat for replicas.
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// Users long-polling the room.
    #[arg(long, default_value_t = 150)]
    followers: usize,
    /// Users sending into the room meanwhile.
    #[arg(long, default_value_t = 5)]
    senders: usize,
    /// Messages per second per sender (evenly spaced).
    #[arg(long, default_value_t = 1.0)]
    send_rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// The followers' `wait`, in seconds.
    #[arg(long, default_value_t = 30)]
    wait: u32,
    /// Follow the change feed instead of `after` pages.
    #[arg(long)]
    feed: bool,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seconds before a request counts as unanswered.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// What the run shares: when each message's send began, and what the followers measured.
struct Run {
    started_sending: Mutex<HashMap<usize, Instant>>,
    delivery: Mutex<RouteStats>,
    polls: Mutex<RouteStats>,
    sends: Mutex<RouteStats>,
    delivered: AtomicUsize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let set_up_args = SetUp {
        urls: args.urls.clone(),
        setup_urls: Vec::new(),
        timeout: args.timeout.max(u64::from(args.wait) + 10),
        seed: args.seed,
        messages: 1,
        deep_pages: 0,
    };
    let target = set_up(&set_up_args, args.followers + args.senders, true).await?;
    let run = Arc::new(Run {
        started_sending: Mutex::new(HashMap::new()),
        delivery: Mutex::new(RouteStats::default()),
        polls: Mutex::new(RouteStats::default()),
        sends: Mutex::new(RouteStats::default()),
        delivered: AtomicUsize::new(0),
    });
    let start = Instant::now() + Duration::from_secs(1);
    let sending_ends = start + Duration::from_secs_f64(args.duration);
    let room = target.room.clone();
    let mut followers = Vec::new();
    for index in 0..args.followers {
        let (target, run, room) = (target.clone(), run.clone(), room.clone());
        let (feed, wait, url) = (args.feed, args.wait, args.urls[index % args.urls.len()].clone());
        let senders = args.senders;
        followers.push(tokio::spawn(async move {
            let user = &target.users[index];
            let mut place = if feed {
                let now = target
                    .http
                    .send("GET", &format!("{url}/api/rooms/{room}/changes"), Some(&user.token), &[], None)
                    .await;
                now.json()["pagination"]["nextToken"].as_str().map(str::to_owned)
            } else {
                user.cursor.lock().expect("cursor lock").clone()
            };
            let mut seen = HashSet::new();
            loop {
                let path = match (&place, feed) {
                    (Some(token), true) => format!("/api/rooms/{room}/changes?since={token}&wait={wait}"),
                    (Some(cursor), false) => format!("/api/rooms/{room}/messages?after={cursor}&wait={wait}"),
                    (None, _) => format!("/api/rooms/{room}/messages?wait={wait}"),
                };
                let asked = Instant::now();
                let answer = target.http.send("GET", &format!("{url}{path}"), Some(&user.token), &[], None).await;
                let arrived = Instant::now();
                run.polls.lock().expect("polls lock").record((arrived - asked).as_micros() as u64, answer.status);
                if senders == 0 {
                    return;
                }
                if answer.status != 200 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                let page = answer.json();
                let key = if feed { "nextToken" } else { "nextCursor" };
                if let Some(next) = page["pagination"][key].as_str() {
                    place = Some(next.to_owned());
                }
                for message in page["data"].as_array().into_iter().flatten() {
                    let Some(number) = message["content"].as_str().and_then(|c| c.strip_prefix("follow ")) else {
                        continue;
                    };
                    let Ok(number) = number.parse::<usize>() else { continue };
                    let began = run.started_sending.lock().expect("sent lock").get(&number).copied();
                    if let (Some(began), true) = (began, seen.insert(number)) {
                        run.delivery.lock().expect("delivery lock").record((arrived - began).as_micros() as u64, 200);
                        run.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let numbers = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for sender in 0..args.senders {
        let (target, run, room, numbers) = (target.clone(), run.clone(), room.clone(), numbers.clone());
        let url = args.urls[sender % args.urls.len()].clone();
        let user_index = args.followers + sender;
        let interval = Duration::from_secs_f64(1.0 / args.send_rate);
        let offset = interval.mul_f64(sender as f64 / args.senders as f64);
        senders.push(tokio::spawn(async move {
            let user = &target.users[user_index];
            let mut next = start + offset;
            while next < sending_ends {
                tokio::time::sleep_until(next).await;
                let number = numbers.fetch_add(1, Ordering::Relaxed);
                let began = Instant::now();
                run.started_sending.lock().expect("sent lock").insert(number, began);
                let body = serde_json::json!({"content": format!("follow {number}")});
                let path = format!("{url}/api/rooms/{room}/messages");
                let answer = target.http.send("POST", &path, Some(&user.token), &[], Some(&body)).await;
                run.sends.lock().expect("sends lock").record(began.elapsed().as_micros() as u64, answer.status);
                next += interval;
            }
        }));
    }
    for sender in senders {
        sender.await?;
    }
    let expected = numbers.load(Ordering::Relaxed) * args.followers;
    let grace = Instant::now() + Duration::from_secs(if args.senders == 0 { u64::from(args.wait) + 5 } else { 10 });
    while run.delivered.load(Ordering::Relaxed) < expected && Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if args.senders == 0 {
        for follower in followers.drain(..) {
            let _ = follower.await;
        }
    }
    for follower in &followers {
        follower.abort();
    }
    let delivered = run.delivered.load(Ordering::Relaxed);
    println!(
        "follow: {} followers ({}, wait={} s) and {} senders x {} msg/s for {} s against {}",
        args.followers,
        if args.feed { "change feed" } else { "after pages" },
        args.wait,
        args.senders,
        args.send_rate,
        args.duration,
        args.urls.join(", ")
    );
    print_header();
    print_row("delivery (send began -> follower)", &run.delivery.lock().expect("lock"), args.duration);
    print_row("long-poll requests", &run.polls.lock().expect("lock"), args.duration);
    print_row("sends", &run.sends.lock().expect("lock"), args.duration);
    println!("delivered {delivered} of {expected} (messages sent x followers); missing {}", expected - delivered);
    Ok(())
}
