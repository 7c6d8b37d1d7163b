//! Measurement-based care in the clinic: which instruments an organization uses, how often a
//! program measures, results stored with their codes, the risk workflow (flag, task, assessment,
//! Stanley–Brown safety plan) and the expiring links patients complete measures at.
//!
//! Pure domain: no web, no SQL. The [`MeasurementStore`] trait is implemented by the store crate.
use super::builtin::ScreeningCutoffs;
use super::change::{ChangeRule, RciConfig, ReliableChange, caseness_default, change_rule_default, parse_per_instrument, parse_threshold};
use super::definition::{InstrumentDefinition, RiskLevel};
use super::score::ScoreResult;
use super::{BUILTIN_CODES, builtin};
use crate::audit::AuditEvent;
use crate::auth::{Actor, Role};
use crate::error::Fields;
use crate::ids::{OrganizationId, ProgramId, UserId};
use crate::patients::{Episode, EpisodeId, PatientId};
use crate::programs::{LevelOfCare, Population, TrackId, parse_date};
use crate::{DomainError, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

ids!(CadenceId);
record_ids!(ResultId, LinkId, RiskFlagId, RiskFlagEventId, TaskId, AssessmentId, SafetyPlanId);

// ---------------------------------------------------------------------------------------------
// Settings

/// An organization's own normative numbers for the RCI of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RciOverride {
    pub sd_baseline: f64,
    pub reliability: f64,
}

/// Per-organization measurement settings, with defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementSettings {
    /// "No reliable improvement after N weeks" raises a plan-review prompt (default 4).
    pub no_improvement_weeks: u32,
    /// Post-discharge follow-up offsets in days (default 30, 90, 180).
    pub follow_up_days: Vec<u32>,
    /// How long a patient's measurement link stays open (default 7 days).
    pub link_expiry_days: u32,
    /// Hours within which a moderate risk (and a PHQ-9 item 9 > 0, which carries no level) must be
    /// assessed (default 4: same day, instruments.md "Item 9 > 0 → suicide-risk follow-up the same day").
    pub risk_task_due_hours: u32,
    /// Minutes within which a high risk must be assessed (default 0: immediately, in the same
    /// session; Columbia C-SSRS screener triage: high risk → immediate evaluation, patient not left alone).
    #[serde(default)]
    pub risk_high_due_minutes: u32,
    /// Days within which a low risk is reviewed when no session is booked (default 7; otherwise it
    /// is due at the patient's next scheduled contact, Columbia triage: low → review at next contact).
    #[serde(default = "default_low_fallback_days")]
    pub risk_low_fallback_days: u32,
    /// SD and reliability per instrument code: judge change by the Reliable Change Index
    /// (Jacobson & Truax 1991) instead of the cited fixed difference.
    #[serde(default)]
    pub rci: BTreeMap<String, RciOverride>,
    /// Reliable change in points per instrument code, replacing the cited defaults (PHQ-9 6,
    /// GAD-7 4: NHS Talking Therapies; PCL-5 10: National Center for PTSD).
    #[serde(default)]
    pub reliable_change_points: BTreeMap<String, f64>,
    /// Caseness cut-offs per instrument code (recovery = from at or above to below), replacing
    /// the cited defaults (PHQ-9 10, GAD-7 8: NHS Talking Therapies; PCL-5: its probable-PTSD cut-off).
    #[serde(default)]
    pub caseness: BTreeMap<String, f64>,
    /// Screening cut-offs: AUDIT-C by sex, PCL-5 probable PTSD, EDE-Q global (cited defaults).
    #[serde(default)]
    pub screening: ScreeningCutoffs,
}

fn default_low_fallback_days() -> u32 {
    7
}

impl Default for MeasurementSettings {
    fn default() -> Self {
        Self {
            no_improvement_weeks: 4,
            follow_up_days: vec![30, 90, 180],
            link_expiry_days: 7,
            risk_task_due_hours: 4,
            risk_high_due_minutes: 0,
            risk_low_fallback_days: default_low_fallback_days(),
            rci: BTreeMap::new(),
            reliable_change_points: BTreeMap::new(),
            caseness: BTreeMap::new(),
            screening: ScreeningCutoffs::default(),
        }
    }
}

