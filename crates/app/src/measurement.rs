//! Measurement-based care: instruments, cadences, entering results (staff or patient link), the
//! risk workflow, safety plans, and patient and program outcomes. Each use case checks role and
//! scope, writes its audit event, and calls the store.
use crate::patients::{episode_for, patient_for};
use crate::security::{random_token, sha256_hex};
use crate::{App, Work};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx};
use openiop_domain::ids::ProgramId;
use openiop_domain::measurement::care::*;
use openiop_domain::measurement::outcomes::{
    InstrumentOutcome, OutcomeFilter, ProgramInstrumentOutcome, patient_outcome, program_outcomes,
};
use openiop_domain::measurement::{InstrumentDefinition, builtin, import_questionnaire, score_keeping_risk};
use openiop_domain::patients::{Episode, EpisodeId, Patient, PatientId};
use openiop_domain::programs::Program;
use openiop_domain::schedule::{SessionFilter, SessionStatus};
use openiop_domain::store::RecordKind;
use openiop_domain::{DomainError, Result};
use std::collections::BTreeMap;

fn event(ctx: &Ctx, role_for: Action, action: AuditAction, what: &str, patient: Option<PatientId>, id: Option<String>) -> AuditEvent {
    let mut e = AuditEvent::by(ctx, ctx.actor.acting_role(role_for), action, what, id);
    e.patient_id = patient.map(|p| p.to_string());
    e
}

/// The actor for events done through a patient's link (no staff member signed in).
const PATIENT_LINK_ACTOR: &str = "patient link";

fn link_event(link: &MeasurementLink, action: AuditAction, what: &str, id: Option<String>) -> AuditEvent {
    let mut e = AuditEvent::system(PATIENT_LINK_ACTOR, action, what, id).in_org(link.organization_id).patient(link.patient_id);
    e.role = "patient".into();
    e
}

// --- Instruments, settings, cadences -----------------------------------------------------------

pub async fn instruments(app: &App, ctx: &Ctx) -> Result<Vec<AvailableInstrument>> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPrograms)?;
        Ok(available_instruments(&w.db().imported_instruments(ctx.org()).await?))
    })
}

async fn available(w: &Work<'_>, org: openiop_domain::ids::OrganizationId) -> Result<Vec<AvailableInstrument>> {
    Ok(available_instruments(&w.db().imported_instruments(org).await?))
}

/// Imports a FHIR R4 Questionnaire: its wording over a built-in's scoring (`scoring_for` names
/// the built-in), or a plain-sum instrument with the code `scoring_for`.
pub async fn import_instrument(app: &App, ctx: &Ctx, questionnaire: &str, scoring_for: &str) -> Result<AvailableInstrument> {
    writing!(app, |w| {
        crate::require_organization_wide(ctx, Action::ManagePrograms)?;
        let code = if builtin(scoring_for.trim()).is_some() { scoring_for.trim().to_string() } else { parse_instrument_code(scoring_for)? };
        if questionnaire.len() > 1_000_000 {
            return Err(DomainError::field("questionnaire", "too_large", "must be under 1 MB"));
        }
        let definition = import_questionnaire(questionnaire, &code)?;
        let stored = StoredInstrument {
            code: definition.code.clone(),
            scoring_for: code,
            definition: definition.clone(),
            questionnaire: questionnaire.to_string(),
            imported_at: w.now(),
        };
        let ev = event(ctx, Action::ManagePrograms, AuditAction::Create, "instrument", None, Some(definition.code.clone()));
        w.db().save_instrument(ctx.org(), stored, ev).await?;
        Ok(AvailableInstrument { definition, imported: true })
    })
}

pub async fn settings(app: &App, ctx: &Ctx) -> Result<MeasurementSettings> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPrograms)?;
        w.db().measurement_settings(ctx.org()).await
    })
}

pub async fn save_settings(app: &App, ctx: &Ctx, form: &MeasurementSettingsForm) -> Result<MeasurementSettings> {
    writing!(app, |w| {
        crate::require_organization_wide(ctx, Action::ManagePrograms)?;
        let current = w.db().measurement_settings(ctx.org()).await?;
        let s = MeasurementSettings::parse(form, &current)?;
        let ev = event(ctx, Action::ManagePrograms, AuditAction::Update, "measurement_settings", None, None);
        w.db().save_measurement_settings(ctx.org(), s.clone(), ev).await?;
        Ok(s)
    })
}

