//! Staff accounts: signing in with a password and a second factor (TOTP or a recovery code),
//! lockout and throttling, sign-in sessions with their time limits, personal API tokens.
use crate::App;
use crate::security::{self, totp};
use chrono::{DateTime, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent, Outcome};
use openiop_domain::auth::{Actor, Ctx, RequestMeta};
use openiop_domain::ids::TokenId;
use openiop_domain::schedule::{CalendarFeed, FeedOwner};
use openiop_domain::tenancy::required_text;
use openiop_domain::users::{ApiToken, SessionStage, StaffSession, User};
use openiop_domain::{DomainError, Result};

/// Who a user is when they act.
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
pub fn new_session(user: &User, stage: SessionStage, now: DateTime<Utc>) -> Result<(String, StaffSession)> {
    let cookie_value = security::random_token()?;
    let s = StaffSession {
        id_hash: security::sha256_hex(&cookie_value),
        user_id: user.id,
        stage,
        csrf_token: security::random_token()?,
        created_at: now,
        last_seen_at: now,
        pending_totp_secret: None,
    };
    Ok((cookie_value, s))
}

/// How an account that does not exist is named in the log: a keyed hash of what was typed (it
/// may be a mistyped password or another secret), never the text itself.
pub fn unknown_account(app: &App, typed: &str) -> String {
    format!("unknown:{}", security::keyed_hash(&app.settings.audit_key, &typed.trim().to_lowercase()))
}

