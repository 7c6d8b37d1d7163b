//! Treatment plans: the "golden thread" from assessment to care. Problems (linked to a
//! diagnosis and ASAM dimensions) → goals in the patient's words → measurable objectives with
//! target dates → interventions (service, modality, frequency, responsible staff). Every review
//! makes a new version; signed versions are never changed, so old ones stay readable.
use crate::error::Fields;
use crate::ids::{OrganizationId, ProgramId, SiteId, UserId};
use crate::patients::{Coverage, Episode, EpisodeId, Icd10, PatientId};
use crate::programs::{Modality, ServiceTypeId, StaffProfile, parse_date};
use crate::tenancy::required_text;
use crate::{DomainError, Result};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

record_ids!(PlanVersionId, ProblemId, GoalId, ObjectiveId, InterventionId);

vocabulary!(
    /// The six ASAM Criteria dimensions (3rd edition names; the 4th edition keeps six).
    AsamDimension, "dimensions" {
    D1 => "1", "1 · Acute intoxication and/or withdrawal potential";
    D2 => "2", "2 · Biomedical conditions and complications";
    D3 => "3", "3 · Emotional, behavioral or cognitive conditions";
    D4 => "4", "4 · Readiness to change";
    D5 => "5", "5 · Relapse, continued use or continued problem potential";
    D6 => "6", "6 · Recovery/living environment";
});

