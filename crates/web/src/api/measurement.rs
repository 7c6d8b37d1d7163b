//! Measurement-based care: instruments, cadences, results, patient links, risk flags and
//! assessments, safety plans, patient and program outcomes.
use super::{ApiJson, ApiQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::session::ApiCaller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openiop_app::measurement as uc;
use openiop_domain::DomainError;
use openiop_domain::measurement::InstrumentDefinition;
use openiop_domain::measurement::care::*;
use openiop_domain::measurement::outcomes::{
    Figure, InstrumentOutcome, ProgramInstrumentOutcome, ScorePoint, Share, SubscaleOutcome, result_screens, status_label,
};
use openiop_domain::patients::Sex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, DomainError> {
    s.parse().map_err(|_| DomainError::NotFound(what))
}

#[derive(Serialize, ToSchema)]
pub struct AnswerBody {
    pub value: i32,
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct ItemBody {
    pub link_id: String,
    pub label: String,
    pub min: i32,
    pub max: i32,
    pub required: bool,
    pub options: Vec<AnswerBody>,
}

#[derive(Serialize, ToSchema)]
pub struct InstrumentBody {
    pub code: String,
    pub name: String,
    /// Wording comes from an imported FHIR Questionnaire.
    pub imported: bool,
    /// LOINC panel code.
    pub loinc: Option<String>,
    /// LOINC code of the total score.
    pub total_loinc: Option<String>,
    pub items: Vec<ItemBody>,
    pub source: String,
}

impl InstrumentBody {
    pub fn of(d: &InstrumentDefinition, imported: bool) -> Self {
        Self {
            code: d.code.clone(),
            name: d.name.clone(),
            imported,
            loinc: d.loinc.clone(),
            total_loinc: d.total_loinc.clone(),
            items: d
                .items
                .iter()
                .map(|i| ItemBody {
                    link_id: i.link_id.clone(),
                    label: i.label.clone(),
                    min: i.min,
                    max: i.max,
                    required: i.required,
                    options: i.options.iter().map(|o| AnswerBody { value: o.value, label: o.label.clone() }).collect(),
                })
                .collect(),
            source: d.source.clone(),
        }
    }
}

/// Instruments this organization can administer: built-ins (with imported wording where a
/// questionnaire was imported) and imported plain-sum instruments.
#[utoipa::path(get, path = "/api/v1/instruments", tag = "measurement", responses((status = 200, body = Vec<InstrumentBody>)))]
async fn list_instruments(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<InstrumentBody>>> {
    let list = uc::instruments(&state, &caller.ctx()).await?;
    Ok(Json(list.iter().map(|a| InstrumentBody::of(&a.definition, a.imported)).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct ImportInput {
    /// A FHIR R4 Questionnaire resource (JSON object).
    #[schema(value_type = Object)]
    pub questionnaire: serde_json::Value,
    /// A built-in instrument code whose scoring applies (e.g. `phq9`), or a new code for a
    /// plain-sum instrument.
    pub scoring_for: String,
}

/// Imports a FHIR R4 Questionnaire (item wording, answer labels, LOINC code).
#[utoipa::path(post, path = "/api/v1/instruments/import", tag = "measurement", request_body = ImportInput,
    responses((status = 201, body = InstrumentBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(i): ApiJson<ImportInput>,
) -> ApiResult<(StatusCode, Json<InstrumentBody>)> {
    let text = serde_json::to_string(&i.questionnaire).map_err(|e| DomainError::field("questionnaire", "invalid_json", &e.to_string()))?;
    let a = uc::import_instrument(&state, &caller.ctx(), &text, &i.scoring_for).await?;
    Ok((StatusCode::CREATED, Json(InstrumentBody::of(&a.definition, true))))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SettingsBody {
    /// No reliable improvement after this many weeks raises a plan review (default 4).
    pub no_improvement_weeks: u32,
    /// Post-discharge follow-up offsets in days (default 30, 90, 180).
    pub follow_up_days: Vec<u32>,
    pub link_expiry_days: u32,
    /// Hours within which a moderate risk (or PHQ-9 item 9 > 0) must be assessed (default 4).
    pub risk_task_due_hours: u32,
    /// Minutes within which a high risk must be assessed (default 0: immediately). Left out: unchanged.
    #[serde(default)]
    pub risk_high_due_minutes: Option<u32>,
    /// Days within which a low risk is reviewed when no session is booked (default 7). Left out: unchanged.
    #[serde(default)]
    pub risk_low_fallback_days: Option<u32>,
    /// Reliable change in points per instrument code, replacing the cited defaults (PHQ-9 6,
    /// GAD-7 4: NHS Talking Therapies; PCL-5 10: National Center for PTSD). Left out: unchanged;
    /// `{}`: the cited defaults.
    #[serde(default)]
    pub reliable_change_points: Option<BTreeMap<String, f64>>,
    /// Caseness cut-offs per instrument code (recovery = from at or above to below), replacing the
    /// cited defaults (PHQ-9 10, GAD-7 8; PCL-5: the probable-PTSD cut-off). Left out: unchanged.
    #[serde(default)]
    pub caseness: Option<BTreeMap<String, f64>>,
    /// AUDIT-C positive screen for men (default 4, Bradley et al. 2007). Left out: unchanged.
    #[serde(default)]
    pub audit_c_positive_men: Option<f64>,
    /// AUDIT-C positive screen for women (default 3, Bradley et al. 2003, 2007). Left out: unchanged.
    #[serde(default)]
    pub audit_c_positive_women: Option<f64>,
    /// PCL-5 probable PTSD (default 33; National Center for PTSD: 31–33). Left out: unchanged.
    #[serde(default)]
    pub pcl5_probable_ptsd: Option<f64>,
    /// EDE-Q global clinical range (default 4). Left out: unchanged.
    #[serde(default)]
    pub edeq_global_clinical: Option<f64>,
    /// How change is judged on each built-in instrument that has a rule, under these settings.
    /// Read-only: ignored when sent.
    #[serde(default, skip_deserializing)]
    #[schema(read_only)]
    pub change_rules: Vec<ChangeRuleBody>,
}

/// How change is judged on one instrument.
#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct ChangeRuleBody {
    pub instrument: String,
    /// points (a fixed difference) | index (Reliable Change Index, Jacobson & Truax 1991)
    pub method: String,
    /// The smallest change, in points, that counts as reliable.
    pub reliable_change_points: f64,
    /// At or above it is a case (for recovery); none: recovery is not judged.
    pub caseness: Option<f64>,
    /// The citation, or "organization setting".
    pub source: String,
}

impl ChangeRuleBody {
    fn of(instrument: &str, r: &openiop_domain::measurement::ChangeRule) -> Self {
        Self {
            instrument: instrument.to_string(),
            method: r.reliable.method().into(),
            reliable_change_points: r.reliable.threshold_points(),
            caseness: r.caseness,
            source: r.source.clone(),
        }
    }
}

/// `code=value` pairs for the settings form; a code that could not be written that way is refused.
fn pairs(field: &str, m: &BTreeMap<String, f64>) -> Result<String, DomainError> {
    if m.keys().any(|k| k.is_empty() || k.contains(['=', ':', ',', ';', '\n'])) {
        return Err(DomainError::field(field, "invalid_code", "instrument codes are 2–40 lowercase letters, digits or dashes (e.g. phq9)"));
    }
    Ok(m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
}

impl From<MeasurementSettings> for SettingsBody {
    fn from(s: MeasurementSettings) -> Self {
        Self {
            no_improvement_weeks: s.no_improvement_weeks,
            link_expiry_days: s.link_expiry_days,
            risk_task_due_hours: s.risk_task_due_hours,
            risk_high_due_minutes: Some(s.risk_high_due_minutes),
            risk_low_fallback_days: Some(s.risk_low_fallback_days),
            change_rules: openiop_domain::measurement::BUILTIN_CODES
                .iter()
                .filter_map(|c| s.change_rule(c).map(|r| ChangeRuleBody::of(c, &r)))
                .collect(),
            follow_up_days: s.follow_up_days,
            reliable_change_points: Some(s.reliable_change_points),
            caseness: Some(s.caseness),
            audit_c_positive_men: Some(s.screening.audit_c_positive_men),
            audit_c_positive_women: Some(s.screening.audit_c_positive_women),
            pcl5_probable_ptsd: Some(s.screening.pcl5_probable_ptsd),
            edeq_global_clinical: Some(s.screening.edeq_global_clinical),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/measurement-settings", tag = "measurement", responses((status = 200, body = SettingsBody)))]
async fn get_settings(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<SettingsBody>> {
    Ok(Json(uc::settings(&state, &caller.ctx()).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/measurement-settings", tag = "measurement", request_body = SettingsBody,
    responses((status = 200, body = SettingsBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<SettingsBody>,
) -> ApiResult<Json<SettingsBody>> {
    let form = MeasurementSettingsForm {
        no_improvement_weeks: b.no_improvement_weeks.to_string(),
        follow_up_days: b.follow_up_days.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        link_expiry_days: b.link_expiry_days.to_string(),
        risk_task_due_hours: b.risk_task_due_hours.to_string(),
        risk_high_due_minutes: b.risk_high_due_minutes.map(|m| m.to_string()).unwrap_or_default(),
        risk_low_fallback_days: b.risk_low_fallback_days.map(|d| d.to_string()).unwrap_or_default(),
        reliable_change_points: b.reliable_change_points.as_ref().map(|m| pairs("reliable_change_points", m)).transpose()?,
        caseness: b.caseness.as_ref().map(|m| pairs("caseness", m)).transpose()?,
        audit_c_positive_men: b.audit_c_positive_men.map(|v| v.to_string()).unwrap_or_default(),
        audit_c_positive_women: b.audit_c_positive_women.map(|v| v.to_string()).unwrap_or_default(),
        pcl5_probable_ptsd: b.pcl5_probable_ptsd.map(|v| v.to_string()).unwrap_or_default(),
        edeq_global_clinical: b.edeq_global_clinical.map(|v| v.to_string()).unwrap_or_default(),
    };
    Ok(Json(uc::save_settings(&state, &caller.ctx(), &form).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct CadenceBody {
    pub id: String,
    pub program_id: String,
    pub instrument: String,
    pub every_days: u32,
    pub follow_up: bool,
}

impl From<Cadence> for CadenceBody {
    fn from(c: Cadence) -> Self {
        Self {
            id: c.id.to_string(),
            program_id: c.program_id.to_string(),
            instrument: c.instrument,
            every_days: c.every_days,
            follow_up: c.follow_up,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CadenceInput {
    pub instrument: String,
    /// Measure every this many days from admission (e.g. 14 for PHQ-9, 7 for BAM-IOP).
    pub every_days: u32,
    /// Also measure after discharge at the follow-up offsets.
    #[serde(default)]
    pub follow_up: bool,
}

#[utoipa::path(get, path = "/api/v1/programs/{id}/cadences", tag = "measurement", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CadenceBody>)))]
async fn list_cadences(State(state): State<AppState>, caller: ApiCaller, Path(pid): Path<String>) -> ApiResult<Json<Vec<CadenceBody>>> {
    let list = uc::cadences(&state, &caller.ctx(), Some(id(&pid, "program")?)).await?;
    Ok(Json(list.into_iter().map(CadenceBody::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/programs/{id}/cadences", tag = "measurement", params(("id" = String, Path)), request_body = CadenceInput,
    responses((status = 201, body = CadenceBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_cadence(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
    ApiJson(i): ApiJson<CadenceInput>,
) -> ApiResult<(StatusCode, Json<CadenceBody>)> {
    let form = CadenceForm { program_id: pid, instrument: i.instrument, every_days: i.every_days.to_string(), follow_up: i.follow_up };
    let c = uc::add_cadence(&state, &caller.ctx(), &form).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(delete, path = "/api/v1/cadences/{id}", tag = "measurement", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_cadence(State(state): State<AppState>, caller: ApiCaller, Path(cid): Path<String>) -> ApiResult<StatusCode> {
    uc::remove_cadence(&state, &caller.ctx(), id(&cid, "cadence")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct DueBody {
    pub instrument: String,
    pub due_on: String,
    /// treatment | follow_up
    pub context: String,
    pub follow_up_days: Option<u32>,
    pub overdue: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SubscaleBody {
    pub name: String,
    pub score: f64,
}

/// A screening cut-off applied to a result's total.
#[derive(Serialize, ToSchema)]
pub struct ScreenBody {
    /// e.g. positive_men, positive_women (AUDIT-C), probable_ptsd (PCL-5), clinical_range (EDE-Q)
    pub code: String,
    pub label: String,
    pub at_least: f64,
    pub positive: bool,
    /// female | male: the recorded sex the cut-off is for (AUDIT-C); none for everyone. When the
    /// patient's sex is not recorded as female or male, both AUDIT-C cut-offs are given.
    pub sex: Option<String>,
    pub source: String,
}

impl From<&openiop_domain::measurement::ScreenResult> for ScreenBody {
    fn from(s: &openiop_domain::measurement::ScreenResult) -> Self {
        Self {
            code: s.code.clone(),
            label: s.label.clone(),
            at_least: s.at_least,
            positive: s.positive,
            sex: s.sex.map(|x| x.code().into()),
            source: s.source.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ResultBody {
    pub id: String,
    pub patient_id: String,
    pub episode_id: String,
    pub instrument: String,
    pub loinc: Option<String>,
    pub total_loinc: Option<String>,
    pub administered_on: String,
    /// treatment | follow_up
    pub context: String,
    pub follow_up_days: Option<u32>,
    /// staff | patient_link
    pub source: String,
    /// False for an incomplete answer set kept for its risk answer: no total, no band.
    pub complete: bool,
    pub total: Option<f64>,
    pub band: Option<String>,
    pub subscales: Vec<SubscaleBody>,
    /// no_risk | low | moderate | high (C-SSRS screener)
    pub triage: Option<String>,
    /// Risk flag codes raised by the answers (e.g. suicide_risk).
    pub flags: Vec<String>,
    /// Screening cut-offs that apply to this patient (AUDIT-C by recorded sex, PCL-5, EDE-Q),
    /// under the organization's settings.
    pub screens: Vec<ScreenBody>,
    pub responses: BTreeMap<String, i32>,
}

impl ResultBody {
    /// The result with the screens for a patient of recorded `sex`.
    /// (`def` gives the cut-offs of an imported instrument; built-ins use the settings.)
    pub fn of(r: &MeasurementResult, sex: Sex, settings: &MeasurementSettings, def: Option<&InstrumentDefinition>) -> Self {
        let screens = result_screens(r, def, sex, settings);
        Self {
            id: r.id.to_string(),
            patient_id: r.patient_id.to_string(),
            episode_id: r.episode_id.to_string(),
            instrument: r.instrument.clone(),
            loinc: r.loinc.clone(),
            total_loinc: r.total_loinc.clone(),
            administered_on: r.administered_on.to_string(),
            context: r.context.code().into(),
            follow_up_days: r.context.follow_up_days(),
            source: r.source.code().into(),
            complete: r.score.complete,
            total: r.score.total,
            band: r.score.band.clone(),
            subscales: r.score.subscales.iter().map(|(n, v)| SubscaleBody { name: n.clone(), score: *v }).collect(),
            triage: r.score.triage.map(|t| t.as_str().into()),
            flags: r.score.flags.iter().map(|f| f.code.clone()).collect(),
            screens: screens.iter().map(ScreenBody::from).collect(),
            responses: r.responses.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ResultRecordedBody {
    pub result: ResultBody,
    /// The risk flag this result raised (a task for the primary clinician was created with it).
    pub risk_flag: Option<RiskFlagBody>,
    /// No reliable improvement after the configured weeks: the episode's plan review is now due.
    pub plan_review_prompted: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct ResultInput {
    pub instrument: String,
    /// YYYY-MM-DD; today when omitted.
    #[serde(default)]
    pub administered_on: String,
    /// After discharge: which follow-up offset (e.g. 30).
    #[serde(default)]
    pub follow_up_days: Option<u32>,
    /// Item linkId → answer value (each item once).
    #[serde(deserialize_with = "openiop_domain::measurement::unique_answers")]
    pub responses: BTreeMap<String, i32>,
}

/// Enters a completed instrument for an episode. Incomplete or out-of-range answers are refused
/// with one field error per item.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/measurements", tag = "measurement", params(("id" = String, Path)), request_body = ResultInput,
    responses((status = 201, body = ResultRecordedBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<ResultInput>,
) -> ApiResult<(StatusCode, Json<ResultRecordedBody>)> {
    let ctx = caller.ctx();
    let r = uc::record(&state, &ctx, id(&eid, "episode")?, &i.instrument, &i.administered_on, i.follow_up_days, i.responses).await?;
    Ok((
        StatusCode::CREATED,
        Json(ResultRecordedBody {
            // The screens follow the patient's recorded sex and the organization's cut-offs.
            result: ResultBody::of(&r.result, r.sex, &r.settings, None),
            risk_flag: r.risk_flag.as_ref().map(RiskFlagBody::from),
            plan_review_prompted: r.plan_review_prompted,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct LinkInput {
    pub instrument: String,
    #[serde(default)]
    pub follow_up_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkBody {
    pub id: String,
    /// The path to give the patient (shown once; only a hash of the token is stored).
    pub path: String,
    pub instrument: String,
    pub expires_at: String,
}

/// Creates an unguessable, expiring link at which the patient completes one instrument.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/measurement-links", tag = "measurement", params(("id" = String, Path)), request_body = LinkInput,
    responses((status = 201, body = LinkBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_link(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<LinkInput>,
) -> ApiResult<(StatusCode, Json<LinkBody>)> {
    let (link, token) = uc::create_link(&state, &caller.ctx(), id(&eid, "episode")?, &i.instrument, i.follow_up_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(LinkBody {
            id: link.id.to_string(),
            path: format!("/m/{token}"),
            instrument: link.instrument,
            expires_at: link.expires_at.to_rfc3339(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PointBody {
    pub date: String,
    pub total: f64,
    pub follow_up_days: Option<u32>,
}

impl From<&ScorePoint> for PointBody {
    fn from(p: &ScorePoint) -> Self {
        Self { date: p.date.to_string(), total: p.total, follow_up_days: p.context.follow_up_days() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OutcomeBody {
    pub instrument: String,
    pub name: String,
    pub points: Vec<PointBody>,
    pub follow_ups: Vec<PointBody>,
    pub baseline: Option<PointBody>,
    pub latest: Option<PointBody>,
    /// Latest − baseline, in points.
    pub change: Option<f64>,
    /// Reliable Change Index, latest vs baseline (Jacobson & Truax 1991), when the rule uses it.
    pub rci: Option<f64>,
    /// reliable_improvement | no_reliable_change | reliable_deterioration
    pub status: Option<String>,
    pub status_label: Option<String>,
    /// The smallest change in points that counts as reliable under the organization's rule.
    pub reliable_change_points: Option<f64>,
    /// How change is judged here: method, threshold, caseness and source.
    pub change_rule: Option<ChangeRuleBody>,
    /// The baseline was at or above the caseness cut-off.
    pub case_at_baseline: Option<bool>,
    /// NHS Talking Therapies recovery: a case at baseline, not a case at the latest measure.
    pub recovered: Option<bool>,
    /// Recovery with reliable improvement.
    pub reliable_recovery: Option<bool>,
    pub weeks: i64,
    pub plan_review_prompt: bool,
    /// Each subscale over time (BAM: use, risk factors, protective factors).
    pub subscales: Vec<SubscaleCourseBody>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscaleCourseBody {
    pub name: String,
    /// A rise is improvement (BAM protective factors); otherwise a fall is.
    pub higher_is_better: bool,
    pub points: Vec<PointBody>,
    pub follow_ups: Vec<PointBody>,
    pub baseline: Option<PointBody>,
    pub latest: Option<PointBody>,
    pub change: Option<f64>,
    pub max: f64,
}

impl From<&SubscaleOutcome> for SubscaleCourseBody {
    fn from(s: &SubscaleOutcome) -> Self {
        Self {
            name: s.name.clone(),
            higher_is_better: s.higher_is_better,
            points: s.points.iter().map(PointBody::from).collect(),
            follow_ups: s.follow_ups.iter().map(PointBody::from).collect(),
            baseline: s.baseline.as_ref().map(PointBody::from),
            latest: s.latest.as_ref().map(PointBody::from),
            change: s.change,
            max: s.max,
        }
    }
}

impl From<&InstrumentOutcome> for OutcomeBody {
    fn from(o: &InstrumentOutcome) -> Self {
        let j = o.judgement;
        Self {
            instrument: o.instrument.clone(),
            name: o.name.clone(),
            points: o.points.iter().map(PointBody::from).collect(),
            follow_ups: o.follow_ups.iter().map(PointBody::from).collect(),
            baseline: o.baseline.as_ref().map(PointBody::from),
            latest: o.latest.as_ref().map(PointBody::from),
            change: j.map(|j| j.change),
            rci: j.and_then(|j| j.rci),
            status: o.status().map(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()),
            status_label: o.status().map(|s| status_label(s).to_string()),
            reliable_change_points: o.rule.as_ref().map(|r| r.reliable.threshold_points()).filter(|p| p.is_finite()),
            change_rule: o.rule.as_ref().map(|r| ChangeRuleBody::of(&o.instrument, r)),
            case_at_baseline: j.and_then(|j| j.case_at_baseline),
            recovered: j.and_then(|j| j.recovered),
            reliable_recovery: j.and_then(|j| j.reliable_recovery),
            weeks: o.weeks,
            plan_review_prompt: o.plan_review_prompt,
            subscales: o.subscales.iter().map(SubscaleCourseBody::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RiskFlagBody {
    pub id: String,
    pub code: String,
    pub level: Option<String>,
    pub instrument: String,
    pub items: Vec<String>,
    pub action: String,
    pub raised_at: String,
    pub open: bool,
    pub cleared_at: Option<String>,
    pub assessment_id: Option<String>,
    /// The clinician's disposition recorded on the discharge that closed the flag.
    pub discharge_disposition: Option<String>,
}

impl From<&RiskFlagRecord> for RiskFlagBody {
    fn from(f: &RiskFlagRecord) -> Self {
        Self {
            id: f.id.to_string(),
            code: f.code.clone(),
            level: f.level.map(|l| l.as_str().into()),
            instrument: f.instrument.clone(),
            items: f.items.clone(),
            action: f.action.clone(),
            raised_at: f.raised_at.to_rfc3339(),
            open: f.is_open(),
            cleared_at: f.cleared_at.map(|t| t.to_rfc3339()),
            assessment_id: f.assessment_id.map(|a| a.to_string()),
            discharge_disposition: f.discharge_disposition.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskBody {
    pub id: String,
    pub patient_id: String,
    pub episode_id: String,
    pub risk_flag_id: Option<String>,
    /// The person who answers for it (primary clinician or program clinical lead); none when
    /// the clinical directors in scope do.
    pub assigned_to: Option<String>,
    /// primary_clinician | clinical_lead | clinical_directors
    pub owner: String,
    /// immediate | same_day | next_contact
    pub urgency: String,
    pub title: String,
    pub due_at: String,
    pub completed_at: Option<String>,
}

impl From<&ClinicalTask> for TaskBody {
    fn from(t: &ClinicalTask) -> Self {
        Self {
            id: t.id.to_string(),
            patient_id: t.patient_id.to_string(),
            episode_id: t.episode_id.to_string(),
            risk_flag_id: t.risk_flag_id.map(|f| f.to_string()),
            assigned_to: t.owner.user.map(|u| u.to_string()),
            owner: t.owner.kind.code().into(),
            urgency: t.urgency.code().into(),
            title: t.title.clone(),
            due_at: t.due_at.to_rfc3339(),
            completed_at: t.completed_at.map(|c| c.to_rfc3339()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SafetyPlanBody {
    pub version: i64,
    /// warning_signs, internal_coping, social_distraction, people_to_ask, professionals,
    /// safe_environment, reasons_for_living
    pub sections: BTreeMap<String, String>,
    pub recorded_by: String,
    pub recorded_at: String,
}

impl From<&SafetyPlan> for SafetyPlanBody {
    fn from(p: &SafetyPlan) -> Self {
        Self {
            version: p.version,
            sections: p.sections.clone(),
            recorded_by: p.recorded_by_name.clone(),
            recorded_at: p.recorded_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PatientMeasuresBody {
    pub episode_id: Option<String>,
    pub results: Vec<ResultBody>,
    pub outcomes: Vec<OutcomeBody>,
    pub due: Vec<DueBody>,
    pub risk_flags: Vec<RiskFlagBody>,
    pub tasks: Vec<TaskBody>,
    pub safety_plan: Option<SafetyPlanBody>,
}

/// A patient's measurements: results with codes, outcomes (RCI and status per instrument), due
/// measures, risk flags, tasks and the current safety plan.
#[utoipa::path(get, path = "/api/v1/patients/{id}/measurements", tag = "measurement", params(("id" = String, Path)),
    responses((status = 200, body = PatientMeasuresBody), (status = 404, body = ErrorBody)))]
async fn patient_measures(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(pid): Path<String>,
) -> ApiResult<Json<PatientMeasuresBody>> {
    let m = uc::patient_measures(&state, &caller.ctx(), id(&pid, "patient")?).await?;
    Ok(Json(PatientMeasuresBody {
        episode_id: m.episode.as_ref().map(|e| e.id.to_string()),
        results: m
            .results
            .iter()
            .map(|r| {
                let def = m.instruments.iter().map(|a| &a.definition).find(|d| d.code == r.instrument);
                ResultBody::of(r, m.patient.details.sex, &m.settings, def)
            })
            .collect(),
        outcomes: m.outcomes.iter().map(OutcomeBody::from).collect(),
        due: m
            .due
            .iter()
            .map(|d| DueBody {
                instrument: d.instrument.clone(),
                due_on: d.due_on.to_string(),
                context: d.context.code().into(),
                follow_up_days: d.context.follow_up_days(),
                overdue: d.overdue,
            })
            .collect(),
        risk_flags: m.flags.iter().map(RiskFlagBody::from).collect(),
        tasks: m.tasks.iter().map(TaskBody::from).collect(),
        safety_plan: m.safety_plan.as_ref().map(SafetyPlanBody::from),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct AssessmentInput {
    /// no_risk | low | moderate | high
    pub risk_level: String,
    pub findings: String,
    pub disposition: String,
    #[serde(default)]
    pub safety_plan_reviewed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentBody {
    pub id: String,
    pub risk_flag_id: String,
    pub risk_level: String,
    pub assessed_by: String,
    pub assessed_at: String,
}

/// A clinician's documented suicide-risk assessment: the only way to clear a risk flag.
#[utoipa::path(post, path = "/api/v1/risk-flags/{id}/assessment", tag = "measurement", params(("id" = String, Path)), request_body = AssessmentInput,
    responses((status = 201, body = AssessmentBody), (status = 403, description = "Only clinicians clear risk flags", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assess(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(fid): Path<String>,
    ApiJson(i): ApiJson<AssessmentInput>,
) -> ApiResult<(StatusCode, Json<AssessmentBody>)> {
    let form = RiskAssessmentForm {
        risk_level: i.risk_level,
        findings: i.findings,
        disposition: i.disposition,
        safety_plan_reviewed: i.safety_plan_reviewed,
    };
    let a = uc::assess(&state, &caller.ctx(), id(&fid, "risk flag")?, &form).await?;
    Ok((
        StatusCode::CREATED,
        Json(AssessmentBody {
            id: a.id.to_string(),
            risk_flag_id: a.risk_flag_id.to_string(),
            risk_level: a.risk_level.as_str().into(),
            assessed_by: a.assessed_by_name,
            assessed_at: a.assessed_at.to_rfc3339(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RiskFlagEventBody {
    pub result_id: String,
    pub instrument: String,
    pub level: Option<String>,
    pub items: Vec<String>,
    pub recorded_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RiskFlagDetailBody {
    #[serde(flatten)]
    pub flag: RiskFlagBody,
    pub patient_id: String,
    pub episode_id: String,
    /// Every positive result on this flag, oldest first (the first raised it).
    pub history: Vec<RiskFlagEventBody>,
}

/// A risk flag with its history: repeated positive results join the open flag.
#[utoipa::path(get, path = "/api/v1/risk-flags/{id}", tag = "measurement", params(("id" = String, Path)),
    responses((status = 200, body = RiskFlagDetailBody), (status = 404, body = ErrorBody)))]
async fn get_risk_flag(State(state): State<AppState>, caller: ApiCaller, Path(fid): Path<String>) -> ApiResult<Json<RiskFlagDetailBody>> {
    let (flag, events) = uc::risk_flag_history(&state, &caller.ctx(), id(&fid, "risk flag")?).await?;
    Ok(Json(RiskFlagDetailBody {
        patient_id: flag.patient_id.to_string(),
        episode_id: flag.episode_id.to_string(),
        flag: RiskFlagBody::from(&flag),
        history: events
            .iter()
            .map(|e| RiskFlagEventBody {
                result_id: e.result_id.to_string(),
                instrument: e.instrument.clone(),
                level: e.level.map(|l| l.as_str().into()),
                items: e.items.clone(),
                recorded_at: e.recorded_at.to_rfc3339(),
            })
            .collect(),
    }))
}

/// The open risk tasks the caller answers for (as owner, or as a clinical director in scope for
/// tasks the directors own or that are overdue), soonest due first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "measurement", responses((status = 200, body = Vec<TaskBody>)))]
async fn tasks(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<TaskBody>>> {
    Ok(Json(uc::my_tasks(&state, &caller.ctx()).await?.iter().map(TaskBody::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/episodes/{id}/safety-plan", tag = "measurement", params(("id" = String, Path)),
    responses((status = 200, body = SafetyPlanBody), (status = 404, body = ErrorBody)))]
async fn get_safety_plan(State(state): State<AppState>, caller: ApiCaller, Path(eid): Path<String>) -> ApiResult<Json<SafetyPlanBody>> {
    let (_, plan) = uc::safety_plan(&state, &caller.ctx(), id(&eid, "episode")?).await?;
    let plan = plan.ok_or(DomainError::NotFound("safety plan"))?;
    Ok(Json((&plan).into()))
}

#[derive(Deserialize, ToSchema)]
pub struct SafetyPlanInput {
    /// Stanley–Brown sections by key; steps 1–6 are required.
    pub sections: BTreeMap<String, String>,
}

/// Saves a new version of the episode's Stanley–Brown safety plan.
#[utoipa::path(put, path = "/api/v1/episodes/{id}/safety-plan", tag = "measurement", params(("id" = String, Path)), request_body = SafetyPlanInput,
    responses((status = 200, body = SafetyPlanBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_safety_plan(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(eid): Path<String>,
    ApiJson(i): ApiJson<SafetyPlanInput>,
) -> ApiResult<Json<SafetyPlanBody>> {
    let plan = uc::save_safety_plan(&state, &caller.ctx(), id(&eid, "episode")?, &i.sections).await?;
    Ok(Json((&plan).into()))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct OutcomeParams {
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub track_id: String,
    /// adult | adolescent
    #[serde(default)]
    pub population: String,
    /// Clinical level of care at baseline, e.g. `2.1`.
    #[serde(default)]
    pub level_code: String,
    /// Episodes admitted on or after (YYYY-MM-DD).
    #[serde(default)]
    pub from: String,
    /// Episodes admitted on or before (YYYY-MM-DD).
    #[serde(default)]
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct FigureBody {
    pub mean: Option<f64>,
    /// Patients (episodes) behind the mean.
    pub n: usize,
}

impl From<Figure> for FigureBody {
    fn from(f: Figure) -> Self {
        Self { mean: f.mean, n: f.n }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShareBody {
    pub count: usize,
    /// Patients (episodes) in the denominator.
    pub n: usize,
    pub share: Option<f64>,
}

impl From<Share> for ShareBody {
    fn from(s: Share) -> Self {
        Self { count: s.count, n: s.n, share: s.share }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProgramOutcomeBody {
    pub instrument: String,
    pub baseline: FigureBody,
    pub latest: FigureBody,
    pub follow_up: FigureBody,
    pub reliable_improvement: ShareBody,
    pub reliable_deterioration: ShareBody,
    /// Of the patients who were a case at baseline, the share below caseness at the latest
    /// measure (NHS Talking Therapies recovery).
    pub recovered: ShareBody,
    /// Of the same patients, the share who recovered with reliable improvement.
    pub reliable_recovery: ShareBody,
    /// Each subscale (BAM: use, risk factors, protective factors): baseline, latest, follow-up.
    pub subscales: Vec<SubscaleFiguresBody>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscaleFiguresBody {
    pub name: String,
    /// A rise is improvement (BAM protective factors); otherwise a fall is.
    pub higher_is_better: bool,
    pub baseline: FigureBody,
    pub latest: FigureBody,
    pub follow_up: FigureBody,
}

impl From<&ProgramInstrumentOutcome> for ProgramOutcomeBody {
    fn from(o: &ProgramInstrumentOutcome) -> Self {
        Self {
            instrument: o.instrument.clone(),
            baseline: o.baseline.into(),
            latest: o.latest.into(),
            follow_up: o.follow_up.into(),
            reliable_improvement: o.reliable_improvement.into(),
            reliable_deterioration: o.reliable_deterioration.into(),
            recovered: o.recovered.into(),
            reliable_recovery: o.reliable_recovery.into(),
            subscales: o
                .subscales
                .iter()
                .map(|s| SubscaleFiguresBody {
                    name: s.name.clone(),
                    higher_is_better: s.higher_is_better,
                    baseline: s.baseline.into(),
                    latest: s.latest.into(),
                    follow_up: s.follow_up.into(),
                })
                .collect(),
        }
    }
}

fn filter_of(p: &OutcomeParams) -> Result<openiop_domain::measurement::outcomes::OutcomeFilter, DomainError> {
    uc::parse_filter(&p.program_id, &p.track_id, &p.population, &p.level_code, &p.from, &p.to)
}

/// Program outcomes per instrument: baseline vs latest vs follow-up (mean, n) and the shares with
/// reliable improvement, deterioration and recovery, with the n behind every figure.
#[utoipa::path(get, path = "/api/v1/program-outcomes", tag = "measurement", params(OutcomeParams),
    responses((status = 200, body = Vec<ProgramOutcomeBody>), (status = 422, body = ErrorBody)))]
async fn program_outcomes(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(p): ApiQuery<OutcomeParams>,
) -> ApiResult<Json<Vec<ProgramOutcomeBody>>> {
    let out = uc::program_outcome(&state, &caller.ctx(), &filter_of(&p)?, false).await?;
    Ok(Json(out.iter().map(ProgramOutcomeBody::from).collect()))
}

/// The same figures as CSV (audited as an export).
#[utoipa::path(get, path = "/api/v1/program-outcomes.csv", tag = "measurement", params(OutcomeParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody)))]
async fn program_outcomes_csv(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(p): ApiQuery<OutcomeParams>,
) -> ApiResult<Response> {
    let ctx = caller.ctx();
    let out = uc::program_outcome(&state, &ctx, &filter_of(&p)?, true).await?;
    let instruments = uc::instruments(&state, &ctx).await?;
    let names = |code: &str| instruments.iter().find(|a| a.definition.code == code).map(|a| a.definition.name.clone()).unwrap_or_default();
    Ok(csv_response(uc::outcomes_csv(&out, &names)))
}

pub fn csv_response(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"program-outcomes.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instruments))
        .routes(routes!(import))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_cadences, add_cadence))
        .routes(routes!(remove_cadence))
        .routes(routes!(record))
        .routes(routes!(create_link))
        .routes(routes!(patient_measures))
        .routes(routes!(assess))
        .routes(routes!(get_risk_flag))
        .routes(routes!(tasks))
        .routes(routes!(get_safety_plan, put_safety_plan))
        .routes(routes!(program_outcomes))
        .routes(routes!(program_outcomes_csv))
}
