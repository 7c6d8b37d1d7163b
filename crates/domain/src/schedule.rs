//! Sessions, recurrence, attendance and the weekly hours ledger: what an IOP lives on.
use crate::error::Fields;
use crate::ids::{OrganizationId, ProgramId, SiteId, UserId};
use crate::patients::{
    Collateral, CollateralId, Consent, ConsentId, Episode, EpisodeId, EpisodeStatus, LevelLine, PatientId, require_consent_for,
};
use crate::programs::{
    CompactConfig, DeliveryMode, LeadRequest, Modality, Population, Program, Room, ServiceType, ServiceTypeId, StaffProfile,
    TemplateSession, TemplateSessionId, TrackId, WeeklyWindow, check_may_lead,
};
use crate::tenancy::UsState;
use crate::{DomainError, Result};
use chrono::{DateTime, Datelike, Duration, IsoWeek, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

ids!(SessionId, ClosureId, FeedId);
record_ids!(PopulationExceptionId);

vocabulary!(SessionStatus, "status" {
    Scheduled => "scheduled", "Scheduled";
    Held => "held", "Held";
    Cancelled => "cancelled", "Cancelled";
});

vocabulary!(AttendanceStatus, "status" {
    Present => "present", "Present";
    Late => "late", "Late";
    LeftEarly => "left_early", "Left early";
    AbsentExcused => "absent_excused", "Absent (excused)";
    AbsentUnexcused => "absent_unexcused", "Absent (not excused)";
    CancelledByProgram => "cancelled_by_program", "Cancelled by program";
});

impl AttendanceStatus {
    pub fn attended(self) -> bool {
        matches!(self, AttendanceStatus::Present | AttendanceStatus::Late | AttendanceStatus::LeftEarly)
    }
}

vocabulary!(AttendanceMode, "mode" {
    InPerson => "in_person", "In person";
    Virtual => "virtual", "Virtual";
});

vocabulary!(LedgerStatus, "status" {
    OnTrack => "on_track", "On track";
    AtRisk => "at_risk", "At risk";
    Below => "below", "Below required hours";
});

/// The default cap of a group (configurable per program).
pub const DEFAULT_GROUP_CAP: u32 = 12;

/// A one-off session (individual, family, medication management, …) as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionForm {
    pub site_id: String,
    #[serde(default)]
    pub program_id: String,
    pub service_type_id: String,
    /// YYYY-MM-DD at the site.
    pub date: String,
    /// HH:MM at the site.
    pub start: String,
    /// Default: the service's duration.
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
    /// Needed only to book a minor into an adult program's session or an adult into an
    /// adolescent one's: the clinician's reason for the exception (recorded, audited).
    #[serde(default)]
    pub population_exception_reason: String,
}

/// A scheduled session of care.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub organization_id: OrganizationId,
    pub site_id: SiteId,
    pub program_id: Option<ProgramId>,
    pub track_id: Option<TrackId>,
    /// The template occurrence this session came from (recurring series), if any.
    pub template_id: Option<TemplateSessionId>,
    pub service_type_id: ServiceTypeId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The date at the site (the series key with the template).
    pub local_date: NaiveDate,
    pub room_id: Option<crate::programs::RoomId>,
    pub is_virtual: bool,
    /// Unguessable room token for virtual sessions (the link is the organization's base URL + token).
    pub virtual_token: Option<String>,
    pub leaders: Vec<UserId>,
    pub participants: Vec<PatientId>,
    pub family: Vec<(PatientId, CollateralId)>,
    pub capacity: u32,
    pub topic: String,
    pub modality: Option<Modality>,
    pub status: SessionStatus,
    pub cancel_reason: String,
}

impl Session {
    pub fn minutes(&self) -> i64 {
        (self.ends_at - self.starts_at).num_minutes()
    }

    pub fn hours(&self) -> f64 {
        self.minutes() as f64 / 60.0
    }

    pub fn overlaps(&self, other: &Session) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }

    pub fn is_live(&self) -> bool {
        self.status != SessionStatus::Cancelled
    }

    pub fn mode(&self) -> DeliveryMode {
        if self.is_virtual { DeliveryMode::Virtual } else { DeliveryMode::InPerson }
    }
}

/// A wall-clock time at a site as an instant. Across daylight-saving changes: a time that does
/// not exist (spring forward) moves forward by the gap; a time that happens twice (fall back)
/// takes the first.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            let later = naive + Duration::hours(1);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                LocalResult::None => Utc.from_utc_datetime(&naive),
            }
        }
    }
}

