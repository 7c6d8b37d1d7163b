//! What an IOP offers and who delivers it: rooms, programs and tracks with weekly templates,
//! the service catalogue, staff profiles and credentials, and the one credential rule.
use crate::error::Fields;
use crate::ids::{OrganizationId, ProgramId, SiteId, UserId};
use crate::tenancy::{Slug, UsState, required_text};
use crate::{DomainError, Result};
use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

ids!(RoomId, TrackId, TemplateSessionId, ServiceTypeId, CredentialId);

vocabulary!(
    /// What a program treats.
    ConditionFocus, "condition_focus" {
    SubstanceUse => "substance_use", "Substance use";
    MentalHealth => "mental_health", "Mental health";
    EatingDisorders => "eating_disorders", "Eating disorders";
    CoOccurring => "co_occurring", "Co-occurring disorders";
});

vocabulary!(Population, "population" {
    Adult => "adult", "Adults";
    Adolescent => "adolescent", "Adolescents";
});

vocabulary!(DeliveryMode, "delivery_mode" {
    InPerson => "in_person", "In person";
    Virtual => "virtual", "Virtual";
    Hybrid => "hybrid", "Hybrid";
});

vocabulary!(RoomKind, "kind" {
    Group => "group", "Group room";
    Office => "office", "Office";
});

vocabulary!(
    /// Evidence-based practices staff are trained in and sessions deliver.
    Modality, "modality" {
    Cbt => "cbt", "Cognitive behavioral therapy (CBT)";
    Dbt => "dbt", "Dialectical behavior therapy (DBT)";
    Mi => "mi", "Motivational interviewing (MI)";
    TwelveStep => "twelve_step", "12-Step facilitation";
    Matrix => "matrix", "Matrix Model";
    TherapeuticCommunity => "therapeutic_community", "Therapeutic community";
    Cra => "cra", "Community reinforcement approach (CRA)";
    ContingencyManagement => "contingency_management", "Contingency management";
    FamilyTherapy => "family_therapy", "Family therapy";
    Act => "act", "Acceptance and commitment therapy (ACT)";
    Emdr => "emdr", "EMDR";
    Psychoeducation => "psychoeducation", "Psychoeducation";
    RelapsePrevention => "relapse_prevention", "Relapse prevention";
});

vocabulary!(
    /// Licences and certifications staff hold.
    CredentialType, "credential_type" {
    Lpc => "LPC", "Licensed Professional Counselor (LPC)";
    Lcsw => "LCSW", "Licensed Clinical Social Worker (LCSW)";
    Lmft => "LMFT", "Licensed Marriage and Family Therapist (LMFT)";
    Lmhc => "LMHC", "Licensed Mental Health Counselor (LMHC)";
    Psychologist => "PSYCHOLOGIST", "Licensed psychologist";
    Lcdc => "LCDC", "Licensed Chemical Dependency Counselor (LCDC)";
    Cadc => "CADC", "Certified Alcohol and Drug Counselor (CADC)";
    Md => "MD", "Physician (MD)";
    Do => "DO", "Physician (DO)";
    Np => "NP", "Nurse practitioner (NP)";
    Pa => "PA", "Physician assistant (PA)";
    Rn => "RN", "Registered nurse (RN)";
    PeerSpecialist => "CPS", "Certified peer specialist";
    LpcAssociate => "LPC-ASSOCIATE", "LPC Associate (supervised)";
    Lmsw => "LMSW", "Licensed Master Social Worker (supervised)";
    LmftAssociate => "LMFT-ASSOCIATE", "LMFT Associate (supervised)";
});

impl CredentialType {
    /// Associate licences practise under a supervisor; their notes need co-signature.
    pub fn is_associate(self) -> bool {
        matches!(self, CredentialType::LpcAssociate | CredentialType::Lmsw | CredentialType::LmftAssociate)
    }

    /// Independently licensed to provide therapy (the seed's LPC, LCSW, LMFT, and peers).
    pub fn is_licensed_therapist(self) -> bool {
        matches!(
            self,
            CredentialType::Lpc | CredentialType::Lcsw | CredentialType::Lmft | CredentialType::Lmhc | CredentialType::Psychologist
        )
    }

    pub fn is_prescriber(self) -> bool {
        matches!(self, CredentialType::Md | CredentialType::Do | CredentialType::Np | CredentialType::Pa)
    }
}

/// A level of care as the criteria name it: (criteria edition, code), never a bare "2.1"
/// (ASAM's 4th edition renames levels; payers cite both — ../shared/reference/iop-rules.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LevelOfCare {
    pub edition: String,
    pub code: String,
}

/// Known (edition, code, name) triples. ASAM 3rd edition (2013) levels.
const LEVELS: &[(&str, &str, &str)] = &[
    ("ASAM3", "0.5", "Early intervention"),
    ("ASAM3", "1", "Outpatient services"),
    ("ASAM3", "2.1", "Intensive outpatient"),
    ("ASAM3", "2.5", "Partial hospitalization"),
    ("ASAM3", "3.1", "Clinically managed low-intensity residential"),
    ("ASAM3", "3.3", "Clinically managed population-specific high-intensity residential"),
    ("ASAM3", "3.5", "Clinically managed high-intensity residential"),
    ("ASAM3", "3.7", "Medically monitored intensive inpatient"),
    ("ASAM3", "4", "Medically managed intensive inpatient"),
    // ASAM 4th edition (2023) level table: [verify] against the published criteria.
    ("ASAM4", "1.0", "Long-term remission monitoring / outpatient"),
    ("ASAM4", "2.1", "Intensive outpatient"),
    ("ASAM4", "2.5", "High-intensity outpatient"),
    ("ASAM4", "2.7", "Medically managed intensive outpatient"),
    ("ASAM4", "3.1", "Clinically managed low-intensity residential"),
    ("ASAM4", "3.5", "Clinically managed high-intensity residential"),
    ("ASAM4", "3.7", "Medically managed residential"),
    ("ASAM4", "4.0", "Medically managed inpatient"),
];

