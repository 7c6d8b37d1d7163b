//! Measurement pages: a patient's outcomes (charts, RCI, risk flags, safety plan, due measures),
//! staff entry of an instrument, the patient's public link, risk assessment, the safety plan,
//! program outcomes with CSV, and the director's instrument library, cadences and settings.
use super::measurement_chart::{BarChart, ScoreChart};
use super::{FormErrors, Layout, render};
use crate::error::{PageError, PageResult};
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openiop_app::measurement as uc;
use openiop_domain::DomainError;
use openiop_domain::auth::Action;
use openiop_domain::measurement::care::*;
use openiop_domain::measurement::outcomes::{ProgramInstrumentOutcome, max_total, status_label};
use openiop_domain::measurement::{InstrumentDefinition, ItemDef};
use openiop_domain::patients::Episode;
use serde::Deserialize;
use std::collections::BTreeMap;

fn not_found<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(DomainError::NotFound(what)))
}

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

fn svg(t: &impl Template) -> PageResult<String> {
    t.render().map_err(|e| PageError(DomainError::Internal(format!("chart: {e}"))))
}

// --- Patient outcomes ---------------------------------------------------------------------------

pub struct OutcomeView {
    pub name: String,
    /// Rendered by an auto-escaping template; safe to embed.
    pub chart: String,
    pub baseline: String,
    pub latest: String,
    pub change: String,
    pub rule: String,
    pub status: String,
    pub recovery: Option<String>,
    /// Each subscale's course (BAM: use, risk factors, protective factors).
    pub subscales: Vec<(String, String)>,
    pub plan_review_prompt: bool,
    pub weeks: i64,
    pub follow_ups: Vec<String>,
}

pub struct ResultRow {
    pub date: String,
    pub instrument: String,
    pub total: String,
    pub band: String,
    pub context: String,
    pub source: &'static str,
    pub codes: String,
}

pub struct FlagRow {
    pub id: String,
    pub instrument: String,
    pub level: String,
    pub action: String,
    pub raised_at: String,
    pub open: bool,
}

pub struct DueRow {
    pub instrument: String,
    pub name: String,
    pub due_on: String,
    pub context: String,
    pub follow_up_days: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "measurement_patient.html")]
struct PatientPage {
    layout: Layout,
    patient_id: String,
    patient_name: String,
    mrn: String,
    episode_id: Option<String>,
    episode_open: bool,
    plan_review_due: bool,
    outcomes: Vec<OutcomeView>,
    results: Vec<ResultRow>,
    flags: Vec<FlagRow>,
    tasks: Vec<(String, String, bool)>,
    due: Vec<DueRow>,
    instruments: Vec<(String, String)>,
    follow_up_days: Vec<u32>,
    has_safety_plan: bool,
    can_write: bool,
    can_assess: bool,
    link: Option<(String, String)>,
}

