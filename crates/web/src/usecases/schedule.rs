//! Scheduling, attendance, the hours ledger, make-ups and calendars.
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::{ProgramId, SiteId, UserId};
use openiop_domain::patients::{Episode, EpisodeId, PatientId, PatientSummary};
use openiop_domain::programs::{CompactConfig, Program, Room, ServiceType, ServiceTypeId, StaffProfile, TrackId, parse_date, parse_time};
use openiop_domain::schedule::*;
use openiop_domain::tenancy::Site;
use openiop_domain::{DomainError, Result};
use serde::Deserialize;
use std::collections::HashMap;

fn event(ctx: &Ctx, action_for_role: Action, action: AuditAction, what: &str, patient: Option<PatientId>) -> AuditEvent {
    let mut e = AuditEvent::by(ctx, ctx.actor.acting_role(action_for_role), action, what, None);
    e.patient_id = patient.map(|p| p.to_string());
    e
}

/// Scheduling is done by front desk, clinicians and directors.
fn schedule_action(ctx: &Ctx) -> Action {
    if ctx.actor.can(Action::WriteClinicalRecord) { Action::WriteClinicalRecord } else { Action::ManageIntake }
}

fn tz_of(site: &Site) -> Tz {
    site.time_zone.0
}

/// What the rules need, loaded once for a batch of sessions.
struct Context {
    site: Site,
    services: Vec<ServiceType>,
    rooms: Vec<Room>,
    staff: Vec<StaffProfile>,
    programs: Vec<Program>,
    facts: Vec<PatientFacts>,
}

async fn context(state: &AppState, ctx: &Ctx, site_id: SiteId, patients: &[PatientId]) -> Result<Context> {
    let org = ctx.org();
    let site = state.store.site(org, site_id).await?;
    let services = state.store.service_types(org).await?;
    let rooms = state.store.rooms(org).await?;
    let staff = state.store.staff_profiles(org).await?;
    let programs = state.store.programs(org).await?;
    let facts = patient_facts(state, ctx, patients, &programs).await?;
    Ok(Context { site, services, rooms, staff, programs, facts })
}

async fn patient_facts(state: &AppState, ctx: &Ctx, patients: &[PatientId], programs: &[Program]) -> Result<Vec<PatientFacts>> {
    if patients.is_empty() {
        return Ok(vec![]);
    }
    let org = ctx.org();
    let rows = state.store.patients_with_consents(org, patients).await?;
    let open = state.store.open_episodes(org, None).await?;
    Ok(rows
        .into_iter()
        .map(|(p, consents)| {
            let population = open
                .iter()
                .find(|e| e.patient_id == p.id)
                .and_then(|e| programs.iter().find(|x| x.id == e.program_id))
                .map(|x| x.population);
            PatientFacts {
                patient_id: p.id,
                name: p.details.display_name(),
                home_state: p.details.state,
                population,
                availability: p.details.availability.clone(),
                delivery: p.details.delivery_preference,
                collaterals: p.collaterals,
                consents,
            }
        })
        .collect())
}

/// Checks one new session against the rules and the given live sessions (used when accepting
/// an optimizer proposal).
pub async fn check_new(state: &AppState, ctx: &Ctx, s: &Session, live: &[Session]) -> Result<()> {
    let c = context(state, ctx, s.site_id, &s.participants).await?;
    check(s, &c, live)
}

