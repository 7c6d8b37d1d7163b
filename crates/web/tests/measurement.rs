//! Measurement-based care on both engines, through the API and the pages: entering instruments
//! (refusing incomplete answers), the risk workflow, patient links, imported questionnaires,
//! RCI and the plan-review prompt, follow-up, and program outcomes against a brute-force
//! recomputation over the demo data.
use axum::http::{Method, StatusCode};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::measurement::care::{LinkId, MeasurementLink, ResultContext};
use openiop_domain::store::AuditFilter;
use openiop_domain::users::User;
use openiop_web::testing::{TestApp, engines};
use serde_json::{Value, json};
use std::collections::BTreeMap;

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let r = app.api(method, path, Some(token), body).await;
    let v = if r.body.is_empty() { Value::Null } else { serde_json::from_str(&r.body).unwrap_or(Value::String(r.body.clone())) };
    (r.status, v)
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let b = if body.is_null() { None } else { Some(body) };
    let (s, v) = call(app, method.clone(), path, token, b).await;
    assert!(s.is_success(), "{method} {path}: {s} {v}");
    v
}

struct Clinic {
    director: String,
    clinician: String,
    clinician_user: User,
    nurse: String,
    program: String,
    patient: String,
    episode: String,
}

/// A program with PHQ-9 every 14 days (and at follow-up), and one admitted patient whose primary
/// clinician is Lena.
async fn clinic(app: &TestApp, admitted_days_ago: i64) -> Clinic {
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let clinician_user = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Organization).await;
    let clinician = app.token(&clinician_user).await;
    let nurse = app.token(&app.staff("nurse@harbor.org", &[Role::Nurse], Scope::Organization).await).await;
    let p = ok(
        app,
        Method::POST,
        "/api/v1/programs",
        &director,
        json!({"site_id": app.site.id.to_string(), "name": "Adult Mood IOP", "condition_focus": "mental_health", "population": "adult", "delivery_modes": ["in_person"]}),
    )
    .await;
    let program = p["id"].as_str().unwrap().to_string();
    ok(
        app,
        Method::POST,
        &format!("/api/v1/programs/{program}/cadences"),
        &director,
        json!({"instrument": "phq9", "every_days": 14, "follow_up": true}),
    )
    .await;
    let pt = ok(
        app,
        Method::POST,
        "/api/v1/patients",
        &clinician,
        json!({"site_id": app.site.id.to_string(), "legal_first": "Robin", "legal_last": "Ames", "date_of_birth": "1985-06-01", "state": "NJ"}),
    )
    .await;
    let patient = pt["id"].as_str().unwrap().to_string();
    let e = ok(
        app,
        Method::POST,
        &format!("/api/v1/patients/{patient}/episodes"),
        &clinician,
        json!({"program_id": program, "admitted_on": app.days_ago(admitted_days_ago), "primary_clinician_id": clinician_user.id.to_string(), "level_code": "2.1", "diagnoses": "F33.1"}),
    )
    .await;
    let episode = e["id"].as_str().unwrap().to_string();
    Clinic { director, clinician, clinician_user, nurse, program, patient, episode }
}

fn phq9(items: [i32; 9]) -> Value {
    let m: BTreeMap<String, i32> = items.iter().enumerate().map(|(i, v)| ((i + 1).to_string(), *v)).collect();
    json!(m)
}

