//! Schedule pages: week and day calendars (track, program, clinician, room, patient), session
//! pages with participants and the whole-group attendance screen, the printable sign-in sheet,
//! generation from templates, the program's hours ledger and make-up suggestions.
use super::{Layout, render};
use crate::error::{PageError, PageResult};
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use openiop_app::schedule as uc;
use openiop_domain::DomainError;
use openiop_domain::auth::Action;
use openiop_domain::patients::{EpisodeId, PatientId};
use openiop_domain::programs::{Program, Track};
use openiop_domain::schedule::*;
use serde::Deserialize;
use std::collections::HashMap;

fn not_found<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(DomainError::NotFound(what)))
}

/// One session as a calendar shows it.
pub struct SessionRow {
    pub id: String,
    pub day: NaiveDate,
    pub time: String,
    pub service: String,
    pub place: String,
    pub leaders: String,
    pub count: usize,
    pub capacity: u32,
    pub status: &'static str,
    pub topic: String,
}

/// Names and places for turning sessions into rows, loaded once.
struct Lookup {
    services: Vec<openiop_domain::programs::ServiceType>,
    rooms: Vec<openiop_domain::programs::Room>,
    users: Vec<openiop_domain::users::User>,
    tz: Tz,
}

impl Lookup {
    async fn load(state: &AppState, staff: &Staff, tz: Tz) -> PageResult<Self> {
        let ctx = staff.ctx();
        Ok(Self {
            services: openiop_app::programs::service_types(state, &ctx).await?,
            rooms: openiop_app::programs::rooms(state, &ctx).await?,
            users: openiop_app::programs::staff_accounts(state, &ctx).await?,
            tz,
        })
    }

