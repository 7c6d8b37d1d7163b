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
}

async fn page(state: &AppState, staff: &Staff, new_token: Option<String>, error: Option<String>) -> PageResult<Response> {
    let user = state.store.user(staff.actor.user_id).await?;
    let p = AccountPage {
        layout: Layout::staff(staff, "My account", "/account"),
        email: user.email,
        mfa_enrolled: user.mfa_enrolled,
        recovery_left: state.store.unused_recovery_codes(user.id).await?,
        tokens: state.store.tokens(user.id).await?,
        new_token,
        error,
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
