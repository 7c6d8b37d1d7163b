//! Request counters and latency histograms for `/metrics` (Prometheus text format).
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Request counters and latency histograms, rendered in Prometheus text format.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<BTreeMap<(String, String, u16), Series>>,
}

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; 10],
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            let s = m.entry((method.to_string(), route.to_string(), status)).or_default();
            s.count += 1;
            s.sum += seconds;
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    pub fn render(&self, db_queries: u64) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP openiop_http_requests_total HTTP requests served.\n# TYPE openiop_http_requests_total counter");
        let snapshot = self.inner.lock().map(|m| m.clone()).unwrap_or_default();
        for ((method, route, status), s) in &snapshot {
            let _ = writeln!(out, "openiop_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}", s.count);
        }
        let _ = writeln!(
            out,
            "# HELP openiop_http_request_duration_seconds Time to serve a request.\n# TYPE openiop_http_request_duration_seconds histogram"
        );
        for ((method, route, status), s) in &snapshot {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "openiop_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(out, "openiop_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "openiop_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "openiop_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        let _ = writeln!(
            out,
            "# HELP openiop_db_queries_total SQL statements sent.\n# TYPE openiop_db_queries_total counter\nopeniop_db_queries_total {db_queries}"
        );
        out
    }
}
