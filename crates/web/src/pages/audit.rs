//! The auditor's page: search the audit log by user, patient and date range.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use openiop_domain::audit::{AuditAction, AuditEntry, AuditEvent};
use openiop_domain::auth::Action;
use openiop_domain::error::Fields;
use openiop_domain::store::AuditFilter;
use openiop_domain::{DomainError, Result};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub patient: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub action: String,
}

fn date(field: &str, s: &str) -> Result<Option<NaiveDate>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| DomainError::field(field, "invalid_date", "use a date like 2026-11-27"))
}

impl AuditQuery {
    /// Parses the filters; a range that ends before it starts is refused.
    pub fn filter(&self) -> Result<AuditFilter> {
        let mut f = Fields::new();
        let from = f.take("from", date("from", &self.from)).flatten();
        let to = f.take("to", date("to", &self.to)).flatten();
        if let (Some(a), Some(b)) = (from, to)
            && b < a
        {
            f.push("to", "range_reversed", "must be on or after the start date");
        }
        f.finish()?;
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(AuditFilter { user: opt(&self.user), patient_id: opt(&self.patient), from, to, action: opt(&self.action), limit: 200 })
    }
}

/// Searches the log for the caller's organization; the search itself is audited.
pub async fn search(state: &AppState, ctx: &openiop_domain::auth::Ctx, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    ctx.actor.require(Action::ViewAuditLog)?;
    let filter = q.filter()?;
    let ev = AuditEvent::by(ctx, ctx.actor.acting_role(Action::ViewAuditLog), AuditAction::Search, "audit_log", None);
    state.store.audit(ev).await?;
    state.store.audit_search(ctx.org(), &filter).await
}

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
