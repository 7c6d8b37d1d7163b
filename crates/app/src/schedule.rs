//! Scheduling, attendance, the hours ledger, make-ups and calendars.
use crate::{App, Work};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::{ProgramId, SiteId, UserId};
use openiop_domain::patients::{Episode, EpisodeId, PatientId, PatientSummary};
use openiop_domain::programs::{CompactConfig, Program, Room, ServiceType, ServiceTypeId, StaffProfile, TrackId, parse_date, parse_time};
use openiop_domain::schedule::*;
use openiop_domain::store::RecordKind;
use openiop_domain::tenancy::Site;
use openiop_domain::{DomainError, Result};

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

async fn context(w: &Work<'_>, ctx: &Ctx, site_id: SiteId, patients: &[PatientId]) -> Result<Context> {
    let org = ctx.org();
    let site = w.db().site(org, site_id).await?;
    let services = w.db().service_types(org).await?;
    let rooms = w.db().rooms(org).await?;
    let staff = w.db().staff_profiles(org).await?;
    let programs = w.db().programs(org).await?;
    let facts = patient_facts(w, ctx, patients, &programs).await?;
    Ok(Context { site, services, rooms, staff, programs, facts })
}

async fn patient_facts(w: &Work<'_>, ctx: &Ctx, patients: &[PatientId], programs: &[Program]) -> Result<Vec<PatientFacts>> {
    if patients.is_empty() {
        return Ok(vec![]);
    }
    let org = ctx.org();
    let rows = w.db().patients_with_consents(org, patients).await?;
    let open: Vec<Episode> = w.db().episodes_of(org, patients).await?.into_iter().filter(|e| e.is_open()).collect();
    let exceptions = w.db().population_exceptions(org, patients).await?;
    // A rule's message may name a patient only to someone who may see them.
    let visible = crate::patients::visible(w, ctx, patients).await?;
    Ok(rows
        .into_iter()
        .map(|(p, consents)| {
            let episode = open.iter().find(|e| e.patient_id == p.id).cloned();
            let population = episode.as_ref().and_then(|e| programs.iter().find(|x| x.id == e.program_id)).map(|x| x.population);
            PatientFacts {
                date_of_birth: p.details.date_of_birth,
                episode,
                exceptions: exceptions.iter().filter(|x| x.patient_id == p.id).cloned().collect(),
                patient_id: p.id,
                name: if visible.contains(&p.id) { p.details.display_name() } else { "A patient".to_string() },
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

/// Every patient a request names must be one the caller may see: another site's (or another
/// organization's) patient is refused as if unknown, and the attempt audited.
async fn people_in_scope(w: &Work<'_>, ctx: &Ctx, action: Action, field: &str, named: &[PatientId]) -> Result<()> {
    let visible = crate::patients::visible(w, ctx, named).await?;
    let known: Vec<PatientId> = w.db().patient_summaries(ctx.org(), named).await?.into_iter().map(|p| p.id).collect();
    let mut f = openiop_domain::error::Fields::new();
    for p in named {
        if !(visible.contains(p) && known.contains(p)) {
            let why = if known.contains(p) { "out_of_scope" } else { "unknown_or_other_organization" };
            w.refuse(ctx, action, RecordKind::Patient, &p.to_string(), known.contains(p).then(|| p.to_string()), why);
            f.push(field, "unknown_reference", "is not a patient you can schedule");
        }
    }
    f.finish()
}

/// A booking's population exceptions: with a clinician's reason given, each patient whose
/// population is not the session's program's gets one for this session (added to the facts the
/// rules read); without one, nothing (and the rules refuse the booking, asking for it). Only
/// clinicians record exceptions.
fn booking_exceptions(ctx: &Ctx, s: &Session, c: &mut Context, reason: &str, now: DateTime<Utc>) -> Result<Vec<PopulationException>> {
    let Some(reason) = exception_reason(reason)? else { return Ok(Vec::new()) };
    let Some(program) = s.program_id.and_then(|p| c.programs.iter().find(|x| x.id == p)).cloned() else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for f in c.facts.iter_mut().filter(|f| s.participants.contains(&f.patient_id)) {
        if f.population_fits(&program, s.id, s.local_date) {
            continue;
        }
        if !ctx.actor.can(Action::WriteClinicalRecord) {
            return Err(DomainError::Forbidden);
        }
        let x = PopulationException {
            id: PopulationExceptionId::new(),
            patient_id: f.patient_id,
            program_id: program.id,
            episode_id: None,
            session_id: Some(s.id),
            patient_population: population_on(f.date_of_birth, s.local_date),
            reason: reason.clone(),
            recorded_by: ctx.actor.user_id,
            recorded_at: now,
        };
        f.exceptions.push(x.clone());
        out.push(x);
    }
    Ok(out)
}

/// Records a booking's population exceptions, each audited, once the session exists.
async fn record_exceptions(w: &Work<'_>, ctx: &Ctx, exceptions: &[PopulationException]) -> Result<()> {
    if exceptions.is_empty() {
        return Ok(());
    }
    let audits: Vec<AuditEvent> = exceptions
        .iter()
        .map(|x| {
            let mut e =
                event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "population_exception", Some(x.patient_id)).detail(&format!(
                    "session={} program={} patient_population={}",
                    x.session_id.map(|i| i.to_string()).unwrap_or_default(),
                    x.program_id,
                    x.patient_population.code()
                ));
            e.resource_id = Some(x.id.to_string());
            e
        })
        .collect();
    w.db().record_population_exceptions(ctx.org(), exceptions, &audits).await
}

/// Checks one new session against the rules and the given live sessions (used when accepting
/// an optimizer proposal).
pub async fn check_new(app: &App, ctx: &Ctx, s: &Session, live: &[Session]) -> Result<()> {
    reading!(app, |w| check_new_in(&w, ctx, s, live).await)
}

pub(crate) async fn check_new_in(w: &Work<'_>, ctx: &Ctx, s: &Session, live: &[Session]) -> Result<()> {
    let c = context(w, ctx, s.site_id, &s.participants).await?;
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
pub async fn generate(app: &App, ctx: &Ctx, track_id: TrackId, from: NaiveDate, to: NaiveDate) -> Result<usize> {
    writing!(app, |w| {
        let action = schedule_action(ctx);
        ctx.actor.require(action)?;
        if to < from || (to - from).num_days() > 92 {
            return Err(DomainError::field("to", "range_invalid", "give a range of at most 13 weeks that ends after it starts"));
        }
        let org = ctx.org();
        let track = w.db().track(org, track_id).await?;
        let program = w.db().program(org, track.program_id).await?;
        ctx.authorize(action, Some(program.site_id), Some(program.id), "track")?;
        let episodes: Vec<Episode> =
            w.db().open_episodes(org, Some(&[program.id])).await?.into_iter().filter(|e| e.track_id == Some(track_id)).collect();
        let patient_ids: Vec<PatientId> = episodes.iter().map(|e| e.patient_id).collect();
        let c = context(&w, ctx, program.site_id, &patient_ids).await?;
        let tz = tz_of(&c.site);
        let closed: Vec<NaiveDate> = w.db().closures(org, program.site_id, from, to).await?.into_iter().map(|x| x.date).collect();
        let window_start = openiop_domain::schedule::local_to_utc(tz, from, chrono::NaiveTime::MIN);
        let window_end = openiop_domain::schedule::local_to_utc(tz, to + Duration::days(1), chrono::NaiveTime::MIN);
        let mut existing = w.db().sessions_between(org, window_start, window_end, &SessionFilter::default()).await?;
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
                let participants: Vec<PatientId> =
                    episodes.iter().filter(|e| enrolled_on(e, track_id, day)).map(|e| e.patient_id).collect();
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
        w.db().create_sessions(org, &batch, ev).await
    })
}

pub async fn create_session(app: &App, ctx: &Ctx, f: &SessionForm) -> Result<Session> {
    writing!(app, |w| {
        let action = schedule_action(ctx);
        ctx.actor.require(action)?;
        let org = ctx.org();
        let mut e = openiop_domain::error::Fields::new();
        let site_id =
            e.take("site_id", f.site_id.parse::<SiteId>().map_err(|_| DomainError::field("site_id", "required", "choose a site")));
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
        crate::sites::site_in(&w, ctx, site_id, action).await?;
        if let Some(p) = program_id
            && w.referenced_program(ctx, action, p).await?.site_id != site_id
        {
            return Err(DomainError::field("program_id", "unknown_reference", "is not a program of this site"));
        }
        people_in_scope(&w, ctx, action, "patient_ids", &patients).await?;
        let mut c = context(&w, ctx, site_id, &patients).await?;
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
        let exceptions = booking_exceptions(ctx, &s, &mut c, &f.population_exception_reason, w.now())?;
        let overlapping = w.db().sessions_between(org, s.starts_at, s.ends_at, &SessionFilter::default()).await?;
        check(&s, &c, &overlapping)?;
        let ev = event(ctx, action, AuditAction::Create, "session", patients.first().copied());
        w.db().create_sessions(org, std::slice::from_ref(&s), ev).await?;
        record_exceptions(&w, ctx, &exceptions).await?;
        Ok(s)
    })
}

/// A session the actor may act on (out of scope: 404).
/// A session as the caller may see it: participants outside their scope left out.
pub async fn session_for(app: &App, ctx: &Ctx, id: SessionId, action: Action) -> Result<Session> {
    reading!(app, |w| {
        let mut s = vec![session_for_in(&w, ctx, id, action).await?];
        hide_others(&w, ctx, &mut s).await?;
        s.pop().ok_or(DomainError::NotFound("session"))
    })
}

/// Leaves out of sessions shown to the caller the participants (and their family) the caller
/// may not see: a session at their site can hold a patient of another site's program.
async fn hide_others(w: &Work<'_>, ctx: &Ctx, sessions: &mut [Session]) -> Result<()> {
    if ctx.actor.scope == Scope::Organization {
        return Ok(());
    }
    let mut all: Vec<PatientId> = sessions.iter().flat_map(|s| s.participants.iter().copied()).collect();
    all.sort();
    all.dedup();
    let visible = crate::patients::visible(w, ctx, &all).await?;
    for s in sessions {
        s.participants.retain(|p| visible.contains(p));
        s.family.retain(|(p, _)| visible.contains(p));
    }
    Ok(())
}

pub(crate) async fn session_for_in(w: &Work<'_>, ctx: &Ctx, id: SessionId, action: Action) -> Result<Session> {
    ctx.actor.require(action)?;
    let s = w.found(ctx, action, RecordKind::Session, &id.to_string(), w.db().scheduled_session(ctx.org(), id).await).await?;
    if !ctx.actor.scope.covers(Some(s.site_id), s.program_id) {
        w.refuse(ctx, action, RecordKind::Session, &id.to_string(), None, "out_of_scope");
        return Err(DomainError::NotFound("session"));
    }
    Ok(s)
}

/// Changes who takes part (patients, family members) in one session, through the same rules.
pub async fn change_participants(
    app: &App,
    ctx: &Ctx,
    id: SessionId,
    add: &[PatientId],
    remove: &[PatientId],
    family: Option<(PatientId, openiop_domain::patients::CollateralId)>,
    population_exception_reason: &str,
) -> Result<Session> {
    writing!(app, |w| {
        let action = schedule_action(ctx);
        let mut s = session_for_in(&w, ctx, id, action).await?;
        if s.status != SessionStatus::Scheduled {
            return Err(DomainError::conflict("session_closed", "only scheduled sessions can change participants"));
        }
        let named: Vec<PatientId> = add.iter().chain(remove).copied().chain(family.map(|f| f.0)).collect();
        people_in_scope(&w, ctx, action, "patient_id", &named).await?;
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
        let mut c = context(&w, ctx, s.site_id, &s.participants).await?;
        let exceptions = booking_exceptions(ctx, &s, &mut c, population_exception_reason, w.now())?;
        let overlapping = w.db().sessions_between(ctx.org(), s.starts_at, s.ends_at, &SessionFilter::default()).await?;
        check(&s, &c, &overlapping)?;
        let mut ev = event(
            ctx,
            action,
            AuditAction::Update,
            "session_participants",
            add.first().or(remove.first()).copied().or(family.map(|f| f.0)),
        );
        ev.resource_id = Some(id.to_string());
        w.db().save_session(ctx.org(), &s, ev).await?;
        record_exceptions(&w, ctx, &exceptions).await?;
        let mut shown = vec![s];
        hide_others(&w, ctx, &mut shown).await?;
        shown.pop().ok_or(DomainError::NotFound("session"))
    })
}

pub async fn cancel_session(app: &App, ctx: &Ctx, id: SessionId, reason: &str) -> Result<()> {
    writing!(app, |w| {
        let action = schedule_action(ctx);
        let mut s = session_for_in(&w, ctx, id, action).await?;
        if reason.trim().is_empty() {
            return Err(DomainError::field("reason", "required", "say why the session is cancelled"));
        }
        s.status = SessionStatus::Cancelled;
        s.cancel_reason = reason.trim().to_string();
        let mut ev = event(ctx, action, AuditAction::Update, "session", None).detail("cancelled");
        ev.resource_id = Some(id.to_string());
        w.db().save_session(ctx.org(), &s, ev).await
    })
}

/// Records attendance for a whole group in one transaction; any bad row refuses all of them.
/// Returns the records written (a partial attendance credited by default says so).
pub async fn take_attendance(app: &App, ctx: &Ctx, id: SessionId, rows: &[AttendanceRow]) -> Result<Vec<Attendance>> {
    writing!(app, |w| {
        let action = schedule_action(ctx);
        let mut s = session_for_in(&w, ctx, id, action).await?;
        if s.status == SessionStatus::Cancelled {
            return Err(DomainError::conflict("session_cancelled", "attendance cannot be taken for a cancelled session"));
        }
        let now = w.now();
        if s.starts_at > now + Duration::minutes(30) {
            return Err(DomainError::conflict("session_not_started", "attendance is taken once the session has started"));
        }
        // Attendance is taken for the participants the caller may see; the others are not theirs.
        let visible = crate::patients::visible(&w, ctx, &s.participants).await?;
        let credit = PartialCredit { missed_minutes: w.db().note_settings(ctx.org()).await?.partial_attendance_missed_minutes };
        // Attendance counts toward an episode only within it (admission through discharge).
        let episodes = w.db().episodes_of(ctx.org(), &visible).await?;
        let names = w.db().patient_summaries(ctx.org(), &visible).await?;
        let mut records = Vec::new();
        let mut errors = Vec::new();
        for row in rows.iter().filter(|r| !r.status.trim().is_empty()) {
            if row.patient_id.parse::<PatientId>().is_ok_and(|p| s.participants.contains(&p) && !visible.contains(&p)) {
                w.refuse(ctx, action, RecordKind::Patient, &row.patient_id, Some(row.patient_id.clone()), "out_of_scope");
                errors.push(openiop_domain::FieldError::new("patient_id", "not_a_participant", "is not a participant of this session"));
                continue;
            }
            let parsed = Attendance::parse_with(row, &s, ctx.actor.user_id, now, credit).and_then(|a| {
                let name = names.iter().find(|n| n.id == a.patient_id).map(|n| n.name.clone()).unwrap_or_else(|| "This patient".into());
                check_within_episode(&episodes, a.patient_id, &name, s.local_date).map(|()| a)
            });
            match parsed {
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
                let detail = if a.credited_by_default {
                    format!("{} minutes={} credited_by_default", a.status.code(), a.minutes)
                } else {
                    format!("{} minutes={}", a.status.code(), a.minutes)
                };
                let mut e = event(ctx, action, AuditAction::Update, "attendance", Some(a.patient_id)).detail(&detail);
                e.resource_id = Some(id.to_string());
                e
            })
            .collect();
        w.db().record_attendance(ctx.org(), &records, &audits).await?;
        if s.status == SessionStatus::Scheduled && !records.is_empty() {
            s.status = SessionStatus::Held;
            let mut ev = event(ctx, action, AuditAction::Update, "session", None).detail("held");
            ev.resource_id = Some(id.to_string());
            w.db().save_session(ctx.org(), &s, ev).await?;
        }
        Ok(records)
    })
}

/// Moves an episode into a track from a date: its patient joins that track's future sessions
/// (and leaves the old track's), without touching either series.
pub async fn join_track(app: &App, ctx: &Ctx, episode_id: EpisodeId, track_id: TrackId, from: NaiveDate) -> Result<usize> {
    writing!(app, |w| {
        let e = crate::patients::episode_for(&w, ctx, episode_id, Action::WriteClinicalRecord).await?;
        e.require_open()?;
        let org = ctx.org();
        let program = w.db().program(org, w.db().track(org, track_id).await?.program_id).await?;
        let site = w.db().site(org, program.site_id).await?;
        let at = local_to_utc(tz_of(&site), from, chrono::NaiveTime::MIN);
        let mut changed = 0;
        // Joining must pass the rules on every future session of the track (seats, population,
        // conflicts); otherwise nothing changes and the refusal names the session.
        let future = w
            .db()
            .sessions_between(org, at, at + Duration::days(120), &SessionFilter { track: Some(track_id), ..Default::default() })
            .await?;
        let mut people: Vec<PatientId> = future.iter().flat_map(|s| s.participants.iter().copied()).collect();
        people.push(e.patient_id);
        people.sort();
        people.dedup();
        let c = context(&w, ctx, program.site_id, &people).await?;
        let others = w
            .db()
            .sessions_between(org, at, at + Duration::days(120), &SessionFilter { patient: Some(e.patient_id), ..Default::default() })
            .await?;
        for s in future.iter().filter(|s| s.status == SessionStatus::Scheduled && !s.participants.contains(&e.patient_id)) {
            let mut with = s.clone();
            with.participants.push(e.patient_id);
            check(&with, &c, &others)?;
        }
        // Leaving the old track's future sessions and joining the new one's are separate steps of one move.
        if let Some(old) = e.track_id.filter(|t| *t != track_id) {
            changed += w
                .db()
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
        crate::patients::transfer_track_in(&w, ctx, episode_id, &track_id.to_string(), "").await?;
        changed += w
            .db()
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
    })
}

/// The ledger of one episode for one week.
pub async fn episode_week(app: &App, ctx: &Ctx, episode_id: EpisodeId, week: Week) -> Result<WeekLedger> {
    reading!(app, |w| {
        let e = crate::patients::episode_for(&w, ctx, episode_id, Action::ViewPatientDemographics).await?;
        let org = ctx.org();
        let program = w.db().program(org, e.program_id).await?;
        let site = w.db().site(org, e.site_id).await?;
        let tz = tz_of(&site);
        let (from, to) = week.bounds(tz);
        let sessions = w.db().sessions_between(org, from, to, &SessionFilter { patient: Some(e.patient_id), ..Default::default() }).await?;
        let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
        let att = w.db().attendance(org, &ids).await?;
        let services = w.db().service_types(org).await?;
        let mut ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Read, "hours_ledger", Some(e.patient_id));
        ev.resource_id = Some(episode_id.to_string());
        w.db().audit(ev).await?;
        let refs: Vec<&Session> = sessions.iter().collect();
        Ok(weekly_ledger(&e, &program, week, &refs, &services, &current_attendance(&att)))
    })
}

/// A program's week: every active episode's ledger at once, in a fixed number of queries.
pub struct ProgramWeek {
    pub program: Program,
    pub site: Site,
    pub week: Week,
    pub rows: Vec<(Episode, PatientSummary, WeekLedger)>,
}

pub async fn program_week(app: &App, ctx: &Ctx, program_id: ProgramId, week: Week) -> Result<ProgramWeek> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPatientDemographics)?;
        let program = w.db().program(ctx.org(), program_id).await?;
        ctx.authorize(Action::ViewPatientDemographics, Some(program.site_id), Some(program.id), "program")?;
        let pl = programs_ledgers(&w, ctx, vec![program], week).await?.pop().ok_or(DomainError::NotFound("program"))?;
        let patient_ids: Vec<PatientId> = pl.rows.iter().map(|r| r.0.patient_id).collect();
        let names: HashMap<PatientId, PatientSummary> =
            w.db().patient_summaries(ctx.org(), &patient_ids).await?.into_iter().map(|n| (n.id, n)).collect();
        let mut rows: Vec<(Episode, PatientSummary, WeekLedger)> =
            pl.rows.into_iter().filter_map(|(e, l)| names.get(&e.patient_id).cloned().map(|n| (e, n, l))).collect();
        rows.sort_by(|a, b| a.2.status.cmp(&b.2.status).reverse().then(a.1.name.cmp(&b.1.name)));
        Ok(ProgramWeek { program: pl.program, site: pl.site, week, rows })
    })
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
pub async fn visible_programs_week(app: &App, ctx: &Ctx, week: Week) -> Result<Vec<ProgramLedgers>> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPatientDemographics)?;
        let programs = crate::programs::visible_programs_in(&w, ctx).await?;
        programs_ledgers(&w, ctx, programs, week).await
    })
}