/// An ISO week such as `2026-W45`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Week {
    pub year: i32,
    pub week: u32,
}

impl Week {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || DomainError::field("week", "invalid_week", "use an ISO week such as 2026-W45");
        let (y, w) = s.trim().split_once("-W").ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        if !crate::programs::YEARS.contains(&year) {
            return Err(bad());
        }
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
        Ok(Self { year, week })
    }

    pub fn of(date: NaiveDate) -> Self {
        let w: IsoWeek = date.iso_week();
        Self { year: w.year(), week: w.week() }
    }

    pub fn monday(&self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).unwrap_or_default()
    }

    pub fn days(&self) -> Vec<NaiveDate> {
        let m = self.monday();
        (0..7).map(|i| m + Duration::days(i)).collect()
    }

    /// The week's start and end as instants at a site.
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let m = self.monday();
        (local_to_utc(tz, m, NaiveTime::MIN), local_to_utc(tz, m + Duration::days(7), NaiveTime::MIN))
    }

    pub fn next(&self) -> Self {
        Self::of(self.monday() + Duration::days(7))
    }

    pub fn previous(&self) -> Self {
        Self::of(self.monday() - Duration::days(7))
    }
}

impl std::fmt::Display for Week {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

/// A closure (holiday) at a site: recurring sessions skip it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closure {
    pub id: ClosureId,
    pub site_id: SiteId,
    pub date: NaiveDate,
    pub reason: String,
}

/// The dates a weekly template session occurs on between two dates (RRULE FREQ=WEEKLY;BYDAY),
/// skipping closures.
pub fn occurrences(t: &TemplateSession, from: NaiveDate, to: NaiveDate, closed: &[NaiveDate]) -> Vec<NaiveDate> {
    let mut d = from;
    let mut out = Vec::new();
    while d <= to {
        if d.weekday() == t.weekday && !closed.contains(&d) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

/// Whether an episode takes part in its track's sessions on a date (rolling groups: admission
/// to discharge, not on hold).
pub fn enrolled_on(e: &Episode, track: TrackId, date: NaiveDate) -> bool {
    e.track_id == Some(track)
        && e.admitted_on <= date
        && e.discharge.as_ref().is_none_or(|d| date <= d.date)
        && !matches!(e.status, EpisodeStatus::OnHold | EpisodeStatus::Discharged)
}

/// Facts about a patient that scheduling rules need.
#[derive(Debug, Clone)]
pub struct PatientFacts {
    pub patient_id: PatientId,
    pub name: String,
    pub home_state: UsState,
    /// The population of the program of their open episode.
    pub population: Option<Population>,
    pub availability: Vec<WeeklyWindow>,
    pub delivery: crate::patients::DeliveryPreference,
    pub collaterals: Vec<Collateral>,
    pub consents: Vec<Consent>,
    pub date_of_birth: NaiveDate,
    /// Their open episode, if any (its program and admission date decide its own groups).
    pub episode: Option<Episode>,
    /// Population exceptions recorded for them: at admission (their episode's program) or at a
    /// booking (that session).
    pub exceptions: Vec<PopulationException>,
}

/// Adults are 18 and over: a patient under 18 on the day is a minor and belongs with adolescents.
pub const ADULT_AGE: i32 = 18;

/// The population a patient belongs to on a date, from their date of birth.
pub fn population_on(date_of_birth: NaiveDate, on: NaiveDate) -> Population {
    use chrono::Datelike;
    let mut age = on.year() - date_of_birth.year();
    if (on.month(), on.day()) < (date_of_birth.month(), date_of_birth.day()) {
        age -= 1;
    }
    if age < ADULT_AGE { Population::Adolescent } else { Population::Adult }
}

fn age_words(date_of_birth: NaiveDate, on: NaiveDate) -> String {
    match population_on(date_of_birth, on) {
        Population::Adolescent => "a minor (under 18)".to_string(),
        Population::Adult => "an adult (18 or over)".to_string(),
    }
}

/// A clinician's explicit exception to the population rule: a minor admitted to (or booked into)
/// an adult program, or an adult into an adolescent one. Recorded at admission it covers that
/// episode's program; recorded at a booking, that session only. Who and when are kept with it,
/// and writing it is audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationException {
    pub id: PopulationExceptionId,
    pub patient_id: PatientId,
    pub program_id: ProgramId,
    pub episode_id: Option<EpisodeId>,
    pub session_id: Option<SessionId>,
    /// The patient's population on the day it was recorded (the program's is the other one).
    pub patient_population: Population,
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

/// The reason for a population exception as typed: empty means none; otherwise a real sentence.
pub fn exception_reason(text: &str) -> Result<Option<String>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() < 10 {
        return Err(DomainError::field(
            "population_exception_reason",
            "too_short",
            "say why, in a sentence (at least 10 characters), this patient is treated outside the program's population",
        ));
    }
    if t.chars().count() > 1000 {
        return Err(DomainError::field("population_exception_reason", "too_long", "must be at most 1000 characters"));
    }
    Ok(Some(t.to_string()))
}

/// The population rule at admission: a minor is not admitted to an adult program, nor an adult to
/// an adolescent one, unless a clinician records why (`reason`). `Ok(true)`: an exception is
/// needed and given; `Ok(false)`: none is needed.
pub fn check_admission_population(
    name: &str,
    date_of_birth: NaiveDate,
    program: &Program,
    on: NaiveDate,
    reason: Option<&str>,
) -> Result<bool> {
    if population_on(date_of_birth, on) == program.population {
        return Ok(false);
    }
    if reason.is_some() {
        return Ok(true);
    }
    // ASAM: adolescents are treated apart from adults.
    Err(DomainError::field(
        "population_exception_reason",
        "population_mismatch",
        &format!(
            "{name} is {} on {on} and {} is for {}: admit to a program for their age, or record a clinician's reason for the exception",
            age_words(date_of_birth, on),
            program.name,
            program.population.label().to_lowercase()
        ),
    ))
}

impl PatientFacts {
    /// Whether the patient may take part in a session of `program` on `date` (session `id`):
    /// their population that day is the program's; or it is their own episode's program and it
    /// was theirs at admission (a patient who turns 18 during an adolescent episode stays with
    /// its groups until discharge) or the admission recorded an exception; or the booking of
    /// this session recorded one.
    pub fn population_fits(&self, program: &Program, id: SessionId, date: NaiveDate) -> bool {
        if population_on(self.date_of_birth, date) == program.population {
            return true;
        }
        if self.exceptions.iter().any(|x| x.session_id == Some(id) && x.program_id == program.id) {
            return true;
        }
        match &self.episode {
            Some(e) if e.program_id == program.id => {
                population_on(self.date_of_birth, e.admitted_on) == program.population
                    || self.exceptions.iter().any(|x| x.episode_id == Some(e.id))
            }
            _ => false,
        }
    }
}

/// Everything the scheduling rules look at for one session.
pub struct ScheduleCheck<'a> {
    pub service: &'a ServiceType,
    pub room: Option<&'a Room>,
    pub site_state: UsState,
    pub program: Option<&'a Program>,
    pub leaders: Vec<&'a StaffProfile>,
    pub patients: Vec<&'a PatientFacts>,
    /// Live sessions that overlap this one in time (any site of the organization).
    pub overlapping: &'a [Session],
    pub compacts: &'a CompactConfig,
}