impl LevelOfCare {
    pub fn parse(edition: &str, code: &str) -> Result<Self> {
        let (e, c) = (edition.trim().to_ascii_uppercase(), code.trim());
        if LEVELS.iter().any(|(le, lc, _)| *le == e && *lc == c) {
            Ok(Self { edition: e, code: c.to_string() })
        } else {
            Err(DomainError::field(
                "level_of_care",
                "unknown_level_of_care",
                "is not a level of care of that criteria edition (e.g. ASAM3 2.1)",
            ))
        }
    }

    /// ASAM level 2.1, the IOP level (3rd edition).
    pub fn iop() -> Self {
        Self { edition: "ASAM3".into(), code: "2.1".into() }
    }

    pub fn php() -> Self {
        Self { edition: "ASAM3".into(), code: "2.5".into() }
    }

    pub fn outpatient() -> Self {
        Self { edition: "ASAM3".into(), code: "1".into() }
    }

    pub fn name(&self) -> &'static str {
        LEVELS.iter().find(|(e, c, _)| *e == self.edition && *c == self.code).map(|(_, _, n)| *n).unwrap_or("Unknown level")
    }

    pub fn label(&self) -> String {
        let ed = if self.edition == "ASAM4" { "ASAM 4th ed." } else { "ASAM" };
        format!("{ed} {} ({})", self.code, self.name())
    }

    pub fn all() -> Vec<LevelOfCare> {
        LEVELS.iter().map(|(e, c, _)| LevelOfCare { edition: e.to_string(), code: c.to_string() }).collect()
    }

    /// Numeric rank for comparing intensity (higher is more intensive).
    pub fn rank(&self) -> f64 {
        self.code.parse().unwrap_or(0.0)
    }
}

/// The weekly hours a level of care requires, by population, with their sources; `None` for
/// levels no outpatient program delivers (residential, inpatient), whose hours OpenIOP does not
/// know. Programs may require more, never less (see [`NewProgram::parse`]).
pub fn required_weekly_hours(level: &LevelOfCare, population: Population) -> Option<f64> {
    match (level.edition.as_str(), level.code.as_str(), population) {
        // ASAM 2.1: adults 9–19 h/week, youth 6–19 h/week (DC 22-A DCMR §6329).
        (_, "2.1", Population::Adult) => Some(9.0),
        (_, "2.1", Population::Adolescent) => Some(6.0),
        // ASAM 2.5 partial hospitalization (3rd ed.) / high-intensity outpatient (4th ed.):
        // 20 h/week or more (ASAM criteria glossary; 4th-edition table [verify]).
        (_, "2.5", _) => Some(20.0),
        // ASAM 4th ed. 2.7 medically managed intensive outpatient: 20 h/week or more [verify].
        ("ASAM4", "2.7", _) => Some(20.0),
        // Outpatient and early intervention: fewer than 9 (adult) / 6 (adolescent) hours, no
        // minimum (ASAM criteria glossary).
        (_, "0.5" | "1" | "1.0", _) => Some(0.0),
        _ => None,
    }
}

/// The weekly hours a program at `level` is held to when it does not set its own; 0 where no
/// minimum is known (callers that configure a program refuse such levels).
pub fn default_weekly_hours(level: &LevelOfCare, population: Population) -> f64 {
    required_weekly_hours(level, population).unwrap_or(0.0)
}

/// Expected length of an IOP episode: 30–60 days (DC 22-A DCMR §6329).
pub const DEFAULT_EXPECTED_DAYS: (u32, u32) = (30, 60);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Room {
    pub id: RoomId,
    pub site_id: SiteId,
    pub name: String,
    pub kind: RoomKind,
    pub capacity: u32,
    pub notes: String,
}

#[derive(Debug, Clone)]
pub struct NewRoom {
    pub name: String,
    pub kind: RoomKind,
    pub capacity: u32,
    pub notes: String,
}

impl NewRoom {
    pub fn parse(name: &str, kind: &str, capacity: &str, notes: &str) -> Result<Self> {
        let mut f = Fields::new();
        let name = f.take("name", required_text("name", name, 80));
        let kind = f.take("kind", RoomKind::parse(kind));
        let capacity = f.take("capacity", positive_int("capacity", capacity, 1, 200));
        if notes.len() > 1000 {
            f.push("notes", "too_long", "must be at most 1000 characters");
        }
        f.finish()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or(RoomKind::Office),
            capacity: capacity.unwrap_or(1),
            notes: notes.trim().to_string(),
        })
    }
}

/// An integer between `min` and `max` typed into a form.
pub fn positive_int(field: &str, s: &str, min: u32, max: u32) -> Result<u32> {
    match s.trim().parse::<i64>() {
        Ok(n) if n >= min as i64 && n <= max as i64 => Ok(n as u32),
        Ok(_) => Err(DomainError::field(field, "out_of_range", &format!("must be between {min} and {max}"))),
        Err(_) => Err(DomainError::field(field, "not_a_number", "must be a whole number")),
    }
}