/// Programs the actor may see.
pub async fn visible_programs(app: &App, ctx: &Ctx) -> Result<Vec<Program>> {
    reading!(app, |w| visible_programs_in(&w, ctx).await)
}

pub(crate) async fn visible_programs_in(w: &Work<'_>, ctx: &Ctx) -> Result<Vec<Program>> {
    Ok(w.db().programs(ctx.org()).await?.into_iter().filter(|p| ctx.actor.scope.covers(Some(p.site_id), Some(p.id))).collect())
}

pub async fn cadences(app: &App, ctx: &Ctx, program: Option<ProgramId>) -> Result<Vec<Cadence>> {
    reading!(app, |w| cadences_in(&w, ctx, program).await)
}

pub(crate) async fn cadences_in(w: &Work<'_>, ctx: &Ctx, program: Option<ProgramId>) -> Result<Vec<Cadence>> {
    ctx.actor.require(Action::ViewPrograms)?;
    if let Some(p) = program {
        // A program the caller names is one they may see: another site's, another organization's
        // and one that does not exist answer the same 404.
        crate::programs::program_in(w, ctx, p).await?;
    }
    let programs = visible_programs_in(w, ctx).await?;
    Ok(w.db().cadences(ctx.org(), program).await?.into_iter().filter(|c| programs.iter().any(|p| p.id == c.program_id)).collect())
}

pub async fn add_cadence(app: &App, ctx: &Ctx, form: &CadenceForm) -> Result<Cadence> {
    writing!(app, |w| {
        ctx.actor.require(Action::ManagePrograms)?;
        let c = Cadence::parse(form, &available(&w, ctx.org()).await?)?;
        w.referenced_program(ctx, Action::ManagePrograms, c.program_id).await?;
        let ev = event(ctx, Action::ManagePrograms, AuditAction::Create, "measurement_cadence", None, Some(c.id.to_string()));
        w.db().add_cadence(ctx.org(), c.clone(), ev).await?;
        Ok(c)
    })
}

pub async fn remove_cadence(app: &App, ctx: &Ctx, id: CadenceId) -> Result<()> {
    writing!(app, |w| {
        ctx.actor.require(Action::ManagePrograms)?;
        let c = cadences_in(&w, ctx, None).await?.into_iter().find(|c| c.id == id).ok_or(DomainError::NotFound("cadence"))?;
        let ev = event(ctx, Action::ManagePrograms, AuditAction::Delete, "measurement_cadence", None, Some(c.id.to_string()));
        w.db().remove_cadence(ctx.org(), id, ev).await?;
        Ok(())
    })
}

// --- Entering results ---------------------------------------------------------------------------

/// What recording a result did.
pub struct Recorded {
    pub result: MeasurementResult,
    pub risk_flag: Option<RiskFlagRecord>,
    pub plan_review_prompted: bool,
    /// What the result's screens depend on, read in the same unit of work (nothing is read
    /// after the change is committed).
    pub sex: openiop_domain::patients::Sex,
    pub settings: MeasurementSettings,
}