fn describe(s: &Session, tz: Tz) -> String {
    let local = s.starts_at.with_timezone(&tz);
    format!("the session on {} at {} (id {})", local.format("%a %Y-%m-%d"), local.format("%H:%M"), s.id)
}

/// The scheduling rules, always in the domain: no double booking of a patient, a staff member or
/// a room; capacity; adolescents never in adult groups (and the reverse); family members only
/// with a consent in force; credentials and licence states of every leader.
pub fn check_session(s: &Session, c: &ScheduleCheck<'_>, tz: Tz) -> Result<()> {
    if s.ends_at <= s.starts_at {
        return Err(DomainError::field("end", "range_reversed", "a session must end after it starts"));
    }
    if !s.is_virtual && s.room_id.is_none() {
        return Err(DomainError::field("room_id", "required", "choose a room, or make the session virtual"));
    }
    if s.leaders.is_empty() {
        return Err(DomainError::field("leaders", "required", "a session needs at least one leader"));
    }
    for other in c.overlapping.iter().filter(|o| o.id != s.id && o.is_live() && o.overlaps(s)) {
        if let Some(p) = s.participants.iter().find(|p| other.participants.contains(p)) {
            let name = c.patients.iter().find(|f| f.patient_id == *p).map(|f| f.name.clone()).unwrap_or_else(|| "A patient".into());
            return Err(DomainError::conflict("schedule_conflict", format!("{name} is already booked in {}", describe(other, tz))));
        }
        if let Some(l) = s.leaders.iter().find(|l| other.leaders.contains(l)) {
            let name = c.leaders.iter().find(|x| x.user_id == *l).map(|x| x.name.clone()).unwrap_or_else(|| "A leader".into());
            return Err(DomainError::conflict("schedule_conflict", format!("{name} is already leading {}", describe(other, tz))));
        }
        if s.room_id.is_some() && s.room_id == other.room_id {
            let room = c.room.map(|r| r.name.clone()).unwrap_or_else(|| "The room".into());
            return Err(DomainError::conflict("schedule_conflict", format!("{room} is already booked for {}", describe(other, tz))));
        }
    }
    let n = s.participants.len() as u32;
    if c.service.is_group {
        let room_cap = if s.is_virtual { u32::MAX } else { c.room.map(|r| r.capacity).unwrap_or(u32::MAX) };
        let cap = s.capacity.min(room_cap);
        if n > cap {
            return Err(DomainError::rule(
                "capacity_exceeded",
                format!("{n} patients exceed the capacity of {cap} for this {}", c.service.name.to_lowercase()),
            ));
        }
    } else if n > 1 {
        return Err(DomainError::rule("capacity_exceeded", format!("{} is for one patient at a time", c.service.name)));
    }
    if let Some(program) = c.program {
        for p in &c.patients {
            if !p.population_fits(program, s.id, s.local_date) {
                // ASAM: adolescents are treated apart from adults.
                return Err(DomainError::rule(
                    "population_mismatch",
                    format!(
                        "{} is {} on {} and cannot join this session of {} (for {}) without a clinician's recorded exception \
                         (population_exception_reason)",
                        p.name,
                        age_words(p.date_of_birth, s.local_date),
                        s.local_date,
                        program.name,
                        program.population.label().to_lowercase()
                    ),
                ));
            }
        }
    }
    if !s.family.is_empty() && !c.service.family_allowed {
        return Err(DomainError::rule("family_not_allowed", format!("family members do not attend {}", c.service.name.to_lowercase())));
    }
    for (patient, collateral) in &s.family {
        let facts = c
            .patients
            .iter()
            .find(|f| f.patient_id == *patient)
            .ok_or_else(|| DomainError::field("family", "not_a_participant", "a family member joins with their patient"))?;
        let col = facts.collaterals.iter().find(|x| x.id == *collateral).ok_or(DomainError::NotFound("family member"))?;
        require_consent_for(&facts.consents, col, s.local_date)?;
    }
    let states: Vec<UsState> = if s.is_virtual {
        let mut v: Vec<UsState> = c.patients.iter().map(|p| p.home_state).collect();
        v.sort();
        v.dedup();
        if v.is_empty() { vec![c.site_state] } else { v }
    } else {
        vec![c.site_state]
    };
    for leader in &c.leaders {
        check_may_lead(leader, &LeadRequest { service: c.service, date: s.local_date, patient_states: &states }, c.compacts)?;
    }
    Ok(())
}

