//! Patients from referral to discharge: the record, episodes of care with two level-of-care
//! lines, transitions, discharge with aftercare, and 42 CFR Part 2 consents.
use crate::error::Fields;
use crate::ids::{OrganizationId, ProgramId, SiteId, UserId};
use crate::programs::{DeliveryMode, LevelOfCare, TrackId, WeeklyWindow, parse_date};
use crate::tenancy::{UsState, required_text};
use crate::{DomainError, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

record_ids!(PatientId, EpisodeId, ReferralId, ConsentId, CollateralId, CoverageId);

vocabulary!(ReferralSource, "source" {
    SelfReferral => "self", "Self";
    Family => "family", "Family";
    InpatientStepDown => "inpatient_step_down", "Inpatient step-down";
    ResidentialStepDown => "residential_step_down", "Residential step-down";
    EmergencyDepartment => "emergency_department", "Emergency department";
    Court => "court", "Court / criminal justice";
    Employer => "employer", "Employer / EAP";
    PrimaryCare => "primary_care", "Primary care";
    Other => "other", "Other";
});

vocabulary!(Urgency, "urgency" {
    Routine => "routine", "Routine";
    Urgent => "urgent", "Urgent";
    Emergent => "emergent", "Emergent";
});

vocabulary!(ReferralStatus, "status" {
    New => "new", "New";
    Screening => "screening", "Screening";
    Accepted => "accepted", "Accepted";
    Declined => "declined", "Declined";
    Waitlisted => "waitlisted", "Waitlisted";
});

impl ReferralStatus {
    /// new → screening → accepted / declined / waitlisted; a waitlisted referral may be screened
    /// again or accepted; accepted and declined are final.
    pub fn can_move_to(self, next: ReferralStatus) -> bool {
        use ReferralStatus as S;
        matches!(
            (self, next),
            (S::New, S::Screening)
                | (S::New, S::Declined)
                | (S::New, S::Waitlisted)
                | (S::New, S::Accepted)
                | (S::Screening, S::Accepted)
                | (S::Screening, S::Declined)
                | (S::Screening, S::Waitlisted)
                | (S::Waitlisted, S::Screening)
                | (S::Waitlisted, S::Accepted)
                | (S::Waitlisted, S::Declined)
        )
    }
}

vocabulary!(Sex, "sex" {
    Female => "female", "Female";
    Male => "male", "Male";
    Intersex => "intersex", "Intersex";
    Unknown => "unknown", "Not recorded";
});

vocabulary!(DeliveryPreference, "delivery_preference" {
    InPerson => "in_person", "In person";
    Virtual => "virtual", "Virtual";
    Either => "either", "Either";
});

impl DeliveryPreference {
    pub fn accepts(self, mode: DeliveryMode) -> bool {
        match self {
            DeliveryPreference::Either => true,
            DeliveryPreference::InPerson => mode != DeliveryMode::Virtual,
            DeliveryPreference::Virtual => mode != DeliveryMode::InPerson,
        }
    }
}

vocabulary!(EpisodeStatus, "status" {
    Admitted => "admitted", "Admitted";
    Active => "active", "Active";
    OnHold => "on_hold", "On hold";
    Discharged => "discharged", "Discharged";
});

vocabulary!(LevelLine, "line" {
    Clinical => "clinical", "Clinical level delivered";
    Authorized => "authorized", "Level authorized by the payer";
});

vocabulary!(DischargeKind, "kind" {
    Completed => "completed", "Completed treatment";
    AgainstAdvice => "against_advice", "Left against clinical advice";
    Administrative => "administrative", "Administrative discharge";
    Transferred => "transferred", "Transferred";
    Other => "other", "Other";
});

/// An ICD-10-CM code such as `F10.20`: a letter (not U), two characters, then up to four more
/// after the dot (CDC ICD-10-CM code structure).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Icd10(String);

impl Icd10 {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_uppercase();
        let bad = || DomainError::field("diagnosis", "invalid_icd10", "is not an ICD-10-CM code (e.g. F10.20)");
        let (cat, sub) = match s.split_once('.') {
            Some((c, r)) => (c, Some(r)),
            None => (s.as_str(), None),
        };
        let c: Vec<char> = cat.chars().collect();
        let ok_cat = c.len() == 3 && c[0].is_ascii_uppercase() && c[0] != 'U' && c[1].is_ascii_digit() && c[2].is_ascii_alphanumeric();
        let ok_sub = sub.is_none_or(|r| (1..=4).contains(&r.len()) && r.chars().all(|x| x.is_ascii_digit() || x.is_ascii_uppercase()));
        if ok_cat && ok_sub { Ok(Self(s)) } else { Err(bad()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short description for common IOP diagnoses (ICD-10-CM titles, abridged); empty otherwise.
    pub fn common_title(&self) -> &'static str {
        COMMON_DIAGNOSES.iter().find(|(c, _)| *c == self.0).map(|(_, t)| *t).unwrap_or("")
    }
}

impl fmt::Display for Icd10 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Frequent IOP diagnoses with their ICD-10-CM titles (abridged).
pub const COMMON_DIAGNOSES: &[(&str, &str)] = &[
    ("F10.10", "Alcohol abuse, uncomplicated"),
    ("F10.20", "Alcohol dependence, uncomplicated"),
    ("F10.21", "Alcohol dependence, in remission"),
    ("F11.20", "Opioid dependence, uncomplicated"),
    ("F11.21", "Opioid dependence, in remission"),
    ("F12.20", "Cannabis dependence, uncomplicated"),
    ("F14.20", "Cocaine dependence, uncomplicated"),
    ("F15.20", "Other stimulant dependence, uncomplicated"),
    ("F32.1", "Major depressive disorder, single episode, moderate"),
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F33.2", "Major depressive disorder, recurrent severe without psychotic features"),
    ("F41.1", "Generalized anxiety disorder"),
    ("F43.10", "Post-traumatic stress disorder, unspecified"),
    ("F50.00", "Anorexia nervosa, unspecified"),
    ("F50.2", "Bulimia nervosa"),
    ("F50.81", "Binge eating disorder"),
    ("F31.81", "Bipolar II disorder"),
    ("F60.3", "Borderline personality disorder"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub code: Icd10,
    pub description: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyContact {
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub id: CoverageId,
    pub payer: String,
    pub member_id: String,
    pub group_number: String,
}

/// A family member or other collateral contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collateral {
    pub id: CollateralId,
    pub name: String,
    pub relationship: String,
    pub phone: String,
    pub email: String,
}

/// The demographic part of a patient record, as it is typed at referral or registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientDetails {
    pub legal_first: String,
    pub legal_last: String,
    pub preferred_name: String,
    pub pronouns: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub phone: String,
    pub email: String,
    pub emergency_contact: Option<EmergencyContact>,
    pub line1: String,
    pub city: String,
    /// Where the patient lives (and is when attending virtually): the licence rule uses it.
    pub state: UsState,
    pub postal_code: String,
    pub preferred_language: String,
    /// Weekly windows when the patient can attend (outside work or school).
    pub availability: Vec<WeeklyWindow>,
    pub delivery_preference: DeliveryPreference,
}

impl PatientDetails {
    pub fn display_name(&self) -> String {
        let first = if self.preferred_name.is_empty() { &self.legal_first } else { &self.preferred_name };
        format!("{first} {}", self.legal_last)
    }

    pub fn age_on(&self, date: NaiveDate) -> i32 {
        use chrono::Datelike;
        let mut age = date.year() - self.date_of_birth.year();
        if (date.month(), date.day()) < (self.date_of_birth.month(), self.date_of_birth.day()) {
            age -= 1;
        }
        age
    }
}

/// The patient form as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatientForm {
    #[serde(default)]
    pub legal_first: String,
    #[serde(default)]
    pub legal_last: String,
    #[serde(default)]
    pub preferred_name: String,
    #[serde(default)]
    pub pronouns: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub date_of_birth: String,
    /// female | male | intersex | unknown
    #[serde(default)]
    pub sex: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub emergency_name: String,
    #[serde(default)]
    pub emergency_relationship: String,
    #[serde(default)]
    pub emergency_phone: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub city: String,
    /// USPS state code of the home address (the licence rule uses it).
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub preferred_language: String,
    /// One window per line: `mon 18:00-21:00`.
    #[serde(default)]
    pub availability: String,
    /// in_person | virtual | either
    #[serde(default)]
    pub delivery_preference: String,
}

fn optional_text(f: &mut Fields, field: &str, s: &str, max: usize) -> String {
    let t = s.trim();
    if t.chars().count() > max {
        f.push(field, "too_long", &format!("must be at most {max} characters"));
    }
    t.to_string()
}

impl PatientDetails {
    pub fn parse(p: &PatientForm, today: NaiveDate) -> Result<Self> {
        let mut f = Fields::new();
        let first = f.take("legal_first", required_text("legal_first", &p.legal_first, 80));
        let last = f.take("legal_last", required_text("legal_last", &p.legal_last, 80));
        let dob = f.take("date_of_birth", parse_date("date_of_birth", &p.date_of_birth));
        if let Some(d) = dob {
            if d > today {
                f.push("date_of_birth", "date_in_future", "cannot be in the future");
            } else if today.signed_duration_since(d).num_days() > 125 * 366 {
                f.push("date_of_birth", "implausible_date", "is more than 125 years ago");
            }
        }
        let sex = if p.sex.trim().is_empty() { Some(Sex::Unknown) } else { f.take("sex", Sex::parse(&p.sex)) };
        let state = f.take("state", UsState::parse(&p.state));
        let availability = f.take("availability", WeeklyWindow::parse_lines(&p.availability));
        let pref = if p.delivery_preference.trim().is_empty() {
            Some(DeliveryPreference::Either)
        } else {
            f.take("delivery_preference", DeliveryPreference::parse(&p.delivery_preference))
        };
        let email = p.email.trim();
        if !email.is_empty() && crate::users::Email::parse(email).is_err() {
            f.push("email", "invalid_email", "is not an email address");
        }
        let postal = p.postal_code.trim();
        if !postal.is_empty() && (!(postal.len() == 5 || postal.len() == 10) || !postal.chars().all(|c| c.is_ascii_digit() || c == '-')) {
            f.push("postal_code", "invalid_postal_code", "use a 5-digit or ZIP+4 code");
        }
        let preferred = optional_text(&mut f, "preferred_name", &p.preferred_name, 80);
        let pronouns = optional_text(&mut f, "pronouns", &p.pronouns, 40);
        let phone = optional_text(&mut f, "phone", &p.phone, 40);
        let line1 = optional_text(&mut f, "line1", &p.line1, 200);
        let city = optional_text(&mut f, "city", &p.city, 120);
        let lang = optional_text(&mut f, "preferred_language", &p.preferred_language, 40);
        let ec_name = optional_text(&mut f, "emergency_name", &p.emergency_name, 120);
        let ec_rel = optional_text(&mut f, "emergency_relationship", &p.emergency_relationship, 60);
        let ec_phone = optional_text(&mut f, "emergency_phone", &p.emergency_phone, 40);
        f.finish()?;
        let (
            Some(legal_first),
            Some(legal_last),
            Some(date_of_birth),
            Some(sex),
            Some(state),
            Some(availability),
            Some(delivery_preference),
        ) = (first, last, dob, sex, state, availability, pref)
        else {
            return Err(DomainError::internal("patient form incomplete after validation"));
        };
        Ok(Self {
            legal_first,
            legal_last,
            preferred_name: preferred,
            pronouns,
            date_of_birth,
            sex,
            phone,
            email: email.to_lowercase(),
            emergency_contact: (!ec_name.is_empty()).then_some(EmergencyContact { name: ec_name, relationship: ec_rel, phone: ec_phone }),
            line1,
            city,
            state,
            postal_code: postal.to_string(),
            preferred_language: if lang.is_empty() { "English".into() } else { lang },
            availability,
            delivery_preference,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patient {
    pub id: PatientId,
    pub organization_id: OrganizationId,
    /// The site whose staff care for the patient (scope).
    pub site_id: SiteId,
    pub mrn: String,
    pub details: PatientDetails,
    pub coverages: Vec<Coverage>,
    pub collaterals: Vec<Collateral>,
}

/// A row of a patient list or search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientSummary {
    pub id: PatientId,
    pub site_id: SiteId,
    pub mrn: String,
    pub name: String,
    pub date_of_birth: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferringContact {
    pub name: String,
    pub organization: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Referral {
    pub id: ReferralId,
    pub organization_id: OrganizationId,
    pub site_id: SiteId,
    pub program_id: Option<ProgramId>,
    pub source: ReferralSource,
    pub contact: ReferringContact,
    pub reason: String,
    pub urgency: Urgency,
    pub status: ReferralStatus,
    pub status_reason: String,
    /// The level the patient comes from (e.g. ASAM 3.5 for a residential step-down).
    pub from_level: Option<LevelOfCare>,
    pub patient: PatientDetails,
    pub patient_id: Option<PatientId>,
    pub received_on: NaiveDate,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferralForm {
    #[serde(default)]
    pub site_id: String,
    #[serde(default)]
    pub program_id: String,
    /// self | family | inpatient_step_down | residential_step_down | emergency_department | court | employer | primary_care | other
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_organization: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub reason: String,
    /// routine | urgent | emergent
    #[serde(default)]
    pub urgency: String,
    #[serde(default)]
    pub from_level_edition: String,
    /// The level the patient comes from, e.g. 3.5 for a residential step-down.
    #[serde(default)]
    pub from_level_code: String,
    #[serde(flatten)]
    pub patient: PatientForm,
}

#[derive(Debug, Clone)]
pub struct NewReferral {
    pub site_id: SiteId,
    pub program_id: Option<ProgramId>,
    pub source: ReferralSource,
    pub contact: ReferringContact,
    pub reason: String,
    pub urgency: Urgency,
    pub from_level: Option<LevelOfCare>,
    pub patient: PatientDetails,
}

impl NewReferral {
    pub fn parse(r: &ReferralForm, today: NaiveDate) -> Result<Self> {
        let mut f = Fields::new();
        let site = f.take("site_id", r.site_id.parse::<SiteId>().map_err(|_| DomainError::field("site_id", "required", "choose a site")));
        let program = if r.program_id.trim().is_empty() { None } else { f.take("program_id", r.program_id.parse::<ProgramId>()) };
        let source = f.take("source", ReferralSource::parse(&r.source));
        let urgency = if r.urgency.trim().is_empty() { Some(Urgency::Routine) } else { f.take("urgency", Urgency::parse(&r.urgency)) };
        let reason = f.take("reason", required_text("reason", &r.reason, 2000));
        let from_level = if r.from_level_code.trim().is_empty() {
            None
        } else {
            let ed = if r.from_level_edition.trim().is_empty() { "ASAM3" } else { r.from_level_edition.as_str() };
            f.take("from_level_code", LevelOfCare::parse(ed, &r.from_level_code))
        };
        let contact = ReferringContact {
            name: optional_text(&mut f, "contact_name", &r.contact_name, 120),
            organization: optional_text(&mut f, "contact_organization", &r.contact_organization, 120),
            phone: optional_text(&mut f, "contact_phone", &r.contact_phone, 40),
        };
        let patient = match PatientDetails::parse(&r.patient, today) {
            Ok(p) => Some(p),
            Err(DomainError::Validation(errs)) => {
                for e in errs {
                    f.push(&e.field, &e.code, &e.message);
                }
                None
            }
            Err(e) => return Err(e),
        };
        f.finish()?;
        let (Some(site_id), Some(source), Some(urgency), Some(reason), Some(patient)) = (site, source, urgency, reason, patient) else {
            return Err(DomainError::internal("referral incomplete after validation"));
        };
        Ok(Self { site_id, program_id: program, source, contact, reason, urgency, from_level, patient })
    }
}

/// One stretch of a level-of-care line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelSpan {
    pub line: LevelLine,
    pub level: LevelOfCare,
    pub from: NaiveDate,
    /// Inclusive last day; open while current.
    pub to: Option<NaiveDate>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aftercare {
    pub appointments: String,
    pub supports: String,
    pub relapse_prevention: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discharge {
    pub date: NaiveDate,
    pub kind: DischargeKind,
    pub reason: String,
    pub next_level: Option<LevelOfCare>,
    pub next_provider: String,
    pub aftercare: Aftercare,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episode {
    pub id: EpisodeId,
    pub organization_id: OrganizationId,
    pub patient_id: PatientId,
    pub program_id: ProgramId,
    pub site_id: SiteId,
    pub track_id: Option<TrackId>,
    pub admitted_on: NaiveDate,
    pub primary_clinician: Option<UserId>,
    pub status: EpisodeStatus,
    pub diagnoses: Vec<Diagnosis>,
    pub levels: Vec<LevelSpan>,
    pub reassessment_due: bool,
    pub plan_review_due: bool,
    pub discharge: Option<Discharge>,
    pub referral_id: Option<ReferralId>,
}

impl Episode {
    pub fn current_level(&self, line: LevelLine) -> Option<&LevelSpan> {
        self.levels.iter().filter(|s| s.line == line).max_by_key(|s| s.from)
    }

    /// The level in force on a date for a line.
    pub fn level_on(&self, line: LevelLine, date: NaiveDate) -> Option<&LevelOfCare> {
        self.levels.iter().filter(|s| s.line == line && s.from <= date && s.to.is_none_or(|t| date <= t)).map(|s| &s.level).next()
    }

    /// Day N of the episode (admission day is day 1).
    pub fn day_number(&self, today: NaiveDate) -> i64 {
        let end = self.discharge.as_ref().map(|d| d.date).unwrap_or(today);
        (end - self.admitted_on).num_days() + 1
    }

    pub fn is_open(&self) -> bool {
        self.status != EpisodeStatus::Discharged
    }

    /// Refuses changes to a discharged episode.
    pub fn require_open(&self) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(DomainError::conflict("episode_discharged", "this episode of care has been discharged; admit the patient to a new episode"))
        }
    }

    pub fn levels_differ_on(&self, date: NaiveDate) -> bool {
        match (self.level_on(LevelLine::Clinical, date), self.level_on(LevelLine::Authorized, date)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }
}

/// What admitting a patient needs.
#[derive(Debug, Clone)]
pub struct Admission {
    pub program_id: ProgramId,
    pub track_id: Option<TrackId>,
    pub admitted_on: NaiveDate,
    pub primary_clinician: Option<UserId>,
    pub level: LevelOfCare,
    pub authorized_level: Option<LevelOfCare>,
    pub diagnoses: Vec<Diagnosis>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdmissionForm {
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub track_id: String,
    /// YYYY-MM-DD (default today)
    #[serde(default)]
    pub admitted_on: String,
    #[serde(default)]
    pub primary_clinician_id: String,
    /// Default ASAM3.
    #[serde(default)]
    pub level_edition: String,
    /// Default 2.1.
    #[serde(default)]
    pub level_code: String,
    /// Empty when the payer has not authorized yet.
    #[serde(default)]
    pub authorized_level_code: String,
    /// Codes separated by commas or spaces; the first is primary.
    #[serde(default)]
    pub diagnoses: String,
    #[serde(default)]
    pub reason: String,
    /// Needed only to admit a minor to an adult program or an adult to an adolescent one: the
    /// clinician's reason for the exception (a sentence; recorded with who and when, audited).
    #[serde(default)]
    pub population_exception_reason: String,
}

pub fn parse_diagnoses(s: &str) -> Result<Vec<Diagnosis>> {
    let mut out: Vec<Diagnosis> = Vec::new();
    for (i, code) in s.split(|c: char| c == ',' || c.is_whitespace() || c == ';').filter(|c| !c.is_empty()).enumerate() {
        let code = Icd10::parse(code)
            .map_err(|_| DomainError::field("diagnoses", "invalid_icd10", &format!("{code} is not an ICD-10-CM code (e.g. F10.20)")))?;
        if out.iter().any(|d| d.code == code) {
            continue;
        }
        out.push(Diagnosis { description: code.common_title().to_string(), code, primary: i == 0 });
    }
    Ok(out)
}

impl Admission {
    pub fn parse(a: &AdmissionForm, today: NaiveDate) -> Result<Self> {
        let mut f = Fields::new();
        let program = f.take(
            "program_id",
            a.program_id.parse::<ProgramId>().map_err(|_| DomainError::field("program_id", "required", "choose a program")),
        );
        let track = if a.track_id.trim().is_empty() { None } else { f.take("track_id", a.track_id.parse::<TrackId>()) };
        let date =
            if a.admitted_on.trim().is_empty() { Some(today) } else { f.take("admitted_on", parse_date("admitted_on", &a.admitted_on)) };
        if let Some(d) = date
            && d > today + chrono::Duration::days(30)
        {
            f.push("admitted_on", "date_too_far", "cannot be more than 30 days ahead");
        }
        let clinician = if a.primary_clinician_id.trim().is_empty() {
            None
        } else {
            f.take("primary_clinician_id", a.primary_clinician_id.parse::<UserId>())
        };
        let ed = if a.level_edition.trim().is_empty() { "ASAM3" } else { a.level_edition.as_str() };
        let code = if a.level_code.trim().is_empty() { "2.1" } else { a.level_code.as_str() };
        let level = f.take("level_code", LevelOfCare::parse(ed, code));
        let auth = if a.authorized_level_code.trim().is_empty() {
            None
        } else {
            f.take("authorized_level_code", LevelOfCare::parse(ed, &a.authorized_level_code))
        };
        let diagnoses = f.take("diagnoses", parse_diagnoses(&a.diagnoses));
        if diagnoses.as_ref().is_some_and(|d| d.is_empty()) {
            f.push("diagnoses", "required", "record at least the primary diagnosis");
        }
        let reason = optional_text(&mut f, "reason", &a.reason, 1000);
        f.finish()?;
        let (Some(program_id), Some(admitted_on), Some(level), Some(diagnoses)) = (program, date, level, diagnoses) else {
            return Err(DomainError::internal("admission incomplete after validation"));
        };
        Ok(Self {
            program_id,
            track_id: track,
            admitted_on,
            primary_clinician: clinician,
            level,
            authorized_level: auth,
            diagnoses,
            reason,
        })
    }
}

vocabulary!(TransitionKind, "kind" {
    StepUp => "step_up", "Step up";
    StepDown => "step_down", "Step down";
    Lateral => "lateral", "Same level";
});

/// Classifies a level change by intensity.
pub fn transition_kind(from: &LevelOfCare, to: &LevelOfCare) -> TransitionKind {
    if to.rank() > from.rank() {
        TransitionKind::StepUp
    } else if to.rank() < from.rank() {
        TransitionKind::StepDown
    } else {
        TransitionKind::Lateral
    }
}

/// A level change as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelChangeForm {
    /// clinical (delivered) | authorized (by the payer)
    #[serde(default)]
    pub line: String,
    #[serde(default)]
    pub edition: String,
    #[serde(default)]
    pub level_code: String,
    /// First day at the new level (YYYY-MM-DD).
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub reason: String,
}

/// A change on one level line from a date.
#[derive(Debug, Clone)]
pub struct LevelChange {
    pub line: LevelLine,
    pub level: LevelOfCare,
    pub from: NaiveDate,
    pub reason: String,
}

impl LevelChange {
    /// Checks the change against the episode: open, after admission, after the line's current start.
    pub fn check(&self, e: &Episode) -> Result<()> {
        e.require_open()?;
        if self.from < e.admitted_on {
            return Err(DomainError::field("from", "before_admission", "cannot be before the admission date"));
        }
        if self.line == LevelLine::Clinical
            && let Some(cur) = e.current_level(self.line)
            && cur.level == self.level
        {
            // A clinical change to the level already in force would only split its span (the
            // authorized line may repeat a level: a payer's reauthorization is a new span).
            return Err(DomainError::field(
                "level_code",
                "same_level",
                &format!("is already the {} level (since {}); choose a different level", self.line.code(), cur.from),
            ));
        }
        if let Some(cur) = e.current_level(self.line)
            && self.from <= cur.from
        {
            return Err(DomainError::field(
                "from",
                "before_current_level",
                &format!("must be after {} (the start of the current {} level)", cur.from, self.line.code()),
            ));
        }
        if self.reason.trim().is_empty() {
            return Err(DomainError::field("reason", "required", "say why the level changes"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DischargeForm {
    #[serde(default)]
    pub date: String,
    /// completed | against_advice | administrative | transferred | other
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub reason: String,
    /// Next level (ASAM3 code), e.g. 1 for outpatient.
    #[serde(default)]
    pub next_level_code: String,
    #[serde(default)]
    pub next_provider: String,
    #[serde(default)]
    pub appointments: String,
    #[serde(default)]
    pub supports: String,
    #[serde(default)]
    pub relapse_prevention: String,
    /// With a risk flag open: the clinician's disposition of the risk (what was assessed and
    /// what follows). Without it such a discharge is refused.
    #[serde(default)]
    pub risk_disposition: String,
}

impl Discharge {
    pub fn parse(d: &DischargeForm, episode: &Episode, today: NaiveDate) -> Result<Self> {
        episode.require_open()?;
        let mut f = Fields::new();
        let date = f.take("date", parse_date("date", &d.date));
        if let Some(x) = date {
            if x < episode.admitted_on {
                f.push("date", "before_admission", &format!("cannot be before the admission on {}", episode.admitted_on));
            }
            if x > today {
                f.push("date", "date_in_future", "cannot be in the future");
            }
        }
        let kind = f.take("kind", DischargeKind::parse(&d.kind));
        let reason = optional_text(&mut f, "reason", &d.reason, 2000);
        let next = if d.next_level_code.trim().is_empty() {
            None
        } else {
            f.take("next_level_code", LevelOfCare::parse("ASAM3", &d.next_level_code))
        };
        let provider = optional_text(&mut f, "next_provider", &d.next_provider, 200);
        let aftercare = Aftercare {
            appointments: optional_text(&mut f, "appointments", &d.appointments, 4000),
            supports: optional_text(&mut f, "supports", &d.supports, 4000),
            relapse_prevention: optional_text(&mut f, "relapse_prevention", &d.relapse_prevention, 8000),
        };
        if kind == Some(DischargeKind::Completed) && aftercare.appointments.is_empty() && aftercare.relapse_prevention.is_empty() {
            f.push(
                "appointments",
                "aftercare_required",
                "a completed discharge needs an aftercare plan (appointments or relapse-prevention plan)",
            );
        }
        f.finish()?;
        let (Some(date), Some(kind)) = (date, kind) else {
            return Err(DomainError::internal("discharge incomplete after validation"));
        };
        Ok(Self { date, kind, reason, next_level: next, next_provider: provider, aftercare })
    }
}

/// A 42 CFR Part 2 consent to disclose (§2.31 elements).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Consent {
    pub id: ConsentId,
    pub patient_id: PatientId,
    /// Who may use and disclose the records: the Part 2 program (§2.31(a)(2)).
    pub discloser: String,
    /// Who may receive the information (§2.31(a)(4)).
    pub recipients: String,
    /// Why (§2.31(a)(5)).
    pub purpose: String,
    /// What kind of information, specifically (§2.31(a)(3)).
    pub information: String,
    /// How much of it: a period, a summary or the whole record (§2.31(a)(3)).
    pub information_amount: String,
    /// Expiry by date and/or event (§2.31(a)(6)).
    pub expires_on: Option<NaiveDate>,
    pub expiry_event: String,
    pub signed_by: String,
    pub signed_on: NaiveDate,
    /// How it was signed (§2.31(a)(8)).
    pub signature_method: SignatureMethod,
    /// The acknowledgements as the patient gave them: the right to revoke and how (§2.31(a)(6)),
    /// the consequences of refusing (§2.31(a)(9)), the redisclosure notice (§2.32).
    pub revocation_explained: bool,
    pub refusal_consequences_explained: bool,
    pub redisclosure_notice_given: bool,
    /// The family member or collateral this consent lets take part in sessions, if any.
    pub collateral_id: Option<CollateralId>,
    pub revoked_on: Option<NaiveDate>,
    pub revoked_by: String,
    pub revocation_note: String,
}

vocabulary!(SignatureMethod, "signature_method" {
    Paper => "paper", "Signed on paper";
    Electronic => "electronic", "Signed electronically";
});

impl Consent {
    /// In force on a date: signed, not expired, not revoked (revocation is effective at once).
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.signed_on <= date && self.expires_on.is_none_or(|e| date <= e) && self.revoked_on.is_none_or(|r| date < r)
    }

    pub fn status(&self, today: NaiveDate) -> &'static str {
        if self.revoked_on.is_some_and(|r| r <= today) {
            "revoked"
        } else if self.expires_on.is_some_and(|e| e < today) {
            "expired"
        } else if self.signed_on > today {
            "not yet in force"
        } else {
            "in force"
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentForm {
    /// The program that may disclose (the Part 2 program's name).
    #[serde(default)]
    pub discloser: String,
    #[serde(default)]
    pub recipients: String,
    #[serde(default)]
    pub purpose: String,
    /// What information, specifically.
    #[serde(default)]
    pub information: String,
    /// How much: e.g. "attendance and a monthly summary", "the whole record of this episode".
    #[serde(default)]
    pub information_amount: String,
    /// YYYY-MM-DD; or give expiry_event.
    #[serde(default)]
    pub expires_on: String,
    #[serde(default)]
    pub expiry_event: String,
    #[serde(default)]
    pub signed_by: String,
    #[serde(default)]
    pub signed_on: String,
    /// paper | electronic
    #[serde(default)]
    pub signature_method: String,
    /// The patient was told they may revoke, and how (in writing).
    #[serde(default)]
    pub revocation_explained: bool,
    #[serde(default)]
    pub refusal_consequences_explained: bool,
    #[serde(default)]
    pub redisclosure_notice_given: bool,
    /// The family member this consent lets take part in sessions.
    #[serde(default)]
    pub collateral_id: String,
}

#[derive(Debug, Clone)]
pub struct NewConsent {
    pub discloser: String,
    pub recipients: String,
    pub purpose: String,
    pub information: String,
    pub information_amount: String,
    pub signature_method: SignatureMethod,
    pub expires_on: Option<NaiveDate>,
    pub expiry_event: String,
    pub signed_by: String,
    pub signed_on: NaiveDate,
    pub collateral_id: Option<CollateralId>,
}

impl NewConsent {
    /// Every §2.31 element is required; an expiry needs a date or an event.
    pub fn parse(c: &ConsentForm, today: NaiveDate) -> Result<Self> {
        let mut f = Fields::new();
        let discloser = f.take("discloser", required_text("discloser", &c.discloser, 300));
        let recipients = f.take("recipients", required_text("recipients", &c.recipients, 1000));
        let purpose = f.take("purpose", required_text("purpose", &c.purpose, 1000));
        let information = f.take("information", required_text("information", &c.information, 2000));
        let amount = f.take("information_amount", required_text("information_amount", &c.information_amount, 1000));
        let method = f.take("signature_method", SignatureMethod::parse(&c.signature_method));
        let expires = if c.expires_on.trim().is_empty() { None } else { f.take("expires_on", parse_date("expires_on", &c.expires_on)) };
        let event = optional_text(&mut f, "expiry_event", &c.expiry_event, 500);
        if expires.is_none() && event.is_empty() && c.expires_on.trim().is_empty() {
            f.push("expires_on", "expiry_required", "give an expiry date or an expiry event (42 CFR §2.31(a)(6))");
        }
        let signed_by = f.take("signed_by", required_text("signed_by", &c.signed_by, 200));
        let signed_on = f.take("signed_on", parse_date("signed_on", &c.signed_on));
        if let Some(s) = signed_on
            && s > today
        {
            f.push("signed_on", "date_in_future", "cannot be in the future");
        }
        if let (Some(s), Some(e)) = (signed_on, expires)
            && e < s
        {
            f.push("expires_on", "range_reversed", "must be on or after the signature date");
        }
        if !c.revocation_explained {
            f.push("revocation_explained", "required", "the patient must be told they may revoke it, and how (42 CFR §2.31)");
        }
        if !c.refusal_consequences_explained {
            f.push("refusal_consequences_explained", "required", "the patient must be told the consequences of refusing (42 CFR §2.31)");
        }
        if !c.redisclosure_notice_given {
            f.push("redisclosure_notice_given", "required", "the redisclosure notice must be given (42 CFR §2.32)");
        }
        let collateral =
            if c.collateral_id.trim().is_empty() { None } else { f.take("collateral_id", c.collateral_id.parse::<CollateralId>()) };
        f.finish()?;
        let (
            Some(discloser),
            Some(recipients),
            Some(purpose),
            Some(information),
            Some(information_amount),
            Some(signature_method),
            Some(signed_by),
            Some(signed_on),
        ) = (discloser, recipients, purpose, information, amount, method, signed_by, signed_on)
        else {
            return Err(DomainError::internal("consent incomplete after validation"));
        };
        Ok(Self {
            discloser,
            recipients,
            purpose,
            information,
            information_amount,
            signature_method,
            expires_on: expires,
            expiry_event: event,
            signed_by,
            signed_on,
            collateral_id: collateral,
        })
    }
}

/// Whose patients a list may show: all of the organization's, or those registered at some
/// sites and those with an open episode in some programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    Organization,
    Units { sites: Vec<SiteId>, programs: Vec<ProgramId> },
}

/// The patients list's filters (each optional) and page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatientListFilter {
    pub program: Option<ProgramId>,
    pub track: Option<crate::programs::TrackId>,
    pub clinician: Option<UserId>,
    /// Of the latest episode; `None` for any, including patients never admitted.
    pub status: Option<ListStatus>,
    /// The latest episode's clinical level now (an ASAM code such as `2.1`).
    pub level_code: Option<String>,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

/// What the status filter can ask for: an episode status, or registered and never admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    Episode(EpisodeStatus),
    NotAdmitted,
}

impl PatientListFilter {
    pub const PER_PAGE_DEFAULT: u32 = 50;
    pub const PER_PAGE_MAX: u32 = 200;

    /// Parses the list's query fields; a bad value is a 422 naming its field.
    pub fn parse(program: &str, track: &str, clinician: &str, status: &str, level_code: &str, page: &str, per_page: &str) -> Result<Self> {
        let mut f = Fields::new();
        fn id<T: std::str::FromStr>(f: &mut Fields, field: &str, v: &str) -> Option<T> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            let parsed = v.parse().ok();
            if parsed.is_none() {
                f.push(field, "invalid", "is not an id from this organization's lists");
            }
            parsed
        }
        let program = id(&mut f, "program_id", program);
        let track = id(&mut f, "track_id", track);
        let clinician = id(&mut f, "clinician_id", clinician);
        let status = match status.trim() {
            "" => None,
            "not_admitted" => Some(ListStatus::NotAdmitted),
            other => match EpisodeStatus::parse(other) {
                Ok(s) => Some(ListStatus::Episode(s)),
                Err(_) => {
                    f.push("status", "invalid", "must be admitted, active, on_hold, discharged or not_admitted");
                    None
                }
            },
        };
        let level_code = level_code.trim();
        if level_code.chars().count() > 16 {
            f.push("level_code", "too_long", "must be at most 16 characters");
        }
        let number = |f: &mut Fields, field: &str, v: &str, default: u32, max: u32| -> u32 {
            if v.trim().is_empty() {
                return default;
            }
            match v.trim().parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    f.push(field, "out_of_range", &format!("must be a whole number from 1 to {max}"));
                    default
                }
            }
        };
        let page = number(&mut f, "page", page, 1, 100_000);
        let per_page = number(&mut f, "per_page", per_page, Self::PER_PAGE_DEFAULT, Self::PER_PAGE_MAX);
        f.finish()?;
        Ok(Self { program, track, clinician, status, level_code: (!level_code.is_empty()).then(|| level_code.to_string()), page, per_page })
    }
}

/// One row of the patients list: the patient and their latest episode, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientListRow {
    pub patient: PatientSummary,
    pub episode_id: Option<EpisodeId>,
    pub program_id: Option<ProgramId>,
    pub track_id: Option<crate::programs::TrackId>,
    pub primary_clinician: Option<UserId>,
    pub status: Option<EpisodeStatus>,
    pub admitted_on: Option<NaiveDate>,
    pub level_code: Option<String>,
}

/// A name as the duplicate check compares it: Unicode compatibility-decomposed, accents and
/// other combining marks dropped, case-folded (ß as ss), letters and digits only — so "ÑÚÑEZ",
/// "Núñez" and "Nunez" are one name, as the front desk types them.
pub fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .flat_map(|c| if c == 'ß' { vec!['s', 's'] } else { vec![c] })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// A family member may join a session only while a consent covering them is in force.
pub fn require_consent_for(consents: &[Consent], collateral: &Collateral, date: NaiveDate) -> Result<()> {
    if consents.iter().any(|c| c.collateral_id == Some(collateral.id) && c.in_force(date)) {
        Ok(())
    } else {
        Err(DomainError::rule(
            "consent_required",
            format!(
                "{} ({}) has no 42 CFR Part 2 consent in force on {date}; record the patient's consent first",
                collateral.name, collateral.relationship
            ),
        ))
    }
}

/// The chart header flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartFlags {
    pub consent_missing: bool,
    pub reassessment_due: bool,
    pub plan_review_due: bool,
    pub levels_differ: bool,
}

pub fn chart_flags(episode: Option<&Episode>, consents: &[Consent], today: NaiveDate) -> ChartFlags {
    ChartFlags {
        consent_missing: !consents.iter().any(|c| c.collateral_id.is_none() && c.in_force(today)),
        reassessment_due: episode.is_some_and(|e| e.is_open() && e.reassessment_due),
        plan_review_due: episode.is_some_and(|e| e.is_open() && e.plan_review_due),
        levels_differ: episode.is_some_and(|e| e.is_open() && e.levels_differ_on(today)),
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollateralForm {
    #[serde(default)]
    pub name: String,
    /// mother, partner, sponsor, …
    #[serde(default)]
    pub relationship: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

impl Collateral {
    pub fn parse(c: &CollateralForm) -> Result<Self> {
        let mut f = Fields::new();
        let name = f.take("name", required_text("name", &c.name, 120));
        let rel = f.take("relationship", required_text("relationship", &c.relationship, 60));
        let phone = optional_text(&mut f, "phone", &c.phone, 40);
        let email = optional_text(&mut f, "email", &c.email, 254);
        f.finish()?;
        Ok(Self { id: CollateralId::new(), name: name.unwrap_or_default(), relationship: rel.unwrap_or_default(), phone, email })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageForm {
    #[serde(default)]
    pub payer: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub group_number: String,
}

impl Coverage {
    pub fn parse(c: &CoverageForm) -> Result<Self> {
        let mut f = Fields::new();
        let payer = f.take("payer", required_text("payer", &c.payer, 120));
        let member = f.take("member_id", required_text("member_id", &c.member_id, 60));
        let group = optional_text(&mut f, "group_number", &c.group_number, 60);
        f.finish()?;
        Ok(Self { id: CoverageId::new(), payer: payer.unwrap_or_default(), member_id: member.unwrap_or_default(), group_number: group })
    }
}

/// Storage of patients, referrals, episodes and consents. Every write carries its audit event.
#[async_trait::async_trait]
pub trait PatientStore: Send + Sync {
    async fn create_referral(&self, org: OrganizationId, r: NewReferral, audit: crate::audit::AuditEvent) -> Result<Referral>;
    async fn referrals(&self, org: OrganizationId) -> Result<Vec<Referral>>;
    async fn referral(&self, org: OrganizationId, id: ReferralId) -> Result<Referral>;
    async fn set_referral_status(
        &self,
        org: OrganizationId,
        id: ReferralId,
        status: ReferralStatus,
        reason: &str,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    /// Registers the referred patient and admits them, in one transaction.
    async fn accept_referral(
        &self,
        org: OrganizationId,
        id: ReferralId,
        admission: Admission,
        audit: crate::audit::AuditEvent,
    ) -> Result<(Patient, Episode)>;
    /// One page of the patients in scope with their latest episode, filtered, ordered by name;
    /// with the number of patients the filter matches (one query).
    async fn patient_list(&self, org: OrganizationId, scope: &ListScope, filter: &PatientListFilter) -> Result<(Vec<PatientListRow>, u64)>;
    /// Registers a patient (refuses a same-name, same-birth-date duplicate unless confirmed).
    async fn create_patient(
        &self,
        org: OrganizationId,
        site: SiteId,
        p: PatientDetails,
        allow_duplicate: bool,
        audit: crate::audit::AuditEvent,
    ) -> Result<Patient>;
    async fn update_patient(&self, org: OrganizationId, id: PatientId, p: PatientDetails, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn patient(&self, org: OrganizationId, id: PatientId) -> Result<Patient>;
    /// Patients whose name, birth date or MRN match, at the listed sites (all when `None`).
    async fn search_patients(&self, org: OrganizationId, query: &str, sites: Option<&[SiteId]>) -> Result<Vec<PatientSummary>>;
    /// Name rows for many patients at once (lists and ledgers; no per-patient queries).
    async fn patient_summaries(&self, org: OrganizationId, ids: &[PatientId]) -> Result<Vec<PatientSummary>>;
    /// Scheduling facts for many patients at once: details, family members and consents.
    async fn patients_with_consents(&self, org: OrganizationId, ids: &[PatientId]) -> Result<Vec<(Patient, Vec<Consent>)>>;
    async fn add_collateral(&self, org: OrganizationId, patient: PatientId, c: Collateral, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn add_coverage(&self, org: OrganizationId, patient: PatientId, c: Coverage, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn admit(&self, org: OrganizationId, patient: PatientId, a: Admission, audit: crate::audit::AuditEvent) -> Result<Episode>;
    async fn episodes(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<Episode>>;
    async fn episode(&self, org: OrganizationId, id: EpisodeId) -> Result<Episode>;
    /// Every episode (open or not) of these patients, in a fixed number of statements.
    async fn episodes_of(&self, org: OrganizationId, patients: &[PatientId]) -> Result<Vec<Episode>>;
    /// Open episodes of the given programs (all when `None`), diagnoses and levels included.
    async fn open_episodes(&self, org: OrganizationId, programs: Option<&[ProgramId]>) -> Result<Vec<Episode>>;
    /// Closes the line's current span the day before and opens the new one; a clinical change
    /// flags re-assessment and plan review. One transaction.
    async fn change_level(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        change: LevelChange,
        audit: crate::audit::AuditEvent,
    ) -> Result<Episode>;
    async fn transfer_track(&self, org: OrganizationId, episode: EpisodeId, track: TrackId, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn set_episode_status(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        status: EpisodeStatus,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn set_episode_flags(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        reassessment_due: Option<bool>,
        plan_review_due: Option<bool>,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn add_diagnoses(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        d: Vec<Diagnosis>,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn discharge(&self, org: OrganizationId, episode: EpisodeId, d: Discharge, audit: crate::audit::AuditEvent) -> Result<Episode>;
    async fn add_consent(&self, org: OrganizationId, patient: PatientId, c: NewConsent, audit: crate::audit::AuditEvent)
    -> Result<Consent>;
    async fn revoke_consent(
        &self,
        org: OrganizationId,
        id: ConsentId,
        by: &str,
        on: NaiveDate,
        note: &str,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn consents(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<Consent>>;
}

#[cfg(test)]
mod tests;