/// Treatment while the episode is open; after discharge, a follow-up at one of the configured
/// offsets.
fn context_for(episode: &Episode, follow_up_days: Option<u32>, settings: &MeasurementSettings) -> Result<ResultContext> {
    match (episode.is_open(), follow_up_days) {
        (true, None) => Ok(ResultContext::Treatment),
        (true, Some(_)) => Err(DomainError::field("follow_up_days", "episode_open", "follow-up measures are taken after discharge")),
        (false, Some(d)) if settings.follow_up_days.contains(&d) => Ok(ResultContext::FollowUp { days: d }),
        (false, Some(_)) => Err(DomainError::field(
            "follow_up_days",
            "unknown_offset",
            &format!(
                "is not one of the follow-up offsets ({})",
                settings.follow_up_days.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        )),
        (false, None) => Err(DomainError::field("follow_up_days", "required", "after discharge, say which follow-up this is")),
    }
}

#[expect(clippy::too_many_arguments, reason = "one transaction's worth of inputs, all named")]
async fn store_result(
    w: &Work<'_>,
    episode: &Episode,
    def: &InstrumentDefinition,
    responses: BTreeMap<String, i32>,
    administered_on: NaiveDate,
    context: ResultContext,
    source: ResultSource,
    entered_by: &str,
    link: Option<LinkId>,
    audit: AuditEvent,
    settings: &MeasurementSettings,
) -> Result<Recorded> {
    let org = episode.organization_id;
    // A risk answer is never lost: an incomplete set with a positive risk item is kept (as
    // incomplete, no total) and acted on; an incomplete set without one is refused as before.
    let scored = score_keeping_risk(def, &responses)?;
    let now = w.now();
    let id = ResultId::new();
    let result = MeasurementResult {
        id,
        patient_id: episode.patient_id,
        episode_id: episode.id,
        program_id: episode.program_id,
        instrument: def.code.clone(),
        instrument_name: def.name.clone(),
        loinc: def.loinc.clone(),
        total_loinc: def.total_loinc.clone(),
        administered_on,
        context,
        source,
        entered_by: entered_by.to_string(),
        responses,
        score: StoredScore::from(&scored),
        recorded_at: now,
    };
    let risk = match scored.flags.iter().find(|f| f.code == "suicide_risk") {
        None => None,
        Some(_) => {
            let open = w.db().open_risk_flag(org, episode.id, "suicide_risk").await?;
            let program = w.db().program(org, episode.program_id).await?;
            let owner = TaskOwner::for_episode(episode, program.clinical_lead);
            let next_contact = next_contact(w, episode, now).await?;
            let inputs = RiskInputs {
                score: &scored,
                episode,
                result: id,
                now,
                settings,
                open: open.as_ref().map(|(f, t)| (f, t.as_ref())),
                owner,
                next_contact,
            };
            risk_change(inputs).map(|change| {
                let mut ev = audit.clone();
                let (flag, what) = match &change {
                    RiskChange::Raise { flag, .. } => (flag, AuditAction::Create),
                    RiskChange::Repeat { flag, .. } => (flag, AuditAction::Update),
                };
                ev.action = what.as_str().into();
                ev.resource_type = "risk_flag".into();
                ev.resource_id = Some(flag.id.to_string());
                let level = scored.flags.iter().find(|f| f.code == flag.code).and_then(|f| f.level);
                let level = level.map(|l| l.as_str()).unwrap_or("screen_positive");
                // code:event:level, e.g. suicide_risk:raised:high
                ev.detail = match &change {
                    RiskChange::Raise { .. } => format!("{}:raised:{level}", flag.code),
                    RiskChange::Repeat { escalated: true, .. } => format!("{}:repeated:escalated:{level}", flag.code),
                    RiskChange::Repeat { .. } => format!("{}:repeated:{level}", flag.code),
                };
                (change, ev)
            })
        }
    };
    let risk_flag = risk.as_ref().map(|(c, _)| match c {
        RiskChange::Raise { flag, .. } | RiskChange::Repeat { flag, .. } => flag.clone(),
    });
    let mut audit = audit;
    audit.resource_id = Some(id.to_string());
    let result = w.db().record_result(org, NewResult { result, risk, link }, audit.clone()).await?;

    // The plan adapts to progress: no reliable improvement after N weeks → plan review.
    let mut plan_review_prompted = false;
    if context == ResultContext::Treatment && episode.is_open() && result.score.complete {
        let all = w.db().results(org, episode.patient_id).await?;
        let mine: Vec<&MeasurementResult> = all.iter().filter(|r| r.episode_id == episode.id).collect();
        plan_review_prompted = patient_outcome(def, &mine, settings).plan_review_prompt;
        // Already due (e.g. the initial plan): nothing to raise.
        if plan_review_prompted && !episode.plan_review_due {
            let mut ev = audit;
            ev.action = AuditAction::Update.as_str().into();
            ev.resource_type = "episode".into();
            ev.resource_id = Some(episode.id.to_string());
            ev.detail = format!("plan_review_due:no_reliable_improvement:{}", def.code);
            w.db().set_episode_flags(org, episode.id, None, Some(true), ev).await?;
        }
    }
    let sex = w.db().patient(org, episode.patient_id).await?.details.sex;
    Ok(Recorded { result, risk_flag, plan_review_prompted, sex, settings: settings.clone() })
}

/// The patient's next booked session (for a low-risk review at the next contact), within the
/// next 30 days.
async fn next_contact(w: &Work<'_>, episode: &Episode, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let filter = SessionFilter { patient: Some(episode.patient_id), ..SessionFilter::default() };
    let sessions = w.db().sessions_between(episode.organization_id, now, now + chrono::Duration::days(30), &filter).await?;
    Ok(sessions.iter().filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > now).map(|s| s.starts_at).min())
}

