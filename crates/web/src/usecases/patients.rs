//! Referrals, registration, admission, level changes, discharge and consents: each use case
//! checks role and scope, writes its audit event, and calls the store.
use crate::state::AppState;
use chrono::NaiveDate;
use openiop_domain::audit::{AuditAction, AuditEvent, Outcome};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::SiteId;
use openiop_domain::patients::*;
use openiop_domain::programs::{LevelOfCare, TrackId};
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

/// Loads a patient the actor may see for `action`; out of scope answers 404 and is audited as
/// a denied access.
pub async fn patient_for(state: &AppState, ctx: &Ctx, id: PatientId, action: Action) -> Result<(Patient, Vec<Episode>)> {
    ctx.actor.require(action)?;
    let patient = state.store.patient(ctx.org(), id).await?;
    let episodes = state.store.episodes(ctx.org(), id).await?;
    if !in_scope(ctx, &patient, &episodes) {
        let ev = event(ctx, action, AuditAction::AccessDenied, "patient", Some(id)).outcome(Outcome::Denied).detail("out_of_scope");
        state.store.audit(ev).await?;
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
}

pub async fn chart(state: &AppState, ctx: &Ctx, id: PatientId, today: NaiveDate) -> Result<Chart> {
    let (patient, episodes) = patient_for(state, ctx, id, Action::ViewPatientDemographics).await?;
    let consents = state.store.consents(ctx.org(), id).await?;
    let clinical = ctx.actor.can(Action::ViewClinicalRecord);
    let ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Read, "chart", Some(id)).detail(if clinical {
        "clinical"
    } else {
        "demographics"
    });
    state.store.audit(ev).await?;
    let flags = chart_flags(episodes.iter().find(|e| e.is_open()), &consents, today);
    Ok(Chart { patient, episodes, consents, flags, clinical })
}

pub async fn search(state: &AppState, ctx: &Ctx, query: &str) -> Result<Vec<PatientSummary>> {
    ctx.actor.require(Action::ViewPatientDemographics)?;
    if query.trim().len() < 2 {
        return Ok(Vec::new());
    }
    let sites = scope_sites(ctx);
    let mut found = state.store.search_patients(ctx.org(), query, sites.as_deref()).await?;
    if let Scope::Units { programs, .. } = &ctx.actor.scope
        && !programs.is_empty()
    {
        // Program-scoped staff also find patients with an episode in their programs.
        let extra = state.store.search_patients(ctx.org(), query, None).await?;
        let open = state.store.open_episodes(ctx.org(), Some(programs)).await?;
        for p in extra {
            if open.iter().any(|e| e.patient_id == p.id) && !found.iter().any(|f| f.id == p.id) {
                found.push(p);
            }
        }
    }
    // The query itself may be PHI: it is not written to the log, only the count.
    let ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Search, "patient", None).detail(&format!("results={}", found.len()));
    state.store.audit(ev).await?;
    Ok(found)
}

pub async fn create_referral(state: &AppState, ctx: &Ctx, form: &ReferralForm, today: NaiveDate) -> Result<Referral> {
    ctx.actor.require(Action::ManageIntake)?;
    let r = NewReferral::parse(form, today)?;
    ctx.authorize(Action::ManageIntake, Some(r.site_id), r.program_id, "site")?;
    state.store.create_referral(ctx.org(), r, event(ctx, Action::ManageIntake, AuditAction::Create, "referral", None)).await
}

pub async fn referrals(state: &AppState, ctx: &Ctx) -> Result<Vec<Referral>> {
    ctx.actor.require(Action::ManageIntake)?;
    let all = state.store.referrals(ctx.org()).await?;
    let visible: Vec<Referral> = all.into_iter().filter(|r| ctx.actor.scope.covers(Some(r.site_id), r.program_id)).collect();
    let ev = event(ctx, Action::ManageIntake, AuditAction::Read, "referral_list", None).detail(&format!("results={}", visible.len()));
    state.store.audit(ev).await?;
    Ok(visible)
}

pub async fn referral(state: &AppState, ctx: &Ctx, id: ReferralId) -> Result<Referral> {
    ctx.actor.require(Action::ManageIntake)?;
    let r = state.store.referral(ctx.org(), id).await?;
    ctx.authorize(Action::ManageIntake, Some(r.site_id), r.program_id, "referral")?;
    let mut ev = event(ctx, Action::ManageIntake, AuditAction::Read, "referral", None);
    ev.resource_id = Some(id.to_string());
    state.store.audit(ev).await?;
    Ok(r)
}

