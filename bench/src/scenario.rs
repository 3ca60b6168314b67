//! What the load test sends: the scenarios, the simulated users and the target they share.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use crate::{Answer, Http};

/// One kind of request the load test sends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scenario {
    Newest,
    After,
    Rooms,
    Send,
    JoinLeave,
    Deep,
    Edit,
    React,
    Search,
    Health,
    Ready,
    /// `get:/path` (with the user's token) or `anon:/path` (without): any GET, for `--saturate`.
    Get {
        path: &'static str,
        authenticated: bool,
    },
}

impl Scenario {
    pub fn parse(name: &str) -> anyhow::Result<Scenario> {
        Ok(match name {
            "newest" => Scenario::Newest,
            "after" => Scenario::After,
            "rooms" => Scenario::Rooms,
            "send" => Scenario::Send,
            "joinleave" => Scenario::JoinLeave,
            "deep" => Scenario::Deep,
            "edit" => Scenario::Edit,
            "react" => Scenario::React,
            "search" => Scenario::Search,
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

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Newest => "GET messages (newest page)",
            Scenario::After => "GET messages?after (poll)",
            Scenario::Rooms => "GET /api/rooms",
            Scenario::Send => "POST messages (keyed)",
            Scenario::JoinLeave => "POST join / leave",
            Scenario::Deep => "GET messages?before (deep)",
            Scenario::Edit => "PATCH a message (own)",
            Scenario::React => "PUT / DELETE a reaction",
            Scenario::Search => "GET messages?search",
            Scenario::Health => "GET /health",
            Scenario::Ready => "GET /ready",
            Scenario::Get { path, authenticated: true } => path,
            Scenario::Get { path, authenticated: false } => path,
        }
    }
}

/// A simulated user: a member of the load room.
pub struct User {
    pub token: String,
    /// The newest cursor this user has seen, for `after` polls.
    pub cursor: Mutex<Option<String>>,
    pub in_side_room: AtomicBool,
    /// A message this user sent, for edits.
    pub own_message: Mutex<Option<String>>,
    /// Whether this user's next reaction request takes one back.
    pub reacted: AtomicBool,
}

/// The emoji the load test reacts with.
const EMOJI: [&str; 5] = ["%F0%9F%91%8D", "%F0%9F%8E%89", "%E2%9D%A4", "%F0%9F%98%82", "%F0%9F%91%80"];

/// How many of the newest messages reactions go to.
pub const RECENT: usize = 200;

/// The state shared by every request.
pub struct Target {
    pub http: Http,
    pub urls: Vec<String>,
    pub next_url: AtomicUsize,
    pub room: String,
    pub side_room: String,
    pub deep_cursor: Option<String>,
    pub users: Vec<User>,
    pub sent: AtomicUsize,
    /// The newest messages' ids (at most [`RECENT`]), for reactions.
    pub recent: Mutex<std::collections::VecDeque<String>>,
    /// Counts edits, reactions and searches, to vary what they send.
    pub changes: AtomicUsize,
}

impl Target {
    pub fn url(&self, path: &str) -> String {
        let base = &self.urls[self.next_url.fetch_add(1, Ordering::Relaxed) % self.urls.len()];
        format!("{}{path}", base.trim_end_matches('/'))
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        user: &User,
        extra: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        self.http.send(method, &self.url(path), Some(&user.token), extra, body).await
    }

    pub async fn run(&self, scenario: Scenario, user: &User) -> u16 {
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
                let answer = self.call("POST", &messages, user, &[("idempotency-key", &key)], Some(&body)).await;
                if let Some(id) = answer.json()["data"]["id"].as_str() {
                    *user.own_message.lock().expect("own message lock") = Some(id.to_owned());
                    self.remember(id);
                }
                answer.status
            }
            Scenario::Edit => {
                let own = user.own_message.lock().expect("own message lock").clone();
                let Some(id) = own else { return Box::pin(self.run(Scenario::Send, user)).await };
                let n = self.changes.fetch_add(1, Ordering::Relaxed);
                let body = json!({"content": format!("edited message {n}")});
                self.call("PATCH", &format!("{messages}/{id}"), user, &[], Some(&body)).await.status
            }
            Scenario::React => {
                let n = self.changes.fetch_add(1, Ordering::Relaxed);
                let id = {
                    let recent = self.recent.lock().expect("recent lock");
                    recent.get(n % recent.len().max(1)).cloned()
                };
                let Some(id) = id else { return Box::pin(self.run(Scenario::Newest, user)).await };
                let method = if user.reacted.fetch_xor(true, Ordering::Relaxed) { "DELETE" } else { "PUT" };
                let path = format!("{messages}/{id}/reactions/{}", EMOJI[n % EMOJI.len()]);
                self.call(method, &path, user, &[], None).await.status
            }
            Scenario::Search => {
                // "history 42" matches about 1 in 100 messages of the set-up's history ("history 42",
                // "history 420" to "history 429", "history 4200" to ...): a page of 50 of them.
                let n = self.changes.fetch_add(1, Ordering::Relaxed) % 100;
                self.call("GET", &format!("{messages}?search=history%20{n}&limit=50"), user, &[], None).await.status
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

impl Target {
    /// Keeps `id` among the newest messages reactions go to.
    pub fn remember(&self, id: &str) {
        let mut recent = self.recent.lock().expect("recent lock");
        recent.push_back(id.to_owned());
        if recent.len() > RECENT {
            recent.pop_front();
        }
    }
}

pub fn parse_mix(mix: &str) -> anyhow::Result<Vec<(Scenario, u32)>> {
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

pub fn pick(mix: &[(Scenario, u32)], rng: &mut StdRng) -> Scenario {
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_mix_keeps_the_scenarios_with_a_weight() {
        let mix = parse_mix("newest=50,after=0,send=10").unwrap();
        assert_eq!(mix, vec![(Scenario::Newest, 50), (Scenario::Send, 10)]);
    }

    #[test]
    fn a_mix_without_weights_or_with_unknown_names_is_refused() {
        assert!(parse_mix("newest=0").is_err());
        assert!(parse_mix("nonsense=5").is_err());
        assert!(parse_mix("newest").is_err());
    }

    #[test]
    fn picks_follow_the_weights() {
        let mix = parse_mix("newest=3,send=1").unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let sends = (0..4000).filter(|_| pick(&mix, &mut rng) == Scenario::Send).count();
        assert!((800..1200).contains(&sends), "{sends} of 4000 picks were sends");
    }
}
