//! The director's optimizer page: pick a site and a week, see a proposed schedule beside the
//! current one with each patient's hours and the reasons for any shortfall, accept it; re-plan
//! after a clinician is out.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Weekday;
use openiop_app::optimizer::{self as uc, Unavailable};
use openiop_domain::DomainError;
use openiop_domain::ids::SiteId;
use openiop_domain::schedule::Week;
use openiop_domain::tenancy::Site;
use serde::Deserialize;

#[derive(Deserialize, Default, Clone)]
pub struct OptimizerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    week: String,
    /// A clinician out for a day (re-planning).
    #[serde(default)]
    out_clinician: String,
    #[serde(default)]
    out_day: String,
    #[serde(default)]
    replan: Option<String>,
}

pub struct Row {
    pub name: String,
    pub required: f64,
    pub now: f64,
    pub proposed: f64,
}

pub struct Planned {
    pub day: String,
    pub time: String,
    pub what: String,
    pub who: String,
    pub patients: usize,
}

#[derive(Template)]
#[template(path = "optimizer.html")]
struct OptimizerPage {
    layout: Layout,
    sites: Vec<Site>,
    clinicians: Vec<(String, String)>,
    form: OptimizerForm,
    rows: Vec<Row>,
    planned: Vec<Planned>,
    explanations: Vec<(String, String)>,
    summary: Option<String>,
    message: Option<String>,
    proposed: bool,
}

fn parse(f: &OptimizerForm, today: chrono::NaiveDate) -> Result<(SiteId, Week, Vec<Unavailable>, bool), DomainError> {
    let site: SiteId = f.site_id.parse().map_err(|_| DomainError::field("site_id", "required", "choose a site"))?;
    let week = if f.week.trim().is_empty() { Week::of(today).next() } else { Week::parse(&f.week)? };
    let mut out = Vec::new();
    if !f.out_clinician.trim().is_empty() {
        let day: Weekday =
            f.out_day.parse().map_err(|_| DomainError::field("out_day", "invalid_weekday", "choose the day they are out"))?;
        out.push(Unavailable {
            clinician: f.out_clinician.parse().map_err(|_| DomainError::field("out_clinician", "invalid_id", "choose a clinician"))?,
            days: vec![day],
        });
    }
    Ok((site, week, out, f.replan.is_some() || !f.out_clinician.trim().is_empty()))
}

