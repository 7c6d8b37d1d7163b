//! `GET /api/v1/me`: the caller.
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use openiop_domain::auth::Scope;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub organization_id: String,
    /// Roles, e.g. `clinician`, `clinical_director`.
    pub roles: Vec<String>,
    pub scope: ScopeBody,
}

#[derive(Serialize, ToSchema)]
pub struct ScopeBody {
    /// `organization` or `units`.
    pub kind: String,
    pub site_ids: Vec<String>,
    pub program_ids: Vec<String>,
}

impl From<&Scope> for ScopeBody {
    fn from(s: &Scope) -> Self {
        match s {
            Scope::Organization => Self { kind: "organization".into(), site_ids: vec![], program_ids: vec![] },
            Scope::Units { sites, programs } => Self {
                kind: "units".into(),
                site_ids: sites.iter().map(|x| x.to_string()).collect(),
                program_ids: programs.iter().map(|x| x.to_string()).collect(),
            },
        }
    }
}

/// The caller: email, name, roles and scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity",
    responses((status = 200, body = Me), (status = 401, description = "No or invalid token", body = ErrorBody)))]
async fn me(caller: ApiCaller) -> ApiResult<Json<Me>> {
    let a = caller.actor;
    Ok(Json(Me {
        id: a.user_id.to_string(),
        email: a.email,
        name: a.name,
        organization_id: a.organization_id.to_string(),
        roles: a.roles.iter().map(|r| r.as_str().to_string()).collect(),
        scope: ScopeBody::from(&a.scope),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}