/// Runs the domain rules for one session against the live schedule (and a batch being created).
fn check(s: &Session, c: &Context, overlapping: &[Session]) -> Result<()> {
    let service = c
        .services
        .iter()
        .find(|x| x.id == s.service_type_id)
        .ok_or_else(|| DomainError::field("service_type_id", "unknown_reference", "is not a service of this organization"))?;
    let room = s.room_id.and_then(|r| c.rooms.iter().find(|x| x.id == r));
    if s.room_id.is_some() && room.is_none_or(|r| r.site_id != s.site_id) {
        return Err(DomainError::field("room_id", "unknown_reference", "is not a room at this site"));
    }
    let leaders: Vec<&StaffProfile> = s
        .leaders
        .iter()
        .map(|l| {
            c.staff
                .iter()
                .find(|x| x.user_id == *l)
                .ok_or_else(|| DomainError::rule("credential_not_permitted", "a leader has no staff profile or credentials"))
        })
        .collect::<Result<_>>()?;
    let patients: Vec<&PatientFacts> = s.participants.iter().filter_map(|p| c.facts.iter().find(|f| f.patient_id == *p)).collect();
    if patients.len() != s.participants.len() {
        return Err(DomainError::NotFound("patient"));
    }
    let program = s.program_id.and_then(|p| c.programs.iter().find(|x| x.id == p));
    let compacts = CompactConfig::default();
    let rules =
        ScheduleCheck { service, room, site_state: c.site.address.state, program, leaders, patients, overlapping, compacts: &compacts };
    check_session(s, &rules, tz_of(&c.site))
}

fn virtual_token() -> Result<Option<String>> {
    Ok(Some(crate::security::random_token()?))
}

/// Generates a track's sessions for a date range from its weekly template (RRULE weekly),
/// skipping closures and occurrences already generated; enrolled patients join each session.
/// Every session passes the rules, or nothing is written.
pub async fn generate(state: &AppState, ctx: &Ctx, track_id: TrackId, from: NaiveDate, to: NaiveDate) -> Result<usize> {
    let action = schedule_action(ctx);
    ctx.actor.require(action)?;
    if to < from || (to - from).num_days() > 92 {
        return Err(DomainError::field("to", "range_invalid", "give a range of at most 13 weeks that ends after it starts"));
    }
    let org = ctx.org();
    let track = state.store.track(org, track_id).await?;
    let program = state.store.program(org, track.program_id).await?;
    ctx.authorize(action, Some(program.site_id), Some(program.id), "track")?;
    let episodes: Vec<Episode> =
        state.store.open_episodes(org, Some(&[program.id])).await?.into_iter().filter(|e| e.track_id == Some(track_id)).collect();
    let patient_ids: Vec<PatientId> = episodes.iter().map(|e| e.patient_id).collect();
    let c = context(state, ctx, program.site_id, &patient_ids).await?;
    let tz = tz_of(&c.site);
    let closed: Vec<NaiveDate> = state.store.closures(org, program.site_id, from, to).await?.into_iter().map(|x| x.date).collect();
    let window_start = openiop_domain::schedule::local_to_utc(tz, from, chrono::NaiveTime::MIN);
    let window_end = openiop_domain::schedule::local_to_utc(tz, to + Duration::days(1), chrono::NaiveTime::MIN);
    let mut existing = state.store.sessions_between(org, window_start, window_end, &SessionFilter::default()).await?;
    let mut batch: Vec<Session> = Vec::new();
    for t in &track.template {
        for day in occurrences(t, from, to, &closed) {
            if existing.iter().any(|s| s.template_id == Some(t.id) && s.local_date == day) {
                continue;
            }
            let leader = t.leader.ok_or_else(|| {
                DomainError::rule(
                    "leader_missing",
                    format!(
                        "the {} {} template session has no leader yet",
                        openiop_domain::programs::short_weekday(t.weekday),
                        t.start.format("%H:%M")
                    ),
                )
            })?;
            let starts_at = local_to_utc(tz, day, t.start);
            let ends_at = local_to_utc(tz, day, t.end());
            let participants: Vec<PatientId> = episodes.iter().filter(|e| enrolled_on(e, track_id, day)).map(|e| e.patient_id).collect();
            let s = Session {
                id: SessionId::new(),
                organization_id: org,
                site_id: program.site_id,
                program_id: Some(program.id),
                track_id: Some(track_id),
                template_id: Some(t.id),
                service_type_id: t.service_type_id,
                starts_at,
                ends_at: if ends_at > starts_at { ends_at } else { starts_at + Duration::minutes(t.minutes as i64) },
                local_date: day,
                room_id: t.room_id,
                is_virtual: t.is_virtual,
                virtual_token: if t.is_virtual { virtual_token()? } else { None },
                leaders: vec![leader],
                participants,
                family: vec![],
                capacity: program.group_cap,
                topic: t.topic.clone(),
                modality: t.modality,
                status: SessionStatus::Scheduled,
                cancel_reason: String::new(),
            };
            check(&s, &c, &existing)?;
            existing.push(s.clone());
            batch.push(s);
        }
    }
    let ev = event(ctx, action, AuditAction::Create, "session", None).detail(&format!("generated={}", batch.len()));
    state.store.create_sessions(org, &batch, ev).await
}

