//! Programs, tracks and weekly templates, rooms, services, staff and credentials; the public
//! program profile.
use super::{ApiJson, ApiQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use openiop_app::programs as uc;
use openiop_domain::DomainError;
use openiop_domain::ids::{SiteId, UserId};
use openiop_domain::programs::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, DomainError> {
    s.parse().map_err(|_| DomainError::NotFound(what))
}

#[derive(Serialize, ToSchema)]
pub struct ProgramBody {
    pub id: String,
    pub site_id: String,
    pub name: String,
    pub slug: String,
    /// substance_use | mental_health | eating_disorders | co_occurring
    pub condition_focus: String,
    /// adult | adolescent
    pub population: String,
    pub level_of_care: LevelBody,
    pub weekly_hours: f64,
    pub expected_days_min: u32,
    pub expected_days_max: u32,
    pub delivery_modes: Vec<String>,
    pub plan_review_days: u32,
    pub group_cap: u32,
    /// Answers for risk work when an episode has no primary clinician.
    pub clinical_lead_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LevelBody {
    /// Criteria edition, e.g. ASAM3.
    pub edition: String,
    pub code: String,
    pub name: String,
}

impl From<Program> for ProgramBody {
    fn from(p: Program) -> Self {
        Self {
            id: p.id.to_string(),
            site_id: p.site_id.to_string(),
            name: p.name,
            slug: p.slug.to_string(),
            condition_focus: p.condition_focus.code().into(),
            population: p.population.code().into(),
            level_of_care: LevelBody { name: p.level_of_care.name().into(), edition: p.level_of_care.edition, code: p.level_of_care.code },
            weekly_hours: p.weekly_hours,
            expected_days_min: p.expected_days_min,
            expected_days_max: p.expected_days_max,
            delivery_modes: p.delivery_modes.iter().map(|m| m.code().to_string()).collect(),
            plan_review_days: p.plan_review_days,
            group_cap: p.group_cap,
            clinical_lead_id: p.clinical_lead.map(|u| u.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ProgramInput {
    pub site_id: String,
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    pub condition_focus: String,
    pub population: String,
    /// Default ASAM3.
    pub level_edition: Option<String>,
    /// Default 2.1.
    pub level_code: Option<String>,
    /// Default from the level and population (2.1: adult 9, adolescent 6; 2.5: 20).
    pub weekly_hours: Option<f64>,
    pub expected_days_min: Option<u32>,
    pub expected_days_max: Option<u32>,
    pub delivery_modes: Vec<String>,
    pub plan_review_days: Option<u32>,
    pub group_cap: Option<u32>,
    /// A clinician of the program's site who answers for risk work when an episode has no
    /// primary clinician (before the clinical directors). Absent: none.
    pub clinical_lead_id: Option<String>,
}

impl From<ProgramInput> for ProgramForm {
    fn from(i: ProgramInput) -> Self {
        let s = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_default();
        ProgramForm {
            site_id: i.site_id,
            name: i.name,
            slug: i.slug.unwrap_or_default(),
            condition_focus: i.condition_focus,
            population: i.population,
            level_edition: i.level_edition.unwrap_or_default(),
            level_code: i.level_code.unwrap_or_default(),
            weekly_hours: i.weekly_hours.map(|h| h.to_string()).unwrap_or_default(),
            expected_days_min: s(i.expected_days_min),
            expected_days_max: s(i.expected_days_max),
            delivery_modes: i.delivery_modes,
            plan_review_days: s(i.plan_review_days),
            group_cap: s(i.group_cap),
            clinical_lead_id: i.clinical_lead_id.unwrap_or_default(),
        }
    }
}

/// Programs in the caller's scope.
#[utoipa::path(get, path = "/api/v1/programs", tag = "programs", responses((status = 200, body = Vec<ProgramBody>), (status = 401, body = ErrorBody)))]
async fn list_programs(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<ProgramBody>>> {
    Ok(Json(uc::visible_programs(&state, &caller.ctx()).await?.into_iter().map(ProgramBody::from).collect()))
}

/// Creates a program (clinical directors and administrators).
#[utoipa::path(post, path = "/api/v1/programs", tag = "programs", request_body = ProgramInput,
    responses((status = 201, body = ProgramBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_program(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(input): ApiJson<ProgramInput>,
) -> ApiResult<(StatusCode, Json<ProgramBody>)> {
    let p = uc::create_program(&state, &caller.ctx(), &input.into()).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// One program.
#[utoipa::path(get, path = "/api/v1/programs/{id}", tag = "programs", params(("id" = String, Path)),
    responses((status = 200, body = ProgramBody), (status = 404, body = ErrorBody)))]
async fn get_program(State(state): State<AppState>, caller: ApiCaller, Path(pid): Path<String>) -> ApiResult<Json<ProgramBody>> {
    Ok(Json(uc::program(&state, &caller.ctx(), id(&pid, "program")?).await?.into()))
}

/// Replaces a program's settings.
#[utoipa::path(put, path = "/api/v1/programs/{id}", tag = "programs", params(("id" = String, Path)), request_body = ProgramInput,
    responses((status = 200, body = ProgramBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_program(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(input): ApiJson<ProgramInput>,
) -> ApiResult<Json<ProgramBody>> {
    Ok(Json(uc::update_program(&state, &caller.ctx(), id(&pid, "program")?, &input.into()).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct TemplateSessionBody {
    pub id: String,
    pub service_type_id: String,
    /// mon … sun
    pub weekday: String,
    /// HH:MM, site time
    pub start: String,
    pub minutes: u32,
    pub room_id: Option<String>,
    pub is_virtual: bool,
    pub leader_id: Option<String>,
    pub topic: String,
    pub modality: Option<String>,
}

impl From<&TemplateSession> for TemplateSessionBody {
    fn from(s: &TemplateSession) -> Self {
        Self {
            id: s.id.to_string(),
            service_type_id: s.service_type_id.to_string(),
            weekday: short_weekday(s.weekday).into(),
            start: s.start.format("%H:%M").to_string(),
            minutes: s.minutes,
            room_id: s.room_id.map(|r| r.to_string()),
            is_virtual: s.is_virtual,
            leader_id: s.leader.map(|l| l.to_string()),
            topic: s.topic.clone(),
            modality: s.modality.map(|m| m.code().to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrackBody {
    pub id: String,
    pub program_id: String,
    pub name: String,
    pub delivery_mode: String,
    pub template: Vec<TemplateSessionBody>,
}

impl From<Track> for TrackBody {
    fn from(t: Track) -> Self {
        Self {
            id: t.id.to_string(),
            program_id: t.program_id.to_string(),
            name: t.name,
            delivery_mode: t.delivery_mode.code().into(),
            template: t.template.iter().map(TemplateSessionBody::from).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewTrackInput {
    pub name: String,
    /// in_person | virtual | hybrid
    pub delivery_mode: String,
}

/// A program's tracks with their weekly templates.
#[utoipa::path(get, path = "/api/v1/programs/{id}/tracks", tag = "programs", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TrackBody>), (status = 404, body = ErrorBody)))]
async fn list_tracks(State(state): State<AppState>, caller: ApiCaller, Path(pid): Path<String>) -> ApiResult<Json<Vec<TrackBody>>> {
    Ok(Json(uc::tracks(&state, &caller.ctx(), id(&pid, "program")?).await?.into_iter().map(TrackBody::from).collect()))
}

/// Adds a track to a program.
#[utoipa::path(post, path = "/api/v1/programs/{id}/tracks", tag = "programs", params(("id" = String, Path)), request_body = NewTrackInput,
    responses((status = 201, body = TrackBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_track(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(input): ApiJson<NewTrackInput>,
) -> ApiResult<(StatusCode, Json<TrackBody>)> {
    let t = uc::create_track(&state, &caller.ctx(), id(&pid, "program")?, &input.name, &input.delivery_mode).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct TemplateInput {
    pub service_type_id: String,
    pub weekday: String,
    pub start: String,
    /// Default: the service's default duration.
    pub minutes: Option<u32>,
    pub room_id: Option<String>,
    #[serde(default)]
    pub is_virtual: bool,
    pub leader_id: Option<String>,
    #[serde(default)]
    pub topic: String,
    pub modality: Option<String>,
}

/// Adds a recurring session to a track's weekly template (the leader's credentials are checked).
#[utoipa::path(post, path = "/api/v1/tracks/{id}/template", tag = "programs", params(("id" = String, Path)), request_body = TemplateInput,
    responses((status = 201, body = TemplateSessionBody), (status = 404, body = ErrorBody), (status = 422, description = "Invalid input or a credential rule (credential_expired, credential_unverified, credential_not_permitted, license_state_mismatch)", body = ErrorBody)))]
async fn add_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tid): Path<String>,
    ApiJson(i): ApiJson<TemplateInput>,
) -> ApiResult<(StatusCode, Json<TemplateSessionBody>)> {
    let form = TemplateForm {
        service_type_id: i.service_type_id,
        weekday: i.weekday,
        start: i.start,
        minutes: i.minutes.map(|m| m.to_string()).unwrap_or_default(),
        room_id: i.room_id.unwrap_or_default(),
        is_virtual: i.is_virtual,
        leader_id: i.leader_id.unwrap_or_default(),
        topic: i.topic,
        modality: i.modality.unwrap_or_default(),
    };
    let s = uc::add_template_session(&state, &caller.ctx(), id(&tid, "track")?, &form).await?;
    Ok((StatusCode::CREATED, Json(TemplateSessionBody::from(&s))))
}

/// Removes a recurring session from a track's template.
#[utoipa::path(delete, path = "/api/v1/tracks/{id}/template/{session_id}", tag = "programs", params(("id" = String, Path), ("session_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tid, sid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    uc::remove_template_session(&state, &caller.ctx(), id(&tid, "track")?, id(&sid, "template session")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct RoomBody {
    pub id: String,
    pub site_id: String,
    pub name: String,
    /// group | office
    pub kind: String,
    pub capacity: u32,
    pub notes: String,
}

impl From<Room> for RoomBody {
    fn from(r: Room) -> Self {
        Self {
            id: r.id.to_string(),
            site_id: r.site_id.to_string(),
            name: r.name,
            kind: r.kind.code().into(),
            capacity: r.capacity,
            notes: r.notes,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RoomInput {
    pub name: String,
    pub kind: String,
    pub capacity: i64,
    #[serde(default)]
    pub notes: String,
}

/// Rooms at the sites in the caller's scope.
#[utoipa::path(get, path = "/api/v1/rooms", tag = "programs", responses((status = 200, body = Vec<RoomBody>)))]
async fn list_rooms(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<RoomBody>>> {
    Ok(Json(uc::rooms(&state, &caller.ctx()).await?.into_iter().map(RoomBody::from).collect()))
}

/// Adds a room to a site.
#[utoipa::path(post, path = "/api/v1/sites/{id}/rooms", tag = "programs", params(("id" = String, Path)), request_body = RoomInput,
    responses((status = 201, body = RoomBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_room(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<RoomInput>,
) -> ApiResult<(StatusCode, Json<RoomBody>)> {
    let site: SiteId = id(&sid, "site")?;
    let r = uc::create_room(&state, &caller.ctx(), site, &i.name, &i.kind, &i.capacity.to_string(), &i.notes).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ServiceTypeBody {
    pub id: String,
    pub code: String,
    pub name: String,
    pub default_minutes: u32,
    pub counts_toward_hours: bool,
    pub is_group: bool,
    pub family_allowed: bool,
    pub billing_codes: String,
    /// Credential types that may deliver it.
    pub permitted: Vec<String>,
}

impl From<ServiceType> for ServiceTypeBody {
    fn from(s: ServiceType) -> Self {
        Self {
            id: s.id.to_string(),
            code: s.code,
            name: s.name,
            default_minutes: s.default_minutes,
            counts_toward_hours: s.counts_toward_hours,
            is_group: s.is_group,
            family_allowed: s.family_allowed,
            billing_codes: s.billing_codes,
            permitted: s.permitted.iter().map(|c| c.code().to_string()).collect(),
        }
    }
}

/// The organization's service catalogue.
#[utoipa::path(get, path = "/api/v1/service-types", tag = "programs", responses((status = 200, body = Vec<ServiceTypeBody>)))]
async fn list_service_types(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<ServiceTypeBody>>> {
    Ok(Json(uc::service_types(&state, &caller.ctx()).await?.into_iter().map(ServiceTypeBody::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct CredentialBody {
    pub id: String,
    pub user_id: String,
    /// LCSW, LPC, LPC-ASSOCIATE, NP, …
    pub kind: String,
    pub number: String,
    pub state: String,
    pub board: String,
    pub issued_on: String,
    pub expires_on: String,
    /// unverified | verified | rejected
    pub verification: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<String>,
}

impl From<Credential> for CredentialBody {
    fn from(c: Credential) -> Self {
        Self {
            id: c.id.to_string(),
            user_id: c.user_id.to_string(),
            kind: c.kind.code().into(),
            number: c.number,
            state: c.state.to_string(),
            board: c.board,
            issued_on: c.issued_on.to_string(),
            expires_on: c.expires_on.to_string(),
            verification: c.verification.code().into(),
            verified_by: c.verified_by.map(|u| u.to_string()),
            verified_at: c.verified_at.map(openiop_domain::audit::timestamp_text),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StaffBody {
    pub user_id: String,
    pub name: String,
    pub discipline: String,
    pub telehealth_trained: bool,
    pub telehealth_years: u32,
    pub modalities: Vec<String>,
    /// `mon 09:00-17:00` windows.
    pub availability: Vec<String>,
    pub max_caseload: u32,
    pub supervisor_id: Option<String>,
    pub credentials: Vec<CredentialBody>,
}

impl From<StaffProfile> for StaffBody {
    fn from(s: StaffProfile) -> Self {
        Self {
            user_id: s.user_id.to_string(),
            name: s.name,
            discipline: s.discipline,
            telehealth_trained: s.telehealth_trained,
            telehealth_years: s.telehealth_years,
            modalities: s.modalities.iter().map(|m| m.code().to_string()).collect(),
            availability: s.availability.iter().map(|w| w.to_string()).collect(),
            max_caseload: s.max_caseload,
            supervisor_id: s.supervisor_id.map(|u| u.to_string()),
            credentials: s.credentials.into_iter().map(CredentialBody::from).collect(),
        }
    }
}

/// Staff with their profiles and credentials.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", responses((status = 200, body = Vec<StaffBody>)))]
async fn list_staff(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<StaffBody>>> {
    Ok(Json(uc::staff(&state, &caller.ctx()).await?.into_iter().map(StaffBody::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct StaffProfileInput {
    pub discipline: String,
    #[serde(default)]
    pub telehealth_trained: bool,
    #[serde(default)]
    pub telehealth_years: u32,
    #[serde(default)]
    pub modalities: Vec<String>,
    /// `mon 09:00-17:00` windows.
    #[serde(default)]
    pub availability: Vec<String>,
    pub max_caseload: Option<u32>,
    pub supervisor_id: Option<String>,
}

/// Sets a staff member's profile (discipline, telehealth, modalities, availability, supervisor).
#[utoipa::path(put, path = "/api/v1/staff/{user_id}/profile", tag = "staff", params(("user_id" = String, Path)), request_body = StaffProfileInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_profile(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uid): Path<String>,
    ApiJson(i): ApiJson<StaffProfileInput>,
) -> ApiResult<StatusCode> {
    let form = StaffProfileForm {
        discipline: i.discipline,
        telehealth_trained: i.telehealth_trained,
        telehealth_years: i.telehealth_years.to_string(),
        modalities: i.modalities,
        availability: i.availability.join("\n"),
        max_caseload: i.max_caseload.map(|m| m.to_string()).unwrap_or_default(),
        supervisor_id: i.supervisor_id.unwrap_or_default(),
    };
    let user: UserId = id(&uid, "staff member")?;
    uc::save_staff_profile(&state, &caller.ctx(), user, &form).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct CredentialInput {
    pub kind: String,
    pub number: String,
    pub state: String,
    #[serde(default)]
    pub board: String,
    /// YYYY-MM-DD
    pub issued_on: String,
    /// YYYY-MM-DD
    pub expires_on: String,
}

/// Records a credential (unverified until someone verifies it).
#[utoipa::path(post, path = "/api/v1/staff/{user_id}/credentials", tag = "staff", params(("user_id" = String, Path)), request_body = CredentialInput,
    responses((status = 201, body = CredentialBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_credential(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uid): Path<String>,
    ApiJson(i): ApiJson<CredentialInput>,
) -> ApiResult<(StatusCode, Json<CredentialBody>)> {
    let form =
        CredentialForm { kind: i.kind, number: i.number, state: i.state, board: i.board, issued_on: i.issued_on, expires_on: i.expires_on };
    let c = uc::add_credential(&state, &caller.ctx(), id(&uid, "staff member")?, &form).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct VerificationInput {
    /// verified | rejected | unverified
    pub status: String,
}

/// Records the verification of a credential (who and when are kept).
#[utoipa::path(post, path = "/api/v1/credentials/{id}/verification", tag = "staff", params(("id" = String, Path)), request_body = VerificationInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn verify_credential(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(cid): Path<String>,
    ApiJson(i): ApiJson<VerificationInput>,
) -> ApiResult<StatusCode> {
    uc::verify_credential(&state, &caller.ctx(), id(&cid, "credential")?, &i.status).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringParams {
    /// Window in days (default 90).
    days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ExpiringBody {
    pub staff_name: String,
    pub credential: CredentialBody,
    pub days_left: i64,
}

/// Credentials expiring soon (directors' 30/60/90-day view).
#[utoipa::path(get, path = "/api/v1/credentials/expiring", tag = "staff", params(ExpiringParams),
    responses((status = 200, body = Vec<ExpiringBody>), (status = 403, body = ErrorBody)))]
async fn expiring(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(p): ApiQuery<ExpiringParams>,
) -> ApiResult<Json<Vec<ExpiringBody>>> {
    let list = uc::expiring_credentials(&state, &caller.ctx(), p.days.unwrap_or(90).clamp(0, 3650)).await?;
    Ok(Json(
        list.into_iter().map(|e| ExpiringBody { staff_name: e.holder, days_left: e.days_left, credential: e.credential.into() }).collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PublicTrackBody {
    pub name: String,
    pub delivery_mode: String,
    pub times: Vec<String>,
    /// morning | afternoon | evening | weekend
    pub parts_of_week: Vec<String>,
    pub hours_per_week: f64,
}

#[derive(Serialize, ToSchema)]
pub struct CredentialCount {
    pub code: String,
    pub label: String,
    pub staff: u32,
}

#[derive(Serialize, ToSchema)]
pub struct StaffQualificationsBody {
    pub clinical_staff: u32,
    pub by_credential: Vec<CredentialCount>,
    pub licensed: u32,
    /// Percent.
    pub share_licensed: f64,
    pub telehealth_trained: u32,
    /// Percent.
    pub share_telehealth_trained: f64,
    pub boards: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CareItem {
    pub service: String,
    pub offered: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PublicProfileBody {
    pub name: String,
    pub slug: String,
    pub organization: String,
    pub city: String,
    pub state: String,
    pub level_of_care: String,
    pub condition_focus: String,
    pub population: String,
    pub delivery_modes: Vec<String>,
    pub required_hours_per_week: f64,
    pub expected_days_min: u32,
    pub expected_days_max: u32,
    pub plan_review_days: u32,
    pub tracks: Vec<PublicTrackBody>,
    pub services: Vec<String>,
    pub comprehensive_care: Vec<CareItem>,
    pub modalities: Vec<String>,
    pub staff: StaffQualificationsBody,
}

impl From<PublicProfile> for PublicProfileBody {
    fn from(p: PublicProfile) -> Self {
        Self {
            name: p.name,
            slug: p.slug,
            organization: p.organization,
            city: p.site_city,
            state: p.site_state,
            level_of_care: p.level_of_care,
            condition_focus: p.condition_focus,
            population: p.population,
            delivery_modes: p.delivery_modes,
            required_hours_per_week: p.required_hours_per_week,
            expected_days_min: p.expected_days_min,
            expected_days_max: p.expected_days_max,
            plan_review_days: p.plan_review_days,
            tracks: p
                .tracks
                .into_iter()
                .map(|t| PublicTrackBody {
                    name: t.name,
                    delivery_mode: t.delivery_mode.code().into(),
                    times: t.times,
                    parts_of_week: t.parts_of_week,
                    hours_per_week: t.hours_per_week,
                })
                .collect(),
            services: p.services,
            comprehensive_care: p.comprehensive_care.into_iter().map(|(service, offered)| CareItem { service, offered }).collect(),
            modalities: p.modalities,
            staff: StaffQualificationsBody {
                clinical_staff: p.staff.clinical_staff,
                by_credential: p
                    .staff
                    .by_credential
                    .into_iter()
                    .map(|(code, label, staff)| CredentialCount { code, label, staff })
                    .collect(),
                licensed: p.staff.licensed,
                share_licensed: p.staff.share_licensed,
                telehealth_trained: p.staff.telehealth_trained,
                share_telehealth_trained: p.staff.share_telehealth_trained,
                boards: p.staff.boards,
            },
        }
    }
}

/// The public profile of a program: no sign-in, no patient data, computed from live data.
#[utoipa::path(get, path = "/api/v1/public/programs/{slug}", tag = "public", params(("slug" = String, Path)), security(()),
    responses((status = 200, body = PublicProfileBody), (status = 404, body = ErrorBody)))]
async fn public_profile(State(state): State<AppState>, Path(slug): Path<String>) -> ApiResult<Json<PublicProfileBody>> {
    Ok(Json(uc::public_profile(&state, &slug).await?.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_programs, create_program))
        .routes(routes!(get_program, update_program))
        .routes(routes!(list_tracks, create_track))
        .routes(routes!(add_template))
        .routes(routes!(remove_template))
        .routes(routes!(list_rooms))
        .routes(routes!(create_room))
        .routes(routes!(list_service_types))
        .routes(routes!(list_staff))
        .routes(routes!(save_profile))
        .routes(routes!(add_credential))
        .routes(routes!(verify_credential))
        .routes(routes!(expiring))
        .routes(routes!(public_profile))
}