/// A staff member enters a completed instrument with the patient.
pub async fn record(
    app: &App,
    ctx: &Ctx,
    episode: EpisodeId,
    instrument: &str,
    administered_on: &str,
    follow_up_days: Option<u32>,
    responses: BTreeMap<String, i32>,
) -> Result<Recorded> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, episode, Action::WriteClinicalRecord).await?;
        let today = w.today_at(ctx.org(), e.site_id).await?;
        let available = available(&w, ctx.org()).await?;
        let def = find_instrument(&available, instrument)?.clone();
        let settings = w.db().measurement_settings(ctx.org()).await?;
        let context = context_for(&e, follow_up_days, &settings)?;
        let on = match context {
            ResultContext::Treatment => parse_administered_on(administered_on, &e, today)?,
            // A follow-up is after discharge, so only the future is refused.
            ResultContext::FollowUp { .. } => {
                let d = if administered_on.trim().is_empty() {
                    today
                } else {
                    openiop_domain::programs::parse_date("administered_on", administered_on)?
                };
                if d > today {
                    return Err(DomainError::field("administered_on", "date_in_future", "cannot be in the future"));
                }
                d
            }
        };
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "measurement_result", Some(e.patient_id), None)
            .detail(&format!("{}:{}", def.code, context.code()));
        store_result(&w, &e, &def, responses, on, context, ResultSource::Staff, &ctx.actor.email, None, ev, &settings).await
    })
}

/// What the staff form for entering an instrument needs.
pub struct EntryForm {
    pub episode: Episode,
    pub definition: InstrumentDefinition,
    /// Today at the episode's site (the form's default date).
    pub today: NaiveDate,
    pub follow_up_days: Vec<u32>,
}

/// The instrument to enter for an episode (the staff form).
pub async fn instrument_for_episode(app: &App, ctx: &Ctx, episode: EpisodeId, code: &str) -> Result<EntryForm> {
    reading!(app, |w| {
        let e = episode_for(&w, ctx, episode, Action::WriteClinicalRecord).await?;
        let available = available(&w, ctx.org()).await?;
        let definition = find_instrument(&available, code).map_err(|_| DomainError::NotFound("instrument"))?.clone();
        let today = w.today_at(ctx.org(), e.site_id).await?;
        let follow_up_days = w.db().measurement_settings(ctx.org()).await?.follow_up_days;
        Ok(EntryForm { episode: e, definition, today, follow_up_days })
    })
}

/// Creates an expiring link for the patient to complete one instrument; returns the link and
/// its token (shown once; only its hash is stored).
pub async fn create_link(
    app: &App,
    ctx: &Ctx,
    episode: EpisodeId,
    instrument: &str,
    follow_up_days: Option<u32>,
) -> Result<(MeasurementLink, String)> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, episode, Action::WriteClinicalRecord).await?;
        let available = available(&w, ctx.org()).await?;
        let def = find_instrument(&available, instrument)?;
        let settings = w.db().measurement_settings(ctx.org()).await?;
        let context = context_for(&e, follow_up_days, &settings)?;
        let token = random_token()?;
        let now = w.now();
        let link = MeasurementLink {
            id: LinkId::new(),
            organization_id: ctx.org(),
            patient_id: e.patient_id,
            episode_id: e.id,
            instrument: def.code.clone(),
            context,
            expires_at: now + Duration::days(i64::from(settings.link_expiry_days)),
            used_at: None,
            created_at: now,
        };
        let ev =
            event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "measurement_link", Some(e.patient_id), Some(link.id.to_string()))
                .detail(&format!("{}:{}", def.code, context.code()));
        w.db().create_link(ctx.org(), link.clone(), &sha256_hex(&token), ev).await?;
        Ok((link, token))
    })
}

