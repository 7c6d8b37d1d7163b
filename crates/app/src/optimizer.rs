//! The weekly schedule optimizer in the app: build an `iop-week/1` instance from live data for a
//! site and a week, propose a schedule beside the current one with each patient's hours and the
//! optimizer's explanations, and accept it through the normal validated path in one transaction.
//! Re-planning keeps as much of the current week as possible.
use crate::{App, Work};
use chrono::{Datelike, Duration, NaiveTime, Weekday};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx};
use openiop_domain::ids::{SiteId, UserId};
use openiop_domain::patients::{DeliveryPreference, EpisodeStatus, LevelLine, PatientId, require_consent_for};
use openiop_domain::programs::{CredentialType, Population, ServiceType, WeeklyWindow};
use openiop_domain::schedule::{self, Session, SessionFilter, SessionId, SessionStatus, Week};
use openiop_domain::tenancy::Site;
use openiop_domain::{DomainError, Result};
use openiop_scheduler::model::{self as m, Instance};
use openiop_scheduler::{Explanation, SessionType, Solution, SolveOptions};
use std::collections::BTreeMap;

/// Iterations per search lane: fixed, so that the same data gives the same proposal when it is
/// accepted (the optimizer is deterministic for a seed and a work budget).
const ITERATIONS: u64 = 3000;

fn sched_credential(c: CredentialType) -> Option<&'static str> {
    use CredentialType as C;
    Some(match c {
        C::Lcsw => "LCSW",
        C::Lpc | C::Lmhc | C::Psychologist => "LPC",
        C::Lmft => "LMFT",
        C::LpcAssociate | C::Lmsw | C::LmftAssociate => "LPC-Associate",
        C::Lcdc | C::Cadc => "CADC",
        C::Md | C::Do => "MD",
        C::Np | C::Pa => "NP",
        C::Rn | C::PeerSpecialist => return None,
    })
}

fn service_code(t: SessionType) -> &'static str {
    match t {
        SessionType::ProcessGroup => "group_therapy",
        SessionType::PsychoedGroup => "psychoeducation_group",
        SessionType::Individual => "individual_therapy",
        SessionType::Family => "family_therapy",
        SessionType::MedMgmt => "medication_management",
    }
}

fn session_type(code: &str) -> Option<SessionType> {
    Some(match code {
        "group_therapy" => SessionType::ProcessGroup,
        "psychoeducation_group" => SessionType::PsychoedGroup,
        "individual_therapy" => SessionType::Individual,
        "family_therapy" => SessionType::Family,
        "medication_management" => SessionType::MedMgmt,
        _ => return None,
    })
}

/// Slot `s` starts at 07:00 + 30 min × s (iop-week/1 §1); days 0..5 are Monday..Saturday.
fn slot_of(t: NaiveTime) -> i64 {
    (t.signed_duration_since(NaiveTime::from_hms_opt(7, 0, 0).unwrap_or(NaiveTime::MIN)).num_minutes()) / 30
}

fn time_of(slot: i64) -> NaiveTime {
    NaiveTime::from_hms_opt(7, 0, 0).unwrap_or(NaiveTime::MIN) + Duration::minutes(30 * slot)
}

fn windows(ws: &[WeeklyWindow], skip: &[Weekday]) -> Vec<m::Window> {
    ws.iter()
        .filter(|w| w.weekday != Weekday::Sun && !skip.contains(&w.weekday))
        .filter_map(|w| {
            let from = ((w.from.signed_duration_since(time_of(0)).num_minutes() + 29) / 30).clamp(0, 29);
            let to = slot_of(w.to).clamp(0, 29);
            (to > from).then_some([w.weekday.num_days_from_monday() as i64, from, to])
        })
        .collect()
}

/// A clinician out on some weekdays (re-planning after a change).
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub clinician: UserId,
    pub days: Vec<Weekday>,
}

/// What the optimizer proposes, beside what is scheduled now.
pub struct Proposal {
    pub site: Site,
    pub week: Week,
    pub instance: Instance,
    pub solution: Solution,
    pub explanations: Vec<Explanation>,
    /// (patient, name, required, hours scheduled now, hours proposed)
    pub rows: Vec<(PatientId, String, f64, f64, f64)>,
    /// Sessions of the current week kept as they are, and the current sessions the proposal replaces.
    pub kept: usize,
    pub replaced: Vec<SessionId>,
    pub new_sessions: Vec<Session>,
    pub objective: i64,
}

struct Live {
    site: Site,
    services: Vec<ServiceType>,
    current: Vec<Session>,
    instance: Instance,
    names: BTreeMap<String, String>,
    programs_of: BTreeMap<String, openiop_domain::ids::ProgramId>,
    capacity_of: BTreeMap<String, u32>,
}

