//! Session notes: one per patient per session, in the format the organization chose (DAP, BIRP,
//! SOAP), citing the plan objectives addressed, with the session facts taken from the schedule
//! and attendance. Signing locks a note; corrections are addenda. Group notes share one section
//! and carry an individualized section per attendee, checked for near-identical text.
use crate::error::Fields;
use crate::ids::{OrganizationId, UserId};
use crate::patients::{EpisodeId, PatientId};
use crate::plans::ObjectiveId;
use crate::programs::Modality;
use crate::schedule::{AttendanceStatus, SessionId};
use crate::{DomainError, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

record_ids!(NoteId, AddendumId);

vocabulary!(
    /// How a note's narrative is organised.
    NoteFormat, "format" {
    Dap => "dap", "DAP (data, assessment, plan)";
    Birp => "birp", "BIRP (behavior, intervention, response, plan)";
    Soap => "soap", "SOAP (subjective, objective, assessment, plan)";
});

impl NoteFormat {
    /// The sections, as (code, label).
    pub fn sections(self) -> &'static [(&'static str, &'static str)] {
        match self {
            NoteFormat::Dap => &[("data", "Data"), ("assessment", "Assessment"), ("plan", "Plan")],
            NoteFormat::Birp => &[("behavior", "Behavior"), ("intervention", "Intervention"), ("response", "Response"), ("plan", "Plan")],
            NoteFormat::Soap => &[("subjective", "Subjective"), ("objective", "Objective"), ("assessment", "Assessment"), ("plan", "Plan")],
        }
    }
}

vocabulary!(NoteKind, "kind" {
    Individual => "individual", "Individual session";
    Group => "group", "Group session";
    Family => "family", "Family session";
    MultiFamily => "multi_family", "Multi-family group";
});

vocabulary!(NoteStatus, "status" {
    Draft => "draft", "Draft";
    PendingCosign => "pending_cosign", "Signed, awaiting co-signature";
    Final => "final", "Final";
});

vocabulary!(Participation, "participation" {
    Active => "active", "Actively participated";
    Engaged => "engaged", "Engaged when prompted";
    Minimal => "minimal", "Minimal participation";
    Disruptive => "disruptive", "Disruptive";
});

/// Documentation settings of an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteSettings {
    pub format: NoteFormat,
    /// Section codes that must be filled (codes absent from the format are ignored).
    pub required_sections: Vec<String>,
    /// A note is due this many hours after the session ends.
    pub due_hours: u32,
    /// Individualized sections at or above this similarity (percent) are flagged.
    pub similarity_percent: u32,
    pub review: crate::plans::ReviewRules,
    /// Minutes a late arrival or early departure recorded without its minutes is taken to have
    /// missed (credited as such, and shown so). None: the minutes must be typed (the default —
    /// services are paid as furnished, 42 CFR §410.43).
    #[serde(default)]
    pub partial_attendance_missed_minutes: Option<u32>,
}