fn signed(v: f64) -> String {
    if v > 0.0 { format!("+{}", num(v)) } else { num(v) }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

async fn patient_page(state: &AppState, staff: &Staff, pid: &str, link: Option<(String, String)>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let m = uc::patient_measures(state, &ctx, not_found(pid, "patient")?).await?;
    let name_of = |code: &str| {
        m.instruments.iter().find(|a| a.definition.code == code).map(|a| a.definition.name.clone()).unwrap_or(code.to_string())
    };
    let mut outcomes = Vec::new();
    for o in &m.outcomes {
        outcomes.push(OutcomeView {
            name: o.name.clone(),
            chart: svg(&ScoreChart::build(o, m.episode.as_ref()))?,
            baseline: o.baseline.map(|p| format!("{} on {}", num(p.total), p.date)).unwrap_or_else(|| "—".into()),
            latest: o.latest.map(|p| format!("{} on {}", num(p.total), p.date)).unwrap_or_else(|| "— (one score so far)".into()),
            change: match o.judgement {
                Some(j) => match j.rci {
                    Some(rci) => format!("{} points (Reliable Change Index {rci:.2})", signed(j.change)),
                    None => format!("{} points", signed(j.change)),
                },
                None => "—".into(),
            },
            rule: match &o.rule {
                Some(r) => {
                    let mut t = format!("a change of {:.1} points or more ({})", r.reliable.threshold_points(), r.source);
                    if let Some(c) = r.caseness {
                        t.push_str(&format!("; a case at {} or above", num(c)));
                    }
                    t
                }
                None => "Not judged: no published reliable-change figures for this instrument".into(),
            },
            status: o
                .status()
                .map(|s| status_label(s).to_string())
                .unwrap_or_else(|| if o.rule.is_none() { "Not judged".into() } else { "Needs a second score".into() }),
            recovery: o.judgement.and_then(|j| match (j.recovered, j.reliable_recovery) {
                (Some(true), Some(true)) => {
                    Some("Reliable recovery: a case at baseline, below caseness now, with reliable improvement".into())
                }
                (Some(true), _) => Some("Recovered: a case at baseline, below caseness now".into()),
                (Some(false), _) => Some("Not recovered: still at or above caseness".into()),
                _ => j.case_at_baseline.filter(|c| !c).map(|_| "Not a case at baseline: recovery does not apply".into()),
            }),
            subscales: o
                .subscales
                .iter()
                .map(|s| {
                    let course = match (s.baseline, s.latest, s.change) {
                        (Some(b), Some(l), Some(c)) => format!(
                            "{} on {} → {} on {} ({} ; {} is better)",
                            num(b.total),
                            b.date,
                            num(l.total),
                            l.date,
                            signed(c),
                            if s.higher_is_better { "higher" } else { "lower" }
                        ),
                        (Some(b), _, _) => format!("{} on {} (one score so far)", num(b.total), b.date),
                        _ => "—".into(),
                    };
                    (s.name.clone(), course)
                })
                .collect(),
            plan_review_prompt: o.plan_review_prompt,
            weeks: o.weeks,
            follow_ups: o
                .follow_ups
                .iter()
                .map(|p| format!("{} days: {} on {}", p.context.follow_up_days().unwrap_or(0), num(p.total), p.date))
                .collect(),
        });
    }
    let results = m
        .results
        .iter()
        .rev()
        .map(|r| ResultRow {
            date: r.administered_on.to_string(),
            instrument: r.instrument_name.clone(),
            total: if r.score.complete {
                r.score.total.map(num).unwrap_or_else(|| r.score.triage.map(|t| t.as_str().replace('_', " ")).unwrap_or_default())
            } else {
                "Incomplete: no total; kept for its risk answer".into()
            },
            band: r.score.band.clone().unwrap_or_default(),
            context: r.context.label(),
            source: r.source.label(),
            codes: [r.loinc.as_deref(), r.total_loinc.as_deref()]
                .iter()
                .flatten()
                .map(|c| format!("LOINC {c}"))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let flags = m
        .flags
        .iter()
        .map(|f| FlagRow {
            id: f.id.to_string(),
            instrument: name_of(&f.instrument),
            level: f.level.map(|l| l.as_str().replace('_', " ")).unwrap_or_else(|| "screen positive".into()),
            action: f.action.clone(),
            raised_at: f.raised_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            open: f.is_open(),
        })
        .collect();
    let now = state.now();
    let tasks = m
        .tasks
        .iter()
        .filter(|t| t.completed_at.is_none())
        .map(|t| (t.title.clone(), t.due_at.format("%Y-%m-%d %H:%M UTC").to_string(), t.due_at < now))
        .collect();
    let due = m
        .due
        .iter()
        .map(|d| DueRow {
            instrument: d.instrument.clone(),
            name: name_of(&d.instrument),
            due_on: d.due_on.to_string(),
            context: d.context.label(),
            follow_up_days: d.context.follow_up_days().map(|x| x.to_string()).unwrap_or_default(),
            overdue: d.overdue,
        })
        .collect();
    render(&PatientPage {
        layout: Layout::staff(staff, &format!("Outcomes: {}", m.patient.details.display_name()), ""),
        patient_id: m.patient.id.to_string(),
        patient_name: m.patient.details.display_name(),
        mrn: m.patient.mrn.clone(),
        episode_id: m.episode.as_ref().map(|e| e.id.to_string()),
        episode_open: m.episode.as_ref().is_some_and(Episode::is_open),
        plan_review_due: m.episode.as_ref().is_some_and(|e| e.is_open() && e.plan_review_due),
        outcomes,
        results,
        flags,
        tasks,
        due,
        instruments: m.instruments.iter().map(|a| (a.definition.code.clone(), a.definition.name.clone())).collect(),
        follow_up_days: m.settings.follow_up_days.clone(),
        has_safety_plan: m.safety_plan.is_some(),
        can_write: staff.actor.can(Action::WriteClinicalRecord),
        can_assess: may_assess_risk(&staff.actor),
        link,
    })
}

pub async fn patient_outcomes(State(state): State<AppState>, staff: Staff, Path(pid): Path<String>) -> PageResult<Response> {
    patient_page(&state, &staff, &pid, None).await
}

#[derive(Deserialize)]
pub struct LinkPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    instrument: String,
    #[serde(default)]
    follow_up_days: String,
}

/// Creates a patient link and shows it once on the outcomes page.
pub async fn create_link(
    State(state): State<AppState>,
    staff: Staff,
    Path(eid): Path<String>,
    Form(f): Form<LinkPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let days = if f.follow_up_days.trim().is_empty() {
        None
    } else {
        Some(f.follow_up_days.trim().parse::<u32>().map_err(|_| DomainError::field("follow_up_days", "invalid", "choose a follow-up"))?)
    };
    let ctx = staff.ctx();
    let (link, token) = uc::create_link(&state, &ctx, not_found(&eid, "episode")?, &f.instrument, days).await?;
    let shown =
        (format!("{}/m/{token}", state.config.public_url.trim_end_matches('/')), link.expires_at.format("%Y-%m-%d %H:%M UTC").to_string());
    patient_page(&state, &staff, &link.patient_id.to_string(), Some(shown)).await
}

// --- Entering an instrument ---------------------------------------------------------------------

pub struct QuestionView {
    pub field: String,
    pub label: String,
    pub hint: String,
    /// (value, label, checked)
    pub options: Vec<(i32, String, bool)>,
    /// Typed value for number inputs.
    pub value: String,
    pub min: i32,
    pub max: i32,
    pub required: bool,
    pub error: Option<String>,
}

fn questions(def: &InstrumentDefinition, typed: &BTreeMap<String, String>, errors: &FormErrors) -> Vec<QuestionView> {
    def.items
        .iter()
        .map(|i: &ItemDef| {
            let value = typed.get(&i.link_id).cloned().unwrap_or_default();
            let options = if i.options.is_empty() && i.max - i.min <= 6 {
                (i.min..=i.max).map(|v| (v, v.to_string(), value == v.to_string())).collect()
            } else {
                i.options.iter().map(|o| (o.value, o.label.clone(), value == o.value.to_string())).collect()
            };
            QuestionView {
                field: format!("item_{}", i.link_id),
                label: i.label.clone(),
                hint: i
                    .enable_when
                    .as_ref()
                    .map(|e| format!("Answer if item {} was {} or more", e.link_id, e.at_least))
                    .unwrap_or_default(),
                options,
                value,
                min: i.min,
                max: i.max,
                required: i.required && i.enable_when.is_none(),
                error: errors.get(&i.link_id).map(str::to_string),
            }
        })
        .collect()
}

/// `item_<linkId>` form fields → linkId → typed text.
fn typed_responses(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields.iter().filter_map(|(k, v)| k.strip_prefix("item_").map(|id| (id.to_string(), v.clone()))).collect()
}

#[derive(Template)]
#[template(path = "measurement_form.html")]
struct FormPage {
    layout: Layout,
    public: bool,
    action: String,
    instrument: String,
    recall: String,
    questions: Vec<QuestionView>,
    errors: FormErrors,
    administered_on: String,
    follow_up_days: Vec<u32>,
    episode_open: bool,
    back: String,
}

fn recall(def: &InstrumentDefinition) -> String {
    use openiop_domain::measurement::RecallPeriod as R;
    match def.recall_period {
        Some(R::Days(n)) => format!("Think about the past {n} days."),
        Some(R::Weeks(n)) => format!("Think about the past {n} weeks."),
        Some(R::Months(n)) => format!("Think about the past {n} months."),
        Some(R::Years(n)) => format!("Think about the past {n} years."),
        Some(R::Lifetime) | None => String::new(),
    }
}

async fn staff_form(
    state: &AppState,
    staff: &Staff,
    eid: &str,
    code: &str,
    typed: BTreeMap<String, String>,
    errors: FormErrors,
    administered_on: Option<String>,
) -> PageResult<Response> {
    let f = uc::instrument_for_episode(state, &staff.ctx(), not_found(eid, "episode")?, code).await?;
    let (e, def) = (f.episode, f.definition);
    let administered_on = administered_on.unwrap_or_else(|| f.today.to_string());
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = FormPage {
        layout: Layout::staff(staff, &def.name, ""),
        public: false,
        action: format!("/episodes/{}/measure/{}", e.id, def.code),
        instrument: def.name.clone(),
        recall: recall(&def),
        questions: questions(&def, &typed, &errors),
        errors,
        administered_on,
        follow_up_days: f.follow_up_days,
        episode_open: e.is_open(),
        back: format!("/patients/{}/outcomes", e.patient_id),
    };
    Ok(with_status(render(&page)?, status))
}

pub async fn measure_form(State(state): State<AppState>, staff: Staff, Path((eid, code)): Path<(String, String)>) -> PageResult<Response> {
    staff_form(&state, &staff, &eid, &code, BTreeMap::new(), FormErrors::default(), None).await
}

pub async fn measure_submit(
    State(state): State<AppState>,
    staff: Staff,
    Path((eid, code)): Path<(String, String)>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> PageResult<Response> {
    staff.check_csrf(fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    let typed = typed_responses(&fields);
    let on = fields.get("administered_on").cloned().unwrap_or_default();
    let follow_up = fields.get("follow_up_days").map(|s| s.trim()).filter(|s| !s.is_empty()).map(|s| s.parse::<u32>());
    let ctx = staff.ctx();
    let attempt = async {
        let follow_up = follow_up.transpose().map_err(|_| DomainError::field("follow_up_days", "invalid", "choose a follow-up"))?;
        let f = uc::instrument_for_episode(&state, &ctx, not_found(&eid, "episode").map_err(|e| e.0)?, &code).await?;
        let responses = parse_responses(&f.definition, &typed)?;
        uc::record(&state, &ctx, not_found(&eid, "episode").map_err(|e| e.0)?, &code, &on, follow_up, responses).await
    };
    match attempt.await {
        Ok(r) => Ok(Redirect::to(&format!("/patients/{}/outcomes", r.result.patient_id)).into_response()),
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => staff_form(&state, &staff, &eid, &code, typed, errors, Some(on)).await,
            None => Err(e.into()),
        },
    }
}

// --- The patient's link (public, no sign-in) ----------------------------------------------------

async fn public_form(state: &AppState, token: &str, typed: BTreeMap<String, String>, errors: FormErrors) -> PageResult<Response> {
    let (link, def) = uc::open_link(state, token).await?;
    if !errors.any() {
        uc::audit_link_opened(state, &link).await?;
    }
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = FormPage {
        layout: Layout::public(&def.name),
        public: true,
        action: format!("/m/{token}"),
        instrument: def.name.clone(),
        recall: recall(&def),
        questions: questions(&def, &typed, &errors),
        errors,
        administered_on: String::new(),
        follow_up_days: Vec::new(),
        episode_open: true,
        back: String::new(),
    };
    Ok(with_status(render(&page)?, status))
}

pub async fn public_link(State(state): State<AppState>, Path(token): Path<String>) -> PageResult<Response> {
    public_form(&state, &token, BTreeMap::new(), FormErrors::default()).await
}

#[derive(Template)]
#[template(path = "measurement_thanks.html")]
struct ThanksPage {
    layout: Layout,
}

pub async fn public_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> PageResult<Response> {
    let typed = typed_responses(&fields);
    match uc::submit_link(&state, &token, &typed).await {
        Ok(_) => render(&ThanksPage { layout: Layout::public("Thank you") }),
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => public_form(&state, &token, typed, errors).await,
            None => Err(e.into()),
        },
    }
}

// --- Risk assessment and safety plan ------------------------------------------------------------

#[derive(Template)]
#[template(path = "measurement_assess.html")]
struct AssessPage {
    layout: Layout,
    flag_id: String,
    patient_id: String,
    patient_name: String,
    instrument: String,
    level: String,
    action: String,
    raised_at: String,
    /// Every positive result on the flag, oldest first.
    history: Vec<String>,
    form: RiskAssessmentForm,
    errors: FormErrors,
}

async fn assess_page(state: &AppState, staff: &Staff, fid: &str, form: RiskAssessmentForm, errors: FormErrors) -> PageResult<Response> {
    let (flag, patient) = uc::risk_flag(state, &staff.ctx(), not_found(fid, "risk flag")?, Action::ViewClinicalRecord).await?;
    let (_, events) = uc::risk_flag_history(state, &staff.ctx(), flag.id).await?;
    let history = events
        .iter()
        .map(|e| {
            format!(
                "{}: {} ({}), items {}",
                e.recorded_at.format("%Y-%m-%d %H:%M UTC"),
                e.instrument,
                e.level.map(|l| l.as_str().replace('_', " ")).unwrap_or_else(|| "screen positive".into()),
                e.items.join(", ")
            )
        })
        .collect();
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = AssessPage {
        layout: Layout::staff(staff, "Suicide-risk assessment", ""),
        flag_id: flag.id.to_string(),
        patient_id: patient.id.to_string(),
        patient_name: patient.details.display_name(),
        instrument: flag.instrument.clone(),
        level: flag.level.map(|l| l.as_str().replace('_', " ")).unwrap_or_else(|| "screen positive".into()),
        action: flag.action.clone(),
        raised_at: flag.raised_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        history,
        form,
        errors,
    };
    Ok(with_status(render(&page)?, status))
}

pub async fn assess_form(State(state): State<AppState>, staff: Staff, Path(fid): Path<String>) -> PageResult<Response> {
    assess_page(&state, &staff, &fid, RiskAssessmentForm::default(), FormErrors::default()).await
}

#[derive(Deserialize)]
pub struct AssessPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    risk_level: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    disposition: String,
    #[serde(default)]
    safety_plan_reviewed: Option<String>,
}

pub async fn assess_submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(fid): Path<String>,
    Form(p): Form<AssessPost>,
) -> PageResult<Response> {
    staff.check_csrf(&p.csrf)?;
    let form = RiskAssessmentForm {
        risk_level: p.risk_level,
        findings: p.findings,
        disposition: p.disposition,
        safety_plan_reviewed: p.safety_plan_reviewed.is_some(),
    };
    match uc::assess(&state, &staff.ctx(), not_found(&fid, "risk flag")?, &form).await {
        Ok(a) => Ok(Redirect::to(&format!("/patients/{}/outcomes", a.patient_id)).into_response()),
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => assess_page(&state, &staff, &fid, form, errors).await,
            None => Err(e.into()),
        },
    }
}