/// The link behind a token, if usable, with its instrument. Unknown tokens are not found.
pub async fn open_link(app: &App, token: &str) -> Result<(MeasurementLink, InstrumentDefinition)> {
    reading!(app, |w| open_link_in(&w, token, w.now()).await)
}

pub(crate) async fn open_link_in(w: &Work<'_>, token: &str, now: DateTime<Utc>) -> Result<(MeasurementLink, InstrumentDefinition)> {
    if token.len() < 20 || token.len() > 100 {
        return Err(DomainError::NotFound("questionnaire"));
    }
    let link = w.db().link_by_token_hash(&sha256_hex(token)).await?.ok_or(DomainError::NotFound("questionnaire"))?;
    link.check_usable(now)?;
    let available = available(w, link.organization_id).await?;
    let def = find_instrument(&available, &link.instrument).map_err(|_| DomainError::NotFound("questionnaire"))?.clone();
    Ok((link, def))
}

/// The patient submits the questionnaire at the link.
pub async fn submit_link(app: &App, token: &str, typed: &BTreeMap<String, String>) -> Result<Recorded> {
    writing!(app, |w| {
        let now = w.now();
        let (link, def) = open_link_in(&w, token, now).await?;
        let responses = parse_responses(&def, typed)?;
        let episode = w.db().episode(link.organization_id, link.episode_id).await?;
        let today = w.today_at(link.organization_id, episode.site_id).await?;
        let settings = w.db().measurement_settings(link.organization_id).await?;
        let ev =
            link_event(&link, AuditAction::Create, "measurement_result", None).detail(&format!("{}:{}", def.code, link.context.code()));
        store_result(
            &w,
            &episode,
            &def,
            responses,
            today,
            link.context,
            ResultSource::PatientLink,
            PATIENT_LINK_ACTOR,
            Some(link.id),
            ev,
            &settings,
        )
        .await
    })
}

/// Audits that a patient opened their link.
pub async fn audit_link_opened(app: &App, link: &MeasurementLink) -> Result<()> {
    reading!(app, |w| w.db().audit(link_event(link, AuditAction::Read, "measurement_link", Some(link.id.to_string()))).await)
}

// --- The chart's measurement view ---------------------------------------------------------------

/// Everything the outcomes page shows for a patient, read and audited once.
pub struct PatientMeasures {
    pub patient: Patient,
    pub episodes: Vec<Episode>,
    /// The episode shown: the open one, else the most recent.
    pub episode: Option<Episode>,
    pub results: Vec<MeasurementResult>,
    pub outcomes: Vec<InstrumentOutcome>,
    pub due: Vec<DueMeasurement>,
    pub flags: Vec<RiskFlagRecord>,
    pub tasks: Vec<ClinicalTask>,
    pub assessments: Vec<RiskAssessment>,
    pub safety_plan: Option<SafetyPlan>,
    pub instruments: Vec<AvailableInstrument>,
    pub settings: MeasurementSettings,
}

