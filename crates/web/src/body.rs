//! Request bodies, read once and whole before any handler runs: over the limit is 413 (with or
//! without a Content-Length, chunked too), text with a NUL character is refused (PostgreSQL
//! cannot store it, SQLite would keep it), and a body a handler does not read is still consumed,
//! so the connection stays usable for the next request.
use crate::error::{ApiError, PageError};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openiop_domain::DomainError;

/// The largest body accepted (a FHIR Questionnaire import is the biggest thing a form sends).
pub const LIMIT: usize = 2 * 1024 * 1024;

fn refuse(api: bool, e: DomainError, status: StatusCode) -> Response {
    let mut res = if api { ApiError(e).into_response() } else { PageError(e).into_response() };
    *res.status_mut() = status;
    res
}

fn too_large(api: bool) -> Response {
    refuse(
        api,
        DomainError::field("body", "body_too_large", &format!("the request is larger than {} MB", LIMIT / (1024 * 1024))),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// A NUL character, raw or escaped the way a form or a query string (`%00`) writes it.
pub fn has_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00")
}

/// A NUL character raw or escaped the way JSON writes it (`\u0000`).
pub fn has_json_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(6).any(|w| w[0] == b'\\' && (w[1] == b'u' || w[1] == b'U') && &w[2..] == b"0000")
}

fn nul_refused(api: bool) -> Response {
    refuse(api, DomainError::field("body", "invalid_text", "text may not contain NUL characters"), StatusCode::UNPROCESSABLE_ENTITY)
}

pub async fn read_whole(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/fhir/");
    if req.uri().query().is_some_and(|q| has_nul(q.as_bytes())) {
        return nul_refused(api);
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > LIMIT) {
        return too_large(api);
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, LIMIT).await {
        Ok(b) => b,
        // Over the limit while streaming (chunked): 413 as well. A body that broke off midway
        // is the client's problem, and answered as a bad request.
        Err(e) if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) => return too_large(api),
        Err(_) => {
            return refuse(api, DomainError::field("body", "invalid_body", "the request body could not be read"), StatusCode::BAD_REQUEST);
        }
    };
    if if form { has_nul(&bytes) } else { has_json_nul(&bytes) } {
        return nul_refused(api);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::{has_json_nul, has_nul};

    #[test]
    fn nul_characters_are_found_raw_and_escaped() {
        assert!(has_nul(b"name=a%00b"));
        assert!(has_json_nul(br#"{"name":"a\u0000b"}"#));
        assert!(has_nul(b"a\0b") && has_json_nul(b"a\0b"));
        assert!(!has_json_nul(br#"{"name":"Zo\u00eb 100%00"}"#));
        assert!(!has_nul(b"note=100%25"));
    }
}
