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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use bench::report::{histogram, p99_ms, print_header, print_row, RouteStats};
use bench::{jwt_secret, token, Answer, Http};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp};
use serde_json::{json, Value};
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
    /// list), send (keyed send), joinleave (join or leave a second room), deep (a page far back).
    #[arg(long, default_value = "newest=50,after=20,rooms=20,send=10")]
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Newest,
    After,
    Rooms,
    Send,
    JoinLeave,
    Deep,
    Health,
    Ready,
    /// `get:/path` (with the user's token) or `anon:/path` (without): any GET, for `--saturate`.
    Get {
        path: &'static str,
        authenticated: bool,
    },
}

impl Scenario {
    fn parse(name: &str) -> anyhow::Result<Scenario> {
        Ok(match name {
            "newest" => Scenario::Newest,
            "after" => Scenario::After,
            "rooms" => Scenario::Rooms,
            "send" => Scenario::Send,
            "joinleave" => Scenario::JoinLeave,
            "deep" => Scenario::Deep,
            "health" => Scenario::Health,
            "ready" => Scenario::Ready,
            other => match other.split_once(':') {
                Some((kind @ ("get" | "anon"), path)) if path.starts_with('/') => {
                    Scenario::Get { path: Box::leak(path.to_owned().into_boxed_str()), authenticated: kind == "get" }
                }
                _ => bail!("unknown scenario {other}"),
            },
        })
    }

    fn label(self) -> &'static str {
        match self {
            Scenario::Newest => "GET messages (newest page)",
            Scenario::After => "GET messages?after (poll)",
            Scenario::Rooms => "GET /api/rooms",
            Scenario::Send => "POST messages (keyed)",
            Scenario::JoinLeave => "POST join / leave",
            Scenario::Deep => "GET messages?before (deep)",
            Scenario::Health => "GET /health",
            Scenario::Ready => "GET /ready",
            Scenario::Get { path, authenticated: true } => path,
            Scenario::Get { path, authenticated: false } => path,
        }
    }
}

struct User {
    token: String,
    /// The newest cursor this user has seen, for `after` polls.
    cursor: Mutex<Option<String>>,
    in_side_room: AtomicBool,
}

/// The state shared by every request.
struct Target {
    http: Http,
    urls: Vec<String>,
    next_url: AtomicUsize,
    room: String,
    side_room: String,
    deep_cursor: Option<String>,
    users: Vec<User>,
    sent: AtomicUsize,
}

impl Target {
    fn url(&self, path: &str) -> String {
        let base = &self.urls[self.next_url.fetch_add(1, Ordering::Relaxed) % self.urls.len()];
        format!("{}{path}", base.trim_end_matches('/'))
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        user: &User,
        extra: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        self.http.send(method, &self.url(path), Some(&user.token), extra, body).await
    }

    async fn run(&self, scenario: Scenario, user: &User) -> u16 {
        let messages = format!("/api/rooms/{}/messages", self.room);
        match scenario {
            Scenario::Newest => self.call("GET", &format!("{messages}?limit=50"), user, &[], None).await.status,
            Scenario::After => {
                let cursor = user.cursor.lock().expect("cursor lock").clone();
                let path = match &cursor {
                    Some(cursor) => format!("{messages}?after={cursor}&limit=50"),
                    None => format!("{messages}?limit=50"),
                };
                let answer = self.call("GET", &path, user, &[], None).await;
                if let Some(next) = answer.json()["pagination"]["nextCursor"].as_str() {
                    *user.cursor.lock().expect("cursor lock") = Some(next.to_owned());
                }
                answer.status
            }
            Scenario::Rooms => self.call("GET", "/api/rooms?limit=20", user, &[], None).await.status,
            Scenario::Send => {
                let n = self.sent.fetch_add(1, Ordering::Relaxed);
                let key = uuid::Uuid::new_v4().to_string();
                let body = json!({"content": format!("load message {n}")});
                self.call("POST", &messages, user, &[("idempotency-key", &key)], Some(&body)).await.status
            }
            Scenario::JoinLeave => {
                let joined = user.in_side_room.fetch_xor(true, Ordering::Relaxed);
                let action = if joined { "leave" } else { "join" };
                self.call("POST", &format!("/api/rooms/{}/{action}", self.side_room), user, &[], None).await.status
            }
            Scenario::Deep => {
                let path = match &self.deep_cursor {
                    Some(cursor) => format!("{messages}?before={cursor}&limit=50"),
                    None => format!("{messages}?limit=50"),
                };
                self.call("GET", &path, user, &[], None).await.status
            }
            Scenario::Health => self.http.send("GET", &self.url("/health"), None, &[], None).await.status,
            Scenario::Ready => self.http.send("GET", &self.url("/ready"), None, &[], None).await.status,
            Scenario::Get { path, authenticated } => {
                let path = path.replace("{room}", &self.room);
                let token = authenticated.then_some(user.token.as_str());
                self.http.send("GET", &self.url(&path), token, &[], None).await.status
            }
        }
    }
}

fn parse_mix(mix: &str) -> anyhow::Result<Vec<(Scenario, u32)>> {
    let mut weights = Vec::new();
    for part in mix.split(',').filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').context("--mix takes name=weight,...")?;
        let weight: u32 = weight.parse().context("a weight is a whole number")?;
        if weight > 0 {
            weights.push((Scenario::parse(name)?, weight));
        }
    }
    if weights.is_empty() {
        bail!("--mix has no scenario with a weight");
    }
    Ok(weights)
}