/// One attendance record; corrections are new versions (amendments), the old ones are kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attendance {
    pub session_id: SessionId,
    pub patient_id: PatientId,
    pub version: i64,
    pub status: AttendanceStatus,
    pub minutes: u32,
    pub mode: AttendanceMode,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub note: String,
    /// A late arrival or early departure recorded without its minutes, credited with the
    /// organization's default (the session less the configured missed minutes): shown as such.
    pub credited_by_default: bool,
}

/// One row of the attendance screen as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AttendanceRow {
    pub patient_id: String,
    pub status: String,
    /// Empty: the whole session for present, zero for absences. A late arrival or an early
    /// departure needs the minutes attended (or takes the organization's configured default).
    #[serde(default)]
    pub minutes: String,
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub note: String,
}

/// How attendance that is not the whole session is credited when its minutes are not typed.
/// `None` (the default): they must be typed — services are paid as furnished (Medicare IOP/PHP,
/// 42 CFR §410.43), so a clinic that credits a default says so in its documentation settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartialCredit {
    /// Minutes a late arrival or early departure is taken to have missed.
    pub missed_minutes: Option<u32>,
}

impl Attendance {
    /// Parses one row against its session (partial attendance needs its minutes).
    pub fn parse(row: &AttendanceRow, session: &Session, by: UserId, now: DateTime<Utc>) -> Result<Self> {
        Self::parse_with(row, session, by, now, PartialCredit::default())
    }