/// A one-off session (individual, family, medication management, …) as typed.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct SessionForm {
    pub site_id: String,
    #[serde(default)]
    pub program_id: String,
    pub service_type_id: String,
    /// YYYY-MM-DD at the site.
    pub date: String,
    /// HH:MM at the site.
    pub start: String,
    #[serde(default)]
    pub minutes: String,
    #[serde(default)]
    pub room_id: String,
    #[serde(default)]
    pub is_virtual: bool,
    #[serde(default)]
    pub leader_ids: Vec<String>,
    #[serde(default)]
    pub patient_ids: Vec<String>,
    #[serde(default)]
    pub topic: String,
}

pub async fn create_session(state: &AppState, ctx: &Ctx, f: &SessionForm) -> Result<Session> {
    let action = schedule_action(ctx);
    ctx.actor.require(action)?;
    let org = ctx.org();
    let mut e = openiop_domain::error::Fields::new();
    let site_id = e.take("site_id", f.site_id.parse::<SiteId>().map_err(|_| DomainError::field("site_id", "required", "choose a site")));
    let program_id = if f.program_id.trim().is_empty() { None } else { e.take("program_id", f.program_id.parse::<ProgramId>()) };
    let service_id = e.take(
        "service_type_id",
        f.service_type_id.parse::<ServiceTypeId>().map_err(|_| DomainError::field("service_type_id", "required", "choose a service")),
    );
    let day = e.take("date", parse_date("date", &f.date));
    let start = e.take("start", parse_time("start", &f.start));
    let room = if f.room_id.trim().is_empty() { None } else { e.take("room_id", f.room_id.parse()) };
    let leaders: Vec<UserId> =
        f.leader_ids.iter().filter(|x| !x.is_empty()).filter_map(|x| e.take("leader_ids", x.parse::<UserId>())).collect();
    let patients: Vec<PatientId> =
        f.patient_ids.iter().filter(|x| !x.is_empty()).filter_map(|x| e.take("patient_ids", x.parse::<PatientId>())).collect();
    e.finish()?;
    let (Some(site_id), Some(service_id), Some(day), Some(start)) = (site_id, service_id, day, start) else {
        return Err(DomainError::internal("session form incomplete"));
    };
    ctx.authorize(action, Some(site_id), program_id, "site")?;
    let c = context(state, ctx, site_id, &patients).await?;
    let service = c
        .services
        .iter()
        .find(|x| x.id == service_id)
        .ok_or_else(|| DomainError::field("service_type_id", "unknown_reference", "is not a service of this organization"))?;
    let minutes = if f.minutes.trim().is_empty() {
        service.default_minutes
    } else {
        openiop_domain::programs::positive_int("minutes", &f.minutes, 5, 720)?
    };
    let tz = tz_of(&c.site);
    let starts_at = local_to_utc(tz, day, start);
    let s = Session {
        id: SessionId::new(),
        organization_id: org,
        site_id,
        program_id,
        track_id: None,
        template_id: None,
        service_type_id: service_id,
        starts_at,
        ends_at: starts_at + Duration::minutes(minutes as i64),
        local_date: day,
        room_id: if f.is_virtual { None } else { room },
        is_virtual: f.is_virtual,
        virtual_token: if f.is_virtual { virtual_token()? } else { None },
        leaders,
        participants: patients.clone(),
        family: vec![],
        capacity: program_id.and_then(|p| c.programs.iter().find(|x| x.id == p)).map(|p| p.group_cap).unwrap_or(DEFAULT_GROUP_CAP),
        topic: f.topic.trim().to_string(),
        modality: None,
        status: SessionStatus::Scheduled,
        cancel_reason: String::new(),
    };
    let overlapping = state.store.sessions_between(org, s.starts_at, s.ends_at, &SessionFilter::default()).await?;
    check(&s, &c, &overlapping)?;
    let ev = event(ctx, action, AuditAction::Create, "session", patients.first().copied());
    state.store.create_sessions(org, std::slice::from_ref(&s), ev).await?;
    Ok(s)
}