/// Above this many patients, a report reads the whole window of sessions instead of listing
/// the patients in the query (a program's week lists them; 160 sites' week does not).
const PATIENT_LIST_LIMIT: usize = 400;

/// The hours ledgers of programs the caller may already see, in a bounded number of statements
/// (sites, episodes, sessions, attendance, services, one audit entry) whatever their number.
async fn programs_ledgers(w: &Work<'_>, ctx: &Ctx, programs: Vec<Program>, week: Week) -> Result<Vec<ProgramLedgers>> {
    if programs.is_empty() {
        return Ok(Vec::new());
    }
    let org = ctx.org();
    let sites = w.db().sites(org).await?;
    let monday = week.monday();
    let sunday = monday + Duration::days(6);
    let ids: Vec<ProgramId> = programs.iter().map(|p| p.id).collect();
    let episodes: Vec<Episode> = w
        .db()
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
    let sessions = w.db().sessions_between(org, from, to, &filter).await?;
    let att = w.db().attendance_between(org, from, to, &filter).await?;
    let current = current_attendance(&att);
    let services = w.db().service_types(org).await?;
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
    w.db().audit(ev).await?;
    Ok(out)
}

/// Make-up suggestions for an episode's week, best first, with the sessions themselves.
/// Make-up suggestions for one episode's week, with where the episode is.
pub struct MakeUps {
    pub episode: Episode,
    pub site: Site,
    /// Sessions the patient could join, with the hours each would add, best first.
    pub options: Vec<(Session, f64)>,
}

