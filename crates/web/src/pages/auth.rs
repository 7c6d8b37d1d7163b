//! Sign-in with password and TOTP, MFA enrolment with recovery codes, sign-out.
use super::{Layout, render};
use crate::error::PageResult;
use crate::security::{self, totp};
use crate::session::{LOGIN_CSRF_COOKIE, PendingMfa, SESSION_COOKIE, Staff, cookie, new_session, set_cookie};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use openiop_domain::DomainError;
use openiop_domain::audit::{AuditAction, AuditEvent, Outcome};
use openiop_domain::auth::RequestMeta;
use openiop_domain::users::{SessionStage, User};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    email: String,
    error: Option<String>,
    demo_logins: Vec<(String, String)>,
}

/// The demo logins shown on the sign-in page of a demo server (never on a real one).
pub const DEMO_PASSWORD: &str = "demo-password-2026";

async fn login_page(state: &AppState, email: &str, error: Option<String>, status: StatusCode) -> PageResult<Response> {
    let csrf = security::random_token()?;
    let demo_logins = if state.config.demo { crate::demo_gen::logins() } else { Vec::new() };
    let page = LoginPage { layout: Layout::public("Sign in"), csrf: csrf.clone(), email: email.to_string(), error, demo_logins };
    let mut res = render(&page)?;
    *res.status_mut() = status;
    if let Ok(v) = set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, Some(3600)).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