pub async fn set_referral_status(state: &AppState, ctx: &Ctx, id: ReferralId, status: &str, reason: &str) -> Result<()> {
    let r = referral(state, ctx, id).await?;
    let status = ReferralStatus::parse(status)?;
    let ev = event(ctx, Action::ManageIntake, AuditAction::Update, "referral", r.patient_id).detail(status.code());
    state.store.set_referral_status(ctx.org(), id, status, reason, ev).await
}

/// Accepting a referral registers the referred patient and admits them from the details the
/// referral already holds: nothing is typed twice.
pub async fn accept_referral(
    state: &AppState,
    ctx: &Ctx,
    id: ReferralId,
    form: &AdmissionForm,
    today: NaiveDate,
) -> Result<(Patient, Episode)> {
    ctx.actor.require(Action::WriteClinicalRecord)?;
    let r = referral(state, ctx, id).await?;
    let a = Admission::parse(form, today)?;
    check_program(state, ctx, &a).await?;
    let _ = r;
    state
        .store
        .accept_referral(
            ctx.org(),
            id,
            a,
            event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "episode", None).detail("referral_accepted"),
        )
        .await
}

async fn check_program(state: &AppState, ctx: &Ctx, a: &Admission) -> Result<()> {
    let p = state
        .store
        .program(ctx.org(), a.program_id)
        .await
        .map_err(|_| DomainError::field("program_id", "unknown_reference", "is not a program of this organization"))?;
    ctx.authorize(Action::WriteClinicalRecord, Some(p.site_id), Some(p.id), "program")
}

pub async fn register(
    state: &AppState,
    ctx: &Ctx,
    site: SiteId,
    form: &PatientForm,
    allow_duplicate: bool,
    today: NaiveDate,
) -> Result<Patient> {
    ctx.authorize(Action::ManageIntake, Some(site), None, "site")?;
    state.store.site(ctx.org(), site).await?;
    let p = PatientDetails::parse(form, today)?;
    state
        .store
        .create_patient(ctx.org(), site, p, allow_duplicate, event(ctx, Action::ManageIntake, AuditAction::Create, "patient", None))
        .await
}

pub async fn update_patient(state: &AppState, ctx: &Ctx, id: PatientId, form: &PatientForm, today: NaiveDate) -> Result<()> {
    patient_for(state, ctx, id, Action::ManageIntake).await?;
    let p = PatientDetails::parse(form, today)?;
    state.store.update_patient(ctx.org(), id, p, event(ctx, Action::ManageIntake, AuditAction::Update, "patient", Some(id))).await
}

pub async fn admit(state: &AppState, ctx: &Ctx, patient: PatientId, form: &AdmissionForm, today: NaiveDate) -> Result<Episode> {
    patient_for(state, ctx, patient, Action::WriteClinicalRecord).await?;
    let a = Admission::parse(form, today)?;
    check_program(state, ctx, &a).await?;
    state.store.admit(ctx.org(), patient, a, event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "episode", Some(patient))).await
}

/// An episode the actor may act on clinically.
pub async fn episode_for(state: &AppState, ctx: &Ctx, id: EpisodeId, action: Action) -> Result<Episode> {
    ctx.actor.require(action)?;
    let e = state.store.episode(ctx.org(), id).await?;
    if !ctx.actor.scope.covers(Some(e.site_id), Some(e.program_id)) {
        let ev =
            event(ctx, action, AuditAction::AccessDenied, "episode", Some(e.patient_id)).outcome(Outcome::Denied).detail("out_of_scope");
        state.store.audit(ev).await?;
        return Err(DomainError::NotFound("episode"));
    }
    Ok(e)
}

pub async fn read_episode(state: &AppState, ctx: &Ctx, id: EpisodeId) -> Result<Episode> {
    let e = episode_for(state, ctx, id, Action::ViewClinicalRecord).await?;
    let mut ev = event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "episode", Some(e.patient_id));
    ev.resource_id = Some(id.to_string());
    state.store.audit(ev).await?;
    Ok(e)
}