/// A session the actor may act on (out of scope: 404).
pub async fn session_for(state: &AppState, ctx: &Ctx, id: SessionId, action: Action) -> Result<Session> {
    ctx.actor.require(action)?;
    let s = state.store.scheduled_session(ctx.org(), id).await?;
    if !ctx.actor.scope.covers(Some(s.site_id), s.program_id) {
        return Err(DomainError::NotFound("session"));
    }
    Ok(s)
}

/// Changes who takes part (patients, family members) in one session, through the same rules.
pub async fn change_participants(
    state: &AppState,
    ctx: &Ctx,
    id: SessionId,
    add: &[PatientId],
    remove: &[PatientId],
    family: Option<(PatientId, openiop_domain::patients::CollateralId)>,
) -> Result<Session> {
    let action = schedule_action(ctx);
    let mut s = session_for(state, ctx, id, action).await?;
    if s.status != SessionStatus::Scheduled {
        return Err(DomainError::conflict("session_closed", "only scheduled sessions can change participants"));
    }
    for p in add {
        if !s.participants.contains(p) {
            s.participants.push(*p);
        }
    }
    s.participants.retain(|p| !remove.contains(p));
    s.family.retain(|(p, _)| !remove.contains(p));
    if let Some(f) = family
        && !s.family.contains(&f)
    {
        s.family.push(f);
    }
    let c = context(state, ctx, s.site_id, &s.participants).await?;
    let overlapping = state.store.sessions_between(ctx.org(), s.starts_at, s.ends_at, &SessionFilter::default()).await?;
    check(&s, &c, &overlapping)?;
    let mut ev =
        event(ctx, action, AuditAction::Update, "session_participants", add.first().or(remove.first()).copied().or(family.map(|f| f.0)));
    ev.resource_id = Some(id.to_string());
    state.store.save_session(ctx.org(), &s, ev).await?;
    Ok(s)
}

pub async fn cancel_session(state: &AppState, ctx: &Ctx, id: SessionId, reason: &str) -> Result<()> {
    let action = schedule_action(ctx);
    let mut s = session_for(state, ctx, id, action).await?;
    if reason.trim().is_empty() {
        return Err(DomainError::field("reason", "required", "say why the session is cancelled"));
    }
    s.status = SessionStatus::Cancelled;
    s.cancel_reason = reason.trim().to_string();
    let mut ev = event(ctx, action, AuditAction::Update, "session", None).detail("cancelled");
    ev.resource_id = Some(id.to_string());
    state.store.save_session(ctx.org(), &s, ev).await
}