pub async fn make_ups(app: &App, ctx: &Ctx, episode_id: EpisodeId, week: Week) -> Result<MakeUps> {
    reading!(app, |w| {
        let e = crate::patients::episode_for(&w, ctx, episode_id, Action::ViewPatientDemographics).await?;
        let org = ctx.org();
        let site = w.db().site(org, e.site_id).await?;
        let tz = tz_of(&site);
        let (from, to) = week.bounds(tz);
        let sessions = w.db().sessions_between(org, from, to, &SessionFilter { site: Some(e.site_id), ..Default::default() }).await?;
        let own_all = w.db().sessions_between(org, from, to, &SessionFilter { patient: Some(e.patient_id), ..Default::default() }).await?;
        let programs = w.db().programs(org).await?;
        let facts = patient_facts(&w, ctx, &[e.patient_id], &programs).await?;
        let f = facts.first().ok_or(DomainError::NotFound("patient"))?;
        let services = w.db().service_types(org).await?;
        let rooms = w.db().rooms(org).await?;
        let candidates: Vec<&Session> = sessions.iter().collect();
        let own: Vec<&Session> = own_all.iter().collect();
        let after = w.now().max(from);
        let picks =
            make_up_suggestions(f, &candidates, &own, &Catalog { services: &services, programs: &programs, rooms: &rooms }, after, tz);
        let options =
            picks.into_iter().filter_map(|m| sessions.iter().find(|s| s.id == m.session_id).map(|s| (s.clone(), m.hours))).collect();
        Ok(MakeUps { episode: e, site, options })
    })
}