/// A catalogue entry: what kind of service a session is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceType {
    pub id: ServiceTypeId,
    pub organization_id: OrganizationId,
    pub code: String,
    pub name: String,
    pub default_minutes: u32,
    pub counts_toward_hours: bool,
    pub is_group: bool,
    pub family_allowed: bool,
    /// Placeholder billing codes (per payer later), e.g. "90853".
    pub billing_codes: String,
    pub permitted: Vec<CredentialType>,
}

/// One entry of the default catalogue: (code, name, minutes, counts toward IOP hours, group,
/// family may attend, billing placeholder, who may deliver it).
pub type ServiceDefault = (&'static str, &'static str, u32, bool, bool, bool, &'static str, Vec<CredentialType>);

/// The default catalogue each organization starts with.
pub fn default_service_catalogue() -> Vec<ServiceDefault> {
    use CredentialType as C;
    let therapists = vec![C::Lpc, C::Lcsw, C::Lmft, C::Lmhc, C::Psychologist, C::LpcAssociate, C::Lmsw, C::LmftAssociate];
    let mut counselors = therapists.clone();
    counselors.extend([C::Lcdc, C::Cadc, C::Rn]);
    let prescribers = vec![C::Md, C::Do, C::Np, C::Pa];
    let mut assessors = vec![C::Lpc, C::Lcsw, C::Lmft, C::Lmhc, C::Psychologist, C::LpcAssociate, C::Lmsw, C::LmftAssociate];
    assessors.extend(prescribers.iter().copied());
    let mut case_mgmt = counselors.clone();
    case_mgmt.push(C::PeerSpecialist);
    let mut screening = vec![C::Rn, C::Lcdc, C::Cadc, C::PeerSpecialist];
    screening.extend(prescribers.iter().copied());
    // (code, name, minutes, counts toward IOP hours, group, family may attend, billing placeholder, who may deliver)
    vec![
        ("individual_therapy", "Individual therapy", 60, true, false, false, "90837", therapists.clone()),
        ("group_therapy", "Group therapy", 180, true, true, false, "90853", therapists.clone()),
        ("psychoeducation_group", "Psychoeducation group", 90, true, true, false, "H0015", counselors.clone()),
        ("family_therapy", "Family therapy", 60, true, false, true, "90847", therapists.clone()),
        ("multi_family_group", "Multi-family group", 90, true, true, true, "90849", therapists),
        ("medication_management", "Medication management", 30, false, false, false, "99214", prescribers),
        ("case_management", "Case management", 30, false, false, false, "T1016", case_mgmt),
        ("drug_screen_collection", "Drug screen collection", 15, false, false, false, "H0048", screening),
        ("intake_assessment", "Intake assessment", 90, false, false, true, "90791", assessors),
        ("peer_support", "Peer support", 60, false, true, false, "H0038", vec![C::PeerSpecialist]),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    pub id: ProgramId,
    pub organization_id: OrganizationId,
    pub site_id: SiteId,
    pub name: String,
    pub slug: Slug,
    pub condition_focus: ConditionFocus,
    pub population: Population,
    pub level_of_care: LevelOfCare,
    pub weekly_hours: f64,
    pub expected_days_min: u32,
    pub expected_days_max: u32,
    pub delivery_modes: Vec<DeliveryMode>,
    /// Days between treatment-plan reviews (default 30; Medicare IOP: every other month).
    pub plan_review_days: u32,
    /// Group cap for this program's sessions (default 12).
    pub group_cap: u32,
    /// The clinician who answers for the program's risk work when an episode has no primary
    /// clinician (before the clinical directors).
    pub clinical_lead: Option<UserId>,
}

#[derive(Debug, Clone)]
pub struct NewProgram {
    pub site_id: SiteId,
    pub name: String,
    pub slug: Slug,
    pub condition_focus: ConditionFocus,
    pub population: Population,
    pub level_of_care: LevelOfCare,
    pub weekly_hours: f64,
    pub expected_days_min: u32,
    pub expected_days_max: u32,
    pub delivery_modes: Vec<DeliveryMode>,
    pub plan_review_days: u32,
    pub group_cap: u32,
    pub clinical_lead: Option<UserId>,
}

/// A program form as typed (strings), parsed all at once.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgramForm {
    pub site_id: String,
    pub name: String,
    #[serde(default)]
    pub slug: String,
    pub condition_focus: String,
    pub population: String,
    #[serde(default)]
    pub level_edition: String,
    #[serde(default)]
    pub level_code: String,
    /// Empty: the default for the level and population.
    #[serde(default)]
    pub weekly_hours: String,
    #[serde(default)]
    pub expected_days_min: String,
    #[serde(default)]
    pub expected_days_max: String,
    #[serde(default)]
    pub delivery_modes: Vec<String>,
    #[serde(default)]
    pub plan_review_days: String,
    #[serde(default)]
    pub group_cap: String,
    /// A clinician of the program's site who answers for risk work when an episode has no
    /// primary clinician. Empty: none (the clinical directors answer).
    #[serde(default)]
    pub clinical_lead_id: String,
}

impl From<&Program> for ProgramForm {
    /// The form pre-filled with a program's current settings (for editing).
    fn from(p: &Program) -> Self {
        Self {
            site_id: p.site_id.to_string(),
            name: p.name.clone(),
            slug: p.slug.to_string(),
            condition_focus: p.condition_focus.code().into(),
            population: p.population.code().into(),
            level_edition: p.level_of_care.edition.clone(),
            level_code: p.level_of_care.code.clone(),
            weekly_hours: p.weekly_hours.to_string(),
            expected_days_min: p.expected_days_min.to_string(),
            expected_days_max: p.expected_days_max.to_string(),
            delivery_modes: p.delivery_modes.iter().map(|m| m.code().to_string()).collect(),
            plan_review_days: p.plan_review_days.to_string(),
            group_cap: p.group_cap.to_string(),
            clinical_lead_id: p.clinical_lead.map(|u| u.to_string()).unwrap_or_default(),
        }
    }
}

impl NewProgram {
    pub fn parse(f: &ProgramForm) -> Result<Self> {
        let mut e = Fields::new();
        let site_id = e.take("site_id", f.site_id.parse::<SiteId>());
        let name = e.take("name", required_text("name", &f.name, 120));
        let slug = if f.slug.trim().is_empty() { e.take("slug", Slug::from_name(&f.name)) } else { e.take("slug", Slug::parse(&f.slug)) };
        let focus = e.take("condition_focus", ConditionFocus::parse(&f.condition_focus));
        let population = e.take("population", Population::parse(&f.population));
        let edition = if f.level_edition.trim().is_empty() { "ASAM3" } else { f.level_edition.as_str() };
        let code = if f.level_code.trim().is_empty() { "2.1" } else { f.level_code.as_str() };
        let level = e.take("level_of_care", LevelOfCare::parse(edition, code));
        let hours = if f.weekly_hours.trim().is_empty() {
            None
        } else {
            match f.weekly_hours.trim().parse::<f64>() {
                Ok(h) if (0.0..=60.0).contains(&h) => Some(h),
                _ => {
                    e.push("weekly_hours", "out_of_range", "must be a number of hours between 0 and 60");
                    None
                }
            }
        };
        let opt_int = |e: &mut Fields, field: &str, s: &str, default: u32, min: u32, max: u32| {
            if s.trim().is_empty() { Some(default) } else { e.take(field, positive_int(field, s, min, max)) }
        };
        let dmin = opt_int(&mut e, "expected_days_min", &f.expected_days_min, DEFAULT_EXPECTED_DAYS.0, 1, 730);
        let dmax = opt_int(&mut e, "expected_days_max", &f.expected_days_max, DEFAULT_EXPECTED_DAYS.1, 1, 730);
        if let (Some(a), Some(b)) = (dmin, dmax)
            && b < a
        {
            e.push("expected_days_max", "range_reversed", "must be at least the minimum length");
        }
        let review = opt_int(&mut e, "plan_review_days", &f.plan_review_days, 30, 1, 365);
        let cap = opt_int(&mut e, "group_cap", &f.group_cap, 12, 2, 40);
        let clinical_lead = if f.clinical_lead_id.trim().is_empty() {
            None
        } else {
            e.take(
                "clinical_lead_id",
                f.clinical_lead_id
                    .trim()
                    .parse::<UserId>()
                    .map_err(|_| DomainError::field("clinical_lead_id", "invalid_id", "choose a clinician")),
            )
        };
        let mut modes = Vec::new();
        for m in &f.delivery_modes {
            if let Some(m) = e.take("delivery_modes", DeliveryMode::parse(m))
                && !modes.contains(&m)
            {
                modes.push(m);
            }
        }
        if modes.is_empty() && e.is_empty() {
            e.push("delivery_modes", "required", "choose at least one way of delivering the program");
        }
        e.finish()?;
        let (Some(site_id), Some(name), Some(slug), Some(condition_focus), Some(population), Some(level_of_care)) =
            (site_id, name, slug, focus, population, level)
        else {
            return Err(DomainError::internal("program form incomplete after validation"));
        };
        // A program holds its patients to an intensity: a level without a known weekly minimum
        // (outpatient, residential) would show everyone "on track" at 0 h.
        let minimum = match required_weekly_hours(&level_of_care, population) {
            Some(h) if h > 0.0 => h,
            _ => {
                return Err(DomainError::field(
                    "level_code",
                    "level_not_intensive",
                    "programs run at an intensive level with weekly hours to hold patients to (ASAM 2.1, 2.5 or 4th-edition 2.7)",
                ));
            }
        };
        if hours.is_some_and(|h| h + 1e-9 < minimum) {
            return Err(DomainError::field(
                "weekly_hours",
                "below_level_minimum",
                &format!("must be at least the level's {minimum} hours a week"),
            ));
        }
        let weekly_hours = hours.unwrap_or(minimum);
        Ok(Self {
            site_id,
            name,
            slug,
            condition_focus,
            population,
            level_of_care,
            weekly_hours,
            expected_days_min: dmin.unwrap_or(30),
            expected_days_max: dmax.unwrap_or(60),
            delivery_modes: modes,
            plan_review_days: review.unwrap_or(30),
            group_cap: cap.unwrap_or(12),
            clinical_lead,
        })
    }
}

/// One recurring session of a track's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateSession {
    pub id: TemplateSessionId,
    pub service_type_id: ServiceTypeId,
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub minutes: u32,
    pub room_id: Option<RoomId>,
    pub is_virtual: bool,
    pub leader: Option<UserId>,
    pub topic: String,
    pub modality: Option<Modality>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    pub id: TrackId,
    pub program_id: ProgramId,
    pub name: String,
    pub delivery_mode: DeliveryMode,
    pub template: Vec<TemplateSession>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateForm {
    pub service_type_id: String,
    /// mon, tue, …
    pub weekday: String,
    /// HH:MM
    pub start: String,
    #[serde(default)]
    pub minutes: String,
    #[serde(default)]
    pub room_id: String,
    #[serde(default)]
    pub is_virtual: bool,
    #[serde(default)]
    pub leader_id: String,
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub modality: String,
}

pub fn parse_weekday(field: &str, s: &str) -> Result<Weekday> {
    s.trim().parse::<Weekday>().map_err(|_| DomainError::field(field, "invalid_weekday", "use a weekday such as mon or tuesday"))
}

pub fn parse_time(field: &str, s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| DomainError::field(field, "invalid_time", "use a 24-hour time such as 17:30"))
}