pub async fn patient_measures(app: &App, ctx: &Ctx, id: PatientId) -> Result<PatientMeasures> {
    reading!(app, |w| {
        let (patient, episodes) = patient_for(&w, ctx, id, Action::ViewClinicalRecord).await?;
        let today = w.today_at(ctx.org(), patient.site_id).await?;
        let org = ctx.org();
        let results = w.db().results(org, id).await?;
        let flags = w.db().risk_flags(org, id).await?;
        let tasks = w.db().tasks(org, TaskFilter { patient: Some(id), ..Default::default() }).await?;
        let assessments = w.db().assessments(org, id).await?;
        let instruments = available(&w, org).await?;
        let settings = w.db().measurement_settings(org).await?;
        let episode = episodes.iter().find(|e| e.is_open()).or_else(|| episodes.first()).cloned();
        let (outcomes, due, safety_plan) = match &episode {
            Some(e) => {
                let mine: Vec<&MeasurementResult> = results.iter().filter(|r| r.episode_id == e.id).collect();
                let mut codes: Vec<&str> = mine.iter().map(|r| r.instrument.as_str()).collect();
                codes.sort_unstable();
                codes.dedup();
                let outcomes = codes
                    .iter()
                    .filter_map(|c| find_instrument(&instruments, c).ok())
                    .map(|d| patient_outcome(d, &mine, &settings))
                    .filter(|o| o.has_scores())
                    .collect();
                let cadences = w.db().cadences(org, Some(e.program_id)).await?;
                let due = due_measurements(e, &cadences, &results, &settings, today);
                (outcomes, due, w.db().safety_plan(org, e.id).await?)
            }
            None => (Vec::new(), Vec::new(), None),
        };
        let ev = event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "measurements", Some(id), None);
        w.db().audit(ev).await?;
        Ok(PatientMeasures {
            patient,
            episodes,
            episode,
            results,
            outcomes,
            due,
            flags,
            tasks,
            assessments,
            safety_plan,
            instruments,
            settings,
        })
    })
}

// --- Risk workflow ------------------------------------------------------------------------------

/// A risk flag the actor may see (scope through its patient).
pub async fn risk_flag(app: &App, ctx: &Ctx, id: RiskFlagId, action: Action) -> Result<(RiskFlagRecord, Patient)> {
    reading!(app, |w| risk_flag_in(&w, ctx, id, action).await)
}

pub(crate) async fn risk_flag_in(w: &Work<'_>, ctx: &Ctx, id: RiskFlagId, action: Action) -> Result<(RiskFlagRecord, Patient)> {
    ctx.actor.require(action)?;
    let flag = w.found(ctx, action, RecordKind::RiskFlag, &id.to_string(), w.db().risk_flag(ctx.org(), id).await).await?;
    let (patient, _) = patient_for(w, ctx, flag.patient_id, action).await?;
    Ok((flag, patient))
}

/// A clinician's documented assessment: the only way a risk flag is cleared.
pub async fn assess(app: &App, ctx: &Ctx, id: RiskFlagId, form: &RiskAssessmentForm) -> Result<RiskAssessment> {
    writing!(app, |w| {
        let (flag, _) = risk_flag_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        let plan = w.db().safety_plan(ctx.org(), flag.episode_id).await?;
        let a = RiskAssessment::parse(form, &flag, &ctx.actor, plan.is_some(), w.now())?;
        let ev =
            event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "risk_flag", Some(flag.patient_id), Some(flag.id.to_string()))
                .detail(&format!("cleared_by_assessment:{}", a.risk_level.as_str()));
        w.db().record_assessment(ctx.org(), a.clone(), ev).await?;
        Ok(a)
    })
}

/// An open risk flag on the home page of someone who answers for it, and why they do.
pub struct RiskWork {
    pub risk: OpenRisk,
    /// The reason this person sees it: owner, or a clinical director seeing an overdue task.
    pub why: &'static str,
    pub overdue: bool,
}

/// Every open risk flag the caller answers for: those whose task they own (the primary
/// clinician or program clinical lead), those owned by the clinical directors when the caller is
/// one whose scope covers the episode, and, for those directors, any overdue task in their scope
/// (escalation). Soonest due first.
pub async fn risk_work(app: &App, ctx: &Ctx) -> Result<Vec<RiskWork>> {
    reading!(app, |w| risk_work_in(&w, ctx).await)
}

