//! Sign-in with password and TOTP, MFA enrolment with recovery codes, sign-out.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::{LOGIN_CSRF_COOKIE, PendingMfa, SESSION_COOKIE, Staff, cookie, set_cookie};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use openiop_app::accounts::{self, Pending, SecondFactor, SignIn};
use openiop_app::security::{self, totp};
use openiop_domain::auth::RequestMeta;
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

async fn login_page(state: &AppState, email: &str, error: Option<String>, status: StatusCode) -> PageResult<Response> {
    let csrf = security::random_token()?;
    let demo_logins = if state.config.demo { openiop_demo::logins() } else { Vec::new() };
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
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !security::same_secret(&expected, &form.csrf) {
        return login_page(&state, &form.email, Some("This form expired. Please try again.".into()), StatusCode::FORBIDDEN).await;
    }
    let old = cookie(&headers, SESSION_COOKIE).map(|v| security::sha256_hex(&v));
    match accounts::sign_in(&state, &meta, &form.email, &form.password, old.as_deref()).await? {
        SignIn::Throttled { retry_after_seconds } => {
            let mut res = login_page(
                &state,
                &form.email,
                Some("Too many sign-in attempts from this address. Wait a few minutes and try again.".into()),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await?;
            if let Ok(v) = retry_after_seconds.to_string().parse() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        SignIn::Locked { minutes } => login_page(&state, &form.email, Some(locked_message(minutes)), StatusCode::TOO_MANY_REQUESTS).await,
        SignIn::Refused { locked_now, lockout_minutes } => {
            let msg = if locked_now { locked_message(lockout_minutes) } else { WRONG.to_string() };
            login_page(&state, &form.email, Some(msg), StatusCode::UNAUTHORIZED).await
        }
        SignIn::SignedIn { cookie } => Ok(([(header::SET_COOKIE, session_cookie(&state, &cookie))], Redirect::to("/")).into_response()),
        SignIn::SecondFactor { cookie } => {
            Ok(([(header::SET_COOKIE, session_cookie(&state, &cookie))], Redirect::to("/mfa")).into_response())
        }
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

async fn enroll_page(state: &AppState, p: &Pending, error: Option<String>, status: StatusCode) -> PageResult<Response> {
    let secret = accounts::enrolment_secret(state, p).await?;
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

fn challenge_page(p: &Pending, error: Option<&str>, status: StatusCode) -> PageResult<Response> {
    let mut r = render(&ChallengePage {
        layout: Layout::public("Two-step sign-in"),
        csrf: p.session.csrf_token.clone(),
        error: error.map(str::to_string),
    })?;
    *r.status_mut() = status;
    Ok(r)
}

pub async fn mfa_page(State(state): State<AppState>, PendingMfa(p): PendingMfa) -> PageResult<Response> {
    if p.user.mfa_enrolled { challenge_page(&p, None, StatusCode::OK) } else { enroll_page(&state, &p, None, StatusCode::OK).await }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

pub async fn mfa_enroll(State(state): State<AppState>, PendingMfa(p): PendingMfa, Form(form): Form<CodeForm>) -> PageResult<Response> {
    if !security::same_secret(&form.csrf, &p.session.csrf_token) {
        return enroll_page(&state, &p, Some("This form expired. Please try again.".into()), StatusCode::FORBIDDEN).await;
    }
    match accounts::enroll(&state, &p, &form.code).await? {
        SecondFactor::SignedIn { cookie, recovery_codes } => {
            let page = RecoveryCodesPage { layout: Layout::public("Save your recovery codes"), codes: recovery_codes };
            let mut res = render(&page)?;
            if let Ok(v) = session_cookie(&state, &cookie).parse() {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        SecondFactor::Locked { minutes } => {
            login_page(&state, &p.user.email, Some(locked_message(minutes)), StatusCode::TOO_MANY_REQUESTS).await
        }
        SecondFactor::Wrong => {
            enroll_page(
                &state,
                &p,
                Some("That code did not match. Type the 6-digit code your app shows now.".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        SecondFactor::Restart if p.user.mfa_enrolled => Ok(Redirect::to("/mfa").into_response()),
        SecondFactor::Restart => enroll_page(&state, &p, None, StatusCode::OK).await,
    }
}

pub async fn mfa_submit(State(state): State<AppState>, PendingMfa(p): PendingMfa, Form(form): Form<CodeForm>) -> PageResult<Response> {
    if !security::same_secret(&form.csrf, &p.session.csrf_token) {
        return challenge_page(&p, Some("This form expired. Please try again."), StatusCode::FORBIDDEN);
    }
    match accounts::second_factor(&state, &p, &form.code).await? {
        SecondFactor::SignedIn { cookie, .. } => {
            Ok(([(header::SET_COOKIE, session_cookie(&state, &cookie))], Redirect::to("/")).into_response())
        }
        SecondFactor::Locked { minutes } => {
            login_page(&state, &p.user.email, Some(locked_message(minutes)), StatusCode::TOO_MANY_REQUESTS).await
        }
        SecondFactor::Wrong => challenge_page(
            &p,
            Some("That code did not work. Codes can be used once; wait for the next one and try again."),
            StatusCode::UNAUTHORIZED,
        ),
        SecondFactor::Restart => Ok(Redirect::to("/mfa").into_response()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(State(state): State<AppState>, staff: Staff, Form(form): Form<CsrfForm>) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    accounts::sign_out(&state, &staff.ctx(), &staff.session.id_hash).await?;
    let clear = set_cookie(&state, SESSION_COOKIE, "", Some(0));
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
