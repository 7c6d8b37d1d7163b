//! Sites of the caller's organization.
use super::ApiJson;
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::tenancy::{NewSite, Site};
use openiop_domain::{DomainError, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Serialize, ToSchema)]
pub struct SiteBody {
    pub id: String,
    pub name: String,
    pub line1: String,
    pub city: String,
    /// USPS state code.
    pub state: String,
    pub postal_code: String,
    /// IANA time zone.
    pub time_zone: String,
}

impl From<Site> for SiteBody {
    fn from(s: Site) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.name,
            line1: s.address.line1,
            city: s.address.city,
            state: s.address.state.to_string(),
            postal_code: s.address.postal_code,
            time_zone: s.time_zone.name().to_string(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewSiteBody {
    pub name: String,
    pub line1: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub time_zone: String,
}

/// Sites the caller may see.
pub async fn visible_sites(state: &AppState, ctx: &Ctx) -> Result<Vec<Site>> {
    ctx.actor.require(Action::ViewPrograms)?;
    let all = state.store.sites(ctx.org()).await?;
    Ok(all.into_iter().filter(|s| ctx.actor.scope.covers(Some(s.id), None)).collect())
}

/// Adds a site; needs a role that manages programs and an organization-wide scope.
pub async fn add_site(state: &AppState, ctx: &Ctx, body: &NewSiteBody) -> Result<Site> {
    ctx.actor.require(Action::ManagePrograms)?;
    if ctx.actor.scope != Scope::Organization {
        return Err(DomainError::Forbidden);
    }
    let new = NewSite::parse(&body.name, &body.line1, &body.city, &body.state, &body.postal_code, &body.time_zone)?;
    let ev = AuditEvent::by(ctx, ctx.actor.acting_role(Action::ManagePrograms), AuditAction::Create, "site", None);
    state.store.create_site(ctx.org(), new, ev).await
}

/// Lists the sites in the caller's scope.
#[utoipa::path(get, path = "/api/v1/sites", tag = "programs",
    responses((status = 200, body = Vec<SiteBody>), (status = 401, body = ErrorBody)))]
async fn list_sites(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<SiteBody>>> {
    Ok(Json(visible_sites(&state, &caller.ctx()).await?.into_iter().map(SiteBody::from).collect()))
}

/// Creates a site (administrators and clinical directors with organization scope).
#[utoipa::path(post, path = "/api/v1/sites", tag = "programs", request_body = NewSiteBody,
    responses((status = 201, body = SiteBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_site(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewSiteBody>,
) -> ApiResult<(StatusCode, Json<SiteBody>)> {
    let site = add_site(&state, &caller.ctx(), &body).await?;
    Ok((StatusCode::CREATED, Json(SiteBody::from(site))))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_sites, create_site))
}
