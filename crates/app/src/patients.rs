//! Referrals, registration, admission, level changes, discharge and consents: each use case
//! checks role and scope, writes its audit event, and calls the store, in one unit of work.
use crate::{App, Work};
use chrono::NaiveDate;
use openiop_domain::audit::{AuditAction, AuditEvent, Outcome};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::SiteId;
use openiop_domain::patients::*;
use openiop_domain::programs::{LevelOfCare, TrackId};
use openiop_domain::store::RecordKind;
use openiop_domain::{DomainError, Result};

fn event(ctx: &Ctx, action_for_role: Action, action: AuditAction, what: &str, patient: Option<PatientId>) -> AuditEvent {
    let mut e = AuditEvent::by(ctx, ctx.actor.acting_role(action_for_role), action, what, None);
    e.patient_id = patient.map(|p| p.to_string());
    e
}

/// Sites the actor may see patients at (`None`: all of the organization).
pub fn scope_sites(ctx: &Ctx) -> Option<Vec<SiteId>> {
    match &ctx.actor.scope {
        Scope::Organization => None,
        Scope::Units { sites, .. } => Some(sites.clone()),
    }
}

/// Whether a patient is within the actor's scope: their site, or the program of one of their
/// episodes.
fn in_scope(ctx: &Ctx, patient: &Patient, episodes: &[Episode]) -> bool {
    ctx.actor.scope.covers(Some(patient.site_id), None)
        || episodes.iter().any(|e| ctx.actor.scope.covers(Some(e.site_id), Some(e.program_id)))
}

/// Which of these patients the actor may see (their site, or one of their episodes' programs in
/// scope): the rest of a session's participants, say, are someone else's to see. A fixed number
/// of statements for any number of patients.
pub(crate) async fn visible(w: &Work<'_>, ctx: &Ctx, ids: &[PatientId]) -> Result<Vec<PatientId>> {
    if ctx.actor.scope == Scope::Organization || ids.is_empty() {
        return Ok(ids.to_vec());
    }
    let people = w.db().patient_summaries(ctx.org(), ids).await?;
    let episodes = w.db().episodes_of(ctx.org(), ids).await?;
    Ok(ids
        .iter()
        .copied()
        .filter(|id| {
            people.iter().any(|p| p.id == *id && ctx.actor.scope.covers(Some(p.site_id), None))
                || episodes.iter().any(|e| e.patient_id == *id && ctx.actor.scope.covers(Some(e.site_id), Some(e.program_id)))
        })
        .collect())
}

/// Loads a patient the actor may see for `action`; out of scope answers 404 and is audited as
/// a denied access.
pub async fn patient_for(w: &Work<'_>, ctx: &Ctx, id: PatientId, action: Action) -> Result<(Patient, Vec<Episode>)> {
    ctx.actor.require(action)?;
    let patient = w.found(ctx, action, RecordKind::Patient, &id.to_string(), w.db().patient(ctx.org(), id).await).await?;
    let episodes = w.db().episodes(ctx.org(), id).await?;
    if !in_scope(ctx, &patient, &episodes) {
        w.deny(event(ctx, action, AuditAction::AccessDenied, "patient", Some(id)).outcome(Outcome::Denied).detail("out_of_scope"));
        return Err(DomainError::NotFound("patient"));
    }
    Ok((patient, episodes))
}

/// Everything the chart shows, read and audited once.
pub struct Chart {
    pub patient: Patient,
    pub episodes: Vec<Episode>,
    pub consents: Vec<Consent>,
    pub flags: ChartFlags,
    pub clinical: bool,
    /// Today at the patient's site.
    pub today: NaiveDate,
    /// The organization's name (the Part 2 program a consent names as discloser).
    pub organization: String,
    /// Future sessions a family member was taken off when a consent was revoked.
    pub family_taken_off: Vec<FamilyTakenOff>,
}

/// One session a revoked consent took a family member off (shown with that consent).
pub struct FamilyTakenOff {
    pub consent_id: ConsentId,
    /// The session's date at its site.
    pub on: NaiveDate,
    pub topic: String,
}

pub async fn chart(app: &App, ctx: &Ctx, id: PatientId) -> Result<Chart> {
    reading!(app, |w| {
        let (patient, episodes) = patient_for(&w, ctx, id, Action::ViewPatientDemographics).await?;
        let consents = w.db().consents(ctx.org(), id).await?;
        let clinical = ctx.actor.can(Action::ViewClinicalRecord);
        let ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Read, "chart", Some(id)).detail(if clinical {
            "clinical"
        } else {
            "demographics"
        });
        w.db().audit(ev).await?;
        let today = w.today_at(ctx.org(), patient.site_id).await?;
        let flags = chart_flags(episodes.iter().find(|e| e.is_open()), &consents, today);
        let organization = w.db().organization(ctx.org()).await?.name;
        let family_taken_off = family_taken_off(&w, ctx, id).await?;
        Ok(Chart { patient, episodes, consents, flags, clinical, today, organization, family_taken_off })
    })
}