async fn page(state: &AppState, staff: &Staff, form: OptimizerForm, propose: bool, message: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    ctx.actor.require(openiop_domain::auth::Action::ManagePrograms)?;
    let sites = openiop_app::sites::visible_sites(state, &ctx).await?;
    let users = openiop_app::programs::staff_accounts(state, &ctx).await?;
    let staff_list = openiop_app::programs::staff(state, &ctx).await?;
    let today = openiop_app::programs::today(state, &ctx).await?;
    let clinicians: Vec<(String, String)> = staff_list.iter().map(|s| (s.user_id.to_string(), s.name.clone())).collect();
    let mut form = form;
    if form.site_id.is_empty() {
        form.site_id = sites.first().map(|s| s.id.to_string()).unwrap_or_default();
    }
    if form.week.is_empty() {
        form.week = Week::of(today).next().to_string();
    }
    let (mut rows, mut planned, mut explanations, mut summary) = (vec![], vec![], vec![], None);
    let mut status = StatusCode::OK;
    let mut message = message;
    if propose {
        match parse(&form, today) {
            Ok((site, week, out, replan)) => match uc::propose(state, &ctx, site, week, &out, replan).await {
                Ok(p) => {
                    rows = p.rows.iter().map(|(_, n, r, a, b)| Row { name: n.clone(), required: *r, now: *a, proposed: *b }).collect();
                    rows.sort_by(|a, b| a.name.cmp(&b.name));
                    let name = |id: &str| users.iter().find(|u| u.id.to_string() == id).map(|u| u.name.clone()).unwrap_or_default();
                    let mut sessions = p.solution.sessions.clone();
                    sessions.sort_by_key(|s| (s.day, s.start));
                    planned = sessions
                        .iter()
                        .map(|s| {
                            let t = chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default() + chrono::Duration::minutes(30 * s.start);
                            Planned {
                                day: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].get(s.day as usize).copied().unwrap_or("?").to_string(),
                                time: t.format("%H:%M").to_string(),
                                what: format!("{:?}", s.kind)
                                    .replace("ProcessGroup", "Group therapy")
                                    .replace("PsychoedGroup", "Psychoeducation group")
                                    .replace("MedMgmt", "Medication management"),
                                who: name(&s.clinician),
                                patients: s.patients.len(),
                            }
                        })
                        .collect();
                    // The optimizer speaks in ids; people read names.
                    let rooms = openiop_app::programs::rooms(state, &ctx).await?;
                    let mut names: Vec<(String, String)> = vec![(p.site.id.to_string(), p.site.name.clone())];
                    names.extend(users.iter().map(|u| (u.id.to_string(), u.name.clone())));
                    names.extend(rooms.iter().map(|r| (r.id.to_string(), r.name.clone())));
                    names.extend(p.rows.iter().map(|r| (r.0.to_string(), r.1.clone())));
                    let humanize = |text: &str| names.iter().fold(text.to_string(), |t, (id, name)| t.replace(id, name));
                    explanations = p
                        .explanations
                        .iter()
                        .map(|e| {
                            (
                                p.rows.iter().find(|r| r.0.to_string() == e.patient).map(|r| r.1.clone()).unwrap_or_default(),
                                humanize(&e.reasons.join(" ")),
                            )
                        })
                        .collect();
                    summary = Some(format!(
                        "{} session(s) proposed for {}: {} kept from the current week, {} new, {} current session(s) replaced. Objective {}.",
                        p.solution.sessions.len(),
                        week,
                        p.kept,
                        p.new_sessions.len(),
                        p.replaced.len(),
                        p.objective
                    ));
                }
                Err(e @ (DomainError::Validation(_) | DomainError::Rule { .. } | DomainError::Conflict { .. })) => {
                    message = Some(e.to_string());
                    status = StatusCode::UNPROCESSABLE_ENTITY;
                }
                Err(e) => return Err(e.into()),
            },
            Err(e) => {
                message = Some(match &e {
                    DomainError::Validation(v) => v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; "),
                    other => other.to_string(),
                });
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }
    let proposed = summary.is_some();
    let mut res = render(&OptimizerPage {
        layout: Layout::staff(staff, "Schedule optimizer", "/optimizer"),
        sites,
        clinicians,
        form,
        rows,
        planned,
        explanations,
        summary,
        message,
        proposed,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn optimizer(State(state): State<AppState>, staff: Staff, Query(f): Query<OptimizerForm>) -> PageResult<Response> {
    page(&state, &staff, f, false, None).await
}

pub async fn propose(State(state): State<AppState>, staff: Staff, Form(f): Form<OptimizerForm>) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    page(&state, &staff, f, true, None).await
}

pub async fn accept(State(state): State<AppState>, staff: Staff, Form(f): Form<OptimizerForm>) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let (site, week, out, replan) = parse(&f, openiop_app::programs::today(&state, &staff.ctx()).await?)?;
    match uc::accept(&state, &staff.ctx(), site, week, &out, replan).await {
        Ok((created, replaced)) => {
            page(&state, &staff, f, false, Some(format!("Accepted: {created} session(s) created, {replaced} replaced for {week}."))).await
        }
        Err(e @ (DomainError::Rule { .. } | DomainError::Conflict { .. })) => {
            page(&state, &staff, f, false, Some(format!("Nothing was changed: {e}"))).await
        }
        Err(e) => Err(e.into()),
    }
}