impl Default for NoteSettings {
    fn default() -> Self {
        Self {
            format: NoteFormat::Dap,
            required_sections: ["data", "assessment", "plan", "behavior", "intervention", "response", "subjective", "objective"]
                .map(String::from)
                .to_vec(),
            due_hours: 24,
            similarity_percent: 80,
            review: crate::plans::ReviewRules::default(),
            partial_attendance_missed_minutes: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsForm {
    /// dap | birp | soap
    #[serde(default)]
    pub format: String,
    /// Section codes that must be filled: data, assessment, plan, behavior, intervention,
    /// response, subjective, objective.
    #[serde(default)]
    pub required_sections: Vec<String>,
    /// Notes are due this many hours after the session (default 24).
    #[serde(default)]
    pub due_hours: Option<u32>,
    /// Individualized sections this similar (percent, word-trigram Jaccard) are flagged (default 80).
    #[serde(default)]
    pub similarity_percent: Option<u32>,
    /// Medicare IOP plan review cadence in months (default 2: every other month).
    #[serde(default)]
    pub medicare_months: Option<u32>,
    /// Payer names that mean Medicare (case-insensitive substrings).
    #[serde(default)]
    pub medicare_payers: Option<Vec<String>>,
    /// Review the plan this many days before a planned discharge (default 7).
    #[serde(default)]
    pub discharge_lead_days: Option<u32>,
    /// Minutes a late arrival or early departure recorded without its minutes is credited as
    /// having missed (1–240; such records are marked as credited by default). 0: no default, the
    /// minutes attended must be typed (the default).
    #[serde(default)]
    pub partial_attendance_missed_minutes: Option<u32>,
}

impl NoteSettings {
    /// Applies a settings form over the current settings (absent fields keep their value).
    pub fn parse(form: &SettingsForm, current: &NoteSettings) -> Result<Self> {
        let mut f = Fields::new();
        let mut s = current.clone();
        if !form.format.trim().is_empty()
            && let Some(x) = f.take("format", NoteFormat::parse(&form.format))
        {
            s.format = x;
        }
        if !form.required_sections.is_empty() {
            let known: HashSet<&str> = NoteFormat::ALL.iter().flat_map(|x| x.sections().iter().map(|(c, _)| *c)).collect();
            for c in &form.required_sections {
                if !known.contains(c.trim()) {
                    f.push("required_sections", "unknown_value", &format!("{c} is not a section of DAP, BIRP or SOAP"));
                }
            }
            s.required_sections = form.required_sections.iter().map(|c| c.trim().to_string()).collect();
        }
        if let Some(h) = form.due_hours {
            if (1..=24 * 14).contains(&h) {
                s.due_hours = h;
            } else {
                f.push("due_hours", "out_of_range", "must be between 1 and 336 hours");
            }
        }
        if let Some(p) = form.similarity_percent {
            if (50..=100).contains(&p) {
                s.similarity_percent = p;
            } else {
                f.push("similarity_percent", "out_of_range", "must be between 50 and 100");
            }
        }
        if let Some(m) = form.medicare_months {
            if (1..=12).contains(&m) {
                s.review.medicare_months = m;
            } else {
                f.push("medicare_months", "out_of_range", "must be between 1 and 12");
            }
        }
        if let Some(p) = &form.medicare_payers {
            s.review.medicare_payers = p.iter().map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
        }
        if let Some(d) = form.discharge_lead_days {
            if d <= 60 {
                s.review.discharge_lead_days = d;
            } else {
                f.push("discharge_lead_days", "out_of_range", "must be at most 60 days");
            }
        }
        if let Some(m) = form.partial_attendance_missed_minutes {
            match m {
                0 => s.partial_attendance_missed_minutes = None,
                1..=240 => s.partial_attendance_missed_minutes = Some(m),
                _ => f.push("partial_attendance_missed_minutes", "out_of_range", "must be between 1 and 240 minutes, or 0 for none"),
            }
        }
        f.finish()?;
        Ok(s)
    }

    pub fn is_required(&self, section: &str) -> bool {
        self.required_sections.iter().any(|s| s == section)
    }
}

/// What happened in the session, as the schedule and attendance say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFacts {
    pub date: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub minutes: i64,
    pub service: String,
    pub topic: String,
    pub staff: Vec<String>,
    pub participants: usize,
    pub attendance: Option<AttendanceStatus>,
    pub minutes_attended: Option<u32>,
    /// Family members and other collaterals present, as "name (relationship)".
    pub collaterals: Vec<String>,
}

/// The section a group writes once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SharedSection {
    pub topic: String,
    pub modality: Option<Modality>,
    pub interventions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteSection {
    pub code: String,
    pub label: String,
    pub text: String,
}

/// What a note says (stored as one document; the note row keeps the workflow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteBody {
    pub sections: Vec<NoteSection>,
    pub shared: Option<SharedSection>,
    pub participation: Option<Participation>,
    /// For a group: the patient's own section (participation, response, progress).
    pub individualized: String,
    pub facts: SessionFacts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Addendum {
    pub id: AddendumId,
    pub author_id: UserId,
    pub author: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionNote {
    pub id: NoteId,
    pub organization_id: OrganizationId,
    pub session_id: SessionId,
    pub patient_id: PatientId,
    pub episode_id: Option<EpisodeId>,
    pub kind: NoteKind,
    pub format: NoteFormat,
    pub body: NoteBody,
    /// An absent attendee's entry records attendance only.
    pub attendance_only: bool,
    pub objectives: Vec<ObjectiveId>,
    pub author_id: UserId,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub signed_by: Option<UserId>,
    pub signed_at: Option<DateTime<Utc>>,
    pub cosign_required: bool,
    pub cosigner_id: Option<UserId>,
    pub cosigned_at: Option<DateTime<Utc>>,
    pub addenda: Vec<Addendum>,
}

impl SessionNote {
    pub fn status(&self) -> NoteStatus {
        match (self.signed_at, self.cosigned_at) {
            (None, _) => NoteStatus::Draft,
            (Some(_), None) if self.cosign_required => NoteStatus::PendingCosign,
            _ => NoteStatus::Final,
        }
    }

    /// Signed notes are locked: corrections go in an addendum.
    pub fn require_unlocked(&self) -> Result<()> {
        if self.signed_at.is_none() { Ok(()) } else { Err(note_locked()) }
    }

    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.signed_at.is_none() && now > self.due_at
    }
}

pub fn note_locked() -> DomainError {
    DomainError::conflict("note_locked", "this note is signed and locked; add an addendum to correct it")
}

/// When a note for a session is due.
pub fn note_due(session_end: DateTime<Utc>, settings: &NoteSettings) -> DateTime<Utc> {
    session_end + Duration::hours(i64::from(settings.due_hours))
}

/// An individual, family or group note as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteForm {
    /// Section code → text.
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    /// Empty: the organization's format.
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub objective_ids: Vec<String>,
}

/// Parses the narrative against the format and the required sections, and the objectives
/// against the patient's plan (only its objectives may be cited).
pub fn parse_sections(
    form: &NoteForm,
    settings: &NoteSettings,
    plan_objectives: &[ObjectiveId],
) -> Result<(NoteFormat, Vec<NoteSection>, Vec<ObjectiveId>)> {
    let mut f = Fields::new();
    let format = if form.format.trim().is_empty() { Some(settings.format) } else { f.take("format", NoteFormat::parse(&form.format)) };
    let mut sections = Vec::new();
    if let Some(fmt) = format {
        for (code, label) in fmt.sections() {
            let text = form.sections.get(*code).map(|s| s.trim().to_string()).unwrap_or_default();
            if text.is_empty() && settings.is_required(code) {
                f.push(&format!("sections.{code}"), "required", &format!("{label} is required"));
            } else if text.chars().count() > 10_000 {
                f.push(&format!("sections.{code}"), "too_long", "must be at most 10000 characters");
            }
            sections.push(NoteSection { code: (*code).into(), label: (*label).into(), text });
        }
        for code in form.sections.keys() {
            if !fmt.sections().iter().any(|(c, _)| c == code) && !form.sections[code].trim().is_empty() {
                f.push(&format!("sections.{code}"), "unknown_section", &format!("is not a section of {}", fmt.code().to_uppercase()));
            }
        }
    }
    let objectives = parse_objectives(&mut f, "objective_ids", &form.objective_ids, plan_objectives);
    f.finish()?;
    let Some(format) = format else { return Err(DomainError::internal("note format missing after validation")) };
    Ok((format, sections, objectives))
}

fn parse_objectives(f: &mut Fields, field: &str, ids: &[String], plan: &[ObjectiveId]) -> Vec<ObjectiveId> {
    let mut out = Vec::new();
    for s in ids.iter().filter(|s| !s.trim().is_empty()) {
        match s.parse::<ObjectiveId>() {
            Ok(id) if plan.contains(&id) => {
                if !out.contains(&id) {
                    out.push(id)
                }
            }
            _ => f.push(field, "unknown_objective", "is not an objective of this patient's treatment plan"),
        }
    }
    out
}

/// One attendee's part of a group note as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupEntryForm {
    pub patient_id: String,
    #[serde(default)]
    pub participation: String,
    /// Participation, response, progress toward this patient's own objectives.
    #[serde(default)]
    pub individualized: String,
    #[serde(default)]
    pub objective_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupNoteForm {
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub modality: String,
    #[serde(default)]
    pub interventions: String,
    #[serde(default)]
    pub entries: Vec<GroupEntryForm>,
}

/// What the group-note parser needs to know about each participant.
pub struct Attendee<'a> {
    pub patient_id: PatientId,
    pub name: &'a str,
    pub attended: bool,
    pub objectives: &'a [ObjectiveId],
}