fn pick(mix: &[(Scenario, u32)], rng: &mut StdRng) -> Scenario {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (scenario, weight) in mix {
        if roll < *weight {
            return *scenario;
        }
        roll -= weight;
    }
    mix[0].0
}

fn user_id(seed: u64, index: usize) -> String {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
    uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string()
}

/// Runs `work` for every item, at most `width` at a time; fails on the first error.
async fn each<T, F, Fut>(items: Vec<T>, width: usize, work: F) -> anyhow::Result<()>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..width.max(1) {
        let (queue, work) = (queue.clone(), work.clone());
        workers.spawn(async move {
            loop {
                let next = queue.lock().expect("queue lock").next();
                match next {
                    Some(item) => work(item).await?,
                    None => return Ok::<(), anyhow::Error>(()),
                }
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(())
}

fn expect(answer: &Answer, wanted: &[u16], what: &str) -> anyhow::Result<()> {
    if wanted.contains(&answer.status) {
        Ok(())
    } else {
        bail!("{what}: answered {} {}", answer.status, String::from_utf8_lossy(&answer.body))
    }
}

/// The room, its members and its history, through the API.
async fn set_up(args: &Args, users: usize, with_room: bool) -> anyhow::Result<Arc<Target>> {
    let secret = jwt_secret()?;
    let http = Http::new(Duration::from_secs(args.timeout));
    let setup_urls = if args.setup_urls.is_empty() { args.urls.clone() } else { args.setup_urls.clone() };
    for url in args.urls.iter().chain(&args.setup_urls) {
        let health = http.send("GET", &format!("{}/health", url.trim_end_matches('/')), None, &[], None).await;
        expect(&health, &[200], &format!("{url}/health"))?;
    }
    let users: Vec<User> = (0..users.max(1))
        .map(|i| User {
            token: token(&secret, &user_id(args.seed, i), &format!("load-{i}")),
            cursor: Mutex::new(None),
            in_side_room: AtomicBool::new(false),
        })
        .collect();
    let mut target = Target {
        http,
        urls: setup_urls,
        next_url: AtomicUsize::new(0),
        room: String::new(),
        side_room: String::new(),
        deep_cursor: None,
        users,
        sent: AtomicUsize::new(0),
    };
    if !with_room {
        target.urls = args.urls.clone();
        return Ok(Arc::new(target));
    }
    let run = uuid::Uuid::new_v4().simple().to_string();
    for (name, slot) in [(format!("load {}", &run[..12]), 0), (format!("side {}", &run[..12]), 1)] {
        let created = target.call("POST", "/api/rooms", &target.users[0], &[], Some(&json!({"name": name}))).await;
        expect(&created, &[201], "creating the load room")?;
        let id = created.json()["data"]["id"].as_str().context("a room id")?.to_owned();
        if slot == 0 {
            target.room = id;
        } else {
            target.side_room = id;
        }
    }
    let target = Arc::new(target);
    let joins: Vec<usize> = (1..target.users.len()).collect();
    let t = target.clone();
    each(joins, 32, move |i| {
        let t = t.clone();
        async move {
            let answer = t.call("POST", &format!("/api/rooms/{}/join", t.room), &t.users[i], &[], None).await;
            expect(&answer, &[200, 201], "joining the load room")
        }
    })
    .await?;
    let t = target.clone();
    each((0..args.messages).collect(), 16, move |n| {
        let t = t.clone();
        async move {
            let user = &t.users[n % t.users.len()];
            let body = json!({"content": format!("history {n}")});
            let answer = t.call("POST", &format!("/api/rooms/{}/messages", t.room), user, &[], Some(&body)).await;
            expect(&answer, &[201], "sending history")
        }
    })
    .await?;
    let mut target = Arc::try_unwrap(target).map_err(|_| anyhow::anyhow!("set-up still running"))?;
    target.deep_cursor = walk_back(&target, args.deep_pages).await?;
    let newest =
        target.call("GET", &format!("/api/rooms/{}/messages?limit=1", target.room), &target.users[0], &[], None).await;
    let cursor = newest.json()["pagination"]["nextCursor"].as_str().map(str::to_owned);
    for user in &target.users {
        *user.cursor.lock().expect("cursor lock") = cursor.clone();
    }
    target.urls = args.urls.clone();
    Ok(Arc::new(target))
}

/// The `prevCursor` `pages` pages of 100 back from the newest message (or the oldest reached).
async fn walk_back(target: &Target, pages: usize) -> anyhow::Result<Option<String>> {
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let query = match &cursor {
            Some(c) => format!("?limit=100&before={c}"),
            None => "?limit=100".to_owned(),
        };
        let page = target
            .call("GET", &format!("/api/rooms/{}/messages{query}", target.room), &target.users[0], &[], None)
            .await;
        expect(&page, &[200], "walking history")?;
        match page.json()["pagination"]["prevCursor"].as_str() {
            Some(previous) => cursor = Some(previous.to_owned()),
            None => break,
        }
    }
    Ok(cursor)
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
        ("a room".to_owned(), format!("/api/rooms/{big}")),
        ("members, page 1".to_owned(), format!("/api/rooms/{big}/members?limit=50")),
        ("messages, newest page".to_owned(), format!("/api/rooms/{big}/messages?limit=50")),
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
        let target = set_up(&args, args.connections, !routes.iter().all(public)).await?;
        saturate(&args, target).await
    } else {
        let target = set_up(&args, args.users, true).await?;
        open_loop(&args, target).await
    }
}