impl MeasurementSettings {
    /// How change on an instrument is judged: the organization's RCI numbers, else its
    /// reliable change in points, else the cited default; caseness likewise. `None`: not judged.
    pub fn change_rule(&self, code: &str) -> Option<ChangeRule> {
        let default = change_rule_default(code, &self.screening);
        let (reliable, source) = match (self.rci.get(code), self.reliable_change_points.get(code), &default) {
            (Some(o), _, _) => (
                ReliableChange::Index(RciConfig { sd_baseline: o.sd_baseline, reliability: o.reliability }),
                "organization setting (Reliable Change Index)".to_string(),
            ),
            (None, Some(p), _) => (ReliableChange::Points { points: *p }, "organization setting (points)".to_string()),
            (None, None, Some(d)) => (d.reliable, d.source.clone()),
            (None, None, None) => return None,
        };
        let caseness = self.caseness.get(code).copied().or_else(|| caseness_default(code, &self.screening));
        Some(ChangeRule { reliable, caseness, lower_is_better: true, source })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasurementSettingsForm {
    #[serde(default)]
    pub no_improvement_weeks: String,
    /// Comma-separated days, e.g. `30, 90, 180`.
    #[serde(default)]
    pub follow_up_days: String,
    #[serde(default)]
    pub link_expiry_days: String,
    #[serde(default)]
    pub risk_task_due_hours: String,
    /// Minutes within which a high risk must be assessed (0 = immediately).
    #[serde(default)]
    pub risk_high_due_minutes: String,
    /// Days within which a low risk is reviewed when the patient has no session booked.
    #[serde(default)]
    pub risk_low_fallback_days: String,
    /// Reliable change in points per instrument, e.g. `phq9=6, gad7=4, pcl5=10`. Left out:
    /// unchanged; blank: the cited defaults.
    #[serde(default)]
    pub reliable_change_points: Option<String>,
    /// Caseness cut-offs per instrument, e.g. `phq9=10, gad7=8`. Left out: unchanged; blank: the cited defaults.
    #[serde(default)]
    pub caseness: Option<String>,
    /// AUDIT-C positive screen for men (blank: unchanged).
    #[serde(default)]
    pub audit_c_positive_men: String,
    /// AUDIT-C positive screen for women (blank: unchanged).
    #[serde(default)]
    pub audit_c_positive_women: String,
    /// PCL-5 probable PTSD cut-off (blank: unchanged).
    #[serde(default)]
    pub pcl5_probable_ptsd: String,
    /// EDE-Q global clinical-range cut-off (blank: unchanged).
    #[serde(default)]
    pub edeq_global_clinical: String,
}

impl MeasurementSettings {
    /// Parses the form over the current settings (RCI overrides are kept; blank fields keep their value).
    pub fn parse(f: &MeasurementSettingsForm, current: &MeasurementSettings) -> Result<Self> {
        let mut errs = Fields::new();
        let num = |errs: &mut Fields, field: &str, s: &str, min: u32, max: u32, default: u32| -> u32 {
            if s.trim().is_empty() {
                return default;
            }
            match s.trim().parse::<u32>() {
                Ok(v) if (min..=max).contains(&v) => v,
                _ => {
                    errs.push(field, "out_of_range", &format!("must be a whole number from {min} to {max}"));
                    default
                }
            }
        };
        let weeks = num(&mut errs, "no_improvement_weeks", &f.no_improvement_weeks, 1, 52, current.no_improvement_weeks);
        let expiry = num(&mut errs, "link_expiry_days", &f.link_expiry_days, 1, 60, current.link_expiry_days);
        let hours = num(&mut errs, "risk_task_due_hours", &f.risk_task_due_hours, 1, 72, current.risk_task_due_hours);
        let high_minutes = num(&mut errs, "risk_high_due_minutes", &f.risk_high_due_minutes, 0, 240, current.risk_high_due_minutes);
        let low_days = num(&mut errs, "risk_low_fallback_days", &f.risk_low_fallback_days, 1, 30, current.risk_low_fallback_days);
        let mut days = Vec::new();
        if f.follow_up_days.trim().is_empty() {
            days = current.follow_up_days.clone();
        } else {
            for part in f.follow_up_days.split([',', ' ', ';']).filter(|p| !p.is_empty()) {
                match part.parse::<u32>() {
                    Ok(d) if (1..=730).contains(&d) => days.push(d),
                    _ => errs.push("follow_up_days", "invalid_days", "list days after discharge from 1 to 730, e.g. 30, 90, 180"),
                }
            }
            days.sort_unstable();
            days.dedup();
        }
        let points = match &f.reliable_change_points {
            Some(text) => parse_per_instrument(&mut errs, "reliable_change_points", text, 0.5, 100.0),
            None => current.reliable_change_points.clone(),
        };
        let caseness = match &f.caseness {
            Some(text) => parse_per_instrument(&mut errs, "caseness", text, 0.1, 100.0),
            None => current.caseness.clone(),
        };
        let c = current.screening;
        let [men, women, pcl5, edeq] = ScreeningCutoffs::RANGES;
        let screening = ScreeningCutoffs {
            audit_c_positive_men: parse_threshold(&mut errs, men, &f.audit_c_positive_men, c.audit_c_positive_men),
            audit_c_positive_women: parse_threshold(&mut errs, women, &f.audit_c_positive_women, c.audit_c_positive_women),
            pcl5_probable_ptsd: parse_threshold(&mut errs, pcl5, &f.pcl5_probable_ptsd, c.pcl5_probable_ptsd),
            edeq_global_clinical: parse_threshold(&mut errs, edeq, &f.edeq_global_clinical, c.edeq_global_clinical),
        };
        errs.finish()?;
        Ok(Self {
            no_improvement_weeks: weeks,
            follow_up_days: days,
            link_expiry_days: expiry,
            risk_task_due_hours: hours,
            risk_high_due_minutes: high_minutes,
            risk_low_fallback_days: low_days,
            rci: current.rci.clone(),
            reliable_change_points: points,
            caseness,
            screening,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Instruments available to an organization

/// A FHIR Questionnaire a clinic imported, with the definition it produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredInstrument {
    pub code: String,
    /// The built-in scoring it uses (or its own code for a plain-sum instrument).
    pub scoring_for: String,
    pub definition: InstrumentDefinition,
    pub questionnaire: String,
    pub imported_at: DateTime<Utc>,
}

/// An instrument the organization can administer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailableInstrument {
    pub definition: InstrumentDefinition,
    /// Wording from an imported questionnaire (else the built-in short labels).
    pub imported: bool,
}

/// Built-ins, each replaced by the organization's imported wording when there is one, then the
/// organization's own plain-sum instruments.
pub fn available_instruments(imported: &[StoredInstrument]) -> Vec<AvailableInstrument> {
    let mut out: Vec<AvailableInstrument> = BUILTIN_CODES
        .iter()
        .filter_map(|c| match imported.iter().find(|i| i.code == *c) {
            Some(i) => Some(AvailableInstrument { definition: i.definition.clone(), imported: true }),
            None => builtin(c).map(|definition| AvailableInstrument { definition, imported: false }),
        })
        .collect();
    for i in imported.iter().filter(|i| !BUILTIN_CODES.contains(&i.code.as_str())) {
        out.push(AvailableInstrument { definition: i.definition.clone(), imported: true });
    }
    out
}

pub fn find_instrument<'a>(available: &'a [AvailableInstrument], code: &str) -> Result<&'a InstrumentDefinition> {
    available
        .iter()
        .map(|a| &a.definition)
        .find(|d| d.code == code.trim())
        .ok_or_else(|| DomainError::field("instrument", "unknown_instrument", "is not an instrument of this organization"))
}

/// An instrument code for an imported plain-sum questionnaire: lowercase letters, digits, `-`.
pub fn parse_instrument_code(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if (2..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        Ok(s)
    } else {
        Err(DomainError::field("scoring_for", "invalid_code", "use 2–40 lowercase letters, digits or dashes (e.g. phq9 or sleep-check)"))
    }
}

// ---------------------------------------------------------------------------------------------
// Cadences and due measurements

/// A program measures `instrument` every `every_days` from admission; `follow_up` also asks for
/// it after discharge at the organization's follow-up offsets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cadence {
    pub id: CadenceId,
    pub program_id: ProgramId,
    pub instrument: String,
    pub every_days: u32,
    pub follow_up: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CadenceForm {
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub instrument: String,
    #[serde(default)]
    pub every_days: String,
    #[serde(default)]
    pub follow_up: bool,
}

impl Cadence {
    pub fn parse(f: &CadenceForm, available: &[AvailableInstrument]) -> Result<Self> {
        let mut errs = Fields::new();
        let program = errs.take(
            "program_id",
            f.program_id.parse::<ProgramId>().map_err(|_| DomainError::field("program_id", "required", "choose a program")),
        );
        let instrument = errs.take("instrument", find_instrument(available, &f.instrument).map(|d| d.code.clone()));
        let every = match f.every_days.trim().parse::<u32>() {
            Ok(d) if (1..=180).contains(&d) => Some(d),
            _ => {
                errs.push("every_days", "out_of_range", "must be a whole number of days from 1 to 180");
                None
            }
        };
        errs.finish()?;
        let (Some(program_id), Some(instrument), Some(every_days)) = (program, instrument, every) else {
            return Err(DomainError::internal("cadence incomplete after validation"));
        };
        Ok(Self { id: CadenceId::new(), program_id, instrument, every_days, follow_up: f.follow_up })
    }
}

/// Whether a result was taken during treatment or after discharge (and at which offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResultContext {
    Treatment,
    FollowUp { days: u32 },
}

impl ResultContext {
    pub fn code(&self) -> &'static str {
        match self {
            ResultContext::Treatment => "treatment",
            ResultContext::FollowUp { .. } => "follow_up",
        }
    }