/// The years a date in OpenIOP can fall in: births from 1900, plans and expiries to 2100. A
/// date outside them is a typing mistake (9999-12-31), not a clinical fact.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::field(field, "invalid_date", "use a date like 2026-11-27"))?;
    if !YEARS.contains(&chrono::Datelike::year(&d)) {
        return Err(DomainError::field(field, "date_out_of_range", "must be between 1900 and 2100"));
    }
    Ok(d)
}

impl TemplateSession {
    /// Parses a template row; a session ends the same day it starts, in a room or virtually.
    pub fn parse(f: &TemplateForm, service_minutes: Option<u32>) -> Result<Self> {
        let mut e = Fields::new();
        let service = e.take(
            "service_type_id",
            f.service_type_id.parse::<ServiceTypeId>().map_err(|_| DomainError::field("service_type_id", "required", "choose a service")),
        );
        let weekday = e.take("weekday", parse_weekday("weekday", &f.weekday));
        let start = e.take("start", parse_time("start", &f.start));
        let minutes = if f.minutes.trim().is_empty() {
            service_minutes.or_else(|| {
                e.push("minutes", "required", "is required");
                None
            })
        } else {
            e.take("minutes", positive_int("minutes", &f.minutes, 5, 600))
        };
        if let (Some(s), Some(m)) = (start, minutes)
            && s + chrono::Duration::minutes(m as i64) < s
        {
            e.push("minutes", "crosses_midnight", "a session must end on the day it starts");
        }
        if let (Some(s), Some(m)) = (start, minutes) {
            let end = s.signed_duration_since(NaiveTime::MIN).num_minutes() + m as i64;
            if end > 24 * 60 {
                e.push("minutes", "crosses_midnight", "a session must end on the day it starts");
            }
        }
        let room = if f.room_id.trim().is_empty() { None } else { e.take("room_id", f.room_id.parse::<RoomId>()) };
        if !f.is_virtual && room.is_none() && f.room_id.trim().is_empty() {
            e.push("room_id", "required", "choose a room, or mark the session virtual");
        }
        let leader = if f.leader_id.trim().is_empty() { None } else { e.take("leader_id", f.leader_id.parse::<UserId>()) };
        let modality = if f.modality.trim().is_empty() { None } else { e.take("modality", Modality::parse(&f.modality)) };
        if f.topic.len() > 200 {
            e.push("topic", "too_long", "must be at most 200 characters");
        }
        e.finish()?;
        let (Some(service_type_id), Some(weekday), Some(start), Some(minutes)) = (service, weekday, start, minutes) else {
            return Err(DomainError::internal("template incomplete after validation"));
        };
        Ok(Self {
            id: TemplateSessionId::new(),
            service_type_id,
            weekday,
            start,
            minutes,
            room_id: if f.is_virtual { None } else { room },
            is_virtual: f.is_virtual,
            leader,
            topic: f.topic.trim().to_string(),
            modality,
        })
    }