/// Records attendance for a whole group in one transaction; any bad row refuses all of them.
pub async fn take_attendance(state: &AppState, ctx: &Ctx, id: SessionId, rows: &[AttendanceRow]) -> Result<usize> {
    let action = schedule_action(ctx);
    let mut s = session_for(state, ctx, id, action).await?;
    if s.status == SessionStatus::Cancelled {
        return Err(DomainError::conflict("session_cancelled", "attendance cannot be taken for a cancelled session"));
    }
    let now = state.now();
    if s.starts_at > now + Duration::minutes(30) {
        return Err(DomainError::conflict("session_not_started", "attendance is taken once the session has started"));
    }
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for row in rows.iter().filter(|r| !r.status.trim().is_empty()) {
        match Attendance::parse(row, &s, ctx.actor.user_id, now) {
            Ok(a) => records.push(a),
            Err(DomainError::Validation(f)) => errors.extend(f),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let audits: Vec<AuditEvent> = records
        .iter()
        .map(|a| {
            let mut e = event(ctx, action, AuditAction::Update, "attendance", Some(a.patient_id)).detail(a.status.code());
            e.resource_id = Some(id.to_string());
            e
        })
        .collect();
    state.store.record_attendance(ctx.org(), &records, &audits).await?;
    if s.status == SessionStatus::Scheduled && !records.is_empty() {
        s.status = SessionStatus::Held;
        let mut ev = event(ctx, action, AuditAction::Update, "session", None).detail("held");
        ev.resource_id = Some(id.to_string());
        state.store.save_session(ctx.org(), &s, ev).await?;
    }
    Ok(records.len())
}

/// Moves an episode into a track from a date: its patient joins that track's future sessions
/// (and leaves the old track's), without touching either series.
pub async fn join_track(state: &AppState, ctx: &Ctx, episode_id: EpisodeId, track_id: TrackId, from: NaiveDate) -> Result<usize> {
    let e = crate::usecases::patients::episode_for(state, ctx, episode_id, Action::WriteClinicalRecord).await?;
    e.require_open()?;
    let org = ctx.org();
    let program = state.store.program(org, state.store.track(org, track_id).await?.program_id).await?;
    let site = state.store.site(org, program.site_id).await?;
    let at = local_to_utc(tz_of(&site), from, chrono::NaiveTime::MIN);
    let mut changed = 0;
    // Joining must pass the rules on every future session of the track (seats, population,
    // conflicts); otherwise nothing changes and the refusal names the session.
    let future = state
        .store
        .sessions_between(org, at, at + Duration::days(120), &SessionFilter { track: Some(track_id), ..Default::default() })
        .await?;
    let mut people: Vec<PatientId> = future.iter().flat_map(|s| s.participants.iter().copied()).collect();
    people.push(e.patient_id);
    people.sort();
    people.dedup();
    let c = context(state, ctx, program.site_id, &people).await?;
    let others = state
        .store
        .sessions_between(org, at, at + Duration::days(120), &SessionFilter { patient: Some(e.patient_id), ..Default::default() })
        .await?;
    for s in future.iter().filter(|s| s.status == SessionStatus::Scheduled && !s.participants.contains(&e.patient_id)) {
        let mut with = s.clone();
        with.participants.push(e.patient_id);
        check(&with, &c, &others)?;
    }
    // Leaving the old track's future sessions and joining the new one's are separate steps of one move.
    if let Some(old) = e.track_id.filter(|t| *t != track_id) {
        changed += state
            .store
            .set_track_participation(
                org,
                old,
                e.patient_id,
                at,
                false,
                event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "track_participation", Some(e.patient_id)).detail("leave"),
            )
            .await?;
    }
    crate::usecases::patients::transfer_track(state, ctx, episode_id, &track_id.to_string()).await?;
    changed += state
        .store
        .set_track_participation(
            org,
            track_id,
            e.patient_id,
            at,
            true,
            event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "track_participation", Some(e.patient_id)).detail("join"),
        )
        .await?;
    Ok(changed)
}

