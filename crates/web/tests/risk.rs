//! Clinical safety: no risk signal is lost. Clinic stories on both engines, through the API and
//! the pages: every risk task has an owner who sees it on their home page, an incomplete
//! questionnaire's risk answer is acted on (also at the patient's own link), triage sets the
//! deadline, repeated positives join the open flag, and a patient is not discharged with a flag
//! open unless a clinician records its disposition.
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::clock::ManualClock;
use openiop_domain::users::User;
use openiop_web::testing::{TestApp, engines};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Wednesday 2026-11-18, 10:00 in New Jersey.
fn wednesday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).single().expect("time")
}

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

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("rfc3339").with_timezone(&Utc)
}

fn phq9(items: &[(u8, i32)]) -> Value {
    let m: BTreeMap<String, i32> = items.iter().map(|(i, v)| (i.to_string(), *v)).collect();
    json!(m)
}

fn all_phq9(item9: i32) -> Value {
    phq9(&[(1, 2), (2, 2), (3, 1), (4, 1), (5, 1), (6, 1), (7, 1), (8, 0), (9, item9)])
}

struct Clinic {
    app: TestApp,
    clock: Arc<ManualClock>,
    director: String,
    lena: String,
    lena_user: User,
    /// Marcus, the program's clinical lead (a clinician).
    marcus: String,
    marcus_user: User,
    /// Another clinician, responsible for none of these patients.
    omar: String,
    program: String,
    /// A second program with no clinical lead.
    program_without_lead: String,
}