/// The sessions revocations took family members off, in two queries (the removals, then the
/// patient's sessions from the first removal on).
async fn family_taken_off(w: &Work<'_>, ctx: &Ctx, patient: PatientId) -> Result<Vec<FamilyTakenOff>> {
    use openiop_domain::schedule::SessionFilter;
    let removals = w.db().family_removals(ctx.org(), patient).await?;
    let Some(first) = removals.iter().map(|r| r.removed_at).min() else { return Ok(Vec::new()) };
    let filter = SessionFilter { patient: Some(patient), ..Default::default() };
    let sessions = w.db().sessions_between(ctx.org(), first, first + chrono::Duration::days(400), &filter).await?;
    let mut out: Vec<FamilyTakenOff> = removals
        .iter()
        .filter_map(|r| {
            let s = sessions.iter().find(|s| s.id == r.session_id)?;
            Some(FamilyTakenOff { consent_id: r.consent_id, on: s.local_date, topic: s.topic.clone() })
        })
        .collect();
    out.sort_by_key(|t| t.on);
    Ok(out)
}

/// The patients list: one page of the patients in the caller's scope with their latest episode,
/// filtered; with how many the filter matches (audited as a search, with the count only).
pub async fn list(app: &App, ctx: &Ctx, filter: &PatientListFilter) -> Result<(Vec<PatientListRow>, u64)> {
    ctx.actor.require(Action::ViewPatientDemographics)?;
    reading!(app, |w| {
        let scope = match &ctx.actor.scope {
            Scope::Organization => ListScope::Organization,
            Scope::Units { sites, programs } => ListScope::Units { sites: sites.clone(), programs: programs.clone() },
        };
        let (rows, total) = w.db().patient_list(ctx.org(), &scope, filter).await?;
        let ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Search, "patient_list", None)
            .detail(&format!("results={} total={total}", rows.len()));
        w.db().audit(ev).await?;
        Ok((rows, total))
    })
}

pub async fn search(app: &App, ctx: &Ctx, query: &str) -> Result<Vec<PatientSummary>> {
    ctx.actor.require(Action::ViewPatientDemographics)?;
    if query.trim().len() < 2 {
        return Ok(Vec::new());
    }
    reading!(app, |w| {
        let sites = scope_sites(ctx);
        let mut found = w.db().search_patients(ctx.org(), query, sites.as_deref()).await?;
        if let Scope::Units { programs, .. } = &ctx.actor.scope
            && !programs.is_empty()
        {
            // Program-scoped staff also find patients with an episode in their programs.
            let extra = w.db().search_patients(ctx.org(), query, None).await?;
            let open = w.db().open_episodes(ctx.org(), Some(programs)).await?;
            for p in extra {
                if open.iter().any(|e| e.patient_id == p.id) && !found.iter().any(|f| f.id == p.id) {
                    found.push(p);
                }
            }
        }
        // The query itself may be PHI: it is not written to the log, only the count.
        let ev =
            event(ctx, Action::ViewPatientDemographics, AuditAction::Search, "patient", None).detail(&format!("results={}", found.len()));
        w.db().audit(ev).await?;
        Ok(found)
    })
}

/// Today at the site a form names, or (when it names none the organization has) at the first
/// site in the caller's scope: the form is refused for its site in that case anyway.
async fn today_for(w: &Work<'_>, ctx: &Ctx, site_text: &str) -> Result<NaiveDate> {
    if let Ok(site) = site_text.parse::<SiteId>()
        && let Ok(s) = w.db().site(ctx.org(), site).await
    {
        return Ok(openiop_domain::clock::local_date(w.now(), s.time_zone.0));
    }
    let sites = w.db().sites(ctx.org()).await?;
    let tz = sites.iter().find(|s| ctx.actor.scope.covers(Some(s.id), None)).or(sites.first()).map(|s| s.time_zone.0);
    Ok(openiop_domain::clock::local_date(w.now(), tz.unwrap_or(chrono_tz::UTC)))
}

