//! Documentation on both engines, clock at Thursday 2026-11-19 15:00 UTC: Jordan's golden thread
//! (diagnosis → problem → goal → objective → intervention → three notes), the review date rules
//! and a step-up; a group of 12 (one transaction, clone warning, lock, addendum); an associate's
//! note waiting for the supervisor's co-signature.
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::UserId;
use openiop_domain::patients::PatientId;
use openiop_domain::schedule::{Attendance, AttendanceMode, AttendanceStatus, Session, SessionId, SessionStatus};
use openiop_web::testing::{TestApp, engines};
use serde_json::{Value, json};

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let r = app.api(method, path, Some(token), body).await;
    let v = if r.body.is_empty() { Value::Null } else { r.json() };
    (r.status, v)
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let (s, v) = call(app, method.clone(), path, token, if body.is_null() { None } else { Some(body) }).await;
    assert!(s.is_success(), "{method} {path}: {s} {v}");
    v
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 19, 15, 0, 0).single().expect("time")
}

struct Clinic {
    app: TestApp,
    director: String,
    lena: String,
    lena_id: UserId,
    alex: String,
    alex_id: UserId,
    program: String,
    svc_group: String,
    svc_individual: String,
}

async fn clinician(app: &TestApp, director: &str, email: &str, kind: &str, supervisor: Option<UserId>) -> (String, UserId) {
    let u = app.staff(email, &[Role::Clinician], Scope::Organization).await;
    let sup = supervisor.map(|s| s.to_string()).unwrap_or_default();
    ok(app, Method::PUT, &format!("/api/v1/staff/{}/profile", u.id), director, json!({"discipline": "Counseling", "supervisor_id": sup}))
        .await;
    let c = ok(
        app,
        Method::POST,
        &format!("/api/v1/staff/{}/credentials", u.id),
        director,
        json!({"kind": kind, "number": "1", "state": "NJ", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!("/api/v1/credentials/{}/verification", c["id"].as_str().unwrap()),
        director,
        json!({"status": "verified"}),
    )
    .await;
    (app.token(&u).await, u.id)
}

async fn clinic(engine: &'static str) -> Clinic {
    let app = TestApp::with_config(engine, |c| {
        c.clock_at(now());
    })
    .await;
    let d = app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let director = app.token(&d).await;
    let program = ok(
        &app,
        Method::POST,
        "/api/v1/programs",
        &director,
        json!({"site_id": app.site.id.to_string(), "name": "Adult IOP", "condition_focus": "substance_use",
        "population": "adult", "delivery_modes": ["in_person"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let services = ok(&app, Method::GET, "/api/v1/service-types", &director, Value::Null).await;
    let svc = |code: &str| services.as_array().unwrap().iter().find(|s| s["code"] == code).unwrap()["id"].as_str().unwrap().to_string();
    let (svc_group, svc_individual) = (svc("group_therapy"), svc("individual_therapy"));
    let (lena, lena_id) = clinician(&app, &director, "lena@harbor.org", "LCSW", None).await;
    let (alex, alex_id) = clinician(&app, &director, "alex@harbor.org", "LPC-ASSOCIATE", Some(lena_id)).await;
    Clinic { app, director, lena, lena_id, alex, alex_id, program, svc_group, svc_individual }
}

/// Registers and admits a patient; returns (patient id, episode id).
async fn admit(c: &Clinic, first: &str, last: &str) -> (String, String) {
    let p = ok(
        &c.app,
        Method::POST,
        "/api/v1/patients",
        &c.director,
        json!({"site_id": c.app.site.id.to_string(), "legal_first": first, "legal_last": last, "date_of_birth": "1990-04-12", "state": "NJ"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = ok(
        &c.app,
        Method::POST,
        &format!("/api/v1/patients/{p}/episodes"),
        &c.director,
        json!({"program_id": c.program, "admitted_on": "2026-11-02", "diagnoses": "F10.20, F41.1"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (p, e)
}

fn plan_body(c: &Clinic, words: &str) -> Value {
    json!({"reason": "initial", "problems": [{
        "statement": "Drinks daily to manage stress; two failed attempts to stop",
        "diagnosis": "F10.20", "dimensions": ["5", "4"],
        "goals": [{"patient_words": words, "objectives": [{
            "text": "Name three personal triggers and a coping skill for each, in group, by the target date",
            "target_date": "2026-12-15",
            "interventions": [{"description": "Relapse-prevention group", "service_type_id": c.svc_group,
                "modality": "cbt", "frequency": "3 groups a week", "staff_id": c.lena_id.to_string()}]}]}]}]})
}

/// A held session straight into the store (scheduling rules are the schedule tests' business).
async fn session(c: &Clinic, service: &str, start: DateTime<Utc>, minutes: i64, leader: UserId, patients: &[&str]) -> SessionId {
    let s = Session {
        id: SessionId::new(),
        organization_id: c.app.org.id,
        site_id: c.app.site.id,
        program_id: Some(c.program.parse().unwrap()),
        track_id: None,
        template_id: None,
        service_type_id: service.parse().unwrap(),
        starts_at: start,
        ends_at: start + Duration::minutes(minutes),
        local_date: start.date_naive(),
        room_id: None,
        is_virtual: false,
        virtual_token: None,
        leaders: vec![leader],
        participants: patients.iter().map(|p| p.parse().unwrap()).collect(),
        family: vec![],
        capacity: 12,
        topic: "Relapse prevention".into(),
        modality: None,
        status: SessionStatus::Held,
        cancel_reason: String::new(),
    };
    let ev = AuditEvent::system("test", AuditAction::Create, "session", None).in_org(c.app.org.id);
    c.app.store.create_sessions(c.app.org.id, std::slice::from_ref(&s), ev).await.unwrap();
    s.id
}

async fn attend(c: &Clinic, s: SessionId, patient: &str, status: AttendanceStatus, by: UserId) {
    let a = Attendance {
        session_id: s,
        patient_id: patient.parse::<PatientId>().unwrap(),
        version: 1,
        status,
        minutes: if status.attended() { 180 } else { 0 },
        mode: AttendanceMode::InPerson,
        recorded_by: by,
        recorded_at: now(),
        note: String::new(),
        credited_by_default: false,
    };
    let ev = AuditEvent::system("test", AuditAction::Update, "attendance", None).in_org(c.app.org.id);
    c.app.store.record_attendance(c.app.org.id, &[a], &[ev]).await.unwrap();
}

fn day(d: &str, h: u32) -> DateTime<Utc> {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap().and_hms_opt(h, 0, 0).unwrap().and_utc()
}

async fn golden_thread(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, lena) = (&c.app, c.lena.as_str());
    let (jordan, episode) = admit(&c, "Jordan", "Rivera").await;

    // No plan yet: the review list says so.
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), lena, Value::Null).await;
    assert_eq!(plan["review"]["reason"], "no_plan", "{engine}");

    // A problem linked to a diagnosis it does not have is refused, with the field's path.
    let mut bad = plan_body(&c, "I want to stop drinking so I can keep my job");
    bad["problems"][0]["diagnosis"] = json!("F32.1");
    let (s, v) = call(app, Method::POST, &format!("/api/v1/episodes/{episode}/plan"), lena, Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["fields"][0]["field"], "problems[0].diagnosis", "{v}");

    let v1 = ok(
        app,
        Method::POST,
        &format!("/api/v1/episodes/{episode}/plan"),
        lena,
        plan_body(&c, "I want to stop drinking so I can keep my job"),
    )
    .await;
    assert_eq!((v1["version"].as_i64(), v1["status"].as_str()), (Some(1), Some("draft")));
    let objective = v1["problems"][0]["goals"][0]["objectives"][0]["id"].as_str().unwrap().to_string();
    let v1_id = v1["id"].as_str().unwrap().to_string();
    let signed = ok(app, Method::POST, &format!("/api/v1/plan-versions/{v1_id}/sign"), lena, Value::Null).await;
    assert_eq!(signed["status"], "signed");
    ok(app, Method::POST, &format!("/api/v1/plan-versions/{v1_id}/acknowledge"), lena, json!({"patient_name": "Jordan Rivera"})).await;
    // A signed version is never edited.
    let (s, v) = call(app, Method::PUT, &format!("/api/v1/plan-versions/{v1_id}"), lena, Some(plan_body(&c, "changed"))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("plan_locked")));

    // The review date follows the rule: the program's 30 days from the signature.
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), lena, Value::Null).await;
    assert_eq!((plan["review"]["due_on"].as_str(), plan["review"]["reason"].as_str()), (Some("2026-12-19"), Some("scheduled")), "{engine}");
    // Medicare: no less often than every other month, which wins over a 90-day program cadence.
    ok(app, Method::PUT, &format!("/api/v1/programs/{}", c.program), &c.director, json!({"site_id": app.site.id.to_string(),
        "name": "Adult IOP", "condition_focus": "substance_use", "population": "adult", "delivery_modes": ["in_person"], "plan_review_days": 90}))
    .await;
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), lena, Value::Null).await;
    assert_eq!(plan["review"]["due_on"], "2027-02-17", "90 days without Medicare");
    ok(
        app,
        Method::POST,
        &format!("/api/v1/patients/{jordan}/coverages"),
        &c.director,
        json!({"payer": "Medicare Part B", "member_id": "1EG4"}),
    )
    .await;
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), lena, Value::Null).await;
    assert_eq!((plan["review"]["due_on"].as_str(), plan["review"]["reason"].as_str()), (Some("2027-01-19"), Some("medicare")));

    // Three sessions, each note citing the objective; facts come from the schedule.
    let mut notes = Vec::new();
    for (i, d) in ["2026-11-16", "2026-11-17", "2026-11-18"].iter().enumerate() {
        let s = session(&c, &c.svc_individual, day(d, 14), 60, c.lena_id, &[&jordan]).await;
        attend(&c, s, &jordan, AttendanceStatus::Present, c.lena_id).await;
        let n = ok(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{s}/notes"),
            lena,
            json!({"patient_id": jordan, "objective_ids": [objective], "sign": true, "sections": {
                "data": format!("Session {}: reported cravings after work; named a trigger.", i + 1),
                "assessment": "Engaged; insight improving.", "plan": "Practise urge surfing before next session."}}),
        )
        .await;
        assert_eq!((n["status"].as_str(), n["facts"]["minutes"].as_i64()), (Some("final"), Some(60)));
        assert_eq!(n["facts"]["attendance"], "present");
        assert_eq!(n["facts"]["staff"][0], "Staff lena@harbor.org");
        notes.push(n["id"].as_str().unwrap().to_string());
    }
    let all = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/notes"), lena, Value::Null).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert!(all.as_array().unwrap().iter().all(|n| n["objective_ids"] == json!([objective])), "every note cites the objective");
    // A note cannot cite an objective that is not the patient's.
    let s4 = session(&c, &c.svc_individual, day("2026-11-19", 13), 60, c.lena_id, &[&jordan]).await;
    let (s, v) = call(app, Method::POST, &format!("/api/v1/sessions/{s4}/notes"), lena,
        Some(json!({"patient_id": jordan, "objective_ids": [SessionId::new().to_string()], "sections": {"data": "x", "assessment": "y", "plan": "z"}}))).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_objective")));

    // A signed note refuses edits; an addendum is kept with the original.
    let (s, v) = call(
        app,
        Method::PUT,
        &format!("/api/v1/notes/{}", notes[0]),
        lena,
        Some(json!({"sections": {"data": "rewritten", "assessment": "a", "plan": "p"}})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("note_locked")), "{engine}");
    ok(
        app,
        Method::POST,
        &format!("/api/v1/notes/{}/addenda", notes[0]),
        lena,
        json!({"text": "Correction: the trigger was payday, not work."}),
    )
    .await;
    let n = ok(app, Method::GET, &format!("/api/v1/notes/{}", notes[0]), lena, Value::Null).await;
    assert_eq!(n["sections"][0]["text"], "Session 1: reported cravings after work; named a trigger.");
    assert_eq!(n["addenda"][0]["text"], "Correction: the trigger was payday, not work.");

    // A step-up flags a review, due at once; signing the review clears it and keeps v1 readable.
    ok(
        app,
        Method::POST,
        &format!("/api/v1/episodes/{episode}/levels"),
        &c.director,
        json!({"line": "clinical", "level_code": "2.5", "from": "2026-11-19", "reason": "Relapse; needs PHP"}),
    )
    .await;
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), lena, Value::Null).await;
    assert_eq!((plan["review"]["reason"].as_str(), plan["review"]["due_on"].as_str()), (Some("level_change"), Some("2026-11-19")));
    let home = ok(app, Method::GET, "/api/v1/documentation/home", lena, Value::Null).await;
    assert!(home["plan_reviews"].as_array().unwrap().iter().any(|r| r["episode_id"] == episode.as_str()), "{home}");
    let mut review = plan_body(&c, "I want to stop drinking so I can keep my job");
    review["reason"] = json!("level-of-care change");
    review["problems"][0]["goals"][0]["objectives"][0]["id"] = json!(objective);
    let v2 = ok(app, Method::POST, &format!("/api/v1/episodes/{episode}/plan"), lena, review).await;
    assert_eq!(v2["version"], 2);
    ok(app, Method::POST, &format!("/api/v1/plan-versions/{}/sign", v2["id"].as_str().unwrap()), lena, Value::Null).await;
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), lena, Value::Null).await;
    assert_eq!(plan["current_version_id"], v2["id"]);
    assert_eq!(plan["versions"].as_array().unwrap().len(), 2);
    assert_eq!(plan["versions"][0]["problems"][0]["goals"][0]["objectives"][0]["id"], objective.as_str(), "v1 stays readable");
    assert_ne!(plan["review"]["reason"], "level_change");
    let ep = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}"), lena, Value::Null).await;
    assert_eq!(ep["plan_review_due"], false);
}