/// One parsed entry: an attendee present (with their section), or an attendance-only entry.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEntry {
    pub patient_id: PatientId,
    pub participation: Option<Participation>,
    pub individualized: String,
    pub objectives: Vec<ObjectiveId>,
    pub attendance_only: bool,
}

/// Parses a group note: the shared section once, then a required individualized section for
/// every attendee present; absent attendees get an attendance-only entry whatever was typed.
pub fn parse_group_note(form: &GroupNoteForm, attendees: &[Attendee<'_>]) -> Result<(SharedSection, Vec<GroupEntry>)> {
    let mut f = Fields::new();
    let topic = f.take("topic", crate::tenancy::required_text("topic", &form.topic, 300)).unwrap_or_default();
    let modality = if form.modality.trim().is_empty() { None } else { f.take("modality", Modality::parse(&form.modality)) };
    let interventions =
        f.take("interventions", crate::tenancy::required_text("interventions", &form.interventions, 4000)).unwrap_or_default();
    for e in &form.entries {
        if !e.patient_id.trim().is_empty() && !attendees.iter().any(|a| a.patient_id.to_string() == e.patient_id.trim()) {
            f.push(&format!("entries.{}", e.patient_id.trim()), "not_a_participant", "is not a participant of this session");
        }
    }
    let mut entries = Vec::new();
    for a in attendees {
        let typed = form.entries.iter().find(|e| e.patient_id.trim() == a.patient_id.to_string());
        if !a.attended {
            entries.push(GroupEntry {
                patient_id: a.patient_id,
                participation: None,
                individualized: String::new(),
                objectives: vec![],
                attendance_only: true,
            });
            continue;
        }
        let field = format!("entries.{}", a.patient_id);
        let text = typed.map(|e| e.individualized.trim().to_string()).unwrap_or_default();
        if text.is_empty() {
            f.push(&format!("{field}.individualized"), "required", &format!("write {}'s individualized section", a.name));
        } else if text.chars().count() > 4000 {
            f.push(&format!("{field}.individualized"), "too_long", "must be at most 4000 characters");
        }
        let participation = match typed.map(|e| e.participation.trim()).filter(|p| !p.is_empty()) {
            None => Some(Participation::Active),
            Some(p) => f.take(&format!("{field}.participation"), Participation::parse(p)),
        };
        let objectives = parse_objectives(
            &mut f,
            &format!("{field}.objective_ids"),
            typed.map(|e| e.objective_ids.as_slice()).unwrap_or(&[]),
            a.objectives,
        );
        entries.push(GroupEntry { patient_id: a.patient_id, participation, individualized: text, objectives, attendance_only: false });
    }
    f.finish()?;
    Ok((SharedSection { topic, modality, interventions }, entries))
}

// ---- Similarity of individualized sections ----

/// Words of a text, lower-cased, letters and digits only.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The set of word trigrams (word unigrams for texts under three words).
fn shingles(text: &str) -> HashSet<String> {
    let w = words(text);
    if w.len() < 3 {
        return w.into_iter().collect();
    }
    w.windows(3).map(|t| t.join(" ")).collect()
}

/// Word-trigram Jaccard similarity in percent: |A ∩ B| / |A ∪ B| of the two texts' sets of three
/// consecutive words. 100 means the same wording; swapping a patient's name into an otherwise
/// copied sentence still scores high, while two notes that share only a few phrases score low.
pub fn similarity_percent(a: &str, b: &str) -> u32 {
    let (x, y) = (shingles(a), shingles(b));
    if x.is_empty() && y.is_empty() {
        return 100;
    }
    let inter = x.intersection(&y).count();
    let union = x.union(&y).count();
    ((inter * 100 + union / 2) / union.max(1)) as u32
}

/// A pair of attendees whose individualized sections look cloned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarPair {
    pub first: PatientId,
    pub second: PatientId,
    pub first_name: String,
    pub second_name: String,
    pub percent: u32,
}