pub struct SectionView {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "measurement_safety_plan.html")]
struct SafetyPlanPage {
    layout: Layout,
    episode_id: String,
    patient_id: String,
    version: Option<(i64, String, String)>,
    sections: Vec<SectionView>,
    can_write: bool,
    errors: FormErrors,
}

async fn plan_page(
    state: &AppState,
    staff: &Staff,
    eid: &str,
    typed: Option<BTreeMap<String, String>>,
    errors: FormErrors,
) -> PageResult<Response> {
    let (e, plan) = uc::safety_plan(state, &staff.ctx(), not_found(eid, "episode")?).await?;
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let sections = SAFETY_PLAN_SECTIONS
        .iter()
        .map(|(key, label)| SectionView {
            key,
            label,
            value: typed
                .as_ref()
                .and_then(|t| t.get(*key).cloned())
                .or_else(|| plan.as_ref().map(|p| p.section(key).to_string()))
                .unwrap_or_default(),
            error: errors.get(key).map(str::to_string),
        })
        .collect();
    let page = SafetyPlanPage {
        layout: Layout::staff(staff, "Safety plan", ""),
        episode_id: e.id.to_string(),
        patient_id: e.patient_id.to_string(),
        version: plan.as_ref().map(|p| (p.version, p.recorded_by_name.clone(), p.recorded_at.format("%Y-%m-%d %H:%M UTC").to_string())),
        sections,
        can_write: staff.actor.can(Action::WriteClinicalRecord),
        errors,
    };
    Ok(with_status(render(&page)?, status))
}

