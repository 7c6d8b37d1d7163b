//! The auditor's page: search the audit log by user, patient and date range.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use openiop_app::audit::{AuditQuery, search_named};
use openiop_domain::audit::AuditEntry;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    q: AuditQuery,
    entries: Vec<AuditEntry>,
    /// Patient id → (name, MRN).
    patients: std::collections::HashMap<String, (String, String)>,
    candidates: Vec<openiop_domain::patients::PatientSummary>,
    errors: super::FormErrors,
}

pub async fn audit_page(State(state): State<AppState>, staff: Staff, Query(q): Query<AuditQuery>) -> PageResult<Response> {
    let (view, errors) = match search_named(&state, &staff.ctx(), &q).await {
        Ok(v) => (v, super::FormErrors::default()),
        Err(e) => match super::FormErrors::from(&e) {
            Some(errs) => {
                (openiop_app::audit::AuditView { entries: Vec::new(), patients: Default::default(), candidates: Vec::new() }, errs)
            }
            None => return Err(e.into()),
        },
    };
    let status = if errors.any() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    let mut res = render(&AuditPage {
        layout: Layout::staff(&staff, "Audit log", "/audit"),
        q,
        entries: view.entries,
        patients: view.patients,
        candidates: view.candidates,
        errors,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

/// The filtered log as a CSV download (same filters as the page).
pub async fn audit_csv(State(state): State<AppState>, staff: Staff, Query(q): Query<AuditQuery>) -> PageResult<Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let body = openiop_app::audit::export_csv(&state, &staff.ctx(), &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit-log.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
