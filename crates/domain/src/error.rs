//! One error enum for the domain. The web crate maps it to HTTP in one place.
use serde::Serialize;

/// A problem with one input field, shown beside that field in a form or listed in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Input that does not parse or breaks a rule about its own shape.
    #[error("some fields need attention")]
    Validation(Vec<FieldError>),
    /// The record does not exist, or exists outside the caller's scope (we answer 404 for both,
    /// so that scope never leaks whether a record exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but their roles do not allow this action.
    #[error("your role does not allow this action")]
    Forbidden,
    /// No valid session or token.
    #[error("sign in first")]
    Unauthenticated,
    /// A rule of the clinic refuses the change; `code` is stable and machine-readable.
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    /// The request conflicts with the current state (duplicate, already signed, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many attempts: wait and retry.
    #[error("{message}")]
    Throttled { code: &'static str, message: String, retry_after_seconds: u64 },
    /// Storage or other infrastructure failure; details are logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl DomainError {
    pub fn field(field: &str, code: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn rule(code: &'static str, message: impl Into<String>) -> Self {
        Self::Rule { code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// The stable machine code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::NotFound(_) => "not_found",
            Self::Forbidden => "forbidden",
            Self::Unauthenticated => "unauthenticated",
            Self::Rule { code, .. } | Self::Conflict { code, .. } | Self::Throttled { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Collects field errors while parsing a form, then fails once with all of them.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value if it parsed, or records the error against `field`.
    pub fn take<T>(&mut self, field: &str, parsed: Result<T>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(DomainError::Validation(errs)) => {
                for mut e in errs {
                    e.field = field.to_string();
                    self.0.push(e);
                }
                None
            }
            Err(other) => {
                self.0.push(FieldError::new(field, other.code(), other.to_string()));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, code: &str, message: &str) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok when nothing was recorded, otherwise one `Validation` error carrying every field.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(DomainError::Validation(self.0)) }
    }
}