/// The audit entry of a sign-in step, by whoever is signing in: the account when the email
/// matches one, else [`unknown_account`].
fn sign_in_event(
    app: &App,
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
        actor: user.map(|u| u.email.clone()).unwrap_or_else(|| unknown_account(app, typed_email)),
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

/// How a password sign-in went.
#[derive(Debug)]
pub enum SignIn {
    /// Too many failures from this address: wait this many seconds.
    Throttled { retry_after_seconds: i64 },
    /// The account is locked for this many more minutes.
    Locked { minutes: i64 },
    /// Email and password do not match an active account; `locked_now` if this failure locked it.
    Refused { locked_now: bool, lockout_minutes: i64 },
    /// Signed in (demo accounts, which skip the second factor): the new session's cookie.
    SignedIn { cookie: String },
    /// Password accepted; the second factor is next, in a new pre-MFA session.
    SecondFactor { cookie: String },
}

fn lockout_minutes(app: &App) -> i64 {
    app.settings.lockout.lockout.num_minutes().max(1)
}

/// Checks a password. `replacing` is the hash of the session cookie the browser came with, if
/// any: it is ended, so every step of signing in gets a new session id.
pub async fn sign_in(app: &App, meta: &RequestMeta, email: &str, password: &str, replacing: Option<&str>) -> Result<SignIn> {
    let now = app.now();
    // Server-side throttling per source address, shared by every app server through the log.
    let policy = app.settings.lockout;
    let unknown = unknown_account(app, email);
    let (recent, creds, unknown_failures) = reading!(app, |w| {
        let recent =
            w.db().recent_events(AuditAction::LoginFailure.as_str(), Some(&meta.source_ip), None, now - app.settings.ip_window).await?;
        let creds = w.db().user_credentials(email).await?;
        // An address with no account locks like one would, so the answer tells nothing.
        let unknown_failures = match &creds {
            Some(_) => 0,
            None => w.db().recent_events(AuditAction::LoginFailure.as_str(), None, Some(&unknown), now - policy.lockout).await?,
        };
        Ok((recent, creds, unknown_failures))
    })?;
    if recent >= app.settings.ip_failures_per_window {
        let ev = sign_in_event(app, meta, None, email, AuditAction::LoginFailure, Outcome::Denied, "throttled_source");
        reading!(app, |w| w.db().audit(ev).await)?;
        return Ok(SignIn::Throttled { retry_after_seconds: app.settings.ip_window.num_seconds() });
    }
    let locked_until = match &creds {
        Some(c) => c.locked_until.filter(|u| *u > now),
        None => (unknown_failures >= policy.max_failures).then(|| now + policy.lockout),
    };
    if let Some(until) = locked_until {
        let ev =
            sign_in_event(app, meta, creds.as_ref().map(|c| &c.user), email, AuditAction::LoginLocked, Outcome::Denied, "account_locked");
        reading!(app, |w| w.db().audit(ev).await)?;
        return Ok(SignIn::Locked { minutes: (until - now).num_minutes() + 1 });
    }
    // Argon2 is slow on purpose: verified outside any unit of work, off the async threads.
    let hash = creds.as_ref().map(|c| c.password_hash.clone()).unwrap_or_else(|| security::dummy_hash().to_string());
    let typed = password.to_string();
    let password_ok = tokio::task::spawn_blocking(move || security::verify_password(&typed, &hash)).await.unwrap_or(false);
    let accepted = creds.as_ref().filter(|c| password_ok && c.user.active).cloned();
    let Some(c) = accepted else {
        let user = creds.map(|c| c.user);
        let detail = if user.is_some() { "wrong_password" } else { "unknown_account" };
        let known = user.is_some();
        let ev = sign_in_event(app, meta, user.as_ref(), email, AuditAction::LoginFailure, Outcome::Failure, detail);
        let locked_now = writing!(app, |w| w.db().record_login_failure(user.map(|u| u.id), policy, now, ev).await)?;
        let locked_now = locked_now || (!known && unknown_failures + 1 >= policy.max_failures);
        return Ok(SignIn::Refused { locked_now, lockout_minutes: lockout_minutes(app) });
    };
    if c.user.mfa_exempt {
        // Demo accounts only: the demo organization's staff may skip the second factor.
        let (cookie, s) = new_session(&c.user, SessionStage::Active, now)?;
        let ev = sign_in_event(app, meta, Some(&c.user), email, AuditAction::LoginSuccess, Outcome::Success, "demo_account_mfa_exempt");
        writing!(app, |w| w.db().record_login_success(c.user.id, replacing, &s, ev).await)?;
        return Ok(SignIn::SignedIn { cookie });
    }
    let (cookie, s) = new_session(&c.user, SessionStage::MfaPending, now)?;
    writing!(app, |w| w.db().rotate_session(replacing.unwrap_or(""), &s, None).await)?;
    Ok(SignIn::SecondFactor { cookie })
}

/// A session between the password and the second factor.
#[derive(Debug, Clone)]
pub struct Pending {
    pub user: User,
    pub session: StaffSession,
    pub meta: RequestMeta,
}

/// How a second-factor step went.
#[derive(Debug)]
pub enum SecondFactor {
    /// Signed in: the new session's cookie (and, after enrolment, the recovery codes to show once).
    SignedIn { cookie: String, recovery_codes: Vec<String> },
    /// The code did not work; the account is not locked (yet).
    Wrong,
    /// The account is locked (by this failure or before): the pre-MFA session has ended.
    Locked { minutes: i64 },
    /// Nothing to check against (no secret being enrolled, or none stored): start again.
    Restart,
}

fn pending_event(app: &App, p: &Pending, action: AuditAction, outcome: Outcome, detail: &str) -> AuditEvent {
    sign_in_event(app, &p.meta, Some(&p.user), &p.user.email, action, outcome, detail)
}

/// The secret being enrolled, made (and kept on the pending session) on first sight.
pub async fn enrolment_secret(app: &App, p: &Pending) -> Result<String> {
    if let Some(s) = &p.session.pending_totp_secret {
        return Ok(s.clone());
    }
    let secret = totp::new_secret()?;
    writing!(app, |w| w.db().set_pending_totp(&p.session.id_hash, Some(&secret)).await)?;
    Ok(secret)
}

/// Whether the account is locked now; a locked account's pre-MFA session is ended.
async fn locked(app: &App, p: &Pending) -> Result<Option<i64>> {
    let now = app.now();
    let creds = reading!(app, |w| w.db().user_credentials(&p.user.email).await)?;
    match creds.and_then(|c| c.locked_until).filter(|u| *u > now) {
        Some(until) => {
            writing!(app, |w| w.db().end_session(&p.session.id_hash, None).await)?;
            Ok(Some((until - now).num_minutes() + 1))
        }
        None => Ok(None),
    }
}

/// Counts a failed second factor like a failed password (both are guesses at the account).
async fn failed(app: &App, p: &Pending, detail: &str) -> Result<SecondFactor> {
    let ev = pending_event(app, p, AuditAction::MfaChallengeFailure, Outcome::Failure, detail);
    let policy = app.settings.lockout;
    let now = app.now();
    let locked_now = writing!(app, |w| {
        let locked_now = w.db().record_login_failure(Some(p.user.id), policy, now, ev).await?;
        if locked_now {
            w.db().end_session(&p.session.id_hash, None).await?;
        }
        Ok(locked_now)
    })?;
    Ok(if locked_now { SecondFactor::Locked { minutes: lockout_minutes(app) } } else { SecondFactor::Wrong })
}

/// Confirms an authenticator app with its first code: the secret, fresh recovery codes, the
/// code's time step (so it cannot be replayed) and the signed-in session are written in one
/// unit of work.
pub async fn enroll(app: &App, p: &Pending, code: &str) -> Result<SecondFactor> {
    if p.user.mfa_enrolled {
        return Ok(SecondFactor::Restart);
    }
    if let Some(minutes) = locked(app, p).await? {
        return Ok(SecondFactor::Locked { minutes });
    }
    let Some(secret) = p.session.pending_totp_secret.clone() else { return Ok(SecondFactor::Restart) };
    let now = app.now();
    let Some(step) = totp::matching_step(&secret, code, now.timestamp())? else {
        return failed(app, p, "enrolment_code_wrong").await;
    };
    let codes = security::new_recovery_codes()?;
    let hashes: Vec<String> = codes.iter().map(|c| security::sha256_hex(c)).collect();
    let (cookie, s) = new_session(&p.user, SessionStage::Active, now)?;
    writing!(app, |w| {
        w.db().enroll_totp(p.user.id, &secret, &hashes, pending_event(app, p, AuditAction::MfaEnrolled, Outcome::Success, "totp")).await?;
        if !w.db().advance_totp_step(p.user.id, step).await? {
            return Err(DomainError::conflict("code_reused", "that code was used already; wait for the next one"));
        }
        let ev = pending_event(app, p, AuditAction::LoginSuccess, Outcome::Success, "mfa_enrolled");
        w.db().record_login_success(p.user.id, Some(&p.session.id_hash), &s, ev).await
    })?;
    Ok(SecondFactor::SignedIn { cookie, recovery_codes: codes })
}

/// Checks a TOTP code (once per time step) or a recovery code (once ever), and signs in.
pub async fn second_factor(app: &App, p: &Pending, code: &str) -> Result<SecondFactor> {
    if let Some(minutes) = locked(app, p).await? {
        return Ok(SecondFactor::Locked { minutes });
    }
    let creds = reading!(app, |w| w.db().user_credentials(&p.user.email).await)?.ok_or(DomainError::Unauthenticated)?;
    let Some(secret) = creds.totp_secret else { return Ok(SecondFactor::Restart) };
    let typed = code.trim();
    let now = app.now();
    let recovery = typed.contains('-');
    let step = if recovery { None } else { totp::matching_step(&secret, typed, now.timestamp())? };
    if !recovery && step.is_none() {
        return failed(app, p, "code_wrong_or_reused").await;
    }
    let (cookie, s) = new_session(&p.user, SessionStage::Active, now)?;
    let accepted = writing!(app, |w| {
        let accepted = match step {
            // A code is good once: a step at or before the last one used is a replay.
            Some(step) => w.db().advance_totp_step(p.user.id, step).await?,
            None => {
                let ev = pending_event(app, p, AuditAction::RecoveryCodeUsed, Outcome::Success, "recovery_code");
                let hash = security::sha256_hex(&security::normalize_recovery_code(typed));
                w.db().use_recovery_code(p.user.id, &hash, ev).await?
            }
        };
        if accepted {
            let ev = pending_event(app, p, AuditAction::LoginSuccess, Outcome::Success, "mfa_passed");
            w.db().record_login_success(p.user.id, Some(&p.session.id_hash), &s, ev).await?;
        }
        Ok(accepted)
    })?;
    if !accepted {
        return failed(app, p, "code_wrong_or_reused").await;
    }
    Ok(SecondFactor::SignedIn { cookie, recovery_codes: Vec::new() })
}

/// Ends a signed-in session.
pub async fn sign_out(app: &App, ctx: &Ctx, session_hash: &str) -> Result<()> {
    let ev = AuditEvent::by(ctx, None, AuditAction::Logout, "staff_session", None);
    writing!(app, |w| w.db().end_session(session_hash, Some(ev)).await)
}

/// Whether a session is within its idle and absolute limits: an expired one is ended on the
/// spot, a live one has its last activity recorded (to the quarter minute: fewer writes).
async fn within_limits(app: &App, s: &StaffSession) -> Result<bool> {
    let now = app.now();
    if app.settings.session.is_expired(s, now) {
        writing!(app, |w| w.db().end_session(&s.id_hash, None).await)?;
        return Ok(false);
    }
    if now - s.last_seen_at > chrono::Duration::seconds(15) {
        writing!(app, |w| w.db().touch_session(&s.id_hash, now).await)?;
    }
    Ok(true)
}

/// A signed-in staff member's session (by the hash of the cookie), with their account and
/// whether their organization is the demo; `None` when there is no live, fully signed-in one.
pub async fn signed_in(app: &App, session_hash: &str) -> Result<Option<(StaffSession, User, bool)>> {
    let Some((s, user, demo)) = reading!(app, |w| w.db().session_user(session_hash).await)? else { return Ok(None) };
    if !within_limits(app, &s).await? || s.stage != SessionStage::Active || !user.active {
        return Ok(None);
    }
    Ok(Some((s, user, demo)))
}

/// A session waiting for its second factor.
pub async fn pending(app: &App, session_hash: &str, meta: &RequestMeta) -> Result<Option<Pending>> {
    let Some(s) = reading!(app, |w| w.db().session(session_hash).await)? else { return Ok(None) };
    if !within_limits(app, &s).await? || s.stage != SessionStage::MfaPending {
        return Ok(None);
    }
    let user = reading!(app, |w| w.db().user(s.user_id).await)?;
    Ok(Some(Pending { user, session: s, meta: meta.clone() }))
}

/// The owner of a personal API token; an unknown or revoked token is audited and refused. An
/// address that keeps sending bad tokens is throttled (and no longer fills the log).
pub async fn api_caller(app: &App, token: &str, meta: &RequestMeta) -> Result<User> {
    let now = app.now();
    let window = app.settings.ip_window;
    let (owner, rejected) = reading!(app, |w| {
        let owner = w.db().token_owner(&security::sha256_hex(token), now).await?;
        let rejected = match &owner {
            Some((_, u)) if u.active => 0,
            _ => w.db().recent_events(AuditAction::TokenRejected.as_str(), Some(&meta.source_ip), None, now - window).await?,
        };
        Ok((owner, rejected))
    })?;
    if rejected >= app.settings.ip_failures_per_window {
        return Err(DomainError::Throttled {
            code: "too_many_attempts",
            message: "too many requests with unknown tokens from this address; wait and try again".into(),
            retry_after_seconds: window.num_seconds().max(1) as u64,
        });
    }
    match owner {
        Some((_, user)) if user.active => Ok(user),
        _ => {
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
            reading!(app, |w| w.db().audit(ev).await)?;
            Err(DomainError::Unauthenticated)
        }
    }
}

/// What "My account" shows.
pub struct Account {
    pub user: User,
    pub recovery_left: i64,
    pub tokens: Vec<ApiToken>,
    pub feeds: Vec<CalendarFeed>,
}

pub async fn account(app: &App, ctx: &Ctx) -> Result<Account> {
    reading!(app, |w| {
        let user = w.db().user(ctx.actor.user_id).await?;
        let feeds = w.db().feeds(user.organization_id, FeedOwner::Staff, &user.id.to_string()).await?;
        let recovery_left = w.db().unused_recovery_codes(user.id).await?;
        let tokens = w.db().tokens(user.id).await?;
        Ok(Account { user, recovery_left, tokens, feeds })
    })
}

/// Creates a personal API token; the value is returned once and stored only as a hash.
pub async fn issue_token(app: &App, ctx: &Ctx, name: &str) -> Result<String> {
    let name = required_text("name", name, 80)?;
    let token = format!("oiop_{}", security::random_token()?);
    let ev = AuditEvent::by(ctx, None, AuditAction::TokenCreated, "api_token", None);
    writing!(app, |w| w.db().create_token(ctx.actor.user_id, &name, &security::sha256_hex(&token), ev).await)?;
    Ok(token)
}

/// Revokes one of the caller's own tokens.
pub async fn revoke_token(app: &App, ctx: &Ctx, id: TokenId) -> Result<()> {
    let ev = AuditEvent::by(ctx, None, AuditAction::TokenRevoked, "api_token", Some(id.to_string()));
    writing!(app, |w| w.db().revoke_token(ctx.actor.user_id, id, ev).await)
}

/// Ends every session past its idle or absolute limit (housekeeping; each is also checked when
/// it is used).
pub async fn end_expired_sessions(app: &App) -> Result<u64> {
    let now = app.now();
    let (idle, absolute) = (app.settings.session.idle, app.settings.session.absolute);
    writing!(app, |w| w.db().end_expired_sessions(now - idle, now - absolute).await)
}

/// Records that a signed-in caller's role does not allow what they asked for (`what`: the
/// method and route template; `code`: why).
pub async fn audit_refusal(app: &App, ctx: &Ctx, what: &str, code: &str) -> Result<()> {
    let ev = AuditEvent::by(ctx, None, AuditAction::AccessDenied, "route", Some(what.chars().take(200).collect()))
        .outcome(Outcome::Denied)
        .detail(&format!("role:{code}"));
    reading!(app, |w| w.db().audit(ev).await)
}
