//! Logging (ids only, never patient data), request ids, metrics and security headers.
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use openiop_domain::auth::RequestMeta;
use std::net::SocketAddr;
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
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let source_ip = client_address(peer, req.headers(), &state.config.trusted_proxies);
    let meta = RequestMeta { source_ip, request_id: request_id.clone() };
    req.extensions_mut().insert(meta.clone());
    // Filled in by the Staff / ApiCaller extractors: who this request turned out to be.
    let caller = Caller::default();
    req.extensions_mut().insert(caller.clone());
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %request_id, method = %method);
    let mut res = {
        use tracing::Instrument;
        next.run(req).instrument(span.clone()).await
    };
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    let route = res.extensions().get::<RouteTemplate>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    // A signed-in caller refused by role: a denial, audited like the out-of-scope ones.
    if let (Some(refused), Some(actor)) = (res.extensions().get::<crate::error::Refused>(), caller.0.get()) {
        let ctx = openiop_domain::auth::Ctx::new(actor.clone(), meta);
        if let Err(e) = openiop_app::accounts::audit_refusal(&state, &ctx, &format!("{method} {route}"), refused.0).await {
            tracing::error!(error = %e, "a refusal could not be audited");
        }
    }
    span.in_scope(|| tracing::info!(status, route = %route, ms = elapsed.as_secs_f64() * 1000.0, "served"));
    state.metrics.observe(method.as_str(), &route, status, elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
}

/// The client's address: the peer's, unless the peer is a trusted reverse proxy, in which case
/// the last address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(peer: Option<std::net::IpAddr>, headers: &axum::http::HeaderMap, trusted: &[std::net::IpAddr]) -> String {
    let Some(peer) = peer else { return "local".to_string() };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded.iter().rev().find(|a| !trusted.contains(a)).copied().unwrap_or(peer).to_string()
}

/// Who made the request, once an extractor has found out.
#[derive(Clone, Default)]
pub struct Caller(pub std::sync::Arc<std::sync::OnceLock<openiop_domain::auth::Actor>>);

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

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if state.config.secure_cookies() {
        // Served over TLS: browsers keep to HTTPS for a year (RFC 6797).
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
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
