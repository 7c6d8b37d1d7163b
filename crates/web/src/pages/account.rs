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
use openiop_app::accounts;
use openiop_domain::ids::TokenId;
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
    let a = accounts::account(state, &staff.ctx()).await?;
    let p = AccountPage {
        layout: Layout::staff(staff, "My account", "/account"),
        email: a.user.email,
        mfa_enrolled: a.user.mfa_enrolled,
        recovery_left: a.recovery_left,
        tokens: a.tokens,
        new_token,
        error,
        feeds: a.feeds,
        new_feed,
    };
    render(&p)
}

pub async fn account(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    page(&state, &staff, None, None).await
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
    match accounts::issue_token(&state, &staff.ctx(), &form.name).await {
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
    accounts::revoke_token(&state, &staff.ctx(), id).await?;
    Ok(Redirect::to("/account").into_response())
}

/// Subscribes the staff member to their own sessions (iCalendar); the URL is shown once.
pub async fn create_feed(State(state): State<AppState>, staff: Staff, Form(form): Form<CsrfForm>) -> PageResult<Response> {
    staff.check_csrf(&form.csrf)?;
    let token = openiop_app::schedule::create_feed(
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
    openiop_app::schedule::revoke_feed(&state, &staff.ctx(), id).await?;
    Ok(Redirect::to("/account").into_response())
}