pub(crate) async fn risk_work_in(w: &Work<'_>, ctx: &Ctx) -> Result<Vec<RiskWork>> {
    ctx.actor.require(Action::ViewClinicalRecord)?;
    let now = w.now();
    let director = ctx.actor.roles.contains(&openiop_domain::auth::Role::ClinicalDirector);
    let mut out = Vec::new();
    for risk in w.db().open_risk_work(ctx.org()).await? {
        let in_scope = ctx.actor.scope.covers(Some(risk.site_id), Some(risk.program_id));
        let overdue = risk.task.as_ref().is_some_and(|t| t.due_at <= now);
        let why = match risk.task.as_ref().map(|t| t.owner) {
            Some(o) if o.user == Some(ctx.actor.user_id) => match o.kind {
                OwnerKind::ClinicalLead => "You are the program's clinical lead",
                _ => "You are the primary clinician",
            },
            Some(o) if o.kind == OwnerKind::ClinicalDirectors && director && in_scope => "No primary clinician or lead: clinical directors",
            _ if director && in_scope && (overdue || risk.task.is_none()) => "Overdue: escalated to clinical directors",
            _ => continue,
        };
        out.push(RiskWork { risk, why, overdue });
    }
    Ok(out)
}

/// The caller's open clinical tasks (those of the risk flags they answer for), soonest first.
pub async fn my_tasks(app: &App, ctx: &Ctx) -> Result<Vec<ClinicalTask>> {
    reading!(app, |w| {
        let mut tasks: Vec<ClinicalTask> = risk_work_in(&w, ctx).await?.into_iter().filter_map(|r| r.risk.task).collect();
        tasks.sort_by_key(|t| t.due_at);
        Ok(tasks)
    })
}

/// A risk flag with its history (every positive result on it), for one who may see the patient.
pub async fn risk_flag_history(app: &App, ctx: &Ctx, id: RiskFlagId) -> Result<(RiskFlagRecord, Vec<RiskFlagEvent>)> {
    reading!(app, |w| {
        let (flag, _) = risk_flag_in(&w, ctx, id, Action::ViewClinicalRecord).await?;
        let events = w.db().risk_flag_events(ctx.org(), id).await?;
        Ok((flag, events))
    })
}

pub async fn safety_plan(app: &App, ctx: &Ctx, episode: EpisodeId) -> Result<(Episode, Option<SafetyPlan>)> {
    reading!(app, |w| {
        let e = episode_for(&w, ctx, episode, Action::ViewClinicalRecord).await?;
        let plan = w.db().safety_plan(ctx.org(), e.id).await?;
        let ev = event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "safety_plan", Some(e.patient_id), Some(e.id.to_string()));
        w.db().audit(ev).await?;
        Ok((e, plan))
    })
}

pub async fn save_safety_plan(app: &App, ctx: &Ctx, episode: EpisodeId, typed: &BTreeMap<String, String>) -> Result<SafetyPlan> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, episode, Action::WriteClinicalRecord).await?;
        let plan = SafetyPlan::parse(typed, &e, &ctx.actor, w.now())?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "safety_plan", Some(e.patient_id), Some(e.id.to_string()));
        w.db().save_safety_plan(ctx.org(), plan, ev).await
    })
}

// --- Program outcomes ---------------------------------------------------------------------------

/// Program outcomes over the programs in the actor's scope. Reads are bounded: a fixed number
/// of queries, whatever the number of patients.
pub async fn program_outcome(app: &App, ctx: &Ctx, filter: &OutcomeFilter, export: bool) -> Result<Vec<ProgramInstrumentOutcome>> {
    reading!(app, |w| {
        ctx.actor.require(if export { Action::ExportPatientData } else { Action::ViewClinicalRecord })?;
        let programs: Vec<ProgramId> = visible_programs_in(&w, ctx).await?.iter().map(|p| p.id).collect();
        if let Some(p) = filter.program_id
            && !programs.contains(&p)
        {
            return Err(DomainError::NotFound("program"));
        }
        // One program asked for: read only its results.
        let wanted = filter.program_id.map(|p| vec![p]).unwrap_or(programs);
        let rows = w.db().outcome_rows(ctx.org(), Some(&wanted)).await?;
        let settings = w.db().measurement_settings(ctx.org()).await?;
        let out = program_outcomes(&rows, filter, &settings);
        let (action, what) = if export { (AuditAction::Export, "program_outcomes_csv") } else { (AuditAction::Read, "program_outcomes") };
        let ev = event(ctx, Action::ViewClinicalRecord, action, what, None, filter.program_id.map(|p| p.to_string()))
            .detail(&format!("instruments={}", out.len()));
        w.db().audit(ev).await?;
        Ok(out)
    })
}