    /// Parses one row against its session: a late arrival or early departure without minutes
    /// is credited with `credit`'s default if the organization set one, and marked as such;
    /// otherwise it is refused. It never gets the whole session.
    pub fn parse_with(row: &AttendanceRow, session: &Session, by: UserId, now: DateTime<Utc>, credit: PartialCredit) -> Result<Self> {
        let mut f = Fields::new();
        let field = |name: &str| format!("{}.{name}", row.patient_id);
        let patient = f.take(&field("patient_id"), row.patient_id.parse::<PatientId>());
        if let Some(p) = patient
            && !session.participants.contains(&p)
        {
            f.push(&field("patient_id"), "not_a_participant", "is not a participant of this session");
        }
        let status = f.take(&field("status"), AttendanceStatus::parse(&row.status));
        let full = session.minutes().max(0) as u32;
        let partial = matches!(status, Some(AttendanceStatus::Late | AttendanceStatus::LeftEarly));
        let mut by_default = false;
        let minutes = match (status, row.minutes.trim()) {
            (Some(_), "") if partial => match credit.missed_minutes {
                Some(missed) => {
                    by_default = true;
                    Some(full.saturating_sub(missed.max(1)))
                }
                None => {
                    f.push(
                        &field("minutes"),
                        "minutes_required",
                        "a late arrival or early departure needs the minutes attended (it is not credited with the whole session)",
                    );
                    None
                }
            },
            (Some(s), "") => Some(if s.attended() { full } else { 0 }),
            (_, m) => match m.parse::<u32>() {
                Ok(v) if v <= full => Some(v),
                Ok(_) => {
                    f.push(&field("minutes"), "out_of_range", &format!("cannot exceed the session's {full} minutes"));
                    None
                }
                Err(_) => {
                    f.push(&field("minutes"), "not_a_number", "must be a whole number of minutes");
                    None
                }
            },
        };
        if let (Some(s), Some(m)) = (status, minutes)
            && !s.attended()
            && m > 0
        {
            f.push(&field("minutes"), "absent_with_minutes", "an absence has no minutes attended");
        }
        if partial && !by_default && minutes.is_some_and(|m| m >= full) {
            f.push(
                &field("minutes"),
                "partial_minutes_full",
                &format!("a late arrival or early departure attended less than the session's {full} minutes; record present otherwise"),
            );
        }
        let mode = if row.mode.trim().is_empty() {
            Some(if session.is_virtual { AttendanceMode::Virtual } else { AttendanceMode::InPerson })
        } else {
            f.take(&field("mode"), AttendanceMode::parse(&row.mode))
        };
        f.finish()?;
        let (Some(patient_id), Some(status), Some(minutes), Some(mode)) = (patient, status, minutes, mode) else {
            return Err(DomainError::internal("attendance incomplete after validation"));
        };
        Ok(Self {
            session_id: session.id,
            patient_id,
            version: 1,
            status,
            minutes,
            mode,
            recorded_by: by,
            recorded_at: now,
            note: row.note.trim().chars().take(500).collect(),
            credited_by_default: by_default,
        })
    }
}

/// Attendance counts toward an episode: the session's date must fall within one of the
/// patient's episodes (admission date through discharge date), or it is refused and says why.
pub fn check_within_episode(episodes: &[Episode], patient: PatientId, name: &str, date: NaiveDate) -> Result<()> {
    let mine: Vec<&Episode> = episodes.iter().filter(|e| e.patient_id == patient).collect();
    let within = |e: &&Episode| e.admitted_on <= date && e.discharge.as_ref().is_none_or(|d| date <= d.date);
    if mine.iter().any(within) {
        return Ok(());
    }
    let field = format!("{patient}.status");
    let message = match mine.iter().filter(|e| e.admitted_on <= date).max_by_key(|e| e.admitted_on) {
        Some(e) => format!(
            "{name}'s episode of care ended on {} (discharge), before this session on {date}: attendance outside the episode is not \
             recorded; admit them again, or correct the discharge date",
            e.discharge.as_ref().map(|d| d.date.to_string()).unwrap_or_default()
        ),
        None => match mine.iter().min_by_key(|e| e.admitted_on) {
            Some(e) => format!(
                "{name} is admitted on {}, after this session on {date}: attendance outside the episode is not recorded; \
                 correct the admission date if they were in care then",
                e.admitted_on
            ),
            None => format!("{name} has no episode of care: admit them before recording attendance (this session is on {date})"),
        },
    };
    Err(DomainError::Validation(vec![crate::FieldError::new(&field, "outside_episode", &message)]))
}

