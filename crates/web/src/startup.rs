//! Building the application: the store, the router, the server.
use crate::config::Config;
use crate::error::{ApiError, error_page};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::telemetry;
use crate::{api, pages};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use openiop_app::App;
use openiop_domain::{DomainError, Store};
use openiop_store::SqlStore;
use std::net::SocketAddr;
use std::sync::Arc;

/// Connects to the database, applies migrations, and creates the demo organization if asked.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    Ok(build_with_store(config).await?.0)
}

/// [`build_state`], also handing back the store itself (test support seeds data through it).
pub async fn build_with_store(config: Config) -> anyhow::Result<(AppState, SqlStore)> {
    let store = SqlStore::connect(&config.database_url).await.map_err(|e| anyhow::anyhow!("{e}"))?.with_clock(config.clock.clone());
    store.migrate().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if config.demo {
        // The generated small dataset, anchored on today at the demo's sites (New Jersey).
        openiop_demo::ensure_demo(&store, config.clock.clone()).await.map_err(|e| anyhow::anyhow!("creating demo data: {e}"))?;
    }
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let app =
        App::new(shared, config.clock.clone(), config.settings()).with_installation_secret().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((AppState { app, config: Arc::new(config), metrics: Arc::new(Metrics::default()) }, store))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

/// Prometheus metrics, for the scraper that holds the metrics token (no token configured: off).
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let allowed = match (&state.config.metrics_token, presented) {
        (Some(expected), Some(given)) => openiop_app::security::same_secret(expected, given.trim()),
        _ => false,
    };
    if !allowed {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let body = state.metrics.render(state.query_count());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/app.css"),
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError(DomainError::NotFound("resource")).into_response()
    } else {
        error_page(StatusCode::NOT_FOUND, "There is no page at this address.".into())
    }
}