pub async fn create_referral(app: &App, ctx: &Ctx, form: &ReferralForm) -> Result<Referral> {
    ctx.actor.require(Action::ManageIntake)?;
    writing!(app, |w| {
        let today = today_for(&w, ctx, &form.site_id).await?;
        let r = NewReferral::parse(form, today)?;
        crate::sites::site_in(&w, ctx, r.site_id, Action::ManageIntake).await?;
        if let Some(p) = r.program_id
            && w.referenced_program(ctx, Action::ManageIntake, p).await?.site_id != r.site_id
        {
            return Err(DomainError::field("program_id", "unknown_reference", "is not a program of this site"));
        }
        w.db().create_referral(ctx.org(), r, event(ctx, Action::ManageIntake, AuditAction::Create, "referral", None)).await
    })
}

pub async fn referrals(app: &App, ctx: &Ctx) -> Result<Vec<Referral>> {
    ctx.actor.require(Action::ManageIntake)?;
    reading!(app, |w| {
        let all = w.db().referrals(ctx.org()).await?;
        let visible: Vec<Referral> = all.into_iter().filter(|r| ctx.actor.scope.covers(Some(r.site_id), r.program_id)).collect();
        let ev = event(ctx, Action::ManageIntake, AuditAction::Read, "referral_list", None).detail(&format!("results={}", visible.len()));
        w.db().audit(ev).await?;
        Ok(visible)
    })
}

/// A referral the caller may work on, with its read audited.
async fn referral_for(w: &Work<'_>, ctx: &Ctx, id: ReferralId) -> Result<Referral> {
    ctx.actor.require(Action::ManageIntake)?;
    let r = w.found(ctx, Action::ManageIntake, RecordKind::Referral, &id.to_string(), w.db().referral(ctx.org(), id).await).await?;
    if !ctx.actor.scope.covers(Some(r.site_id), r.program_id) {
        w.refuse(ctx, Action::ManageIntake, RecordKind::Referral, &id.to_string(), r.patient_id.map(|p| p.to_string()), "out_of_scope");
        return Err(DomainError::NotFound("referral"));
    }
    let mut ev = event(ctx, Action::ManageIntake, AuditAction::Read, "referral", None);
    ev.resource_id = Some(id.to_string());
    w.db().audit(ev).await?;
    Ok(r)
}

pub async fn referral(app: &App, ctx: &Ctx, id: ReferralId) -> Result<Referral> {
    reading!(app, |w| referral_for(&w, ctx, id).await)
}

pub async fn set_referral_status(app: &App, ctx: &Ctx, id: ReferralId, status: &str, reason: &str) -> Result<()> {
    writing!(app, |w| {
        let r = referral_for(&w, ctx, id).await?;
        let status = ReferralStatus::parse(status)?;
        let ev = event(ctx, Action::ManageIntake, AuditAction::Update, "referral", r.patient_id).detail(status.code());
        w.db().set_referral_status(ctx.org(), id, status, reason, ev).await
    })
}

/// Accepting a referral registers the referred patient and admits them from the details the
/// referral already holds: nothing is typed twice.
pub async fn accept_referral(app: &App, ctx: &Ctx, id: ReferralId, form: &AdmissionForm) -> Result<(Patient, Episode)> {
    ctx.actor.require(Action::WriteClinicalRecord)?;
    writing!(app, |w| {
        let r = referral_for(&w, ctx, id).await?;
        let today = w.today_at(ctx.org(), r.site_id).await?;
        let a = Admission::parse(form, today)?;
        let program = check_program(&w, ctx, &a).await?;
        let exception = admission_population(&r.patient, &program, &a, form)?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "episode", None).detail("referral_accepted");
        let (p, e) = w.db().accept_referral(ctx.org(), id, a, ev).await?;
        record_admission_exception(&w, ctx, exception, &e).await?;
        Ok((p, e))
    })
}

async fn check_program(w: &Work<'_>, ctx: &Ctx, a: &Admission) -> Result<openiop_domain::programs::Program> {
    w.referenced_program(ctx, Action::WriteClinicalRecord, a.program_id).await
}

/// The population rule at admission (ASAM: adolescents are treated apart from adults): a minor
/// is admitted to an adult program, or an adult to an adolescent one, only with a clinician's
/// recorded reason, which becomes the episode's population exception. Returns that reason and
/// the patient's population when an exception is needed.
fn admission_population(
    patient: &PatientDetails,
    program: &openiop_domain::programs::Program,
    a: &Admission,
    form: &AdmissionForm,
) -> Result<Option<(String, openiop_domain::programs::Population)>> {
    use openiop_domain::schedule::{check_admission_population, exception_reason, population_on};
    let reason = exception_reason(&form.population_exception_reason)?;
    if !check_admission_population(&patient.display_name(), patient.date_of_birth, program, a.admitted_on, reason.as_deref())? {
        return Ok(None);
    }
    Ok(reason.map(|r| (r, population_on(patient.date_of_birth, a.admitted_on))))
}