async fn live(w: &Work<'_>, ctx: &Ctx, site_id: SiteId, week: Week, out: &[Unavailable]) -> Result<Live> {
    ctx.authorize(Action::ManagePrograms, Some(site_id), None, "site")?;
    let org = ctx.org();
    let site = w.db().site(org, site_id).await?;
    let tz = site.time_zone.0;
    let monday = week.monday();
    let services = w.db().service_types(org).await?;
    let rooms: Vec<_> = w.db().rooms(org).await?.into_iter().filter(|r| r.site_id == site_id).collect();
    let staff = w.db().staff_profiles(org).await?;
    let users = w.db().users(org).await?;
    let programs = w.db().programs(org).await?;
    let site_programs: Vec<_> = programs.iter().filter(|p| p.site_id == site_id).map(|p| p.id).collect();
    let episodes: Vec<_> = w
        .db()
        .open_episodes(org, Some(&site_programs))
        .await?
        .into_iter()
        .filter(|e| e.status != EpisodeStatus::OnHold && e.admitted_on <= monday + Duration::days(6))
        .collect();
    let patient_ids: Vec<PatientId> = episodes.iter().map(|e| e.patient_id).collect();
    let patients = w.db().patients_with_consents(org, &patient_ids).await?;
    let (from, to) = week.bounds(tz);
    let current: Vec<Session> = w
        .db()
        .sessions_between(org, from, to, &SessionFilter { site: Some(site_id), ..Default::default() })
        .await?
        .into_iter()
        .filter(|s| s.is_live())
        .collect();
    let recent =
        w.db().sessions_between(org, from - Duration::days(21), from, &SessionFilter { site: Some(site_id), ..Default::default() }).await?;
    let med = services.iter().find(|s| s.code == "medication_management").map(|s| s.id);

    let clinicians: Vec<m::Clinician> = staff
        .iter()
        .filter(|s| users.iter().any(|u| u.id == s.user_id && u.active && u.scope.covers(Some(site_id), None)))
        .filter_map(|s| {
            let active: Vec<_> = s.credentials.iter().filter(|c| c.active_on(monday)).collect();
            let mut creds: Vec<String> = active
                .iter()
                .filter_map(|c| sched_credential(c.kind))
                .filter(|c| *c != "LPC-Associate" || s.supervisor_id.is_some())
                .map(str::to_string)
                .collect();
            creds.sort();
            creds.dedup();
            if creds.is_empty() {
                return None;
            }
            let mut licenses: Vec<String> = active.iter().map(|c| c.state.to_string()).collect();
            licenses.sort();
            licenses.dedup();
            let skip: Vec<Weekday> = out.iter().filter(|u| u.clinician == s.user_id).flat_map(|u| u.days.clone()).collect();
            let all_week: Vec<WeeklyWindow> = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat]
                .into_iter()
                .map(|d| WeeklyWindow { weekday: d, from: time_of(0), to: time_of(29) })
                .collect();
            let availability = windows(if s.availability.is_empty() { &all_week } else { &s.availability }, &skip);
            let hours: f64 = availability.iter().map(|w| (w[2] - w[1]) as f64 / 2.0).sum();
            Some(m::Clinician {
                id: s.user_id.to_string(),
                site: site_id.to_string(),
                credentials: creds,
                licenses,
                max_hours: hours.min(30.0),
                availability,
            })
        })
        .collect();
    let therapist =
        clinicians.iter().find(|c| c.credentials.iter().any(|x| ["LCSW", "LPC", "LMFT"].contains(&x.as_str()))).map(|c| c.id.clone());
    let mut names = BTreeMap::new();
    let mut programs_of = BTreeMap::new();
    let mut capacity_of = BTreeMap::new();
    let mut instance_patients = Vec::new();
    for e in &episodes {
        let Some((p, consents)) = patients.iter().find(|(p, _)| p.id == e.patient_id) else { continue };
        let Some(program) = programs.iter().find(|x| x.id == e.program_id) else { continue };
        let level = e.level_on(LevelLine::Clinical, monday).cloned().unwrap_or_else(|| program.level_of_care.clone());
        let required = schedule::weekly_required(program, &level);
        let primary = e
            .primary_clinician
            .map(|u| u.to_string())
            .filter(|u| clinicians.iter().any(|c| &c.id == u))
            .or_else(|| therapist.clone())
            .unwrap_or_default();
        let family = p.collaterals.iter().any(|c| require_consent_for(consents, c, monday).is_ok()) as u32;
        let had_med = recent.iter().any(|s| Some(s.service_type_id) == med && s.participants.contains(&p.id) && s.is_live());
        let id = p.id.to_string();
        names.insert(id.clone(), p.details.display_name());
        programs_of.insert(id.clone(), program.id);
        capacity_of.insert(id.clone(), program.group_cap);
        instance_patients.push(m::Patient {
            id,
            site: site_id.to_string(),
            population: if program.population == Population::Adolescent { m::Population::Adolescent } else { m::Population::Adult },
            required_hours: required,
            max_hours: required + 3.0,
            mode: match p.details.delivery_preference {
                DeliveryPreference::InPerson => m::PatientMode::InPerson,
                DeliveryPreference::Virtual => m::PatientMode::Virtual,
                DeliveryPreference::Either => m::PatientMode::Either,
            },
            home_state: p.details.state.to_string(),
            primary,
            needs: m::Needs { individual: 1, family, med_mgmt: (!had_med) as u32 },
            availability: windows(&p.details.availability, &[]),
        });
    }
    let instance = Instance {
        format: "iop-week/1".into(),
        name: format!("{}-{}", site.name, week),
        size: None,
        seed: None,
        sites: vec![m::Site { id: site_id.to_string(), state: site.address.state.to_string() }],
        rooms: rooms
            .iter()
            .map(|r| m::Room {
                id: r.id.to_string(),
                site: site_id.to_string(),
                kind: if r.kind == openiop_domain::programs::RoomKind::Group { m::RoomKind::Group } else { m::RoomKind::Office },
                capacity: (r.kind == openiop_domain::programs::RoomKind::Group).then_some(r.capacity),
            })
            .collect(),
        clinicians,
        patients: instance_patients,
    };
    Ok(Live { site, services, current, instance, names, programs_of, capacity_of })
}