/// Sessions for calendars (staff, room, track, program, patient) between two instants.
pub async fn calendar(app: &App, ctx: &Ctx, filter: &SessionFilter, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Session>> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPrograms)?;
        if let Some(p) = filter.patient {
            // A patient's week: only for someone who may see that patient.
            crate::patients::patient_for(&w, ctx, p, Action::ViewPatientDemographics).await?;
        }
        // The actor's scope goes to the database with the filter: a site's week, not the organization's.
        let mut scoped = filter.clone();
        if let Scope::Units { sites, programs } = &ctx.actor.scope {
            scoped.units = Some((sites.clone(), programs.clone()));
        }
        let all = w.db().sessions_between(ctx.org(), from, to, &scoped).await?;
        let mut visible: Vec<Session> = all.into_iter().filter(|s| ctx.actor.scope.covers(Some(s.site_id), s.program_id)).collect();
        hide_others(&w, ctx, &mut visible).await?;
        if filter.patient.is_some() || ctx.actor.can(Action::ViewPatientDemographics) {
            let ev = event(ctx, Action::ViewPrograms, AuditAction::Read, "schedule", filter.patient)
                .detail(&format!("sessions={}", visible.len()));
            w.db().audit(ev).await?;
        }
        Ok(visible)
    })
}

pub async fn add_closure(app: &App, ctx: &Ctx, site: SiteId, on: &str, reason: &str) -> Result<Closure> {
    writing!(app, |w| {
        let site = crate::sites::site_in(&w, ctx, site, Action::ManagePrograms).await?;
        let today = openiop_domain::clock::local_date(w.now(), site.time_zone.0);
        let d = parse_date("date", on)?;
        // A closure is planned within a few years of today, not at the end of time.
        if (d - today).num_days().abs() > 3 * 366 {
            return Err(DomainError::field("date", "date_out_of_range", "must be within three years of today"));
        }
        let reason = openiop_domain::tenancy::required_text("reason", reason, 200)?;
        w.db().add_closure(ctx.org(), site.id, d, &reason, event(ctx, Action::ManagePrograms, AuditAction::Create, "closure", None)).await
    })
}