/// The ledger of one episode for one week.
pub async fn episode_week(state: &AppState, ctx: &Ctx, episode_id: EpisodeId, week: Week) -> Result<WeekLedger> {
    let e = crate::usecases::patients::episode_for(state, ctx, episode_id, Action::ViewPatientDemographics).await?;
    let org = ctx.org();
    let program = state.store.program(org, e.program_id).await?;
    let site = state.store.site(org, e.site_id).await?;
    let tz = tz_of(&site);
    let (from, to) = week.bounds(tz);
    let sessions =
        state.store.sessions_between(org, from, to, &SessionFilter { patient: Some(e.patient_id), ..Default::default() }).await?;
    let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
    let att = state.store.attendance(org, &ids).await?;
    let services = state.store.service_types(org).await?;
    let mut ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Read, "hours_ledger", Some(e.patient_id));
    ev.resource_id = Some(episode_id.to_string());
    state.store.audit(ev).await?;
    let refs: Vec<&Session> = sessions.iter().collect();
    Ok(weekly_ledger(&e, &program, week, &refs, &services, &current_attendance(&att)))
}

/// A program's week: every active episode's ledger at once, in a fixed number of queries.
pub struct ProgramWeek {
    pub program: Program,
    pub site: Site,
    pub week: Week,
    pub rows: Vec<(Episode, PatientSummary, WeekLedger)>,
}

pub async fn program_week(state: &AppState, ctx: &Ctx, program_id: ProgramId, week: Week) -> Result<ProgramWeek> {
    ctx.actor.require(Action::ViewPatientDemographics)?;
    let program = state.store.program(ctx.org(), program_id).await?;
    ctx.authorize(Action::ViewPatientDemographics, Some(program.site_id), Some(program.id), "program")?;
    let pl = programs_ledgers(state, ctx, vec![program], week).await?.pop().ok_or(DomainError::NotFound("program"))?;
    let patient_ids: Vec<PatientId> = pl.rows.iter().map(|r| r.0.patient_id).collect();
    let names: HashMap<PatientId, PatientSummary> =
        state.store.patient_summaries(ctx.org(), &patient_ids).await?.into_iter().map(|n| (n.id, n)).collect();
    let mut rows: Vec<(Episode, PatientSummary, WeekLedger)> =
        pl.rows.into_iter().filter_map(|(e, l)| names.get(&e.patient_id).cloned().map(|n| (e, n, l))).collect();
    rows.sort_by(|a, b| a.2.status.cmp(&b.2.status).reverse().then(a.1.name.cmp(&b.1.name)));
    Ok(ProgramWeek { program: pl.program, site: pl.site, week, rows })
}

/// One program's ledgers for a week, without patient names (reports that count, not list).
pub struct ProgramLedgers {
    pub program: Program,
    pub site: Site,
    pub week: Week,
    /// Episodes open during the week, those furthest behind first.
    pub rows: Vec<(Episode, WeekLedger)>,
}

/// Every program in the actor's scope for one week (the organization's hours report, and the
/// home page's "falling short"): the same statements whatever the number of programs.
pub async fn visible_programs_week(state: &AppState, ctx: &Ctx, week: Week) -> Result<Vec<ProgramLedgers>> {
    ctx.actor.require(Action::ViewPatientDemographics)?;
    let programs = crate::usecases::programs::visible_programs(state, ctx).await?;
    programs_ledgers(state, ctx, programs, week).await
}

/// Above this many patients, a report reads the whole window of sessions instead of listing
/// the patients in the query (a program's week lists them; 160 sites' week does not).
const PATIENT_LIST_LIMIT: usize = 400;

