//! Logging (ids only, never patient data), request ids, metrics and security headers.
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use openiop_domain::auth::RequestMeta;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("OPENIOP_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives each request an id (kept in the audit log and the response header) and its source
/// address, logs method, route template, status and time — never the URL's values or bodies.
pub async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let source_ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "local".to_string());
    req.extensions_mut().insert(RequestMeta { source_ip, request_id: request_id.clone() });
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %request_id, method = %method);
    let mut res = {
        use tracing::Instrument;
        next.run(req).instrument(span.clone()).await
    };
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    let route = res.extensions().get::<RouteTemplate>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    span.in_scope(|| tracing::info!(status, route = %route, ms = elapsed.as_secs_f64() * 1000.0, "served"));
    state.metrics.observe(method.as_str(), &route, status, elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
}

/// Content-Security-Policy without `unsafe-inline`: only our own scripts, styles and images.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'; object-src 'none'";

/// The route template that served a request (`/api/v1/episodes/{id}`), for logs and metrics.
#[derive(Clone)]
pub struct RouteTemplate(pub String);

/// Runs after routing: copies the matched route template into the response.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| RouteTemplate(m.as_str().to_string()));
    let mut res = next.run(req).await;
    if let Some(r) = route {
        res.extensions_mut().insert(r);
    }
    res
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages and API answers may carry patient data: never cache them.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

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
