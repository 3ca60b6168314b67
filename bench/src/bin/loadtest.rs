//! An open-loop load test of the API over HTTP, against `spin up`, three replicas, or the test
//! host's serve mode alike.
//!
//! ```text
//! SPIN_VARIABLE_JWT_SECRET=... cargo run --release -p bench --bin loadtest -- \
//!     --url http://127.0.0.1:3000 [--url ...] --users 300 --duration 60
//! cargo run --release -p bench --bin loadtest -- --url ... --saturate --connections 16
//! ```
//!
//! Open loop: each user sends on average `--rate` requests per second with Poisson arrivals on a
//! schedule fixed in advance; a request's latency runs from its scheduled time, so time spent
//! queueing behind a slow server counts (no coordinated omission). Requests go round-robin to
//! the `--url`s. Set-up goes through the API: a room, its members, `--messages` of history.
//! `--saturate` is closed-loop instead: `--connections` clients back to back, per route, for the
//! throughput ceiling.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bench::report::{histogram, p99_ms, print_header, print_row, RouteStats};
use bench::scenario::{parse_mix, pick, Scenario, Target};
use bench::setup::{expect, set_up, SetUp};
use bench::{jwt_secret, token, Http};
use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Parser)]
struct Args {
    /// Base URL of the app; repeat for replicas (requests go round-robin).
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// Where set-up goes (room, members, history), when not to `--url`: e.g. the app under Spin
    /// while `--url` is the native baseline over the same store.
    #[arg(long = "setup-url")]
    setup_urls: Vec<String>,
    /// Simulated users, each a member of the load room.
    #[arg(long, default_value_t = 150)]
    users: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Requests per second per user (mean of the Poisson arrivals).
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Weights of the scenarios: newest (newest page), after (poll for new messages), rooms (room
    /// list), send (keyed send), edit (edit one's own message), react (add or take back a reaction
    /// on one of the 200 newest messages), search (a history search matching 1 message in 100),
    /// joinleave (join or leave a second room), deep (a page far back).
    #[arg(long, default_value = "newest=45,after=20,rooms=15,send=10,edit=3,react=4,search=3")]
    mix: String,
    /// Messages of history sent into the load room during set-up.
    #[arg(long, default_value_t = 5000)]
    messages: usize,
    /// How far back `deep` pages start, in pages of 100 walked during set-up.
    #[arg(long, default_value_t = 40)]
    deep_pages: usize,
    /// Seeds the user ids and the schedule.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Closed loop: measure each of `--routes` with `--connections` clients back to back.
    #[arg(long)]
    saturate: bool,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Routes for `--saturate`: any scenario, or `get:/path` / `anon:/path` (`{room}` is the
    /// load room's id).
    #[arg(long, default_value = "health,ready,newest")]
    routes: String,
    /// Probe a store filled by `seed`: the growth requests one at a time, `--repeat` times each.
    #[arg(long)]
    probe: bool,
    /// The profile `seed` used (`--probe`).
    #[arg(long, default_value = "default")]
    profile: String,
    #[arg(long, default_value_t = 200)]
    repeat: usize,
    /// Seconds before a request counts as unanswered.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

struct Sample {
    scenario: Scenario,
    /// Seconds from the start of the schedule to the scheduled send.
    at: f64,
    micros: u64,
    status: u16,
}

async fn open_loop(args: &Args, target: Arc<Target>) -> anyhow::Result<()> {
    let mix = parse_mix(&args.mix)?;
    let duration = Duration::from_secs_f64(args.duration);
    let arrivals = Exp::new(args.rate).context("--rate must be positive")?;
    let (samples, mut received) = mpsc::unbounded_channel::<Sample>();
    let start = Instant::now() + Duration::from_millis(200);
    for index in 0..target.users.len() {
        let (target, samples, mix) = (target.clone(), samples.clone(), mix.clone());
        let mut rng = StdRng::seed_from_u64(args.seed.wrapping_add(7919 * index as u64));
        tokio::spawn(async move {
            let mut offset = arrivals.sample(&mut rng);
            while offset < duration.as_secs_f64() {
                let scheduled = start + Duration::from_secs_f64(offset);
                tokio::time::sleep_until(scheduled).await;
                let scenario = pick(&mix, &mut rng);
                let (target, samples) = (target.clone(), samples.clone());
                tokio::spawn(async move {
                    let status = target.run(scenario, &target.users[index]).await;
                    let micros = scheduled.elapsed().as_micros() as u64;
                    let _ = samples.send(Sample { scenario, at: offset, micros, status });
                });
                offset += arrivals.sample(&mut rng);
            }
        });
    }
    drop(samples);
    let mut routes: Vec<(Scenario, RouteStats)> = Vec::new();
    let windows = (args.duration / 10.0).ceil().max(1.0) as usize;
    let mut by_window: Vec<hdrhistogram::Histogram<u64>> = (0..windows).map(|_| histogram()).collect();
    while let Some(sample) = received.recv().await {
        let slot = match routes.iter().position(|(s, _)| *s == sample.scenario) {
            Some(slot) => slot,
            None => {
                routes.push((sample.scenario, RouteStats::default()));
                routes.len() - 1
            }
        };
        routes[slot].1.record(sample.micros, sample.status);
        by_window[((sample.at / 10.0) as usize).min(windows - 1)].saturating_record(sample.micros.max(1));
    }
    println!(
        "open loop: {} users x {} req/s (Poisson) for {} s against {}; mix {}",
        target.users.len(),
        args.rate,
        args.duration,
        target.urls.join(", "),
        args.mix
    );
    print_header();
    let mut all = RouteStats::default();
    routes.sort_by_key(|(s, _)| mix.iter().position(|(m, _)| m == s));
    for (scenario, stats) in &routes {
        print_row(scenario.label(), stats, args.duration);
        all.merge(stats);
    }
    print_row("all", &all, args.duration);
    if windows >= 2 {
        let (first, last) = (p99_ms(&by_window[0]), p99_ms(&by_window[windows - 1]));
        println!(
            "drift: p99 of the first 10 s {first:.2} ms, of the last 10 s {last:.2} ms ({:.2}x)",
            last / first.max(0.001)
        );
    }
    Ok(())
}

async fn saturate(args: &Args, target: Arc<Target>) -> anyhow::Result<()> {
    let routes: Vec<Scenario> = args.routes.split(',').map(Scenario::parse).collect::<anyhow::Result<_>>()?;
    println!(
        "closed loop: {} connections back to back, {} s per route, against {}",
        args.connections,
        args.duration,
        target.urls.join(", ")
    );
    print_header();
    let mut throughput = Vec::new();
    for scenario in routes {
        let deadline = Instant::now() + Duration::from_secs_f64(args.duration);
        let mut clients = tokio::task::JoinSet::new();
        for client in 0..args.connections {
            let target = target.clone();
            clients.spawn(async move {
                let mut stats = RouteStats::default();
                let user = &target.users[client % target.users.len()];
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let status = target.run(scenario, user).await;
                    stats.record(sent.elapsed().as_micros() as u64, status);
                }
                stats
            });
        }
        let mut stats = RouteStats::default();
        while let Some(done) = clients.join_next().await {
            stats.merge(&done?);
        }
        print_row(scenario.label(), &stats, args.duration);
        throughput.push((scenario, stats.latency.len() as f64 / args.duration));
    }
    if let Some((_, health)) = throughput.iter().find(|(s, _)| *s == Scenario::Health) {
        for (scenario, rate) in &throughput {
            println!("{:<34} {:>6.1} % of /health", scenario.label(), 100.0 * rate / health);
        }
    }
    Ok(())
}

/// The growth requests against a seeded store, as its user 0 (in the big room, some others, and
/// invited to a few private rooms): sequential, one connection, so each figure is the request's
/// own cost.
async fn probe(args: &Args) -> anyhow::Result<()> {
    use bench::seeded::{profile, room_id, user_id};
    let p = profile(&args.profile).context("--profile is small, default or large")?;
    let seed = u32::try_from(args.seed).context("--seed of the seeded store fits 32 bits")?;
    let http = Http::new(Duration::from_secs(args.timeout));
    let token = token(&jwt_secret()?, &user_id(seed, 0), "probe");
    let base = args.urls[0].trim_end_matches('/').to_owned();
    let big = room_id(seed, 0);
    let search = room_id(seed, 1);
    let get = |path: String| {
        let (http, token, url) = (http.clone(), token.clone(), format!("{base}{path}"));
        async move { http.send("GET", &url, Some(&token), &[], None).await }
    };
    let depth = (40_000).min(p.big_room_messages - 100).max(0);
    let mut cursor: Option<String> = None;
    for _ in 0..depth / 100 {
        let query = cursor.as_ref().map_or("?limit=100".to_owned(), |c| format!("?limit=100&before={c}"));
        let page = get(format!("/api/rooms/{big}/messages{query}")).await;
        expect(&page, &[200], "walking the big room's history")?;
        cursor = page.json()["pagination"]["prevCursor"].as_str().map(str::to_owned);
    }
    let deep = cursor.map_or(String::new(), |c| format!("&before={c}"));
    let requests = [
        ("rooms, page 1".to_owned(), "/api/rooms?limit=20".to_owned()),
        ("rooms, page 400".to_owned(), "/api/rooms?limit=20&page=400".to_owned()),
        ("rooms, joined=true".to_owned(), "/api/rooms?limit=20&joined=true".to_owned()),
        ("rooms, invited=true".to_owned(), "/api/rooms?limit=20&invited=true".to_owned()),
        // Searches, answered from the search index (migration 0003): "room 0" names one seeded
        // room in every profile (3 characters or more: trigrams); "99" (1 or 2 characters: the
        // grams) is in 2 to 4 % of them, so its cost grows with the rooms that match.
        ("rooms, search=room 0".to_owned(), "/api/rooms?limit=20&search=room%200".to_owned()),
        ("rooms, search=99".to_owned(), "/api/rooms?limit=20&search=99".to_owned()),
        ("a room".to_owned(), format!("/api/rooms/{big}")),
        ("members, page 1".to_owned(), format!("/api/rooms/{big}/members?limit=50")),
        ("messages, newest page".to_owned(), format!("/api/rooms/{big}/messages?limit=50")),
        // Searches in the search room (room 1: 50 000 messages in every profile, user 0 a member):
        // "message 4242" matches 11 of them ("... message 4242: ", "... 42420: " to "42429: "),
        // "dolor" a third or so; "zq" (1 or 2 characters: the room read newest first) none, so it
        // reads the whole room.
        (
            "search 50k room, 'message 4242'".to_owned(),
            format!("/api/rooms/{search}/messages?limit=50&search=message%204242"),
        ),
        ("search 50k room, 'dolor'".to_owned(), format!("/api/rooms/{search}/messages?limit=50&search=dolor")),
        ("search 50k room, 'zq' (none)".to_owned(), format!("/api/rooms/{search}/messages?limit=50&search=zq")),
        (format!("messages, {depth} deep"), format!("/api/rooms/{big}/messages?limit=50{deep}")),
    ];
    println!(
        "probe of profile {} ({} rooms, {} messages; big room {} messages) at {base}, {} times each, one at a time",
        p.name, p.rooms, p.messages, p.big_room_messages, args.repeat
    );
    print_header();
    for (label, path) in requests {
        let mut stats = RouteStats::default();
        let started = Instant::now();
        for _ in 0..args.repeat {
            let sent = Instant::now();
            let answer = get(path.clone()).await;
            stats.record(sent.elapsed().as_micros() as u64, answer.status);
        }
        print_row(&label, &stats, started.elapsed().as_secs_f64());
    }
    Ok(())
}

impl Args {
    fn set_up(&self) -> SetUp {
        SetUp {
            urls: self.urls.clone(),
            setup_urls: self.setup_urls.clone(),
            timeout: self.timeout,
            seed: self.seed,
            messages: self.messages,
            deep_pages: self.deep_pages,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.probe {
        return probe(&args).await;
    }
    if args.saturate {
        let routes: Vec<Scenario> = args.routes.split(',').map(Scenario::parse).collect::<anyhow::Result<_>>()?;
        let public =
            |s: &Scenario| matches!(s, Scenario::Health | Scenario::Ready | Scenario::Get { authenticated: false, .. });
        let target = set_up(&args.set_up(), args.connections, !routes.iter().all(public)).await?;
        saturate(&args, target).await
    } else {
        let target = set_up(&args.set_up(), args.users, true).await?;
        open_loop(&args, target).await
    }
}
