//! Who is calling: staff sessions (cookies) for pages, personal tokens (bearer) for the API.
use crate::error::{ApiError, PageError};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use openiop_app::accounts::{self, actor_of};
use openiop_app::security::{same_secret, sha256_hex};
use openiop_domain::auth::{Actor, Ctx, RequestMeta};
use openiop_domain::users::StaffSession;
use openiop_domain::{DomainError, Result};

pub const SESSION_COOKIE: &str = "openiop_session";
pub const LOGIN_CSRF_COOKIE: &str = "openiop_login_csrf";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when served over TLS.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_seconds: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_seconds {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.config.secure_cookies() {
        c.push_str("; Secure");
    }
    c
}

pub fn meta(parts: &Parts) -> RequestMeta {
    parts.extensions.get::<RequestMeta>().cloned().unwrap_or_default()
}

/// Tells the request's middleware who is calling (it audits a refusal by role).
fn remember(parts: &Parts, actor: &Actor) {
    if let Some(c) = parts.extensions.get::<crate::telemetry::Caller>() {
        let _ = c.0.set(actor.clone());
    }
}

/// The hash of the request's session cookie, if it has one.
fn session_hash(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE).map(|value| sha256_hex(&value))
}

/// A signed-in staff member on a page route; anyone else is sent to the sign-in page.
pub struct Staff {
    pub actor: Actor,
    pub session: StaffSession,
    pub meta: RequestMeta,
    pub demo: bool,
}

impl Staff {
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.actor.clone(), self.meta.clone())
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, token: &str) -> Result<()> {
        if same_secret(token, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(DomainError::rule("csrf_failed", "This form has expired. Go back, reload the page and try again."))
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(hash) = session_hash(parts) else { return Err(DomainError::Unauthenticated.into()) };
        let Some((s, user, demo)) = accounts::signed_in(state, &hash).await? else { return Err(DomainError::Unauthenticated.into()) };
        let actor = actor_of(user);
        remember(parts, &actor);
        Ok(Staff { actor, session: s, meta: meta(parts), demo })
    }
}

/// A session between password and second factor.
pub struct PendingMfa(pub accounts::Pending);

impl FromRequestParts<AppState> for PendingMfa {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let hash = session_hash(parts).ok_or(DomainError::Unauthenticated)?;
        let p = accounts::pending(state, &hash, &meta(parts)).await?.ok_or(DomainError::Unauthenticated)?;
        Ok(PendingMfa(p))
    }
}

/// A caller of the JSON API, by personal token (`Authorization: Bearer …`).
pub struct ApiCaller {
    pub actor: Actor,
    pub meta: RequestMeta,
}

impl ApiCaller {
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.actor.clone(), self.meta.clone())
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let meta = meta(parts);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let Some(token) = bearer else {
            return Err(DomainError::Unauthenticated.into());
        };
        let user = accounts::api_caller(state, token, &meta).await?;
        let actor = actor_of(user);
        remember(parts, &actor);
        Ok(ApiCaller { actor, meta })
    }
}