/// Writes an admission's population exception for its episode (who and when with the reason),
/// with its audit entry, in the admission's unit of work.
async fn record_admission_exception(
    w: &Work<'_>,
    ctx: &Ctx,
    exception: Option<(String, openiop_domain::programs::Population)>,
    e: &Episode,
) -> Result<()> {
    use openiop_domain::schedule::{PopulationException, PopulationExceptionId};
    let Some((reason, population)) = exception else { return Ok(()) };
    let x = PopulationException {
        id: PopulationExceptionId::new(),
        patient_id: e.patient_id,
        program_id: e.program_id,
        episode_id: Some(e.id),
        session_id: None,
        patient_population: population,
        reason,
        recorded_by: ctx.actor.user_id,
        recorded_at: w.now(),
    };
    let mut ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "population_exception", Some(e.patient_id)).detail(&format!(
        "episode={} program={} patient_population={}",
        e.id,
        x.program_id,
        x.patient_population.code()
    ));
    ev.resource_id = Some(x.id.to_string());
    w.db().record_population_exceptions(ctx.org(), &[x], &[ev]).await
}

pub async fn register(app: &App, ctx: &Ctx, site: SiteId, form: &PatientForm, allow_duplicate: bool) -> Result<Patient> {
    writing!(app, |w| {
        let site = crate::sites::site_in(&w, ctx, site, Action::ManageIntake).await?.id;
        let today = w.today_at(ctx.org(), site).await?;
        let p = PatientDetails::parse(form, today)?;
        let ev = event(ctx, Action::ManageIntake, AuditAction::Create, "patient", None);
        w.db().create_patient(ctx.org(), site, p, allow_duplicate, ev).await
    })
}

pub async fn update_patient(app: &App, ctx: &Ctx, id: PatientId, form: &PatientForm) -> Result<()> {
    writing!(app, |w| {
        let (patient, _) = patient_for(&w, ctx, id, Action::ManageIntake).await?;
        let today = w.today_at(ctx.org(), patient.site_id).await?;
        let p = PatientDetails::parse(form, today)?;
        w.db().update_patient(ctx.org(), id, p, event(ctx, Action::ManageIntake, AuditAction::Update, "patient", Some(id))).await
    })
}

/// Admits a patient to a program. A second open episode is refused inside the same unit of
/// work that would write it, so two people admitting the same patient at once get one episode.
pub async fn admit(app: &App, ctx: &Ctx, patient: PatientId, form: &AdmissionForm) -> Result<Episode> {
    writing!(app, |w| {
        let (p, _) = patient_for(&w, ctx, patient, Action::WriteClinicalRecord).await?;
        let today = w.today_at(ctx.org(), p.site_id).await?;
        let a = Admission::parse(form, today)?;
        let program = check_program(&w, ctx, &a).await?;
        let exception = admission_population(&p.details, &program, &a, form)?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "episode", Some(patient));
        let e = w.db().admit(ctx.org(), patient, a, ev).await?;
        record_admission_exception(&w, ctx, exception, &e).await?;
        Ok(e)
    })
}

/// An episode the actor may act on clinically.
pub async fn episode_for(w: &Work<'_>, ctx: &Ctx, id: EpisodeId, action: Action) -> Result<Episode> {
    ctx.actor.require(action)?;
    let e = w.found(ctx, action, RecordKind::Episode, &id.to_string(), w.db().episode(ctx.org(), id).await).await?;
    if !ctx.actor.scope.covers(Some(e.site_id), Some(e.program_id)) {
        let ev =
            event(ctx, action, AuditAction::AccessDenied, "episode", Some(e.patient_id)).outcome(Outcome::Denied).detail("out_of_scope");
        w.deny(ev);
        return Err(DomainError::NotFound("episode"));
    }
    Ok(e)
}

pub async fn read_episode(app: &App, ctx: &Ctx, id: EpisodeId) -> Result<Episode> {
    reading!(app, |w| {
        let e = episode_for(&w, ctx, id, Action::ViewClinicalRecord).await?;
        let mut ev = event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "episode", Some(e.patient_id));
        ev.resource_id = Some(id.to_string());
        w.db().audit(ev).await?;
        Ok(e)
    })
}