    pub fn follow_up_days(&self) -> Option<u32> {
        match self {
            ResultContext::Treatment => None,
            ResultContext::FollowUp { days } => Some(*days),
        }
    }

    pub fn from_parts(code: &str, days: Option<i64>) -> Result<Self> {
        match (code, days) {
            ("treatment", _) => Ok(ResultContext::Treatment),
            ("follow_up", Some(d)) if d > 0 => Ok(ResultContext::FollowUp { days: d as u32 }),
            _ => Err(DomainError::internal(format!("stored result context {code:?}"))),
        }
    }

    pub fn label(&self) -> String {
        match self {
            ResultContext::Treatment => "In treatment".to_string(),
            ResultContext::FollowUp { days } => format!("Follow-up, {days} days after discharge"),
        }
    }
}

/// A measurement that is due now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueMeasurement {
    pub instrument: String,
    pub due_on: NaiveDate,
    pub context: ResultContext,
    pub overdue: bool,
}

/// What is due for an episode on `today`: while open, each cadence instrument at admission and
/// then `every_days` after its last in-treatment result (overdue once a further half period has
/// passed); after discharge, each follow-up cadence at every offset not yet taken.
pub fn due_measurements(
    episode: &Episode,
    cadences: &[Cadence],
    results: &[MeasurementResult],
    settings: &MeasurementSettings,
    today: NaiveDate,
) -> Vec<DueMeasurement> {
    let mut out = Vec::new();
    let mine: Vec<&MeasurementResult> = results.iter().filter(|r| r.episode_id == episode.id).collect();
    for c in cadences.iter().filter(|c| c.program_id == episode.program_id) {
        if episode.is_open() {
            let last = mine
                .iter()
                .filter(|r| r.instrument == c.instrument && r.context == ResultContext::Treatment)
                .map(|r| r.administered_on)
                .max();
            let due_on = last.map(|d| d + Duration::days(i64::from(c.every_days))).unwrap_or(episode.admitted_on);
            if due_on <= today {
                let grace = i64::from(c.every_days.div_ceil(2));
                out.push(DueMeasurement {
                    instrument: c.instrument.clone(),
                    due_on,
                    context: ResultContext::Treatment,
                    overdue: today > due_on + Duration::days(grace),
                });
            }
        } else if c.follow_up
            && let Some(d) = &episode.discharge
        {
            for days in &settings.follow_up_days {
                let due_on = d.date + Duration::days(i64::from(*days));
                let taken = mine.iter().any(|r| r.instrument == c.instrument && r.context == ResultContext::FollowUp { days: *days });
                if due_on <= today && !taken {
                    out.push(DueMeasurement {
                        instrument: c.instrument.clone(),
                        due_on,
                        context: ResultContext::FollowUp { days: *days },
                        overdue: today > due_on + Duration::days(14),
                    });
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Results

/// A flag as stored with a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFlag {
    pub code: String,
    pub level: Option<RiskLevel>,
    pub items: Vec<String>,
    pub action: String,
}

/// The score as stored with a result (what the engine computed at the time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredScore {
    /// False for an incomplete answer set kept for its risk answer (no total).
    #[serde(default = "complete_by_default")]
    pub complete: bool,
    pub total: Option<f64>,
    pub subscales: Vec<(String, f64)>,
    pub band: Option<String>,
    pub band_level: Option<u8>,
    pub screens: Vec<(String, bool)>,
    pub triage: Option<RiskLevel>,
    pub flags: Vec<StoredFlag>,
}

/// Results stored before incomplete ones could be kept were all complete.
fn complete_by_default() -> bool {
    true
}

impl From<&ScoreResult> for StoredScore {
    fn from(s: &ScoreResult) -> Self {
        Self {
            complete: s.complete,
            total: s.total,
            subscales: s.subscales.clone(),
            band: s.band.as_ref().map(|b| b.label.clone()),
            band_level: s.band.as_ref().map(|b| b.level),
            screens: s.screens.iter().map(|x| (x.code.clone(), x.positive)).collect(),
            triage: s.triage,
            flags: s
                .flags
                .iter()
                .map(|f| StoredFlag { code: f.code.clone(), level: f.level, items: f.items.clone(), action: f.action.clone() })
                .collect(),
        }
    }
}

vocabulary!(ResultSource, "source" {
    Staff => "staff", "Entered by staff with the patient";
    PatientLink => "patient_link", "Completed by the patient at a link";
});

/// One completed instrument, with its codes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasurementResult {
    pub id: ResultId,
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub program_id: ProgramId,
    pub instrument: String,
    pub instrument_name: String,
    /// LOINC code of the panel.
    pub loinc: Option<String>,
    /// LOINC code of the total score.
    pub total_loinc: Option<String>,
    pub administered_on: NaiveDate,
    pub context: ResultContext,
    pub source: ResultSource,
    /// The staff member's email, or `patient link`.
    pub entered_by: String,
    pub responses: BTreeMap<String, i32>,
    pub score: StoredScore,
    pub recorded_at: DateTime<Utc>,
}

/// Responses as typed: `linkId` → text. Blank answers are left out.
pub fn parse_responses(def: &InstrumentDefinition, typed: &BTreeMap<String, String>) -> Result<BTreeMap<String, i32>> {
    let mut errs = Fields::new();
    let mut out = BTreeMap::new();
    for (k, v) in typed {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match v.parse::<i32>() {
            Ok(n) => {
                out.insert(k.clone(), n);
            }
            Err(_) => errs.push(k, "not_a_number", "choose one of the answers"),
        }
    }
    errs.finish()?;
    let _ = def;
    Ok(out)
}

/// The date a measure was given: today when blank; never in the future or before admission.
pub fn parse_administered_on(s: &str, episode: &Episode, today: NaiveDate) -> Result<NaiveDate> {
    let d = if s.trim().is_empty() { today } else { parse_date("administered_on", s)? };
    if d > today {
        return Err(DomainError::field("administered_on", "date_in_future", "cannot be in the future"));
    }
    if d < episode.admitted_on {
        return Err(DomainError::field("administered_on", "before_admission", "cannot be before the admission"));
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// Patient links

/// An unguessable, expiring link at which a patient completes one instrument. Only the hash of
/// the token is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasurementLink {
    pub id: LinkId,
    pub organization_id: OrganizationId,
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub instrument: String,
    pub context: ResultContext,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl MeasurementLink {
    /// A link may be used once, before it expires. Either failure reads as "not available" to
    /// the patient; the code says which.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<()> {
        if self.used_at.is_some() {
            return Err(DomainError::conflict("link_used", "This questionnaire has already been completed. Thank you."));
        }
        if now >= self.expires_at {
            return Err(DomainError::rule("link_expired", "This link has expired. Ask your care team for a new one."));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Risk workflow

vocabulary!(
    /// Who answers for a risk task: never nobody (a database constraint holds it too).
    OwnerKind, "owner" {
    PrimaryClinician => "primary_clinician", "Primary clinician";
    ClinicalLead => "clinical_lead", "Program clinical lead";
    ClinicalDirectors => "clinical_directors", "Clinical directors";
});

/// The owner of a risk task: the episode's primary clinician, else the program's clinical lead,
/// else every clinical director whose scope covers the episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaskOwner {
    pub kind: OwnerKind,
    /// The person, for a primary clinician or clinical lead.
    pub user: Option<UserId>,
}

impl TaskOwner {
    /// The owner for an episode's risk work.
    pub fn for_episode(episode: &Episode, clinical_lead: Option<UserId>) -> Self {
        match (episode.primary_clinician, clinical_lead) {
            (Some(u), _) => Self { kind: OwnerKind::PrimaryClinician, user: Some(u) },
            (None, Some(u)) => Self { kind: OwnerKind::ClinicalLead, user: Some(u) },
            (None, None) => Self { kind: OwnerKind::ClinicalDirectors, user: None },
        }
    }

    /// Whether this actor answers for the task (directors: when their scope covers the episode,
    /// which the caller checks).
    pub fn includes(&self, actor: &Actor) -> bool {
        match self.user {
            Some(u) => u == actor.user_id,
            None => actor.roles.contains(&Role::ClinicalDirector),
        }
    }
}

vocabulary!(
    /// How soon a risk task is due, by triage level.
    TaskUrgency, "urgency" {
    Immediate => "immediate", "Immediately, in the same session";
    SameDay => "same_day", "Within hours";
    NextContact => "next_contact", "At the next contact";
});

/// A risk flag on the chart, raised by a result; cleared by a clinician's assessment (or by a
/// clinician's disposition recorded on the discharge). One open flag per episode and code:
/// later positive results add to its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskFlagRecord {
    pub id: RiskFlagId,
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    /// The result that first raised it.
    pub result_id: ResultId,
    pub code: String,
    /// The highest level any of its results reached (none for PHQ-9 item 9, which has no triage).
    pub level: Option<RiskLevel>,
    pub instrument: String,
    pub items: Vec<String>,
    pub action: String,
    pub raised_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub cleared_by: Option<UserId>,
    pub assessment_id: Option<AssessmentId>,
    /// The disposition a clinician recorded when discharging with the flag open.
    pub discharge_disposition: Option<String>,
}

impl RiskFlagRecord {
    pub fn is_open(&self) -> bool {
        self.cleared_at.is_none()
    }
}

/// One positive result on a flag: the first raises it, later ones add to its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskFlagEvent {
    pub risk_flag_id: RiskFlagId,
    pub result_id: ResultId,
    pub instrument: String,
    pub level: Option<RiskLevel>,
    pub items: Vec<String>,
    pub recorded_at: DateTime<Utc>,
}

/// A task for a clinician, with a due time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClinicalTask {
    pub id: TaskId,
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub risk_flag_id: Option<RiskFlagId>,
    pub owner: TaskOwner,
    pub urgency: TaskUrgency,
    pub title: String,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// The level a flag is triaged at for its deadline: PHQ-9 item 9 carries none and is treated as
/// moderate (instruments.md: item 9 > 0 → suicide-risk follow-up the same day).
fn triage_level(level: Option<RiskLevel>) -> RiskLevel {
    level.unwrap_or(RiskLevel::Moderate)
}

/// When a risk task is due, and how urgently: high → immediately (or the configured minutes),
/// moderate → within the configured hours, low → at the patient's next booked contact (or the
/// configured days when none is booked).
// Columbia C-SSRS screener triage (Posner et al. 2011; instruments.md): high → immediate evaluation,
// moderate → clinician assessment and safety plan the same day, low → review at the next contact.
pub fn risk_deadline(
    level: Option<RiskLevel>,
    now: DateTime<Utc>,
    next_contact: Option<DateTime<Utc>>,
    settings: &MeasurementSettings,
) -> (TaskUrgency, DateTime<Utc>) {
    match triage_level(level) {
        RiskLevel::High => (TaskUrgency::Immediate, now + Duration::minutes(i64::from(settings.risk_high_due_minutes))),
        RiskLevel::Moderate => (TaskUrgency::SameDay, now + Duration::hours(i64::from(settings.risk_task_due_hours))),
        RiskLevel::Low | RiskLevel::NoRisk => {
            let fallback = now + Duration::days(i64::from(settings.risk_low_fallback_days));
            (TaskUrgency::NextContact, next_contact.filter(|t| *t > now).map_or(fallback, |t| t.min(fallback)))
        }
    }
}

fn task_title(instrument: &str, level: Option<RiskLevel>, action: &str) -> String {
    match level {
        Some(l) => format!("Suicide-risk assessment, {} ({instrument}: {action})", l.as_str()),
        None => format!("Suicide-risk assessment ({instrument}: {action})"),
    }
}

/// What one scored result does to an episode's risk work.
#[derive(Debug, Clone, PartialEq)]
pub enum RiskChange {
    /// No flag was open: a new flag and its task.
    Raise { flag: RiskFlagRecord, task: ClinicalTask, event: RiskFlagEvent },
    /// A flag is open: the result joins its history; a higher level raises the flag's level and
    /// brings its open task forward (never later).
    Repeat { flag: RiskFlagRecord, event: RiskFlagEvent, escalated: bool, task_due: Option<(TaskUrgency, DateTime<Utc>, String)> },
}

/// Everything that decides a result's risk change.
pub struct RiskInputs<'a> {
    pub score: &'a ScoreResult,
    pub episode: &'a Episode,
    pub result: ResultId,
    pub now: DateTime<Utc>,
    pub settings: &'a MeasurementSettings,
    /// The episode's open flag of the same code, with its open task.
    pub open: Option<(&'a RiskFlagRecord, Option<&'a ClinicalTask>)>,
    pub owner: TaskOwner,
    /// The patient's next booked session start, for a low-risk review.
    pub next_contact: Option<DateTime<Utc>>,
}

/// The flag and task a scored result raises, if any: PHQ-9 item 9 > 0, or a C-SSRS screener at
/// the triage level the configuration flags (low and above by default), incomplete or not.
pub fn risk_change(i: RiskInputs<'_>) -> Option<RiskChange> {
    let flag = i.score.flags.iter().find(|f| f.code == "suicide_risk")?;
    let (urgency, due_at) = risk_deadline(flag.level, i.now, i.next_contact, i.settings);
    if let Some((open, task)) = i.open {
        let escalated = triage_level(flag.level) > triage_level(open.level);
        // A C-SSRS level at the same triage as a PHQ-9 item 9 flag (which has none) names it.
        let named = open.level.is_none() && flag.level.is_some() && triage_level(flag.level) == triage_level(open.level);
        let mut updated = open.clone();
        for item in &flag.items {
            if !updated.items.contains(item) {
                updated.items.push(item.clone());
            }
        }
        if escalated || named {
            updated.level = flag.level;
            updated.action = flag.action.clone();
        }
        let event = RiskFlagEvent {
            risk_flag_id: open.id,
            result_id: i.result,
            instrument: i.score.instrument.clone(),
            level: flag.level,
            items: flag.items.clone(),
            recorded_at: i.now,
        };
        let task_due = match task {
            Some(t) if escalated && due_at < t.due_at => {
                Some((urgency, due_at, task_title(&i.score.instrument, updated.level, &updated.action)))
            }
            _ => None,
        };
        return Some(RiskChange::Repeat { flag: updated, event, escalated, task_due });
    }
    let id = RiskFlagId::new();
    let record = RiskFlagRecord {
        id,
        patient_id: i.episode.patient_id,
        episode_id: i.episode.id,
        result_id: i.result,
        code: flag.code.clone(),
        level: flag.level,
        instrument: i.score.instrument.clone(),
        items: flag.items.clone(),
        action: flag.action.clone(),
        raised_at: i.now,
        cleared_at: None,
        cleared_by: None,
        assessment_id: None,
        discharge_disposition: None,
    };
    let task = ClinicalTask {
        id: TaskId::new(),
        patient_id: i.episode.patient_id,
        episode_id: i.episode.id,
        risk_flag_id: Some(id),
        owner: i.owner,
        urgency,
        title: task_title(&i.score.instrument, flag.level, &flag.action),
        due_at,
        created_at: i.now,
        completed_at: None,
    };
    let event = RiskFlagEvent {
        risk_flag_id: id,
        result_id: i.result,
        instrument: i.score.instrument.clone(),
        level: flag.level,
        items: flag.items.clone(),
        recorded_at: i.now,
    };
    Some(RiskChange::Raise { flag: record, task, event })
}

/// Only a clinician documents the assessment that clears a risk flag (not nurses or front desk).
pub fn may_assess_risk(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| matches!(r, Role::Clinician | Role::ClinicalDirector | Role::Prescriber))
}

/// A clinician's documented suicide-risk assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskAssessment {
    pub id: AssessmentId,
    pub risk_flag_id: RiskFlagId,
    pub patient_id: PatientId,
    pub assessed_by: UserId,
    pub assessed_by_name: String,
    pub assessed_at: DateTime<Utc>,
    pub risk_level: RiskLevel,
    pub findings: String,
    pub disposition: String,
    pub safety_plan_reviewed: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskAssessmentForm {
    /// no_risk | low | moderate | high
    #[serde(default)]
    pub risk_level: String,
    /// What the clinician asked and found.
    #[serde(default)]
    pub findings: String,
    /// What happens next (e.g. safety plan reviewed, higher level of care, 988 information).
    #[serde(default)]
    pub disposition: String,
    #[serde(default)]
    pub safety_plan_reviewed: bool,
}

pub fn parse_risk_level(s: &str) -> Result<RiskLevel> {
    match s.trim() {
        "no_risk" => Ok(RiskLevel::NoRisk),
        "low" => Ok(RiskLevel::Low),
        "moderate" => Ok(RiskLevel::Moderate),
        "high" => Ok(RiskLevel::High),
        _ => Err(DomainError::field("risk_level", "unknown_value", "is not one of: no_risk, low, moderate, high")),
    }
}

impl RiskAssessment {
    /// The assessment must state the level found, what was found and what happens next; a
    /// moderate or high level needs the safety plan reviewed.
    pub fn parse(f: &RiskAssessmentForm, flag: &RiskFlagRecord, actor: &Actor, has_safety_plan: bool, now: DateTime<Utc>) -> Result<Self> {
        if !may_assess_risk(actor) {
            return Err(DomainError::Forbidden);
        }
        if !flag.is_open() {
            return Err(DomainError::conflict("flag_cleared", "this risk flag was already cleared by an assessment"));
        }
        let mut errs = Fields::new();
        let level = errs.take("risk_level", parse_risk_level(&f.risk_level));
        let findings = f.findings.trim();
        if findings.chars().count() < 10 {
            errs.push("findings", "required", "document what you asked and found (at least a sentence)");
        } else if findings.chars().count() > 8000 {
            errs.push("findings", "too_long", "must be at most 8000 characters");
        }
        let disposition = f.disposition.trim();
        if disposition.is_empty() {
            errs.push("disposition", "required", "say what happens next");
        }
        if level.is_some_and(|l| l >= RiskLevel::Moderate) {
            if !f.safety_plan_reviewed {
                errs.push("safety_plan_reviewed", "required", "at moderate or high risk, review the safety plan with the patient");
            } else if !has_safety_plan {
                errs.push("safety_plan_reviewed", "safety_plan_missing", "record the patient's safety plan on the episode first");
            }
        }
        errs.finish()?;
        let Some(risk_level) = level else { return Err(DomainError::internal("assessment incomplete after validation")) };
        Ok(Self {
            id: AssessmentId::new(),
            risk_flag_id: flag.id,
            patient_id: flag.patient_id,
            assessed_by: actor.user_id,
            assessed_by_name: actor.name.clone(),
            assessed_at: now,
            risk_level,
            findings: findings.to_string(),
            disposition: disposition.to_string(),
            safety_plan_reviewed: f.safety_plan_reviewed,
        })
    }
}

/// The Stanley–Brown safety plan's sections (Stanley & Brown 2012), in order.
pub const SAFETY_PLAN_SECTIONS: &[(&str, &str)] = &[
    ("warning_signs", "1. Warning signs that a crisis may be developing"),
    ("internal_coping", "2. Internal coping strategies"),
    ("social_distraction", "3. People and social settings that provide distraction"),
    ("people_to_ask", "4. People I can ask for help"),
    ("professionals", "5. Professionals or agencies to contact in a crisis"),
    ("safe_environment", "6. Making the environment safe"),
    ("reasons_for_living", "The one thing most important to me and worth living for"),
];

/// What is missing from one required step of a safety plan, if anything.
fn safety_section_problem(key: &str, text: &str) -> Option<(&'static str, &'static str)> {
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().any(char::is_alphabetic)).collect();
    let letters: usize = words.iter().map(|w| w.chars().filter(|c| c.is_alphabetic()).count()).sum();
    if text.is_empty() {
        return Some(("required", "every step of the plan needs an entry, worked out with the patient"));
    }
    let bare: String = text.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    let placeholder = matches!(bare.as_str(), "" | "n" | "na" | "none" | "nil" | "tbd" | "x" | "no" | "unknown");
    let must_have_content = matches!(key, "warning_signs" | "internal_coping" | "professionals" | "safe_environment");
    if must_have_content && placeholder {
        return Some(("not_specific", "write what this is for this patient; this step cannot be left as none"));
    }
    if letters < 6 && !(key == "professionals" && text.chars().filter(char::is_ascii_digit).count() >= 3) {
        return Some(("too_short", "say it in words the patient will recognise in a crisis (a few words at least)"));
    }
    if key == "professionals" && text.chars().filter(char::is_ascii_digit).count() < 3 {
        return Some((
            "crisis_line_missing",
            "include a crisis line with its number: 988 (Suicide & Crisis Lifeline) or the local crisis team's",
        ));
    }
    None
}