/// Changes one level line. The clinical line is the clinician's; the authorized line may also
/// be recorded by utilization reviewers.
pub async fn change_level(state: &AppState, ctx: &Ctx, id: EpisodeId, f: &LevelChangeForm) -> Result<Episode> {
    let (edition, code, from, reason) = (f.edition.as_str(), f.level_code.as_str(), f.from.as_str(), f.reason.as_str());
    let line = LevelLine::parse(&f.line)?;
    let action = if line == LevelLine::Authorized && ctx.actor.can(Action::ManageAuthorizations) {
        Action::ManageAuthorizations
    } else {
        Action::WriteClinicalRecord
    };
    let e = episode_for(state, ctx, id, action).await?;
    let edition = if edition.trim().is_empty() { "ASAM3" } else { edition };
    let mut f = openiop_domain::error::Fields::new();
    let level = f.take("level_code", LevelOfCare::parse(edition, code));
    let from = f.take("from", openiop_domain::programs::parse_date("from", from));
    f.finish()?;
    let (Some(level), Some(from)) = (level, from) else { return Err(DomainError::internal("level change incomplete")) };
    let kind = e.current_level(line).map(|c| transition_kind(&c.level, &level)).unwrap_or(TransitionKind::Lateral);
    let change = LevelChange { line, level, from, reason: reason.trim().to_string() };
    let mut ev =
        event(ctx, action, AuditAction::Update, "episode_level", Some(e.patient_id)).detail(&format!("{}:{}", line.code(), kind.code()));
    ev.resource_id = Some(id.to_string());
    state.store.change_level(ctx.org(), id, change, ev).await
}

pub async fn transfer_track(state: &AppState, ctx: &Ctx, id: EpisodeId, track: &str) -> Result<()> {
    let e = episode_for(state, ctx, id, Action::WriteClinicalRecord).await?;
    let track: TrackId = track.parse().map_err(|_| DomainError::field("track_id", "required", "choose a track"))?;
    let t = state
        .store
        .track(ctx.org(), track)
        .await
        .map_err(|_| DomainError::field("track_id", "unknown_reference", "is not a track of this organization"))?;
    let p = state.store.program(ctx.org(), t.program_id).await?;
    ctx.authorize(Action::WriteClinicalRecord, Some(p.site_id), Some(p.id), "track")?;
    state
        .store
        .transfer_track(
            ctx.org(),
            id,
            track,
            event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_track", Some(e.patient_id)),
        )
        .await
}

pub async fn set_status(state: &AppState, ctx: &Ctx, id: EpisodeId, status: &str) -> Result<()> {
    let e = episode_for(state, ctx, id, Action::WriteClinicalRecord).await?;
    let status = EpisodeStatus::parse(status)?;
    state
        .store
        .set_episode_status(
            ctx.org(),
            id,
            status,
            event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_status", Some(e.patient_id)).detail(status.code()),
        )
        .await
}

pub async fn record_reassessment(state: &AppState, ctx: &Ctx, id: EpisodeId) -> Result<()> {
    let e = episode_for(state, ctx, id, Action::WriteClinicalRecord).await?;
    e.require_open()?;
    state
        .store
        .set_episode_flags(
            ctx.org(),
            id,
            Some(false),
            None,
            event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_reassessment", Some(e.patient_id)),
        )
        .await
}

pub async fn add_diagnoses(state: &AppState, ctx: &Ctx, id: EpisodeId, codes: &str) -> Result<()> {
    let e = episode_for(state, ctx, id, Action::WriteClinicalRecord).await?;
    let d: Vec<Diagnosis> = parse_diagnoses(codes)?
        .into_iter()
        .map(|mut d| {
            d.primary = false;
            d
        })
        .collect();
    state
        .store
        .add_diagnoses(ctx.org(), id, d, event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "diagnosis", Some(e.patient_id)))
        .await
}

pub async fn discharge(state: &AppState, ctx: &Ctx, id: EpisodeId, form: &DischargeForm, today: NaiveDate) -> Result<Episode> {
    let e = episode_for(state, ctx, id, Action::WriteClinicalRecord).await?;
    let d = Discharge::parse(form, &e, today)?;
    state
        .store
        .discharge(ctx.org(), id, d, event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "episode_discharge", Some(e.patient_id)))
        .await
}

pub async fn add_collateral(state: &AppState, ctx: &Ctx, patient: PatientId, form: &CollateralForm) -> Result<()> {
    patient_for(state, ctx, patient, Action::ManageIntake).await?;
    let c = Collateral::parse(form)?;
    state
        .store
        .add_collateral(ctx.org(), patient, c, event(ctx, Action::ManageIntake, AuditAction::Create, "collateral", Some(patient)))
        .await
}

