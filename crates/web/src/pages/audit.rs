//! The auditor's page: search the audit log by user, patient and date range.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use openiop_app::audit::{AuditQuery, search};
use openiop_domain::audit::AuditEntry;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    q: AuditQuery,
    entries: Vec<AuditEntry>,
    errors: super::FormErrors,
}

pub async fn audit_page(State(state): State<AppState>, staff: Staff, Query(q): Query<AuditQuery>) -> PageResult<Response> {
    let (entries, errors) = match search(&state, &staff.ctx(), &q).await {
        Ok(e) => (e, super::FormErrors::default()),
        Err(e) => match super::FormErrors::from(&e) {
            Some(errs) => (Vec::new(), errs),
            None => return Err(e.into()),
        },
    };
    let status = if errors.any() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    let mut res = render(&AuditPage { layout: Layout::staff(&staff, "Audit log", "/audit"), q, entries, errors })?;
    *res.status_mut() = status;
    Ok(res)
}
