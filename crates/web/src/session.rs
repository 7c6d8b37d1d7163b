//! Who is calling: staff sessions (cookies) for pages, personal tokens (bearer) for the API.
use crate::error::{ApiError, PageError};
use crate::security::{random_token, same_secret, sha256_hex};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::Utc;
use openiop_domain::audit::{AuditAction, AuditEvent, Outcome};
use openiop_domain::auth::{Actor, Ctx, RequestMeta};
use openiop_domain::users::{SessionStage, StaffSession, User};
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

pub fn actor_of(user: User) -> Actor {
    Actor {
        user_id: user.id,
        organization_id: user.organization_id,
        email: user.email,
        name: user.name,
        roles: user.roles,
        scope: user.scope,
    }
}

/// A new session record and the cookie value that names it (only the hash is stored).
pub fn new_session(user: &User, stage: SessionStage) -> Result<(String, StaffSession)> {
    let cookie_value = random_token()?;
    let now = Utc::now();
    let s = StaffSession {
        id_hash: sha256_hex(&cookie_value),
        user_id: user.id,
        stage,
        csrf_token: random_token()?,
        created_at: now,
        last_seen_at: now,
        pending_totp_secret: None,
    };
    Ok((cookie_value, s))
}

/// The session named by the request's cookie, if it is still within its time limits.
/// An expired session is ended on the spot.
async fn live_session(state: &AppState, parts: &Parts) -> Result<Option<StaffSession>> {
    let Some(hash) = session_hash(parts) else { return Ok(None) };
    let Some(s) = state.store.session(&hash).await? else { return Ok(None) };
    Ok(within_limits(state, &hash, &s).await?.then_some(s))
}

/// The hash of the request's session cookie, if it has one.
fn session_hash(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE).map(|value| sha256_hex(&value))
}

/// Whether a session is within its idle and absolute time limits; an expired one is ended on
/// the spot, a live one has its last activity recorded.
async fn within_limits(state: &AppState, hash: &str, s: &StaffSession) -> Result<bool> {
    let now = Utc::now();
    if state.config.session.is_expired(s, now) {
        state.store.end_session(hash, None).await?;
        return Ok(false);
    }
    // Idle time is tracked to the quarter minute; fewer writes on busy pages.
    if now - s.last_seen_at > chrono::Duration::seconds(15) {
        state.store.touch_session(hash, now).await?;
    }
    Ok(true)
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
        // Session, user and organization in one read; then the same time limits as `live_session`.
        let Some(hash) = session_hash(parts) else { return Err(DomainError::Unauthenticated.into()) };
        let Some((s, user, demo)) = state.store.session_user(&hash).await? else { return Err(DomainError::Unauthenticated.into()) };
        if !within_limits(state, &hash, &s).await? || s.stage != SessionStage::Active || !user.active {
            return Err(DomainError::Unauthenticated.into());
        }
        Ok(Staff { actor: actor_of(user), session: s, meta: meta(parts), demo })
    }
}

/// A session between password and second factor.
pub struct PendingMfa {
    pub user: User,
    pub session: StaffSession,
    pub meta: RequestMeta,
}

impl FromRequestParts<AppState> for PendingMfa {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let s = live_session(state, parts).await?.ok_or(DomainError::Unauthenticated)?;
        if s.stage != SessionStage::MfaPending {
            return Err(DomainError::Unauthenticated.into());
        }
        let user = state.store.user(s.user_id).await?;
        Ok(PendingMfa { user, session: s, meta: meta(parts) })
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
        match state.store.token_owner(&sha256_hex(token), Utc::now()).await? {
            Some((_, user)) => Ok(ApiCaller { actor: actor_of(user), meta }),
            None => {
                let ev = AuditEvent {
                    organization_id: None,
                    user_id: None,
                    actor: String::new(),
                    role: String::new(),
                    patient_id: None,
                    action: AuditAction::TokenRejected.as_str().into(),
                    resource_type: "api_token".into(),
                    resource_id: None,
                    outcome: Outcome::Failure.as_str().into(),
                    source_ip: meta.source_ip.clone(),
                    request_id: meta.request_id.clone(),
                    detail: "unknown_or_revoked".into(),
                };
                state.store.audit(ev).await?;
                Err(DomainError::Unauthenticated.into())
            }
        }
    }
}
