//! Answers every operation can give besides its own, added to the OpenAPI document in one
//! place so that it describes what the server really does (schemathesis checks every status it
//! sees against the document):
//!
//! - 401 without a valid token (every operation but the public ones), 429 when an address keeps
//!   sending unknown tokens;
//! - 403 when the caller's role may not do this;
//! - 404 when a record named in the path is not there for the caller (missing, another
//!   organization's or out of scope, alike);
//! - 422 when the query string or the body does not parse (`invalid_query`, `invalid_json`,
//!   field errors), 413 when the body is too large, 415 when it is not JSON;
//! - 409 on writes (a record changed meanwhile, a rule that depends on other records) and on
//!   reads of a record whose state does not allow them.
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build(),
    )
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_string()).or_insert_with(|| error(description));
}

fn complete_operation(path: &str, write: bool, op: &mut Operation) {
    let public = path.starts_with("/api/v1/public/");
    if !public {
        add(op, "401", "No valid token (unauthenticated)");
        add(op, "403", "The caller's role may not do this");
        add(op, "429", "Too many attempts from this address (throttled)");
    }
    if path.contains('{') {
        add(op, "404", "Not found (or not in the caller's scope)");
        // A record in a state that does not allow this (a cancelled session's notes, the
        // summary of an episode not yet discharged).
        add(op, "409", "The record's state does not allow this");
    }
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter().any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)))
    });
    if has_query || op.request_body.is_some() {
        add(op, "422", "The request does not parse or a field is refused (see fields)");
    }
    if op.request_body.is_some() {
        add(op, "413", "The body is too large");
        add(op, "415", "The body is not JSON");
    }
    if write {
        add(op, "409", "A rule that depends on other records refuses it, or the record changed meanwhile");
        add(op, "422", "A field is refused (see fields)");
    }
}

/// Properties that hold a calendar date (`YYYY-MM-DD`).
const DATE_FIELDS: [&str; 12] = [
    "date",
    "date_of_birth",
    "admitted_on",
    "issued_on",
    "expires_on",
    "signed_on",
    "target_date",
    "planned_discharge_on",
    "administered_on",
    "received_on",
    "local_date",
    "due_on",
];

/// Gives the document's free strings the shape the server parses: dates as `format: date`, ids
/// in paths as `format: uuid`, ISO weeks by pattern, and closed vocabularies (documented as
/// `a | b | c`) of request bodies as enums.
pub fn shape(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (name, schema) in schemas.iter_mut() {
            let request = !name.ends_with("Body");
            let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else { continue };
            for (field, p) in props.iter_mut() {
                let is_string = p.get("type").is_some_and(|t| t == "string" || t.as_array().is_some_and(|a| a.contains(&json!("string"))));
                if !is_string {
                    continue;
                }
                if DATE_FIELDS.contains(&field.as_str()) && p.get("format").is_none() {
                    p["format"] = json!("date");
                }
                let words: Option<Vec<String>> = p.get("description").and_then(Value::as_str).and_then(|d| {
                    let line = d.lines().next()?.trim();
                    let parts: Vec<&str> = line.split(" | ").map(str::trim).collect();
                    (parts.len() > 1
                        && parts
                            .iter()
                            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())))
                    .then(|| parts.into_iter().map(String::from).collect())
                });
                if request && let Some(words) = words {
                    p["enum"] = json!(words);
                }
            }
        }
    }
    if let Some(paths) = doc.pointer_mut("/paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for op in item.values_mut() {
                let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
                for param in params {
                    let (Some(name), Some(place)) = (param["name"].as_str().map(String::from), param["in"].as_str().map(String::from))
                    else {
                        continue;
                    };
                    if place == "path" && (name == "id" || name.ends_with("_id")) {
                        param["schema"] = json!({"type": "string", "format": "uuid"});
                    } else if name == "week" {
                        param["schema"] = json!({"type": ["string", "null"], "pattern": "^[0-9]{4}-W[0-9]{2}$"});
                    }
                }
            }
        }
    }
}

/// Adds the standard answers to every operation of `doc`.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let PathItem { get, put, post, delete, patch, .. } = item;
        if let Some(op) = get {
            complete_operation(path, false, op);
        }
        for op in [put, post, delete, patch].into_iter().flatten() {
            complete_operation(path, true, op);
        }
    }
}

#[cfg(test)]
mod tests {
    /// utoipa names a schema after its Rust type: two types of one name in different modules
    /// would silently share one schema, and one of the operations would be documented wrongly.
    #[test]
    fn every_api_schema_has_a_name_of_its_own() {
        let sources = [
            include_str!("audit.rs"),
            include_str!("documentation.rs"),
            include_str!("me.rs"),
            include_str!("measurement.rs"),
            include_str!("patients.rs"),
            include_str!("programs.rs"),
            include_str!("schedule.rs"),
            include_str!("sites.rs"),
            include_str!("../error.rs"),
        ];
        let mut names: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.trim().strip_prefix("pub struct "))
            .filter_map(|l| l.split([' ', '{', '(', '<']).next())
            .collect();
        names.sort_unstable();
        let dupes: Vec<&&str> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
        assert!(dupes.is_empty(), "schema names used twice: {dupes:?}");
    }
}