vocabulary!(
    /// Where a goal or objective stands.
    ItemStatus, "status" {
    Active => "active", "Active";
    Met => "met", "Met";
    Revised => "revised", "Revised";
    Discontinued => "discontinued", "Discontinued";
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervention {
    pub id: InterventionId,
    pub description: String,
    pub service_type_id: ServiceTypeId,
    pub modality: Modality,
    /// As the plan says it, e.g. "3 groups a week".
    pub frequency: String,
    pub staff_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub id: ObjectiveId,
    /// Measurable: what, how much, by when.
    pub text: String,
    pub target_date: NaiveDate,
    pub status: ItemStatus,
    pub interventions: Vec<Intervention>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub id: GoalId,
    /// In the patient's own words.
    pub patient_words: String,
    pub status: ItemStatus,
    pub objectives: Vec<Objective>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub id: ProblemId,
    pub statement: String,
    /// One of the episode's diagnoses.
    pub diagnosis: Option<Icd10>,
    pub dimensions: Vec<AsamDimension>,
    pub goals: Vec<Goal>,
}

/// The body of one plan version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanContent {
    pub problems: Vec<Problem>,
}

impl PlanContent {
    pub fn objectives(&self) -> impl Iterator<Item = (&Problem, &Goal, &Objective)> {
        self.problems.iter().flat_map(|p| p.goals.iter().flat_map(move |g| g.objectives.iter().map(move |o| (p, g, o))))
    }

    pub fn objective(&self, id: ObjectiveId) -> Option<&Objective> {
        self.objectives().map(|(_, _, o)| o).find(|o| o.id == id)
    }

    /// Objectives still being worked on (active goal, active objective).
    pub fn active_objectives(&self) -> Vec<&Objective> {
        self.objectives().filter(|(_, g, o)| g.status == ItemStatus::Active && o.status == ItemStatus::Active).map(|(_, _, o)| o).collect()
    }
}

// ---- The plan as typed (API and pages share these shapes) ----

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InterventionForm {
    /// Keep the id when revising; omit for a new intervention.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub service_type_id: String,
    /// cbt, dbt, mi, twelve_step, matrix, therapeutic_community, cra, contingency_management, family_therapy, …
    #[serde(default)]
    pub modality: String,
    /// e.g. "3 groups a week"
    #[serde(default)]
    pub frequency: String,
    /// The staff member responsible.
    #[serde(default)]
    pub staff_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectiveForm {
    /// Keep the id when revising (notes cite it); omit for a new objective.
    #[serde(default)]
    pub id: Option<String>,
    /// Measurable: what, how much, by when.
    #[serde(default)]
    pub text: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub target_date: String,
    /// active | met | revised | discontinued
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub interventions: Vec<InterventionForm>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoalForm {
    #[serde(default)]
    pub id: Option<String>,
    /// The goal in the patient's own words.
    #[serde(default)]
    pub patient_words: String,
    /// active | met | revised | discontinued
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub objectives: Vec<ObjectiveForm>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemForm {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub statement: String,
    /// One of the episode's ICD-10-CM codes.
    #[serde(default)]
    pub diagnosis: String,
    /// ASAM dimensions "1" to "6".
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub goals: Vec<GoalForm>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanForm {
    #[serde(default)]
    pub problems: Vec<ProblemForm>,
    /// Why this version: `initial`, `scheduled review`, `level-of-care change`, …
    #[serde(default)]
    pub reason: String,
    /// YYYY-MM-DD, when a discharge is planned (the plan is reviewed before it).
    #[serde(default)]
    pub planned_discharge_on: String,
}

/// What the plan may refer to: the episode's diagnoses, the service catalogue and the staff.
pub struct PlanRefs<'a> {
    pub episode: &'a Episode,
    pub service_types: &'a [ServiceTypeId],
    pub staff: &'a [UserId],
}

fn keep_id<T: std::str::FromStr + Default>(f: &mut Fields, field: &str, id: &Option<String>) -> T {
    match id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => T::default(),
        Some(s) => match s.parse::<T>() {
            Ok(v) => v,
            Err(_) => {
                f.push(field, "invalid_id", "is not a valid identifier");
                T::default()
            }
        },
    }
}

/// A parsed plan version to store.
#[derive(Debug, Clone)]
pub struct NewPlanVersion {
    pub content: PlanContent,
    pub reason: String,
    pub planned_discharge_on: Option<NaiveDate>,
}

impl NewPlanVersion {
    /// Parses the whole plan, naming each bad field by its path (`problems[0].goals[1].text`).
    /// Ids given are kept (objectives keep their id across versions, so notes stay linked).
    pub fn parse(form: &PlanForm, refs: &PlanRefs<'_>) -> Result<Self> {
        let mut f = Fields::new();
        let mut problems = Vec::new();
        if form.problems.is_empty() {
            f.push("problems", "required", "a plan needs at least one problem");
        }
        for (pi, p) in form.problems.iter().enumerate() {
            let at = format!("problems[{pi}]");
            let statement = f.take(&format!("{at}.statement"), required_text("statement", &p.statement, 2000)).unwrap_or_default();
            let diagnosis = if p.diagnosis.trim().is_empty() {
                None
            } else {
                match Icd10::parse(&p.diagnosis) {
                    Ok(code) if refs.episode.diagnoses.iter().any(|d| d.code == code) => Some(code),
                    Ok(code) => {
                        f.push(&format!("{at}.diagnosis"), "unknown_diagnosis", &format!("{code} is not a diagnosis of this episode"));
                        None
                    }
                    Err(_) => {
                        f.push(&format!("{at}.diagnosis"), "invalid_icd10", "is not an ICD-10-CM code (e.g. F10.20)");
                        None
                    }
                }
            };
            let mut dimensions = Vec::new();
            for d in &p.dimensions {
                if let Some(d) = f.take(&format!("{at}.dimensions"), AsamDimension::parse(d))
                    && !dimensions.contains(&d)
                {
                    dimensions.push(d);
                }
            }
            dimensions.sort();
            if dimensions.is_empty() {
                f.push(&format!("{at}.dimensions"), "required", "link the problem to at least one ASAM dimension (1–6)");
            }
            if p.goals.is_empty() {
                f.push(&format!("{at}.goals"), "required", "a problem needs at least one goal");
            }
            let mut goals = Vec::new();
            for (gi, g) in p.goals.iter().enumerate() {
                let at = format!("{at}.goals[{gi}]");
                let words =
                    f.take(&format!("{at}.patient_words"), required_text("patient_words", &g.patient_words, 1000)).unwrap_or_default();
                let status = status_or_active(&mut f, &format!("{at}.status"), &g.status);
                if g.objectives.is_empty() {
                    f.push(&format!("{at}.objectives"), "required", "a goal needs at least one measurable objective");
                }
                let mut objectives = Vec::new();
                for (oi, o) in g.objectives.iter().enumerate() {
                    let at = format!("{at}.objectives[{oi}]");
                    let text = f.take(&format!("{at}.text"), required_text("text", &o.text, 1000)).unwrap_or_default();
                    let target = f.take(&format!("{at}.target_date"), parse_date("target_date", &o.target_date));
                    if let Some(t) = target
                        && t < refs.episode.admitted_on
                    {
                        f.push(&format!("{at}.target_date"), "before_admission", "cannot be before the admission");
                    }
                    let ostatus = status_or_active(&mut f, &format!("{at}.status"), &o.status);
                    let mut interventions = Vec::new();
                    for (ii, i) in o.interventions.iter().enumerate() {
                        let at = format!("{at}.interventions[{ii}]");
                        let description =
                            f.take(&format!("{at}.description"), required_text("description", &i.description, 1000)).unwrap_or_default();
                        let service = f.take(&format!("{at}.service_type_id"), i.service_type_id.parse::<ServiceTypeId>());
                        if let Some(s) = service
                            && !refs.service_types.contains(&s)
                        {
                            f.push(&format!("{at}.service_type_id"), "unknown_reference", "is not a service of this organization");
                        }
                        let modality = f.take(&format!("{at}.modality"), Modality::parse(&i.modality));
                        let frequency =
                            f.take(&format!("{at}.frequency"), required_text("frequency", &i.frequency, 200)).unwrap_or_default();
                        let staff = f.take(&format!("{at}.staff_id"), i.staff_id.parse::<UserId>());
                        if let Some(s) = staff
                            && !refs.staff.contains(&s)
                        {
                            f.push(&format!("{at}.staff_id"), "unknown_reference", "is not a staff member of this organization");
                        }
                        if let (Some(service_type_id), Some(modality), Some(staff_id)) = (service, modality, staff) {
                            interventions.push(Intervention {
                                id: keep_id(&mut f, &format!("{at}.id"), &i.id),
                                description,
                                service_type_id,
                                modality,
                                frequency,
                                staff_id,
                            });
                        }
                    }
                    if let (Some(target_date), Some(status)) = (target, ostatus) {
                        objectives.push(Objective {
                            id: keep_id(&mut f, &format!("{at}.id"), &o.id),
                            text,
                            target_date,
                            status,
                            interventions,
                        });
                    }
                }
                if let Some(status) = status {
                    goals.push(Goal { id: keep_id(&mut f, &format!("{at}.id"), &g.id), patient_words: words, status, objectives });
                }
            }
            problems.push(Problem { id: keep_id(&mut f, &format!("{at}.id"), &p.id), statement, diagnosis, dimensions, goals });
        }
        let planned = if form.planned_discharge_on.trim().is_empty() {
            None
        } else {
            f.take("planned_discharge_on", parse_date("planned_discharge_on", &form.planned_discharge_on))
        };
        let reason = form.reason.trim().chars().take(200).collect::<String>();
        f.finish()?;
        let content = PlanContent { problems };
        let mut seen = std::collections::HashSet::new();
        if content.objectives().any(|(_, _, o)| !seen.insert(o.id)) {
            return Err(DomainError::field("problems", "duplicate_id", "an objective id appears twice"));
        }
        Ok(Self { content, reason: if reason.is_empty() { "initial".into() } else { reason }, planned_discharge_on: planned })
    }
}

fn status_or_active(f: &mut Fields, field: &str, s: &str) -> Option<ItemStatus> {
    if s.trim().is_empty() { Some(ItemStatus::Active) } else { f.take(field, ItemStatus::parse(s)) }
}

/// A signature on a plan version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signature {
    pub by: String,
    pub user_id: Option<UserId>,
    pub at: DateTime<Utc>,
}

vocabulary!(PlanStatus, "status" {
    Draft => "draft", "Draft";
    AwaitingSupervisor => "awaiting_supervisor", "Signed, awaiting the supervisor";
    Signed => "signed", "Signed";
});

/// One version of an episode's treatment plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanVersion {
    pub id: PlanVersionId,
    pub organization_id: OrganizationId,
    pub episode_id: EpisodeId,
    pub patient_id: PatientId,
    pub site_id: SiteId,
    pub program_id: ProgramId,
    pub version: i64,
    pub content: PlanContent,
    pub reason: String,
    pub planned_discharge_on: Option<NaiveDate>,
    pub author_id: UserId,
    pub created_at: DateTime<Utc>,
    pub clinician: Option<Signature>,
    pub supervisor_required: bool,
    pub supervisor_id: Option<UserId>,
    pub supervisor: Option<Signature>,
    pub patient_ack: Option<Signature>,
}

impl PlanVersion {
    pub fn status(&self) -> PlanStatus {
        match (&self.clinician, &self.supervisor) {
            (None, _) => PlanStatus::Draft,
            (Some(_), None) if self.supervisor_required => PlanStatus::AwaitingSupervisor,
            _ => PlanStatus::Signed,
        }
    }

    /// A signed version is never edited: a review makes a new version.
    pub fn require_draft(&self) -> Result<()> {
        if self.clinician.is_none() {
            Ok(())
        } else {
            Err(DomainError::conflict("plan_locked", "this plan version is signed; start a review to make a new version"))
        }
    }

    /// The day the plan took effect (its clinician signature).
    pub fn signed_on(&self) -> Option<NaiveDate> {
        self.clinician.as_ref().map(|s| s.at.date_naive())
    }
}

/// The versions of a plan, newest first, and the one in force.
pub fn current_version(versions: &[PlanVersion]) -> Option<&PlanVersion> {
    versions.iter().filter(|v| v.clinician.is_some()).max_by_key(|v| v.version)
}

// ---- Review due dates ----

/// When plans are reviewed. Configurable per organization; these are the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRules {
    /// Medicare IOP: the written plan of care is reviewed no less often than every other month
    /// (CAA 2023 §4124; ../shared/reference/iop-rules.md "Medicare IOP benefit").
    pub medicare_months: u32,
    /// Payer names (case-insensitive substrings of the patient's coverage) that mean Medicare.
    pub medicare_payers: Vec<String>,
    /// A plan update is due before a planned discharge (DC 22-A DCMR §6329): this many days
    /// before it. [verify] the lead time; 7 days is our default.
    pub discharge_lead_days: u32,
}

