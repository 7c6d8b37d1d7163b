//! My account: two-step sign-in status and personal API tokens.
use super::auth::CsrfForm;
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use openiop_domain::Result;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::Ctx;
use openiop_domain::ids::TokenId;
use openiop_domain::tenancy::required_text;
use openiop_domain::users::ApiToken;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    mfa_enrolled: bool,
    recovery_left: i64,
    tokens: Vec<ApiToken>,
    new_token: Option<String>,
    error: Option<String>,
    feeds: Vec<openiop_domain::schedule::CalendarFeed>,
    new_feed: Option<String>,
}

async fn page(state: &AppState, staff: &Staff, new_token: Option<String>, error: Option<String>) -> PageResult<Response> {
    page_with_feed(state, staff, new_token, error, None).await
}

async fn page_with_feed(
    state: &AppState,
    staff: &Staff,
    new_token: Option<String>,
    error: Option<String>,
    new_feed: Option<String>,
) -> PageResult<Response> {
    let user = state.store.user(staff.actor.user_id).await?;
    let feeds = state.store.feeds(user.organization_id, openiop_domain::schedule::FeedOwner::Staff, &user.id.to_string()).await?;
    let p = AccountPage {
        layout: Layout::staff(staff, "My account", "/account"),
        email: user.email,
        mfa_enrolled: user.mfa_enrolled,
        recovery_left: state.store.unused_recovery_codes(user.id).await?,
        tokens: state.store.tokens(user.id).await?,
        new_token,
        error,
        feeds,
        new_feed,
    };
    render(&p)
}

pub async fn account(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    page(&state, &staff, None, None).await
}

/// Creates a personal API token; the value is shown once and stored only as a hash.
pub async fn issue_token(state: &AppState, ctx: &Ctx, name: &str) -> Result<String> {
    let name = required_text("name", name, 80)?;
    let token = format!("oiop_{}", crate::security::random_token()?);
    let ev = AuditEvent::by(ctx, None, AuditAction::TokenCreated, "api_token", None);
    state.store.create_token(ctx.actor.user_id, &name, &crate::security::sha256_hex(&token), ev).await?;
    Ok(token)
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create_token(State(state): State<AppState>, staff: Staff, Form(form): Form<TokenForm>) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    match issue_token(&state, &staff.ctx(), &form.name).await {
        Ok(token) => page(&state, &staff, Some(token), None).await,
        Err(openiop_domain::DomainError::Validation(_)) => page(&state, &staff, None, Some("Give the token a name.".into())).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    let id: TokenId = id.parse().map_err(|_| openiop_domain::DomainError::NotFound("token"))?;
    let ev = AuditEvent::by(&staff.ctx(), None, AuditAction::TokenRevoked, "api_token", Some(id.to_string()));
    state.store.revoke_token(staff.actor.user_id, id, ev).await?;
    Ok(Redirect::to("/account").into_response())
}

/// Subscribes the staff member to their own sessions (iCalendar); the URL is shown once.
pub async fn create_feed(State(state): State<AppState>, staff: Staff, Form(form): Form<CsrfForm>) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    let token = crate::usecases::schedule::create_feed(
        &state,
        &staff.ctx(),
        openiop_domain::schedule::FeedOwner::Staff,
        &staff.actor.user_id.to_string(),
    )
    .await?;
    let url = format!("{}/calendar/{token}.ics", state.config.public_url.trim_end_matches('/'));
    page_with_feed(&state, &staff, None, None, Some(url)).await
}

pub async fn revoke_feed(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    let id = id.parse().map_err(|_| openiop_domain::DomainError::NotFound("calendar feed"))?;
    let mine = state
        .store
        .feeds(staff.actor.organization_id, openiop_domain::schedule::FeedOwner::Staff, &staff.actor.user_id.to_string())
        .await?;
    if !mine.iter().any(|f| f.id == id) {
        return Err(openiop_domain::DomainError::NotFound("calendar feed").into());
    }
    crate::usecases::schedule::revoke_feed(&state, &staff.ctx(), id).await?;
    Ok(Redirect::to("/account").into_response())
}