/// Parses the outcome filters as typed (blank = any).
pub fn parse_filter(program: &str, track: &str, population: &str, level: &str, from: &str, to: &str) -> Result<OutcomeFilter> {
    let mut f = openiop_domain::error::Fields::new();
    let opt = |s: &str| if s.trim().is_empty() { None } else { Some(s.trim().to_string()) };
    let program_id = opt(program).and_then(|s| f.take("program_id", s.parse()));
    let track_id = opt(track).and_then(|s| f.take("track_id", s.parse()));
    let population = opt(population).and_then(|s| f.take("population", openiop_domain::programs::Population::parse(&s)));
    let from = opt(from).and_then(|s| f.take("from", openiop_domain::programs::parse_date("from", &s)));
    let to = opt(to).and_then(|s| f.take("to", openiop_domain::programs::parse_date("to", &s)));
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        f.push("to", "range_reversed", "must be on or after the start");
    }
    f.finish()?;
    Ok(OutcomeFilter { program_id, track_id, population, level_code: opt(level), from, to })
}

/// CSV of program outcomes: the 42 CFR §2.32 notice on the first line, then a header and one row
/// per instrument, every figure with its n.
pub fn outcomes_csv(rows: &[ProgramInstrumentOutcome], names: &dyn Fn(&str) -> String) -> String {
    fn cell(s: &str) -> String {
        // Quote every text cell; a leading formula character is neutralised (CSV injection).
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
        format!("\"{}\"", s.replace('"', "\"\""))
    }
    fn num(v: Option<f64>) -> String {
        v.map(|x| format!("{x:.2}")).unwrap_or_default()
    }
    // The 42 CFR §2.32 notice first, as one quoted cell that CSV readers parse as a one-field row.
    let mut out = format!("{}\r\n", cell(&format!("{}. {}", openiop_domain::part2::NOTICE_TITLE, openiop_domain::part2::NOTICE)));
    out.push_str(
        "instrument,name,baseline_mean,baseline_n,latest_mean,latest_n,follow_up_mean,follow_up_n,\
         reliable_improvement,reliable_improvement_n,reliable_deterioration,reliable_deterioration_n,recovered,recovered_n,\
         reliable_recovery,reliable_recovery_n\r\n",
    );
    for r in rows {
        let fields = [
            cell(&r.instrument),
            cell(&names(&r.instrument)),
            num(r.baseline.mean),
            r.baseline.n.to_string(),
            num(r.latest.mean),
            r.latest.n.to_string(),
            num(r.follow_up.mean),
            r.follow_up.n.to_string(),
            r.reliable_improvement.count.to_string(),
            r.reliable_improvement.n.to_string(),
            r.reliable_deterioration.count.to_string(),
            r.reliable_deterioration.n.to_string(),
            r.recovered.count.to_string(),
            r.recovered.n.to_string(),
            r.reliable_recovery.count.to_string(),
            r.reliable_recovery.n.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
        // Each subscale on its own row (instrument:subscale), means only: change is judged on totals.
        for sub in &r.subscales {
            let fields = [
                cell(&format!("{}:{}", r.instrument, sub.name)),
                cell(&format!("{} — {}", names(&r.instrument), sub.name)),
                num(sub.baseline.mean),
                sub.baseline.n.to_string(),
                num(sub.latest.mean),
                sub.latest.n.to_string(),
                num(sub.follow_up.mean),
                sub.follow_up.n.to_string(),
            ];
            out.push_str(&fields.join(","));
            out.push_str(",,,,,,,,\r\n");
        }
    }
    out
}

/// A patient's open risk flags, for a clinician who may see the patient's record.
pub async fn open_risk_flags(app: &App, ctx: &Ctx, patient: PatientId) -> Result<Vec<RiskFlagRecord>> {
    reading!(app, |w| {
        patient_for(&w, ctx, patient, Action::ViewClinicalRecord).await?;
        Ok(w.db().risk_flags(ctx.org(), patient).await?.into_iter().filter(|f| f.cleared_at.is_none()).collect())
    })
}
