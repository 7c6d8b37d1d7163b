//! Sessions, recurrence, attendance, the hours ledger, make-ups and calendar feeds.
use super::{ApiJson, ApiQuery};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use openiop_app::schedule as uc;
use openiop_domain::DomainError;
use openiop_domain::programs::parse_date;
use openiop_domain::schedule::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, DomainError> {
    s.parse().map_err(|_| DomainError::NotFound(what))
}

/// The week asked for, or this week where the caller works.
async fn week_or_current(state: &AppState, caller: &ApiCaller, w: Option<&str>) -> Result<Week, DomainError> {
    match w {
        Some(w) if !w.trim().is_empty() => Week::parse(w),
        _ => Ok(Week::of(openiop_app::programs::today(state, &caller.ctx()).await?)),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    pub id: String,
    pub site_id: String,
    pub program_id: Option<String>,
    pub track_id: Option<String>,
    pub service_type_id: String,
    /// UTC instant (RFC 3339).
    pub starts_at: String,
    pub ends_at: String,
    /// The date at the site.
    pub local_date: String,
    pub minutes: i64,
    pub room_id: Option<String>,
    pub is_virtual: bool,
    /// The video visit link for virtual sessions.
    pub virtual_link: Option<String>,
    pub leader_ids: Vec<String>,
    pub patient_ids: Vec<String>,
    pub capacity: u32,
    pub topic: String,
    /// scheduled | held | cancelled
    pub status: String,
    pub cancel_reason: String,
}

pub fn session_body(s: &Session, video_base: Option<&str>) -> SessionBody {
    SessionBody {
        id: s.id.to_string(),
        site_id: s.site_id.to_string(),
        program_id: s.program_id.map(|x| x.to_string()),
        track_id: s.track_id.map(|x| x.to_string()),
        service_type_id: s.service_type_id.to_string(),
        starts_at: openiop_domain::audit::timestamp_text(s.starts_at),
        ends_at: openiop_domain::audit::timestamp_text(s.ends_at),
        local_date: s.local_date.to_string(),
        minutes: s.minutes(),
        room_id: s.room_id.map(|x| x.to_string()),
        is_virtual: s.is_virtual,
        virtual_link: s
            .virtual_token
            .as_deref()
            .map(|t| openiop_domain::programs::virtual_room_link(video_base.unwrap_or("https://video.invalid"), t)),
        leader_ids: s.leaders.iter().map(|x| x.to_string()).collect(),
        patient_ids: s.participants.iter().map(|x| x.to_string()).collect(),
        capacity: s.capacity,
        topic: s.topic.clone(),
        status: s.status.code().into(),
        cancel_reason: s.cancel_reason.clone(),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct GenerateInput {
    /// An ISO week (YYYY-Www), or give from/to.
    pub week: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GeneratedBody {
    pub created: usize,
}

/// Generates a track's sessions from its weekly template for a week or a date range (skipping
/// closures and sessions already generated). All pass the scheduling rules, or none is written.
#[utoipa::path(post, path = "/api/v1/tracks/{id}/generate", tag = "schedule", params(("id" = String, Path)), request_body = GenerateInput,
    responses((status = 201, body = GeneratedBody), (status = 404, body = ErrorBody), (status = 409, description = "schedule_conflict: a patient, leader or room is already booked", body = ErrorBody), (status = 422, description = "capacity_exceeded, population_mismatch, credential codes, leader_missing", body = ErrorBody)))]
async fn generate(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tid): Path<String>,
    ApiJson(i): ApiJson<GenerateInput>,
) -> ApiResult<(StatusCode, Json<GeneratedBody>)> {
    let (from, to) = match (&i.week, &i.from, &i.to) {
        (Some(w), _, _) => {
            let w = Week::parse(w)?;
            (w.monday(), w.monday() + Duration::days(6))
        }
        (None, Some(a), Some(b)) => (parse_date("from", a)?, parse_date("to", b)?),
        _ => return Err(DomainError::field("week", "required", "give a week (YYYY-Www) or from and to").into()),
    };
    let n = uc::generate(&state, &caller.ctx(), id(&tid, "track")?, from, to).await?;
    Ok((StatusCode::CREATED, Json(GeneratedBody { created: n })))
}

/// Schedules a one-off session (individual, family, medication management, …).
#[utoipa::path(post, path = "/api/v1/sessions", tag = "schedule", request_body = SessionForm,
    responses((status = 201, body = SessionBody), (status = 403, body = ErrorBody), (status = 409, description = "schedule_conflict: a patient, leader or room is already booked then", body = ErrorBody), (status = 422, description = "validation or scheduling rule", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(form): ApiJson<SessionForm>,
) -> ApiResult<(StatusCode, Json<SessionBody>)> {
    let s = uc::create_session(&state, &caller.ctx(), &form).await?;
    let base = openiop_app::programs::video_base_url(&state, &caller.ctx()).await?;
    Ok((StatusCode::CREATED, Json(session_body(&s, base.as_deref()))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Start (RFC 3339 or YYYY-MM-DD, UTC); default now.
    from: Option<String>,
    /// End; default 7 days after the start.
    to: Option<String>,
    site: Option<String>,
    program: Option<String>,
    track: Option<String>,
    leader: Option<String>,
    room: Option<String>,
    patient: Option<String>,
}

fn instant(field: &str, s: &str) -> Result<DateTime<Utc>, DomainError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        // The same years as every date (1900–2100): far-off instants are mistakes.
        return parse_date(field, &t.date_naive().to_string()).map(|_| t);
    }
    parse_date(field, s).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn opt_id<T: std::str::FromStr>(field: &str, s: &Option<String>) -> Result<Option<T>, DomainError> {
    match s.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        Some(x) => x.parse().map(Some).map_err(|_| DomainError::field(field, "invalid_id", "is not a valid identifier")),
        None => Ok(None),
    }
}

/// Sessions in a window for calendars (per site, program, track, leader, room or patient).
#[utoipa::path(get, path = "/api/v1/sessions", tag = "schedule", params(ListParams), responses((status = 200, body = Vec<SessionBody>), (status = 422, body = ErrorBody)))]
async fn list(State(state): State<AppState>, caller: ApiCaller, ApiQuery(p): ApiQuery<ListParams>) -> ApiResult<Json<Vec<SessionBody>>> {
    let from = match &p.from {
        Some(f) => instant("from", f)?,
        None => state.now(),
    };
    let to = match &p.to {
        Some(t) => instant("to", t)?,
        None => from + Duration::days(7),
    };
    if to <= from || to - from > Duration::days(92) {
        return Err(DomainError::field("to", "range_invalid", "must be after from, at most 92 days later").into());
    }
    let filter = SessionFilter {
        site: opt_id("site", &p.site)?,
        program: opt_id("program", &p.program)?,
        track: opt_id("track", &p.track)?,
        leader: opt_id("leader", &p.leader)?,
        room: opt_id("room", &p.room)?,
        patient: opt_id("patient", &p.patient)?,
        ..Default::default()
    };
    let sessions = uc::calendar(&state, &caller.ctx(), &filter, from, to).await?;
    let base = openiop_app::programs::video_base_url(&state, &caller.ctx()).await?;
    Ok(Json(sessions.iter().map(|s| session_body(s, base.as_deref())).collect()))
}

/// One session.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "schedule", params(("id" = String, Path)), responses((status = 200, body = SessionBody), (status = 404, body = ErrorBody)))]
async fn get_session(State(state): State<AppState>, caller: ApiCaller, Path(sid): Path<String>) -> ApiResult<Json<SessionBody>> {
    let s = uc::session_for(&state, &caller.ctx(), id(&sid, "session")?, openiop_domain::auth::Action::ViewPrograms).await?;
    let base = openiop_app::programs::video_base_url(&state, &caller.ctx()).await?;
    Ok(Json(session_body(&s, base.as_deref())))
}

#[derive(Deserialize, ToSchema)]
pub struct ParticipantsInput {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
    /// A family member to add (consent-gated): patient id and collateral id.
    pub family_patient_id: Option<String>,
    pub family_collateral_id: Option<String>,
    /// Needed only to book a minor into an adult program's session or an adult into an
    /// adolescent one's: the clinician's reason for the exception (recorded with who and when,
    /// audited). Without it such a booking is refused (422 population_mismatch).
    #[serde(default)]
    pub population_exception_reason: String,
}

/// Adds or removes participants (and family members) through the scheduling rules.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/participants", tag = "schedule", params(("id" = String, Path)), request_body = ParticipantsInput,
    responses((status = 200, body = SessionBody), (status = 404, body = ErrorBody), (status = 409, description = "session_closed, or schedule_conflict: already booked elsewhere", body = ErrorBody), (status = 422, description = "capacity_exceeded, population_mismatch, consent_required, …", body = ErrorBody)))]
