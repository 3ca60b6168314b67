//! The load test's set-up, through the API: users with tokens, a room with its members and its
//! history, and a cursor far back in it.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::scenario::{Target, User};
use crate::{jwt_secret, token, Answer, Http};

/// Where and how much to set up.
pub struct SetUp {
    /// Where the measured requests go.
    pub urls: Vec<String>,
    /// Where set-up goes, when not to `urls`.
    pub setup_urls: Vec<String>,
    pub timeout: u64,
    pub seed: u64,
    pub messages: usize,
    pub deep_pages: usize,
}

/// The load test's user `index`, the same for the same seed.
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

pub fn expect(answer: &Answer, wanted: &[u16], what: &str) -> anyhow::Result<()> {
    if wanted.contains(&answer.status) {
        Ok(())
    } else {
        bail!("{what}: answered {} {}", answer.status, String::from_utf8_lossy(&answer.body))
    }
}

/// The room, its members and its history, through the API.
pub async fn set_up(args: &SetUp, users: usize, with_room: bool) -> anyhow::Result<Arc<Target>> {
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
            own_message: Mutex::new(None),
            reacted: AtomicBool::new(false),
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
        recent: Mutex::new(std::collections::VecDeque::new()),
        changes: AtomicUsize::new(0),
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
            expect(&answer, &[201], "sending history")?;
            if let Some(id) = answer.json()["data"]["id"].as_str() {
                *user.own_message.lock().expect("own message lock") = Some(id.to_owned());
                t.remember(id);
            }
            Ok(())
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