/// Every pair of present attendees at or above the threshold (names are replaced by a marker
/// first, so "Ana did well" and "Ben did well" count as the same text).
pub fn similar_pairs(entries: &[(PatientId, String, String)], threshold: u32) -> Vec<SimilarPair> {
    let names: Vec<String> = entries.iter().flat_map(|(_, n, _)| words(n)).collect();
    let cleaned: Vec<String> = entries
        .iter()
        .map(|(_, _, t)| {
            words(t).into_iter().map(|w| if names.contains(&w) { "#name".to_string() } else { w }).collect::<Vec<_>>().join(" ")
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..entries.len() {
        for j in i + 1..entries.len() {
            if cleaned[i].is_empty() || cleaned[j].is_empty() {
                continue;
            }
            let p = similarity_percent(&cleaned[i], &cleaned[j]);
            if p >= threshold {
                out.push(SimilarPair {
                    first: entries[i].0,
                    second: entries[j].0,
                    first_name: entries[i].1.clone(),
                    second_name: entries[j].1.clone(),
                    percent: p,
                });
            }
        }
    }
    out
}

/// The refusal shown before signing when sections look cloned; confirm to sign anyway.
pub fn similarity_warning(pairs: &[SimilarPair]) -> DomainError {
    let named: Vec<String> = pairs.iter().map(|p| format!("{} and {} ({}%)", p.first_name, p.second_name, p.percent)).collect();
    DomainError::conflict(
        "notes_similar",
        format!(
            "individualized sections are near-identical: {}; rewrite them for each patient or confirm to sign anyway",
            named.join("; ")
        ),
    )
}

/// A row of the documentation home's "notes to write" list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteToWrite {
    pub session_id: SessionId,
    pub starts_at: DateTime<Utc>,
    pub topic: String,
    pub patients_without_note: usize,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
}

/// Storage of notes. Every write carries its audit event(s).
#[async_trait::async_trait]
pub trait NoteStore: Send + Sync {
    async fn note_settings(&self, org: OrganizationId) -> Result<NoteSettings>;
    async fn save_note_settings(&self, org: OrganizationId, s: &NoteSettings, audit: crate::audit::AuditEvent) -> Result<()>;
    /// Inserts or replaces the notes of a session (one per patient), all in one transaction:
    /// if any patient's note is already signed the whole save fails with `note_locked` and
    /// nothing is written. Notes that carry a signature are signed in the same transaction.
    /// One audit event per note.
    async fn save_notes(&self, org: OrganizationId, notes: &[SessionNote], audits: &[crate::audit::AuditEvent]) -> Result<()>;
    async fn note(&self, org: OrganizationId, id: NoteId) -> Result<SessionNote>;
    async fn session_notes(&self, org: OrganizationId, sessions: &[SessionId]) -> Result<Vec<SessionNote>>;
    async fn patient_notes(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<SessionNote>>;
    /// Signs drafts (locks them), in one transaction.
    async fn sign_notes(
        &self,
        org: OrganizationId,
        ids: &[NoteId],
        by: UserId,
        at: DateTime<Utc>,
        cosigner: Option<UserId>,
        audits: &[crate::audit::AuditEvent],
    ) -> Result<()>;
    async fn cosign_note(&self, org: OrganizationId, id: NoteId, at: DateTime<Utc>, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn add_addendum(&self, org: OrganizationId, note: NoteId, a: Addendum, audit: crate::audit::AuditEvent) -> Result<()>;
    /// Notes signed by their author and waiting for this supervisor.
    async fn notes_awaiting(&self, org: OrganizationId, cosigner: UserId) -> Result<Vec<SessionNote>>;
    /// Unsigned notes whose due time has passed.
    async fn overdue_notes(&self, org: OrganizationId, now: DateTime<Utc>) -> Result<Vec<SessionNote>>;
}

impl NoteSettings {
    /// The settings as their form shows them (what the API returns and accepts back).
    pub fn form(&self) -> SettingsForm {
        SettingsForm {
            format: self.format.code().into(),
            required_sections: self.required_sections.clone(),
            due_hours: Some(self.due_hours),
            similarity_percent: Some(self.similarity_percent),
            medicare_months: Some(self.review.medicare_months),
            medicare_payers: Some(self.review.medicare_payers.clone()),
            discharge_lead_days: Some(self.review.discharge_lead_days),
            partial_attendance_missed_minutes: Some(self.partial_attendance_missed_minutes.unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigram_jaccard_is_explainable() {
        assert_eq!(similarity_percent("the quick brown fox", "the quick brown fox"), 100);
        // {the quick brown, quick brown fox} vs {the quick brown, quick brown cat}: 1 / 3.
        assert_eq!(similarity_percent("the quick brown fox", "the quick brown cat"), 33);
        assert_eq!(similarity_percent("shared coping skills", "described a craving at work"), 0);
    }

    #[test]
    fn cloned_sections_are_named_even_with_names_swapped() {
        let (a, b, c) = (PatientId::new(), PatientId::new(), PatientId::new());
        let entries = vec![
            (a, "Ana Ruiz".to_string(), "Ana participated actively and identified two triggers for relapse.".to_string()),
            (b, "Ben Cole".to_string(), "Ben participated actively and identified two triggers for relapse.".to_string()),
            (c, "Cy Park".to_string(), "Quiet today; said the weekend with his brother went without drinking.".to_string()),
        ];
        let pairs = similar_pairs(&entries, 80);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].first, pairs[0].second, pairs[0].percent), (a, b, 100));
        let msg = similarity_warning(&pairs).to_string();
        assert!(msg.contains("Ana Ruiz and Ben Cole"), "{msg}");
        assert!(similar_pairs(&entries, 101).is_empty());
    }

    #[test]
    fn a_group_note_needs_every_present_attendee() {
        let (a, b, c) = (PatientId::new(), PatientId::new(), PatientId::new());
        let obj = ObjectiveId::new();
        let objs = [obj];
        let attendees = [
            Attendee { patient_id: a, name: "Ana", attended: true, objectives: &objs },
            Attendee { patient_id: b, name: "Ben", attended: true, objectives: &[] },
            Attendee { patient_id: c, name: "Cy", attended: false, objectives: &[] },
        ];
        let form = GroupNoteForm {
            topic: "Triggers".into(),
            modality: "cbt".into(),
            interventions: "Trigger mapping".into(),
            entries: vec![GroupEntryForm {
                patient_id: a.to_string(),
                participation: String::new(),
                individualized: "Mapped her Friday triggers.".into(),
                objective_ids: vec![obj.to_string()],
            }],
        };
        let Err(DomainError::Validation(errs)) = parse_group_note(&form, &attendees) else { panic!("refused") };
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, format!("entries.{b}.individualized"));
        let mut ok = form.clone();
        ok.entries.push(GroupEntryForm { patient_id: b.to_string(), individualized: "Listened; spoke once.".into(), ..Default::default() });
        let (shared, entries) = parse_group_note(&ok, &attendees).expect("parses");
        assert_eq!(shared.modality, Some(Modality::Cbt));
        assert_eq!(entries.len(), 3);
        assert!(entries[2].attendance_only);
        assert_eq!(entries[0].objectives, vec![obj]);
        // Citing another patient's objective is refused.
        let mut wrong = ok.clone();
        wrong.entries[1].objective_ids = vec![obj.to_string()];
        assert!(parse_group_note(&wrong, &attendees).is_err());
    }

    #[test]
    fn required_sections_follow_the_settings() {
        let s = NoteSettings::default();
        let mut form = NoteForm::default();
        form.sections.insert("data".into(), "Attended; reported 5 days sober.".into());
        let Err(DomainError::Validation(errs)) = parse_sections(&form, &s, &[]) else { panic!("refused") };
        assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["sections.assessment", "sections.plan"]);
        let relaxed = NoteSettings { required_sections: vec!["data".into()], ..NoteSettings::default() };
        let (fmt, sections, _) = parse_sections(&form, &relaxed, &[]).expect("parses");
        assert_eq!((fmt, sections.len()), (NoteFormat::Dap, 3));
    }
}