/// Refuses state-changing browser requests that come from another site (Fetch Metadata and
/// Origin checks, the Origin's scheme included); forms also carry a per-session token, checked
/// by each handler.
async fn same_origin_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !req.uri().path().starts_with("/api/") {
        let h = req.headers();
        let cross_site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site" || v == "same-site");
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let scheme = if state.config.secure_cookies() { "https" } else { "http" };
        let ours = [state.config.public_origin(), format!("{scheme}://{host}")];
        let bad_origin =
            h.get(header::ORIGIN).and_then(|v| v.to_str().ok()).is_some_and(|o| !ours.iter().any(|x| x == &o.to_ascii_lowercase()));
        if cross_site || bad_origin {
            return error_page(StatusCode::FORBIDDEN, "This request came from another site and was refused.".into());
        }
    }
    next.run(req).await
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let (api_router, mut openapi) = api::router().split_for_parts();
    api::standard::complete(&mut openapi);
    let mut doc = serde_json::to_value(&openapi).unwrap_or_default();
    api::standard::shape(&mut doc);
    let openapi_json = Arc::new(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string()));
    let pages = Router::new()
        .route("/", get(pages::home::home))
        .route("/login", get(pages::auth::login_form).post(pages::auth::login_submit))
        .route("/mfa", get(pages::auth::mfa_page).post(pages::auth::mfa_submit))
        .route("/mfa/enroll", post(pages::auth::mfa_enroll))
        .route("/logout", post(pages::auth::logout))
        .route("/account", get(pages::account::account))
        .route("/account/tokens", post(pages::account::create_token))
        .route("/account/tokens/{id}/revoke", post(pages::account::revoke_token))
        .route("/account/calendar", post(pages::account::create_feed))
        .route("/account/calendar/{id}/revoke", post(pages::account::revoke_feed))
        .route("/audit", get(pages::audit::audit_page))
        .route("/audit.csv", get(pages::audit::audit_csv))
        .route("/programs/{slug}", get(pages::programs::public_profile))
        .route("/directory/{org}", get(pages::programs::directory))
        .route("/admin/programs", get(pages::programs::programs).post(pages::programs::create_program))
        .route("/admin/programs/{id}", get(pages::programs::program).post(pages::programs::update_program))
        .route("/admin/programs/{id}/tracks", post(pages::programs::create_track))
        .route("/admin/tracks/{id}/template", post(pages::programs::add_template))
        .route("/admin/tracks/{id}/template/{sid}/remove", post(pages::programs::remove_template))
        .route("/admin/staff", get(pages::programs::staff_list))
        .route("/admin/staff/credentials", post(pages::programs::add_credential))
        .route("/admin/staff/{id}/profile", post(pages::programs::save_profile))
        .route("/admin/credentials/{id}/verify", post(pages::programs::verify_credential))
        .route("/admin/sites", get(pages::programs::sites).post(pages::programs::create_site))
        .route("/admin/sites/{id}/rooms", post(pages::programs::create_room))
        .route("/patients", get(pages::patients::search))
        .route("/patients/new", get(pages::patients::new_patient).post(pages::patients::register))
        .route("/patients/{id}", get(pages::patients::chart))
        .route("/patients/{id}/admit", post(pages::patients::admit))
        .route("/patients/{id}/collaterals", post(pages::patients::add_collateral))
        .route("/patients/{id}/coverages", post(pages::patients::add_coverage))
        .route("/patients/{id}/consents", post(pages::patients::add_consent))
        .route("/patients/{id}/consents/{cid}/revoke", post(pages::patients::revoke_consent))
        .route("/referrals", get(pages::patients::referrals).post(pages::patients::create_referral))
        .route("/referrals/{id}", get(pages::patients::referral))
        .route("/referrals/{id}/status", post(pages::patients::referral_status))
        .route("/referrals/{id}/accept", post(pages::patients::accept_referral))
        .route("/episodes/{id}/level", post(pages::patients::change_level))
        .route("/episodes/{id}/track", post(pages::patients::transfer_track))
        .route("/episodes/{id}/status", post(pages::patients::set_status))
        .route("/episodes/{id}/reassessment", post(pages::patients::reassessment))
        .route("/episodes/{id}/diagnoses", post(pages::patients::add_diagnoses))
        .route("/episodes/{id}/discharge", post(pages::patients::discharge))
        .route("/episodes/{id}/discharge-summary", get(pages::patients::discharge_summary))
        .route("/episodes/{id}/discharge-summary.pdf", get(pages::patients::discharge_summary_pdf))
        .route("/patients/{id}/outcomes", get(pages::measurement::patient_outcomes))
        .route("/episodes/{id}/measure", get(pages::measurement::measure_pick))
        .route("/episodes/{id}/measure/{code}", get(pages::measurement::measure_form).post(pages::measurement::measure_submit))
        .route("/episodes/{id}/measurement-links", post(pages::measurement::create_link))
        .route("/episodes/{id}/safety-plan", get(pages::measurement::safety_plan).post(pages::measurement::save_safety_plan))
        .route("/risk-flags/{id}/assess", get(pages::measurement::assess_form).post(pages::measurement::assess_submit))
        .route("/m/{token}", get(pages::measurement::public_link).post(pages::measurement::public_submit))
        .route("/outcomes", get(pages::measurement::program_outcomes))
        .route("/outcomes.csv", get(pages::measurement::program_outcomes_csv))
        .route("/measurement", get(pages::measurement::admin))
        .route("/measurement/import", post(pages::measurement::import))
        .route("/measurement/cadences", post(pages::measurement::add_cadence))
        .route("/measurement/cadences/{id}/remove", post(pages::measurement::remove_cadence))
        .route("/measurement/settings", post(pages::measurement::save_settings));
    Router::new()
        .merge(pages)
        .merge(api_router)
        .route(
            "/api/openapi.json",
            get(move || {
                let json = openapi_json.clone();
                async move { ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json.as_str().to_string()) }
            }),
        )
        .route("/calendar/{file}", get(api::schedule::feed))
        .route("/schedule", get(pages::schedule::calendar))
        .route("/optimizer", get(pages::optimizer::optimizer))
        .route("/optimizer/propose", post(pages::optimizer::propose))
        .route("/optimizer/accept", post(pages::optimizer::accept))
        .route("/schedule/generate", post(pages::schedule::generate))
        .route("/sessions/{id}", get(pages::schedule::session))
        .route("/sessions/{id}/attendance", post(pages::schedule::take_attendance))
        .route("/sessions/{id}/participants", post(pages::schedule::add_participant))
        .route("/sessions/{id}/sign-in-sheet", get(pages::schedule::sign_in_sheet))
        .route("/documentation", get(pages::documentation::home))
        .route("/sessions/{id}/notes", get(pages::documentation::session_notes).post(pages::documentation::write_note))
        .route("/sessions/{id}/group-note", post(pages::documentation::save_group_note))
        .route("/notes/{id}", get(pages::documentation::note))
        .route("/notes/{id}/sign", post(pages::documentation::sign_note))
        .route("/notes/{id}/cosign", post(pages::documentation::cosign_note))
        .route("/notes/{id}/addenda", post(pages::documentation::add_addendum))
        .route("/episodes/{id}/plan", get(pages::documentation::plan).post(pages::documentation::add_thread))
        .route("/plan-versions/{id}/sign", post(pages::documentation::sign_plan))
        .route("/plan-versions/{id}/cosign", post(pages::documentation::cosign_plan))
        .route("/plan-versions/{id}/acknowledge", post(pages::documentation::acknowledge_plan))
        .route("/programs/{id}/hours", get(pages::schedule::program_hours))
        .route("/episodes/{id}/make-ups", get(pages::schedule::make_ups))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(stylesheet))
        .route_layer(middleware::from_fn(telemetry::record_route))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), same_origin_writes))
        .layer(middleware::from_fn(crate::body::read_whole))
        .layer(middleware::from_fn_with_state(state.clone(), telemetry::security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), telemetry::request_context))
        .with_state(state)
}

/// Ends sessions past their time limits every few minutes (they are also checked on each use).
fn spawn_housekeeping(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = openiop_app::accounts::end_expired_sessions(&state).await {
                tracing::warn!(error = %e, "session housekeeping failed");
            }
        }
    });
}

/// A running server (tests use port 0 and read the address).
pub struct Application {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The store behind the app (tests seed data through it).
    pub store: SqlStore,
    listener: tokio::net::TcpListener,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (state, store) = build_with_store(config).await?;
        Ok(Self { addr, state, store, listener })
    }

    pub async fn run(self) -> anyhow::Result<()> {
        spawn_housekeeping(&self.state);
        let app = router(self.state);
        axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    }
}