async fn group_of_twelve(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, lena) = (&c.app, c.lena.as_str());
    let names = ["Ana", "Ben", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kit", "Lou"];
    let mut patients = Vec::new();
    for n in names {
        patients.push(admit(&c, n, "Test").await);
    }
    // Ana has a plan: her objective is shown beside her section and may be cited.
    let v = ok(app, Method::POST, &format!("/api/v1/episodes/{}/plan", patients[0].1), lena, plan_body(&c, "Stay sober for my kids")).await;
    ok(app, Method::POST, &format!("/api/v1/plan-versions/{}/sign", v["id"].as_str().unwrap()), lena, Value::Null).await;
    let ana_objective = v["problems"][0]["goals"][0]["objectives"][0]["id"].as_str().unwrap().to_string();

    let ids: Vec<&str> = patients.iter().map(|(p, _)| p.as_str()).collect();
    let group = session(&c, &c.svc_group, day("2026-11-19", 9), 180, c.lena_id, &ids).await;
    for (i, p) in ids.iter().enumerate() {
        let status = if i == 11 { AttendanceStatus::AbsentExcused } else { AttendanceStatus::Present };
        attend(&c, group, p, status, c.lena_id).await;
    }
    let sheet = ok(app, Method::GET, &format!("/api/v1/sessions/{group}/notes"), lena, Value::Null).await;
    assert_eq!(sheet["kind"], "group");
    let ana = sheet["attendees"].as_array().unwrap().iter().find(|a| a["name"] == "Ana Test").unwrap();
    assert_eq!(ana["objectives"][0]["id"], ana_objective.as_str());

    let entries = |same: bool| -> Vec<Value> {
        patients[..11]
            .iter()
            .enumerate()
            .map(|(i, (p, _))| {
                let text = if same {
                    format!("{} participated actively and identified two triggers for relapse.", names[i])
                } else {
                    format!("{} described situation number {i} in detail: {} and planned response {}.", names[i], i * 7 + 3, i * 11 + 5)
                };
                let objectives = if i == 0 { vec![ana_objective.clone()] } else { vec![] };
                json!({"patient_id": p, "individualized": text, "objective_ids": objectives})
            })
            .collect()
    };
    let body = |same: bool, sign: bool| {
        json!({"topic": "Triggers and cravings", "modality": "cbt", "interventions": "Trigger mapping; urge surfing practice",
            "entries": entries(same), "sign": sign})
    };
    // Identical individualized text: the check names the pairs, and signing is refused.
    let check = ok(app, Method::POST, &format!("/api/v1/sessions/{group}/group-note/check"), lena, body(true, false)).await;
    assert_eq!(check["pairs"].as_array().unwrap().len(), 55, "11 present attendees, every pair cloned");
    assert_eq!(check["pairs"][0]["percent"], 100);
    let (s, v) = call(app, Method::POST, &format!("/api/v1/sessions/{group}/group-note"), lena, Some(body(true, true))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("notes_similar")), "{engine}");
    assert!(v["message"].as_str().unwrap().contains("Ana Test and Ben Test"), "{v}");
    assert!(app.store.session_notes(app.org.id, &[group]).await.unwrap().is_empty(), "nothing written");
    // A missing individualized section is refused, naming the attendee.
    let mut missing = body(false, true);
    missing["entries"].as_array_mut().unwrap().pop();
    let (s, v) = call(app, Method::POST, &format!("/api/v1/sessions/{group}/group-note"), lena, Some(missing)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["fields"][0]["message"].as_str().unwrap().contains("Kit Test"), "{v}");

    // One save writes 12 notes, signed, in one transaction (the absent attendee: attendance only).
    let before = app.store.query_count();
    let saved = ok(app, Method::POST, &format!("/api/v1/sessions/{group}/group-note"), lena, body(false, true)).await;
    let _ = before;
    let saved = saved.as_array().unwrap();
    assert_eq!(saved.len(), 12, "{engine}");
    assert!(saved.iter().all(|n| n["status"] == "final" && n["shared"]["topic"] == "Triggers and cravings"));
    let lou = saved.iter().find(|n| n["patient_id"] == patients[11].0.as_str()).unwrap();
    assert_eq!((lou["attendance_only"].as_bool(), lou["facts"]["attendance"].as_str()), (Some(true), Some("absent_excused")));
    let ana_note = saved.iter().find(|n| n["patient_id"] == patients[0].0.as_str()).unwrap();
    assert_eq!(ana_note["objective_ids"], json!([ana_objective]));
    assert_eq!(ana_note["facts"]["participants"], 11);

    // Signed: edits refused; an addendum is kept with the original.
    let note = ana_note["id"].as_str().unwrap();
    let (s, v) = call(app, Method::PUT, &format!("/api/v1/notes/{note}"), lena, Some(json!({"sections": {"data": "x"}}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("note_locked")));
    let (s, v) = call(app, Method::POST, &format!("/api/v1/sessions/{group}/group-note"), lena, Some(body(false, true))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("note_locked")), "re-saving a signed group is refused");
    let n = ok(app, Method::POST, &format!("/api/v1/notes/{note}/addenda"), lena, json!({"text": "Ana left 10 minutes early."})).await;
    assert_eq!(n["addenda"].as_array().unwrap().len(), 1);
    assert!(n["individualized"].as_str().unwrap().starts_with("Ana described"), "the original stays");

    // A failure for one attendee writes none: one patient's note in a second group is already
    // signed, so the group save is refused and nothing else is written.
    let second = session(&c, &c.svc_group, day("2026-11-18", 9), 180, c.lena_id, &ids).await;
    ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{second}/notes"),
        lena,
        json!({"patient_id": ids[5], "sign": true, "sections": {"data": "d", "assessment": "a", "plan": "p"}}),
    )
    .await;
    let mut all = body(false, true);
    all["entries"]
        .as_array_mut()
        .unwrap()
        .push(json!({"patient_id": ids[11], "individualized": "Lou attended this one and spoke about sleep."}));
    let (s, v) = call(app, Method::POST, &format!("/api/v1/sessions/{second}/group-note"), lena, Some(all)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("note_locked")), "{engine}");
    assert_eq!(app.store.session_notes(app.org.id, &[second]).await.unwrap().len(), 1, "none of the 12 written");

    // The second group is overdue on Lena's documentation home (it ended > 24 h ago).
    let home = ok(app, Method::GET, "/api/v1/documentation/home", lena, Value::Null).await;
    let row = home["overdue"].as_array().unwrap().iter().find(|r| r["session_id"] == second.to_string()).expect("overdue");
    assert_eq!(row["patients_without_note"], 11);
    assert!(!home["to_write"].as_array().unwrap().iter().any(|r| r["session_id"] == group.to_string()), "the signed group is done");
}