/// The hours ledgers of programs the caller may already see, in a bounded number of statements
/// (sites, episodes, sessions, attendance, services, one audit entry) whatever their number.
async fn programs_ledgers(state: &AppState, ctx: &Ctx, programs: Vec<Program>, week: Week) -> Result<Vec<ProgramLedgers>> {
    if programs.is_empty() {
        return Ok(Vec::new());
    }
    let org = ctx.org();
    let sites = state.store.sites(org).await?;
    let monday = week.monday();
    let sunday = monday + Duration::days(6);
    let ids: Vec<ProgramId> = programs.iter().map(|p| p.id).collect();
    let episodes: Vec<Episode> = state
        .store
        .open_episodes(org, Some(&ids))
        .await?
        .into_iter()
        .filter(|e| e.admitted_on <= sunday && e.discharge.as_ref().is_none_or(|d| d.date >= monday))
        .collect();
    let patient_ids: Vec<PatientId> = episodes.iter().map(|e| e.patient_id).collect();
    // The week in every site's time zone: from the earliest Monday to the latest Sunday night.
    let bounds: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        programs.iter().filter_map(|p| sites.iter().find(|s| s.id == p.site_id)).map(|s| week.bounds(tz_of(s))).collect();
    let from = bounds.iter().map(|b| b.0).min().unwrap_or_else(|| week.bounds(chrono_tz::UTC).0);
    let to = bounds.iter().map(|b| b.1).max().unwrap_or_else(|| week.bounds(chrono_tz::UTC).1);
    // Only the sessions these patients are in (wherever they meet), not the organization's week.
    let filter = if patient_ids.len() <= PATIENT_LIST_LIMIT {
        SessionFilter { any_patient: Some(patient_ids), ..Default::default() }
    } else {
        SessionFilter::default()
    };
    let sessions = state.store.sessions_between(org, from, to, &filter).await?;
    let att = state.store.attendance_between(org, from, to, &filter).await?;
    let current = current_attendance(&att);
    let services = state.store.service_types(org).await?;
    // Each patient's sessions and attendance, so a ledger looks only at its own.
    let mut by_patient: HashMap<PatientId, (Vec<&Session>, Vec<&Attendance>)> = HashMap::new();
    for s in &sessions {
        for p in &s.participants {
            by_patient.entry(*p).or_default().0.push(s);
        }
    }
    for a in &current {
        by_patient.entry(a.patient_id).or_default().1.push(a);
    }
    let empty = (Vec::new(), Vec::new());
    let mut out: Vec<ProgramLedgers> = Vec::with_capacity(programs.len());
    let mut total = 0;
    for program in programs {
        let Some(site) = sites.iter().find(|s| s.id == program.site_id).cloned() else { continue };
        let mut rows: Vec<(Episode, WeekLedger)> = episodes
            .iter()
            .filter(|e| e.program_id == program.id)
            .map(|e| {
                let (own, own_att) = by_patient.get(&e.patient_id).unwrap_or(&empty);
                (e.clone(), weekly_ledger(e, &program, week, own, &services, own_att))
            })
            .collect();
        rows.sort_by(|a, b| a.1.status.cmp(&b.1.status).reverse());
        total += rows.len();
        out.push(ProgramLedgers { program, site, week, rows });
    }
    let ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Read, "program_hours", None)
        .detail(&format!("week={week} programs={} patients={total}", out.len()));
    state.store.audit(ev).await?;
    Ok(out)
}

/// Make-up suggestions for an episode's week, best first, with the sessions themselves.
pub async fn make_ups(state: &AppState, ctx: &Ctx, episode_id: EpisodeId, week: Week) -> Result<Vec<(Session, f64)>> {
    let e = crate::usecases::patients::episode_for(state, ctx, episode_id, Action::ViewPatientDemographics).await?;
    let org = ctx.org();
    let site = state.store.site(org, e.site_id).await?;
    let tz = tz_of(&site);
    let (from, to) = week.bounds(tz);
    let sessions = state.store.sessions_between(org, from, to, &SessionFilter { site: Some(e.site_id), ..Default::default() }).await?;
    let own_all = state.store.sessions_between(org, from, to, &SessionFilter { patient: Some(e.patient_id), ..Default::default() }).await?;
    let programs = state.store.programs(org).await?;
    let facts = patient_facts(state, ctx, &[e.patient_id], &programs).await?;
    let f = facts.first().ok_or(DomainError::NotFound("patient"))?;
    let services = state.store.service_types(org).await?;
    let rooms = state.store.rooms(org).await?;
    let candidates: Vec<&Session> = sessions.iter().collect();
    let own: Vec<&Session> = own_all.iter().collect();
    let after = state.now().max(from);
    let picks = make_up_suggestions(f, &candidates, &own, &Catalog { services: &services, programs: &programs, rooms: &rooms }, after, tz);
    Ok(picks.into_iter().filter_map(|m| sessions.iter().find(|s| s.id == m.session_id).map(|s| (s.clone(), m.hours))).collect())
}

