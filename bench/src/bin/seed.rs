//! Fills a store in bulk, through SQL, deterministically from a seed: rooms (every tenth one
//! private), users in rooms, invitations, messages (half of them in one big room, and a search
//! room of 50 000 in every profile) and read markers. The app must have migrated the store first (`GET /ready`); `--app` does that.
//!
//! ```text
//! cargo run --release -p bench --bin seed -- --profile small|default|large [--seed 1] \
//!     --app http://127.0.0.1:3000 (--file .spin/sqlite_db.db | --sqld http://127.0.0.1:8080)
//! ```
//! Ids are UUIDs built from the seed and an index (`bench::seeded`), so `loadtest --probe` finds
//! the same rooms and users again. Each step is one statement generating its rows with a
//! recursive CTE inside the store, so nothing is sent row by row.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bench::seeded::{id_pattern, profile, Profile, SEARCH_ROOM_MESSAGES};
use bench::Http;
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "default")]
    profile: String,
    #[arg(long, default_value_t = 1)]
    seed: u32,
    /// The running app, asked for `GET /ready` so the schema is current before seeding.
    #[arg(long)]
    app: String,
    /// The local SQLite file `spin up` uses (`<state dir>/sqlite_db.db`).
    #[arg(long, conflicts_with = "sqld")]
    file: Option<String>,
    /// A libSQL server's HTTP base.
    #[arg(long)]
    sqld: Option<String>,
}

/// The seeded messages' text (ASCII, so SQL's `lower` folds it as the app would).
const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
                     incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud";

/// Rows generated per statement, so no single statement runs for long.
const CHUNK: i64 = 100_000;

/// `n(i)` counts `?2 <= i < ?3`.
const COUNTER: &str = "WITH RECURSIVE n(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?3) ";

/// A step: SQL whose parameters are `?1` seed, `?2`..`?3` the index range, then `extra`.
struct Step {
    what: &'static str,
    sql: String,
    /// How many indexes the step counts (`None`: one statement without a range).
    count: Option<i64>,
    extra: Vec<i64>,
}

fn steps(p: &Profile) -> Vec<Step> {
    let (user, room, message) = (id_pattern(1), id_pattern(2), id_pattern(3));
    let creator = format!("printf('{user}', ?1, (i * 40503) % {})", p.users);
    vec![
        Step {
            what: "rooms",
            sql: format!(
                "INSERT INTO rooms (id, name, name_key, description, description_key, is_private, created_by, \
                   created_at, updated_at) {COUNTER} \
                 SELECT printf('{room}', ?1, i), 'Room ' || i, 'room ' || i, 'Seeded room number ' || i, \
                   'seeded room number ' || i, CASE WHEN i > 0 AND i % 10 = 7 THEN 1 ELSE 0 END, {creator}, \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds') FROM n"
            ),
            count: Some(p.rooms),
            extra: vec![],
        },
        Step {
            what: "room admins",
            sql: format!(
                "INSERT OR IGNORE INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) \
                 {COUNTER} SELECT printf('{room}', ?1, i), {creator}, 'admin', 'Seeded user', \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), 0 FROM n"
            ),
            count: Some(p.rooms),
            extra: vec![],
        },
        Step {
            what: "members of the big room",
            sql: format!(
                "INSERT OR IGNORE INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) \
                 {COUNTER} SELECT printf('{room}', ?1, 0), printf('{user}', ?1, i), 'member', 'Seeded user', \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-02', '+' || i || ' seconds'), 0 FROM n"
            ),
            count: Some(p.users),
            extra: vec![],
        },
        Step {
            what: "members of other rooms",
            sql: format!(
                "INSERT OR IGNORE INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) \
                 {COUNTER} SELECT printf('{room}', ?1, 1 + ((i / ?4) * 7919 + (i % ?4) * 104729) % ({} - 1)), \
                   printf('{user}', ?1, i / ?4), 'member', 'Seeded user', \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-03', '+' || i || ' seconds'), 0 FROM n",
                p.rooms
            ),
            count: Some(p.users * p.rooms_per_user),
            extra: vec![p.rooms_per_user],
        },
        Step {
            what: "invitations",
            sql: format!(
                "INSERT OR IGNORE INTO invitations (room_id, user_id, invited_by, created_at) \
                 {COUNTER} SELECT r.id, printf('{user}', ?1, i % {users}), r.created_by, \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-04', '+' || i || ' seconds') \
                 FROM n JOIN rooms r ON r.id = printf('{room}', ?1, 7 + 10 * ((i * 31) % ({rooms} / 10))) \
                 WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id \
                   AND m.user_id = printf('{user}', ?1, i % {users}))",
                users = p.users,
                rooms = p.rooms
            ),
            count: Some(p.users * 2 + 20),
            extra: vec![],
        },
        Step {
            what: "messages",
            sql: format!(
                "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, content_key, created_at) \
                 {COUNTER} SELECT id, room_id, author_id, 'Seeded user', 'text', content, lower(content), created_at \
                 FROM (SELECT printf('{message}', ?1, i) AS id, \
                   printf('{room}', ?1, CASE WHEN i < ?4 THEN 0 ELSE 1 + (i % ({rooms} - 1)) END) AS room_id, \
                   CASE WHEN i < ?4 THEN printf('{user}', ?1, i % {users}) \
                     ELSE printf('{user}', ?1, ((1 + (i % ({rooms} - 1))) * 40503) % {users}) END AS author_id, \
                   'Seeded message ' || i || ': ' || substr('{LOREM}', 1, 20 + i % 100) AS content, \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-02-01', '+' || (i / 10.0) || ' seconds') AS created_at \
                   FROM n)",
                rooms = p.rooms,
                users = p.users,
            ),
            count: Some(p.messages),
            extra: vec![p.big_room_messages],
        },
        // The same search room in every profile, so `loadtest --probe` shows what a search costs
        // in a room of SEARCH_ROOM_MESSAGES messages beside small and large other rooms.
        Step {
            what: "the search room's messages (room 1), and user 0 in it",
            sql: format!(
                "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, content_key, created_at) \
                 {COUNTER} SELECT id, printf('{room}', ?1, 1), printf('{user}', ?1, 0), 'Seeded user', 'text', \
                   content, lower(content), created_at \
                 FROM (SELECT printf('{message}', ?1, ?4 + i) AS id, \
                   'Search room message ' || i || ': ' || substr('{LOREM}', 1 + i % 50, 30 + i % 70) AS content, \
                   strftime('%Y-%m-%dT%H:%M:%fZ', '2026-03-01', '+' || (i / 10.0) || ' seconds') AS created_at FROM n)"
            ),
            count: Some(SEARCH_ROOM_MESSAGES),
            extra: vec![p.messages],
        },
        Step {
            what: "user 0 in the search room",
            sql: format!(
                "INSERT OR IGNORE INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) \
                 VALUES (printf('{room}', ?1, 1), printf('{user}', ?1, 0), 'member', 'Seeded user', \
                   '2026-01-05T00:00:00.000Z', 0)"
            ),
            count: None,
            extra: vec![],
        },
        Step {
            what: "read markers (the big room: up to 200 unread each; others: all read)",
            sql: format!(
                "UPDATE memberships SET last_read_seq = max(0, coalesce((SELECT max(g.seq) FROM messages g \
                   WHERE g.room_id = memberships.room_id), 0) \
                   - CASE WHEN room_id = printf('{room}', ?1, 0) THEN abs(unicode(substr(user_id, -1)) * 7) % 200 \
                     ELSE 0 END) \
                 WHERE room_id >= printf('{room}', ?1, 0) AND room_id <= printf('{room}', ?1, {})",
                p.rooms
            ),
            count: None,
            extra: vec![],
        },
    ]
}