    pub fn end(&self) -> NaiveTime {
        self.start + chrono::Duration::minutes(self.minutes as i64)
    }

    /// Morning (before noon), afternoon, evening (from 17:00) or weekend.
    pub fn part_of_week(&self) -> &'static str {
        if matches!(self.weekday, Weekday::Sat | Weekday::Sun) {
            "weekend"
        } else if self.start < NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN) {
            "morning"
        } else if self.start < NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN) {
            "afternoon"
        } else {
            "evening"
        }
    }
}

vocabulary!(Verification, "verification" {
    Unverified => "unverified", "Not yet verified";
    Verified => "verified", "Verified";
    Rejected => "rejected", "Rejected";
});

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credential {
    pub id: CredentialId,
    pub user_id: UserId,
    pub kind: CredentialType,
    pub number: String,
    pub state: UsState,
    pub board: String,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub verification: Verification,
    pub verified_by: Option<UserId>,
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Credential {
    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.verification == Verification::Verified && self.issued_on <= date && date <= self.expires_on
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialForm {
    pub kind: String,
    pub number: String,
    pub state: String,
    #[serde(default)]
    pub board: String,
    pub issued_on: String,
    pub expires_on: String,
}

#[derive(Debug, Clone)]
pub struct NewCredential {
    pub kind: CredentialType,
    pub number: String,
    pub state: UsState,
    pub board: String,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
}

impl NewCredential {
    pub fn parse(f: &CredentialForm) -> Result<Self> {
        let mut e = Fields::new();
        let kind = e.take("kind", CredentialType::parse(&f.kind));
        let number = e.take("number", required_text("number", &f.number, 40));
        let state = e.take("state", UsState::parse(&f.state));
        let issued = e.take("issued_on", parse_date("issued_on", &f.issued_on));
        let expires = e.take("expires_on", parse_date("expires_on", &f.expires_on));
        if let (Some(a), Some(b)) = (issued, expires)
            && b <= a
        {
            e.push("expires_on", "range_reversed", "must be after the issue date");
        }
        if f.board.len() > 120 {
            e.push("board", "too_long", "must be at most 120 characters");
        }
        e.finish()?;
        let (Some(kind), Some(number), Some(state), Some(issued_on), Some(expires_on)) = (kind, number, state, issued, expires) else {
            return Err(DomainError::internal("credential incomplete after validation"));
        };
        Ok(Self { kind, number, state, board: f.board.trim().to_string(), issued_on, expires_on })
    }
}

/// A weekly window of availability (work or school hours, or a clinician's shifts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyWindow {
    pub weekday: Weekday,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl WeeklyWindow {
    /// Parses `mon 09:00-17:00`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || DomainError::field("availability", "invalid_window", "use lines like: mon 17:00-21:00");
        let (day, times) = s.trim().split_once(' ').ok_or_else(bad)?;
        let (a, b) = times.trim().split_once('-').ok_or_else(bad)?;
        let weekday = parse_weekday("availability", day).map_err(|_| bad())?;
        let from = parse_time("availability", a).map_err(|_| bad())?;
        let to = parse_time("availability", b).map_err(|_| bad())?;
        if to <= from {
            return Err(DomainError::field("availability", "range_reversed", "a window must end after it starts"));
        }
        Ok(Self { weekday, from, to })
    }

    pub fn parse_lines(s: &str) -> Result<Vec<Self>> {
        s.lines().map(str::trim).filter(|l| !l.is_empty()).map(Self::parse).collect()
    }

    pub fn covers(&self, weekday: Weekday, from: NaiveTime, to: NaiveTime) -> bool {
        self.weekday == weekday && self.from <= from && to <= self.to
    }
}

impl fmt::Display for WeeklyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}-{}", short_weekday(self.weekday), self.from.format("%H:%M"), self.to.format("%H:%M"))
    }
}