/// Changes one level line. The clinical line is the clinician's; the authorized line may also
/// be recorded by utilization reviewers.
pub async fn change_level(app: &App, ctx: &Ctx, id: EpisodeId, f: &LevelChangeForm) -> Result<Episode> {
    let (edition, code, from, reason) = (f.edition.as_str(), f.level_code.as_str(), f.from.as_str(), f.reason.as_str());
    let line = LevelLine::parse(&f.line)?;
    let action = if line == LevelLine::Authorized && ctx.actor.can(Action::ManageAuthorizations) {
        Action::ManageAuthorizations
    } else {
        Action::WriteClinicalRecord
    };
    writing!(app, |w| {
        let e = episode_for(&w, ctx, id, action).await?;
        let edition = if edition.trim().is_empty() { "ASAM3" } else { edition };
        let mut f = openiop_domain::error::Fields::new();
        let level = f.take("level_code", LevelOfCare::parse(edition, code));
        let from = f.take("from", openiop_domain::programs::parse_date("from", from));
        f.finish()?;
        let (Some(level), Some(from)) = (level, from) else { return Err(DomainError::internal("level change incomplete")) };
        let kind = e.current_level(line).map(|c| transition_kind(&c.level, &level)).unwrap_or(TransitionKind::Lateral);
        let change = LevelChange { line, level, from, reason: reason.trim().to_string() };
        let mut ev = event(ctx, action, AuditAction::Update, "episode_level", Some(e.patient_id)).detail(&format!(
            "{}:{}",
            line.code(),
            kind.code()
        ));
        ev.resource_id = Some(id.to_string());
        w.db().change_level(ctx.org(), id, change, ev).await
    })
}

pub async fn transfer_track(app: &App, ctx: &Ctx, id: EpisodeId, track: &str, risk_disposition: &str) -> Result<()> {
    writing!(app, |w| transfer_track_in(&w, ctx, id, track, risk_disposition).await)
}

/// Moves an episode to another track of a program in the caller's scope (inside a unit of work).
/// A track of another program moves the episode out of its program: as at discharge, refused
/// while a risk flag is open unless its disposition is recorded, and the new program's
/// population rule holds (an exception is recorded at an admission, not on a transfer).
pub(crate) async fn transfer_track_in(w: &Work<'_>, ctx: &Ctx, id: EpisodeId, track: &str, risk_disposition: &str) -> Result<()> {
    let e = episode_for(w, ctx, id, Action::WriteClinicalRecord).await?;
    let track: TrackId = track.parse().map_err(|_| DomainError::field("track_id", "required", "choose a track"))?;
    let unknown = || DomainError::field("track_id", "unknown_reference", "is not a track you can use");
    let t = w.db().track(ctx.org(), track).await.map_err(|_| unknown())?;
    let program = w.referenced_program(ctx, Action::WriteClinicalRecord, t.program_id).await.map_err(|_| unknown())?;
    if t.program_id != e.program_id {
        let patient = w.db().patient(ctx.org(), e.patient_id).await?;
        let today = w.today_at(ctx.org(), program.site_id).await?;
        let name = patient.details.display_name();
        if let Err(refused) =
            openiop_domain::schedule::check_admission_population(&name, patient.details.date_of_birth, &program, today, None)
        {
            let DomainError::Validation(v) = refused else { return Err(refused) };
            let why = v.first().map(|f| f.message.clone()).unwrap_or_default();
            let why = why.split(':').next().unwrap_or_default();
            return Err(DomainError::rule(
                "population_mismatch",
                format!("{why}: discharge and admit with a clinician's recorded exception, or choose a program for their age"),
            ));
        }
        close_open_risk(w, ctx, &e, risk_disposition).await?;
    }
    let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_track", Some(e.patient_id));
    w.db().transfer_track(ctx.org(), id, track, ev).await
}

pub async fn set_status(app: &App, ctx: &Ctx, id: EpisodeId, status: &str) -> Result<()> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, id, Action::WriteClinicalRecord).await?;
        let status = EpisodeStatus::parse(status)?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_status", Some(e.patient_id)).detail(status.code());
        w.db().set_episode_status(ctx.org(), id, status, ev).await
    })
}

pub async fn record_reassessment(app: &App, ctx: &Ctx, id: EpisodeId) -> Result<()> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, id, Action::WriteClinicalRecord).await?;
        e.require_open()?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_reassessment", Some(e.patient_id));
        w.db().set_episode_flags(ctx.org(), id, Some(false), None, ev).await
    })
}