async fn clinic(engine: &'static str) -> Clinic {
    let mut clock = None;
    let app = TestApp::with_config(engine, |c| clock = Some(c.clock_at(wednesday_morning()))).await;
    let clock = clock.expect("clock");
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    // A second director, who signs in only later in the day.
    app.staff("evening.director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let lena_user = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Organization).await;
    let lena = app.token(&lena_user).await;
    let marcus_user = app.staff("marcus@harbor.org", &[Role::Clinician], Scope::Organization).await;
    let marcus = app.token(&marcus_user).await;
    let omar = app.token(&app.staff("omar@harbor.org", &[Role::Clinician], Scope::Organization).await).await;
    let site = app.site.id.to_string();
    let program = ok(
        &app,
        Method::POST,
        "/api/v1/programs",
        &director,
        json!({"site_id": site, "name": "Adult Mood IOP", "condition_focus": "mental_health", "population": "adult",
               "delivery_modes": ["in_person", "virtual"], "clinical_lead_id": marcus_user.id.to_string()}),
    )
    .await;
    assert_eq!(program["clinical_lead_id"], marcus_user.id.to_string(), "{engine}: the program names its clinical lead");
    let program_without_lead = ok(
        &app,
        Method::POST,
        "/api/v1/programs",
        &director,
        json!({"site_id": site, "name": "Adult Recovery IOP", "condition_focus": "substance_use", "population": "adult", "delivery_modes": ["in_person"]}),
    )
    .await;
    Clinic {
        app,
        clock,
        director,
        lena,
        lena_user,
        marcus,
        marcus_user,
        omar,
        program: program["id"].as_str().expect("id").to_string(),
        program_without_lead: program_without_lead["id"].as_str().expect("id").to_string(),
    }
}

/// Registers and admits a patient; returns (patient, episode).
async fn admit(c: &Clinic, first: &str, program: &str, primary: Option<&User>) -> (String, String) {
    let app = &c.app;
    let pt = ok(
        app,
        Method::POST,
        "/api/v1/patients",
        &c.lena,
        json!({"site_id": app.site.id.to_string(), "legal_first": first, "legal_last": "Ames", "date_of_birth": "1985-06-01", "state": "NJ"}),
    )
    .await;
    let patient = pt["id"].as_str().expect("id").to_string();
    let mut body = json!({"program_id": program, "admitted_on": app.days_ago(7), "level_code": "2.1", "diagnoses": "F33.1"});
    if let Some(u) = primary {
        body["primary_clinician_id"] = json!(u.id.to_string());
    }
    let e = ok(app, Method::POST, &format!("/api/v1/patients/{patient}/episodes"), &c.lena, body).await;
    (patient, e["id"].as_str().expect("id").to_string())
}

async fn measure(c: &Clinic, episode: &str, instrument: &str, responses: Value) -> (StatusCode, Value) {
    call(
        &c.app,
        Method::POST,
        &format!("/api/v1/episodes/{episode}/measurements"),
        &c.lena,
        Some(json!({"instrument": instrument, "responses": responses})),
    )
    .await
}

async fn tasks(c: &Clinic, token: &str) -> Vec<Value> {
    ok(&c.app, Method::GET, "/api/v1/tasks", token, Value::Null).await.as_array().expect("tasks").clone()
}

/// The home page's table of open risk flags ("" when it has none).
fn risk_table(home: &str) -> &str {
    home.split_once("id=\"risk-flags\"").map(|(_, rest)| rest.split_once("</table>").map_or(rest, |(t, _)| t)).unwrap_or("")
}

/// Signs a staff member in through the pages and returns their home page.
async fn home_page(app: &TestApp, email: &str) -> String {
    let mut b = app.browser();
    b.sign_in_enrolling(email).await;
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.body
}

async fn every_risk_task_has_an_owner_who_sees_it_at_home(engine: &'static str) {
    let c = clinic(engine).await;
    // Robin has Lena as primary clinician; Sam has none, in a program whose lead is Marcus;
    // Kai has none, in a program without a lead: the clinical directors answer.
    let (_, robin) = admit(&c, "Robin", &c.program, Some(&c.lena_user)).await;
    let (_, sam) = admit(&c, "Sam", &c.program, None).await;
    let (_, kai) = admit(&c, "Kai", &c.program_without_lead, None).await;
    for e in [&robin, &sam, &kai] {
        let (s, v) = measure(&c, e, "phq9", all_phq9(1)).await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    }
    let lena = tasks(&c, &c.lena).await;
    assert_eq!(lena.len(), 1, "{engine}: Lena answers for Robin only: {lena:?}");
    assert_eq!(
        (lena[0]["owner"].as_str(), lena[0]["assigned_to"].as_str()),
        (Some("primary_clinician"), Some(c.lena_user.id.to_string().as_str()))
    );
    let marcus = tasks(&c, &c.marcus).await;
    assert_eq!(marcus.len(), 1, "{engine}: Marcus, the clinical lead, answers for Sam: {marcus:?}");
    assert_eq!(
        (marcus[0]["owner"].as_str(), marcus[0]["assigned_to"].as_str()),
        (Some("clinical_lead"), Some(c.marcus_user.id.to_string().as_str()))
    );
    let director = tasks(&c, &c.director).await;
    assert_eq!(director.len(), 1, "{engine}: the clinical directors answer for Kai: {director:?}");
    assert_eq!((director[0]["owner"].as_str(), director[0]["assigned_to"].as_str()), (Some("clinical_directors"), None));
    assert!(tasks(&c, &c.omar).await.is_empty(), "{engine}: Omar answers for none of them");

    // The database refuses a task without an owner, whatever the application does.
    let refused =
        openiop_store::testing::raw_sql(&c.app.sql, "UPDATE clinical_tasks SET assigned_to = NULL WHERE owner_kind = 'primary_clinician'")
            .await;
    assert!(refused.is_err(), "{engine}: a task cannot lose its person");
    let refused = openiop_store::testing::raw_sql(&c.app.sql, "UPDATE clinical_tasks SET owner_kind = NULL").await;
    assert!(refused.is_err(), "{engine}: nor its owner");

    // Each sees their flag first on their home page; Omar sees none.
    let home = home_page(&c.app, "lena@harbor.org").await;
    let flags = risk_table(&home);
    assert!(flags.contains("Robin Ames") && !flags.contains("Sam Ames"), "{engine}: Lena's home: {flags}");
    let home = home_page(&c.app, "marcus@harbor.org").await;
    let flags = risk_table(&home);
    assert!(
        flags.contains("Sam Ames") && flags.contains("clinical lead") && !flags.contains("Robin Ames"),
        "{engine}: Marcus's home: {flags}"
    );
    let home = home_page(&c.app, "director@harbor.org").await;
    let flags = risk_table(&home);
    assert!(
        flags.contains("Kai Ames") && !flags.contains("Robin Ames"),
        "{engine}: the director's home shows the directors' flag: {flags}"
    );
    let home = home_page(&c.app, "omar@harbor.org").await;
    assert!(!home.contains("id=\"risk-flags\""), "{engine}: nothing for Omar");

    // Past its deadline, Lena's task is escalated to the directors in scope too.
    c.clock.advance(Duration::hours(5));
    let director = tasks(&c, &c.director).await;
    assert_eq!(director.len(), 3, "{engine}: overdue tasks reach the directors: {director:?}");
    let home = home_page(&c.app, "evening.director@harbor.org").await;
    let flags = risk_table(&home);
    assert!(flags.contains("Robin Ames") && flags.contains("Overdue"), "{engine}: escalated on every director's home: {flags}");
}

async fn an_incomplete_questionnaire_with_a_risk_answer_is_kept_and_acted_on(engine: &'static str) {
    let c = clinic(engine).await;
    let (patient, episode) = admit(&c, "Robin", &c.program, Some(&c.lena_user)).await;

    // Robin answered items 1, 2 and 9 and refused the rest: the risk answer is kept.
    let (s, v) = measure(&c, &episode, "phq9", phq9(&[(1, 1), (2, 2), (9, 2)])).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    assert_eq!(v["result"]["complete"], false, "{engine}: stored as incomplete: {v}");
    assert!(v["result"]["total"].is_null(), "{engine}: no total for an incomplete set");
    assert_eq!(v["risk_flag"]["code"], "suicide_risk", "{engine}: the flag is raised");
    assert_eq!(tasks(&c, &c.lena).await.len(), 1);

    // Incomplete without any risk answer: still refused, nothing written.
    let (s, v) = measure(&c, &episode, "phq9", phq9(&[(1, 1), (2, 2)])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
    let m = ok(&c.app, Method::GET, &format!("/api/v1/patients/{patient}/measurements"), &c.lena, Value::Null).await;
    assert_eq!(m["results"].as_array().map(Vec::len), Some(1), "{engine}: only the risk answer was stored");

    // At the patient's own link: item 9 answered, the rest left blank.
    let (_, kai_episode) = admit(&c, "Kai", &c.program, Some(&c.lena_user)).await;
    let link =
        ok(&c.app, Method::POST, &format!("/api/v1/episodes/{kai_episode}/measurement-links"), &c.lena, json!({"instrument": "phq9"}))
            .await;
    let path = link["path"].as_str().expect("path").to_string();
    let mut patient_browser = c.app.browser();
    let form = patient_browser.get(&path).await;
    assert_eq!(form.status, StatusCode::OK);
    let r = patient_browser.post(&path, &[("item_9", "1")]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{engine}: the link accepts the risk answer: {} {}", r.status, r.body);
    let lena = tasks(&c, &c.lena).await;
    assert_eq!(lena.len(), 2, "{engine}: Kai's answer at the link raised a task for Lena: {lena:?}");
}

async fn triage_sets_the_deadline_and_repeated_positives_join_the_open_flag(engine: &'static str) {
    let c = clinic(engine).await;
    let now = c.app.state.now();
    let (_, low) = admit(&c, "Low", &c.program, Some(&c.lena_user)).await;
    let (_, moderate) = admit(&c, "Moderate", &c.program, Some(&c.lena_user)).await;
    let (_, high) = admit(&c, "High", &c.program, Some(&c.lena_user)).await;
    let (_, lifetime) = admit(&c, "Lifetime", &c.program, Some(&c.lena_user)).await;
    let no = |ids: &[&str]| -> Value {
        let mut m: BTreeMap<String, i32> = ["1", "2", "6"].iter().map(|k| (k.to_string(), 0)).collect();
        for id in ids {
            m.insert(id.to_string(), 1);
        }
        json!(m)
    };
    // C-SSRS: a wish to be dead only (low); thoughts with a method (moderate); behaviour in the
    // past 3 months (high); behaviour more than 3 months ago only (lifetime: moderate).
    for (e, answers) in [(&low, no(&["1"])), (&moderate, no(&["1", "2", "3"])), (&high, no(&["1", "6"])), (&lifetime, no(&["6L"]))] {
        let mut answers = answers;
        if answers.get("2") == Some(&json!(1)) {
            for k in ["4", "5"] {
                answers[k] = json!(0);
            }
        }
        let (s, v) = measure(&c, e, "cssrs-screener", answers).await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
        assert!(v["risk_flag"]["id"].is_string(), "{engine}: every positive level raises a flag: {v}");
    }
    let all = tasks(&c, &c.lena).await;
    assert_eq!(all.len(), 4, "{engine}: {all:?}");
    let task_of = |level: &str| all.iter().find(|t| t["title"].as_str().is_some_and(|x| x.contains(&format!(", {level} ")))).cloned();
    let high_t = task_of("high").expect("a high task");
    assert_eq!(high_t["urgency"], "immediate", "{engine}");
    assert!((at(&high_t["due_at"]) - now).num_minutes().abs() <= 1, "{engine}: high risk is due now");
    let moderate_tasks: Vec<&Value> = all.iter().filter(|t| t["urgency"] == "same_day").collect();
    assert_eq!(moderate_tasks.len(), 2, "{engine}: active thoughts and lifetime behaviour are both moderate: {all:?}");
    for t in moderate_tasks {
        let hours = (at(&t["due_at"]) - now).num_minutes() as f64 / 60.0;
        assert!((3.9..=4.01).contains(&hours), "{engine}: moderate within 4 hours, got {hours}");
    }
    let low_t = task_of("low").expect("a low task");
    assert_eq!(low_t["urgency"], "next_contact", "{engine}");
    let days = (at(&low_t["due_at"]) - now).num_hours() as f64 / 24.0;
    assert!((6.9..=7.01).contains(&days), "{engine}: no session booked: the 7-day default, got {days}");

    // The deadlines are the organization's to set.
    let mut settings = ok(&c.app, Method::GET, "/api/v1/measurement-settings", &c.director, Value::Null).await;
    settings["risk_high_due_minutes"] = json!(15);
    settings["risk_task_due_hours"] = json!(2);
    ok(&c.app, Method::PUT, "/api/v1/measurement-settings", &c.director, settings).await;

    // Moderate's patient screens again with behaviour in the past 3 months: the same flag, now
    // high, its history two results long, and its task brought forward to 15 minutes.
    let flags_before = ok(&c.app, Method::GET, "/api/v1/tasks", &c.lena, Value::Null).await.as_array().map(Vec::len);
    let (s, v) = measure(&c, &moderate, "cssrs-screener", no(&["1", "6"])).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    let flag = v["risk_flag"]["id"].as_str().expect("flag").to_string();
    assert_eq!(v["risk_flag"]["level"], "high", "{engine}: escalated");
    let after = tasks(&c, &c.lena).await;
    assert_eq!(Some(after.len()), flags_before, "{engine}: no second task");
    let t = after.iter().find(|t| t["risk_flag_id"] == flag.as_str()).expect("the flag's task");
    assert_eq!(t["urgency"], "immediate");
    let minutes = (at(&t["due_at"]) - c.app.state.now()).num_minutes();
    assert!((14..=15).contains(&minutes), "{engine}: due in the organization's 15 minutes, got {minutes}");
    let detail = ok(&c.app, Method::GET, &format!("/api/v1/risk-flags/{flag}"), &c.lena, Value::Null).await;
    let history = detail["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{engine}: {detail}");
    assert_eq!((history[0]["level"].as_str(), history[1]["level"].as_str()), (Some("moderate"), Some("high")));

    // A PHQ-9 item 9 on Low's open flag adds to it (no new flag): one open flag per episode.
    let (s, v) = measure(&c, &low, "phq9", all_phq9(1)).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    let low_flag = v["risk_flag"]["id"].as_str().expect("flag").to_string();
    let detail = ok(&c.app, Method::GET, &format!("/api/v1/risk-flags/{low_flag}"), &c.lena, Value::Null).await;
    assert_eq!(detail["history"].as_array().map(Vec::len), Some(2), "{engine}: {detail}");
    assert_eq!(tasks(&c, &c.lena).await.len(), 4, "{engine}: still one task per flag");
    // PHQ-9 item 9 carries no level and counts as moderate: Low's task comes forward to 2 h.
    let t = tasks(&c, &c.lena).await.into_iter().find(|t| t["risk_flag_id"] == low_flag.as_str()).expect("task");
    let hours = (at(&t["due_at"]) - c.app.state.now()).num_minutes() as f64 / 60.0;
    assert!((1.9..=2.01).contains(&hours), "{engine}: brought forward to the moderate deadline, got {hours}");
}

async fn a_patient_is_not_discharged_with_a_risk_flag_open(engine: &'static str) {
    let c = clinic(engine).await;
    let (patient, episode) = admit(&c, "Robin", &c.program, Some(&c.lena_user)).await;
    let (s, v) = measure(&c, &episode, "phq9", all_phq9(1)).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    let flag = v["risk_flag"]["id"].as_str().expect("flag").to_string();
    let discharge = json!({"date": c.app.today().to_string(), "kind": "transferred", "reason": "Moving to a residential program",
                           "next_provider": "Shore Residential", "appointments": "Intake Monday 9:00"});
    let (s, v) = call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/discharge"), &c.lena, Some(discharge.clone())).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("open_risk_flag")), "{engine}: {v}");
    let e = ok(&c.app, Method::GET, &format!("/api/v1/episodes/{episode}"), &c.lena, Value::Null).await;
    assert_ne!(e["status"], "discharged", "{engine}: still in care, nothing written");
    let _ = patient;

    // A disposition too short to mean anything is refused too.
    let mut with = discharge.clone();
    with["risk_disposition"] = json!("ok");
    let (s, v) = call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/discharge"), &c.lena, Some(with.clone())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");

    with["risk_disposition"] = json!("Assessed today: passive thoughts, no plan; safety plan handed to the residential team.");
    let (s, v) = call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/discharge"), &c.lena, Some(with)).await;
    assert_eq!(s, StatusCode::OK, "{engine}: {v}");
    let detail = ok(&c.app, Method::GET, &format!("/api/v1/risk-flags/{flag}"), &c.lena, Value::Null).await;
    assert_eq!(detail["open"], false, "{engine}: {detail}");
    assert!(detail["discharge_disposition"].as_str().is_some_and(|d| d.contains("residential team")), "{engine}: {detail}");
    assert!(tasks(&c, &c.lena).await.is_empty(), "{engine}: its task is done");
}

async fn a_patient_does_not_leave_the_program_with_a_risk_flag_open(engine: &'static str) {
    let c = clinic(engine).await;
    let (_, episode) = admit(&c, "Sasha", &c.program, Some(&c.lena_user)).await;
    let track = |program: &str, name: &str| {
        let (app, director, program, name) = (&c.app, c.director.clone(), program.to_string(), name.to_string());
        async move {
            let t = ok(
                app,
                Method::POST,
                &format!("/api/v1/programs/{program}/tracks"),
                &director,
                json!({"name": name, "delivery_mode": "in_person"}),
            )
            .await;
            t["id"].as_str().expect("track id").to_string()
        }
    };
    let evenings = track(&c.program, "Evenings").await;
    let mornings = track(&c.program, "Mornings").await;
    let recovery = track(&c.program_without_lead, "Recovery mornings").await;
    let (s, v) =
        call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/track"), &c.lena, Some(json!({"track_id": evenings}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{engine}: {v}");
    let (s, v) = measure(&c, &episode, "phq9", all_phq9(1)).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");

    // Within the program, a track change is not a departure: it goes ahead with the flag open.
    let (s, v) =
        call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/track"), &c.lena, Some(json!({"track_id": mornings}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{engine}: {v}");

    // Out of the program it is refused, and nothing moves.
    let (s, v) =
        call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/track"), &c.lena, Some(json!({"track_id": recovery}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("open_risk_flag")), "{engine}: {v}");
    let e = ok(&c.app, Method::GET, &format!("/api/v1/episodes/{episode}"), &c.lena, Value::Null).await;
    assert_eq!((e["program_id"].as_str(), e["track_id"].as_str()), (Some(c.program.as_str()), Some(mornings.as_str())), "{engine}: {e}");

    // With the disposition recorded on the move, it goes ahead and the flag is closed.
    let body = json!({"track_id": recovery, "risk_disposition": "Assessed with the patient: passive thoughts, no plan; safety plan reviewed and shared with the recovery team."});
    let (s, v) = call(&c.app, Method::POST, &format!("/api/v1/episodes/{episode}/track"), &c.lena, Some(body)).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{engine}: {v}");
    let e = ok(&c.app, Method::GET, &format!("/api/v1/episodes/{episode}"), &c.lena, Value::Null).await;
    assert_eq!(e["program_id"].as_str(), Some(c.program_without_lead.as_str()), "{engine}: {e}");
    assert!(tasks(&c, &c.lena).await.is_empty(), "{engine}: the flag's task is done");
}

#[tokio::test]
async fn every_risk_task_has_an_owner_who_sees_it_at_home_on_every_engine() {
    for engine in engines() {
        every_risk_task_has_an_owner_who_sees_it_at_home(engine).await;
    }
}

#[tokio::test]
async fn an_incomplete_questionnaire_with_a_risk_answer_is_kept_and_acted_on_on_every_engine() {
    for engine in engines() {
        an_incomplete_questionnaire_with_a_risk_answer_is_kept_and_acted_on(engine).await;
    }
}

#[tokio::test]
async fn triage_sets_the_deadline_and_repeated_positives_join_the_open_flag_on_every_engine() {
    for engine in engines() {
        triage_sets_the_deadline_and_repeated_positives_join_the_open_flag(engine).await;
    }
}

#[tokio::test]
async fn a_patient_is_not_discharged_with_a_risk_flag_open_on_every_engine() {
    for engine in engines() {
        a_patient_is_not_discharged_with_a_risk_flag_open(engine).await;
    }
}

#[tokio::test]
async fn a_patient_does_not_leave_the_program_with_a_risk_flag_open_on_every_engine() {
    for engine in engines() {
        a_patient_does_not_leave_the_program_with_a_risk_flag_open(engine).await;
    }
}