/// Creates a calendar subscription for a staff member (themselves) or a patient; returns the
/// secret token (shown once; only its hash is stored).
pub async fn create_feed(app: &App, ctx: &Ctx, owner: FeedOwner, owner_id: &str) -> Result<String> {
    writing!(app, |w| {
        match owner {
            FeedOwner::Staff => {
                if owner_id != ctx.actor.user_id.to_string() {
                    ctx.actor.require(Action::ManagePrograms)?;
                    colleague_in_scope(&w, ctx, Action::ManagePrograms, owner_id).await?;
                }
            }
            FeedOwner::Patient => {
                let pid: PatientId = owner_id.parse().map_err(|_| DomainError::NotFound("patient"))?;
                crate::patients::patient_for(&w, ctx, pid, Action::ManageIntake).await?;
            }
        }
        let token = crate::security::random_token()?;
        let mut ev = event(ctx, Action::ViewPrograms, AuditAction::TokenCreated, "calendar_feed", None).detail(owner.code());
        if owner == FeedOwner::Patient {
            ev.patient_id = Some(owner_id.to_string());
        }
        w.db().create_feed(ctx.org(), owner, owner_id, &crate::security::sha256_hex(&token), ev).await?;
        Ok(token)
    })
}

/// A colleague whose calendar the caller may manage: a staff member of the caller's organization
/// whose every site and program is within the caller's scope (an organization-wide account only
/// for organization-wide callers). Anyone else answers 404, like an account that does not exist,
/// and the attempt is audited.
async fn colleague_in_scope(w: &Work<'_>, ctx: &Ctx, action: Action, id: &str) -> Result<()> {
    let unknown = || DomainError::NotFound("staff member");
    let uid: UserId = id.parse().map_err(|_| unknown())?;
    let colleague = match w.db().user(uid).await {
        Ok(u) => u,
        Err(DomainError::NotFound(_)) => return Err(unknown()),
        Err(e) => return Err(e),
    };
    let why = if colleague.organization_id != ctx.org() {
        "other_organization"
    } else {
        let covered = match (&ctx.actor.scope, &colleague.scope) {
            (Scope::Organization, _) => true,
            (_, Scope::Organization) => false,
            (mine, Scope::Units { sites, programs }) => {
                sites.iter().all(|s| mine.covers(Some(*s), None)) && programs.iter().all(|p| mine.covers(None, Some(*p)))
            }
        };
        if covered {
            return Ok(());
        }
        "out_of_scope"
    };
    let ev = AuditEvent::by(ctx, ctx.actor.acting_role(action), AuditAction::AccessDenied, "user", Some(id.to_string()))
        .outcome(openiop_domain::audit::Outcome::Denied)
        .detail(why);
    w.deny(ev);
    Err(unknown())
}