pub async fn add_diagnoses(app: &App, ctx: &Ctx, id: EpisodeId, codes: &str) -> Result<()> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, id, Action::WriteClinicalRecord).await?;
        let d: Vec<Diagnosis> = parse_diagnoses(codes)?
            .into_iter()
            .map(|mut d| {
                d.primary = false;
                d
            })
            .collect();
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "diagnosis", Some(e.patient_id));
        w.db().add_diagnoses(ctx.org(), id, d, ev).await
    })
}

/// A patient leaves with no risk signal unanswered: with a risk flag open, the discharge is
/// refused (409) unless a clinician records the risk's disposition on it, which closes the flag
/// and its tasks in the same unit of work.
async fn close_open_risk(w: &Work<'_>, ctx: &Ctx, e: &Episode, disposition: &str) -> Result<()> {
    let Some((flag, _)) = w.db().open_risk_flag(ctx.org(), e.id, "suicide_risk").await? else { return Ok(()) };
    let disposition = disposition.trim();
    if disposition.is_empty() {
        return Err(DomainError::conflict(
            "open_risk_flag",
            "A suicide-risk flag is still open for this patient. Assess it first, or record the risk's disposition on this discharge.",
        ));
    }
    if !openiop_domain::measurement::care::may_assess_risk(&ctx.actor) {
        return Err(DomainError::Forbidden);
    }
    if disposition.chars().count() < 10 {
        return Err(DomainError::field("risk_disposition", "too_short", "say what was assessed and what follows (at least a sentence)"));
    }
    if disposition.chars().count() > 4000 {
        return Err(DomainError::field("risk_disposition", "too_long", "must be at most 4000 characters"));
    }
    let mut ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "risk_flag", Some(e.patient_id))
        .detail("closed_by_discharge_disposition");
    ev.resource_id = Some(flag.id.to_string());
    w.db().close_risk_flags_at_discharge(ctx.org(), e.id, ctx.actor.user_id, disposition, w.now(), ev).await?;
    Ok(())
}

pub async fn discharge(app: &App, ctx: &Ctx, id: EpisodeId, form: &DischargeForm) -> Result<Episode> {
    writing!(app, |w| {
        let e = episode_for(&w, ctx, id, Action::WriteClinicalRecord).await?;
        let today = w.today_at(ctx.org(), e.site_id).await?;
        let d = Discharge::parse(form, &e, today)?;
        close_open_risk(&w, ctx, &e, &form.risk_disposition).await?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_discharge", Some(e.patient_id));
        w.db().discharge(ctx.org(), id, d, ev).await
    })
}

pub async fn add_collateral(app: &App, ctx: &Ctx, patient: PatientId, form: &CollateralForm) -> Result<()> {
    writing!(app, |w| {
        patient_for(&w, ctx, patient, Action::ManageIntake).await?;
        let c = Collateral::parse(form)?;
        w.db()
            .add_collateral(ctx.org(), patient, c, event(ctx, Action::ManageIntake, AuditAction::Create, "collateral", Some(patient)))
            .await
    })
}

pub async fn add_coverage(app: &App, ctx: &Ctx, patient: PatientId, form: &CoverageForm) -> Result<()> {
    writing!(app, |w| {
        patient_for(&w, ctx, patient, Action::ManageIntake).await?;
        let c = Coverage::parse(form)?;
        w.db().add_coverage(ctx.org(), patient, c, event(ctx, Action::ManageIntake, AuditAction::Create, "coverage", Some(patient))).await
    })
}

fn consent_action(ctx: &Ctx) -> Action {
    if ctx.actor.can(Action::WriteClinicalRecord) { Action::WriteClinicalRecord } else { Action::ManageIntake }
}

/// Records a consent; returns it with today's date at the patient's site (its status depends on it).
pub async fn add_consent(app: &App, ctx: &Ctx, patient: PatientId, form: &ConsentForm) -> Result<(Consent, NaiveDate)> {
    let action = consent_action(ctx);
    writing!(app, |w| {
        let (p, _) = patient_for(&w, ctx, patient, action).await?;
        let today = w.today_at(ctx.org(), p.site_id).await?;
        let c = NewConsent::parse(form, today)?;
        let c = w.db().add_consent(ctx.org(), patient, c, event(ctx, action, AuditAction::Create, "consent", Some(patient))).await?;
        Ok((c, today))
    })
}

