//! The page form extractor: `application/x-www-form-urlencoded` bodies, with repeated `name[]`
//! fields collected into a list and checkboxes read as booleans.
use axum::extract::{FromRequest, Request};
use openiop_domain::DomainError;

/// Checkbox fields whose default value `on` means `true` (besides every `is_…` field).
const CHECKBOXES: &[&str] =
    &["telehealth_trained", "allow_duplicate", "revocation_explained", "refusal_consequences_explained", "redisclosure_notice_given"];

fn is_checkbox(key: &str) -> bool {
    key.starts_with("is_") || CHECKBOXES.contains(&key)
}

/// A form body parsed into `T`: `name[]` fields become a list, a checked checkbox (`on`) becomes
/// `true` (an unchecked one is absent, so use `#[serde(default)]`).
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = crate::error::PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| DomainError::field("body", "invalid_body", "could not read the form"))?;
        let mut map = serde_json::Map::new();
        for (k, v) in url_pairs(&bytes) {
            let (key, many) = match k.strip_suffix("[]") {
                Some(base) => (base.to_string(), true),
                None => (k, false),
            };
            let value = if v == "on" && is_checkbox(&key) { serde_json::Value::Bool(true) } else { serde_json::Value::String(v) };
            if many {
                if let serde_json::Value::Array(a) = map.entry(key).or_insert_with(|| serde_json::Value::Array(vec![])) {
                    a.push(value);
                }
            } else {
                map.insert(key, value);
            }
        }
        serde_json::from_value(serde_json::Value::Object(map))
            .map(Form)
            .map_err(|e| DomainError::field("body", "invalid_form", &e.to_string()).into())
    }
}

fn url_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}
