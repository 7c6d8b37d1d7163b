//! The JSON API under `/api/v1`, described by OpenAPI at `/api/openapi.json`.
pub mod audit;
pub mod documentation;
pub mod me;
pub mod measurement;
pub mod patients;
pub mod programs;
pub mod schedule;
pub mod sites;
pub mod standard;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use openiop_domain::DomainError;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// A JSON body whose parse errors answer in our error format (`invalid_json`, 422 / 415).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(ApiError(json_rejection(rej))),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> DomainError {
    match rej {
        JsonRejection::MissingJsonContentType(_) => DomainError::rule("unsupported_media_type", "send the body as application/json"),
        JsonRejection::JsonDataError(e) => DomainError::field("body", "invalid_field", &e.body_text()),
        JsonRejection::JsonSyntaxError(_) => DomainError::field("body", "invalid_json", "the body is not valid JSON"),
        other => DomainError::field("body", "invalid_body", &other.body_text()),
    }
}

/// Query parameters whose parse errors answer in our error format.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => Err(ApiError(query_rejection(rej))),
        }
    }
}

fn query_rejection(rej: QueryRejection) -> DomainError {
    DomainError::field("query", "invalid_query", &rej.body_text())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token (openiop token create, or My account)."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "OpenIOP API", description = "Intensive outpatient programs: programs, patients, schedules, hours, documentation and outcomes. Every call needs a personal token; out-of-scope records answer 404."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(crate::error::ErrorBody, crate::error::FieldErrorBody))
)]
pub struct ApiDoc;

/// Every API route, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(me::router())
        .merge(audit::router())
        .merge(sites::router())
        .merge(programs::router())
        .merge(patients::router())
        .merge(measurement::router())
        .merge(schedule::router())
        .merge(documentation::router())
}