/// Revokes a calendar subscription: a staff member's own (or a colleague's within their scope,
/// for those who manage staff accounts), or a patient's by someone who may manage that
/// patient's intake. Anyone else is told the feed does not exist.
pub async fn revoke_feed(app: &App, ctx: &Ctx, id: FeedId) -> Result<()> {
    ctx.actor.require(Action::ViewPrograms)?;
    writing!(app, |w| {
        let f =
            w.db().calendar_feed(ctx.org(), id).await?.filter(|f| f.revoked_at.is_none()).ok_or(DomainError::NotFound("calendar feed"))?;
        let mut ev = event(ctx, Action::ViewPrograms, AuditAction::TokenRevoked, "calendar_feed", None);
        ev.resource_id = Some(id.to_string());
        match f.owner {
            FeedOwner::Staff => {
                if f.owner_id != ctx.actor.user_id.to_string() {
                    if !ctx.actor.can(Action::ManageUsers) {
                        w.deny(ev.clone().outcome(openiop_domain::audit::Outcome::Denied).detail("not_the_owner"));
                        return Err(DomainError::NotFound("calendar feed"));
                    }
                    colleague_in_scope(&w, ctx, Action::ManageUsers, &f.owner_id).await.map_err(|e| match e {
                        DomainError::NotFound(_) => DomainError::NotFound("calendar feed"),
                        other => other,
                    })?;
                }
            }
            FeedOwner::Patient => {
                let pid: PatientId = f.owner_id.parse().map_err(|_| DomainError::NotFound("calendar feed"))?;
                crate::patients::patient_for(&w, ctx, pid, Action::ManageIntake).await.map_err(|e| match e {
                    DomainError::NotFound(_) => DomainError::NotFound("calendar feed"),
                    other => other,
                })?;
                ev.patient_id = Some(f.owner_id.clone());
            }
        }
        w.db().revoke_feed(ctx.org(), id, ev).await
    })
}

