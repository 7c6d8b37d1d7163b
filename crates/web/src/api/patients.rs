//! Referrals, patients, episodes of care, level-of-care lines, discharge and consents.
use super::{ApiJson, ApiQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openiop_app::patients as uc;
use openiop_domain::DomainError;
use openiop_domain::patients::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, DomainError> {
    s.parse().map_err(|_| DomainError::NotFound(what))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NewPatientInput {
    pub site_id: String,
    #[serde(flatten)]
    pub patient: PatientForm,
    /// Set after checking that a same-name, same-birth-date patient is a different person.
    #[serde(default)]
    pub allow_duplicate: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PatientBody {
    pub id: String,
    pub mrn: String,
    pub site_id: String,
    pub legal_first: String,
    pub legal_last: String,
    pub preferred_name: String,
    pub pronouns: String,
    pub date_of_birth: String,
    pub sex: String,
    pub phone: String,
    pub email: String,
    pub state: String,
    pub preferred_language: String,
    pub availability: Vec<String>,
    pub delivery_preference: String,
    pub coverages: Vec<CoverageBody>,
    pub collaterals: Vec<CollateralBody>,
}

#[derive(Serialize, ToSchema)]
pub struct CoverageBody {
    pub payer: String,
    pub member_id: String,
    pub group_number: String,
}

#[derive(Serialize, ToSchema)]
pub struct CollateralBody {
    pub id: String,
    pub name: String,
    pub relationship: String,
}

impl From<Patient> for PatientBody {
    fn from(p: Patient) -> Self {
        let d = p.details;
        Self {
            id: p.id.to_string(),
            mrn: p.mrn,
            site_id: p.site_id.to_string(),
            legal_first: d.legal_first,
            legal_last: d.legal_last,
            preferred_name: d.preferred_name,
            pronouns: d.pronouns,
            date_of_birth: d.date_of_birth.to_string(),
            sex: d.sex.code().into(),
            phone: d.phone,
            email: d.email,
            state: d.state.to_string(),
            preferred_language: d.preferred_language,
            availability: d.availability.iter().map(|w| w.to_string()).collect(),
            delivery_preference: d.delivery_preference.code().into(),
            coverages: p
                .coverages
                .into_iter()
                .map(|c| CoverageBody { payer: c.payer, member_id: c.member_id, group_number: c.group_number })
                .collect(),
            collaterals: p
                .collaterals
                .into_iter()
                .map(|c| CollateralBody { id: c.id.to_string(), name: c.name, relationship: c.relationship })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LevelSpanBody {
    /// clinical | authorized
    pub line: String,
    pub edition: String,
    pub code: String,
    pub name: String,
    pub from: String,
    pub to: Option<String>,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct DiagnosisBody {
    pub code: String,
    pub description: String,
    pub primary: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DischargeBody {
    pub date: String,
    pub kind: String,
    pub reason: String,
    pub next_level: Option<String>,
    pub next_provider: String,
    pub appointments: String,
    pub supports: String,
    pub relapse_prevention: String,
}

#[derive(Serialize, ToSchema)]
pub struct EpisodeBody {
    pub id: String,
    pub patient_id: String,
    pub program_id: String,
    pub track_id: Option<String>,
    pub admitted_on: String,
    pub primary_clinician_id: Option<String>,
    /// admitted | active | on_hold | discharged
    pub status: String,
    pub diagnoses: Vec<DiagnosisBody>,
    pub levels: Vec<LevelSpanBody>,
    pub reassessment_due: bool,
    pub plan_review_due: bool,
    pub discharge: Option<DischargeBody>,
}

impl From<Episode> for EpisodeBody {
    fn from(e: Episode) -> Self {
        Self {
            id: e.id.to_string(),
            patient_id: e.patient_id.to_string(),
            program_id: e.program_id.to_string(),
            track_id: e.track_id.map(|t| t.to_string()),
            admitted_on: e.admitted_on.to_string(),
            primary_clinician_id: e.primary_clinician.map(|u| u.to_string()),
            status: e.status.code().into(),
            diagnoses: e
                .diagnoses
                .into_iter()
                .map(|d| DiagnosisBody { code: d.code.to_string(), description: d.description, primary: d.primary })
                .collect(),
            levels: e
                .levels
                .into_iter()
                .map(|s| LevelSpanBody {
                    line: s.line.code().into(),
                    name: s.level.name().into(),
                    edition: s.level.edition,
                    code: s.level.code,
                    from: s.from.to_string(),
                    to: s.to.map(|t| t.to_string()),
                    reason: s.reason,
                })
                .collect(),
            reassessment_due: e.reassessment_due,
            plan_review_due: e.plan_review_due,
            discharge: e.discharge.map(|d| DischargeBody {
                date: d.date.to_string(),
                kind: d.kind.code().into(),
                reason: d.reason,
                next_level: d.next_level.map(|l| l.label()),
                next_provider: d.next_provider,
                appointments: d.aftercare.appointments,
                supports: d.aftercare.supports,
                relapse_prevention: d.aftercare.relapse_prevention,
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsentBody {
    pub id: String,
    /// The program that may disclose.
    pub discloser: String,
    pub recipients: String,
    pub purpose: String,
    pub information: String,
    pub information_amount: String,
    pub expires_on: Option<String>,
    pub expiry_event: String,
    pub signed_by: String,
    pub signed_on: String,
    /// paper | electronic
    pub signature_method: String,
    /// The acknowledgements, as given.
    pub revocation_explained: bool,
    pub refusal_consequences_explained: bool,
    pub redisclosure_notice_given: bool,
    pub collateral_id: Option<String>,
    pub revoked_on: Option<String>,
    pub revoked_by: String,
    /// in force | expired | revoked | not yet in force
    pub status: String,
}

impl ConsentBody {
    /// The consent as of `today` at the patient's site.
    fn of(c: Consent, today: chrono::NaiveDate) -> Self {
        Self {
            status: c.status(today).into(),
            id: c.id.to_string(),
            discloser: c.discloser,
            recipients: c.recipients,
            purpose: c.purpose,
            information: c.information,
            information_amount: c.information_amount,
            signature_method: c.signature_method.code().into(),
            revocation_explained: c.revocation_explained,
            refusal_consequences_explained: c.refusal_consequences_explained,
            redisclosure_notice_given: c.redisclosure_notice_given,
            expires_on: c.expires_on.map(|d| d.to_string()),
            expiry_event: c.expiry_event,
            signed_by: c.signed_by,
            signed_on: c.signed_on.to_string(),
            collateral_id: c.collateral_id.map(|x| x.to_string()),
            revoked_on: c.revoked_on.map(|d| d.to_string()),
            revoked_by: c.revoked_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChartBody {
    pub patient: PatientBody,
    /// Present only for roles that read clinical records.
    pub episodes: Vec<EpisodeBody>,
    pub consents: Vec<ConsentBody>,
    pub consent_missing: bool,
    pub reassessment_due: bool,
    pub plan_review_due: bool,
    pub levels_differ: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PatientSummaryBody {
    pub id: String,
    pub mrn: String,
    pub name: String,
    pub date_of_birth: String,
    /// The latest episode (in the list without `q`; absent in search results and for patients
    /// never admitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_episode: Option<LatestEpisodeBody>,
}

#[derive(Serialize, ToSchema)]
pub struct LatestEpisodeBody {
    pub id: String,
    pub program_id: Option<String>,
    pub track_id: Option<String>,
    pub primary_clinician_id: Option<String>,
    /// admitted | active | on_hold | discharged
    pub status: Option<String>,
    #[schema(format = Date)]
    pub admitted_on: Option<String>,
    /// The clinical level in force (ASAM code).
    pub level_code: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Name, MRN or date of birth (YYYY-MM-DD). Without it, the paged patients list, filtered by
    /// the parameters below (ordered by name; the total is in `X-Total-Count`).
    #[serde(default)]
    q: String,
    #[serde(default)]
    #[param(format = Uuid)]
    program_id: String,
    #[serde(default)]
    #[param(format = Uuid)]
    track_id: String,
    /// The latest episode's primary clinician.
    #[serde(default)]
    #[param(format = Uuid)]
    clinician_id: String,
    /// admitted | active | on_hold | discharged | not_admitted
    #[serde(default)]
    status: String,
    /// The clinical level in force, e.g. 2.1.
    #[serde(default)]
    level_code: String,
    /// From 1.
    #[serde(default)]
    page: String,
    /// 1–200, default 50.
    #[serde(default)]
    per_page: String,
}

/// Registers a patient (duplicate check on name + date of birth).
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = NewPatientInput,
    responses((status = 201, body = PatientBody), (status = 403, body = ErrorBody), (status = 409, description = "possible_duplicate", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(i): ApiJson<NewPatientInput>,
) -> ApiResult<(StatusCode, Json<PatientBody>)> {
    let site = i.site_id.parse().map_err(|_| DomainError::field("site_id", "required", "choose a site"))?;
    let p = uc::register(&state, &caller.ctx(), site, &i.patient, i.allow_duplicate).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// Finds patients in the caller's scope by name, MRN or date of birth; without `q`, lists them a
/// page at a time with their latest episode, filtered by program, track, clinician, status and
/// level of care.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(SearchParams),
    responses((status = 200, body = Vec<PatientSummaryBody>,
        headers(("X-Total-Count" = u64, description = "Patients the filter matches (the list without q)")))))]
async fn search(State(state): State<AppState>, caller: ApiCaller, ApiQuery(p): ApiQuery<SearchParams>) -> ApiResult<Response> {
    let summary = |s: PatientSummary| PatientSummaryBody {
        id: s.id.to_string(),
        mrn: s.mrn,
        name: s.name,
        date_of_birth: s.date_of_birth.to_string(),
        latest_episode: None,
    };
    if !p.q.trim().is_empty() {
        let found = uc::search(&state, &caller.ctx(), &p.q).await?;
        return Ok(Json(found.into_iter().map(summary).collect::<Vec<_>>()).into_response());
    }
    let filter = PatientListFilter::parse(&p.program_id, &p.track_id, &p.clinician_id, &p.status, &p.level_code, &p.page, &p.per_page)?;
    let (rows, total) = uc::list(&state, &caller.ctx(), &filter).await?;
    let body: Vec<PatientSummaryBody> = rows
        .into_iter()
        .map(|r| {
            let latest = r.episode_id.map(|id| LatestEpisodeBody {
                id: id.to_string(),
                program_id: r.program_id.map(|x| x.to_string()),
                track_id: r.track_id.map(|x| x.to_string()),
                primary_clinician_id: r.primary_clinician.map(|x| x.to_string()),
                status: r.status.map(|x| x.code().to_string()),
                admitted_on: r.admitted_on.map(|x| x.to_string()),
                level_code: r.level_code.clone(),
            });
            PatientSummaryBody { latest_episode: latest, ..summary(r.patient) }
        })
        .collect();
    Ok(([("x-total-count", total.to_string())], Json(body)).into_response())
}

/// A patient's chart: record, episodes (clinical roles), consents and flags.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", params(("id" = String, Path)),
    responses((status = 200, body = ChartBody), (status = 404, description = "Not found or outside your scope", body = ErrorBody)))]
async fn chart(State(state): State<AppState>, caller: ApiCaller, Path(pid): Path<String>) -> ApiResult<Json<ChartBody>> {
    let c = uc::chart(&state, &caller.ctx(), id(&pid, "patient")?).await?;
    Ok(Json(ChartBody {
        consent_missing: c.flags.consent_missing,
        reassessment_due: c.flags.reassessment_due,
        plan_review_due: c.flags.plan_review_due,
        levels_differ: c.flags.levels_differ,
        episodes: if c.clinical { c.episodes.into_iter().map(EpisodeBody::from).collect() } else { vec![] },
        consents: c.consents.into_iter().map(|x| ConsentBody::of(x, c.today)).collect(),
        patient: c.patient.into(),
    }))
}

/// Replaces a patient's demographic record.
#[utoipa::path(put, path = "/api/v1/patients/{id}", tag = "patients", params(("id" = String, Path)), request_body = PatientForm,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(i): ApiJson<PatientForm>,
) -> ApiResult<StatusCode> {
    uc::update_patient(&state, &caller.ctx(), id(&pid, "patient")?, &i).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a family member or other collateral contact.
#[utoipa::path(post, path = "/api/v1/patients/{id}/collaterals", tag = "patients", params(("id" = String, Path)), request_body = CollateralForm,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_collateral(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(i): ApiJson<CollateralForm>,
) -> ApiResult<StatusCode> {
    uc::add_collateral(&state, &caller.ctx(), id(&pid, "patient")?, &i).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an insurance coverage.
#[utoipa::path(post, path = "/api/v1/patients/{id}/coverages", tag = "patients", params(("id" = String, Path)), request_body = CoverageForm,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_coverage(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(i): ApiJson<CoverageForm>,
) -> ApiResult<StatusCode> {
    uc::add_coverage(&state, &caller.ctx(), id(&pid, "patient")?, &i).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a 42 CFR Part 2 consent (§2.31 elements all required).
#[utoipa::path(post, path = "/api/v1/patients/{id}/consents", tag = "consents", params(("id" = String, Path)), request_body = ConsentForm,
    responses((status = 201, body = ConsentBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(i): ApiJson<ConsentForm>,
) -> ApiResult<(StatusCode, Json<ConsentBody>)> {
    let (c, today) = uc::add_consent(&state, &caller.ctx(), id(&pid, "patient")?, &i).await?;
    Ok((StatusCode::CREATED, Json(ConsentBody::of(c, today))))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RevocationInput {
    /// Who revoked it, in writing.
    pub revoked_by: String,
    #[serde(default)]
    pub note: String,
}

/// Revokes a consent, effective immediately and for the future everywhere: a family member it
/// covered is taken off every future session they have no other consent in force for (the list
/// of sessions changed is kept and audited), and can be added again only with a new consent.
#[utoipa::path(post, path = "/api/v1/patients/{id}/consents/{consent_id}/revoke", tag = "consents", params(("id" = String, Path), ("consent_id" = String, Path)), request_body = RevocationInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn revoke_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((pid, cid)): Path<(String, String)>,
    ApiJson(i): ApiJson<RevocationInput>,
) -> ApiResult<StatusCode> {
    uc::revoke_consent(&state, &caller.ctx(), id(&pid, "patient")?, id(&cid, "consent")?, &i.revoked_by, &i.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Admits a registered patient to a program (a new episode of care).
#[utoipa::path(post, path = "/api/v1/patients/{id}/episodes", tag = "episodes", params(("id" = String, Path)), request_body = AdmissionForm,
    responses((status = 201, body = EpisodeBody), (status = 404, body = ErrorBody), (status = 409, description = "episode_open", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn admit(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(i): ApiJson<AdmissionForm>,
) -> ApiResult<(StatusCode, Json<EpisodeBody>)> {
    let e = uc::admit(&state, &caller.ctx(), id(&pid, "patient")?, &i).await?;
    Ok((StatusCode::CREATED, Json(e.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ReferralBody {
    pub id: String,
    pub site_id: String,
    pub program_id: Option<String>,
    pub source: String,
    pub reason: String,
    pub urgency: String,
    /// new | screening | accepted | declined | waitlisted
    pub status: String,
    pub status_reason: String,
    pub from_level: Option<String>,
    pub patient_name: String,
    pub date_of_birth: String,
    pub patient_id: Option<String>,
    pub received_on: String,
}

impl From<Referral> for ReferralBody {
    fn from(r: Referral) -> Self {
        Self {
            id: r.id.to_string(),
            site_id: r.site_id.to_string(),
            program_id: r.program_id.map(|p| p.to_string()),
            source: r.source.code().into(),
            reason: r.reason,
            urgency: r.urgency.code().into(),
            status: r.status.code().into(),
            status_reason: r.status_reason,
            from_level: r.from_level.map(|l| l.label()),
            patient_name: r.patient.display_name(),
            date_of_birth: r.patient.date_of_birth.to_string(),
            patient_id: r.patient_id.map(|p| p.to_string()),
            received_on: r.received_on.to_string(),
        }
    }
}

/// Records a referral with the referred person's details.
#[utoipa::path(post, path = "/api/v1/referrals", tag = "referrals", request_body = ReferralForm,
    responses((status = 201, body = ReferralBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_referral(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(i): ApiJson<ReferralForm>,
) -> ApiResult<(StatusCode, Json<ReferralBody>)> {
    let r = uc::create_referral(&state, &caller.ctx(), &i).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// Referrals in the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/referrals", tag = "referrals", responses((status = 200, body = Vec<ReferralBody>), (status = 403, body = ErrorBody)))]
async fn list_referrals(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<ReferralBody>>> {
    Ok(Json(uc::referrals(&state, &caller.ctx()).await?.into_iter().map(ReferralBody::from).collect()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReferralStatusInput {
    /// screening | declined | waitlisted
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// Moves a referral along (new → screening → declined / waitlisted).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/status", tag = "referrals", params(("id" = String, Path)), request_body = ReferralStatusInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn referral_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(rid): Path<String>,
    ApiJson(i): ApiJson<ReferralStatusInput>,
) -> ApiResult<StatusCode> {
    uc::set_referral_status(&state, &caller.ctx(), id(&rid, "referral")?, &i.status, &i.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedBody {
    pub patient: PatientBody,
    pub episode: EpisodeBody,
}

/// Accepts a referral: registers the patient from the referral and admits them.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/accept", tag = "referrals", params(("id" = String, Path)), request_body = AdmissionForm,
    responses((status = 201, body = AcceptedBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept_referral(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(rid): Path<String>,
    ApiJson(i): ApiJson<AdmissionForm>,
) -> ApiResult<(StatusCode, Json<AcceptedBody>)> {
    let (p, e) = uc::accept_referral(&state, &caller.ctx(), id(&rid, "referral")?, &i).await?;
    Ok((StatusCode::CREATED, Json(AcceptedBody { patient: p.into(), episode: e.into() })))
}

/// One episode of care.
#[utoipa::path(get, path = "/api/v1/episodes/{id}", tag = "episodes", params(("id" = String, Path)), responses((status = 200, body = EpisodeBody), (status = 404, body = ErrorBody)))]
async fn get_episode(State(state): State<AppState>, caller: ApiCaller, Path(eid): Path<String>) -> ApiResult<Json<EpisodeBody>> {
    Ok(Json(uc::read_episode(&state, &caller.ctx(), id(&eid, "episode")?).await?.into()))
}

/// Changes one level-of-care line (step up, step down, or a payer's authorization).
#[utoipa::path(post, path = "/api/v1/episodes/{id}/levels", tag = "episodes", params(("id" = String, Path)), request_body = LevelChangeForm,
    responses((status = 200, body = EpisodeBody), (status = 404, body = ErrorBody), (status = 409, description = "episode_discharged", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_level(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<LevelChangeForm>,
) -> ApiResult<Json<EpisodeBody>> {
    Ok(Json(uc::change_level(&state, &caller.ctx(), id(&eid, "episode")?, &i).await?.into()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TrackTransferInput {
    pub track_id: String,
    /// Needed to move to another program's track while a suicide-risk flag is open: what was
    /// assessed and what follows (clinicians).
    #[serde(default)]
    pub risk_disposition: String,
}

/// Moves the episode to another track.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/track", tag = "episodes", params(("id" = String, Path)), request_body = TrackTransferInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<TrackTransferInput>,
) -> ApiResult<StatusCode> {
    uc::transfer_track(&state, &caller.ctx(), id(&eid, "episode")?, &i.track_id, &i.risk_disposition).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct StatusInput {
    /// active | on_hold
    pub status: String,
}

/// Puts an episode on hold or makes it active.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/status", tag = "episodes", params(("id" = String, Path)), request_body = StatusInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<StatusInput>,
) -> ApiResult<StatusCode> {
    uc::set_status(&state, &caller.ctx(), id(&eid, "episode")?, &i.status).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DiagnosesInput {
    /// ICD-10-CM codes: "F41.1, F43.10".
    pub codes: String,
}

/// Adds secondary diagnoses.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/diagnoses", tag = "episodes", params(("id" = String, Path)), request_body = DiagnosesInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_diagnoses(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<DiagnosesInput>,
) -> ApiResult<StatusCode> {
    uc::add_diagnoses(&state, &caller.ctx(), id(&eid, "episode")?, &i.codes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Discharges the episode with its aftercare plan.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/discharge", tag = "episodes", params(("id" = String, Path)), request_body = DischargeForm,
    responses((status = 200, body = EpisodeBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn discharge(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<DischargeForm>,
) -> ApiResult<Json<EpisodeBody>> {
    Ok(Json(uc::discharge(&state, &caller.ctx(), id(&eid, "episode")?, &i).await?.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, search))
        .routes(routes!(chart, update))
        .routes(routes!(add_collateral))
        .routes(routes!(add_coverage))
        .routes(routes!(add_consent))
        .routes(routes!(revoke_consent))
        .routes(routes!(admit))
        .routes(routes!(create_referral, list_referrals))
        .routes(routes!(referral_status))
        .routes(routes!(accept_referral))
        .routes(routes!(get_episode))
        .routes(routes!(change_level))
        .routes(routes!(transfer))
        .routes(routes!(set_status))
        .routes(routes!(add_diagnoses))
        .routes(routes!(discharge))
}