/// The current week's sessions in the optimizer's terms (those it can express).
fn as_solution(l: &Live) -> Solution {
    let tz = l.site.time_zone.0;
    let sessions = l
        .current
        .iter()
        .filter_map(|s| {
            let code = &l.services.iter().find(|x| x.id == s.service_type_id)?.code;
            let kind = session_type(code)?;
            let local = s.starts_at.with_timezone(&tz);
            let day = local.weekday().num_days_from_monday() as i64;
            (day < 6).then(|| m::Session {
                id: s.id.to_string(),
                kind,
                clinician: s.leaders.first().map(|x| x.to_string()).unwrap_or_default(),
                day,
                start: slot_of(local.time()),
                mode: if s.is_virtual { m::SessionMode::Virtual } else { m::SessionMode::InPerson },
                room: s.room_id.map(|r| r.to_string()),
                patients: s.participants.iter().map(|p| p.to_string()).collect(),
            })
        })
        .collect();
    Solution { instance: None, solver: Some("current".into()), stats: serde_json::Value::Null, sessions }
}

fn hours_by_patient(sol: &Solution) -> BTreeMap<String, f64> {
    let mut h = BTreeMap::new();
    for s in &sol.sessions {
        if matches!(s.kind, SessionType::MedMgmt) {
            continue;
        }
        for p in &s.patients {
            *h.entry(p.clone()).or_insert(0.0) += s.kind.duration() as f64 / 2.0;
        }
    }
    h
}

fn same(a: &m::Session, b: &m::Session) -> bool {
    let mut pa = a.patients.clone();
    let mut pb = b.patients.clone();
    pa.sort();
    pb.sort();
    a.kind == b.kind
        && a.clinician == b.clinician
        && a.day == b.day
        && a.start == b.start
        && a.mode == b.mode
        && pa == pb
        // The room counts for every kind: a session the solver moves to another office is a
        // change (kept as it was, it would double-book the office the solver gave away).
        && a.room == b.room
}

/// Proposes a week for a site. With `replan`, the current week is the starting point and every
/// change costs (stability), so only what a change forces moves.
pub async fn propose(app: &App, ctx: &Ctx, site_id: SiteId, week: Week, out: &[Unavailable], replan: bool) -> Result<Proposal> {
    reading!(app, |w| propose_in(&w, ctx, site_id, week, out, replan).await)
}