impl Default for ReviewRules {
    fn default() -> Self {
        Self { medicare_months: 2, medicare_payers: vec!["medicare".into()], discharge_lead_days: 7 }
    }
}

vocabulary!(ReviewReason, "reason" {
    NoPlan => "no_plan", "No signed treatment plan yet";
    Scheduled => "scheduled", "Scheduled review (program cadence)";
    Medicare => "medicare", "Medicare IOP: every other month";
    LevelChange => "level_change", "Level of care changed";
    PlannedDischarge => "planned_discharge", "Before the planned discharge";
});

/// When the next review is due, and which rule set the date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewDue {
    pub due_on: NaiveDate,
    pub reason: ReviewReason,
    pub overdue: bool,
}

pub fn is_medicare(rules: &ReviewRules, coverages: &[Coverage]) -> bool {
    coverages.iter().any(|c| {
        let payer = c.payer.to_lowercase();
        rules.medicare_payers.iter().any(|m| !m.trim().is_empty() && payer.contains(&m.trim().to_lowercase()))
    })
}

/// The earliest date any rule asks for: the program's cadence (default 30 days) after the last
/// signed version; for Medicare patients no later than `medicare_months` after it; at once after
/// a clinical level-of-care change (the episode's `plan_review_due` flag); and before a planned
/// discharge. Without a signed plan, the plan is due from admission on.
pub fn review_due(
    rules: &ReviewRules,
    program_review_days: u32,
    episode: &Episode,
    current: Option<&PlanVersion>,
    medicare: bool,
    today: NaiveDate,
) -> ReviewDue {
    let Some(plan) = current else {
        return ReviewDue { due_on: episode.admitted_on, reason: ReviewReason::NoPlan, overdue: episode.admitted_on < today };
    };
    let last = plan.signed_on().unwrap_or(episode.admitted_on);
    let mut candidates = vec![(last + Duration::days(i64::from(program_review_days)), ReviewReason::Scheduled)];
    if medicare && let Some(d) = last.checked_add_months(Months::new(rules.medicare_months)) {
        candidates.push((d, ReviewReason::Medicare));
    }
    if let Some(d) = plan.planned_discharge_on {
        candidates.push((d - Duration::days(i64::from(rules.discharge_lead_days)), ReviewReason::PlannedDischarge));
    }
    if episode.plan_review_due {
        candidates.push((today, ReviewReason::LevelChange));
    }
    // Earliest wins; on a tie the more specific reason (later in the list) names it.
    let mut best = candidates[0];
    for c in candidates.into_iter().skip(1) {
        if c.0 <= best.0 {
            best = c;
        }
    }
    ReviewDue { due_on: best.0, reason: best.1, overdue: best.0 < today }
}