pub async fn safety_plan(State(state): State<AppState>, staff: Staff, Path(eid): Path<String>) -> PageResult<Response> {
    plan_page(&state, &staff, &eid, None, FormErrors::default()).await
}

pub async fn save_safety_plan(
    State(state): State<AppState>,
    staff: Staff,
    Path(eid): Path<String>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> PageResult<Response> {
    staff.check_csrf(fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    match uc::save_safety_plan(&state, &staff.ctx(), not_found(&eid, "episode")?, &fields).await {
        Ok(p) => Ok(Redirect::to(&format!("/patients/{}/outcomes", p.patient_id)).into_response()),
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => plan_page(&state, &staff, &eid, Some(fields), errors).await,
            None => Err(e.into()),
        },
    }
}

// --- Program outcomes ---------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
pub struct OutcomeQuery {
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub track_id: String,
    #[serde(default)]
    pub population: String,
    #[serde(default)]
    pub level_code: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

impl OutcomeQuery {
    fn query_string(&self) -> String {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        [
            ("program_id", &self.program_id),
            ("track_id", &self.track_id),
            ("population", &self.population),
            ("level_code", &self.level_code),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub struct ProgramRow {
    pub name: String,
    pub chart: String,
    pub o: ProgramInstrumentOutcome,
}

impl ProgramRow {
    pub fn mean(&self, which: &str) -> String {
        let f = match which {
            "baseline" => self.o.baseline,
            "latest" => self.o.latest,
            _ => self.o.follow_up,
        };
        f.mean.map(|m| format!("{m:.1}")).unwrap_or_else(|| "—".into())
    }
}

pub fn figure(f: &openiop_domain::measurement::outcomes::Figure) -> String {
    match f.mean {
        Some(m) => format!("{m:.1} ({})", f.n),
        None => "— (0)".into(),
    }
}

pub fn pct(s: &openiop_domain::measurement::outcomes::Share) -> String {
    match s.share {
        Some(x) => format!("{:.0}% ({} of {})", x * 100.0, s.count, s.n),
        None => "— (n = 0)".into(),
    }
}

#[derive(Template)]
#[template(path = "measurement_program.html")]
struct ProgramPage {
    layout: Layout,
    q: OutcomeQuery,
    csv_href: String,
    programs: Vec<(String, String)>,
    tracks: Vec<(String, String)>,
    rows: Vec<ProgramRow>,
    errors: FormErrors,
    can_export: bool,
    tasks: Vec<(String, String, String)>,
}

pub async fn program_outcomes(State(state): State<AppState>, staff: Staff, Query(q): Query<OutcomeQuery>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let programs = uc::visible_programs(&state, &ctx).await?;
    let tracks = openiop_app::programs::visible_tracks(&state, &ctx).await?;
    let instruments = uc::instruments(&state, &ctx).await?;
    let (rows, errors) = match uc::parse_filter(&q.program_id, &q.track_id, &q.population, &q.level_code, &q.from, &q.to) {
        Ok(f) => {
            let out = uc::program_outcome(&state, &ctx, &f, false).await?;
            let mut rows = Vec::new();
            for o in out {
                let def = instruments.iter().find(|a| a.definition.code == o.instrument).map(|a| &a.definition);
                let name = def.map(|d| d.name.clone()).unwrap_or_else(|| o.instrument.clone());
                let chart = svg(&BarChart::build(&o, &name, def.map(max_total).unwrap_or(1.0)))?;
                rows.push(ProgramRow { name, chart, o });
            }
            (rows, FormErrors::default())
        }
        Err(e) => (Vec::new(), FormErrors::from(&e).ok_or(PageError(e))?),
    };
    let tasks = if staff.actor.can(Action::ViewClinicalRecord) {
        uc::my_tasks(&state, &ctx)
            .await?
            .into_iter()
            .map(|t| (t.patient_id.to_string(), t.title, t.due_at.format("%Y-%m-%d %H:%M UTC").to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let qs = q.query_string();
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ProgramPage {
        layout: Layout::staff(&staff, "Program outcomes", "/outcomes"),
        csv_href: if qs.is_empty() { "/outcomes.csv".into() } else { format!("/outcomes.csv?{qs}") },
        q,
        programs: programs.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
        tracks: tracks
            .iter()
            .filter(|t| programs.iter().any(|p| p.id == t.program_id))
            .map(|t| (t.id.to_string(), t.name.clone()))
            .collect(),
        rows,
        errors,
        can_export: staff.actor.can(Action::ExportPatientData),
        tasks,
    };
    Ok(with_status(render(&page)?, status))
}

pub async fn program_outcomes_csv(State(state): State<AppState>, staff: Staff, Query(q): Query<OutcomeQuery>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let f = uc::parse_filter(&q.program_id, &q.track_id, &q.population, &q.level_code, &q.from, &q.to)?;
    let out = uc::program_outcome(&state, &ctx, &f, true).await?;
    let instruments = uc::instruments(&state, &ctx).await?;
    let names = |code: &str| instruments.iter().find(|a| a.definition.code == code).map(|a| a.definition.name.clone()).unwrap_or_default();
    Ok(crate::api::measurement::csv_response(uc::outcomes_csv(&out, &names)))
}

// --- Library, cadences, settings (director) -----------------------------------------------------

#[derive(Template)]
#[template(path = "measurement_admin.html")]
struct AdminPage {
    layout: Layout,
    instruments: Vec<(String, String, bool, String, usize)>,
    cadences: Vec<(String, String, String, u32, bool)>,
    programs: Vec<(String, String)>,
    settings: MeasurementSettings,
    follow_up_text: String,
    can_manage: bool,
    /// Organization-wide settings and the instrument library: only for organization-wide staff.
    can_manage_organization: bool,
    errors: FormErrors,
    message: Option<String>,
}

async fn admin_page(state: &AppState, staff: &Staff, errors: FormErrors, message: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let instruments = uc::instruments(state, &ctx).await?;
    let programs = uc::visible_programs(state, &ctx).await?;
    let cadences = uc::cadences(state, &ctx, None).await?;
    let settings = uc::settings(state, &ctx).await?;
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = AdminPage {
        layout: Layout::staff(staff, "Measurement", "/measurement"),
        instruments: instruments
            .iter()
            .map(|a| {
                let d = &a.definition;
                (d.code.clone(), d.name.clone(), a.imported, d.loinc.clone().unwrap_or_default(), d.items.len())
            })
            .collect(),
        cadences: cadences
            .iter()
            .map(|c| {
                let program = programs.iter().find(|p| p.id == c.program_id).map(|p| p.name.clone()).unwrap_or_default();
                (c.id.to_string(), program, c.instrument.clone(), c.every_days, c.follow_up)
            })
            .collect(),
        programs: programs.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
        follow_up_text: settings.follow_up_days.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        settings,
        can_manage: staff.actor.can(Action::ManagePrograms),
        can_manage_organization: staff.actor.can(Action::ManagePrograms) && staff.actor.scope == openiop_domain::auth::Scope::Organization,
        errors,
        message,
    };
    Ok(with_status(render(&page)?, status))
}

pub async fn admin(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    admin_page(&state, &staff, FormErrors::default(), None).await
}

#[derive(Deserialize)]
pub struct ImportPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    questionnaire: String,
    #[serde(default)]
    scoring_for: String,
}

pub async fn import(State(state): State<AppState>, staff: Staff, Form(p): Form<ImportPost>) -> PageResult<Response> {
    staff.check_csrf(&p.csrf)?;
    match uc::import_instrument(&state, &staff.ctx(), &p.questionnaire, &p.scoring_for).await {
        Ok(a) => {
            admin_page(
                &state,
                &staff,
                FormErrors::default(),
                Some(format!("Imported {} ({} items).", a.definition.name, a.definition.items.len())),
            )
            .await
        }
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => admin_page(&state, &staff, errors, None).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct CadencePost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    program_id: String,
    #[serde(default)]
    instrument: String,
    #[serde(default)]
    every_days: String,
    #[serde(default)]
    follow_up: Option<String>,
}

pub async fn add_cadence(State(state): State<AppState>, staff: Staff, Form(p): Form<CadencePost>) -> PageResult<Response> {
    staff.check_csrf(&p.csrf)?;
    let form =
        CadenceForm { program_id: p.program_id, instrument: p.instrument, every_days: p.every_days, follow_up: p.follow_up.is_some() };
    match uc::add_cadence(&state, &staff.ctx(), &form).await {
        Ok(_) => Ok(Redirect::to("/measurement").into_response()),
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => admin_page(&state, &staff, errors, None).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn remove_cadence(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(p): Form<CsrfOnly>,
) -> PageResult<Response> {
    staff.check_csrf(&p.csrf)?;
    uc::remove_cadence(&state, &staff.ctx(), not_found(&id, "cadence")?).await?;
    Ok(Redirect::to("/measurement").into_response())
}

#[derive(Deserialize)]
pub struct SettingsPost {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: MeasurementSettingsForm,
}

pub async fn save_settings(State(state): State<AppState>, staff: Staff, Form(p): Form<SettingsPost>) -> PageResult<Response> {
    staff.check_csrf(&p.csrf)?;
    match uc::save_settings(&state, &staff.ctx(), &p.form).await {
        Ok(_) => admin_page(&state, &staff, FormErrors::default(), Some("Settings saved.".into())).await,
        Err(e) => match FormErrors::from(&e) {
            Some(errors) => admin_page(&state, &staff, errors, None).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct PickQuery {
    #[serde(default)]
    instrument: String,
}

/// The "open form" picker on the outcomes page.
pub async fn measure_pick(Path(eid): Path<String>, Query(q): Query<PickQuery>) -> PageResult<Response> {
    let eid: openiop_domain::patients::EpisodeId = not_found(&eid, "episode")?;
    let code = parse_instrument_code(&q.instrument).map_err(|_| PageError(DomainError::NotFound("instrument")))?;
    Ok(Redirect::to(&format!("/episodes/{eid}/measure/{code}")).into_response())
}