pub async fn add_coverage(state: &AppState, ctx: &Ctx, patient: PatientId, form: &CoverageForm) -> Result<()> {
    patient_for(state, ctx, patient, Action::ManageIntake).await?;
    let c = Coverage::parse(form)?;
    state.store.add_coverage(ctx.org(), patient, c, event(ctx, Action::ManageIntake, AuditAction::Create, "coverage", Some(patient))).await
}

fn consent_action(ctx: &Ctx) -> Action {
    if ctx.actor.can(Action::WriteClinicalRecord) { Action::WriteClinicalRecord } else { Action::ManageIntake }
}

pub async fn add_consent(state: &AppState, ctx: &Ctx, patient: PatientId, form: &ConsentForm, today: NaiveDate) -> Result<Consent> {
    let action = consent_action(ctx);
    patient_for(state, ctx, patient, action).await?;
    let c = NewConsent::parse(form, today)?;
    state.store.add_consent(ctx.org(), patient, c, event(ctx, action, AuditAction::Create, "consent", Some(patient))).await
}

pub async fn revoke_consent(
    state: &AppState,
    ctx: &Ctx,
    patient: PatientId,
    id: ConsentId,
    by: &str,
    note: &str,
    today: NaiveDate,
) -> Result<()> {
    let action = consent_action(ctx);
    patient_for(state, ctx, patient, action).await?;
    let consents = state.store.consents(ctx.org(), patient).await?;
    if !consents.iter().any(|c| c.id == id) {
        return Err(DomainError::NotFound("consent"));
    }
    let mut ev = event(ctx, action, AuditAction::Update, "consent_revocation", Some(patient));
    ev.resource_id = Some(id.to_string());
    state.store.revoke_consent(ctx.org(), id, by, today, note, ev).await
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
}

pub async fn discharge_summary(state: &AppState, ctx: &Ctx, id: EpisodeId) -> Result<DischargeSummary> {
    ctx.actor.require(Action::ExportPatientData)?;
    let e = episode_for(state, ctx, id, Action::ViewClinicalRecord).await?;
    if e.discharge.is_none() {
        return Err(DomainError::conflict("not_discharged", "the discharge summary is available once the episode is discharged"));
    }
    let patient = state.store.patient(ctx.org(), e.patient_id).await?;
    let program = state.store.program(ctx.org(), e.program_id).await?;
    let org = state.store.organization(ctx.org()).await?;
    let site = state.store.site(ctx.org(), e.site_id).await?;
    let mut ev = event(ctx, Action::ExportPatientData, AuditAction::Export, "discharge_summary", Some(e.patient_id));
    ev.resource_id = Some(id.to_string());
    state.store.audit(ev).await?;
    let by_line = |l: LevelLine| e.levels.iter().filter(|s| s.line == l).cloned().collect::<Vec<_>>();
    let (hours, services) = episode_hours_and_services(state, &e, &program, &site).await?;
    let scores = first_and_last_scores(state, &e).await?;
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
        episode: e,
    })
}

/// Hours attended against hours required over the whole episode (week by week, as the ledger
/// counts them), and the services received by type: one load of the episode's sessions.
async fn episode_hours_and_services(
    state: &AppState,
    e: &Episode,
    program: &openiop_domain::programs::Program,
    site: &openiop_domain::tenancy::Site,
) -> Result<(Option<(f64, f64)>, Vec<(String, u32, f64)>)> {
    use openiop_domain::schedule::{SessionFilter, Week, current_attendance, weekly_ledger};
    let org = e.organization_id;
    let tz = site.time_zone.0;
    let last = e.discharge.as_ref().map(|d| d.date).unwrap_or_else(|| state.today());
    let (from, _) = Week::of(e.admitted_on).bounds(tz);
    let (_, to) = Week::of(last).bounds(tz);
    let sessions =
        state.store.sessions_between(org, from, to, &SessionFilter { patient: Some(e.patient_id), ..Default::default() }).await?;
    if sessions.is_empty() {
        return Ok((None, Vec::new()));
    }
    let ids: Vec<_> = sessions.iter().map(|s| s.id).collect();
    let all = state.store.attendance(org, &ids).await?;
    let current = current_attendance(&all);
    let services = state.store.service_types(org).await?;
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
async fn first_and_last_scores(state: &AppState, e: &Episode) -> Result<Vec<(String, String, String)>> {
    let mut results: Vec<_> =
        state.store.results(e.organization_id, e.patient_id).await?.into_iter().filter(|r| r.episode_id == e.id).collect();
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
