//! `GET /api/v1/audit-log`: search the audit log (auditors and administrators).
use super::ApiQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use openiop_app::audit::{AuditQuery, search};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Email or user id of the actor.
    user: Option<String>,
    /// Patient id.
    patient: Option<String>,
    /// First day (YYYY-MM-DD, UTC).
    from: Option<String>,
    /// Last day, inclusive (YYYY-MM-DD, UTC).
    to: Option<String>,
    /// Action, e.g. `read`, `login_failure`.
    action: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryBody {
    pub seq: i64,
    pub occurred_at: String,
    pub user_id: Option<String>,
    pub actor: String,
    pub role: String,
    pub patient_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub source_ip: String,
    pub request_id: String,
    pub detail: String,
}

/// Searches the audit log of the caller's organization, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(AuditParams),
    responses((status = 200, body = Vec<AuditEntryBody>), (status = 401, body = ErrorBody),
              (status = 403, description = "Role may not read the audit log", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit_log(
    axum::extract::State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntryBody>>> {
    let q = AuditQuery {
        user: p.user.unwrap_or_default(),
        patient: p.patient.unwrap_or_default(),
        from: p.from.unwrap_or_default(),
        to: p.to.unwrap_or_default(),
        action: p.action.unwrap_or_default(),
    };
    let entries = search(&state, &caller.ctx(), &q).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntryBody {
                seq: e.seq,
                occurred_at: openiop_domain::audit::timestamp_text(e.occurred_at),
                user_id: e.event.user_id.map(|u| u.to_string()),
                actor: e.event.actor,
                role: e.event.role,
                patient_id: e.event.patient_id,
                action: e.event.action,
                resource_type: e.event.resource_type,
                resource_id: e.event.resource_id,
                outcome: e.event.outcome,
                source_ip: e.event.source_ip,
                request_id: e.event.request_id,
                detail: e.event.detail,
            })
            .collect(),
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}