/// The latest version of each (session, patient) record.
pub fn current_attendance(all: &[Attendance]) -> Vec<&Attendance> {
    let mut out: Vec<&Attendance> = Vec::new();
    for a in all {
        match out.iter_mut().find(|x| x.session_id == a.session_id && x.patient_id == a.patient_id) {
            Some(x) if x.version < a.version => *x = a,
            Some(_) => {}
            None => out.push(a),
        }
    }
    out
}

/// One episode's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekLedger {
    pub week: String,
    pub required_hours: f64,
    pub scheduled_hours: f64,
    pub attended_hours: f64,
    pub forecast_hours: f64,
    pub deficit_hours: f64,
    pub status: LedgerStatus,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Weekly hours required at a level: the program's own figure at its level, else the level's default.
/// The hours a week a patient of `program` must get on a day their clinical level is `level`:
/// the program's own at its level; a known requirement at another level (a step-up to PHP); the
/// program's own where the level has none it can be held to (a residential level recorded
/// before the step-down takes effect).
pub fn weekly_required(program: &Program, level: &crate::programs::LevelOfCare) -> f64 {
    if *level == program.level_of_care {
        return program.weekly_hours;
    }
    match crate::programs::required_weekly_hours(level, program.population) {
        Some(h) => h,
        None => program.weekly_hours,
    }
}

/// The hours ledger of one episode for one ISO week at the program's site time zone.
///
/// Required hours are prorated by day: each day of the week the episode is open contributes a
/// seventh of the weekly requirement of the clinical level in force that day (so partial weeks at
/// admission and discharge, and level changes mid-week, count exactly). Only services that count
/// toward intensity count. Scheduled = live sessions the patient is in; attended = minutes
/// recorded present/late/left early; forecast = attended + sessions not yet recorded.
pub fn weekly_ledger(
    episode: &Episode,
    program: &Program,
    week: Week,
    sessions: &[&Session],
    services: &[ServiceType],
    attendance: &[&Attendance],
) -> WeekLedger {
    let counts = |s: &Session| services.iter().any(|x| x.id == s.service_type_id && x.counts_toward_hours);
    let end = episode.discharge.as_ref().map(|d| d.date);
    let mut required = 0.0;
    for day in week.days() {
        if day < episode.admitted_on || end.is_some_and(|e| day > e) {
            continue;
        }
        if let Some(level) = episode.level_on(LevelLine::Clinical, day) {
            required += weekly_required(program, level) / 7.0;
        }
    }
    let (mut scheduled, mut attended, mut pending, mut missed) = (0.0, 0.0, 0.0, false);
    let days = week.days();
    let in_week = |s: &Session| days.contains(&s.local_date);
    // Only sessions within the episode count toward it (admission through discharge).
    let within = |s: &Session| s.local_date >= episode.admitted_on && end.is_none_or(|e| s.local_date <= e);
    for s in sessions.iter().filter(|s| s.is_live() && in_week(s) && within(s) && s.participants.contains(&episode.patient_id) && counts(s))
    {
        scheduled += s.hours();
        match attendance.iter().find(|a| a.session_id == s.id && a.patient_id == episode.patient_id) {
            Some(a) if a.status.attended() => {
                attended += a.minutes as f64 / 60.0;
                missed |= (a.minutes as i64) < s.minutes();
            }
            Some(_) => missed = true,
            None => pending += s.hours(),
        }
    }
    let forecast = attended + pending;
    let eps = 1e-6;
    // below: even attending everything still scheduled falls short (make-ups needed);
    // at_risk: the schedule still covers the requirement, but only if nothing more is missed
    // after an absence or a partial attendance this week; on_track otherwise.
    let status = if forecast + eps < required {
        LedgerStatus::Below
    } else if attended + eps < required && missed {
        LedgerStatus::AtRisk
    } else {
        LedgerStatus::OnTrack
    };
    WeekLedger {
        week: week.to_string(),
        required_hours: round2(required),
        scheduled_hours: round2(scheduled),
        attended_hours: round2(attended),
        forecast_hours: round2(forecast),
        deficit_hours: round2((required - attended).max(0.0)),
        status,
    }
}

/// An open seat that would help a patient make up hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MakeUp {
    pub session_id: SessionId,
    pub hours: f64,
    pub starts_at: DateTime<Utc>,
}

/// Open seats later in the same week that fit the patient: counting group sessions with room,
/// inside their availability windows (site time), their population and delivery preference,
/// not overlapping their own sessions. Best first: most hours, then soonest.
/// The organization's catalogue that make-up suggestions look things up in.
pub struct Catalog<'a> {
    pub services: &'a [ServiceType],
    pub programs: &'a [Program],
    pub rooms: &'a [Room],
}

