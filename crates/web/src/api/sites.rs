//! Sites of the caller's organization.
use super::ApiJson;
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openiop_app::sites;
use openiop_domain::tenancy::{Site, SiteForm};
use serde::Serialize;
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

/// Lists the sites in the caller's scope.
#[utoipa::path(get, path = "/api/v1/sites", tag = "programs",
    responses((status = 200, body = Vec<SiteBody>), (status = 401, body = ErrorBody)))]
async fn list_sites(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<SiteBody>>> {
    Ok(Json(sites::visible_sites(&state, &caller.ctx()).await?.into_iter().map(SiteBody::from).collect()))
}

/// Creates a site (administrators and clinical directors with organization scope).
#[utoipa::path(post, path = "/api/v1/sites", tag = "programs", request_body = SiteForm,
    responses((status = 201, body = SiteBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_site(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<SiteForm>,
) -> ApiResult<(StatusCode, Json<SiteBody>)> {
    let site = sites::add_site(&state, &caller.ctx(), &body).await?;
    Ok((StatusCode::CREATED, Json(SiteBody::from(site))))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_sites, create_site))
}
