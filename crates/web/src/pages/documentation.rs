//! Documentation pages: the documentation home, a session's notes (the group note on one
//! screen: shared section once, each attendee's own section beside their objectives), one note
//! with its addenda and signatures, and an episode's treatment plan with its versions.
use super::{FormErrors, Layout, render};
use crate::error::{PageError, PageResult};
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openiop_app::documentation as uc;
use openiop_domain::DomainError;
use openiop_domain::auth::Action;
use openiop_domain::notes::*;
use openiop_domain::patients::EpisodeId;
use openiop_domain::plans::*;
use openiop_domain::programs::Modality;
use openiop_domain::schedule::SessionId;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

fn not_found<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(DomainError::NotFound(what)))
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%b %-d, %H:%M UTC").to_string()
}

fn message(e: &DomainError) -> String {
    match e {
        DomainError::Validation(v) => v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn recoverable(e: &DomainError) -> bool {
    matches!(e, DomainError::Validation(_) | DomainError::Rule { .. } | DomainError::Conflict { .. })
}

// ---- Documentation home ----

struct QueueRow {
    href: String,
    what: String,
    detail: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "documentation_home.html")]
struct HomePage {
    layout: Layout,
    to_write: Vec<QueueRow>,
    overdue: Vec<QueueRow>,
    to_cosign: Vec<QueueRow>,
    reviews: Vec<QueueRow>,
}

pub async fn home(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    let h = uc::home(&state, &staff.ctx()).await?;
    let write_row = |r: &NoteToWrite| QueueRow {
        href: format!("/sessions/{}/notes", r.session_id),
        what: format!("{} · {}", when(r.starts_at), if r.topic.is_empty() { "Session" } else { &r.topic }),
        detail: format!("{} patient(s) without a signed note · due {}", r.patients_without_note, when(r.due_at)),
        overdue: r.overdue,
    };
    let mut to_cosign: Vec<QueueRow> = h
        .to_cosign
        .iter()
        .map(|c| QueueRow {
            href: format!("/notes/{}", c.note.id),
            what: format!("Note for {}", c.patient_name),
            detail: format!("by {} · {}", c.author, c.note.body.facts.date),
            overdue: false,
        })
        .collect();
    to_cosign.extend(h.plans_to_cosign.iter().map(|(p, name)| QueueRow {
        href: format!("/episodes/{}/plan", p.episode_id),
        what: format!("Treatment plan v{} for {name}", p.version),
        detail: "awaiting your signature".into(),
        overdue: false,
    }));
    let reviews = h
        .reviews
        .iter()
        .map(|r| QueueRow {
            href: format!("/episodes/{}/plan", r.episode_id),
            what: r.patient_name.clone(),
            detail: format!("{} · due {}", r.due.reason.label(), r.due.due_on),
            overdue: r.due.overdue,
        })
        .collect();
    render(&HomePage {
        layout: Layout::staff(&staff, "Documentation", "/documentation"),
        to_write: h.to_write.iter().filter(|r| !r.overdue).map(write_row).collect(),
        overdue: h.overdue.iter().map(write_row).collect(),
        to_cosign,
        reviews,
    })
}

// ---- A session's notes ----

struct ObjectiveRow {
    id: String,
    text: String,
    target: String,
    checked: bool,
}

struct AttendeeRow {
    patient_id: String,
    name: String,
    attended: bool,
    attendance: String,
    participation: String,
    text: String,
    objectives: Vec<ObjectiveRow>,
    collaterals: String,
    note_href: Option<String>,
    status: String,
    error: Option<String>,
}

struct SectionRow {
    code: String,
    label: String,
    required: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "notes_session.html")]
struct SessionNotesPage {
    layout: Layout,
    session_id: String,
    heading: String,
    facts: String,
    staff: String,
    due: String,
    is_group: bool,
    locked: bool,
    topic: String,
    modality: String,
    interventions: String,
    modalities: &'static [Modality],
    participations: &'static [Participation],
    attendees: Vec<AttendeeRow>,
    sections: Vec<SectionRow>,
    format: String,
    error: Option<String>,
    similar: Vec<String>,
    saved: Option<String>,
    errors: FormErrors,
}