/// A calendar subscription's iCalendar text, by the secret in its URL (no sign-in: the token
/// is the credential). Two weeks back and two months ahead of now; staff feeds say how many
/// attend, never who; a patient's feed holds only their own sessions.
pub async fn feed(app: &App, token: &str) -> Result<String> {
    reading!(app, |w| {
        let (org, f) = w.db().feed(&crate::security::sha256_hex(token)).await?.ok_or(DomainError::NotFound("calendar"))?;
        let now = w.now();
        let gone = |_| DomainError::NotFound("calendar");
        let filter = match f.owner {
            FeedOwner::Staff => SessionFilter { leader: Some(f.owner_id.parse().map_err(gone)?), ..Default::default() },
            FeedOwner::Patient => SessionFilter { patient: Some(f.owner_id.parse().map_err(gone)?), ..Default::default() },
        };
        let sessions = w.db().sessions_between(org, now - Duration::days(14), now + Duration::days(60), &filter).await?;
        let services = w.db().service_types(org).await?;
        let rooms = w.db().rooms(org).await?;
        let base = w.db().video_base_url(org).await?;
        let mut audit = AuditEvent::system("calendar_feed", AuditAction::Read, "calendar_feed", Some(f.id.to_string())).in_org(org);
        if f.owner == FeedOwner::Patient {
            audit.patient_id = Some(f.owner_id.clone());
        }
        w.db().audit(audit).await?;
        let events: Vec<openiop_domain::ical::Event> = sessions
            .iter()
            .map(|s| {
                let service =
                    services.iter().find(|x| x.id == s.service_type_id).map(|x| x.name.clone()).unwrap_or_else(|| "Session".into());
                let location = if s.is_virtual {
                    s.virtual_token
                        .as_deref()
                        .map(|t| openiop_domain::programs::virtual_room_link(base.as_deref().unwrap_or("https://video.invalid"), t))
                        .unwrap_or_default()
                } else {
                    s.room_id.and_then(|r| rooms.iter().find(|x| x.id == r)).map(|r| r.name.clone()).unwrap_or_default()
                };
                let description = match f.owner {
                    FeedOwner::Staff => format!("{} participant(s). {}", s.participants.len(), s.topic),
                    FeedOwner::Patient => s.topic.clone(),
                };
                openiop_domain::ical::Event {
                    uid: format!("{}@openiop", s.id),
                    start: s.starts_at,
                    end: s.ends_at,
                    summary: service,
                    location,
                    description,
                    cancelled: !s.is_live(),
                }
            })
            .collect();
        Ok(openiop_domain::ical::calendar("OpenIOP sessions", &events, now))
    })
}

/// A patient below or at risk of this week's required hours.
pub struct FallingShort {
    pub patient: PatientSummary,
    pub program: String,
    pub episode: Episode,
    pub ledger: WeekLedger,
}

