//! Percentile tables. Latencies are recorded in microseconds in HDR histograms (3 significant
//! digits, up to 10 minutes), so p99 and max are exact to 0.1 % whatever the number of samples.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Count, errors by status and latencies of one route.
pub struct RouteStats {
    pub latency: Histogram<u64>,
    /// Answers that were not 2xx/304, by status (0: no answer).
    pub errors: BTreeMap<u16, u64>,
}

impl Default for RouteStats {
    fn default() -> Self {
        RouteStats { latency: histogram(), errors: BTreeMap::new() }
    }
}

impl RouteStats {
    pub fn record(&mut self, micros: u64, status: u16) {
        self.latency.saturating_record(micros.max(1));
        if !(200..300).contains(&status) && status != 304 {
            *self.errors.entry(status).or_default() += 1;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: &RouteStats) {
        self.latency.add(&other.latency).expect("histograms share bounds");
        for (status, n) in &other.errors {
            *self.errors.entry(*status).or_default() += n;
        }
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

pub fn print_header() {
    println!(
        "{:<34} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "route", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s"
    );
}

pub fn print_row(name: &str, stats: &RouteStats, seconds: f64) {
    let h = &stats.latency;
    println!(
        "{:<34} {:>8} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.1}",
        name,
        h.len(),
        stats.error_count(),
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.len() as f64 / seconds
    );
    if !stats.errors.is_empty() {
        let detail: Vec<String> = stats
            .errors
            .iter()
            .map(|(s, n)| if *s == 0 { format!("no answer: {n}") } else { format!("{s}: {n}") })
            .collect();
        println!("{:<34} errors by status: {}", "", detail.join(", "));
    }
}

pub fn p99_ms(histogram: &Histogram<u64>) -> f64 {
    ms(histogram.value_at_quantile(0.99))
}
