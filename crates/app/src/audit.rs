//! The auditor's search of the audit log, and the check of its hash chain.
use crate::App;
use chrono::NaiveDate;
use openiop_domain::Result;
use openiop_domain::audit::{AuditAction, AuditEntry, AuditEvent, ChainVerdict};
use openiop_domain::auth::{Action, Ctx};
use openiop_domain::error::Fields;
use openiop_domain::store::AuditFilter;

/// The auditor's filters as typed (blank: any).
#[derive(Debug, Clone, Default, serde::Deserialize)]
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
    openiop_domain::programs::parse_date(field, s).map(Some)
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
        Ok(AuditFilter {
            user: opt(&self.user),
            patient_id: opt(&self.patient),
            from,
            to,
            action: opt(&self.action),
            limit: 200,
            ..Default::default()
        })
    }
}

/// Searches the log for the caller's organization; the search itself is audited.
pub async fn search(app: &App, ctx: &Ctx, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    search_up_to(app, ctx, q, 200, AuditAction::Search).await
}

/// Entries an export holds at most (newest first).
pub const EXPORT_LIMIT: usize = 10_000;

async fn search_up_to(app: &App, ctx: &Ctx, q: &AuditQuery, limit: usize, how: AuditAction) -> Result<Vec<AuditEntry>> {
    ctx.actor.require(Action::ViewAuditLog)?;
    let mut filter = q.filter()?;
    filter.limit = limit as _;
    // A typed email that matches no account was logged as its keyed hash: find that too.
    filter.actor_alias = filter.user.as_deref().map(|u| crate::accounts::unknown_account(app, u));
    // A site- or program-scoped auditor sees what concerns their patients, not the organization's.
    if let openiop_domain::auth::Scope::Units { sites, programs } = &ctx.actor.scope {
        filter.units = Some((sites.clone(), programs.clone()));
    }
    reading!(app, |w| {
        let ev = AuditEvent::by(ctx, ctx.actor.acting_role(Action::ViewAuditLog), how, "audit_log", None);
        w.db().audit(ev).await?;
        w.db().audit_search(ctx.org(), &filter).await
    })
}

/// The auditor's page: the entries, the names and MRNs of the patients they concern (reading
/// who accessed whom is the auditor's job), and, when a typed name or MRN matches several
/// patients, those patients to choose from.
pub struct AuditView {
    pub entries: Vec<AuditEntry>,
    /// Patient id → (name, MRN), for the patients the entries name.
    pub patients: std::collections::HashMap<String, (String, String)>,
    /// Several patients match the typed name or MRN: the auditor picks one.
    pub candidates: Vec<openiop_domain::patients::PatientSummary>,
}

/// [`search`], with the patient filter taking a name or MRN as well as an id.
pub async fn search_named(app: &App, ctx: &Ctx, q: &AuditQuery) -> Result<AuditView> {
    named(app, ctx, q, 200, AuditAction::Search).await
}

/// The filtered log as CSV (UTC times, as its header says), up to [`EXPORT_LIMIT`] entries,
/// with patients' names and MRNs; the export is audited as one.
pub async fn export_csv(app: &App, ctx: &Ctx, q: &AuditQuery) -> Result<String> {
    fn cell(s: &str) -> String {
        // Every text cell quoted; a leading formula character neutralised (CSV injection).
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
        format!("\"{}\"", s.replace('"', "\"\""))
    }
    let v = named(app, ctx, q, EXPORT_LIMIT, AuditAction::Export).await?;
    let mut out = String::from(
        "seq,occurred_at_utc,user,role,action,detail,resource_type,resource_id,patient_id,patient_name,patient_mrn,outcome,source_ip\r\n",
    );
    for e in &v.entries {
        let pid = e.event.patient_id.clone().unwrap_or_default();
        let (name, mrn) = v.patients.get(&pid).cloned().unwrap_or_default();
        let row = [
            e.seq.to_string(),
            cell(&e.occurred_at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            cell(&e.event.actor),
            cell(&e.event.role),
            cell(&e.event.action),
            cell(&e.event.detail),
            cell(&e.event.resource_type),
            cell(e.event.resource_id.as_deref().unwrap_or_default()),
            cell(&pid),
            cell(&name),
            cell(&mrn),
            cell(&e.event.outcome),
            cell(&e.event.source_ip),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

async fn named(app: &App, ctx: &Ctx, q: &AuditQuery, limit: usize, how: AuditAction) -> Result<AuditView> {
    ctx.actor.require(Action::ViewAuditLog)?;
    let typed = q.patient.trim();
    let mut q = q.clone();
    let mut candidates = Vec::new();
    if !typed.is_empty() && typed.parse::<openiop_domain::patients::PatientId>().is_err() {
        let sites = crate::patients::scope_sites(ctx);
        let found = reading!(app, |w| w.db().search_patients(ctx.org(), typed, sites.as_deref()).await)?;
        match found.as_slice() {
            [one] => q.patient = one.id.to_string(),
            [] => return Ok(AuditView { entries: Vec::new(), patients: Default::default(), candidates }),
            _ => {
                candidates = found;
                return Ok(AuditView { entries: Vec::new(), patients: Default::default(), candidates });
            }
        }
    }
    let entries = search_up_to(app, ctx, &q, limit, how).await?;
    let mut ids: Vec<openiop_domain::patients::PatientId> =
        entries.iter().filter_map(|e| e.event.patient_id.as_deref()).filter_map(|p| p.parse().ok()).collect();
    ids.sort();
    ids.dedup();
    let summaries = reading!(app, |w| w.db().patient_summaries(ctx.org(), &ids).await)?;
    let patients = summaries.into_iter().map(|p| (p.id.to_string(), (p.name, p.mrn))).collect();
    Ok(AuditView { entries, patients, candidates })
}

/// Walks the whole chain (the operator's `openiop audit verify`).
pub async fn verify(app: &App) -> Result<ChainVerdict> {
    app.store.audit_verify().await
}