/// Who is falling short this week, while there is still time to act: the programs in the
/// caller's scope (a clinician who is not a director sees their own primary patients and the
/// unassigned), furthest behind first, at most `limit`. The same statements for one program or
/// two hundred; names are read only for the rows returned.
pub async fn falling_short(app: &App, ctx: &Ctx, limit: usize) -> Result<(Week, Vec<FallingShort>)> {
    ctx.actor.require(Action::ViewClinicalRecord)?;
    reading!(app, |w| {
        let week = Week::of(crate::programs::home_today(&w, ctx).await?);
        let programs = crate::programs::visible_programs_in(&w, ctx).await?;
        let a = &ctx.actor;
        let own_only = a.has_role(openiop_domain::auth::Role::Clinician) && !a.has_role(openiop_domain::auth::Role::ClinicalDirector);
        let mut behind = Vec::new();
        for pw in programs_ledgers(&w, ctx, programs, week).await? {
            for (e, l) in pw.rows.into_iter().filter(|r| r.1.status != LedgerStatus::OnTrack) {
                if own_only && e.primary_clinician.is_some_and(|c| c != a.user_id) {
                    continue;
                }
                behind.push((pw.program.name.clone(), e, l));
            }
        }
        behind.sort_by(|x, y| x.2.status.cmp(&y.2.status).reverse());
        behind.truncate(limit);
        let ids: Vec<PatientId> = behind.iter().map(|(_, e, _)| e.patient_id).collect();
        let names = w.db().patient_summaries(ctx.org(), &ids).await?;
        let rows = behind
            .into_iter()
            .filter_map(|(program, episode, ledger)| {
                names.iter().find(|n| n.id == episode.patient_id).map(|n| FallingShort { patient: n.clone(), program, episode, ledger })
            })
            .collect();
        Ok((week, rows))
    })
}

/// A session's roster: who takes part, their current attendance, and where it meets.
pub struct Roster {
    pub session: Session,
    pub site: Site,
    /// The participants the caller may see.
    pub participants: Vec<PatientSummary>,
    /// How many others take part (patients of sites and programs outside the caller's scope).
    pub others: usize,
    pub attendance: Vec<Attendance>,
    pub video_base_url: Option<String>,
    /// The family members of the visible participants: who takes part and who could, by consent.
    pub family: Vec<FamilySeat>,
}

/// A visible participant's family member, as the session page offers them.
pub struct FamilySeat {
    pub patient_id: PatientId,
    pub patient_name: String,
    pub collateral: openiop_domain::patients::Collateral,
    pub taking_part: bool,
    /// A 42 CFR Part 2 consent covering them is in force on the session's date.
    pub consent_in_force: bool,
}

/// The session page's roster (audited as one read of the roster).
pub async fn roster(app: &App, ctx: &Ctx, id: SessionId) -> Result<Roster> {
    reading!(app, |w| {
        let session = session_for_in(&w, ctx, id, Action::ViewPatientDemographics).await?;
        let site = w.db().site(ctx.org(), session.site_id).await?;
        let visible = crate::patients::visible(&w, ctx, &session.participants).await?;
        let others = session.participants.len() - visible.len();
        let participants = w.db().patient_summaries(ctx.org(), &visible).await?;
        let attendance =
            w.db().attendance(ctx.org(), &[session.id]).await?.into_iter().filter(|a| visible.contains(&a.patient_id)).collect();
        let mut ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Read, "session_roster", None);
        ev.resource_id = Some(id.to_string());
        ev.detail = format!("patients={}", participants.len());
        w.db().audit(ev).await?;
        let video_base_url = w.db().video_base_url(ctx.org()).await?;
        let mut family = Vec::new();
        for (p, consents) in w.db().patients_with_consents(ctx.org(), &visible).await? {
            for c in &p.collaterals {
                family.push(FamilySeat {
                    patient_id: p.id,
                    patient_name: p.details.display_name(),
                    taking_part: session.family.contains(&(p.id, c.id)),
                    consent_in_force: openiop_domain::patients::require_consent_for(&consents, c, session.local_date).is_ok(),
                    collateral: c.clone(),
                });
            }
        }
        family.sort_by(|a, b| (&a.patient_name, &a.collateral.name).cmp(&(&b.patient_name, &b.collateral.name)));
        Ok(Roster { session, site, participants, others, attendance, video_base_url, family })
    })
}

/// The printable sign-in sheet of a session: names and MRNs (audited as an export).
pub async fn sign_in_sheet(app: &App, ctx: &Ctx, id: SessionId) -> Result<(Session, Site, Vec<PatientSummary>)> {
    reading!(app, |w| {
        let session = session_for_in(&w, ctx, id, Action::ViewPatientDemographics).await?;
        let site = w.db().site(ctx.org(), session.site_id).await?;
        let visible = crate::patients::visible(&w, ctx, &session.participants).await?;
        let names = w.db().patient_summaries(ctx.org(), &visible).await?;
        let mut ev = event(ctx, Action::ViewPatientDemographics, AuditAction::Export, "sign_in_sheet", None);
        ev.resource_id = Some(id.to_string());
        w.db().audit(ev).await?;
        Ok((session, site, names))
    })
}