    fn row(&self, s: &Session) -> SessionRow {
        let a = s.starts_at.with_timezone(&self.tz);
        let b = s.ends_at.with_timezone(&self.tz);
        SessionRow {
            id: s.id.to_string(),
            day: s.local_date,
            time: format!("{}–{}", a.format("%H:%M"), b.format("%H:%M")),
            service: self.services.iter().find(|x| x.id == s.service_type_id).map(|x| x.name.clone()).unwrap_or_default(),
            place: if s.is_virtual {
                "Virtual".into()
            } else {
                s.room_id.and_then(|r| self.rooms.iter().find(|x| x.id == r)).map(|r| r.name.clone()).unwrap_or_default()
            },
            leaders: s
                .leaders
                .iter()
                .filter_map(|l| self.users.iter().find(|u| u.id == *l))
                .map(|u| u.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            count: s.participants.len(),
            capacity: s.capacity,
            status: s.status.label(),
            topic: s.topic.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct CalendarQuery {
    #[serde(default)]
    week: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    track: String,
    #[serde(default)]
    program: String,
    #[serde(default)]
    leader: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    patient: String,
}

pub struct DayColumn {
    pub date: NaiveDate,
    pub label: String,
    pub sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct CalendarPage {
    layout: Layout,
    title: String,
    week: String,
    previous: String,
    next: String,
    query: String,
    days: Vec<DayColumn>,
    tracks: Vec<(Track, String)>,
    can_schedule: bool,
    programs: Vec<Program>,
    clinicians: Vec<(String, String)>,
    rooms: Vec<(String, String)>,
    q: CalendarQuery,
    message: Option<String>,
}

fn opt<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.trim().is_empty() { None } else { s.parse().ok() }
}

async fn calendar_page(state: &AppState, staff: &Staff, q: &CalendarQuery, message: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let week = if q.week.trim().is_empty() { Week::of(openiop_app::programs::today(state, &ctx).await?) } else { Week::parse(&q.week)? };
    let patient: Option<PatientId> = opt(&q.patient);
    // A patient's week: only for those who may see that patient (out of scope: 404).
    let patient_name = match patient {
        Some(p) => Some(openiop_app::patients::summary(state, &ctx, p).await?.name),
        None => None,
    };
    let filter = SessionFilter {
        track: opt(&q.track),
        program: opt(&q.program),
        leader: opt(&q.leader),
        room: opt(&q.room),
        patient,
        ..Default::default()
    };
    let sites = openiop_app::sites::visible_sites(state, &ctx).await?;
    let tz = sites.first().map(|s| s.time_zone.0).unwrap_or(chrono_tz::America::New_York);
    let (from, to) = week.bounds(tz);
    let sessions = uc::calendar(state, &ctx, &filter, from, to).await?;
    let look = Lookup::load(state, staff, tz).await?;
    let days = week
        .days()
        .into_iter()
        .filter(|d| q.day.trim().is_empty() || d.to_string() == q.day.trim())
        .map(|date| DayColumn {
            date,
            label: date.format("%a %b %-d").to_string(),
            sessions: sessions.iter().filter(|s| s.local_date == date).map(|s| look.row(s)).collect(),
        })
        .collect();
    let programs = openiop_app::programs::visible_programs(state, &ctx).await?;
    let all_tracks = openiop_app::programs::visible_tracks(state, &ctx).await?;
    let tracks: Vec<(Track, String)> =
        all_tracks.into_iter().filter_map(|t| programs.iter().find(|p| p.id == t.program_id).map(|p| (t, p.name.clone()))).collect();
    let mut title = "Schedule".to_string();
    if let Some(t) = filter.track.and_then(|id| tracks.iter().find(|(t, _)| t.id == id)) {
        title = format!("Schedule: {} ({})", t.0.name, t.1);
    } else if let Some(p) = filter.program.and_then(|id| programs.iter().find(|p| p.id == id)) {
        title = format!("Schedule: {}", p.name);
    } else if let Some(u) = filter.leader.and_then(|id| look.users.iter().find(|u| u.id == id)) {
        title = format!("Schedule: {}", u.name);
    } else if let Some(r) = filter.room.and_then(|id| look.rooms.iter().find(|r| r.id == id)) {
        title = format!("Schedule: {}", r.name);
    } else if let Some(name) = &patient_name {
        title = format!("Schedule: {name}");
    }
    let query = [("track", &q.track), ("program", &q.program), ("leader", &q.leader), ("room", &q.room), ("patient", &q.patient)]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("&{k}={}", v.trim()))
        .collect::<String>();
    let page = CalendarPage {
        layout: Layout::staff(staff, &title, "/schedule"),
        title,
        week: week.to_string(),
        previous: week.previous().to_string(),
        next: week.next().to_string(),
        query,
        days,
        tracks,
        can_schedule: staff.actor.can(Action::ManageIntake) || staff.actor.can(Action::WriteClinicalRecord),
        programs,
        clinicians: openiop_app::programs::staff(state, &ctx).await?.into_iter().map(|s| (s.user_id.to_string(), s.name)).collect(),
        rooms: look.rooms.iter().filter(|r| sites.iter().any(|s| s.id == r.site_id)).map(|r| (r.id.to_string(), r.name.clone())).collect(),
        q: CalendarQuery {
            week: q.week.clone(),
            day: q.day.clone(),
            track: q.track.clone(),
            program: q.program.clone(),
            leader: q.leader.clone(),
            room: q.room.clone(),
            patient: q.patient.clone(),
        },
        message,
    };
    render(&page)
}

pub async fn calendar(State(state): State<AppState>, staff: Staff, Query(q): Query<CalendarQuery>) -> PageResult<Response> {
    calendar_page(&state, &staff, &q, None).await
}

#[derive(Deserialize)]
pub struct GeneratePost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    track_id: String,
    #[serde(default)]
    week: String,
}

pub async fn generate(State(state): State<AppState>, staff: Staff, Form(f): Form<GeneratePost>) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let q = CalendarQuery { week: f.week.clone(), track: f.track_id.clone(), ..Default::default() };
    let result = async {
        let week = Week::parse(&f.week)?;
        let track = f.track_id.parse().map_err(|_| DomainError::field("track_id", "required", "choose a track"))?;
        uc::generate(&state, &staff.ctx(), track, week.monday(), week.monday() + Duration::days(6)).await
    }
    .await;
    match result {
        Ok(n) => {
            let msg = format!("{n} session(s) generated for {}.", f.week);
            let mut res = calendar_page(&state, &staff, &q, Some(msg)).await?;
            *res.status_mut() = StatusCode::OK;
            Ok(res)
        }
        Err(e @ (DomainError::Validation(_) | DomainError::Rule { .. } | DomainError::Conflict { .. })) => {
            let msg = match &e {
                DomainError::Validation(v) => v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; "),
                other => other.to_string(),
            };
            let mut res = calendar_page(&state, &staff, &q, Some(format!("Nothing was generated: {msg}"))).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ParticipantRow {
    pub patient_id: String,
    pub name: String,
    pub mrn: String,
    pub status: String,
    pub minutes: String,
    pub mode: String,
    pub amended: bool,
    /// A partial attendance credited with the organization's default (not typed).
    pub credited_by_default: bool,
    /// What is wrong with this row as posted (the form is re-shown with it marked).
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    layout: Layout,
    session: SessionRow,
    session_id: String,
    minutes: i64,
    rows: Vec<ParticipantRow>,
    /// Participants outside the caller's scope (counted, never named).
    others: usize,
    statuses: &'static [AttendanceStatus],
    can_take: bool,
    started: bool,
    virtual_link: Option<String>,
    error: Option<String>,
    saved: Option<String>,
    /// A booking refused for the population rule: the patient to book with a clinician's reason.
    exception_for: Option<String>,
    back: String,
    /// Participants' family members taking part, and those who may be added.
    family: Vec<FamilyView>,
    family_taking_part: usize,
    can_add_family: bool,
}

pub struct FamilyView {
    /// `patient:collateral`, the add form's value.
    pub key: String,
    pub label: String,
    pub taking_part: bool,
    pub consent_in_force: bool,
}

async fn session_page(
    state: &AppState,
    staff: &Staff,
    id: SessionId,
    error: Option<String>,
    saved: Option<String>,
) -> PageResult<Response> {
    session_page_with(state, staff, id, error, saved, Reshow::default()).await
}

/// What a refused form re-shows: the rows as posted with their problems, or the patient a
/// booking refused for the population rule (offered the exception's reason field).
#[derive(Default)]
struct Reshow<'a> {
    posted: &'a [AttendanceRow],
    problems: &'a [openiop_domain::FieldError],
    exception_for: Option<PatientId>,
}

/// The session page; after a refused attendance, the rows as posted with their problems marked.
async fn session_page_with(
    state: &AppState,
    staff: &Staff,
    id: SessionId,
    error: Option<String>,
    saved: Option<String>,
    reshow: Reshow<'_>,
) -> PageResult<Response> {
    let Reshow { posted, problems, exception_for } = reshow;
    let back = format!("/sessions/{id}");
    let ctx = staff.ctx();
    let r = uc::roster(state, &ctx, id).await?;
    let (s, names) = (&r.session, &r.participants);
    let look = Lookup::load(state, staff, r.site.time_zone.0).await?;
    let current = current_attendance(&r.attendance);
    let mut rows: Vec<ParticipantRow> = names
        .iter()
        .map(|n| {
            let a = current.iter().find(|a| a.patient_id == n.id);
            ParticipantRow {
                patient_id: n.id.to_string(),
                name: n.name.clone(),
                mrn: n.mrn.clone(),
                status: a.map(|a| a.status.code().to_string()).unwrap_or_else(|| "present".into()),
                // Only a partial attendance pre-fills minutes; otherwise the status decides.
                minutes: a
                    .filter(|a| a.status.attended() && a.minutes as i64 != s.minutes())
                    .map(|a| a.minutes.to_string())
                    .unwrap_or_default(),
                mode: a.map(|a| a.mode.code().to_string()).unwrap_or_default(),
                amended: a.is_some_and(|a| a.version > 1),
                credited_by_default: a.is_some_and(|a| a.credited_by_default),
                problem: None,
            }
        })
        .collect();
    for r in rows.iter_mut() {
        if let Some(p) = posted.iter().find(|p| p.patient_id == r.patient_id) {
            r.status = p.status.clone();
            r.minutes = p.minutes.clone();
            r.mode = p.mode.clone();
            r.credited_by_default = false;
        }
        let prefix = format!("{}.", r.patient_id);
        let mine: Vec<String> = problems.iter().filter(|x| x.field.starts_with(&prefix)).map(|x| x.message.clone()).collect();
        if !mine.is_empty() {
            r.problem = Some(mine.join("; "));
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let base = r.video_base_url.clone();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let row = look.row(s);
    let mut res = render(&SessionPage {
        layout: Layout::staff(staff, &format!("{} {}", row.service, row.day), "/schedule"),
        session_id: s.id.to_string(),
        minutes: s.minutes(),
        session: row,
        rows,
        others: r.others,
        statuses: AttendanceStatus::ALL,
        can_take: staff.actor.can(Action::ManageIntake) || staff.actor.can(Action::WriteClinicalRecord),
        started: s.starts_at <= state.now() + Duration::minutes(30),
        virtual_link: s
            .virtual_token
            .as_deref()
            .map(|t| openiop_domain::programs::virtual_room_link(base.as_deref().unwrap_or("https://video.invalid"), t)),
        error,
        saved,
        exception_for: exception_for.filter(|_| staff.actor.can(Action::WriteClinicalRecord)).map(|p| p.to_string()),
        back: back.to_string(),
        can_add_family: s.status == SessionStatus::Scheduled
            && (staff.actor.can(Action::ManageIntake) || staff.actor.can(Action::WriteClinicalRecord))
            && r.family.iter().any(|f| !f.taking_part),
        family_taking_part: r.family.iter().filter(|f| f.taking_part).count(),
        family: r
            .family
            .iter()
            .map(|f| FamilyView {
                key: format!("{}:{}", f.patient_id, f.collateral.id),
                label: format!("{} ({}), with {}", f.collateral.name, f.collateral.relationship, f.patient_name),
                taking_part: f.taking_part,
                consent_in_force: f.consent_in_force,
            })
            .collect(),
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn session(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    session_page(&state, &staff, not_found(&id, "session")?, None, None).await
}

/// The attendance screen posts `status_<patient>`, `minutes_<patient>`, `mode_<patient>` for
/// every participant at once.
pub async fn take_attendance(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult<Response> {
    staff.check_csrf(f.get("csrf").map(String::as_str).unwrap_or(""))?;
    let sid: SessionId = not_found(&id, "session")?;
    let mut rows: Vec<AttendanceRow> = f
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("status_").map(|p| (p.to_string(), v.clone())))
        .map(|(p, status)| AttendanceRow {
            minutes: f.get(&format!("minutes_{p}")).cloned().unwrap_or_default(),
            mode: f.get(&format!("mode_{p}")).cloned().unwrap_or_default(),
            note: String::new(),
            patient_id: p,
            status,
        })
        .collect();
    rows.sort_by(|a, b| a.patient_id.cmp(&b.patient_id));
    match uc::take_attendance(&state, &staff.ctx(), sid, &rows).await {
        Ok(n) => {
            let by_default = n.iter().filter(|a| a.credited_by_default).count();
            let note = if by_default > 0 {
                format!(" {by_default} late or early departure(s) without minutes were credited with the clinic's default (marked).")
            } else {
                String::new()
            };
            session_page(&state, &staff, sid, None, Some(format!("Attendance saved for {} patient(s).{note}", n.len()))).await
        }
        Err(e @ (DomainError::Validation(_) | DomainError::Rule { .. } | DomainError::Conflict { .. })) => {
            let (msg, problems) = match &e {
                DomainError::Validation(v) => (v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; "), v.clone()),
                other => (other.to_string(), Vec::new()),
            };
            session_page_with(
                &state,
                &staff,
                sid,
                Some(format!("Nothing was saved: {msg}")),
                None,
                Reshow { posted: &rows, problems: &problems, exception_for: None },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AddPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    back: String,
    /// A clinician's reason to book a patient outside the program's population.
    #[serde(default)]
    population_exception_reason: String,
    /// A family member to add instead of a patient: `patient:collateral` (consent-gated).
    #[serde(default)]
    family: String,
}

/// One click: add a patient to a session (a make-up), through the scheduling rules.
pub async fn add_participant(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<AddPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let sid: SessionId = not_found(&id, "session")?;
    if !f.family.is_empty() {
        return add_family(&state, &staff, sid, &f.family).await;
    }
    let p: PatientId = not_found(&f.patient_id, "patient")?;
    match uc::change_participants(&state, &staff.ctx(), sid, &[p], &[], None, &f.population_exception_reason).await {
        Ok(_) => {
            let back = if f.back.starts_with('/') && !f.back.starts_with("//") { f.back } else { format!("/sessions/{sid}") };
            Ok(Redirect::to(&back).into_response())
        }
        Err(e @ (DomainError::Rule { .. } | DomainError::Conflict { .. })) => {
            // The population rule asks for a clinician's reason: the page offers the field.
            let retry = (e.code() == "population_mismatch").then_some(p);
            session_page_with(&state, &staff, sid, Some(e.to_string()), None, Reshow { exception_for: retry, ..Default::default() }).await
        }
        Err(DomainError::Validation(v)) => {
            let msg = v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; ");
            session_page_with(&state, &staff, sid, Some(msg), None, Reshow { exception_for: Some(p), ..Default::default() }).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds a participant's family member, only under a consent in force (else the page says why).
async fn add_family(state: &AppState, staff: &Staff, sid: SessionId, key: &str) -> PageResult<Response> {
    let parsed = key.split_once(':').and_then(|(p, c)| Some((p.parse::<PatientId>().ok()?, c.parse().ok()?)));
    let Some(family) = parsed else {
        return session_page_with(state, staff, sid, Some("Choose a family member to add.".into()), None, Reshow::default()).await;
    };
    match uc::change_participants(state, &staff.ctx(), sid, &[], &[], Some(family), "").await {
        Ok(_) => session_page(state, staff, sid, None, Some("Family member added.".into())).await,
        Err(e @ (DomainError::Rule { .. } | DomainError::Conflict { .. } | DomainError::Validation(_))) => {
            let msg = match &e {
                DomainError::Validation(v) => v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; "),
                other => other.to_string(),
            };
            session_page_with(state, staff, sid, Some(msg), None, Reshow::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "sign_in_sheet.html")]
struct SignInSheet {
    layout: Layout,
    session: SessionRow,
    names: Vec<(String, String)>,
}

pub async fn sign_in_sheet(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let (s, site, people) = uc::sign_in_sheet(&state, &ctx, not_found(&id, "session")?).await?;
    let look = Lookup::load(&state, &staff, site.time_zone.0).await?;
    let mut names: Vec<(String, String)> = people.into_iter().map(|p| (p.name, p.mrn)).collect();
    names.sort();
    let row = look.row(&s);
    render(&SignInSheet { layout: Layout::staff(&staff, "Sign-in sheet", "/schedule"), session: row, names })
}

#[derive(Deserialize, Default)]
pub struct WeekQuery {
    #[serde(default)]
    week: String,
}

#[derive(Template)]
#[template(path = "program_hours.html")]
struct HoursPage {
    layout: Layout,
    program: Program,
    week: String,
    previous: String,
    next: String,
    rows: Vec<(String, String, String, WeekLedger)>,
    counts: (usize, usize, usize),
}

pub async fn program_hours(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<WeekQuery>,
) -> PageResult<Response> {
    let week =
        if q.week.trim().is_empty() { Week::of(openiop_app::programs::today(&state, &staff.ctx()).await?) } else { Week::parse(&q.week)? };
    let pw = uc::program_week(&state, &staff.ctx(), not_found(&id, "program")?, week).await?;
    let count = |s: LedgerStatus| pw.rows.iter().filter(|r| r.2.status == s).count();
    let counts = (count(LedgerStatus::OnTrack), count(LedgerStatus::AtRisk), count(LedgerStatus::Below));
    let rows = pw.rows.into_iter().map(|(e, n, l)| (e.id.to_string(), n.id.to_string(), n.name, l)).collect();
    render(&HoursPage {
        layout: Layout::staff(&staff, &format!("Hours: {}", pw.program.name), "/schedule"),
        week: week.to_string(),
        previous: week.previous().to_string(),
        next: week.next().to_string(),
        program: pw.program,
        rows,
        counts,
    })
}

#[derive(Template)]
#[template(path = "make_ups.html")]
struct MakeUpsPage {
    layout: Layout,
    episode_id: String,
    patient_id: String,
    week: String,
    ledger: WeekLedger,
    options: Vec<(SessionRow, f64)>,
}

pub async fn make_ups(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<WeekQuery>,
) -> PageResult<Response> {
    let ctx = staff.ctx();
    let eid: EpisodeId = not_found(&id, "episode")?;
    let week = if q.week.trim().is_empty() { Week::of(openiop_app::programs::today(&state, &ctx).await?) } else { Week::parse(&q.week)? };
    let ledger = uc::episode_week(&state, &ctx, eid, week).await?;
    let m = uc::make_ups(&state, &ctx, eid, week).await?;
    let (e, options) = (m.episode, m.options);
    let look = Lookup::load(&state, &staff, m.site.time_zone.0).await?;
    render(&MakeUpsPage {
        layout: Layout::staff(&staff, "Make-up sessions", "/schedule"),
        episode_id: eid.to_string(),
        patient_id: e.patient_id.to_string(),
        week: week.to_string(),
        ledger,
        options: options.iter().map(|(s, h)| (look.row(s), *h)).collect(),
    })
}