pub async fn login_form(State(state): State<AppState>) -> PageResult<Response> {
    login_page(&state, "", None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn anonymous_event(
    meta: &RequestMeta,
    user: Option<&User>,
    typed_email: &str,
    action: AuditAction,
    outcome: Outcome,
    detail: &str,
) -> AuditEvent {
    AuditEvent {
        organization_id: user.map(|u| u.organization_id),
        user_id: user.map(|u| u.id),
        actor: user.map(|u| u.email.clone()).unwrap_or_else(|| typed_email.trim().to_lowercase().chars().take(254).collect()),
        role: user.map(|u| u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")).unwrap_or_default(),
        patient_id: None,
        action: action.as_str().into(),
        resource_type: "staff_session".into(),
        resource_id: None,
        outcome: outcome.as_str().into(),
        source_ip: meta.source_ip.clone(),
        request_id: meta.request_id.clone(),
        detail: detail.into(),
    }
}

const WRONG: &str = "That email and password do not match an account.";

fn locked_message(minutes: i64) -> String {
    format!("Too many failed attempts. This account is locked for {minutes} more minute(s); try again later or ask an administrator.")
}

fn session_cookie(state: &AppState, value: &str) -> String {
    set_cookie(state, SESSION_COOKIE, value, None)
}

pub async fn login_submit(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult<Response> {
    let now = Utc::now();
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !security::same_secret(&expected, &form.csrf) {
        return login_page(&state, &form.email, Some("This form expired. Please try again.".into()), StatusCode::FORBIDDEN).await;
    }
    // Server-side throttling per source address, shared by every app server through the log.
    let recent = state.store.login_failures_from(&meta.source_ip, now - state.config.ip_window).await?;
    if recent >= state.config.ip_failures_per_window {
        let ev = anonymous_event(&meta, None, &form.email, AuditAction::LoginFailure, Outcome::Denied, "throttled_source");
        state.store.audit(ev).await?;
        let mut res = login_page(
            &state,
            &form.email,
            Some("Too many sign-in attempts from this address. Wait a few minutes and try again.".into()),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await?;
        if let Ok(v) = (state.config.ip_window.num_seconds()).to_string().parse() {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(res);
    }
    let creds = state.store.user_credentials(&form.email).await?;
    if let Some(c) = &creds
        && let Some(until) = c.locked_until.filter(|u| *u > now)
    {
        let ev = anonymous_event(&meta, Some(&c.user), &form.email, AuditAction::LoginLocked, Outcome::Denied, "account_locked");
        state.store.audit(ev).await?;
        let minutes = (until - now).num_minutes() + 1;
        return login_page(&state, &form.email, Some(locked_message(minutes)), StatusCode::TOO_MANY_REQUESTS).await;
    }
    let hash = creds.as_ref().map(|c| c.password_hash.as_str()).unwrap_or(security::dummy_hash());
    let password_ok = {
        let (password, hash) = (form.password.clone(), hash.to_string());
        tokio::task::spawn_blocking(move || security::verify_password(&password, &hash)).await.unwrap_or(false)
    };
    let accepted = creds.as_ref().filter(|c| password_ok && c.user.active).cloned();
    let Some(c) = accepted else {
        let user = creds.map(|c| c.user);
        let detail = if user.is_some() { "wrong_password" } else { "unknown_account" };
        let ev = anonymous_event(&meta, user.as_ref(), &form.email, AuditAction::LoginFailure, Outcome::Failure, detail);
        let locked = state.store.record_login_failure(user.map(|u| u.id), state.config.lockout, now, ev).await?;
        let msg = if locked { locked_message(state.config.lockout.num_minutes_or_one()) } else { WRONG.to_string() };
        return login_page(&state, &form.email, Some(msg), StatusCode::UNAUTHORIZED).await;
    };
    let old = cookie(&headers, SESSION_COOKIE).map(|v| security::sha256_hex(&v));
    if c.user.mfa_exempt {
        // Demo accounts only: the demo organization's staff may skip the second factor.
        let (value, s) = new_session(&c.user, SessionStage::Active)?;
        let ev = anonymous_event(&meta, Some(&c.user), &form.email, AuditAction::LoginSuccess, Outcome::Success, "demo_account_mfa_exempt");
        state.store.record_login_success(c.user.id, old.as_deref(), &s, ev).await?;
        return Ok(([(header::SET_COOKIE, session_cookie(&state, &value))], Redirect::to("/")).into_response());
    }
    let (value, s) = new_session(&c.user, SessionStage::MfaPending)?;
    state.store.rotate_session(old.as_deref().unwrap_or(""), &s, None).await?;
    Ok(([(header::SET_COOKIE, session_cookie(&state, &value))], Redirect::to("/mfa")).into_response())
}

trait Minutes {
    fn num_minutes_or_one(&self) -> i64;
}

impl Minutes for openiop_domain::users::LockoutPolicy {
    fn num_minutes_or_one(&self) -> i64 {
        self.lockout.num_minutes().max(1)
    }
}

#[derive(Template)]
#[template(path = "mfa_enroll.html")]
struct EnrollPage {
    layout: Layout,
    csrf: String,
    otpauth_uri: String,
    qr: String,
    secret: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "mfa_challenge.html")]
struct ChallengePage {
    layout: Layout,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    layout: Layout,
    codes: Vec<String>,
}

async fn enroll_page(state: &AppState, p: &PendingMfa, error: Option<String>, status: StatusCode) -> PageResult<Response> {
    let secret = match &p.session.pending_totp_secret {
        Some(s) => s.clone(),
        None => {
            let s = totp::new_secret()?;
            state.store.set_pending_totp(&p.session.id_hash, Some(&s)).await?;
            s
        }
    };
    let uri = totp::otpauth_uri("OpenIOP", &p.user.email, &secret);
    let page = EnrollPage {
        layout: Layout::public("Set up two-step sign-in"),
        csrf: p.session.csrf_token.clone(),
        qr: totp::qr_data_uri(&uri)?,
        otpauth_uri: uri,
        secret,
        error,
    };
    let mut res = render(&page)?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn mfa_page(State(state): State<AppState>, p: PendingMfa) -> PageResult<Response> {
    if p.user.mfa_enrolled {
        render(&ChallengePage { layout: Layout::public("Two-step sign-in"), csrf: p.session.csrf_token.clone(), error: None })
    } else {
        enroll_page(&state, &p, None, StatusCode::OK).await
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

fn event_for(p: &PendingMfa, action: AuditAction, outcome: Outcome, detail: &str) -> AuditEvent {
    anonymous_event(&p.meta, Some(&p.user), &p.user.email, action, outcome, detail)
}

/// Counts a failed second factor like a failed password (both are guesses at the account).
async fn mfa_failed(state: &AppState, p: &PendingMfa, detail: &str) -> PageResult<Option<Response>> {
    let ev = event_for(p, AuditAction::MfaChallengeFailure, Outcome::Failure, detail);
    let locked = state.store.record_login_failure(Some(p.user.id), state.config.lockout, Utc::now(), ev).await?;
    if locked {
        state.store.end_session(&p.session.id_hash, None).await?;
        return Ok(Some(
            login_page(
                state,
                &p.user.email,
                Some(locked_message(state.config.lockout.num_minutes_or_one())),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await?,
        ));
    }
    Ok(None)
}

async fn locked_now(state: &AppState, p: &PendingMfa) -> PageResult<Option<Response>> {
    let now = Utc::now();
    if let Some(c) = state.store.user_credentials(&p.user.email).await?
        && let Some(until) = c.locked_until.filter(|u| *u > now)
    {
        state.store.end_session(&p.session.id_hash, None).await?;
        let minutes = (until - now).num_minutes() + 1;
        return Ok(Some(login_page(state, &p.user.email, Some(locked_message(minutes)), StatusCode::TOO_MANY_REQUESTS).await?));
    }
    Ok(None)
}

/// Finishes sign-in: a fresh session id replaces the pending one.
async fn complete_login(state: &AppState, p: &PendingMfa, detail: &str) -> PageResult<String> {
    let (value, s) = new_session(&p.user, SessionStage::Active)?;
    let ev = event_for(p, AuditAction::LoginSuccess, Outcome::Success, detail);
    state.store.record_login_success(p.user.id, Some(&p.session.id_hash), &s, ev).await?;
    Ok(session_cookie(state, &value))
}

pub async fn mfa_enroll(State(state): State<AppState>, p: PendingMfa, Form(form): Form<CodeForm>) -> PageResult<Response> {
    if !security::same_secret(&form.csrf, &p.session.csrf_token) {
        return enroll_page(&state, &p, Some("This form expired. Please try again.".into()), StatusCode::FORBIDDEN).await;
    }
    if p.user.mfa_enrolled {
        return Ok(Redirect::to("/mfa").into_response());
    }
    if let Some(r) = locked_now(&state, &p).await? {
        return Ok(r);
    }
    let Some(secret) = p.session.pending_totp_secret.clone() else {
        return enroll_page(&state, &p, None, StatusCode::OK).await;
    };
    let Some(step) = totp::matching_step(&secret, &form.code, Utc::now().timestamp())? else {
        if let Some(r) = mfa_failed(&state, &p, "enrolment_code_wrong").await? {
            return Ok(r);
        }
        return enroll_page(
            &state,
            &p,
            Some("That code did not match. Type the 6-digit code your app shows now.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let codes = security::new_recovery_codes()?;
    let hashes: Vec<String> = codes.iter().map(|c| security::sha256_hex(c)).collect();
    let ev = event_for(&p, AuditAction::MfaEnrolled, Outcome::Success, "totp");
    state.store.enroll_totp(p.user.id, &secret, &hashes, ev).await?;
    state.store.advance_totp_step(p.user.id, step).await?;
    let set = complete_login(&state, &p, "mfa_enrolled").await?;
    let page = RecoveryCodesPage { layout: Layout::public("Save your recovery codes"), codes };
    let mut res = render(&page)?;
    if let Ok(v) = set.parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

pub async fn mfa_submit(State(state): State<AppState>, p: PendingMfa, Form(form): Form<CodeForm>) -> PageResult<Response> {
    let challenge = |error: &str, status: StatusCode| -> PageResult<Response> {
        let mut r = render(&ChallengePage {
            layout: Layout::public("Two-step sign-in"),
            csrf: p.session.csrf_token.clone(),
            error: Some(error.into()),
        })?;
        *r.status_mut() = status;
        Ok(r)
    };
    if !security::same_secret(&form.csrf, &p.session.csrf_token) {
        return challenge("This form expired. Please try again.", StatusCode::FORBIDDEN);
    }
    if let Some(r) = locked_now(&state, &p).await? {
        return Ok(r);
    }
    let creds = state.store.user_credentials(&p.user.email).await?.ok_or(DomainError::Unauthenticated)?;
    let Some(secret) = creds.totp_secret else {
        return Ok(Redirect::to("/mfa").into_response());
    };
    let typed = form.code.trim();
    let accepted = if typed.contains('-') {
        let ev = event_for(&p, AuditAction::RecoveryCodeUsed, Outcome::Success, "recovery_code");
        state.store.use_recovery_code(p.user.id, &security::sha256_hex(&security::normalize_recovery_code(typed)), ev).await?
    } else {
        match totp::matching_step(&secret, typed, Utc::now().timestamp())? {
            // A code is good once: a step at or before the last one used is a replay.
            Some(step) => state.store.advance_totp_step(p.user.id, step).await?,
            None => false,
        }
    };
    if !accepted {
        if let Some(r) = mfa_failed(&state, &p, "code_wrong_or_reused").await? {
            return Ok(r);
        }
        return challenge("That code did not work. Codes can be used once; wait for the next one and try again.", StatusCode::UNAUTHORIZED);
    }
    let set = complete_login(&state, &p, "mfa_passed").await?;
    Ok(([(header::SET_COOKIE, set)], Redirect::to("/")).into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(State(state): State<AppState>, staff: Staff, Form(form): Form<CsrfForm>) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    let ev = AuditEvent::by(&staff.ctx(), None, AuditAction::Logout, "staff_session", None);
    state.store.end_session(&staff.session.id_hash, Some(ev)).await?;
    let clear = set_cookie(&state, SESSION_COOKIE, "", Some(0));
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
