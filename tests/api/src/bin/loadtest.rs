//! A bounded load test of the real components in the test host (in process, no network):
//! prints latency percentiles and throughput per endpoint. Numbers are for this host on this
//! machine, not for Spin; use them to compare changes, not as a promise.
//!
//! ```text
//! cargo run --release -p api-tests --bin loadtest -- [--requests 2000] [--concurrency 4]
//! ```

use std::time::{Duration, Instant};

use api_tests::{create_room_ok, id_of, join_ok, send_text_ok, TestApp, User};
use serde_json::json;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let requests = arg("--requests", 2000).clamp(1, 100_000);
    let concurrency = arg("--concurrency", 4).clamp(1, 64);
    let app = TestApp::spawn();
    let users: Vec<User> = (0..concurrency).map(|i| User::new(&format!("load{i}"))).collect();
    let room = id_of(&create_room_ok(&app, &users[0], json!({"name": "Load"})));
    for user in &users[1..] {
        join_ok(&app, user, &room);
    }
    for i in 0..200 {
        send_text_ok(&app, &users[0], &room, &format!("warm-up {i}"));
    }

    type Scenario = (&'static str, fn(&TestApp, &User, &str, usize) -> u16);
    let scenarios: [Scenario; 4] = [
        ("GET /health", |app, _, _, _| app.get("/health").send().status),
        ("GET /api/rooms", |app, user, _, _| app.get("/api/rooms?limit=20").as_user(user).send().status),
        ("GET /api/rooms/:id/messages", |app, user, room, _| {
            app.get(&format!("/api/rooms/{room}/messages?limit=50")).as_user(user).send().status
        }),
        ("POST /api/rooms/:id/messages", |app, user, room, i| {
            app.post(&format!("/api/rooms/{room}/messages"))
                .as_user(user)
                .json(json!({"content": format!("load {i}")}))
                .send()
                .status
        }),
    ];

    println!("{requests} requests per endpoint, {concurrency} concurrent clients, in-process test host");
    println!("{:<32} {:>9} {:>9} {:>9} {:>9} {:>10}", "endpoint", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s");
    for (name, scenario) in scenarios {
        let started = Instant::now();
        let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
            let handles: Vec<_> = users
                .iter()
                .enumerate()
                .map(|(worker, user)| {
                    let (app, room) = (&app, room.as_str());
                    scope.spawn(move || {
                        (worker..requests)
                            .step_by(concurrency)
                            .map(|i| {
                                let start = Instant::now();
                                let status = scenario(app, user, room, i);
                                assert!(status < 400, "{name} answered {status}");
                                start.elapsed()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("worker")).collect()
        });
        let elapsed = started.elapsed();
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<32} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.0}",
            name,
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.90)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().expect("at least one request")),
            latencies.len() as f64 / elapsed.as_secs_f64()
        );
    }
}