pub fn make_up_suggestions(
    patient: &PatientFacts,
    candidates: &[&Session],
    own: &[&Session],
    catalog: &Catalog<'_>,
    after: DateTime<Utc>,
    tz: Tz,
) -> Vec<MakeUp> {
    let Catalog { services, programs, rooms } = catalog;
    let mut out: Vec<MakeUp> = candidates
        .iter()
        .filter(|s| {
            s.is_live() && s.status == SessionStatus::Scheduled && s.starts_at > after && !s.participants.contains(&patient.patient_id)
        })
        .filter(|s| services.iter().any(|x| x.id == s.service_type_id && x.counts_toward_hours && x.is_group))
        .filter(|s| {
            let room_cap = s.room_id.and_then(|r| rooms.iter().find(|x| x.id == r)).map(|r| r.capacity).unwrap_or(u32::MAX);
            (s.participants.len() as u32) < s.capacity.min(room_cap)
        })
        .filter(|s| {
            let pop = s.program_id.and_then(|p| programs.iter().find(|x| x.id == p)).map(|p| p.population);
            pop.is_none() || patient.population.is_none() || pop == patient.population
        })
        .filter(|s| patient.delivery.accepts(s.mode()))
        .filter(|s| {
            let a = s.starts_at.with_timezone(&tz);
            let b = s.ends_at.with_timezone(&tz);
            a.date_naive() == b.date_naive() && patient.availability.iter().any(|w| w.covers(a.weekday(), a.time(), b.time()))
        })
        .filter(|s| !own.iter().any(|o| o.is_live() && o.overlaps(s)))
        .map(|s| MakeUp { session_id: s.id, hours: s.hours(), starts_at: s.starts_at })
        .collect();
    out.sort_by(|a, b| b.hours.partial_cmp(&a.hours).unwrap_or(std::cmp::Ordering::Equal).then(a.starts_at.cmp(&b.starts_at)));
    out
}

/// Which sessions to read.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub site: Option<SiteId>,
    pub program: Option<ProgramId>,
    pub track: Option<TrackId>,
    pub leader: Option<UserId>,
    pub room: Option<crate::programs::RoomId>,
    pub patient: Option<PatientId>,
    /// Sessions with at least one of these patients among the participants (a program's
    /// patients, for its hours ledger).
    pub any_patient: Option<Vec<PatientId>>,
    /// Sessions at one of these sites or of one of these programs (a staff member's scope).
    pub units: Option<(Vec<SiteId>, Vec<ProgramId>)>,
}

impl SessionFilter {
    pub fn matches(&self, s: &Session) -> bool {
        self.site.is_none_or(|x| s.site_id == x)
            && self.program.is_none_or(|x| s.program_id == Some(x))
            && self.track.is_none_or(|x| s.track_id == Some(x))
            && self.leader.is_none_or(|x| s.leaders.contains(&x))
            && self.room.is_none_or(|x| s.room_id == Some(x))
            && self.patient.is_none_or(|x| s.participants.contains(&x))
            && self.any_patient.as_ref().is_none_or(|ps| s.participants.iter().any(|p| ps.contains(p)))
            && self
                .units
                .as_ref()
                .is_none_or(|(sites, programs)| sites.contains(&s.site_id) || s.program_id.is_some_and(|p| programs.contains(&p)))
    }
}

vocabulary!(FeedOwner, "owner" {
    Staff => "staff", "Staff member";
    Patient => "patient", "Patient";
});

/// A revocable iCalendar subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarFeed {
    pub id: FeedId,
    pub owner: FeedOwner,
    pub owner_id: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Storage of sessions, attendance, closures and calendar feeds.
