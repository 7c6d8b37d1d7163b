//! The application core, as a busy clinic meets it, on SQLite and PostgreSQL: twenty staff
//! booking one room (or one clinician) for the same hour at the same moment get one booking;
//! twenty admissions of one patient at once open one episode; a failure part-way through a
//! change (a result and the plan review it prompts; attendance and the session it closes; an
//! authenticator and its first code) leaves nothing of it; and at an evening program in New
//! York at 19:30 it is still today there, although it is tomorrow in UTC. Patients and their
//! records carry random (v4) ids.
use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::patients::EpisodeId;
use openiop_domain::schedule::{SessionFilter, SessionId, SessionStatus};
use openiop_domain::users::User;
use openiop_web::testing::{PASSWORD, TestApp, engines};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// Monday 2026-11-16, 08:00 in New Jersey (13:00 UTC).
fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 13, 0, 0).single().expect("time")
}

struct Clinic {
    app: Arc<TestApp>,
    director: String,
    program: String,
    individual: String,
    group: String,
    room: String,
}

async fn clinic(engine: &'static str, now: DateTime<Utc>) -> Clinic {
    let app = TestApp::with_config(engine, |c| {
        c.clock_at(now);
    })
    .await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let site = app.site.id.to_string();
    let room = ok(
        &app,
        Method::POST,
        &format!("/api/v1/sites/{site}/rooms"),
        &director,
        json!({"name": "Office 2", "kind": "office", "capacity": 3}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let program = ok(
        &app,
        Method::POST,
        "/api/v1/programs",
        &director,
        json!({"site_id": site, "name": "Adult Evening IOP", "condition_focus": "substance_use", "population": "adult", "delivery_modes": ["in_person", "virtual"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let services = ok(&app, Method::GET, "/api/v1/service-types", &director, Value::Null).await;
    let svc = |code: &str| services.as_array().unwrap().iter().find(|s| s["code"] == code).unwrap()["id"].as_str().unwrap().to_string();
    let (individual, group) = (svc("individual_therapy"), svc("group_therapy"));
    Clinic { app: Arc::new(app), director, program, individual, group, room }
}

/// A licensed clinician (a verified LCSW in New Jersey) who may lead individual therapy.
async fn clinician(c: &Clinic, email: &str) -> User {
    let app = &c.app;
    let u = app.staff(email, &[Role::Clinician], Scope::Organization).await;
    ok(app, Method::PUT, &format!("/api/v1/staff/{}/profile", u.id), &c.director, json!({"discipline": "Clinical"})).await;
    let cred = ok(
        app,
        Method::POST,
        &format!("/api/v1/staff/{}/credentials", u.id),
        &c.director,
        json!({"kind": "LCSW", "number": "1", "state": "NJ", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!("/api/v1/credentials/{}/verification", cred["id"].as_str().unwrap()),
        &c.director,
        json!({"status": "verified"}),
    )
    .await;
    u
}

/// Sends every request at once from its own task; returns the answers in order.
async fn all_at_once(app: &Arc<TestApp>, token: &str, path: &str, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let (app, token, path) = (app.clone(), token.to_string(), path.to_string());
            tokio::spawn(async move { call(&app, Method::POST, &path, &token, Some(b)).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("request task"));
    }
    out
}

fn outcome(answers: &[(StatusCode, Value)]) -> (usize, Vec<(StatusCode, String)>) {
    let created = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let refused = answers
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
        .map(|(s, v)| (*s, v["code"].as_str().unwrap_or_default().to_string()))
        .collect();
    (created, refused)
}

async fn twenty_bookings_of_one_room_and_one_clinician(engine: &'static str) {
    let c = clinic(engine, monday_morning()).await;
    let site = c.app.site.id.to_string();
    // Twenty front-desk staff each book a different clinician into Office 2, Tuesday 10:00–10:50.
    let mut leaders = Vec::new();
    for i in 0..20 {
        leaders.push(clinician(&c, &format!("clinician{i}@harbor.org")).await.id.to_string());
    }
    let bodies = leaders
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({"site_id": site, "program_id": c.program, "service_type_id": c.individual, "date": "2026-11-17",
                   "start": format!("10:{:02}", i % 10), "minutes": "50", "room_id": c.room, "leader_ids": [l]})
        })
        .collect();
    let answers = all_at_once(&c.app, &c.director, "/api/v1/sessions", bodies).await;
    let (created, refused) = outcome(&answers);
    assert_eq!(created, 1, "{engine}: one booking of the room: {answers:?}");
    assert!(refused.iter().all(|r| *r == (StatusCode::CONFLICT, "schedule_conflict".to_string())), "{engine}: {refused:?}");
    let (from, to) = (monday_morning(), monday_morning() + chrono::Duration::days(2));
    let in_room = c
        .app
        .store
        .sessions_between(c.app.org.id, from, to, &SessionFilter { room: c.room.parse().ok(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(in_room.len(), 1, "{engine}: the database holds one");

    // Twenty bookings of one clinician for the same hour, each virtual (no room to collide on).
    let lena = &leaders[0];
    let bodies = (0..20)
        .map(|i| {
            json!({"site_id": site, "program_id": c.program, "service_type_id": c.individual, "date": "2026-11-18",
                   "start": format!("14:{:02}", i), "minutes": "50", "is_virtual": true, "leader_ids": [lena]})
        })
        .collect();
    let answers = all_at_once(&c.app, &c.director, "/api/v1/sessions", bodies).await;
    let (created, refused) = outcome(&answers);
    assert_eq!(created, 1, "{engine}: one booking of the clinician: {answers:?}");
    assert!(refused.iter().all(|r| *r == (StatusCode::CONFLICT, "schedule_conflict".to_string())), "{engine}: {refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_staff_booking_one_room_or_one_clinician_at_once_get_one_booking() {
    for engine in engines() {
        twenty_bookings_of_one_room_and_one_clinician(engine).await;
    }
}

async fn twenty_admissions_of_one_patient(engine: &'static str) {
    let c = clinic(engine, monday_morning()).await;
    let app = &c.app;
    let patient = ok(
        app,
        Method::POST,
        "/api/v1/patients",
        &c.director,
        json!({"site_id": app.site.id.to_string(), "legal_first": "Jordan", "legal_last": "Rivera", "date_of_birth": "1990-04-12", "state": "NJ"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bodies = (0..20).map(|_| json!({"program_id": c.program, "level_code": "2.1", "diagnoses": "F10.20"})).collect();
    let answers = all_at_once(&c.app, &c.director, &format!("/api/v1/patients/{patient}/episodes"), bodies).await;
    let (created, refused) = outcome(&answers);
    assert_eq!(created, 1, "{engine}: one admission: {answers:?}");
    assert!(refused.iter().all(|r| *r == (StatusCode::CONFLICT, "episode_open".to_string())), "{engine}: {refused:?}");
    let episodes = app.store.episodes(app.org.id, patient.parse().unwrap()).await.unwrap();
    assert_eq!(episodes.iter().filter(|e| e.is_open()).count(), 1, "{engine}: one open episode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_admissions_of_one_patient_at_once_open_one_episode() {
    for engine in engines() {
        twenty_admissions_of_one_patient(engine).await;
    }
}

/// Runs `attempt` with a failure injected at the first statement, then the second, and so on
/// until it goes through; after every failure `unchanged` must still hold. Returns how many
/// statements the change needed.
async fn fails_at_every_statement<A, U>(app: &TestApp, what: &str, mut attempt: impl FnMut() -> A, mut unchanged: impl FnMut() -> U) -> i64
where
    A: std::future::Future<Output = (StatusCode, Value)>,
    U: std::future::Future<Output = ()>,
{
    for n in 0..500 {
        app.sql.fail_after_statements(n);
        let (status, body) = attempt().await;
        app.sql.fail_after_statements(-1);
        if status.is_success() {
            assert!(n > 1, "{what}: a change of several statements");
            return n;
        }
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}: failure at statement {n} answers 500, nothing else: {body}");
        unchanged().await;
    }
    panic!("{what}: never went through");
}

async fn a_failure_part_way_leaves_nothing(engine: &'static str) {
    let c = clinic(engine, monday_morning()).await;
    let app = &c.app;
    let lena = clinician(&c, "lena@harbor.org").await;
    let lena_token = app.token(&lena).await;
    let site = app.site.id.to_string();
    let patient = ok(
        app,
        Method::POST,
        "/api/v1/patients",
        &c.director,
        json!({"site_id": site, "legal_first": "Robin", "legal_last": "Ames", "date_of_birth": "1985-06-01", "state": "NJ"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let episode: EpisodeId = ok(
        app,
        Method::POST,
        &format!("/api/v1/patients/{patient}/episodes"),
        &c.director,
        json!({"program_id": c.program, "admitted_on": "2026-10-05", "primary_clinician_id": lena.id.to_string(), "level_code": "2.1", "diagnoses": "F33.1"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // 1. A PHQ-9 with no reliable improvement since baseline prompts a plan review: the result
    //    and the review flag are one change.
    let ev =
        openiop_domain::audit::AuditEvent::system("test", openiop_domain::audit::AuditAction::Update, "episode", None).in_org(app.org.id);
    app.store.set_episode_flags(app.org.id, episode, Some(false), Some(false), ev).await.unwrap();
    let phq9 = |items: [i32; 9]| -> Value {
        let m: BTreeMap<String, i32> = items.iter().enumerate().map(|(i, v)| ((i + 1).to_string(), *v)).collect();
        json!(m)
    };
    let path = format!("/api/v1/episodes/{episode}/measurements");
    ok(app, Method::POST, &path, &lena_token, json!({"instrument": "phq9", "administered_on": "2026-10-09", "responses": phq9([2; 9])}))
        .await;
    let results_before = app.store.results(app.org.id, patient.parse().unwrap()).await.unwrap().len();
    let body = json!({"instrument": "phq9", "administered_on": "2026-11-13", "responses": phq9([2, 2, 2, 2, 2, 2, 2, 2, 1])});
    let n = fails_at_every_statement(
        app,
        "result + plan review",
        || call(app, Method::POST, &path, &lena_token, Some(body.clone())),
        || async {
            assert_eq!(
                app.store.results(app.org.id, patient.parse().unwrap()).await.unwrap().len(),
                results_before,
                "{engine}: no result kept"
            );
            assert!(!app.store.episode(app.org.id, episode).await.unwrap().plan_review_due, "{engine}: no review flag kept");
        },
    )
    .await;
    let e = app.store.episode(app.org.id, episode).await.unwrap();
    assert!(e.plan_review_due, "{engine}: after {n} statements, both the result and the review");

    // 2. Attendance for a session that has started closes it as held: one change.
    let s = ok(
        app,
        Method::POST,
        "/api/v1/sessions",
        &c.director,
        json!({"site_id": site, "program_id": c.program, "service_type_id": c.group, "date": "2026-11-16", "start": "07:30",
               "minutes": "90", "room_id": c.room, "leader_ids": [lena.id.to_string()], "patient_ids": [patient]}),
    )
    .await;
    let sid: SessionId = s["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/api/v1/sessions/{sid}/attendance");
    let body = json!({"rows": [{"patient_id": patient, "status": "present"}]});
    fails_at_every_statement(
        app,
        "attendance + session held",
        || call(app, Method::POST, &path, &c.director, Some(body.clone())),
        || async {
            assert!(app.store.attendance(app.org.id, &[sid]).await.unwrap().is_empty(), "{engine}: no attendance kept");
            assert_eq!(app.store.scheduled_session(app.org.id, sid).await.unwrap().status, SessionStatus::Scheduled, "{engine}");
        },
    )
    .await;
    assert_eq!(app.store.scheduled_session(app.org.id, sid).await.unwrap().status, SessionStatus::Held);
    assert_eq!(app.store.attendance(app.org.id, &[sid]).await.unwrap().len(), 1);

    // 3. Enrolling an authenticator app: the secret, the recovery codes, the first code's time
    //    step and the signed-in session are one change.
    let nurse = app.staff("nurse@harbor.org", &[Role::Nurse], Scope::Organization).await;
    let mut b = app.browser();
    assert_eq!(b.sign_in(&nurse.email, PASSWORD).await.location(), Some("/mfa"));
    let page = b.get("/mfa").await;
    let secret = page.text_of("totp-secret").expect("the secret is shown");
    let csrf = page.input_value("csrf").expect("csrf");
    let mut tries = 0;
    for n in 0..200 {
        tries += 1;
        // A fresh code each time: the clock moves on by a step.
        let code = openiop_app::security::totp::code(&secret, openiop_app::security::totp::step_at(app.state.now().timestamp())).unwrap();
        app.sql.fail_after_statements(n);
        let r = b.post("/mfa/enroll", &[("code", &code), ("csrf", &csrf)]).await;
        app.sql.fail_after_statements(-1);
        if r.status == StatusCode::OK {
            break;
        }
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{engine}: statement {n}: {}", r.body);
        let creds = app.store.user_credentials(&nurse.email).await.unwrap().unwrap();
        assert!(!creds.user.mfa_enrolled && creds.totp_secret.is_none(), "{engine}: no half-enrolled authenticator after a failure at {n}");
        assert_eq!(app.store.unused_recovery_codes(nurse.id).await.unwrap(), 0, "{engine}: no recovery codes without the enrolment");
        // The pending sign-in is still there to try again: the page still asks for the code.
        assert_eq!(b.get("/mfa").await.status, StatusCode::OK, "{engine}");
    }
    assert!(tries > 2, "{engine}: enrolment takes several statements");
    let creds = app.store.user_credentials(&nurse.email).await.unwrap().unwrap();
    assert!(creds.user.mfa_enrolled && creds.totp_last_step > 0, "{engine}: enrolled with its first code spent");
    assert_eq!(app.store.unused_recovery_codes(nurse.id).await.unwrap(), 10);
}

#[tokio::test]
async fn a_failure_between_the_parts_of_a_change_leaves_nothing_of_it() {
    for engine in engines() {
        a_failure_part_way_leaves_nothing(engine).await;
    }
}

async fn an_evening_in_new_york(engine: &'static str) {
    // Thursday 2026-12-03, 19:30 in New York = Friday 00:30 UTC.
    let evening = Utc.with_ymd_and_hms(2026, 12, 4, 0, 30, 0).single().expect("time");
    let c = clinic(engine, evening).await;
    let app = &c.app;
    let patient = ok(
        app,
        Method::POST,
        "/api/v1/patients",
        &c.director,
        json!({"site_id": app.site.id.to_string(), "legal_first": "Dana", "legal_last": "Cole", "date_of_birth": "1979-02-02", "state": "NJ"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Admitted without a date: dated today in New York, not tomorrow.
    let e = ok(
        app,
        Method::POST,
        &format!("/api/v1/patients/{patient}/episodes"),
        &c.director,
        json!({"program_id": c.program, "diagnoses": "F10.20"}),
    )
    .await;
    assert_eq!(e["admitted_on"], "2026-12-03", "{engine}: {e}");
    // A consent that expires today is still in force until midnight there.
    let consent = ok(
        app,
        Method::POST,
        &format!("/api/v1/patients/{patient}/consents"),
        &c.director,
        json!({"recipients": "Dr. Alvarez, primary care", "purpose": "Coordination of care", "information": "Attendance and progress",
               "expires_on": "2026-12-03", "signed_by": "Dana Cole", "signed_on": "2026-11-03", "discloser": "Harbor Light", "information_amount": "The whole record of this episode", "signature_method": "paper", "revocation_explained": true, "refusal_consequences_explained": true, "redisclosure_notice_given": true}),
    )
    .await;
    assert_eq!(consent["status"], "in force", "{engine}: {consent}");
    let chart = ok(app, Method::GET, &format!("/api/v1/patients/{patient}"), &c.director, Value::Null).await;
    assert_eq!(chart["consents"][0]["status"], "in force", "{engine}");
    // Today's date on a page where a clinician picks dates: today in New York.
    let week = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours", e["id"].as_str().unwrap()), &c.director, Value::Null).await;
    assert_eq!(week["week"], "2026-W49", "{engine}: this week where the program is: {week}");
    // Patients and their records have random ids: an id in a URL carries no registration date.
    for id in [&patient, e["id"].as_str().unwrap(), consent["id"].as_str().unwrap()] {
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4, "{engine}: {id}");
    }
}

#[tokio::test]
async fn at_half_past_seven_in_the_evening_in_new_york_it_is_still_today() {
    for engine in engines() {
        an_evening_in_new_york(engine).await;
    }
}

/// On PostgreSQL the database itself refuses a double booking that slips past the rules (a bug,
/// or a writer that skips them): sessions written straight to the store, overlapping in one
/// room, one leader or one patient, are refused with the same 409 code; back-to-back sessions,
/// and a booking over a cancelled one, are kept.
async fn the_database_refuses_a_double_booking(engine: &'static str) {
    use openiop_domain::audit::{AuditAction, AuditEvent};
    let c = clinic(engine, monday_morning()).await;
    let site = c.app.site.id.to_string();
    let lena = clinician(&c, "lena@harbor.org").await.id.to_string();
    let omar = clinician(&c, "omar@harbor.org").await.id.to_string();
    let booked = ok(
        &c.app,
        Method::POST,
        "/api/v1/sessions",
        &c.director,
        json!({"site_id": site, "program_id": c.program, "service_type_id": c.individual, "date": "2026-11-17",
               "start": "10:00", "minutes": "50", "room_id": c.room, "leader_ids": [lena]}),
    )
    .await;
    let first: SessionId = booked["id"].as_str().unwrap().parse().unwrap();
    let store = &c.app.store;
    let org = c.app.org.id;
    let original = store.scheduled_session(org, first).await.unwrap();
    let audit = || AuditEvent::system("test", AuditAction::Create, "session", None).in_org(org);
    let copy = |f: &dyn Fn(&mut openiop_domain::schedule::Session)| {
        let mut s = original.clone();
        s.id = SessionId::new();
        s.template_id = None;
        f(&mut s);
        s
    };
    let omar_id = omar.parse().unwrap();
    let other_room = ok(
        &c.app,
        Method::POST,
        &format!("/api/v1/sites/{site}/rooms"),
        &c.director,
        json!({"name": "Office 3", "kind": "office", "capacity": 3}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let half_later = |s: &mut openiop_domain::schedule::Session| {
        s.starts_at += chrono::Duration::minutes(25);
        s.ends_at += chrono::Duration::minutes(25);
    };
    let same_room = copy(&|s| {
        half_later(s);
        s.leaders = vec![omar_id];
    });
    let same_leader = copy(&|s| {
        half_later(s);
        s.room_id = Some(other_room);
    });
    let back_to_back = copy(&|s| {
        s.starts_at = original.ends_at;
        s.ends_at = original.ends_at + chrono::Duration::minutes(50);
    });
    let r = store.create_sessions(org, &[same_room], audit()).await;
    let r2 = store.create_sessions(org, &[same_leader], audit()).await;
    if engine == "postgres" {
        for (what, r) in [("room", r), ("leader", r2)] {
            let e = r.expect_err(&format!("{engine}: the database refuses a second booking of the {what}"));
            assert_eq!(e.code(), "schedule_conflict", "{engine}: {what}: {e}");
        }
    } else {
        // SQLite has one writer, whose transaction runs the rules; a direct store write is not checked.
        assert!(r.is_ok() && r2.is_ok(), "{engine}: only PostgreSQL holds the constraint");
        return;
    }
    assert_eq!(store.create_sessions(org, &[back_to_back], audit()).await.expect("back to back is fine"), 1);

    // A patient in two overlapping sessions (a group and an individual session) is refused too.
    let patient = ok(
        &c.app,
        Method::POST,
        "/api/v1/patients",
        &c.director,
        json!({"legal_first": "Robin", "legal_last": "Hale", "date_of_birth": "1990-04-02", "state": "NJ", "site_id": site}),
    )
    .await;
    let pid = patient["id"].as_str().unwrap().parse().unwrap();
    let mut with_patient = original.clone();
    with_patient.participants = vec![pid];
    store.save_session(org, &with_patient, audit()).await.expect("the patient joins the first session");
    let overlapping = copy(&|s| {
        half_later(s);
        s.is_virtual = true;
        s.room_id = None;
        s.leaders = vec![omar_id];
        s.participants = vec![pid];
    });
    let e = store.create_sessions(org, std::slice::from_ref(&overlapping), audit()).await.expect_err("the patient is already booked");
    assert_eq!(e.code(), "schedule_conflict");

    // Once the first session is cancelled, the time is free for all three.
    let mut cancelled = with_patient.clone();
    cancelled.status = SessionStatus::Cancelled;
    cancelled.cancel_reason = "Clinician ill".into();
    store.save_session(org, &cancelled, audit()).await.expect("cancelled");
    assert_eq!(store.create_sessions(org, &[overlapping], audit()).await.expect("free once cancelled"), 1);
}

#[tokio::test]
async fn the_database_refuses_a_double_booking_on_postgresql() {
    for engine in engines() {
        the_database_refuses_a_double_booking(engine).await;
    }
}