pub fn short_weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffProfile {
    pub user_id: UserId,
    pub name: String,
    pub discipline: String,
    pub telehealth_trained: bool,
    pub telehealth_years: u32,
    pub modalities: Vec<Modality>,
    pub availability: Vec<WeeklyWindow>,
    pub max_caseload: u32,
    pub supervisor_id: Option<UserId>,
    pub credentials: Vec<Credential>,
}

/// Interstate compact privileges: which states honour a home-state licence of a type.
/// Configuration (which compacts are operational varies); the default is none.
#[derive(Debug, Clone, Default)]
pub struct CompactConfig {
    /// (credential type, member states): a licence of that type issued in a member state is
    /// valid in every other member state.
    pub compacts: Vec<(CredentialType, Vec<UsState>)>,
}

impl CompactConfig {
    fn privilege(&self, c: &Credential, state: UsState) -> bool {
        self.compacts.iter().any(|(kind, states)| *kind == c.kind && states.contains(&c.state) && states.contains(&state))
    }
}

/// What a session asks of its leader.
#[derive(Debug, Clone)]
pub struct LeadRequest<'a> {
    pub service: &'a ServiceType,
    pub date: NaiveDate,
    /// Where the patients are: the site's state in person, each patient's home state virtually.
    pub patient_states: &'a [UsState],
}