async fn item9_raises_a_flag_and_a_task_and_only_an_assessment_clears_it(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let c = clinic(&app, 10).await;

    // Incomplete and out-of-range answers are refused, one field per item.
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{}/measurements", c.episode),
        &c.clinician,
        Some(json!({"instrument": "phq9", "responses": {"1": 1, "2": 4, "3": 1}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
    let fields: Vec<(&str, &str)> =
        v["fields"].as_array().unwrap().iter().map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap())).collect();
    assert!(fields.contains(&("2", "out_of_range")), "{fields:?}");
    for missing in ["4", "5", "6", "7", "8", "9"] {
        assert!(fields.contains(&(missing, "missing_response")), "{engine}: {missing} missing in {fields:?}");
    }

    // PHQ-9 with item 9 = 1: stored with its LOINC codes, a risk flag and a task for Lena.
    let r = ok(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{}/measurements", c.episode),
        &c.nurse,
        json!({"instrument": "phq9", "responses": phq9([2, 2, 1, 1, 1, 1, 1, 0, 1])}),
    )
    .await;
    assert_eq!(r["result"]["total"], 10.0);
    assert_eq!(r["result"]["band"], "moderate");
    assert_eq!((r["result"]["loinc"].as_str(), r["result"]["total_loinc"].as_str()), (Some("44249-1"), Some("44261-6")));
    let flag = r["risk_flag"]["id"].as_str().expect("item 9 > 0 raises a flag").to_string();
    assert_eq!(r["risk_flag"]["code"], "suicide_risk");
    let tasks = ok(&app, Method::GET, "/api/v1/tasks", &c.clinician, Value::Null).await;
    let task = &tasks.as_array().unwrap()[0];
    assert_eq!(task["risk_flag_id"], flag.as_str());
    assert_eq!(task["assigned_to"], c.clinician_user.id.to_string(), "{engine}: the task goes to the primary clinician");
    let due = chrono::DateTime::parse_from_rfc3339(task["due_at"].as_str().unwrap()).unwrap();
    let hours = (due.with_timezone(&chrono::Utc) - app.state.now()).num_minutes() as f64 / 60.0;
    assert!((3.9..=4.0).contains(&hours), "{engine}: due within the same-day window, {hours} h");
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    assert_eq!(m["risk_flags"][0]["open"], true, "the flag is on the chart");

    // The nurse may not clear it; a clinician must document the assessment.
    let assessment = json!({"risk_level": "moderate", "findings": "Passive thoughts most days; no plan, no intent, no access to means.", "disposition": "Safety plan reviewed; 988 information given; follow-up tomorrow", "safety_plan_reviewed": true});
    let (s, _) = call(&app, Method::POST, &format!("/api/v1/risk-flags/{flag}/assessment"), &c.nurse, Some(assessment.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{engine}");
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/v1/risk-flags/{flag}/assessment"),
        &c.clinician,
        Some(json!({"risk_level": "low", "findings": "", "disposition": ""})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let codes: Vec<&str> = v["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(codes.contains(&"findings") && codes.contains(&"disposition"), "{codes:?}");
    // At moderate risk the safety plan must exist and be reviewed.
    let (s, v) = call(&app, Method::POST, &format!("/api/v1/risk-flags/{flag}/assessment"), &c.clinician, Some(assessment.clone())).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("safety_plan_missing")), "{engine}");
    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/episodes/{}/safety-plan", c.episode),
        &c.clinician,
        Some(json!({"sections": {"warning_signs": "Not sleeping"}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["fields"].as_array().unwrap().iter().any(|f| f["field"] == "safe_environment"));
    let plan = ok(
        &app,
        Method::PUT,
        &format!("/api/v1/episodes/{}/safety-plan", c.episode),
        &c.clinician,
        json!({"sections": {"warning_signs": "Not sleeping; skipping meals", "internal_coping": "Walk the dog; music", "social_distraction": "Coffee shop; sister's house",
            "people_to_ask": "Sister (555-0101)", "professionals": "Lena (clinic), 988 Suicide & Crisis Lifeline", "safe_environment": "Medications kept by sister",
            "reasons_for_living": "My kids"}}),
    )
    .await;
    assert_eq!(plan["version"], 1);
    let a = ok(&app, Method::POST, &format!("/api/v1/risk-flags/{flag}/assessment"), &c.clinician, assessment.clone()).await;
    assert_eq!(a["risk_level"], "moderate");
    let (s, v) = call(&app, Method::POST, &format!("/api/v1/risk-flags/{flag}/assessment"), &c.clinician, Some(assessment)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("flag_cleared")));
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    assert_eq!(m["risk_flags"][0]["open"], false, "{engine}: the assessment cleared the flag");
    assert!(m["tasks"][0]["completed_at"].is_string(), "{engine}: and completed the task");
    assert!(ok(&app, Method::GET, "/api/v1/tasks", &c.clinician, Value::Null).await.as_array().unwrap().is_empty());

    // All of it audited, against the patient.
    let log = app
        .store
        .audit_search(app.org.id, &AuditFilter { patient_id: Some(c.patient.clone()), limit: 200, ..Default::default() })
        .await
        .unwrap();
    let seen: Vec<(String, String, String)> =
        log.iter().map(|e| (e.event.action.clone(), e.event.resource_type.clone(), e.event.detail.clone())).collect();
    let has = |action: &str, what: &str, detail: &str| seen.iter().any(|(a, w, d)| a == action && w == what && d.starts_with(detail));
    assert!(has("create", "measurement_result", "phq9:treatment"), "{engine}: {seen:?}");
    assert!(has("create", "risk_flag", "suicide_risk"), "{engine}: {seen:?}");
    assert!(has("create", "safety_plan", ""), "{engine}: {seen:?}");
    assert!(has("update", "risk_flag", "cleared_by_assessment:moderate"), "{engine}: {seen:?}");
    assert!(has("read", "measurements", ""), "{engine}: {seen:?}");
    assert!(
        log.iter()
            .filter(|e| e.event.resource_type == "risk_flag" && e.event.action == "update")
            .all(|e| e.event.actor == "lena@harbor.org")
    );
    let _ = (&c.director, &c.program);
}

#[tokio::test]
async fn phq9_item9_raises_the_flag_and_task_and_only_a_clinicians_assessment_clears_it() {
    for engine in engines() {
        item9_raises_a_flag_and_a_task_and_only_an_assessment_clears_it(engine).await;
    }
}

async fn rci_status_and_plan_review(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let c = clinic(&app, 60).await;
    let e = format!("/api/v1/episodes/{}/measurements", c.episode);
    // The initial plan was written: no review is due.
    let ev =
        openiop_domain::audit::AuditEvent::system("test", openiop_domain::audit::AuditAction::Update, "episode", None).in_org(app.org.id);
    app.store.set_episode_flags(app.org.id, c.episode.parse().unwrap(), Some(false), Some(false), ev).await.unwrap();
    // Baseline 18, then 17 five weeks later: no reliable change → plan review due.
    ok(
        &app,
        Method::POST,
        &e,
        &c.clinician,
        json!({"instrument": "phq9", "administered_on": app.days_ago(40), "responses": phq9([2, 2, 2, 2, 2, 2, 2, 2, 2])}),
    )
    .await;
    let r = ok(
        &app,
        Method::POST,
        &e,
        &c.clinician,
        json!({"instrument": "phq9", "administered_on": app.days_ago(5), "responses": phq9([2, 2, 2, 2, 2, 2, 2, 2, 1])}),
    )
    .await;
    assert_eq!(r["plan_review_prompted"], true, "{engine}: no reliable improvement after 5 weeks");
    let chart = ok(&app, Method::GET, &format!("/api/v1/patients/{}", c.patient), &c.clinician, Value::Null).await;
    assert_eq!(chart["plan_review_due"], true);
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    let o = &m["outcomes"][0];
    // NHS Talking Therapies: PHQ-9 change is reliable at 6 points or more; 18 → 17 is −1.
    assert_eq!(o["change"], -1.0, "{engine}: {o}");
    assert!(o["rci"].is_null(), "{engine}: the points method has no index");
    assert_eq!(o["status"], "no_reliable_change");
    assert_eq!(o["reliable_change_points"], 6.0);
    assert!(o["change_rule"]["source"].as_str().unwrap().contains("NHS Talking Therapies"), "{engine}: cited: {o}");
    assert_eq!((o["case_at_baseline"].as_bool(), o["recovered"].as_bool()), (Some(true), Some(false)), "{engine}: 17 is still a case");
    assert_eq!(o["weeks"], 5);
    assert!(o["plan_review_prompt"].as_bool().unwrap());

    // The organization configures 8 weeks: the prompt no longer applies at 5.
    ok(
        &app,
        Method::PUT,
        "/api/v1/measurement-settings",
        &c.director,
        json!({"no_improvement_weeks": 8, "follow_up_days": [30, 90, 180], "link_expiry_days": 7, "risk_task_due_hours": 4}),
    )
    .await;
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    assert_eq!(m["outcomes"][0]["plan_review_prompt"], false);

    // Then 6: −12 points, from a case (≥ 10) to below it → reliable improvement and reliable
    // recovery (NHS Talking Therapies).
    ok(
        &app,
        Method::POST,
        &e,
        &c.clinician,
        json!({"instrument": "phq9", "administered_on": app.days_ago(0), "responses": phq9([1, 1, 1, 1, 1, 1, 0, 0, 0])}),
    )
    .await;
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    let o = &m["outcomes"][0];
    assert_eq!(o["change"], -12.0, "{engine}: {o}");
    assert_eq!(o["status"], "reliable_improvement");
    assert_eq!((o["recovered"].as_bool(), o["reliable_recovery"].as_bool()), (Some(true), Some(true)), "{engine}: {o}");
    assert_eq!((o["baseline"]["total"].as_f64(), o["latest"]["total"].as_f64()), (Some(18.0), Some(6.0)));

    // An organization that asks for 15 points: the same course is recovery, not reliable.
    let settings = ok(
        &app,
        Method::PUT,
        "/api/v1/measurement-settings",
        &c.director,
        json!({"no_improvement_weeks": 8, "follow_up_days": [30, 90, 180], "link_expiry_days": 7, "risk_task_due_hours": 4,
               "reliable_change_points": {"phq9": 15}}),
    )
    .await;
    let phq9_rule = settings["change_rules"].as_array().unwrap().iter().find(|r| r["instrument"] == "phq9").cloned().unwrap();
    assert_eq!(
        (phq9_rule["reliable_change_points"].as_f64(), phq9_rule["source"].as_str()),
        (Some(15.0), Some("organization setting (points)"))
    );
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    let o = &m["outcomes"][0];
    assert_eq!(o["status"], "no_reliable_change", "{engine}: {o}");
    assert_eq!((o["recovered"].as_bool(), o["reliable_recovery"].as_bool()), (Some(true), Some(false)), "{engine}: {o}");

    // A code that is not "instrument=value" shaped is refused, and nothing changes.
    let (s, v) = call(
        &app,
        Method::PUT,
        "/api/v1/measurement-settings",
        &c.director,
        Some(json!({"no_improvement_weeks": 8, "follow_up_days": [30], "link_expiry_days": 7, "risk_task_due_hours": 4,
                    "reliable_change_points": {"phq9": -3}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
}

#[tokio::test]
async fn reliable_change_and_recovery_follow_nhs_talking_therapies_and_no_improvement_prompts_a_plan_review() {
    for engine in engines() {
        rci_status_and_plan_review(engine).await;
    }
}

async fn patient_links(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let c = clinic(&app, 20).await;
    let link =
        ok(&app, Method::POST, &format!("/api/v1/episodes/{}/measurement-links", c.episode), &c.clinician, json!({"instrument": "phq9"}))
            .await;
    let path = link["path"].as_str().unwrap().to_string();
    let token = path.trim_start_matches("/m/").to_string();
    assert!(token.len() >= 40, "an unguessable token");
    // Only the hash is stored: the token itself finds nothing.
    let store = app.store.as_ref();
    assert!(store.link_by_token_hash(&openiop_app::security::sha256_hex(&token)).await.unwrap().is_some());
    assert!(store.link_by_token_hash(&token).await.unwrap().is_none());

    // The public page (no sign-in) shows the form; incomplete answers come back with errors.
    let mut b = app.browser();
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{engine}: {}", page.body);
    assert!(page.body.contains("Item 9"), "the form shows the items");
    assert!(!page.body.contains("Robin") && !page.body.contains("Ames"), "the public page shows no patient name");
    let csrf = page.input_value("csrf").unwrap_or_default();
    let r = b.post(&path, &[("csrf", &csrf), ("item_1", "1")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {}", r.body);
    assert!(r.body.contains("needs an answer"));
    let mut fields: Vec<(String, String)> = (1..=9).map(|i| (format!("item_{i}"), "1".to_string())).collect();
    fields.push(("csrf".into(), csrf.clone()));
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post(&path, &f).await;
    assert_eq!(r.status, StatusCode::OK, "{engine}: {}", r.body);
    assert!(r.body.contains("Thank you"));
    // Used once only.
    let again = b.post(&path, &f).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{engine}");
    assert_eq!(b.get("/m/not-a-real-token-at-all-xxxxxxxxxxxxxxxx").await.status, StatusCode::NOT_FOUND);
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    assert_eq!(m["results"][0]["source"], "patient_link");
    assert_eq!(m["results"][0]["total"], 9.0);
    assert!(m["risk_flags"][0]["open"].as_bool().unwrap(), "{engine}: item 9 at the link raises the flag too");

    // After discharge (the open flag's disposition recorded on it): a follow-up link at 30 days
    // counts as follow-up.
    ok(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{}/discharge", c.episode),
        &c.clinician,
        json!({"date": app.days_ago(0), "kind": "completed", "appointments": "Weekly outpatient therapy",
               "risk_disposition": "Assessed in person: passive thoughts only, safety plan reviewed, weekly outpatient follow-up"}),
    )
    .await;
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{}/measurement-links", c.episode),
        &c.clinician,
        Some(json!({"instrument": "phq9", "follow_up_days": 45})),
    )
    .await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_offset")));
    let link = ok(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{}/measurement-links", c.episode),
        &c.clinician,
        json!({"instrument": "phq9", "follow_up_days": 30}),
    )
    .await;
    let path = link["path"].as_str().unwrap().to_string();
    let page = b.get(&path).await;
    let csrf = page.input_value("csrf").unwrap_or_default();
    let mut fields: Vec<(String, String)> = (1..=9).map(|i| (format!("item_{i}"), "0".to_string())).collect();
    fields.push(("csrf".into(), csrf));
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(b.post(&path, &f).await.status, StatusCode::OK);
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    let fu: Vec<&Value> = m["results"].as_array().unwrap().iter().filter(|r| r["context"] == "follow_up").collect();
    assert_eq!((fu.len(), fu[0]["follow_up_days"].as_u64()), (1, Some(30)), "{engine}");
    assert_eq!(m["outcomes"][0]["follow_ups"][0]["follow_up_days"], 30);

    // An expired link is refused.
    let episode = store.episode(app.org.id, c.episode.parse().unwrap()).await.unwrap();
    let now = app.state.now();
    let expired = MeasurementLink {
        id: LinkId::new(),
        organization_id: app.org.id,
        patient_id: episode.patient_id,
        episode_id: episode.id,
        instrument: "phq9".into(),
        context: ResultContext::FollowUp { days: 90 },
        expires_at: now - chrono::Duration::hours(1),
        used_at: None,
        created_at: now - chrono::Duration::days(8),
    };
    let old_token = "an-old-token-that-expired-last-week-0123456789";
    let ev = openiop_domain::audit::AuditEvent::system("test", openiop_domain::audit::AuditAction::Create, "measurement_link", None)
        .in_org(app.org.id);
    store.create_link(app.org.id, expired, &openiop_app::security::sha256_hex(old_token), ev).await.unwrap();
    let r = b.get(&format!("/m/{old_token}")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}");
    assert!(r.body.contains("expired"));
}

#[tokio::test]
async fn a_patient_completes_a_measure_once_at_an_unguessable_expiring_link_and_follow_ups_count_as_follow_up() {
    for engine in engines() {
        patient_links(engine).await;
    }
}

/// A questionnaire written for this test: three invented items scored as a plain sum.
const STRESS_CHECK: &str = r#"{
  "resourceType": "Questionnaire",
  "status": "draft",
  "title": "Weekly stress check (test)",
  "code": [{"system": "http://loinc.org", "code": "99999-9"}],
  "item": [
    {"linkId": "tension", "type": "choice", "text": "How tense were your shoulders this week?",
     "answerOption": [{"valueCoding": {"code": "0", "display": "Loose"}}, {"valueCoding": {"code": "1", "display": "Tight"}}, {"valueCoding": {"code": "2", "display": "Knotted"}}]},
    {"linkId": "worry", "type": "integer", "text": "On how many days did worry wake you?",
     "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0}, {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 7}]},
    {"linkId": "calm", "type": "boolean", "text": "Did you find a calm hour most days?"}
  ]
}"#;

async fn imported_questionnaire(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let c = clinic(&app, 10).await;
    let (s, _) = call(
        &app,
        Method::POST,
        "/api/v1/instruments/import",
        &c.clinician,
        Some(json!({"questionnaire": serde_json::from_str::<Value>(STRESS_CHECK).unwrap(), "scoring_for": "stress-check"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a clinician does not change the instrument library");
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/v1/instruments/import",
        &c.director,
        Some(json!({"questionnaire": {"resourceType": "Patient"}, "scoring_for": "stress-check"})),
    )
    .await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_questionnaire")));
    let i = ok(
        &app,
        Method::POST,
        "/api/v1/instruments/import",
        &c.director,
        json!({"questionnaire": serde_json::from_str::<Value>(STRESS_CHECK).unwrap(), "scoring_for": "stress-check"}),
    )
    .await;
    assert_eq!((i["code"].as_str(), i["loinc"].as_str()), (Some("stress-check"), Some("99999-9")));
    assert_eq!(i["items"].as_array().unwrap().len(), 3);
    let list = ok(&app, Method::GET, "/api/v1/instruments", &c.clinician, Value::Null).await;
    assert!(list.as_array().unwrap().iter().any(|x| x["code"] == "stress-check"));

    // The imported questionnaire drives the staff form: its wording, its answers.
    let mut b = app.browser();
    b.sign_in_enrolling("lena@harbor.org").await;
    let form = b.get(&format!("/episodes/{}/measure/stress-check", c.episode)).await;
    assert_eq!(form.status, StatusCode::OK, "{engine}: {}", form.body);
    assert!(form.body.contains("How tense were your shoulders this week?") && form.body.contains("Knotted"), "{}", form.body);
    assert!(form.body.contains("Weekly stress check (test)"));
    let csrf = form.input_value("csrf").unwrap();
    let r = b
        .post(&format!("/episodes/{}/measure/stress-check", c.episode), &[("csrf", &csrf), ("item_tension", "2"), ("item_worry", "9")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}");
    assert!(r.body.contains("9 is outside 0–7") && r.body.contains("needs an answer"), "{}", r.body);
    let r = b
        .post(
            &format!("/episodes/{}/measure/stress-check", c.episode),
            &[("csrf", &csrf), ("item_tension", "2"), ("item_worry", "3"), ("item_calm", "1"), ("administered_on", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{engine}: {}", r.body);
    let m = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", c.patient), &c.clinician, Value::Null).await;
    assert_eq!(
        (m["results"][0]["instrument"].as_str(), m["results"][0]["total"].as_f64(), m["results"][0]["loinc"].as_str()),
        (Some("stress-check"), Some(6.0), Some("99999-9"))
    );
}

#[tokio::test]
async fn a_fhir_questionnaire_written_for_the_test_imports_and_drives_a_form() {
    for engine in engines() {
        imported_questionnaire(engine).await;
    }
}

/// Brute force: from every patient's own results (read one patient at a time through the API),
/// recompute each instrument's baseline, latest and follow-up means and the change shares.
async fn brute_force(app: &TestApp, token: &str, patients: &[String]) -> BTreeMap<String, Value> {
    // NHS Talking Therapies: reliable change PHQ-9 ≥ 6, GAD-7 ≥ 4 points; caseness 10 and 8.
    // National Center for PTSD: PCL-5 change ≥ 10, probable PTSD at 33.
    let reliable = |code: &str| match code {
        "phq9" => Some(6.0),
        "gad7" => Some(4.0),
        "pcl5" => Some(10.0),
        _ => None,
    };
    let cut = |code: &str| match code {
        "phq9" => Some(10.0),
        "gad7" => Some(8.0),
        "pcl5" => Some(33.0),
        _ => None,
    };
    // instrument → (baselines, latests, follow-ups, judged, improved, deteriorated, recovered, cases,
    // reliably recovered)
    type Acc = (Vec<f64>, Vec<f64>, Vec<f64>, usize, usize, usize, usize, usize, usize);
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    for p in patients {
        let m = ok(app, Method::GET, &format!("/api/v1/patients/{p}/measurements"), token, Value::Null).await;
        let mut by: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
        for r in m["results"].as_array().unwrap() {
            if r["total"].is_f64() {
                by.entry((r["instrument"].as_str().unwrap().into(), r["episode_id"].as_str().unwrap().into())).or_default().push(r);
            }
        }
        for ((code, _), mut rs) in by {
            rs.sort_by_key(|r| r["administered_on"].as_str().unwrap().to_string());
            let t: Vec<f64> = rs.iter().filter(|r| r["context"] == "treatment").map(|r| r["total"].as_f64().unwrap()).collect();
            if t.is_empty() {
                continue;
            }
            let a = acc.entry(code.clone()).or_default();
            a.0.push(t[0]);
            if t.len() > 1 {
                let (b, l) = (t[0], t[t.len() - 1]);
                a.1.push(l);
                if let Some(points) = reliable(&code) {
                    a.3 += 1;
                    if b - l >= points {
                        a.4 += 1;
                    }
                    if l - b >= points {
                        a.5 += 1;
                    }
                    // Recovery: a case at baseline, below caseness at the latest measure.
                    if cut(&code).is_some_and(|c| b >= c && l < c) {
                        a.6 += 1;
                        if b - l >= points {
                            a.8 += 1;
                        }
                    }
                    if cut(&code).is_some_and(|c| b >= c) {
                        a.7 += 1;
                    }
                }
            }
            if let Some(f) = rs.iter().rev().find(|r| r["context"] == "follow_up") {
                a.2.push(f["total"].as_f64().unwrap());
            }
        }
    }
    let mean = |v: &Vec<f64>| if v.is_empty() { Value::Null } else { json!(v.iter().sum::<f64>() / v.len() as f64) };
    acc.into_iter()
        .map(|(k, a)| {
            (
                k,
                json!({"baseline": [mean(&a.0), a.0.len()], "latest": [mean(&a.1), a.1.len()], "follow_up": [mean(&a.2), a.2.len()],
                       "improved": [a.4, a.3], "deteriorated": [a.5, a.3], "recovered": [a.6, a.7], "reliably_recovered": [a.8, a.7]}),
            )
        })
        .collect()
}

async fn program_outcomes_over_the_demo(engine: &'static str) {
    let app = TestApp::with_config(engine, |c| c.demo = true).await;
    let store = app.store.as_ref();
    let slug = openiop_demo::demo_slug();
    let org = store.organization_by_slug(&slug).await.unwrap().expect("the demo organization");
    let director = store.user_credentials(&format!("director@{slug}.example.org")).await.unwrap().unwrap().user;
    let token = app.token(&director).await;

    let before = store.query_count();
    let got = ok(&app, Method::GET, "/api/v1/program-outcomes", &token, Value::Null).await;
    let queries = store.query_count() - before;
    assert!(queries <= 16, "{engine}: program outcomes took {queries} queries (no per-patient queries)");

    let mut patients: Vec<String> = Vec::new();
    for r in store.outcome_rows(org.id, None).await.unwrap() {
        if !patients.contains(&r.patient_id.to_string()) {
            patients.push(r.patient_id.to_string());
        }
    }
    assert!(patients.len() >= 7, "{engine}: the demo has patients with results");
    let expected = brute_force(&app, &token, &patients).await;
    let got: BTreeMap<String, Value> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let pair = |f: &Value| json!([f["mean"], f["n"]]);
            let share = |s: &Value| json!([s["count"], s["n"]]);
            (
                o["instrument"].as_str().unwrap().to_string(),
                json!({"baseline": pair(&o["baseline"]), "latest": pair(&o["latest"]), "follow_up": pair(&o["follow_up"]),
                       "improved": share(&o["reliable_improvement"]), "deteriorated": share(&o["reliable_deterioration"]), "recovered": share(&o["recovered"]),
                       "reliably_recovered": share(&o["reliable_recovery"])}),
            )
        })
        .collect();
    let close = |a: &Value, b: &Value| -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9,
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close_inner(p, q)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close_inner(v, w)))
            }
            _ => a == b,
        }
    };
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{engine}");
    for (k, v) in &expected {
        assert!(close(v, &got[k]), "{engine} {k}: expected {v}, got {}", got[k]);
    }
    assert!(expected["phq9"]["follow_up"][1].as_u64().unwrap() >= 2, "follow-ups are counted");
    assert!(expected["phq9"]["improved"][0].as_u64().unwrap() >= 1 && expected["phq9"]["deteriorated"][0].as_u64().unwrap() >= 1);

    // Filters: a date range that excludes everyone, and adolescents (none in this program).
    let none = ok(&app, Method::GET, "/api/v1/program-outcomes?from=2099-01-01", &token, Value::Null).await;
    assert!(none.as_array().unwrap().is_empty());
    let none = ok(&app, Method::GET, "/api/v1/program-outcomes?population=adolescent", &token, Value::Null).await;
    assert!(none.as_array().unwrap().is_empty());
    let at_iop = ok(&app, Method::GET, "/api/v1/program-outcomes?level_code=2.1", &token, Value::Null).await;
    assert_eq!(at_iop.as_array().unwrap().len(), got.len());
    let (s, v) = call(&app, Method::GET, "/api/v1/program-outcomes?from=2024-02-01&to=2024-01-01", &token, None).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("range_reversed")));

    // CSV export, audited as an export.
    let csv = app.api(Method::GET, "/api/v1/program-outcomes.csv", Some(&token), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let line = csv.body.lines().find(|l| l.starts_with("\"phq9\"")).expect("a PHQ-9 row");
    assert!(line.contains(&format!(",{},", expected["phq9"]["baseline"][1])), "{line}");
    let log = store.audit_search(org.id, &AuditFilter { action: Some("export".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert!(log.iter().any(|e| e.event.resource_type == "program_outcomes_csv"), "{engine}");
}

fn close_inner(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close_inner(p, q)),
        _ => a == b,
    }
}

#[tokio::test]
async fn program_outcomes_over_the_demo_equal_a_brute_force_recomputation() {
    for engine in engines() {
        program_outcomes_over_the_demo(engine).await;
    }
}

#[tokio::test]
async fn the_openapi_document_describes_measurement() {
    let app = TestApp::new("sqlite").await;
    let r = app.api(Method::GET, "/api/openapi.json", None, None).await;
    let doc = r.json();
    for path in [
        "/api/v1/instruments",
        "/api/v1/episodes/{id}/measurements",
        "/api/v1/risk-flags/{id}/assessment",
        "/api/v1/program-outcomes",
        "/api/v1/program-outcomes.csv",
        "/api/v1/episodes/{id}/safety-plan",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is in the OpenAPI document");
    }
}
