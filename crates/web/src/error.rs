//! Errors to HTTP, in one place: JSON for the API, an HTML page for page routes.
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use openiop_domain::{DomainError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// The status for each domain error; the API and the pages agree.
pub fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        DomainError::NotFound(_) => StatusCode::NOT_FOUND,
        DomainError::Forbidden => StatusCode::FORBIDDEN,
        DomainError::Unauthenticated => StatusCode::UNAUTHORIZED,
        DomainError::Rule { code: "csrf_failed", .. } => StatusCode::FORBIDDEN,
        DomainError::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        DomainError::Conflict { .. } => StatusCode::CONFLICT,
        DomainError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Marks a response that refused a signed-in caller's role (403): the request's middleware audits
/// it (see `telemetry::request_context`).
#[derive(Debug, Clone)]
pub struct Refused(pub &'static str);

fn mark_refusal(e: &DomainError, res: &mut Response) {
    if status_of(e) == StatusCode::FORBIDDEN {
        res.extensions_mut().insert(Refused(e.code()));
    }
}

/// The message shown to a person; internal details never leave the server.
fn public_message(e: &DomainError) -> String {
    match e {
        DomainError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            "Something went wrong on our side. It has been logged; please try again.".to_string()
        }
        other => {
            let m = other.to_string();
            let mut c = m.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or(m)
        }
    }
}

/// The JSON error body: a stable `code`, a sentence for people, and field details when useful.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `validation_failed`, `not_found`, `schedule_conflict`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldErrorBody>)]
    pub fields: Vec<FieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// An API error response.
#[derive(Debug)]
pub struct ApiError(pub DomainError);

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let fields = match &self.0 {
            DomainError::Validation(f) => f.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody { code: self.0.code().to_string(), message: public_message(&self.0), fields };
        let mut res = (status, axum::Json(body)).into_response();
        if let DomainError::Throttled { retry_after_seconds, .. } = &self.0
            && let Ok(v) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        mark_refusal(&self.0, &mut res);
        res
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: String,
    message: String,
}

/// A page error response (an HTML page, never a stack trace).
#[derive(Debug)]
pub struct PageError(pub DomainError);

impl From<DomainError> for PageError {
    fn from(e: DomainError) -> Self {
        Self(e)
    }
}

pub fn error_page(status: StatusCode, message: String) -> Response {
    let title = status.canonical_reason().unwrap_or("Error").to_string();
    let page = ErrorPage { status: status.as_u16(), title, message };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, DomainError::Unauthenticated) {
            return axum::response::Redirect::to("/login").into_response();
        }
        let mut res = error_page(status_of(&self.0), public_message(&self.0));
        mark_refusal(&self.0, &mut res);
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
pub type PageResult<T> = Result<T, PageError>;