async fn associate_cosign(engine: &'static str) {
    let c = clinic(engine).await;
    let app = &c.app;
    let (jordan, _) = admit(&c, "Jordan", "Rivera").await;
    let s = session(&c, &c.svc_individual, day("2026-11-19", 13), 60, c.alex_id, &[&jordan]).await;
    let n = ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{s}/notes"),
        &c.alex,
        json!({"patient_id": jordan, "sign": true, "sections": {"data": "d", "assessment": "a", "plan": "p"}}),
    )
    .await;
    assert_eq!(
        (n["status"].as_str(), n["cosigner_id"].as_str()),
        (Some("pending_cosign"), Some(c.lena_id.to_string().as_str())),
        "{engine}"
    );
    let id = n["id"].as_str().unwrap();
    // Locked for the associate too; nobody but the supervisor co-signs.
    let (st, v) = call(
        app,
        Method::PUT,
        &format!("/api/v1/notes/{id}"),
        &c.alex,
        Some(json!({"sections": {"data": "x", "assessment": "a", "plan": "p"}})),
    )
    .await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("note_locked")));
    let (st, _) = call(app, Method::POST, &format!("/api/v1/notes/{id}/cosign"), &c.alex, None).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = call(app, Method::POST, &format!("/api/v1/notes/{id}/cosign"), &c.director, None).await;
    assert_eq!(st, StatusCode::CONFLICT);
    // Still pending until the supervisor co-signs from the queue.
    assert_eq!(ok(app, Method::GET, &format!("/api/v1/notes/{id}"), &c.director, Value::Null).await["status"], "pending_cosign");
    let home = ok(app, Method::GET, "/api/v1/documentation/home", &c.lena, Value::Null).await;
    let queue = home["to_cosign"].as_array().unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0]["note_id"].as_str(), queue[0]["patient_name"].as_str()), (Some(id), Some("Jordan Rivera")));
    let done = ok(app, Method::POST, &format!("/api/v1/notes/{id}/cosign"), &c.lena, Value::Null).await;
    assert_eq!(done["status"], "final");
    let home = ok(app, Method::GET, "/api/v1/documentation/home", &c.lena, Value::Null).await;
    assert!(home["to_cosign"].as_array().unwrap().is_empty());
    // The associate's plan waits the same way.
    let (_, episode) = admit(&c, "Sam", "Lee").await;
    let v = ok(app, Method::POST, &format!("/api/v1/episodes/{episode}/plan"), &c.alex, plan_body(&c, "Get my licence back")).await;
    let signed = ok(app, Method::POST, &format!("/api/v1/plan-versions/{}/sign", v["id"].as_str().unwrap()), &c.alex, Value::Null).await;
    assert_eq!(signed["status"], "awaiting_supervisor");
    let home = ok(app, Method::GET, "/api/v1/documentation/home", &c.lena, Value::Null).await;
    assert_eq!(home["plans_to_cosign"][0]["plan_version_id"], v["id"]);
    let done = ok(app, Method::POST, &format!("/api/v1/plan-versions/{}/cosign", v["id"].as_str().unwrap()), &c.lena, Value::Null).await;
    assert_eq!(done["status"], "signed");
}