pub(crate) async fn propose_in(
    w: &Work<'_>,
    ctx: &Ctx,
    site_id: SiteId,
    week: Week,
    out: &[Unavailable],
    replan: bool,
) -> Result<Proposal> {
    let l = live(w, ctx, site_id, week, out).await?;
    let current = as_solution(&l);
    let opts = SolveOptions {
        time_limit: std::time::Duration::from_secs(20),
        seed: 1,
        threads: 0,
        iterations: Some(ITERATIONS),
        current: if replan { Some(current.clone()) } else { None },
        ..Default::default()
    };
    let res = openiop_scheduler::solve(&l.instance, &opts).map_err(|e| DomainError::Internal(format!("optimizer: {e}")))?;
    let tz = l.site.time_zone.0;
    let now_hours = hours_by_patient(&current);
    let new_hours = hours_by_patient(&res.solution);
    let rows = l
        .instance
        .patients
        .iter()
        .filter_map(|p| {
            let id: PatientId = p.id.parse().ok()?;
            Some((
                id,
                l.names.get(&p.id).cloned().unwrap_or_default(),
                p.required_hours,
                *now_hours.get(&p.id).unwrap_or(&0.0),
                *new_hours.get(&p.id).unwrap_or(&0.0),
            ))
        })
        .collect();
    // Which current sessions survive unchanged, and which proposed sessions are new.
    let kept_pairs: Vec<(usize, usize)> = res
        .solution
        .sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| current.sessions.iter().position(|c| same(c, s)).map(|j| (i, j)))
        .collect();
    let replaced: Vec<SessionId> = current
        .sessions
        .iter()
        .enumerate()
        .filter(|(j, _)| !kept_pairs.iter().any(|(_, k)| k == j))
        .filter_map(|(_, s)| s.id.parse().ok())
        .collect();
    let mut new_sessions = Vec::new();
    for (i, s) in res.solution.sessions.iter().enumerate() {
        if kept_pairs.iter().any(|(k, _)| *k == i) {
            continue;
        }
        let service = l.services.iter().find(|x| x.code == service_code(s.kind)).ok_or(DomainError::NotFound("service"))?;
        let day = week.monday() + Duration::days(s.day);
        let starts_at = schedule::local_to_utc(tz, day, time_of(s.start));
        let ends_at = schedule::local_to_utc(tz, day, time_of(s.start + s.kind.duration() as i64));
        let first = s.patients.first().cloned().unwrap_or_default();
        let is_virtual = matches!(s.mode, m::SessionMode::Virtual);
        new_sessions.push(Session {
            id: SessionId::new(),
            organization_id: ctx.org(),
            site_id,
            program_id: l.programs_of.get(&first).copied(),
            track_id: None,
            template_id: None,
            service_type_id: service.id,
            starts_at,
            ends_at,
            local_date: day,
            room_id: if is_virtual { None } else { s.room.as_deref().and_then(|r| r.parse().ok()) },
            is_virtual,
            virtual_token: if is_virtual { Some(crate::security::random_token()?) } else { None },
            leaders: s.clinician.parse().ok().into_iter().collect(),
            participants: s.patients.iter().filter_map(|p| p.parse().ok()).collect(),
            family: vec![],
            capacity: l.capacity_of.get(&first).copied().unwrap_or(schedule::DEFAULT_GROUP_CAP),
            topic: "Planned by the optimizer".into(),
            modality: None,
            status: SessionStatus::Scheduled,
            cancel_reason: String::new(),
        });
    }
    Ok(Proposal {
        objective: res.stats.objective.total,
        kept: kept_pairs.len(),
        replaced,
        new_sessions,
        explanations: res.explanations,
        rows,
        solution: res.solution,
        instance: l.instance,
        week,
        site: l.site,
    })
}

/// Accepts a proposal: the same deterministic solve (outside the write, so the database is not
/// held while it searches), then every new session goes through the scheduling rules against
/// the week as it stands and the whole change is written in one unit of work (or nothing is): a
/// session replaced meanwhile refuses the proposal.
pub async fn accept(app: &App, ctx: &Ctx, site_id: SiteId, week: Week, out: &[Unavailable], replan: bool) -> Result<(usize, usize)> {
    let p = propose(app, ctx, site_id, week, out, replan).await?;
    writing!(app, |w| {
        let (from, to) = week.bounds(p.site.time_zone.0);
        let existing =
            w.db().sessions_between(ctx.org(), from - Duration::days(1), to + Duration::days(1), &SessionFilter::default()).await?;
        let remaining: Vec<Session> = existing.into_iter().filter(|s| !p.replaced.contains(&s.id)).collect();
        let mut batch = remaining.clone();
        for s in &p.new_sessions {
            crate::schedule::check_new_in(&w, ctx, s, &batch).await?;
            batch.push(s.clone());
        }
        let ev = AuditEvent::by(ctx, ctx.actor.acting_role(Action::ManagePrograms), AuditAction::Create, "session", None).detail(&format!(
            "optimizer week={week} created={} replaced={}",
            p.new_sessions.len(),
            p.replaced.len()
        ));
        let n = w.db().replace_sessions(ctx.org(), &p.replaced, "Re-planned by the optimizer", &p.new_sessions, ev).await?;
        Ok((n, p.replaced.len()))
    })
}
