//! Treatment plans, session and group notes, co-signature and the documentation queue.
use super::ApiJson;
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use openiop_app::documentation as uc;
use openiop_domain::DomainError;
use openiop_domain::notes::*;
use openiop_domain::plans::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, DomainError> {
    s.parse().map_err(|_| DomainError::NotFound(what))
}

// ---- Settings ----

/// The organization's documentation settings.
#[utoipa::path(get, path = "/api/v1/documentation/settings", tag = "documentation", responses((status = 200, body = SettingsForm)))]
async fn get_settings(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<SettingsForm>> {
    Ok(Json(uc::settings(&state, &caller.ctx()).await?.form()))
}

/// Changes the note format, required sections, timeliness, similarity threshold and review rules.
#[utoipa::path(put, path = "/api/v1/documentation/settings", tag = "documentation", request_body = SettingsForm,
    responses((status = 200, body = SettingsForm), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(i): ApiJson<SettingsForm>,
) -> ApiResult<Json<SettingsForm>> {
    Ok(Json(uc::save_settings(&state, &caller.ctx(), &i).await?.form()))
}

// ---- Plans ----

#[derive(Serialize, ToSchema)]
pub struct SignatureBody {
    pub by: String,
    pub user_id: Option<String>,
    pub at: String,
}

fn sig(s: &Option<Signature>) -> Option<SignatureBody> {
    s.as_ref().map(|s| SignatureBody { by: s.by.clone(), user_id: s.user_id.map(|u| u.to_string()), at: s.at.to_rfc3339() })
}

#[derive(Serialize, ToSchema)]
pub struct PlanVersionBody {
    pub id: String,
    pub episode_id: String,
    pub patient_id: String,
    pub version: i64,
    /// draft | awaiting_supervisor | signed
    pub status: String,
    pub reason: String,
    pub planned_discharge_on: Option<String>,
    pub author_id: String,
    pub created_at: String,
    pub problems: Vec<ProblemForm>,
    pub clinician_signature: Option<SignatureBody>,
    pub supervisor_required: bool,
    pub supervisor_id: Option<String>,
    pub supervisor_signature: Option<SignatureBody>,
    pub patient_acknowledgement: Option<SignatureBody>,
}

impl From<&PlanVersion> for PlanVersionBody {
    fn from(v: &PlanVersion) -> Self {
        Self {
            id: v.id.to_string(),
            episode_id: v.episode_id.to_string(),
            patient_id: v.patient_id.to_string(),
            version: v.version,
            status: v.status().code().into(),
            reason: v.reason.clone(),
            planned_discharge_on: v.planned_discharge_on.map(|d| d.to_string()),
            author_id: v.author_id.to_string(),
            created_at: v.created_at.to_rfc3339(),
            problems: v.content.problem_forms(),
            clinician_signature: sig(&v.clinician),
            supervisor_required: v.supervisor_required,
            supervisor_id: v.supervisor_id.map(|u| u.to_string()),
            supervisor_signature: sig(&v.supervisor),
            patient_acknowledgement: sig(&v.patient_ack),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReviewBody {
    pub due_on: String,
    /// no_plan | scheduled | medicare | level_change | planned_discharge
    pub reason: String,
    pub reason_label: String,
    pub overdue: bool,
}

impl From<&ReviewDue> for ReviewBody {
    fn from(r: &ReviewDue) -> Self {
        Self { due_on: r.due_on.to_string(), reason: r.reason.code().into(), reason_label: r.reason.label().into(), overdue: r.overdue }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlanBody {
    pub episode_id: String,
    /// The signed version in force.
    pub current_version_id: Option<String>,
    pub review: ReviewBody,
    /// Every version, oldest first; old versions stay readable.
    pub versions: Vec<PlanVersionBody>,
}

/// An episode's treatment plan: versions, the one in force, and the next review date.
#[utoipa::path(get, path = "/api/v1/episodes/{id}/plan", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = PlanBody), (status = 404, body = ErrorBody)))]
async fn get_plan(State(state): State<AppState>, caller: ApiCaller, Path(eid): Path<String>) -> ApiResult<Json<PlanBody>> {
    let v = uc::plan(&state, &caller.ctx(), id(&eid, "episode")?).await?;
    Ok(Json(PlanBody {
        episode_id: v.episode.id.to_string(),
        current_version_id: v.current().map(|c| c.id.to_string()),
        review: (&v.review).into(),
        versions: v.versions.iter().map(PlanVersionBody::from).collect(),
    }))
}

/// Starts a new plan version (a draft): the first plan, or a review of the current one.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/plan", tag = "documentation", params(("id" = String, Path)), request_body = PlanForm,
    responses((status = 201, body = PlanVersionBody), (status = 404, body = ErrorBody), (status = 409, description = "a draft exists", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_plan(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<PlanForm>,
) -> ApiResult<(axum::http::StatusCode, Json<PlanVersionBody>)> {
    let v = uc::create_plan_version(&state, &caller.ctx(), id(&eid, "episode")?, &i).await?;
    Ok((axum::http::StatusCode::CREATED, Json((&v).into())))
}

/// One plan version (old versions stay readable).
#[utoipa::path(get, path = "/api/v1/plan-versions/{id}", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = PlanVersionBody), (status = 404, body = ErrorBody)))]
async fn get_plan_version(State(state): State<AppState>, caller: ApiCaller, Path(vid): Path<String>) -> ApiResult<Json<PlanVersionBody>> {
    Ok(Json((&uc::read_plan_version(&state, &caller.ctx(), id(&vid, "plan")?).await?).into()))
}

/// Edits a draft version; a signed version answers 409 `plan_locked`.
#[utoipa::path(put, path = "/api/v1/plan-versions/{id}", tag = "documentation", params(("id" = String, Path)), request_body = PlanForm,
    responses((status = 200, body = PlanVersionBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_plan_version(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(vid): Path<String>,
    ApiJson(i): ApiJson<PlanForm>,
) -> ApiResult<Json<PlanVersionBody>> {
    let ctx = caller.ctx();
    let vid = id(&vid, "plan")?;
    Ok(Json((&uc::update_plan_draft(&state, &ctx, vid, &i).await?).into()))
}

/// The clinician signs: the version is locked and takes effect (associates: after the supervisor).
#[utoipa::path(post, path = "/api/v1/plan-versions/{id}/sign", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = PlanVersionBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn sign_plan(State(state): State<AppState>, caller: ApiCaller, Path(vid): Path<String>) -> ApiResult<Json<PlanVersionBody>> {
    let ctx = caller.ctx();
    let vid = id(&vid, "plan")?;
    Ok(Json((&uc::sign_plan(&state, &ctx, vid).await?).into()))
}

/// The supervisor co-signs an associate's plan.
#[utoipa::path(post, path = "/api/v1/plan-versions/{id}/cosign", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = PlanVersionBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cosign_plan(State(state): State<AppState>, caller: ApiCaller, Path(vid): Path<String>) -> ApiResult<Json<PlanVersionBody>> {
    let ctx = caller.ctx();
    let vid = id(&vid, "plan")?;
    Ok(Json((&uc::cosign_plan(&state, &ctx, vid).await?).into()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AcknowledgeInput {
    /// The patient's name as they signed.
    pub patient_name: String,
}

/// Records the patient's acknowledgement of a signed plan version.
#[utoipa::path(post, path = "/api/v1/plan-versions/{id}/acknowledge", tag = "documentation", params(("id" = String, Path)), request_body = AcknowledgeInput,
    responses((status = 200, body = PlanVersionBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn acknowledge_plan(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(vid): Path<String>,
    ApiJson(i): ApiJson<AcknowledgeInput>,
) -> ApiResult<Json<PlanVersionBody>> {
    let ctx = caller.ctx();
    let vid = id(&vid, "plan")?;
    Ok(Json((&uc::acknowledge_plan(&state, &ctx, vid, &i.patient_name).await?).into()))
}

// ---- Notes ----

#[derive(Serialize, ToSchema)]
pub struct SectionBody {
    pub code: String,
    pub label: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct SharedBody {
    pub topic: String,
    pub modality: Option<String>,
    pub interventions: String,
}

#[derive(Serialize, ToSchema)]
pub struct FactsBody {
    pub date: String,
    pub starts_at: String,
    pub minutes: i64,
    pub service: String,
    pub topic: String,
    pub staff: Vec<String>,
    pub participants: usize,
    pub attendance: Option<String>,
    pub minutes_attended: Option<u32>,
    /// Family members and other collaterals present.
    pub collaterals: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AddendumBody {
    pub id: String,
    pub author: String,
    pub text: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct NoteOut {
    pub id: String,
    pub session_id: String,
    pub patient_id: String,
    pub episode_id: Option<String>,
    /// individual | group | family | multi_family
    pub kind: String,
    pub format: String,
    /// draft | pending_cosign | final
    pub status: String,
    pub sections: Vec<SectionBody>,
    pub shared: Option<SharedBody>,
    pub participation: Option<String>,
    pub individualized: String,
    pub attendance_only: bool,
    pub objective_ids: Vec<String>,
    pub facts: FactsBody,
    pub author_id: String,
    pub due_at: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<String>,
    pub cosign_required: bool,
    pub cosigner_id: Option<String>,
    pub cosigned_at: Option<String>,
    /// Corrections, kept with the original.
    pub addenda: Vec<AddendumBody>,
}

impl From<&SessionNote> for NoteOut {
    fn from(n: &SessionNote) -> Self {
        let f = &n.body.facts;
        Self {
            id: n.id.to_string(),
            session_id: n.session_id.to_string(),
            patient_id: n.patient_id.to_string(),
            episode_id: n.episode_id.map(|e| e.to_string()),
            kind: n.kind.code().into(),
            format: n.format.code().into(),
            status: n.status().code().into(),
            sections: n
                .body
                .sections
                .iter()
                .map(|s| SectionBody { code: s.code.clone(), label: s.label.clone(), text: s.text.clone() })
                .collect(),
            shared: n.body.shared.as_ref().map(|s| SharedBody {
                topic: s.topic.clone(),
                modality: s.modality.map(|m| m.code().to_string()),
                interventions: s.interventions.clone(),
            }),
            participation: n.body.participation.map(|p| p.code().to_string()),
            individualized: n.body.individualized.clone(),
            attendance_only: n.attendance_only,
            objective_ids: n.objectives.iter().map(|o| o.to_string()).collect(),
            facts: FactsBody {
                date: f.date.to_string(),
                starts_at: f.starts_at.to_rfc3339(),
                minutes: f.minutes,
                service: f.service.clone(),
                topic: f.topic.clone(),
                staff: f.staff.clone(),
                participants: f.participants,
                attendance: f.attendance.map(|a| a.code().to_string()),
                minutes_attended: f.minutes_attended,
                collaterals: f.collaterals.clone(),
            },
            author_id: n.author_id.to_string(),
            due_at: n.due_at.to_rfc3339(),
            signed_by: n.signed_by.map(|u| u.to_string()),
            signed_at: n.signed_at.map(|t| t.to_rfc3339()),
            cosign_required: n.cosign_required,
            cosigner_id: n.cosigner_id.map(|u| u.to_string()),
            cosigned_at: n.cosigned_at.map(|t| t.to_rfc3339()),
            addenda: n
                .addenda
                .iter()
                .map(|a| AddendumBody { id: a.id.to_string(), author: a.author.clone(), text: a.text.clone(), at: a.at.to_rfc3339() })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlanObjectiveBody {
    pub id: String,
    pub text: String,
    pub target_date: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttendeeBody {
    pub patient_id: String,
    pub name: String,
    pub episode_id: Option<String>,
    pub attendance: Option<String>,
    pub attended: bool,
    /// The patient's own active objectives, shown beside their section.
    pub objectives: Vec<PlanObjectiveBody>,
    pub collaterals: Vec<String>,
    pub note_id: Option<String>,
    pub note_status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SheetSectionBody {
    pub code: String,
    pub label: String,
    pub required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SheetBody {
    pub session_id: String,
    pub kind: String,
    pub service: String,
    pub date: String,
    pub starts_at: String,
    pub minutes: i64,
    pub topic: String,
    pub staff: Vec<String>,
    pub due_at: String,
    pub format: String,
    pub sections: Vec<SheetSectionBody>,
    pub attendees: Vec<AttendeeBody>,
}

/// The note screen of a session: facts, attendees with their objectives, existing notes.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/notes", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = SheetBody), (status = 404, body = ErrorBody)))]
async fn sheet(State(state): State<AppState>, caller: ApiCaller, Path(sid): Path<String>) -> ApiResult<Json<SheetBody>> {
    let s = uc::note_sheet(&state, &caller.ctx(), id(&sid, "session")?).await?;
    Ok(Json(SheetBody {
        session_id: s.session.id.to_string(),
        kind: s.kind.code().into(),
        service: s.service_name.clone(),
        date: s.session.local_date.to_string(),
        starts_at: s.session.starts_at.to_rfc3339(),
        minutes: s.session.minutes(),
        topic: s.session.topic.clone(),
        staff: s.staff.clone(),
        due_at: s.due_at.to_rfc3339(),
        format: s.settings.format.code().into(),
        sections: s
            .settings
            .format
            .sections()
            .iter()
            .map(|(c, l)| SheetSectionBody { code: (*c).into(), label: (*l).into(), required: s.settings.is_required(c) })
            .collect(),
        attendees: s
            .attendees
            .iter()
            .map(|a| AttendeeBody {
                patient_id: a.patient_id.to_string(),
                name: a.name.clone(),
                episode_id: a.episode_id.map(|e| e.to_string()),
                attendance: a.attendance.as_ref().map(|x| x.status.code().to_string()),
                attended: a.attended,
                objectives: a
                    .objectives
                    .iter()
                    .map(|o| PlanObjectiveBody { id: o.id.to_string(), text: o.text.clone(), target_date: o.target_date.to_string() })
                    .collect(),
                collaterals: a.collaterals.clone(),
                note_id: a.note.as_ref().map(|n| n.id.to_string()),
                note_status: a.note.as_ref().map(|n| n.status().code().to_string()),
            })
            .collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct NoteInput {
    #[serde(default)]
    pub patient_id: String,
    /// dap | birp | soap; empty: the organization's format.
    #[serde(default)]
    pub format: String,
    /// Section code → text, e.g. {"data": "…", "assessment": "…", "plan": "…"}.
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    /// Objectives of the patient's plan addressed in the session.
    #[serde(default)]
    pub objective_ids: Vec<String>,
    /// Sign at once (locks the note).
    #[serde(default)]
    pub sign: bool,
}

fn note_form(i: &NoteInput) -> NoteForm {
    NoteForm { sections: i.sections.clone(), format: i.format.clone(), objective_ids: i.objective_ids.clone() }
}

/// Writes one patient's note for a session (individual, family); `sign` locks it.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/notes", tag = "documentation", params(("id" = String, Path)), request_body = NoteInput,
    responses((status = 201, body = NoteOut), (status = 404, body = ErrorBody), (status = 409, description = "note_locked", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn write_note(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<NoteInput>,
) -> ApiResult<(axum::http::StatusCode, Json<NoteOut>)> {
    let patient = i.patient_id.parse().map_err(|_| DomainError::field("patient_id", "required", "choose a participant"))?;
    let n = uc::write_note(&state, &caller.ctx(), id(&sid, "session")?, patient, &note_form(&i), i.sign).await?;
    Ok((axum::http::StatusCode::CREATED, Json((&n).into())))
}

/// One note with its addenda.
#[utoipa::path(get, path = "/api/v1/notes/{id}", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = NoteOut), (status = 404, body = ErrorBody)))]
async fn get_note(State(state): State<AppState>, caller: ApiCaller, Path(nid): Path<String>) -> ApiResult<Json<NoteOut>> {
    Ok(Json((&uc::read_note(&state, &caller.ctx(), id(&nid, "note")?).await?).into()))
}

/// Edits a draft note; a signed note answers 409 `note_locked` (add an addendum instead).
#[utoipa::path(put, path = "/api/v1/notes/{id}", tag = "documentation", params(("id" = String, Path)), request_body = NoteInput,
    responses((status = 200, body = NoteOut), (status = 404, body = ErrorBody), (status = 409, description = "note_locked", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_note(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(nid): Path<String>,
    ApiJson(i): ApiJson<NoteInput>,
) -> ApiResult<Json<NoteOut>> {
    Ok(Json((&uc::update_note(&state, &caller.ctx(), id(&nid, "note")?, &note_form(&i)).await?).into()))
}

/// Signs a draft: it is locked; an associate's note then waits for the supervisor.
#[utoipa::path(post, path = "/api/v1/notes/{id}/sign", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = NoteOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn sign_note(State(state): State<AppState>, caller: ApiCaller, Path(nid): Path<String>) -> ApiResult<Json<NoteOut>> {
    Ok(Json((&uc::sign_note(&state, &caller.ctx(), id(&nid, "note")?).await?).into()))
}

/// The supervisor co-signs a note from their queue; the note becomes final.
#[utoipa::path(post, path = "/api/v1/notes/{id}/cosign", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = NoteOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cosign_note(State(state): State<AppState>, caller: ApiCaller, Path(nid): Path<String>) -> ApiResult<Json<NoteOut>> {
    Ok(Json((&uc::cosign_note(&state, &caller.ctx(), id(&nid, "note")?).await?).into()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AddendumInput {
    pub text: String,
}

/// Corrects a signed note by addendum; the original stays as it was.
#[utoipa::path(post, path = "/api/v1/notes/{id}/addenda", tag = "documentation", params(("id" = String, Path)), request_body = AddendumInput,
    responses((status = 200, body = NoteOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_addendum(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(nid): Path<String>,
    ApiJson(i): ApiJson<AddendumInput>,
) -> ApiResult<Json<NoteOut>> {
    Ok(Json((&uc::add_addendum(&state, &caller.ctx(), id(&nid, "note")?, &i.text).await?).into()))
}

/// The notes of an episode.
#[utoipa::path(get, path = "/api/v1/episodes/{id}/notes", tag = "documentation", params(("id" = String, Path)),
    responses((status = 200, body = Vec<NoteOut>), (status = 404, body = ErrorBody)))]
async fn episode_notes(State(state): State<AppState>, caller: ApiCaller, Path(eid): Path<String>) -> ApiResult<Json<Vec<NoteOut>>> {
    Ok(Json(uc::episode_notes(&state, &caller.ctx(), id(&eid, "episode")?).await?.iter().map(NoteOut::from).collect()))
}

// ---- Group notes ----

#[derive(Serialize, Deserialize, ToSchema, Default, Clone)]
pub struct GroupEntryInput {
    pub patient_id: String,
    /// active | engaged | minimal | disruptive (default active)
    #[serde(default)]
    pub participation: String,
    /// This patient's participation, response and progress toward their own objectives.
    #[serde(default)]
    pub individualized: String,
    #[serde(default)]
    pub objective_ids: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Default, Clone)]
pub struct GroupNoteInput {
    pub topic: String,
    #[serde(default)]
    pub modality: String,
    /// Interventions delivered to the group.
    pub interventions: String,
    /// One entry per attendee present (absent attendees get an attendance-only entry).
    pub entries: Vec<GroupEntryInput>,
    /// Sign every attendee's note in the same transaction.
    #[serde(default)]
    pub sign: bool,
    /// Sign even though the similarity check flagged near-identical sections.
    #[serde(default)]
    pub confirm_similar: bool,
}

fn group_form(i: &GroupNoteInput) -> GroupNoteForm {
    GroupNoteForm {
        topic: i.topic.clone(),
        modality: i.modality.clone(),
        interventions: i.interventions.clone(),
        entries: i
            .entries
            .iter()
            .map(|e| GroupEntryForm {
                patient_id: e.patient_id.clone(),
                participation: e.participation.clone(),
                individualized: e.individualized.clone(),
                objective_ids: e.objective_ids.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SimilarPairBody {
    pub first_patient_id: String,
    pub second_patient_id: String,
    pub first_name: String,
    pub second_name: String,
    /// Word-trigram Jaccard similarity, in percent.
    pub percent: u32,
}

#[derive(Serialize, ToSchema)]
pub struct SimilarityBody {
    pub threshold: u32,
    pub pairs: Vec<SimilarPairBody>,
}

/// The check before signing: which individualized sections are near-identical.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/group-note/check", tag = "documentation", params(("id" = String, Path)), request_body = GroupNoteInput,
    responses((status = 200, body = SimilarityBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_group(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<GroupNoteInput>,
) -> ApiResult<Json<SimilarityBody>> {
    let ctx = caller.ctx();
    let pairs = uc::check_group_note(&state, &ctx, id(&sid, "session")?, &group_form(&i)).await?;
    let threshold = uc::settings(&state, &ctx).await?.similarity_percent;
    Ok(Json(SimilarityBody {
        threshold,
        pairs: pairs
            .into_iter()
            .map(|p| SimilarPairBody {
                first_patient_id: p.first.to_string(),
                second_patient_id: p.second.to_string(),
                first_name: p.first_name,
                second_name: p.second_name,
                percent: p.percent,
            })
            .collect(),
    }))
}

/// Saves (and with `sign`, signs) the group note: one note per participant, one transaction;
/// if one cannot be written none is. Near-identical sections answer 409 `notes_similar`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/group-note", tag = "documentation", params(("id" = String, Path)), request_body = GroupNoteInput,
    responses((status = 200, body = Vec<NoteOut>), (status = 404, body = ErrorBody), (status = 409, description = "note_locked or notes_similar", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_group(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<String>,
    ApiJson(i): ApiJson<GroupNoteInput>,
) -> ApiResult<Json<Vec<NoteOut>>> {
    let notes = uc::save_group_note(&state, &caller.ctx(), id(&sid, "session")?, &group_form(&i), i.sign, i.confirm_similar).await?;
    Ok(Json(notes.iter().map(NoteOut::from).collect()))
}

// ---- Home ----

#[derive(Serialize, ToSchema)]
pub struct ToWriteBody {
    pub session_id: String,
    pub starts_at: String,
    pub topic: String,
    pub patients_without_note: usize,
    pub due_at: String,
    pub overdue: bool,
}

impl From<&NoteToWrite> for ToWriteBody {
    fn from(r: &NoteToWrite) -> Self {
        Self {
            session_id: r.session_id.to_string(),
            starts_at: r.starts_at.to_rfc3339(),
            topic: r.topic.clone(),
            patients_without_note: r.patients_without_note,
            due_at: r.due_at.to_rfc3339(),
            overdue: r.overdue,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CosignBody {
    pub note_id: String,
    pub session_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub author: String,
    pub signed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanCosignBody {
    pub plan_version_id: String,
    pub episode_id: String,
    pub patient_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewRowBody {
    pub episode_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub review: ReviewBody,
}

#[derive(Serialize, ToSchema)]
pub struct HomeBody {
    pub to_write: Vec<ToWriteBody>,
    pub to_cosign: Vec<CosignBody>,
    pub plans_to_cosign: Vec<PlanCosignBody>,
    pub overdue: Vec<ToWriteBody>,
    pub plan_reviews: Vec<ReviewRowBody>,
}

/// The caller's documentation queue: notes to write, to co-sign, overdue; plan reviews due.
#[utoipa::path(get, path = "/api/v1/documentation/home", tag = "documentation", responses((status = 200, body = HomeBody)))]
async fn home(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<HomeBody>> {
    let h = uc::home(&state, &caller.ctx()).await?;
    Ok(Json(HomeBody {
        to_write: h.to_write.iter().map(ToWriteBody::from).collect(),
        overdue: h.overdue.iter().map(ToWriteBody::from).collect(),
        to_cosign: h
            .to_cosign
            .iter()
            .map(|c| CosignBody {
                note_id: c.note.id.to_string(),
                session_id: c.note.session_id.to_string(),
                patient_id: c.note.patient_id.to_string(),
                patient_name: c.patient_name.clone(),
                author: c.author.clone(),
                signed_at: c.note.signed_at.map(|t| t.to_rfc3339()),
            })
            .collect(),
        plans_to_cosign: h
            .plans_to_cosign
            .iter()
            .map(|(p, n)| PlanCosignBody {
                plan_version_id: p.id.to_string(),
                episode_id: p.episode_id.to_string(),
                patient_name: n.clone(),
            })
            .collect(),
        plan_reviews: h
            .reviews
            .iter()
            .map(|r| ReviewRowBody {
                episode_id: r.episode_id.to_string(),
                patient_id: r.patient_id.to_string(),
                patient_name: r.patient_name.clone(),
                review: (&r.due).into(),
            })
            .collect(),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(home))
        .routes(routes!(get_plan, create_plan))
        .routes(routes!(get_plan_version, put_plan_version))
        .routes(routes!(sign_plan))
        .routes(routes!(cosign_plan))
        .routes(routes!(acknowledge_plan))
        .routes(routes!(sheet, write_note))
        .routes(routes!(get_note, put_note))
        .routes(routes!(sign_note))
        .routes(routes!(cosign_note))
        .routes(routes!(add_addendum))
        .routes(routes!(episode_notes))
        .routes(routes!(check_group))
        .routes(routes!(save_group))
}