#[derive(Default)]
struct Typed {
    shared: Option<(String, String, String)>,
    texts: HashMap<String, (String, String, Vec<String>)>,
    sections: BTreeMap<String, String>,
}

async fn session_notes_page(
    state: &AppState,
    staff: &Staff,
    id: SessionId,
    typed: Typed,
    error: Option<DomainError>,
    similar: Vec<SimilarPair>,
    saved: Option<String>,
) -> PageResult<Response> {
    let ctx = staff.ctx();
    let sheet = uc::note_sheet(state, &ctx, id).await?;
    let errors = error.as_ref().and_then(FormErrors::from).unwrap_or_default();
    let first_note = sheet.attendees.iter().find_map(|a| a.note.as_ref());
    let shared = first_note.and_then(|n| n.body.shared.clone());
    let (topic, modality, interventions) = typed.shared.clone().unwrap_or_else(|| match &shared {
        Some(s) => (s.topic.clone(), s.modality.map(|m| m.code().to_string()).unwrap_or_default(), s.interventions.clone()),
        None => (sheet.session.topic.clone(), sheet.session.modality.map(|m| m.code().to_string()).unwrap_or_default(), String::new()),
    });
    let locked = sheet.is_group && sheet.attendees.iter().any(|a| a.note.as_ref().is_some_and(|n| n.signed_at.is_some()));
    let attendees = sheet
        .attendees
        .iter()
        .map(|a| {
            let (participation, text, chosen) = typed.texts.get(&a.patient_id.to_string()).cloned().unwrap_or_else(|| match &a.note {
                Some(n) => (
                    n.body.participation.map(|p| p.code().to_string()).unwrap_or_default(),
                    n.body.individualized.clone(),
                    n.objectives.iter().map(|o| o.to_string()).collect(),
                ),
                None => (String::new(), String::new(), vec![]),
            });
            AttendeeRow {
                patient_id: a.patient_id.to_string(),
                name: a.name.clone(),
                attended: a.attended,
                attendance: a
                    .attendance
                    .as_ref()
                    .map(|x| x.status.label().to_string())
                    .unwrap_or_else(|| "Not taken (counted present)".into()),
                participation,
                text,
                objectives: a
                    .objectives
                    .iter()
                    .map(|o| ObjectiveRow {
                        id: o.id.to_string(),
                        text: o.text.clone(),
                        target: o.target_date.to_string(),
                        checked: chosen.contains(&o.id.to_string()),
                    })
                    .collect(),
                collaterals: a.collaterals.join(", "),
                note_href: a.note.as_ref().map(|n| format!("/notes/{}", n.id)),
                status: a.note.as_ref().map(|n| n.status().label().to_string()).unwrap_or_else(|| "No note yet".into()),
                error: errors.get(&format!("entries.{}.individualized", a.patient_id)).map(String::from),
            }
        })
        .collect();
    let sections = sheet
        .settings
        .format
        .sections()
        .iter()
        .map(|(c, l)| SectionRow {
            code: (*c).into(),
            label: (*l).into(),
            required: sheet.settings.is_required(c),
            text: typed.sections.get(*c).cloned().unwrap_or_default(),
        })
        .collect();
    let status = if error.is_some() || !similar.is_empty() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let heading = format!("{} notes, {}", sheet.service_name, sheet.session.local_date.format("%a %b %-d"));
    let mut res = render(&SessionNotesPage {
        layout: Layout::staff(staff, &heading, "/documentation"),
        session_id: id.to_string(),
        facts: format!(
            "{} · {} minutes · {} present of {}",
            when(sheet.session.starts_at),
            sheet.session.minutes(),
            sheet.attendees.iter().filter(|a| a.attended).count(),
            sheet.attendees.len()
        ),
        heading,
        staff: sheet.staff.join(", "),
        due: when(sheet.due_at),
        is_group: sheet.is_group,
        locked,
        topic,
        modality,
        interventions,
        modalities: Modality::ALL,
        participations: Participation::ALL,
        attendees,
        sections,
        format: sheet.settings.format.label().to_string(),
        error: error.as_ref().map(message),
        similar: similar.iter().map(|p| format!("{} and {} ({}% alike)", p.first_name, p.second_name, p.percent)).collect(),
        saved,
        errors,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn session_notes(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    session_notes_page(&state, &staff, not_found(&id, "session")?, Typed::default(), None, vec![], None).await
}

/// The group note posts the shared section, then `participation_<patient>`,
/// `individualized_<patient>` and `objective_<patient>_<objective>` for every attendee, and an
/// `intent` (check, draft, sign).
pub async fn save_group_note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let get = |k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default();
    staff.check_csrf(&get("csrf"))?;
    let sid: SessionId = not_found(&id, "session")?;
    let mut texts: HashMap<String, (String, String, Vec<String>)> = HashMap::new();
    for (k, v) in &f {
        if let Some(p) = k.strip_prefix("individualized_") {
            texts.entry(p.to_string()).or_default().1 = v.clone();
        } else if let Some(p) = k.strip_prefix("participation_") {
            texts.entry(p.to_string()).or_default().0 = v.clone();
        } else if let Some(rest) = k.strip_prefix("objective_")
            && let Some((p, o)) = rest.split_once('_')
        {
            texts.entry(p.to_string()).or_default().2.push(o.to_string());
        }
    }
    let form = GroupNoteForm {
        topic: get("topic"),
        modality: get("modality"),
        interventions: get("interventions"),
        entries: texts
            .iter()
            .map(|(p, (part, text, objs))| GroupEntryForm {
                patient_id: p.clone(),
                participation: part.clone(),
                individualized: text.clone(),
                objective_ids: objs.clone(),
            })
            .collect(),
    };
    let typed =
        Typed { shared: Some((form.topic.clone(), form.modality.clone(), form.interventions.clone())), texts, ..Default::default() };
    let intent = get("intent");
    let ctx = staff.ctx();
    if intent == "check" {
        return match uc::check_group_note(&state, &ctx, sid, &form).await {
            Ok(pairs) if pairs.is_empty() => {
                session_notes_page(&state, &staff, sid, typed, None, vec![], Some("No near-identical sections: ready to sign.".into()))
                    .await
            }
            Ok(pairs) => session_notes_page(&state, &staff, sid, typed, None, pairs, None).await,
            Err(e) if recoverable(&e) => session_notes_page(&state, &staff, sid, typed, Some(e), vec![], None).await,
            Err(e) => Err(e.into()),
        };
    }
    let sign = intent == "sign";
    let confirm = get("confirm_similar") == "on";
    match uc::save_group_note(&state, &ctx, sid, &form, sign, confirm).await {
        Ok(notes) => {
            let what = if sign { "signed" } else { "saved as drafts" };
            session_notes_page(&state, &staff, sid, Typed::default(), None, vec![], Some(format!("{} notes {what}.", notes.len()))).await
        }
        Err(DomainError::Conflict { code: "notes_similar", .. }) => {
            let pairs = uc::check_group_note(&state, &ctx, sid, &form).await?;
            session_notes_page(&state, &staff, sid, typed, None, pairs, None).await
        }
        Err(e) if recoverable(&e) => session_notes_page(&state, &staff, sid, typed, Some(e), vec![], None).await,
        Err(e) => Err(e.into()),
    }
}

/// An individual or family note: `patient_id`, `section_<code>`, `objective_<id>`, `intent`.
pub async fn write_note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let get = |k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default();
    staff.check_csrf(&get("csrf"))?;
    let sid: SessionId = not_found(&id, "session")?;
    let patient = get("patient_id").parse().map_err(|_| DomainError::field("patient_id", "required", "choose a participant"))?;
    let sections: BTreeMap<String, String> =
        f.iter().filter_map(|(k, v)| k.strip_prefix("section_").map(|c| (c.to_string(), v.clone()))).collect();
    let form = NoteForm {
        sections: sections.clone(),
        format: String::new(),
        objective_ids: f.iter().filter_map(|(k, _)| k.strip_prefix("objective_").map(String::from)).collect(),
    };
    match uc::write_note(&state, &staff.ctx(), sid, patient, &form, get("intent") == "sign").await {
        Ok(n) => Ok(Redirect::to(&format!("/notes/{}", n.id)).into_response()),
        Err(e) if recoverable(&e) => {
            session_notes_page(&state, &staff, sid, Typed { sections, ..Default::default() }, Some(e), vec![], None).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- One note ----

#[derive(Template)]
#[template(path = "note.html")]
struct NotePage {
    layout: Layout,
    note: SessionNote,
    note_id: String,
    session_href: String,
    status: String,
    facts: Vec<(String, String)>,
    objectives: Vec<String>,
    can_sign: bool,
    can_cosign: bool,
    error: Option<String>,
    saved: Option<String>,
}

async fn note_page(state: &AppState, staff: &Staff, id: NoteId, error: Option<String>, saved: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let n = uc::read_note(state, &ctx, id).await?;
    let plans = match n.episode_id {
        Some(e) => uc::plan_versions(state, &ctx, e).await?,
        None => vec![],
    };
    let objectives = n
        .objectives
        .iter()
        .map(|o| {
            plans.iter().rev().find_map(|v| v.content.objective(*o)).map(|x| x.text.clone()).unwrap_or_else(|| format!("Objective {o}"))
        })
        .collect();
    let f = &n.body.facts;
    let mut facts = vec![
        ("Date".to_string(), f.date.to_string()),
        ("Start".to_string(), when(f.starts_at)),
        ("Duration".to_string(), format!("{} minutes", f.minutes)),
        ("Service".to_string(), f.service.clone()),
        ("Staff".to_string(), f.staff.join(", ")),
        ("Participants present".to_string(), f.participants.to_string()),
        ("Attendance".to_string(), f.attendance.map(|a| a.label().to_string()).unwrap_or_else(|| "Not recorded".into())),
    ];
    if !f.collaterals.is_empty() {
        facts.push(("Family / collaterals present".to_string(), f.collaterals.join(", ")));
    }
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut res = render(&NotePage {
        layout: Layout::staff(staff, "Session note", "/documentation"),
        note_id: n.id.to_string(),
        session_href: format!("/sessions/{}/notes", n.session_id),
        status: n.status().label().to_string(),
        facts,
        objectives,
        can_sign: n.signed_at.is_none() && staff.actor.can(Action::WriteClinicalRecord),
        can_cosign: n.status() == NoteStatus::PendingCosign && n.cosigner_id == Some(staff.actor.user_id),
        note: n,
        error,
        saved,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn note(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    note_page(&state, &staff, not_found(&id, "note")?, None, None).await
}

#[derive(Deserialize)]
pub struct CsrfPost {
    pub csrf: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub patient_name: String,
}

pub async fn sign_note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let nid = not_found(&id, "note")?;
    match uc::sign_note(&state, &staff.ctx(), nid).await {
        Ok(n) => note_page(&state, &staff, nid, None, Some(format!("Signed: {}.", n.status().label()))).await,
        Err(e) if recoverable(&e) => note_page(&state, &staff, nid, Some(message(&e)), None).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn cosign_note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let nid = not_found(&id, "note")?;
    match uc::cosign_note(&state, &staff.ctx(), nid).await {
        Ok(_) => Ok(Redirect::to("/documentation").into_response()),
        Err(e) if recoverable(&e) => note_page(&state, &staff, nid, Some(message(&e)), None).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn add_addendum(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let nid = not_found(&id, "note")?;
    match uc::add_addendum(&state, &staff.ctx(), nid, &f.text).await {
        Ok(_) => note_page(&state, &staff, nid, None, Some("Addendum added; the original is unchanged.".into())).await,
        Err(e) if recoverable(&e) => note_page(&state, &staff, nid, Some(message(&e)), None).await,
        Err(e) => Err(e.into()),
    }
}

// ---- Treatment plan ----

struct VersionLink {
    href: String,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    layout: Layout,
    episode_id: String,
    patient_name: String,
    chart_href: String,
    review: ReviewDue,
    shown: Option<PlanVersion>,
    shown_status: String,
    versions: Vec<VersionLink>,
    diagnoses: Vec<String>,
    dimensions: &'static [AsamDimension],
    modalities: &'static [Modality],
    services: Vec<(String, String)>,
    staff_options: Vec<(String, String)>,
    can_write: bool,
    can_cosign: bool,
    has_draft: bool,
    error: Option<String>,
    errors: FormErrors,
    saved: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PlanQuery {
    #[serde(default)]
    pub version: Option<i64>,
}

async fn plan_page(
    state: &AppState,
    staff: &Staff,
    id: EpisodeId,
    version: Option<i64>,
    error: Option<DomainError>,
    saved: Option<String>,
) -> PageResult<Response> {
    let ctx = staff.ctx();
    let v = uc::plan(state, &ctx, id).await?;
    let shown = match version {
        Some(n) => v.versions.iter().find(|x| x.version == n).cloned(),
        None => v.draft().or(v.current()).cloned(),
    };
    let current_id = v.current().map(|c| c.id);
    let versions = v
        .versions
        .iter()
        .rev()
        .map(|x| VersionLink {
            href: format!("/episodes/{id}/plan?version={}", x.version),
            label: format!(
                "Version {} · {} · {}{}",
                x.version,
                x.reason,
                x.status().label(),
                x.clinician.as_ref().map(|s| format!(" {}", s.at.date_naive())).unwrap_or_default()
            ),
            current: Some(x.id) == current_id,
        })
        .collect();
    let services = openiop_app::programs::service_types(state, &ctx).await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    let staff_options = openiop_app::programs::staff_accounts(state, &ctx).await?.into_iter().map(|u| (u.id.to_string(), u.name)).collect();
    let errors = error.as_ref().and_then(FormErrors::from).unwrap_or_default();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut res = render(&PlanPage {
        layout: Layout::staff(staff, &format!("Treatment plan: {}", v.patient.details.display_name()), "/documentation"),
        episode_id: id.to_string(),
        patient_name: v.patient.details.display_name(),
        chart_href: format!("/patients/{}", v.patient.id),
        review: v.review.clone(),
        shown_status: shown.as_ref().map(|s| s.status().label().to_string()).unwrap_or_default(),
        can_cosign: shown
            .as_ref()
            .is_some_and(|s| s.status() == PlanStatus::AwaitingSupervisor && s.supervisor_id == Some(staff.actor.user_id)),
        shown,
        versions,
        diagnoses: v.episode.diagnoses.iter().map(|d| d.code.to_string()).collect(),
        dimensions: AsamDimension::ALL,
        modalities: Modality::ALL,
        services,
        staff_options,
        can_write: staff.actor.can(Action::WriteClinicalRecord) && v.episode.is_open(),
        has_draft: v.draft().is_some(),
        error: error.as_ref().map(message),
        errors,
        saved,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn plan(State(state): State<AppState>, staff: Staff, Path(id): Path<String>, Query(q): Query<PlanQuery>) -> PageResult<Response> {
    plan_page(&state, &staff, not_found(&id, "episode")?, q.version, None, None).await
}

/// Adds one problem → goal → objective → intervention thread to the plan: to the draft if one
/// is open, otherwise as a new version (a review) copying the plan in force.
#[derive(Deserialize, Default)]
pub struct ThreadPost {
    pub csrf: String,
    #[serde(default)]
    pub statement: String,
    #[serde(default)]
    pub diagnosis: String,
    #[serde(default)]
    pub dimension: String,
    #[serde(default)]
    pub patient_words: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub target_date: String,
    #[serde(default)]
    pub intervention: String,
    #[serde(default)]
    pub service_type_id: String,
    #[serde(default)]
    pub modality: String,
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub staff_id: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn add_thread(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ThreadPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let ctx = staff.ctx();
    let view = uc::plan(&state, &ctx, eid).await?;
    let base = view.draft().or(view.current());
    let mut problems = base.map(|v| v.content.problem_forms()).unwrap_or_default();
    problems.push(ProblemForm {
        id: None,
        statement: f.statement.clone(),
        diagnosis: f.diagnosis.clone(),
        dimensions: vec![f.dimension.clone()],
        goals: vec![GoalForm {
            id: None,
            patient_words: f.patient_words.clone(),
            status: String::new(),
            objectives: vec![ObjectiveForm {
                id: None,
                text: f.objective.clone(),
                target_date: f.target_date.clone(),
                status: String::new(),
                interventions: vec![InterventionForm {
                    id: None,
                    description: f.intervention.clone(),
                    service_type_id: f.service_type_id.clone(),
                    modality: f.modality.clone(),
                    frequency: f.frequency.clone(),
                    staff_id: f.staff_id.clone(),
                }],
            }],
        }],
    });
    let reason = if f.reason.trim().is_empty() { if base.is_some() { "review" } else { "initial" }.to_string() } else { f.reason.clone() };
    let planned = base.and_then(|v| v.planned_discharge_on).map(|d| d.to_string()).unwrap_or_default();
    let form = PlanForm { problems, reason, planned_discharge_on: planned };
    let result = match view.draft() {
        Some(d) => uc::update_plan_draft(&state, &ctx, d.id, &form).await.map(|_| ()),
        None => uc::create_plan_version(&state, &ctx, eid, &form).await.map(|_| ()),
    };
    match result {
        Ok(()) => plan_page(&state, &staff, eid, None, None, Some("Added to the draft. Sign it when the plan is complete.".into())).await,
        Err(DomainError::Validation(errs)) => {
            // Only the new thread's fields can be wrong: name them by the form's field names.
            let last = format!("problems[{}]", form.problems.len() - 1);
            let renamed = errs
                .into_iter()
                .map(|mut e| {
                    let tail = e.field.strip_prefix(&last).unwrap_or(&e.field).to_string();
                    e.field = match tail.as_str() {
                        ".statement" => "statement",
                        ".diagnosis" => "diagnosis",
                        ".dimensions" => "dimension",
                        ".goals[0].patient_words" => "patient_words",
                        ".goals[0].objectives[0].text" => "objective",
                        ".goals[0].objectives[0].target_date" => "target_date",
                        ".goals[0].objectives[0].interventions[0].description" => "intervention",
                        ".goals[0].objectives[0].interventions[0].service_type_id" => "service_type_id",
                        ".goals[0].objectives[0].interventions[0].modality" => "modality",
                        ".goals[0].objectives[0].interventions[0].frequency" => "frequency",
                        ".goals[0].objectives[0].interventions[0].staff_id" => "staff_id",
                        other => other,
                    }
                    .to_string();
                    e
                })
                .collect();
            plan_page(&state, &staff, eid, None, Some(DomainError::Validation(renamed)), None).await
        }
        Err(e) if recoverable(&e) => plan_page(&state, &staff, eid, None, Some(e), None).await,
        Err(e) => Err(e.into()),
    }
}

async fn plan_action(state: &AppState, staff: &Staff, vid: PlanVersionId, what: &str, f: &CsrfPost) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let ctx = staff.ctx();
    let (v, _) = uc::plan_version_for(state, &ctx, vid, Action::ViewClinicalRecord).await?;
    let r = match what {
        "sign" => uc::sign_plan(state, &ctx, vid).await,
        "cosign" => uc::cosign_plan(state, &ctx, vid).await,
        _ => uc::acknowledge_plan(state, &ctx, vid, &f.patient_name).await,
    };
    match r {
        Ok(_) => plan_page(state, staff, v.episode_id, Some(v.version), None, Some("Saved.".into())).await,
        Err(e) if recoverable(&e) => plan_page(state, staff, v.episode_id, Some(v.version), Some(e), None).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_plan(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfPost>,
) -> PageResult<Response> {
    plan_action(&state, &staff, not_found(&id, "plan")?, "sign", &f).await
}

pub async fn cosign_plan(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfPost>,
) -> PageResult<Response> {
    plan_action(&state, &staff, not_found(&id, "plan")?, "cosign", &f).await
}

pub async fn acknowledge_plan(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfPost>,
) -> PageResult<Response> {
    plan_action(&state, &staff, not_found(&id, "plan")?, "acknowledge", &f).await
}