/// A safety plan on an episode; every save is a new version (older versions are kept).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafetyPlan {
    pub id: SafetyPlanId,
    pub episode_id: EpisodeId,
    pub patient_id: PatientId,
    pub version: i64,
    /// Section key → text, for the keys of [`SAFETY_PLAN_SECTIONS`].
    pub sections: BTreeMap<String, String>,
    pub recorded_by: UserId,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
}

impl SafetyPlan {
    pub fn section(&self, key: &str) -> &str {
        self.sections.get(key).map(String::as_str).unwrap_or("")
    }

    /// Steps 1–6 are required (the last, reasons for living, is optional), each with real
    /// content: words, not a character or a placeholder; step 5 names a crisis line (988 or a
    /// local crisis number) and step 6 how the means are made safe (Stanley & Brown 2012; the 988
    /// Suicide & Crisis Lifeline since 2022). People and settings (steps 3 and 4) may honestly be
    /// "none identified yet"; warning signs, coping, crisis contacts and means safety may not.
    pub fn parse(typed: &BTreeMap<String, String>, episode: &Episode, actor: &Actor, now: DateTime<Utc>) -> Result<Self> {
        let mut errs = Fields::new();
        let mut sections = BTreeMap::new();
        for (key, _) in SAFETY_PLAN_SECTIONS {
            let v = typed.get(*key).map(|s| s.trim()).unwrap_or("");
            if *key != "reasons_for_living"
                && let Some((code, message)) = safety_section_problem(key, v)
            {
                errs.push(key, code, message);
            }
            if v.chars().count() > 4000 {
                errs.push(key, "too_long", "must be at most 4000 characters");
            }
            sections.insert((*key).to_string(), v.to_string());
        }
        errs.finish()?;
        Ok(Self {
            id: SafetyPlanId::new(),
            episode_id: episode.id,
            patient_id: episode.patient_id,
            version: 0,
            sections,
            recorded_by: actor.user_id,
            recorded_by_name: actor.name.clone(),
            recorded_at: now,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Program outcomes input

/// One in-scope result with what program outcomes filter on; read in bounded queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeRow {
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub program_id: ProgramId,
    pub track_id: Option<TrackId>,
    pub population: Population,
    pub admitted_on: NaiveDate,
    /// The episode's clinical level-of-care spans (for the level filter), shared by its rows.
    pub levels: std::sync::Arc<[(LevelOfCare, NaiveDate, Option<NaiveDate>)]>,
    pub instrument: String,
    pub administered_on: NaiveDate,
    /// None for instruments scored only by subscale (the BAM).
    pub total: Option<f64>,
    /// Subscale scores (BAM use, risk, protective; EDE-Q subscales); empty when none.
    pub subscales: Vec<(String, f64)>,
    pub context: ResultContext,
}

/// Writing one result, and what it raises, in one transaction.
#[derive(Debug, Clone)]
pub struct NewResult {
    pub result: MeasurementResult,
    pub risk: Option<(RiskChange, AuditEvent)>,
    /// The patient link it was completed at (marked used in the same transaction).
    pub link: Option<LinkId>,
}

/// An open risk flag as the home page shows it to those who answer for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenRisk {
    pub flag: RiskFlagRecord,
    pub task: Option<ClinicalTask>,
    pub patient_name: String,
    pub site_id: crate::ids::SiteId,
    pub program_id: ProgramId,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assigned_to: Option<UserId>,
    pub patient: Option<PatientId>,
    pub open_only: bool,
}

/// Storage of measurement-based care. Every write carries its audit event.
#[async_trait::async_trait]
pub trait MeasurementStore: Send + Sync {
    async fn measurement_settings(&self, org: OrganizationId) -> Result<MeasurementSettings>;
    async fn save_measurement_settings(&self, org: OrganizationId, s: MeasurementSettings, audit: AuditEvent) -> Result<()>;
    /// Adds or replaces (by code) an imported instrument.
    async fn save_instrument(&self, org: OrganizationId, i: StoredInstrument, audit: AuditEvent) -> Result<()>;
    async fn imported_instruments(&self, org: OrganizationId) -> Result<Vec<StoredInstrument>>;
    async fn add_cadence(&self, org: OrganizationId, c: Cadence, audit: AuditEvent) -> Result<()>;
    async fn remove_cadence(&self, org: OrganizationId, id: CadenceId, audit: AuditEvent) -> Result<Cadence>;
    async fn cadences(&self, org: OrganizationId, program: Option<ProgramId>) -> Result<Vec<Cadence>>;
    /// Stores a result; raises its flag and task; marks its link used (refusing a used link).
    async fn record_result(&self, org: OrganizationId, r: NewResult, audit: AuditEvent) -> Result<MeasurementResult>;
    async fn results(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<MeasurementResult>>;
    async fn create_link(&self, org: OrganizationId, link: MeasurementLink, token_hash: &str, audit: AuditEvent) -> Result<()>;
    /// Any organization's link by its token hash (the public page has no signed-in user).
    async fn link_by_token_hash(&self, token_hash: &str) -> Result<Option<MeasurementLink>>;
    async fn risk_flags(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<RiskFlagRecord>>;
    async fn risk_flag(&self, org: OrganizationId, id: RiskFlagId) -> Result<RiskFlagRecord>;
    /// The episode's open flag of a code, with its open task (at most one: a unique index holds it).
    async fn open_risk_flag(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        code: &str,
    ) -> Result<Option<(RiskFlagRecord, Option<ClinicalTask>)>>;
    /// A flag's history, oldest first.
    async fn risk_flag_events(&self, org: OrganizationId, flag: RiskFlagId) -> Result<Vec<RiskFlagEvent>>;
    /// Every open risk flag of the organization with its open task, patient and episode's units
    /// (one query; the caller keeps those it answers for).
    async fn open_risk_work(&self, org: OrganizationId) -> Result<Vec<OpenRisk>>;
    /// Closes the episode's open flags with a clinician's disposition recorded at discharge, and
    /// completes their tasks (inside the discharge's unit of work).
    async fn close_risk_flags_at_discharge(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        by: UserId,
        disposition: &str,
        at: DateTime<Utc>,
        audit: AuditEvent,
    ) -> Result<u64>;
    async fn tasks(&self, org: OrganizationId, filter: TaskFilter) -> Result<Vec<ClinicalTask>>;
    /// Stores the assessment, clears its flag and completes the flag's tasks, in one transaction.
    async fn record_assessment(&self, org: OrganizationId, a: RiskAssessment, audit: AuditEvent) -> Result<()>;
    async fn assessments(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<RiskAssessment>>;
    /// Saves a new version of the episode's safety plan.
    async fn save_safety_plan(&self, org: OrganizationId, plan: SafetyPlan, audit: AuditEvent) -> Result<SafetyPlan>;
    async fn safety_plan(&self, org: OrganizationId, episode: EpisodeId) -> Result<Option<SafetyPlan>>;
    /// Every result with a total, of the given programs (all when `None`), with episode and
    /// program facts, in a fixed number of queries.
    async fn outcome_rows(&self, org: OrganizationId, programs: Option<&[ProgramId]>) -> Result<Vec<OutcomeRow>>;
}

#[cfg(test)]
mod safety_plan_tests {
    use super::safety_section_problem as problem;

    #[test]
    fn a_safety_plan_step_needs_real_content_and_crisis_contacts_a_number() {
        assert_eq!(problem("warning_signs", "x").map(|p| p.0), Some("not_specific"));
        assert_eq!(problem("warning_signs", "n/a").map(|p| p.0), Some("not_specific"));
        assert_eq!(problem("internal_coping", "walk").map(|p| p.0), Some("too_short"));
        assert_eq!(problem("warning_signs", "Not sleeping; skipping meals"), None);
        assert_eq!(problem("people_to_ask", "None identified yet"), None, "honestly none is allowed here");
        assert_eq!(problem("professionals", "My clinician Lena").map(|p| p.0), Some("crisis_line_missing"));
        assert_eq!(problem("professionals", "988 Suicide & Crisis Lifeline"), None);
        assert_eq!(problem("professionals", "988"), None);
        assert_eq!(problem("safe_environment", "none").map(|p| p.0), Some("not_specific"));
        assert_eq!(problem("safe_environment", "").map(|p| p.0), Some("required"));
    }
}