#[async_trait::async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Inserts sessions (leaders, participants, family) in one transaction; sessions of a series
    /// already generated for that date are skipped. Returns how many were created.
    async fn create_sessions(&self, org: OrganizationId, sessions: &[Session], audit: crate::audit::AuditEvent) -> Result<usize>;
    /// Replaces a session's fields, leaders, participants and family, in one transaction.
    async fn save_session(&self, org: OrganizationId, session: &Session, audit: crate::audit::AuditEvent) -> Result<()>;
    /// Cancels some sessions (with a reason) and creates others, in one transaction (accepting a
    /// proposed or re-planned week).
    async fn replace_sessions(
        &self,
        org: OrganizationId,
        cancel: &[SessionId],
        reason: &str,
        create: &[Session],
        audit: crate::audit::AuditEvent,
    ) -> Result<usize>;
    async fn scheduled_session(&self, org: OrganizationId, id: SessionId) -> Result<Session>;
    /// Sessions overlapping [from, to), matching the filter; a fixed number of queries.
    async fn sessions_between(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &SessionFilter,
    ) -> Result<Vec<Session>>;
    /// Adds or removes an episode's patient on the track's sessions from a date on (rolling groups).
    async fn set_track_participation(
        &self,
        org: OrganizationId,
        track: TrackId,
        patient: PatientId,
        from: DateTime<Utc>,
        join: bool,
        audit: crate::audit::AuditEvent,
    ) -> Result<usize>;
    /// Appends attendance records (amendments get the next version), one transaction for the
    /// group, with one audit entry per patient.
    async fn record_attendance(&self, org: OrganizationId, records: &[Attendance], audits: &[crate::audit::AuditEvent]) -> Result<()>;
    /// Every version of the attendance of these sessions.
    async fn attendance(&self, org: OrganizationId, sessions: &[SessionId]) -> Result<Vec<Attendance>>;
    /// Every version of the attendance of the sessions `sessions_between` would return, in one
    /// statement whatever their number.
    async fn attendance_between(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &SessionFilter,
    ) -> Result<Vec<Attendance>>;
    async fn add_closure(
        &self,
        org: OrganizationId,
        site: SiteId,
        date: NaiveDate,
        reason: &str,
        audit: crate::audit::AuditEvent,
    ) -> Result<Closure>;
    async fn closures(&self, org: OrganizationId, site: SiteId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Closure>>;
    async fn create_feed(
        &self,
        org: OrganizationId,
        owner: FeedOwner,
        owner_id: &str,
        token_hash: &str,
        audit: crate::audit::AuditEvent,
    ) -> Result<CalendarFeed>;
    /// The feed behind a token (any organization), if not revoked.
    async fn feed(&self, token_hash: &str) -> Result<Option<(OrganizationId, CalendarFeed)>>;
    async fn feeds(&self, org: OrganizationId, owner: FeedOwner, owner_id: &str) -> Result<Vec<CalendarFeed>>;
    /// One feed of the organization by its id (revoked or not).
    async fn calendar_feed(&self, org: OrganizationId, id: FeedId) -> Result<Option<CalendarFeed>>;
    async fn revoke_feed(&self, org: OrganizationId, id: FeedId, audit: crate::audit::AuditEvent) -> Result<()>;
    /// Records population exceptions (a clinician's reason, who and when), each with its audit
    /// entry, in the caller's unit of work.
    async fn record_population_exceptions(
        &self,
        org: OrganizationId,
        exceptions: &[PopulationException],
        audits: &[crate::audit::AuditEvent],
    ) -> Result<()>;
    /// The population exceptions recorded for these patients.
    async fn population_exceptions(&self, org: OrganizationId, patients: &[PatientId]) -> Result<Vec<PopulationException>>;
    /// Takes family members off sessions after their consent was revoked, keeping the list of
    /// what changed (`family_removals`) with one audit entry.
    async fn remove_family(&self, org: OrganizationId, removals: &[FamilyRemoval], audit: crate::audit::AuditEvent) -> Result<()>;
    /// Which family members a revocation took off which sessions.
    async fn family_removals(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<FamilyRemoval>>;
}

/// A family member taken off a future session because the consent that let them take part was
/// revoked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilyRemoval {
    pub consent_id: ConsentId,
    pub session_id: SessionId,
    pub patient_id: PatientId,
    pub collateral_id: CollateralId,
    pub removed_by: UserId,
    pub removed_at: DateTime<Utc>,
}

/// The family members to take off sessions once consents changed: every (patient, family
/// member) pair of a scheduled session starting after `now` with no consent in force on its
/// date any more.
pub fn family_without_consent(
    sessions: &[Session],
    consents: &[Consent],
    collaterals: &[Collateral],
    now: DateTime<Utc>,
) -> Vec<(SessionId, PatientId, CollateralId)> {
    let mut out = Vec::new();
    for s in sessions.iter().filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > now) {
        for (p, c) in &s.family {
            let covered =
                collaterals.iter().find(|x| x.id == *c).is_some_and(|col| require_consent_for(consents, col, s.local_date).is_ok());
            if !covered {
                out.push((s.id, *p, *c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