/// Revokes a consent from today on, everywhere: a family member it let take part is taken off
/// every future session they no longer have a consent in force for, in the same unit of work,
/// with the list of what changed kept and audited. Returns that list.
pub async fn revoke_consent(
    app: &App,
    ctx: &Ctx,
    patient: PatientId,
    id: ConsentId,
    by: &str,
    note: &str,
) -> Result<Vec<openiop_domain::schedule::FamilyRemoval>> {
    use openiop_domain::schedule::{FamilyRemoval, SessionFilter, family_without_consent};
    let action = consent_action(ctx);
    writing!(app, |w| {
        let (p, _) = patient_for(&w, ctx, patient, action).await?;
        let consents = w.db().consents(ctx.org(), patient).await?;
        let Some(consent) = consents.iter().find(|c| c.id == id) else {
            return Err(DomainError::NotFound("consent"));
        };
        let today = w.today_at(ctx.org(), p.site_id).await?;
        let mut ev = event(ctx, action, AuditAction::Update, "consent_revocation", Some(patient));
        ev.resource_id = Some(id.to_string());
        w.db().revoke_consent(ctx.org(), id, by, today, note, ev).await?;
        let Some(collateral) = consent.collateral_id else { return Ok(Vec::new()) };
        // The consents as they stand now, and the patient's future sessions with that family member.
        let now_consents = w.db().consents(ctx.org(), patient).await?;
        let filter = SessionFilter { patient: Some(patient), ..Default::default() };
        // Sessions are planned at most 13 weeks at a time; a year ahead covers every booking.
        let sessions = w.db().sessions_between(ctx.org(), w.now(), w.now() + chrono::Duration::days(400), &filter).await?;
        let removals: Vec<FamilyRemoval> = family_without_consent(&sessions, &now_consents, &p.collaterals, w.now())
            .into_iter()
            .filter(|(_, pid, c)| *pid == patient && *c == collateral)
            .map(|(session_id, patient_id, collateral_id)| FamilyRemoval {
                consent_id: id,
                session_id,
                patient_id,
                collateral_id,
                removed_by: ctx.actor.user_id,
                removed_at: w.now(),
            })
            .collect();
        if removals.is_empty() {
            return Ok(removals);
        }
        let list: Vec<String> = removals.iter().map(|r| r.session_id.to_string()).collect();
        let mut ev = event(ctx, action, AuditAction::Update, "session_family", Some(patient))
            .detail(&format!("consent_revoked collateral={collateral} removed_from_sessions={}", list.join(",")));
        ev.resource_id = Some(id.to_string());
        w.db().remove_family(ctx.org(), &removals, ev).await?;
        Ok(removals)
    })
}

/// The discharge summary, assembled from the episode's own data.
pub struct DischargeSummary {
    pub patient: Patient,
    pub episode: Episode,
    pub program_name: String,
    pub organization: String,
    pub site_name: String,
    pub clinical_levels: Vec<LevelSpan>,
    pub authorized_levels: Vec<LevelSpan>,
    pub hours: Option<(f64, f64)>,
    pub services: Vec<(String, u32, f64)>,
    pub scores: Vec<(String, String, String)>,
    /// Today at the site (the printed date).
    pub printed_on: NaiveDate,
}

pub async fn discharge_summary(app: &App, ctx: &Ctx, id: EpisodeId) -> Result<DischargeSummary> {
    ctx.actor.require(Action::ExportPatientData)?;
    reading!(app, |w| discharge_summary_in(&w, ctx, id).await)
}

async fn discharge_summary_in(w: &Work<'_>, ctx: &Ctx, id: EpisodeId) -> Result<DischargeSummary> {
    let e = episode_for(w, ctx, id, Action::ViewClinicalRecord).await?;
    if e.discharge.is_none() {
        return Err(DomainError::conflict("not_discharged", "the discharge summary is available once the episode is discharged"));
    }
    let patient = w.db().patient(ctx.org(), e.patient_id).await?;
    let program = w.db().program(ctx.org(), e.program_id).await?;
    let org = w.db().organization(ctx.org()).await?;
    let site = w.db().site(ctx.org(), e.site_id).await?;
    let mut ev = event(ctx, Action::ExportPatientData, AuditAction::Export, "discharge_summary", Some(e.patient_id));
    ev.resource_id = Some(id.to_string());
    w.db().audit(ev).await?;
    let by_line = |l: LevelLine| e.levels.iter().filter(|s| s.line == l).cloned().collect::<Vec<_>>();
    let (hours, services) = episode_hours_and_services(w, &e, &program, &site).await?;
    let scores = first_and_last_scores(w, &e).await?;
    Ok(DischargeSummary {
        clinical_levels: by_line(LevelLine::Clinical),
        authorized_levels: by_line(LevelLine::Authorized),
        patient,
        program_name: program.name,
        organization: org.name,
        site_name: site.name,
        hours,
        services,
        scores,
        printed_on: openiop_domain::clock::local_date(w.now(), site.time_zone.0),
        episode: e,
    })
}