enum Target {
    File(rusqlite::Connection),
    Sqld { http: Http, url: String },
}

impl Target {
    async fn run(&mut self, sql: &str, params: &[i64]) -> anyhow::Result<()> {
        match self {
            Target::File(db) => {
                let tx = db.transaction()?;
                tx.execute(sql, rusqlite::params_from_iter(params.iter())).with_context(|| sql.to_owned())?;
                tx.commit()?;
            }
            Target::Sqld { http, url } => {
                let args: Vec<Value> =
                    params.iter().map(|n| json!({"type": "integer", "value": n.to_string()})).collect();
                let body = json!({"requests": [
                    {"type": "execute", "stmt": {"sql": "BEGIN IMMEDIATE"}},
                    {"type": "execute", "stmt": {"sql": sql, "args": args}},
                    {"type": "execute", "stmt": {"sql": "COMMIT"}},
                    {"type": "close"},
                ]});
                let answer = http.send("POST", &format!("{url}/v2/pipeline"), None, &[], Some(&body)).await;
                let results = answer.json()["results"].clone();
                let failed = results.as_array().is_none_or(|r| r.iter().any(|r| r["type"] != "ok"));
                if answer.status != 200 || failed {
                    bail!("sqld answered {}: {}", answer.status, String::from_utf8_lossy(&answer.body));
                }
            }
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let p = profile(&args.profile).context("--profile is small, default or large")?;
    let http = Http::new(Duration::from_secs(600));
    let ready = http.send("GET", &format!("{}/ready", args.app.trim_end_matches('/')), None, &[], None).await;
    if ready.status != 200 {
        bail!("{}/ready answered {}: the app must be up and its store reachable", args.app, ready.status);
    }
    let mut target = match (&args.file, &args.sqld) {
        (Some(file), None) => {
            let db = rusqlite::Connection::open(file)?;
            db.busy_timeout(Duration::from_secs(30))?;
            Target::File(db)
        }
        (None, Some(url)) => Target::Sqld { http, url: url.trim_end_matches('/').to_owned() },
        _ => bail!("give --file or --sqld"),
    };
    let started = Instant::now();
    for step in steps(&p) {
        let step_started = Instant::now();
        let seed = i64::from(args.seed);
        match step.count {
            None => target.run(&step.sql, &[seed]).await?,
            Some(count) => {
                let mut from = 0;
                while from < count {
                    let to = (from + CHUNK).min(count);
                    let mut params = vec![seed, from, to];
                    params.extend(&step.extra);
                    target.run(&step.sql, &params).await?;
                    from = to;
                }
            }
        }
        println!("{:<70} {:>7.1} s", step.what, step_started.elapsed().as_secs_f64());
    }
    println!(
        "seeded profile {} (seed {}): {} rooms, {} users, {} messages ({} in the big room) in {:.1} s",
        p.name,
        args.seed,
        p.rooms,
        p.users,
        p.messages,
        p.big_room_messages,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