async fn participants(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<ParticipantsInput>,
) -> ApiResult<Json<SessionBody>> {
    let parse = |v: &[String]| {
        v.iter()
            .map(|x| x.parse().map_err(|_| DomainError::field("patient_id", "invalid_id", "is not a valid identifier")))
            .collect::<Result<Vec<_>, _>>()
    };
    let family = match (&i.family_patient_id, &i.family_collateral_id) {
        (Some(p), Some(c)) => Some((id(p, "patient")?, id(c, "family member")?)),
        _ => None,
    };
    let s = uc::change_participants(
        &state,
        &caller.ctx(),
        id(&sid, "session")?,
        &parse(&i.add)?,
        &parse(&i.remove)?,
        family,
        &i.population_exception_reason,
    )
    .await?;
    let base = openiop_app::programs::video_base_url(&state, &caller.ctx()).await?;
    Ok(Json(session_body(&s, base.as_deref())))
}

#[derive(Deserialize, ToSchema)]
pub struct CancelInput {
    pub reason: String,
}

/// Cancels a session with a reason.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/cancel", tag = "schedule", params(("id" = String, Path)), request_body = CancelInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<CancelInput>,
) -> ApiResult<StatusCode> {
    uc::cancel_session(&state, &caller.ctx(), id(&sid, "session")?, &i.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct AttendanceRowInput {
    pub patient_id: String,
    /// present | late | left_early | absent_excused | absent_unexcused | cancelled_by_program
    pub status: String,
    /// Minutes attended. Default: the whole session when present, 0 when absent. A late arrival
    /// or early departure needs them (less than the session), unless the organization set a
    /// default in its documentation settings (`partial_attendance_missed_minutes`): such a record
    /// is credited the session less those minutes and marked `credited_by_default`.
    pub minutes: Option<u32>,
    /// in_person | virtual (default from the session)
    pub mode: Option<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
pub struct AttendanceInput {
    pub rows: Vec<AttendanceRowInput>,
}

#[derive(Serialize, ToSchema)]
pub struct AttendanceRecordedBody {
    pub recorded: usize,
    /// The records written, as they count toward the hours ledger.
    pub records: Vec<AttendanceRecordBody>,
}

#[derive(Serialize, ToSchema)]
pub struct AttendanceRecordBody {
    pub patient_id: String,
    /// present | late | left_early | absent_excused | absent_unexcused | cancelled_by_program
    pub status: String,
    /// Minutes credited toward the hours ledger.
    pub minutes: u32,
    /// in_person | virtual
    pub mode: String,
    /// True when a late arrival or early departure was recorded without its minutes and was
    /// credited with the organization's default.
    pub credited_by_default: bool,
}

/// Takes attendance for a whole session in one transaction (a correction is kept as an amendment).
/// Any bad row refuses all: minutes_required (late or left early without minutes and no
/// default), partial_minutes_full, outside_episode (the session is not within the patient's
/// episode of care, admission date through discharge date), …
#[utoipa::path(post, path = "/api/v1/sessions/{id}/attendance", tag = "schedule", params(("id" = String, Path)), request_body = AttendanceInput,
    responses((status = 200, body = AttendanceRecordedBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, description = "minutes_required, partial_minutes_full, outside_episode, …", body = ErrorBody)))]
async fn attendance(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<AttendanceInput>,
) -> ApiResult<Json<AttendanceRecordedBody>> {
    let rows: Vec<AttendanceRow> = i
        .rows
        .into_iter()
        .map(|r| AttendanceRow {
            patient_id: r.patient_id,
            status: r.status,
            minutes: r.minutes.map(|m| m.to_string()).unwrap_or_default(),
            mode: r.mode.unwrap_or_default(),
            note: r.note,
        })
        .collect();
    let n = uc::take_attendance(&state, &caller.ctx(), id(&sid, "session")?, &rows).await?;
    let records: Vec<AttendanceRecordBody> = n
        .iter()
        .map(|a| AttendanceRecordBody {
            patient_id: a.patient_id.to_string(),
            status: a.status.code().into(),
            minutes: a.minutes,
            mode: a.mode.code().into(),
            credited_by_default: a.credited_by_default,
        })
        .collect();
    Ok(Json(AttendanceRecordedBody { recorded: records.len(), records }))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerBody {
    /// YYYY-Www
    pub week: String,
    pub required_hours: f64,
    pub scheduled_hours: f64,
    pub attended_hours: f64,
    pub forecast_hours: f64,
    pub deficit_hours: f64,
    /// on_track | at_risk | below
    pub status: String,
}

impl From<WeekLedger> for LedgerBody {
    fn from(l: WeekLedger) -> Self {
        Self {
            week: l.week,
            required_hours: l.required_hours,
            scheduled_hours: l.scheduled_hours,
            attended_hours: l.attended_hours,
            forecast_hours: l.forecast_hours,
            deficit_hours: l.deficit_hours,
            status: l.status.code().into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeekParams {
    /// ISO week YYYY-Www (default: this week).
    week: Option<String>,
}

/// The hours ledger of an episode for an ISO week (in the program's time zone).
#[utoipa::path(get, path = "/api/v1/episodes/{id}/hours", tag = "hours", params(("id" = String, Path), WeekParams),
    responses((status = 200, body = LedgerBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn episode_hours(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiQuery(p): ApiQuery<WeekParams>,
) -> ApiResult<Json<LedgerBody>> {
    let week = week_or_current(&state, &caller, p.week.as_deref()).await?;
    Ok(Json(uc::episode_week(&state, &caller.ctx(), id(&eid, "episode")?, week).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ProgramHoursRow {
    pub episode_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    #[serde(flatten)]
    pub ledger: LedgerBody,
}

/// Every active episode's week in a program at once.
#[utoipa::path(get, path = "/api/v1/programs/{id}/hours", tag = "hours", params(("id" = String, Path), WeekParams),
    responses((status = 200, body = Vec<ProgramHoursRow>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn program_hours(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiQuery(p): ApiQuery<WeekParams>,
) -> ApiResult<Json<Vec<ProgramHoursRow>>> {
    let week = week_or_current(&state, &caller, p.week.as_deref()).await?;
    let pw = uc::program_week(&state, &caller.ctx(), id(&pid, "program")?, week).await?;
    Ok(Json(
        pw.rows
            .into_iter()
            .map(|(e, n, l)| ProgramHoursRow {
                episode_id: e.id.to_string(),
                patient_id: e.patient_id.to_string(),
                patient_name: n.name,
                mrn: n.mrn,
                ledger: l.into(),
            })
            .collect(),
    ))
}

/// One program's week in the organization's hours report.
#[derive(Serialize, ToSchema)]
pub struct ProgramHoursSummary {
    pub program_id: String,
    pub program_name: String,
    pub site_id: String,
    pub site_name: String,
    /// YYYY-Www
    pub week: String,
    /// Patients with an episode open during the week.
    pub patients: usize,
    pub on_track: usize,
    pub at_risk: usize,
    pub below: usize,
    pub required_hours: f64,
    pub attended_hours: f64,
    pub deficit_hours: f64,
}

/// The hours report of every program in your scope for a week: per program, how many patients
/// are on track, at risk or below the required intensity, and the hours behind them.
#[utoipa::path(get, path = "/api/v1/hours", tag = "hours", params(WeekParams),
    responses((status = 200, body = Vec<ProgramHoursSummary>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn organization_hours(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(p): ApiQuery<WeekParams>,
) -> ApiResult<Json<Vec<ProgramHoursSummary>>> {
    let week = week_or_current(&state, &caller, p.week.as_deref()).await?;
    let all = uc::visible_programs_week(&state, &caller.ctx(), week).await?;
    let round = |x: f64| (x * 100.0).round() / 100.0;
    Ok(Json(
        all.into_iter()
            .map(|pw| {
                let count = |st: LedgerStatus| pw.rows.iter().filter(|r| r.1.status == st).count();
                ProgramHoursSummary {
                    program_id: pw.program.id.to_string(),
                    program_name: pw.program.name.clone(),
                    site_id: pw.site.id.to_string(),
                    site_name: pw.site.name.clone(),
                    week: pw.week.to_string(),
                    patients: pw.rows.len(),
                    on_track: count(LedgerStatus::OnTrack),
                    at_risk: count(LedgerStatus::AtRisk),
                    below: count(LedgerStatus::Below),
                    required_hours: round(pw.rows.iter().map(|r| r.1.required_hours).sum()),
                    attended_hours: round(pw.rows.iter().map(|r| r.1.attended_hours).sum()),
                    deficit_hours: round(pw.rows.iter().map(|r| r.1.deficit_hours).sum()),
                }
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MakeUpBody {
    pub session: SessionBody,
    pub hours: f64,
}

/// Open seats later in the week that fit the patient's windows, population and preference.
#[utoipa::path(get, path = "/api/v1/episodes/{id}/make-ups", tag = "hours", params(("id" = String, Path), WeekParams),
    responses((status = 200, body = Vec<MakeUpBody>), (status = 404, body = ErrorBody)))]
async fn make_ups(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiQuery(p): ApiQuery<WeekParams>,
) -> ApiResult<Json<Vec<MakeUpBody>>> {
    let week = week_or_current(&state, &caller, p.week.as_deref()).await?;
    let list = uc::make_ups(&state, &caller.ctx(), id(&eid, "episode")?, week).await?;
    let base = openiop_app::programs::video_base_url(&state, &caller.ctx()).await?;
    Ok(Json(list.options.iter().map(|(s, h)| MakeUpBody { session: session_body(s, base.as_deref()), hours: *h }).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct JoinInput {
    pub track_id: String,
    /// First day in the new track (YYYY-MM-DD).
    pub from: String,
}

#[derive(Serialize, ToSchema)]
pub struct JoinedBody {
    /// Future sessions changed.
    pub sessions: usize,
}

/// Moves an episode into a track's rolling group from a date.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/join-track", tag = "schedule", params(("id" = String, Path)), request_body = JoinInput,
    responses((status = 200, body = JoinedBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn join(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<JoinInput>,
) -> ApiResult<Json<JoinedBody>> {
    let from = parse_date("from", &i.from)?;
    let n = uc::join_track(&state, &caller.ctx(), id(&eid, "episode")?, id(&i.track_id, "track")?, from).await?;
    Ok(Json(JoinedBody { sessions: n }))
}

#[derive(Deserialize, ToSchema)]
pub struct ClosureInput {
    pub date: String,
    pub reason: String,
}

/// Closes a site on a date (holiday): recurring sessions skip it.
#[utoipa::path(post, path = "/api/v1/sites/{id}/closures", tag = "schedule", params(("id" = String, Path)), request_body = ClosureInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn closure(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<ClosureInput>,
) -> ApiResult<StatusCode> {
    uc::add_closure(&state, &caller.ctx(), id(&sid, "site")?, &i.date, &i.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct FeedInput {
    /// staff | patient
    pub owner: String,
    /// The staff member's user id (yourself) or the patient's id.
    pub owner_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct FeedBody {
    /// The secret subscription URL path (shown once): /calendar/{token}.ics
    pub path: String,
}

/// Creates a revocable iCalendar subscription.
#[utoipa::path(post, path = "/api/v1/calendar-feeds", tag = "schedule", request_body = FeedInput,
    responses((status = 201, body = FeedBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_feed(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(i): ApiJson<FeedInput>,
) -> ApiResult<(StatusCode, Json<FeedBody>)> {
    let owner = FeedOwner::parse(&i.owner)?;
    let token = uc::create_feed(&state, &caller.ctx(), owner, &i.owner_id).await?;
    Ok((StatusCode::CREATED, Json(FeedBody { path: format!("/calendar/{token}.ics") })))
}

/// Revokes a calendar subscription.
#[utoipa::path(delete, path = "/api/v1/calendar-feeds/{id}", tag = "schedule", params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_feed(State(state): State<AppState>, caller: ApiCaller, Path(fid): Path<String>) -> ApiResult<StatusCode> {
    uc::revoke_feed(&state, &caller.ctx(), id(&fid, "calendar feed")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The iCalendar feed behind a secret token (no sign-in; revocable).
pub async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    match uc::feed(&state, token).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate))
        .routes(routes!(create, list))
        .routes(routes!(get_session))
        .routes(routes!(participants))
        .routes(routes!(cancel))
        .routes(routes!(attendance))
        .routes(routes!(episode_hours))
        .routes(routes!(program_hours))
        .routes(routes!(organization_hours))
        .routes(routes!(make_ups))
        .routes(routes!(join))
        .routes(routes!(closure))
        .routes(routes!(create_feed))
        .routes(routes!(revoke_feed))
}
