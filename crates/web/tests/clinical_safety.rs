//! Clinical safety: hours counted as delivered, population rules, consents that mean what they
//! say, levels that carry their hours, answer sets that say one thing per item. One clinic story per
//! rule, on SQLite and PostgreSQL, through the API and the pages.
//!
//! Harbor Light runs an adult evening IOP and a teen IOP at one site. It is Wednesday
//! 2026-11-18, 10:00 in New Jersey, and the clock does not move. Jordan (35) has been in the adult
//! program since 2 November.
use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::ProgramId;
use openiop_domain::patients::PatientId;
use openiop_domain::schedule::SessionId;
use openiop_domain::store::AuditFilter;
use openiop_web::testing::{TestApp, engines};
use serde_json::{Value, json};

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

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// The codes of a 422's fields.
fn field_codes(v: &Value) -> Vec<String> {
    v["fields"].as_array().map(|f| f.iter().filter_map(|x| x["code"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

struct Clinic {
    app: TestApp,
    director: String,
    director_email: String,
    adult: String,
    teen: String,
    room: String,
    lena: String,
    svc_individual: String,
    svc_group: String,
    svc_family: String,
    jordan: String,
    jordan_episode: String,
}

async fn clinic(engine: &'static str) -> Clinic {
    let app = TestApp::with_config(engine, |c| {
        c.clock_at(wednesday_morning());
    })
    .await;
    let director_email = "director@harbor.org".to_string();
    let director = app.token(&app.staff(&director_email, &[Role::ClinicalDirector], Scope::Organization).await).await;
    let site = app.site.id.to_string();
    let room = id_of(
        &ok(
            &app,
            Method::POST,
            &format!("/api/v1/sites/{site}/rooms"),
            &director,
            json!({"name": "Group Room", "kind": "group", "capacity": 14}),
        )
        .await,
    );
    let program = |name: &str, population: &str| json!({"site_id": site, "name": name, "condition_focus": "substance_use", "population": population, "delivery_modes": ["in_person"]});
    let adult = id_of(&ok(&app, Method::POST, "/api/v1/programs", &director, program("Adult Evening IOP", "adult")).await);
    let teen = id_of(&ok(&app, Method::POST, "/api/v1/programs", &director, program("Teen IOP", "adolescent")).await);
    let services = ok(&app, Method::GET, "/api/v1/service-types", &director, Value::Null).await;
    let svc = |code: &str| services.as_array().unwrap().iter().find(|s| s["code"] == code).unwrap()["id"].as_str().unwrap().to_string();
    let lena = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Organization).await;
    ok(&app, Method::PUT, &format!("/api/v1/staff/{}/profile", lena.id), &director, json!({"discipline": "Clinical"})).await;
    let c = ok(
        &app,
        Method::POST,
        &format!("/api/v1/staff/{}/credentials", lena.id),
        &director,
        json!({"kind": "LCSW", "number": "1", "state": "NJ", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}),
    )
    .await;
    ok(&app, Method::POST, &format!("/api/v1/credentials/{}/verification", id_of(&c)), &director, json!({"status": "verified"})).await;
    let mut clinic = Clinic {
        app,
        director,
        director_email,
        adult,
        teen,
        room,
        lena: lena.id.to_string(),
        svc_individual: svc("individual_therapy"),
        svc_group: svc("group_therapy"),
        svc_family: svc("family_therapy"),
        jordan: String::new(),
        jordan_episode: String::new(),
    };
    let jordan = register(&clinic, "Jordan", "1990-04-12").await;
    let (s, e) = admit(&clinic, &jordan, &clinic.adult.clone(), "2026-11-02", None).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {e}");
    clinic.jordan = jordan;
    clinic.jordan_episode = id_of(&e);
    clinic
}

async fn register(c: &Clinic, first: &str, born: &str) -> String {
    id_of(
        &ok(
            &c.app,
            Method::POST,
            "/api/v1/patients",
            &c.director,
            json!({"site_id": c.app.site.id.to_string(), "legal_first": first, "legal_last": "Rivera", "date_of_birth": born, "state": "NJ"}),
        )
        .await,
    )
}

async fn admit(c: &Clinic, patient: &str, program: &str, on: &str, reason: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"program_id": program, "admitted_on": on, "diagnoses": "F10.20"});
    if let Some(r) = reason {
        body["population_exception_reason"] = json!(r);
    }
    call(&c.app, Method::POST, &format!("/api/v1/patients/{patient}/episodes"), &c.director, Some(body)).await
}

/// A one-off session (`service`, 18:00 unless `start`) of a program on a date.
async fn session(c: &Clinic, program: &str, service: &str, date: &str, start: &str, patients: &[&str]) -> (StatusCode, Value) {
    let body = json!({"site_id": c.app.site.id.to_string(), "program_id": program, "service_type_id": service, "date": date, "start": start,
                      "room_id": c.room, "leader_ids": [c.lena], "patient_ids": patients});
    call(&c.app, Method::POST, "/api/v1/sessions", &c.director, Some(body)).await
}

async fn attendance(c: &Clinic, session: &str, rows: Value) -> (StatusCode, Value) {
    call(&c.app, Method::POST, &format!("/api/v1/sessions/{session}/attendance"), &c.director, Some(json!({"rows": rows}))).await
}

async fn audits(c: &Clinic, patient: &str, resource_type: &str) -> Vec<openiop_domain::audit::AuditEvent> {
    let filter = AuditFilter { patient_id: Some(patient.to_string()), limit: 500, ..Default::default() };
    c.app
        .store
        .audit_search(c.app.org.id, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e.resource_type == resource_type)
        .collect()
}

// ---- 7. Late arrival and leaving early are counted as attended, not as the whole session --------

async fn partial_attendance_counts_the_minutes_attended(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, t) = (&c.app, c.director.as_str());
    let (s, monday) = session(&c, &c.adult, &c.svc_individual, "2026-11-16", "18:00", &[&c.jordan]).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {monday}");
    let monday = id_of(&monday);

    // Jordan came late on Monday: without the minutes attended, nothing is recorded.
    let (s, v) = attendance(&c, &monday, json!([{"patient_id": c.jordan, "status": "late"}])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
    assert_eq!(field_codes(&v), ["minutes_required"], "{engine}: {v}");
    assert!(v["fields"][0]["message"].as_str().unwrap().contains("minutes attended"), "{engine}: a message a person understands: {v}");
    // Nor is "late" with the whole session's minutes.
    let (s, v) = attendance(&c, &monday, json!([{"patient_id": c.jordan, "status": "late", "minutes": 60}])).await;
    assert_eq!((s, field_codes(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["partial_minutes_full".to_string()]), "{engine}: {v}");
    // With the minutes: 40 of 60 count.
    let v = ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{monday}/attendance"),
        t,
        json!({"rows": [{"patient_id": c.jordan, "status": "late", "minutes": 40}]}),
    )
    .await;
    assert_eq!(
        (v["records"][0]["minutes"].as_u64(), v["records"][0]["credited_by_default"].as_bool()),
        (Some(40), Some(false)),
        "{engine}: {v}"
    );
    let week = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W47", c.jordan_episode), t, Value::Null).await;
    assert_eq!(week["attended_hours"].as_f64(), Some(0.67), "{engine}: 40 minutes, not the hour: {week}");

    // The clinic sets a default for a departure recorded without minutes: 15 minutes missed.
    let (s, v) = call(app, Method::PUT, "/api/v1/documentation/settings", t, Some(json!({"partial_attendance_missed_minutes": 500}))).await;
    assert_eq!((s, field_codes(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["out_of_range".to_string()]), "{engine}: {v}");
    let settings = ok(app, Method::PUT, "/api/v1/documentation/settings", t, json!({"partial_attendance_missed_minutes": 15})).await;
    assert_eq!(settings["partial_attendance_missed_minutes"], 15, "{engine}: {settings}");
    let (_, tuesday) = session(&c, &c.adult, &c.svc_individual, "2026-11-17", "18:00", &[&c.jordan]).await;
    let tuesday = id_of(&tuesday);
    let v = ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{tuesday}/attendance"),
        t,
        json!({"rows": [{"patient_id": c.jordan, "status": "left_early"}]}),
    )
    .await;
    assert_eq!(
        (v["records"][0]["minutes"].as_u64(), v["records"][0]["credited_by_default"].as_bool()),
        (Some(45), Some(true)),
        "{engine}: {v}"
    );
    let week = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W47", c.jordan_episode), t, Value::Null).await;
    assert_eq!(week["attended_hours"].as_f64(), Some(1.42), "{engine}: 40 + 45 minutes: {week}");
    assert!(
        audits(&c, &c.jordan, "attendance").await.iter().any(|e| e.detail.contains("left_early minutes=45 credited_by_default")),
        "{engine}: the audit entry says the minutes were the default"
    );

    // The session page shows the minutes field, marks the credited record, and re-shows a
    // refused row with its problem.
    let mut b = app.browser();
    b.sign_in_enrolling(&c.director_email).await;
    let page = b.get(&format!("/sessions/{tuesday}")).await;
    assert_eq!(page.status, StatusCode::OK, "{engine}");
    assert!(page.body.contains(&format!("name=\"minutes_{}\"", c.jordan)), "{engine}: the minutes field");
    assert!(page.body.contains(&format!("id=\"credited_{}\"", c.jordan)), "{engine}: credited by default, shown as such");
    ok(app, Method::PUT, "/api/v1/documentation/settings", t, json!({"partial_attendance_missed_minutes": 0})).await;
    let page = b.get(&format!("/sessions/{monday}")).await;
    let csrf = page.input_value("csrf").expect("csrf");
    let status = format!("status_{}", c.jordan);
    let minutes = format!("minutes_{}", c.jordan);
    let r = b.post(&format!("/sessions/{monday}/attendance"), &[("csrf", &csrf), (&status, "left_early"), (&minutes, "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}");
    assert!(r.body.contains(&format!("id=\"problem_{}\"", c.jordan)), "{engine}: the row is marked");
    assert!(r.body.contains("aria-invalid=\"true\""), "{engine}");
    let week = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W47", c.jordan_episode), t, Value::Null).await;
    assert_eq!(week["attended_hours"].as_f64(), Some(1.42), "{engine}: nothing changed: {week}");
}

// ---- 8. Attendance outside the episode is refused ----------------------------------------------

async fn attendance_outside_the_episode_is_refused(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, t) = (&c.app, c.director.as_str());
    // Casey was discharged on Friday the 13th; Ari is admitted from Tuesday the 17th.
    let casey = register(&c, "Casey", "1988-02-02").await;
    let (_, e) = admit(&c, &casey, &c.adult, "2026-11-02", None).await;
    let casey_episode = id_of(&e);
    ok(
        app,
        Method::POST,
        &format!("/api/v1/episodes/{casey_episode}/discharge"),
        t,
        json!({"date": "2026-11-13", "kind": "completed", "reason": "Goals met", "appointments": "Weekly outpatient counseling"}),
    )
    .await;
    let ari = register(&c, "Ari", "1992-07-07").await;
    let (s, e) = admit(&c, &ari, &c.adult, "2026-11-17", None).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {e}");
    let ari_episode = id_of(&e);

    let (s, monday) = session(&c, &c.adult, &c.svc_group, "2026-11-16", "18:00", &[&c.jordan, &casey, &ari]).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {monday}");
    let monday = id_of(&monday);
    let (s, v) = attendance(
        &c,
        &monday,
        json!([
        {"patient_id": c.jordan, "status": "present"},
        {"patient_id": casey, "status": "present"},
        {"patient_id": ari, "status": "present"}]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
    assert_eq!(field_codes(&v), ["outside_episode", "outside_episode"], "{engine}: {v}");
    let fields = v["fields"].as_array().unwrap();
    let message = |p: &str| fields.iter().find(|f| f["field"] == format!("{p}.status")).unwrap()["message"].as_str().unwrap().to_string();
    assert!(message(&casey).contains("ended on 2026-11-13"), "{engine}: {}", message(&casey));
    assert!(message(&ari).contains("admitted on 2026-11-17"), "{engine}: {}", message(&ari));
    // Nothing was kept, not even Jordan's row; Jordan's alone is fine.
    let week = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W47", c.jordan_episode), t, Value::Null).await;
    assert_eq!(week["attended_hours"].as_f64(), Some(0.0), "{engine}: {week}");
    ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{monday}/attendance"),
        t,
        json!({"rows": [{"patient_id": c.jordan, "status": "present"}]}),
    )
    .await;
    // Neither episode counts the Monday.
    for e in [&casey_episode, &ari_episode] {
        let week = ok(app, Method::GET, &format!("/api/v1/episodes/{e}/hours?week=2026-W47"), t, Value::Null).await;
        assert_eq!(week["attended_hours"].as_f64(), Some(0.0), "{engine}: {week}");
    }
    // Ari's Tuesday is within the episode.
    let (_, tuesday) = session(&c, &c.adult, &c.svc_individual, "2026-11-17", "18:00", &[&ari]).await;
    ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{}/attendance", id_of(&tuesday)),
        t,
        json!({"rows": [{"patient_id": ari, "status": "present"}]}),
    )
    .await;
    let week = ok(app, Method::GET, &format!("/api/v1/episodes/{ari_episode}/hours?week=2026-W47"), t, Value::Null).await;
    assert_eq!(week["attended_hours"].as_f64(), Some(1.0), "{engine}: {week}");
}

// ---- 10. Population rules at admission and scheduling, with audited exceptions -----------------

async fn population_rules_hold_unless_a_clinician_records_an_exception(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, t) = (&c.app, c.director.as_str());
    // Riley is 16: the adult program refuses them unless a clinician says why.
    let riley = register(&c, "Riley", "2010-05-01").await;
    let (s, v) = admit(&c, &riley, &c.adult, "2026-11-16", None).await;
    assert_eq!((s, field_codes(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["population_mismatch".to_string()]), "{engine}: {v}");
    assert_eq!(v["fields"][0]["field"], "population_exception_reason", "{engine}: {v}");
    assert!(v["fields"][0]["message"].as_str().unwrap().contains("a minor (under 18)"), "{engine}: {v}");
    let (s, v) = admit(&c, &riley, &c.adult, "2026-11-16", Some("ok")).await;
    assert_eq!((s, field_codes(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["too_short".to_string()]), "{engine}: {v}");
    let reason = "No adolescent program within reach; parents consent; seen with the adult group under the director's review";
    let (s, v) = admit(&c, &riley, &c.adult, "2026-11-16", Some(reason)).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    let riley_id: PatientId = riley.parse().unwrap();
    let recorded = app.store.population_exceptions(app.org.id, &[riley_id]).await.unwrap();
    assert_eq!(recorded.len(), 1, "{engine}");
    assert_eq!((recorded[0].reason.as_str(), recorded[0].episode_id.map(|e| e.to_string())), (reason, Some(id_of(&v))), "{engine}");
    assert_eq!(recorded[0].program_id, c.adult.parse::<ProgramId>().unwrap(), "{engine}");
    assert_eq!(audits(&c, &riley, "population_exception").await.len(), 1, "{engine}: audited with the admission");

    // Their episode's exception covers the adult program's groups.
    let (s, v) = session(&c, &c.adult, &c.svc_group, "2026-11-19", "18:00", &[&c.jordan, &riley]).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");

    // Sam (15, in the teen program) is not booked into an adult group without a reason…
    let sam = register(&c, "Sam", "2011-03-01").await;
    let (s, v) = admit(&c, &sam, &c.teen, "2026-11-16", None).await;
    assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
    let (s, v) = session(&c, &c.adult, &c.svc_group, "2026-11-20", "18:00", &[&c.jordan, &sam]).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("population_mismatch")), "{engine}: {v}");
    assert!(v["message"].as_str().unwrap().contains("a minor (under 18)"), "{engine}: {v}");
    // …and a booking exception covers that session only.
    let body = json!({"site_id": app.site.id.to_string(), "program_id": c.adult, "service_type_id": c.svc_group, "date": "2026-11-20",
                      "start": "18:00", "room_id": c.room, "leader_ids": [c.lena], "patient_ids": [c.jordan, sam],
                      "population_exception_reason": "Multi-family relapse prevention night; Sam attends with their parent"});
    let friday = ok(app, Method::POST, "/api/v1/sessions", t, body).await;
    let sam_id: PatientId = sam.parse().unwrap();
    let x = app.store.population_exceptions(app.org.id, &[sam_id]).await.unwrap();
    assert_eq!((x.len(), x[0].session_id.map(|s| s.to_string())), (1, Some(id_of(&friday))), "{engine}");
    assert_eq!(audits(&c, &sam, "population_exception").await.len(), 1, "{engine}");
    let (s, v) = session(&c, &c.adult, &c.svc_group, "2026-11-21", "10:00", &[&sam]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: the next session needs its own: {v}");

    // Alex (an adult, not admitted) joins a teen group only with a reason, given when adding them.
    let alex = register(&c, "Alex", "1995-01-01").await;
    let (_, teen_group) = session(&c, &c.teen, &c.svc_group, "2026-11-19", "15:00", &[&sam]).await;
    let teen_group = id_of(&teen_group);
    let path = format!("/api/v1/sessions/{teen_group}/participants");
    let (s, v) = call(app, Method::POST, &path, t, Some(json!({"add": [alex]}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("population_mismatch")), "{engine}: {v}");
    let v = ok(
        app,
        Method::POST,
        &path,
        t,
        json!({"add": [alex], "population_exception_reason": "Peer mentor, 19, co-facilitates the teen group"}),
    )
    .await;
    assert_eq!(v["patient_ids"].as_array().unwrap().len(), 2, "{engine}: {v}");
    assert_eq!(audits(&c, &alex, "population_exception").await.len(), 1, "{engine}");

    // The pages: the admission form has the reason field, and a refusal marks it.
    let mut b = app.browser();
    b.sign_in_enrolling(&c.director_email).await;
    let kai = register(&c, "Kai", "2012-09-09").await;
    let chart = b.get(&format!("/patients/{kai}")).await;
    assert!(chart.body.contains("name=\"population_exception_reason\""), "{engine}: the admission form offers the reason");
    let csrf = chart.input_value("csrf").expect("csrf");
    let r = b
        .post(
            &format!("/patients/{kai}/admit"),
            &[("csrf", &csrf), ("program_id", &c.adult), ("admitted_on", "2026-11-18"), ("diagnoses", "F10.20")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}");
    assert!(r.body.contains("admit to a program for their age"), "{engine}: the problem is said at the field");
    assert!(r.body.contains("aria-invalid=\"true\""), "{engine}: and marked");
}

// ---- 15. A revoked consent takes the family member off future sessions -------------------------

async fn a_revoked_consent_takes_the_family_member_off_future_sessions(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, t) = (&c.app, c.director.as_str());
    let jordan = &c.jordan;
    ok(app, Method::POST, &format!("/api/v1/patients/{jordan}/collaterals"), t, json!({"name": "Chris Avery", "relationship": "Spouse"}))
        .await;
    let chris = ok(app, Method::GET, &format!("/api/v1/patients/{jordan}"), t, Value::Null).await["patient"]["collaterals"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let consent_form = json!({"discloser": "Harbor Light", "recipients": "Chris Avery (spouse)", "purpose": "Family involvement in treatment",
        "information": "Dates of family sessions and what is discussed", "information_amount": "Family sessions only", "expiry_event": "End of treatment",
        "signed_by": "Jordan Rivera", "signed_on": "2026-11-10", "signature_method": "paper", "revocation_explained": true,
        "refusal_consequences_explained": true, "redisclosure_notice_given": true, "collateral_id": chris});
    let consent = id_of(&ok(app, Method::POST, &format!("/api/v1/patients/{jordan}/consents"), t, consent_form.clone()).await);

    // Family therapy on Monday (held), Thursday and next Monday, with Chris.
    let mut sessions = Vec::new();
    for date in ["2026-11-16", "2026-11-19", "2026-11-23"] {
        let (s, v) = session(&c, &c.adult, &c.svc_family, date, "14:00", &[jordan]).await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {v}");
        let sid = id_of(&v);
        ok(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{sid}/participants"),
            t,
            json!({"family_patient_id": jordan, "family_collateral_id": chris}),
        )
        .await;
        sessions.push(sid.parse::<SessionId>().unwrap());
    }
    ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{}/attendance", sessions[0]),
        t,
        json!({"rows": [{"patient_id": jordan, "status": "present"}]}),
    )
    .await;

    // Jordan revokes the consent in writing, through the chart.
    let mut b = app.browser();
    b.sign_in_enrolling(&c.director_email).await;
    let chart = b.get(&format!("/patients/{jordan}")).await;
    let csrf = chart.input_value("csrf").expect("csrf");
    let r = b
        .post(
            &format!("/patients/{jordan}/consents/{consent}/revoke"),
            &[("csrf", &csrf), ("revoked_by", "Jordan Rivera"), ("note", "Asked in writing")],
        )
        .await;
    assert!(r.status.is_redirection(), "{engine}: {} {}", r.status, r.body);

    // Chris is off the two sessions to come; Monday's history keeps them.
    let family = |s: SessionId| async move { app.store.scheduled_session(app.org.id, s).await.unwrap().family };
    assert_eq!(family(sessions[0]).await.len(), 1, "{engine}: the past is not rewritten");
    assert!(family(sessions[1]).await.is_empty(), "{engine}: off Thursday");
    assert!(family(sessions[2]).await.is_empty(), "{engine}: off next Monday");
    let jordan_id: PatientId = jordan.parse().unwrap();
    let removed = app.store.family_removals(app.org.id, jordan_id).await.unwrap();
    let mut listed: Vec<SessionId> = removed.iter().map(|r| r.session_id).collect();
    listed.sort();
    let mut expected = vec![sessions[1], sessions[2]];
    expected.sort();
    assert_eq!(listed, expected, "{engine}: the list of what changed is kept");
    let audited = audits(&c, jordan, "session_family").await;
    assert_eq!(audited.len(), 1, "{engine}: one audit entry for the removal");
    assert!(
        audited[0].detail.contains(&sessions[1].to_string()) && audited[0].detail.contains(&sessions[2].to_string()),
        "{engine}: {}",
        audited[0].detail
    );

    // Chris cannot be added again without a new consent; with one, they can.
    let path = format!("/api/v1/sessions/{}/participants", sessions[1]);
    let (s, v) = call(app, Method::POST, &path, t, Some(json!({"family_patient_id": jordan, "family_collateral_id": chris}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("consent_required")), "{engine}: {v}");
    let mut renewed = consent_form;
    renewed["signed_on"] = json!("2026-11-18");
    ok(app, Method::POST, &format!("/api/v1/patients/{jordan}/consents"), t, renewed).await;
    ok(app, Method::POST, &path, t, json!({"family_patient_id": jordan, "family_collateral_id": chris})).await;
    assert_eq!(family(sessions[1]).await.len(), 1, "{engine}");
}

#[tokio::test]
async fn partial_attendance_counts_the_minutes_attended_on_every_engine() {
    for engine in engines() {
        partial_attendance_counts_the_minutes_attended(engine).await;
    }
}

#[tokio::test]
async fn attendance_outside_the_episode_is_refused_on_every_engine() {
    for engine in engines() {
        attendance_outside_the_episode_is_refused(engine).await;
    }
}

#[tokio::test]
async fn population_rules_hold_unless_a_clinician_records_an_exception_on_every_engine() {
    for engine in engines() {
        population_rules_hold_unless_a_clinician_records_an_exception(engine).await;
    }
}

#[tokio::test]
async fn a_revoked_consent_takes_the_family_member_off_future_sessions_on_every_engine() {
    for engine in engines() {
        a_revoked_consent_takes_the_family_member_off_future_sessions(engine).await;
    }
}

/// `serve --demo` shows both: a late arrival recorded with its minutes, and a family member
/// taken off the sessions to come when the patient revoked the consent.
#[tokio::test]
async fn the_demo_shows_a_late_arrival_with_minutes_and_a_revoked_family_consent() {
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;
    let org = app.store.organization_by_slug(&openiop_demo::demo_slug()).await.unwrap().expect("the demo");
    let mut found = None;
    for e in app.store.open_episodes(org.id, None).await.unwrap() {
        let removed = app.store.family_removals(org.id, e.patient_id).await.unwrap();
        if !removed.is_empty() {
            found = Some((e.patient_id, removed));
        }
    }
    let (patient, removed) = found.expect("a family member taken off future sessions");
    assert_eq!(removed.len(), 2, "the two family sessions to come");
    let consents = app.store.consents(org.id, patient).await.unwrap();
    let revoked = consents.iter().find(|c| c.id == removed[0].consent_id).expect("the consent");
    assert!(revoked.revoked_on.is_some() && revoked.collateral_id == Some(removed[0].collateral_id));
    for r in &removed {
        let s = app.store.scheduled_session(org.id, r.session_id).await.unwrap();
        assert!(s.family.is_empty() && s.starts_at > app.state.now(), "off a future session");
    }
    let past = app
        .store
        .sessions_between(
            org.id,
            app.state.now() - chrono::Duration::days(3),
            app.state.now(),
            &openiop_domain::schedule::SessionFilter { patient: Some(patient), ..Default::default() },
        )
        .await
        .unwrap();
    let ids: Vec<SessionId> = past.iter().map(|s| s.id).collect();
    let att = app.store.attendance(org.id, &ids).await.unwrap();
    let late = att.iter().find(|a| a.note.contains("15 minutes late")).expect("the late arrival");
    let s = past.iter().find(|s| s.id == late.session_id).unwrap();
    assert_eq!((late.status.code(), i64::from(late.minutes), late.credited_by_default), ("late", s.minutes() - 15, false));
}

/// The director configures programs: every level the system accepts holds patients to its weekly
/// hours (ASAM 2.1: 9 h adults, 6 h adolescents; 2.5 and the 4th edition's 2.7: 20 h); a level
/// with no intensive minimum, an unknown level and hours below the level's are refused, so no
/// ledger ever shows "on track" against 0 h.
async fn every_program_level_has_its_weekly_hours(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let site = app.site.id.to_string();
    let program = |name: &str, population: &str, edition: &str, code: &str, hours: Option<f64>| {
        let mut body = json!({"site_id": site, "name": name, "condition_focus": "substance_use", "population": population,
                              "delivery_modes": ["in_person"], "level_edition": edition, "level_code": code});
        if let Some(h) = hours {
            body["weekly_hours"] = json!(h);
        }
        body
    };
    for (name, population, edition, code, hours) in [
        ("Adult IOP", "adult", "ASAM3", "2.1", 9.0),
        ("Teen IOP", "adolescent", "ASAM3", "2.1", 6.0),
        ("Day program", "adult", "ASAM3", "2.5", 20.0),
        ("High-intensity outpatient", "adult", "ASAM4", "2.5", 20.0),
        ("Medically managed IOP", "adult", "ASAM4", "2.7", 20.0),
    ] {
        let p = ok(&app, Method::POST, "/api/v1/programs", &director, program(name, population, edition, code, None)).await;
        assert_eq!(p["weekly_hours"].as_f64(), Some(hours), "{engine}: {name} at {edition} {code}: {p}");
    }
    for (edition, code, hours, expected) in [
        ("ASAM3", "1", None, "level_not_intensive"),
        ("ASAM3", "3.5", None, "level_not_intensive"),
        ("ASAM3", "9.9", None, "unknown_level_of_care"),
        ("ASAM3", "2.1", Some(5.0), "below_level_minimum"),
    ] {
        let (s, v) = call(&app, Method::POST, "/api/v1/programs", &director, Some(program("Refused", "adult", edition, code, hours))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {edition} {code}: {v}");
        assert!(field_codes(&v).contains(&expected.to_string()), "{engine}: {edition} {code}: {v}");
    }
    let programs = ok(&app, Method::GET, "/api/v1/programs", &director, Value::Null).await;
    assert!(programs.as_array().unwrap().iter().all(|p| p["name"] != "Refused"), "{engine}: nothing refused was kept");
}

#[tokio::test]
async fn every_program_level_has_its_weekly_hours_on_every_engine() {
    for engine in engines() {
        every_program_level_has_its_weekly_hours(engine).await;
    }
}

/// Answers sent twice for one item (a form or integration that repeats a key) are refused with a
/// 422, never taken as whichever came last, and nothing is stored.
async fn an_answer_set_with_a_repeated_item_is_refused(engine: &'static str) {
    use axum::body::Body;
    use axum::http::{Request, header};
    let app = TestApp::new(engine).await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let site = app.site.id.to_string();
    let program = ok(&app, Method::POST, "/api/v1/programs", &director,
        json!({"site_id": site, "name": "Adult IOP", "condition_focus": "mental_health", "population": "adult", "delivery_modes": ["in_person"]})).await;
    let patient = ok(
        &app,
        Method::POST,
        "/api/v1/patients",
        &director,
        json!({"legal_first": "Morgan", "legal_last": "Reyes", "date_of_birth": "1988-03-02", "state": "NJ", "site_id": site}),
    )
    .await;
    let episode = ok(
        &app,
        Method::POST,
        &format!("/api/v1/patients/{}/episodes", id_of(&patient)),
        &director,
        json!({"program_id": id_of(&program), "diagnoses": "F32.1"}),
    )
    .await;
    // Item 9 twice: first "nearly every day", then "not at all".
    let raw = r#"{"instrument": "phq9", "responses": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 1, "8": 1, "9": 3, "9": 0}}"#;
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/episodes/{}/measurements", id_of(&episode)))
        .header(header::AUTHORIZATION, format!("Bearer {director}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(raw))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {}", r.body);
    assert!(r.body.contains("answered twice"), "{engine}: the answer says which item: {}", r.body);
    let kept = ok(&app, Method::GET, &format!("/api/v1/patients/{}/measurements", id_of(&patient)), &director, Value::Null).await;
    assert_eq!(kept["results"].as_array().map(Vec::len), Some(0), "{engine}: nothing stored: {kept}");
    assert_eq!(kept["risk_flags"].as_array().map(Vec::len), Some(0), "{engine}: and no flag from a guess: {kept}");
}

#[tokio::test]
async fn an_answer_set_with_a_repeated_item_is_refused_on_every_engine() {
    for engine in engines() {
        an_answer_set_with_a_repeated_item_is_refused(engine).await;
    }
}