async fn settings_and_formats(engine: &'static str) {
    let c = clinic(engine).await;
    let app = &c.app;
    let (s, _) = call(app, Method::PUT, "/api/v1/documentation/settings", &c.lena, Some(json!({"format": "soap"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "clinicians do not change the settings");
    let v = ok(
        app,
        Method::PUT,
        "/api/v1/documentation/settings",
        &c.director,
        json!({"format": "birp", "required_sections": ["behavior", "response"], "due_hours": 48, "similarity_percent": 90}),
    )
    .await;
    assert_eq!((v["format"].as_str(), v["due_hours"].as_u64()), (Some("birp"), Some(48)));
    let (s, v) = call(app, Method::PUT, "/api/v1/documentation/settings", &c.director, Some(json!({"similarity_percent": 10}))).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("similarity_percent")));
    let (jordan, _) = admit(&c, "Jordan", "Rivera").await;
    let s1 = session(&c, &c.svc_individual, day("2026-11-19", 13), 60, c.lena_id, &[&jordan]).await;
    let (st, v) = call(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{s1}/notes"),
        &c.lena,
        Some(json!({"patient_id": jordan, "sections": {"behavior": "Calm"}})),
    )
    .await;
    assert_eq!((st, v["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sections.response")));
    let n = ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{s1}/notes"),
        &c.lena,
        json!({"patient_id": jordan, "sections": {"behavior": "Calm", "response": "Receptive"}}),
    )
    .await;
    assert_eq!((n["format"].as_str(), n["status"].as_str()), (Some("birp"), Some("draft")));
    assert_eq!(n["due_at"].as_str().unwrap(), "2026-11-21T14:00:00+00:00", "48 h after the session ends");
    // Drafts can be edited, then signed.
    ok(
        app,
        Method::PUT,
        &format!("/api/v1/notes/{}", n["id"].as_str().unwrap()),
        &c.lena,
        json!({"sections": {"behavior": "Calm, on time", "response": "Receptive"}}),
    )
    .await;
    let signed = ok(app, Method::POST, &format!("/api/v1/notes/{}/sign", n["id"].as_str().unwrap()), &c.lena, Value::Null).await;
    assert_eq!((signed["status"].as_str(), signed["sections"][0]["text"].as_str()), (Some("final"), Some("Calm, on time")));
    // Out of scope: a clinician of another site does not see the note (404).
    let other = openiop_domain::ids::SiteId::new();
    let u = app.staff("far@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![other], programs: vec![] }).await;
    let far = app.token(&u).await;
    let (st, _) = call(app, Method::GET, &format!("/api/v1/notes/{}", n["id"].as_str().unwrap()), &far, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The OpenAPI document describes the documentation routes.
    let doc = app.api(Method::GET, "/api/openapi.json", None, None).await.json();
    assert!(doc["paths"]["/api/v1/sessions/{id}/group-note"]["post"].is_object());
}

#[tokio::test]
async fn golden_thread_on_both_engines() {
    for engine in engines() {
        golden_thread(engine).await;
    }
}

#[tokio::test]
async fn a_group_of_twelve_on_both_engines() {
    for engine in engines() {
        group_of_twelve(engine).await;
    }
}

#[tokio::test]
async fn an_associates_note_waits_for_the_supervisor() {
    for engine in engines() {
        associate_cosign(engine).await;
    }
}

#[tokio::test]
async fn settings_formats_and_scope() {
    for engine in engines() {
        settings_and_formats(engine).await;
    }
}

async fn pages(engine: &'static str) {
    let c = clinic(engine).await;
    let app = &c.app;
    let (jordan, episode) = admit(&c, "Jordan", "Rivera").await;
    let mut b = app.browser();
    b.sign_in_enrolling("lena@harbor.org").await;
    // The plan page, empty; add a thread by form (a draft), then sign it.
    let page = b.get(&format!("/episodes/{episode}/plan")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("No signed treatment plan yet"));
    let csrf = page.input_value("csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("statement", "Daily drinking"),
        ("diagnosis", "F10.20"),
        ("dimension", "5"),
        ("patient_words", "I want to keep my job"),
        ("objective", "Name three triggers"),
        ("target_date", ""),
        ("intervention", "Relapse-prevention group"),
        ("service_type_id", c.svc_group.as_str()),
        ("modality", "cbt"),
        ("frequency", "3 a week"),
        ("staff_id", &c.lena_id.to_string()),
    ];
    let bad = b.post(&format!("/episodes/{episode}/plan"), &fields).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("is not a date") || bad.body.contains("field-error"), "{}", bad.body);
    let mut good = fields.to_vec();
    good[6] = ("target_date", "2026-12-15");
    let r = b.post(&format!("/episodes/{episode}/plan"), &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Name three triggers") && r.body.contains("Sign this version"));
    let plan = ok(app, Method::GET, &format!("/api/v1/episodes/{episode}/plan"), &c.lena, Value::Null).await;
    let vid = plan["versions"][0]["id"].as_str().unwrap().to_string();
    let r = b.post(&format!("/plan-versions/{vid}/sign"), &[("csrf", &csrf)]).await;
    assert!(r.body.contains("Signed"), "{}", r.body);
    let r = b.post(&format!("/plan-versions/{vid}/acknowledge"), &[("csrf", &csrf), ("patient_name", "Jordan Rivera")]).await;
    assert!(r.body.contains("acknowledged by Jordan Rivera"), "{}", r.body);
    // An individual note by form, then its page; an addendum by form.
    let s = session(&c, &c.svc_individual, day("2026-11-19", 13), 60, c.lena_id, &[&jordan]).await;
    let sheet = b.get(&format!("/sessions/{s}/notes")).await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.body);
    assert!(sheet.body.contains("Name three triggers"), "the patient's objective is offered");
    let r = b
        .post(
            &format!("/sessions/{s}/notes"),
            &[
                ("csrf", &csrf),
                ("patient_id", &jordan),
                ("section_data", "Came on time"),
                ("section_assessment", "Engaged"),
                ("intent", "sign"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "plan is required");
    assert!(r.body.contains("Plan is required"), "{}", r.body);
    let r = b
        .post(
            &format!("/sessions/{s}/notes"),
            &[
                ("csrf", &csrf),
                ("patient_id", &jordan),
                ("section_data", "Came on time"),
                ("section_assessment", "Engaged"),
                ("section_plan", "Continue"),
                ("intent", "sign"),
            ],
        )
        .await;
    let note = r.location().expect("redirect to the note").to_string();
    let page = b.get(&note).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Came on time") && page.body.contains("Final"));
    let r = b.post(&format!("{note}/addenda"), &[("csrf", &csrf), ("text", "Also discussed sleep.")]).await;
    assert!(r.body.contains("Also discussed sleep.") && r.body.contains("Came on time"));
    let home = b.get("/documentation").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Plan reviews due"));
}

#[tokio::test]
async fn pages_on_both_engines() {
    for engine in engines() {
        pages(engine).await;
    }
}

#[tokio::test]
async fn the_demo_has_signed_plans_for_its_open_episodes() {
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;
    let org = app.store.organization_by_slug(&openiop_demo::demo_slug()).await.unwrap().expect("the demo organization");
    let episodes = app.store.open_episodes(org.id, None).await.unwrap();
    let ids: Vec<_> = episodes.iter().map(|e| e.id).collect();
    let plans = app.store.current_plans(org.id, &ids).await.unwrap();
    assert!(!plans.is_empty() && plans.len() <= episodes.len());
    assert!(plans.iter().all(|p| p.content.objectives().count() >= 2), "goals with measurable objectives");
}