/// Hours attended against hours required over the whole episode (week by week, as the ledger
/// counts them), and the services received by type: one load of the episode's sessions.
async fn episode_hours_and_services(
    w: &Work<'_>,
    e: &Episode,
    program: &openiop_domain::programs::Program,
    site: &openiop_domain::tenancy::Site,
) -> Result<(Option<(f64, f64)>, Vec<(String, u32, f64)>)> {
    use openiop_domain::schedule::{SessionFilter, Week, current_attendance, weekly_ledger};
    let org = e.organization_id;
    let tz = site.time_zone.0;
    let last = e.discharge.as_ref().map(|d| d.date).unwrap_or_else(|| openiop_domain::clock::local_date(w.now(), tz));
    let (from, _) = Week::of(e.admitted_on).bounds(tz);
    let (_, to) = Week::of(last).bounds(tz);
    let sessions = w.db().sessions_between(org, from, to, &SessionFilter { patient: Some(e.patient_id), ..Default::default() }).await?;
    if sessions.is_empty() {
        return Ok((None, Vec::new()));
    }
    let ids: Vec<_> = sessions.iter().map(|s| s.id).collect();
    let all = w.db().attendance(org, &ids).await?;
    let current = current_attendance(&all);
    let services = w.db().service_types(org).await?;
    let refs: Vec<_> = sessions.iter().collect();
    let (mut attended, mut required) = (0.0, 0.0);
    let mut week = Week::of(e.admitted_on);
    while week.monday() <= last {
        let l = weekly_ledger(e, program, week, &refs, &services, &current);
        attended += l.attended_hours;
        required += l.required_hours;
        week = week.next();
    }
    let mut by_type: Vec<(String, u32, f64)> = Vec::new();
    for a in current.iter().filter(|a| a.status.attended()) {
        let Some(s) = sessions.iter().find(|s| s.id == a.session_id) else { continue };
        let name = services.iter().find(|x| x.id == s.service_type_id).map(|x| x.name.clone()).unwrap_or_default();
        match by_type.iter_mut().find(|(n, _, _)| *n == name) {
            Some(row) => {
                row.1 += 1;
                row.2 += a.minutes as f64 / 60.0;
            }
            None => by_type.push((name, 1, a.minutes as f64 / 60.0)),
        }
    }
    by_type.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((Some((attended, required)), by_type))
}

/// First and last score of each instrument during the episode.
async fn first_and_last_scores(w: &Work<'_>, e: &Episode) -> Result<Vec<(String, String, String)>> {
    let mut results: Vec<_> = w.db().results(e.organization_id, e.patient_id).await?.into_iter().filter(|r| r.episode_id == e.id).collect();
    results.sort_by_key(|r| (r.administered_on, r.recorded_at));
    let show = |r: &openiop_domain::measurement::care::MeasurementResult| {
        let total = r.score.total.map(|t| format!("{t}")).unwrap_or_else(|| "—".into());
        match &r.score.band {
            Some(b) => format!("{total} ({b}) on {}", r.administered_on),
            None => format!("{total} on {}", r.administered_on),
        }
    };
    let mut names: Vec<String> = results.iter().map(|r| r.instrument_name.clone()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .filter_map(|n| {
            let mine: Vec<_> = results.iter().filter(|r| r.instrument_name == n).collect();
            Some((n, show(mine.first()?), show(mine.last()?)))
        })
        .collect())
}

/// The patient of an episode the caller may see (no read of its record is made).
pub async fn patient_of_episode(app: &App, ctx: &Ctx, id: EpisodeId) -> Result<PatientId> {
    reading!(app, |w| Ok(episode_for(&w, ctx, id, Action::ViewPatientDemographics).await?.patient_id))
}

/// A patient's consents, for someone who may see the patient.
pub async fn consents(app: &App, ctx: &Ctx, patient: PatientId) -> Result<Vec<Consent>> {
    reading!(app, |w| {
        patient_for(&w, ctx, patient, Action::ViewPatientDemographics).await?;
        w.db().consents(ctx.org(), patient).await
    })
}

/// A patient's name and MRN, for someone who may see the patient.
pub async fn summary(app: &App, ctx: &Ctx, patient: PatientId) -> Result<PatientSummary> {
    reading!(app, |w| {
        patient_for(&w, ctx, patient, Action::ViewPatientDemographics).await?;
        w.db().patient_summaries(ctx.org(), &[patient]).await?.pop().ok_or(DomainError::NotFound("patient"))
    })
}