/// Sessions for calendars (staff, room, track, program, patient) between two instants.
pub async fn calendar(state: &AppState, ctx: &Ctx, filter: &SessionFilter, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Session>> {
    ctx.actor.require(Action::ViewPrograms)?;
    // The actor's scope goes to the database with the filter: a site's week, not the organization's.
    let mut scoped = filter.clone();
    if let Scope::Units { sites, programs } = &ctx.actor.scope {
        scoped.units = Some((sites.clone(), programs.clone()));
    }
    let all = state.store.sessions_between(ctx.org(), from, to, &scoped).await?;
    let visible: Vec<Session> = all.into_iter().filter(|s| ctx.actor.scope.covers(Some(s.site_id), s.program_id)).collect();
    if filter.patient.is_some() || ctx.actor.can(Action::ViewPatientDemographics) {
        let ev =
            event(ctx, Action::ViewPrograms, AuditAction::Read, "schedule", filter.patient).detail(&format!("sessions={}", visible.len()));
        state.store.audit(ev).await?;
    }
    Ok(visible)
}

pub async fn add_closure(state: &AppState, ctx: &Ctx, site: SiteId, on: &str, reason: &str) -> Result<Closure> {
    ctx.authorize(Action::ManagePrograms, Some(site), None, "site")?;
    let d = parse_date("date", on)?;
    let reason = openiop_domain::tenancy::required_text("reason", reason, 200)?;
    state.store.add_closure(ctx.org(), site, d, &reason, event(ctx, Action::ManagePrograms, AuditAction::Create, "closure", None)).await
}

/// Creates a calendar subscription for a staff member (themselves) or a patient; returns the
/// secret token (shown once; only its hash is stored).
pub async fn create_feed(state: &AppState, ctx: &Ctx, owner: FeedOwner, owner_id: &str) -> Result<String> {
    match owner {
        FeedOwner::Staff => {
            if owner_id != ctx.actor.user_id.to_string() && !ctx.actor.can(Action::ManagePrograms) {
                return Err(DomainError::Forbidden);
            }
        }
        FeedOwner::Patient => {
            let pid: PatientId = owner_id.parse().map_err(|_| DomainError::NotFound("patient"))?;
            crate::usecases::patients::patient_for(state, ctx, pid, Action::ManageIntake).await?;
        }
    }
    let token = crate::security::random_token()?;
    let mut ev = event(ctx, Action::ViewPrograms, AuditAction::TokenCreated, "calendar_feed", None).detail(owner.code());
    if owner == FeedOwner::Patient {
        ev.patient_id = Some(owner_id.to_string());
    }
    state.store.create_feed(ctx.org(), owner, owner_id, &crate::security::sha256_hex(&token), ev).await?;
    Ok(token)
}

pub async fn revoke_feed(state: &AppState, ctx: &Ctx, id: FeedId) -> Result<()> {
    ctx.actor.require(Action::ViewPrograms)?;
    state.store.revoke_feed(ctx.org(), id, event(ctx, Action::ViewPrograms, AuditAction::TokenRevoked, "calendar_feed", None)).await
}
