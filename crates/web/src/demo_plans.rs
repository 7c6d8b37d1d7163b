//! Demo treatment plans: every open demo episode gets a signed plan (problem on its primary
//! diagnosis, a goal in the patient's words, a measurable objective, an intervention led by the
//! primary clinician), dated so that the documentation home shows reviews coming due and one
//! overdue. Idempotent: episodes that already have a plan are left alone.
use chrono::{Duration, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::ids::OrganizationId;
use openiop_domain::plans::{GoalForm, InterventionForm, NewPlanVersion, ObjectiveForm, PlanForm, PlanRefs, ProblemForm, Signature};
use openiop_domain::{Result, Store};

fn event(org: OrganizationId, action: AuditAction, what: &str) -> AuditEvent {
    AuditEvent::system("demo", action, what, None).in_org(org)
}

const GOALS: &[(&str, &str, &str)] = &[
    ("I want to stop drinking so I can keep my job", "Name three personal triggers and a coping skill for each", "relapse_prevention"),
    ("I want to feel like myself again", "Use one behavioural-activation activity on five days a week, logged", "cbt"),
    ("I don't want to lose my kids", "Attend every group and two mutual-help meetings a week for four weeks", "twelve_step"),
    ("I want my evenings back", "Practise urge surfing during cravings and rate them before and after", "dbt"),
];

pub async fn ensure_demo_plans(store: &dyn Store, org: OrganizationId) -> Result<()> {
    let episodes = store.open_episodes(org, None).await?;
    let services = store.service_types(org).await?;
    let Some(group) = services.iter().find(|s| s.code == "group_therapy") else { return Ok(()) };
    let users = store.users(org).await?;
    let Some(fallback) = users.first() else { return Ok(()) };
    let staff: Vec<_> = users.iter().map(|u| u.id).collect();
    let service_ids: Vec<_> = services.iter().map(|s| s.id).collect();
    let today = Utc::now().date_naive();
    for (i, e) in episodes.iter().enumerate() {
        if !store.plan_versions(org, e.id).await?.is_empty() {
            continue;
        }
        let Some(dx) = e.diagnoses.iter().find(|d| d.primary).or(e.diagnoses.first()) else { continue };
        let (words, objective, modality) = GOALS[i % GOALS.len()];
        let clinician = e.primary_clinician.unwrap_or(fallback.id);
        let form = PlanForm {
            problems: vec![ProblemForm {
                id: None,
                statement: format!("{} affecting work, family and daily routine", dx.description.to_lowercase().trim()),
                diagnosis: dx.code.to_string(),
                dimensions: vec!["3".into(), "5".into()],
                goals: vec![GoalForm {
                    id: None,
                    patient_words: words.into(),
                    status: String::new(),
                    objectives: vec![ObjectiveForm {
                        id: None,
                        text: objective.into(),
                        target_date: (today + Duration::days(30)).to_string(),
                        status: String::new(),
                        interventions: vec![InterventionForm {
                            id: None,
                            description: "Group therapy with the program's evidence-based curriculum".into(),
                            service_type_id: group.id.to_string(),
                            modality: modality.into(),
                            frequency: "3 groups a week".into(),
                            staff_id: clinician.to_string(),
                        }],
                    }],
                }],
            }],
            reason: "initial".into(),
            planned_discharge_on: String::new(),
        };
        let refs = PlanRefs { episode: e, service_types: &service_ids, staff: &staff };
        let Ok(parsed) = NewPlanVersion::parse(&form, &refs) else { continue };
        let v = store.create_plan_version(org, e, parsed, clinician, event(org, AuditAction::Create, "treatment_plan")).await?;
        // Signed between 2 and 35 days ago: some reviews come due this week, one is overdue.
        let signed_days_ago = [2, 12, 25, 35][i % 4];
        let name = users.iter().find(|u| u.id == clinician).map(|u| u.name.clone()).unwrap_or_default();
        let sig = Signature { by: name, user_id: Some(clinician), at: Utc::now() - Duration::days(signed_days_ago) };
        store.sign_plan(org, v.id, sig, None, event(org, AuditAction::Update, "treatment_plan_version")).await?;
    }
    Ok(())
}