/// The one credential rule: may this staff member lead this session? Used by scheduling,
/// templates and the optimizer alike. Refusals name the staff member and the credential.
pub fn check_may_lead(staff: &StaffProfile, req: &LeadRequest<'_>, compacts: &CompactConfig) -> Result<()> {
    let who = &staff.name;
    let service = &req.service.name;
    let permitted: Vec<&Credential> = staff
        .credentials
        .iter()
        .filter(|c| req.service.permitted.contains(&c.kind))
        // An associate may deliver therapy only under a supervisor.
        .filter(|c| !c.kind.is_associate() || staff.supervisor_id.is_some())
        .collect();
    if permitted.is_empty() {
        let held: Vec<&str> = staff.credentials.iter().map(|c| c.kind.code()).collect();
        let held = if held.is_empty() { "no credentials".to_string() } else { held.join(", ") };
        return Err(DomainError::rule("credential_not_permitted", format!("{who} holds {held}, none of which permits leading {service}")));
    }
    let verified: Vec<&&Credential> = permitted.iter().filter(|c| c.verification == Verification::Verified).collect();
    if verified.is_empty() {
        let c = permitted[0];
        return Err(DomainError::rule(
            "credential_unverified",
            format!("{who}'s {} licence {} ({}) has not been verified", c.kind.code(), c.number, c.state),
        ));
    }
    let active: Vec<&Credential> = verified.iter().filter(|c| c.active_on(req.date)).map(|c| **c).collect();
    if active.is_empty() {
        let c = verified[0];
        return Err(DomainError::rule(
            "credential_expired",
            format!(
                "{who}'s {} licence {} ({}) is not valid on {} (valid {} to {})",
                c.kind.code(),
                c.number,
                c.state,
                req.date,
                c.issued_on,
                c.expires_on
            ),
        ));
    }
    for state in req.patient_states {
        if !active.iter().any(|c| c.state == *state || compacts.privilege(c, *state)) {
            let held: Vec<String> = active.iter().map(|c| format!("{} {} ({})", c.kind.code(), c.number, c.state)).collect();
            return Err(DomainError::rule(
                "license_state_mismatch",
                format!("{who} is not licensed in {state}, where a patient will be; licences held: {}", held.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Credentials expiring within `days` of `today` (directors see 30/60/90).
pub fn expiring_within(credentials: &[Credential], today: NaiveDate, days: i64) -> Vec<&Credential> {
    credentials.iter().filter(|c| c.expires_on >= today && (c.expires_on - today).num_days() <= days).collect()
}

#[cfg(test)]
mod tests;

/// The link of a virtual session: the organization's video-visit base URL and an unguessable
/// room token.
pub fn virtual_room_link(base_url: &str, token: &str) -> String {
    format!("{}/{}", base_url.trim_end_matches('/'), token)
}

/// Staff qualifications computed from live data, for the public profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffQualifications {
    pub clinical_staff: u32,
    /// (credential code, label, number of staff holding it verified and unexpired)
    pub by_credential: Vec<(String, String, u32)>,
    pub licensed: u32,
    pub share_licensed: f64,
    pub telehealth_trained: u32,
    pub share_telehealth_trained: f64,
    pub boards: Vec<String>,
}

/// A track as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicTrack {
    pub name: String,
    pub delivery_mode: DeliveryMode,
    /// e.g. ["Mon 17:30–20:30", …]
    pub times: Vec<String>,
    /// morning / afternoon / evening / weekend
    pub parts_of_week: Vec<String>,
    pub hours_per_week: f64,
}

/// The public program profile: answers the seed's "factors to consider" from live data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicProfile {
    pub name: String,
    pub slug: String,
    pub organization: String,
    pub organization_slug: String,
    pub site_city: String,
    pub site_state: String,
    pub level_of_care: String,
    pub condition_focus: String,
    pub population: String,
    pub delivery_modes: Vec<String>,
    pub required_hours_per_week: f64,
    pub expected_days_min: u32,
    pub expected_days_max: u32,
    pub plan_review_days: u32,
    pub tracks: Vec<PublicTrack>,
    /// Services scheduled in the program's weekly templates.
    pub services: Vec<String>,
    /// Comprehensive care, point by point: (service, offered).
    pub comprehensive_care: Vec<(String, bool)>,
    pub modalities: Vec<String>,
    pub staff: StaffQualifications,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Computes the profile. `staff` are the program's staff (scope covers it, or they lead its sessions).
pub fn public_profile(
    org: &crate::tenancy::Organization,
    site: &crate::tenancy::Site,
    program: &Program,
    tracks: &[Track],
    services: &[ServiceType],
    staff: &[StaffProfile],
    today: NaiveDate,
) -> PublicProfile {
    let service_of = |id: ServiceTypeId| services.iter().find(|s| s.id == id);
    let mut used: Vec<&ServiceType> = Vec::new();
    let mut modalities: Vec<Modality> = Vec::new();
    let public_tracks = tracks
        .iter()
        .map(|t| {
            let mut sessions: Vec<&TemplateSession> = t.template.iter().collect();
            sessions.sort_by_key(|s| (s.weekday.num_days_from_monday(), s.start));
            let mut parts: Vec<String> = Vec::new();
            let mut hours = 0.0;
            for s in &sessions {
                if let Some(svc) = service_of(s.service_type_id) {
                    if !used.iter().any(|u| u.id == svc.id) {
                        used.push(svc);
                    }
                    if svc.counts_toward_hours {
                        hours += s.minutes as f64 / 60.0;
                    }
                }
                if let Some(m) = s.modality
                    && !modalities.contains(&m)
                {
                    modalities.push(m);
                }
                let p = s.part_of_week().to_string();
                if !parts.contains(&p) {
                    parts.push(p);
                }
            }
            PublicTrack {
                name: t.name.clone(),
                delivery_mode: t.delivery_mode,
                times: sessions
                    .iter()
                    .map(|s| {
                        let day = short_weekday(s.weekday);
                        let mut d = day.to_string();
                        d[..1].make_ascii_uppercase();
                        format!("{d} {}–{}", s.start.format("%H:%M"), s.end().format("%H:%M"))
                    })
                    .collect(),
                parts_of_week: parts,
                hours_per_week: round1(hours),
            }
        })
        .collect();
    for p in staff {
        for m in &p.modalities {
            if !modalities.contains(m) {
                modalities.push(*m);
            }
        }
    }
    modalities.sort();
    let offered = |code: &str| used.iter().any(|s| s.code == code);
    let comprehensive_care = vec![
        ("Individual therapy".to_string(), offered("individual_therapy")),
        ("Group therapy".to_string(), offered("group_therapy") || offered("psychoeducation_group")),
        ("Family therapy".to_string(), offered("family_therapy") || offered("multi_family_group")),
        ("Medication management".to_string(), offered("medication_management")),
    ];
    let mut by: Vec<(String, String, u32)> = Vec::new();
    let mut boards: Vec<String> = Vec::new();
    let (mut licensed, mut tele) = (0u32, 0u32);
    for p in staff {
        let active: Vec<&Credential> = p.credentials.iter().filter(|c| c.active_on(today)).collect();
        let mut kinds: Vec<CredentialType> = active.iter().map(|c| c.kind).collect();
        kinds.sort();
        kinds.dedup();
        for k in &kinds {
            match by.iter_mut().find(|(code, _, _)| code == k.code()) {
                Some(e) => e.2 += 1,
                None => by.push((k.code().to_string(), k.label().to_string(), 1)),
            }
        }
        if kinds.iter().any(|k| k.is_licensed_therapist() || k.is_prescriber() || matches!(k, CredentialType::Lcdc | CredentialType::Rn)) {
            licensed += 1;
        }
        if p.telehealth_trained {
            tele += 1;
        }
        for c in active {
            if !c.board.is_empty() && !boards.contains(&c.board) {
                boards.push(c.board.clone());
            }
        }
    }
    by.sort();
    boards.sort();
    let n = staff.len() as u32;
    let share = |k: u32| if n == 0 { 0.0 } else { round1(100.0 * k as f64 / n as f64) };
    PublicProfile {
        name: program.name.clone(),
        slug: program.slug.to_string(),
        organization: org.name.clone(),
        organization_slug: org.slug.to_string(),
        site_city: site.address.city.clone(),
        site_state: site.address.state.to_string(),
        level_of_care: program.level_of_care.label(),
        condition_focus: program.condition_focus.label().to_string(),
        population: program.population.label().to_string(),
        delivery_modes: program.delivery_modes.iter().map(|m| m.label().to_string()).collect(),
        required_hours_per_week: program.weekly_hours,
        expected_days_min: program.expected_days_min,
        expected_days_max: program.expected_days_max,
        plan_review_days: program.plan_review_days,
        tracks: public_tracks,
        services: used.iter().map(|s| s.name.clone()).collect(),
        comprehensive_care,
        modalities: modalities.iter().map(|m| m.label().to_string()).collect(),
        staff: StaffQualifications {
            clinical_staff: n,
            by_credential: by,
            licensed,
            share_licensed: share(licensed),
            telehealth_trained: tele,
            share_telehealth_trained: share(tele),
            boards,
        },
    }
}

/// Staff fields as typed into the profile form.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffProfileForm {
    #[serde(default)]
    pub discipline: String,
    #[serde(default)]
    pub telehealth_trained: bool,
    #[serde(default)]
    pub telehealth_years: String,
    #[serde(default)]
    pub modalities: Vec<String>,
    /// One window per line: `mon 09:00-17:00`.
    #[serde(default)]
    pub availability: String,
    #[serde(default)]
    pub max_caseload: String,
    #[serde(default)]
    pub supervisor_id: String,
}

#[derive(Debug, Clone)]
pub struct StaffProfileUpdate {
    pub discipline: String,
    pub telehealth_trained: bool,
    pub telehealth_years: u32,
    pub modalities: Vec<Modality>,
    pub availability: Vec<WeeklyWindow>,
    pub max_caseload: u32,
    pub supervisor_id: Option<UserId>,
}

impl StaffProfileUpdate {
    pub fn parse(f: &StaffProfileForm) -> Result<Self> {
        let mut e = Fields::new();
        let discipline = e.take("discipline", required_text("discipline", &f.discipline, 80));
        let years = if f.telehealth_years.trim().is_empty() {
            Some(0)
        } else {
            e.take("telehealth_years", positive_int("telehealth_years", &f.telehealth_years, 0, 60))
        };
        let mut modalities = Vec::new();
        for m in &f.modalities {
            if let Some(m) = e.take("modalities", Modality::parse(m))
                && !modalities.contains(&m)
            {
                modalities.push(m);
            }
        }
        let availability = e.take("availability", WeeklyWindow::parse_lines(&f.availability));
        let caseload = if f.max_caseload.trim().is_empty() {
            Some(20)
        } else {
            e.take("max_caseload", positive_int("max_caseload", &f.max_caseload, 0, 500))
        };
        let supervisor = if f.supervisor_id.trim().is_empty() { None } else { e.take("supervisor_id", f.supervisor_id.parse::<UserId>()) };
        e.finish()?;
        Ok(Self {
            discipline: discipline.unwrap_or_default(),
            telehealth_trained: f.telehealth_trained,
            telehealth_years: years.unwrap_or(0),
            modalities,
            availability: availability.unwrap_or_default(),
            max_caseload: caseload.unwrap_or(20),
            supervisor_id: supervisor,
        })
    }
}

/// Storage of programs, tracks, rooms, services and staff.
#[async_trait::async_trait]
pub trait ProgramStore: Send + Sync {
    async fn set_video_base_url(&self, org: OrganizationId, url: Option<&str>, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn video_base_url(&self, org: OrganizationId) -> Result<Option<String>>;
    async fn create_room(&self, org: OrganizationId, site: SiteId, room: NewRoom, audit: crate::audit::AuditEvent) -> Result<Room>;
    async fn rooms(&self, org: OrganizationId) -> Result<Vec<Room>>;
    async fn service_types(&self, org: OrganizationId) -> Result<Vec<ServiceType>>;
    async fn create_program(&self, org: OrganizationId, program: NewProgram, audit: crate::audit::AuditEvent) -> Result<Program>;
    async fn update_program(
        &self,
        org: OrganizationId,
        id: ProgramId,
        program: NewProgram,
        audit: crate::audit::AuditEvent,
    ) -> Result<Program>;
    async fn programs(&self, org: OrganizationId) -> Result<Vec<Program>>;
    async fn program(&self, org: OrganizationId, id: ProgramId) -> Result<Program>;
    /// Any organization's program by its public slug.
    async fn program_by_slug(&self, slug: &str) -> Result<Option<Program>>;
    async fn create_track(
        &self,
        org: OrganizationId,
        program: ProgramId,
        name: &str,
        mode: DeliveryMode,
        audit: crate::audit::AuditEvent,
    ) -> Result<Track>;
    async fn add_template_session(
        &self,
        org: OrganizationId,
        track: TrackId,
        session: TemplateSession,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn remove_template_session(&self, org: OrganizationId, id: TemplateSessionId, audit: crate::audit::AuditEvent) -> Result<()>;
    /// Tracks of a program (or of every program when `None`), templates included.
    async fn tracks(&self, org: OrganizationId, program: Option<ProgramId>) -> Result<Vec<Track>>;
    async fn track(&self, org: OrganizationId, id: TrackId) -> Result<Track>;
    async fn save_staff_profile(
        &self,
        org: OrganizationId,
        user: UserId,
        profile: StaffProfileUpdate,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn add_credential(
        &self,
        org: OrganizationId,
        user: UserId,
        credential: NewCredential,
        audit: crate::audit::AuditEvent,
    ) -> Result<Credential>;
    async fn verify_credential(
        &self,
        org: OrganizationId,
        id: CredentialId,
        status: Verification,
        by: UserId,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    /// Every staff member with a profile or credentials, credentials included (two queries).
    async fn staff_profiles(&self, org: OrganizationId) -> Result<Vec<StaffProfile>>;
}