/// Whether the author of a note or plan needs a supervisor's co-signature: holders of an
/// associate licence with no independent one, and staff with no active credential at all who
/// work under a supervisor. Staff without a profile are not flagged (nothing is known of them).
pub fn needs_cosignature(profile: Option<&StaffProfile>, today: NaiveDate) -> bool {
    let Some(p) = profile else { return false };
    let active: Vec<_> = p.credentials.iter().filter(|c| c.active_on(today)).collect();
    let independent = active.iter().any(|c| !c.kind.is_associate() && c.kind != crate::programs::CredentialType::PeerSpecialist);
    let associate = active.iter().any(|c| c.kind.is_associate());
    !independent && (associate || p.supervisor_id.is_some())
}

/// A row of the "plan reviews due" list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReviewRow {
    pub episode_id: EpisodeId,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub due: ReviewDue,
}

/// Storage of plan versions. Every write carries its audit event.
#[async_trait::async_trait]
pub trait PlanStore: Send + Sync {
    /// Adds the next version (a draft) of the episode's plan.
    async fn create_plan_version(
        &self,
        org: OrganizationId,
        episode: &Episode,
        v: NewPlanVersion,
        author: UserId,
        audit: crate::audit::AuditEvent,
    ) -> Result<PlanVersion>;
    /// Replaces a draft's content; a signed version answers `plan_locked`.
    async fn update_plan_draft(
        &self,
        org: OrganizationId,
        id: PlanVersionId,
        v: NewPlanVersion,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn plan_version(&self, org: OrganizationId, id: PlanVersionId) -> Result<PlanVersion>;
    /// Every version of an episode's plan, oldest first.
    async fn plan_versions(&self, org: OrganizationId, episode: EpisodeId) -> Result<Vec<PlanVersion>>;
    /// The signed versions in force for many episodes at once (one query).
    async fn current_plans(&self, org: OrganizationId, episodes: &[EpisodeId]) -> Result<Vec<PlanVersion>>;
    /// Signs as the clinician (locks the version; clears the episode's plan-review flag), in one
    /// transaction.
    async fn sign_plan(
        &self,
        org: OrganizationId,
        id: PlanVersionId,
        sig: Signature,
        supervisor: Option<UserId>,
        audit: crate::audit::AuditEvent,
    ) -> Result<()>;
    async fn cosign_plan(&self, org: OrganizationId, id: PlanVersionId, sig: Signature, audit: crate::audit::AuditEvent) -> Result<()>;
    async fn acknowledge_plan(&self, org: OrganizationId, id: PlanVersionId, sig: Signature, audit: crate::audit::AuditEvent)
    -> Result<()>;
    /// Plan versions awaiting this supervisor's signature.
    async fn plans_awaiting(&self, org: OrganizationId, supervisor: UserId) -> Result<Vec<PlanVersion>>;
}

impl PlanContent {
    /// The plan as its form would show it (what the API returns and accepts back).
    pub fn problem_forms(&self) -> Vec<ProblemForm> {
        self.problems
            .iter()
            .map(|p| ProblemForm {
                id: Some(p.id.to_string()),
                statement: p.statement.clone(),
                diagnosis: p.diagnosis.as_ref().map(|d| d.to_string()).unwrap_or_default(),
                dimensions: p.dimensions.iter().map(|d| d.code().to_string()).collect(),
                goals: p
                    .goals
                    .iter()
                    .map(|g| GoalForm {
                        id: Some(g.id.to_string()),
                        patient_words: g.patient_words.clone(),
                        status: g.status.code().into(),
                        objectives: g
                            .objectives
                            .iter()
                            .map(|o| ObjectiveForm {
                                id: Some(o.id.to_string()),
                                text: o.text.clone(),
                                target_date: o.target_date.to_string(),
                                status: o.status.code().into(),
                                interventions: o
                                    .interventions
                                    .iter()
                                    .map(|i| InterventionForm {
                                        id: Some(i.id.to_string()),
                                        description: i.description.clone(),
                                        service_type_id: i.service_type_id.to_string(),
                                        modality: i.modality.code().into(),
                                        frequency: i.frequency.clone(),
                                        staff_id: i.staff_id.to_string(),
                                    })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patients::{Diagnosis, EpisodeStatus};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn episode() -> Episode {
        Episode {
            id: EpisodeId::new(),
            organization_id: OrganizationId::new(),
            patient_id: PatientId::new(),
            program_id: ProgramId::new(),
            site_id: SiteId::new(),
            track_id: None,
            admitted_on: d("2026-10-01"),
            primary_clinician: None,
            status: EpisodeStatus::Active,
            diagnoses: vec![Diagnosis { code: Icd10::parse("F10.20").expect("icd"), description: String::new(), primary: true }],
            levels: vec![],
            reassessment_due: false,
            plan_review_due: false,
            discharge: None,
            referral_id: None,
        }
    }

    fn signed(e: &Episode, on: &str, discharge: Option<&str>) -> PlanVersion {
        PlanVersion {
            id: PlanVersionId::new(),
            organization_id: e.organization_id,
            episode_id: e.id,
            patient_id: e.patient_id,
            site_id: e.site_id,
            program_id: e.program_id,
            version: 1,
            content: PlanContent::default(),
            reason: "initial".into(),
            planned_discharge_on: discharge.map(d),
            author_id: UserId::new(),
            created_at: d(on).and_hms_opt(11, 0, 0).expect("t").and_utc(),
            clinician: Some(Signature { by: "x".into(), user_id: None, at: d(on).and_hms_opt(12, 0, 0).expect("t").and_utc() }),
            supervisor_required: false,
            supervisor_id: None,
            supervisor: None,
            patient_ack: None,
        }
    }

    #[test]
    fn review_dates_follow_the_rules() {
        let rules = ReviewRules::default();
        let e = episode();
        let v = signed(&e, "2026-10-05", None);
        let r = review_due(&rules, 30, &e, Some(&v), false, d("2026-10-10"));
        assert_eq!((r.due_on, r.reason, r.overdue), (d("2026-11-04"), ReviewReason::Scheduled, false));
        // A 90-day program cadence, but Medicare asks every other month.
        let r = review_due(&rules, 90, &e, Some(&v), true, d("2026-10-10"));
        assert_eq!((r.due_on, r.reason), (d("2026-12-05"), ReviewReason::Medicare));
        // Before a planned discharge.
        let v2 = signed(&e, "2026-10-05", Some("2026-10-20"));
        assert_eq!(review_due(&rules, 30, &e, Some(&v2), false, d("2026-10-10")).due_on, d("2026-10-13"));
        // A level change flags a review at once.
        let mut stepped = e.clone();
        stepped.plan_review_due = true;
        let r = review_due(&rules, 30, &stepped, Some(&v), false, d("2026-10-10"));
        assert_eq!((r.due_on, r.reason), (d("2026-10-10"), ReviewReason::LevelChange));
        // No plan: due from admission.
        let r = review_due(&rules, 30, &e, None, false, d("2026-10-10"));
        assert!(r.overdue && r.reason == ReviewReason::NoPlan);
    }

    #[test]
    fn a_plan_parses_with_paths_for_bad_fields() {
        let e = episode();
        let svc = ServiceTypeId::new();
        let staff = UserId::new();
        let refs = PlanRefs { episode: &e, service_types: &[svc], staff: &[staff] };
        let good = PlanForm {
            problems: vec![ProblemForm {
                id: None,
                statement: "Daily drinking".into(),
                diagnosis: "f10.20".into(),
                dimensions: vec!["5".into(), "4".into()],
                goals: vec![GoalForm {
                    id: None,
                    patient_words: "I want to stop drinking so I can keep my job".into(),
                    status: String::new(),
                    objectives: vec![ObjectiveForm {
                        id: None,
                        text: "Name three triggers and a coping skill for each".into(),
                        target_date: "2026-11-01".into(),
                        status: String::new(),
                        interventions: vec![InterventionForm {
                            id: None,
                            description: "Relapse-prevention group".into(),
                            service_type_id: svc.to_string(),
                            modality: "cbt".into(),
                            frequency: "3 groups a week".into(),
                            staff_id: staff.to_string(),
                        }],
                    }],
                }],
            }],
            reason: String::new(),
            planned_discharge_on: String::new(),
        };
        let v = NewPlanVersion::parse(&good, &refs).expect("parses");
        assert_eq!(v.content.problems[0].dimensions, vec![AsamDimension::D4, AsamDimension::D5]);
        assert_eq!(v.content.active_objectives().len(), 1);
        let mut bad = good.clone();
        bad.problems[0].diagnosis = "F32.1".into();
        bad.problems[0].goals[0].objectives[0].target_date = "soon".into();
        let Err(DomainError::Validation(errs)) = NewPlanVersion::parse(&bad, &refs) else { panic!("refused") };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"problems[0].diagnosis"), "{fields:?}");
        assert!(fields.contains(&"problems[0].goals[0].objectives[0].target_date"), "{fields:?}");
    }
}
