//! Jordan works 09:00–17:00 and comes to the adult evening track: three 3-hour groups a week.
//! The story runs through the API on SQLite and PostgreSQL with the clock set to Saturday
//! 2026-11-14, 08:00 in New Jersey.
use axum::http::{Method, StatusCode};
use chrono::{TimeZone, Utc};
use openiop_domain::auth::{Role, Scope};
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

struct Clinic {
    app: TestApp,
    director: String,
    program: String,
    evening: String,
    weekend: String,
    room_a: String,
    svc_group: String,
    svc_individual: String,
    lena: String,
    nia: String,
    jordan: String,
    jordan_episode: String,
}

fn saturday_morning() -> chrono::DateTime<Utc> {
    // 2026-11-14 08:00 EST = 13:00 UTC.
    Utc.with_ymd_and_hms(2026, 11, 14, 13, 0, 0).single().expect("time")
}

async fn clinic(engine: &'static str) -> Clinic {
    let app = TestApp::with_config(engine, |c| {
        c.clock_at(saturday_morning());
    })
    .await;
    let d = app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let director = app.token(&d).await;
    let site = app.site.id.to_string();
    let room_a = ok(
        &app,
        Method::POST,
        &format!("/api/v1/sites/{site}/rooms"),
        &director,
        json!({"name": "Group Room A", "kind": "group", "capacity": 14}),
    )
    .await;
    let room_b = ok(
        &app,
        Method::POST,
        &format!("/api/v1/sites/{site}/rooms"),
        &director,
        json!({"name": "Small Room", "kind": "group", "capacity": 2}),
    )
    .await;
    ok(&app, Method::POST, &format!("/api/v1/sites/{site}/rooms"), &director, json!({"name": "Office 1", "kind": "office", "capacity": 3}))
        .await;
    let program = ok(
        &app,
        Method::POST,
        "/api/v1/programs",
        &director,
        json!({"site_id": site, "name": "Adult Evening IOP", "condition_focus": "substance_use",
        "population": "adult", "delivery_modes": ["in_person", "virtual"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let services = ok(&app, Method::GET, "/api/v1/service-types", &director, Value::Null).await;
    let svc = |code: &str| services.as_array().unwrap().iter().find(|s| s["code"] == code).unwrap()["id"].as_str().unwrap().to_string();
    let (svc_group, svc_individual) = (svc("group_therapy"), svc("individual_therapy"));
    let lena = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Organization).await;
    let nia = app.staff("nia@harbor.org", &[Role::Prescriber], Scope::Organization).await;
    for (u, kind) in [(&lena, "LCSW"), (&nia, "NP")] {
        ok(&app, Method::PUT, &format!("/api/v1/staff/{}/profile", u.id), &director, json!({"discipline": "Clinical"})).await;
        let c = ok(
            &app,
            Method::POST,
            &format!("/api/v1/staff/{}/credentials", u.id),
            &director,
            json!({"kind": kind, "number": "1", "state": "NJ", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}),
        )
        .await;
        ok(
            &app,
            Method::POST,
            &format!("/api/v1/credentials/{}/verification", c["id"].as_str().unwrap()),
            &director,
            json!({"status": "verified"}),
        )
        .await;
    }
    let evening = ok(
        &app,
        Method::POST,
        &format!("/api/v1/programs/{program}/tracks"),
        &director,
        json!({"name": "Adult evening", "delivery_mode": "in_person"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let weekend = ok(
        &app,
        Method::POST,
        &format!("/api/v1/programs/{program}/tracks"),
        &director,
        json!({"name": "Saturday morning", "delivery_mode": "in_person"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for day in ["mon", "wed", "thu"] {
        ok(
            &app,
            Method::POST,
            &format!("/api/v1/tracks/{evening}/template"),
            &director,
            json!({"service_type_id": svc_group, "weekday": day, "start": "18:00",
            "room_id": room_a["id"], "leader_id": lena.id.to_string(), "topic": "Relapse prevention"}),
        )
        .await;
    }
    ok(
        &app,
        Method::POST,
        &format!("/api/v1/tracks/{weekend}/template"),
        &director,
        json!({"service_type_id": svc_group, "weekday": "sat", "start": "09:00",
        "room_id": room_a["id"], "leader_id": lena.id.to_string(), "topic": "Weekend skills"}),
    )
    .await;
    let _ = room_b;
    // Jordan works 09:00–17:00, Monday to Friday; free evenings and Saturday mornings.
    let jordan = ok(
        &app,
        Method::POST,
        "/api/v1/patients",
        &director,
        json!({"site_id": site, "legal_first": "Jordan", "legal_last": "Rivera",
        "date_of_birth": "1990-04-12", "state": "NJ", "delivery_preference": "in_person",
        "availability": "mon 17:30-21:30\ntue 17:30-21:30\nwed 17:30-21:30\nthu 17:30-21:30\nfri 17:30-21:30\nsat 08:30-12:30"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let episode = ok(
        &app,
        Method::POST,
        &format!("/api/v1/patients/{jordan}/episodes"),
        &director,
        json!({"program_id": program, "track_id": evening,
        "admitted_on": "2026-10-20", "diagnoses": "F10.20"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    Clinic {
        app,
        director,
        program,
        evening,
        weekend,
        room_a: room_a["id"].as_str().unwrap().to_string(),
        svc_group,
        svc_individual,
        lena: lena.id.to_string(),
        nia: nia.id.to_string(),
        jordan,
        jordan_episode: episode,
    }
}

async fn jordans_week(engine: &'static str) {
    let c = clinic(engine).await;
    let (app, t) = (&c.app, c.director.as_str());
    let generated = ok(app, Method::POST, &format!("/api/v1/tracks/{}/generate", c.evening), t, json!({"week": "2026-W46"})).await;
    assert_eq!(generated["created"], 3, "{engine}");
    let again = ok(app, Method::POST, &format!("/api/v1/tracks/{}/generate", c.evening), t, json!({"week": "2026-W46"})).await;
    assert_eq!(again["created"], 0, "generating twice does not duplicate the series");
    ok(app, Method::POST, &format!("/api/v1/tracks/{}/generate", c.weekend), t, json!({"week": "2026-W46"})).await;

    let sessions =
        ok(app, Method::GET, &format!("/api/v1/sessions?from=2026-11-09&to=2026-11-16&patient={}", c.jordan), t, Value::Null).await;
    let mine: Vec<&Value> = sessions.as_array().unwrap().iter().collect();
    assert_eq!(mine.len(), 3, "Jordan is in the three evening groups only");
    assert!(mine.iter().all(|s| s["minutes"] == 180 && s["starts_at"].as_str().unwrap().contains("T23:00:00")), "18:00 EST is 23:00 UTC");

    // All three attended: 9 hours, on track.
    for s in &mine {
        ok(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{}/attendance", s["id"].as_str().unwrap()),
            t,
            json!({"rows": [{"patient_id": c.jordan, "status": "present"}]}),
        )
        .await;
    }
    let hours = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W46", c.jordan_episode), t, Value::Null).await;
    assert_eq!(
        hours,
        json!({"week": "2026-W46", "required_hours": 9.0, "scheduled_hours": 9.0, "attended_hours": 9.0, "forecast_hours": 9.0, "deficit_hours": 0.0, "status": "on_track"}),
        "{engine}"
    );

    // Wednesday corrected to an absence (an amendment; the original is kept): below by 3 hours.
    let wednesday = mine.iter().find(|s| s["local_date"] == "2026-11-11").unwrap()["id"].as_str().unwrap().to_string();
    ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{wednesday}/attendance"),
        t,
        json!({"rows": [{"patient_id": c.jordan, "status": "absent_unexcused", "note": "Worked late"}]}),
    )
    .await;
    let hours = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W46", c.jordan_episode), t, Value::Null).await;
    assert_eq!(
        (hours["attended_hours"].as_f64(), hours["deficit_hours"].as_f64(), hours["status"].as_str()),
        (Some(6.0), Some(3.0), Some("below")),
        "{engine}"
    );
    let history = app.store.attendance(app.org.id, &[wednesday.parse().unwrap()]).await.unwrap();
    assert_eq!(history.len(), 2, "both versions are kept");

    // Make-up: Saturday 09:00 fits Jordan's windows and has seats; one click adds it.
    let makeups = ok(app, Method::GET, &format!("/api/v1/episodes/{}/make-ups?week=2026-W46", c.jordan_episode), t, Value::Null).await;
    let first = &makeups.as_array().unwrap()[0];
    assert_eq!((first["hours"].as_f64(), first["session"]["local_date"].as_str()), (Some(3.0), Some("2026-11-14")), "{engine}");
    ok(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{}/participants", first["session"]["id"].as_str().unwrap()),
        t,
        json!({"add": [c.jordan]}),
    )
    .await;
    let hours = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week=2026-W46", c.jordan_episode), t, Value::Null).await;
    assert_eq!((hours["forecast_hours"].as_f64(), hours["status"].as_str()), (Some(9.0), Some("at_risk")));
    assert!(
        ok(app, Method::GET, &format!("/api/v1/episodes/{}/make-ups?week=2026-W46", c.jordan_episode), t, Value::Null)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The program view lists the week of every active episode.
    let program = ok(app, Method::GET, &format!("/api/v1/programs/{}/hours?week=2026-W46", c.program), t, Value::Null).await;
    assert_eq!(program[0]["patient_name"], "Jordan Rivera");
    assert_eq!(program[0]["status"], "at_risk");

    // The director's home page lists Jordan among those falling short this week.
    let mut b = app.browser();
    b.sign_in_enrolling("director@harbor.org").await;
    let home = b.get("/").await;
    assert!(home.body.contains("Falling short of required hours this week") && home.body.contains("Jordan Rivera"), "{engine}");

    // At discharge, the summary counts the hours attended against required and the services received.
    ok(
        app,
        Method::POST,
        &format!("/api/v1/episodes/{}/discharge", c.jordan_episode),
        t,
        json!({"date": "2026-11-14", "kind": "completed",
        "next_level_code": "1", "appointments": "Weekly outpatient group"}),
    )
    .await;
    let user = app.store.user_credentials("director@harbor.org").await.unwrap().unwrap().user;
    let ctx = openiop_domain::auth::Ctx::new(openiop_app::accounts::actor_of(user), Default::default());
    let summary = openiop_app::patients::discharge_summary(&app.state, &ctx, c.jordan_episode.parse().unwrap()).await.unwrap();
    let (attended, required) = summary.hours.expect("hours are recorded");
    assert_eq!(attended, 6.0, "{engine}: Monday and Thursday; Wednesday was missed and Saturday is still ahead");
    assert!(required > 9.0, "four weeks since admission on 2026-10-20: {required}");
    assert_eq!(summary.services, vec![("Group therapy".to_string(), 2, 6.0)]);
}

#[tokio::test]
async fn a_working_adult_gets_nine_evening_hours_or_a_make_up_on_every_engine() {
    for engine in engines() {
        jordans_week(engine).await;
    }
}

#[tokio::test]
async fn the_week_daylight_saving_ends_keeps_three_hour_groups_and_nine_hours() {
    for engine in engines() {
        let c = clinic(engine).await;
        let (app, t) = (&c.app, c.director.as_str());
        // W44 ends on Sunday 2026-11-01, the night clocks fall back; W45 is all EST.
        ok(app, Method::POST, &format!("/api/v1/tracks/{}/generate", c.evening), t, json!({"from": "2026-10-26", "to": "2026-11-08"}))
            .await;
        let all =
            ok(app, Method::GET, &format!("/api/v1/sessions?from=2026-10-26&to=2026-11-09&patient={}", c.jordan), t, Value::Null).await;
        let s = all.as_array().unwrap();
        assert_eq!(s.len(), 6);
        for x in s {
            assert_eq!(x["minutes"], 180);
            let utc_hour = if x["local_date"].as_str().unwrap() < "2026-11-01" { "T22:00:00" } else { "T23:00:00" };
            assert!(x["starts_at"].as_str().unwrap().contains(utc_hour), "{engine}: {x}");
            ok(
                app,
                Method::POST,
                &format!("/api/v1/sessions/{}/attendance", x["id"].as_str().unwrap()),
                t,
                json!({"rows": [{"patient_id": c.jordan, "status": "present"}]}),
            )
            .await;
        }
        for w in ["2026-W44", "2026-W45"] {
            let h = ok(app, Method::GET, &format!("/api/v1/episodes/{}/hours?week={w}", c.jordan_episode), t, Value::Null).await;
            assert_eq!((h["attended_hours"].as_f64(), h["status"].as_str()), (Some(9.0), Some("on_track")), "{engine} {w}");
        }
    }
}

#[tokio::test]
async fn conflicts_capacity_population_and_credentials_are_refused_and_nothing_is_written() {
    for engine in engines() {
        let c = clinic(engine).await;
        let (app, t) = (&c.app, c.director.as_str());
        ok(app, Method::POST, &format!("/api/v1/tracks/{}/generate", c.evening), t, json!({"week": "2026-W47"})).await;
        let count = || async {
            ok(app, Method::GET, "/api/v1/sessions?from=2026-11-01&to=2026-12-31", t, Value::Null).await.as_array().unwrap().len()
        };
        let before = count().await;
        let site = app.site.id.to_string();
        let base = json!({"site_id": site, "program_id": c.program, "service_type_id": c.svc_individual, "date": "2026-11-16", "start": "19:00",
            "room_id": "", "leader_ids": [c.lena], "patient_ids": [c.jordan], "is_virtual": true});

        // Jordan is in Monday's group from 18:00 to 21:00.
        let (s, v) = call(app, Method::POST, "/api/v1/sessions", t, Some(base.clone())).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("schedule_conflict")), "{engine}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains("Jordan Rivera") && v["message"].as_str().unwrap().contains("(id "),
            "names the session"
        );

        // Lena leads that group: she cannot also see someone else at 19:00.
        let other = ok(
            app,
            Method::POST,
            "/api/v1/patients",
            t,
            json!({"site_id": site, "legal_first": "Sam", "legal_last": "Lee", "date_of_birth": "1985-01-01", "state": "NJ"}),
        )
        .await;
        let mut lena_busy = base.clone();
        lena_busy["patient_ids"] = json!([other["id"]]);
        let (s, v) = call(app, Method::POST, "/api/v1/sessions", t, Some(lena_busy)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("schedule_conflict")));

        // An NP may not lead individual therapy.
        let mut np = base.clone();
        np["leader_ids"] = json!([c.nia]);
        np["start"] = json!("12:00");
        let (s, v) = call(app, Method::POST, "/api/v1/sessions", t, Some(np)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("credential_not_permitted")));

        // Three patients in a room for two.
        let small = app.store.rooms(app.org.id).await.unwrap().into_iter().find(|r| r.name == "Small Room").unwrap();
        let mut crowd = vec![c.jordan.clone(), other["id"].as_str().unwrap().to_string()];
        for name in ["Ana", "Ben"] {
            crowd.push(
                ok(
                    app,
                    Method::POST,
                    "/api/v1/patients",
                    t,
                    json!({"site_id": site, "legal_first": name, "legal_last": "Ortiz", "date_of_birth": "1980-02-02", "state": "NJ"}),
                )
                .await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let group = json!({"site_id": site, "program_id": c.program, "service_type_id": c.svc_group, "date": "2026-11-20", "start": "13:00",
            "room_id": small.id.to_string(), "leader_ids": [c.lena], "patient_ids": crowd[1..].to_vec()});
        let (s, v) = call(app, Method::POST, "/api/v1/sessions", t, Some(group)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("capacity_exceeded")), "{engine}: {v}");

        // An adolescent into the adult group.
        let teen_program = ok(
            app,
            Method::POST,
            "/api/v1/programs",
            t,
            json!({"site_id": site, "name": "Teen After-School", "condition_focus": "mental_health",
            "population": "adolescent", "delivery_modes": ["in_person"]}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let teen = ok(
            app,
            Method::POST,
            "/api/v1/patients",
            t,
            json!({"site_id": site, "legal_first": "Riley", "legal_last": "Park", "date_of_birth": "2011-03-03", "state": "NJ"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        ok(
            app,
            Method::POST,
            &format!("/api/v1/patients/{teen}/episodes"),
            t,
            json!({"program_id": teen_program, "diagnoses": "F32.1", "admitted_on": "2026-11-01"}),
        )
        .await;
        let monday = ok(app, Method::GET, &format!("/api/v1/sessions?from=2026-11-16&to=2026-11-17&track={}", c.evening), t, Value::Null)
            .await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, v) = call(app, Method::POST, &format!("/api/v1/sessions/{monday}/participants"), t, Some(json!({"add": [teen]}))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("population_mismatch")));

        // A family member without a consent in force.
        ok(
            app,
            Method::POST,
            &format!("/api/v1/patients/{}/collaterals", c.jordan),
            t,
            json!({"name": "Ana Rivera", "relationship": "mother"}),
        )
        .await;
        let chart = ok(app, Method::GET, &format!("/api/v1/patients/{}", c.jordan), t, Value::Null).await;
        let mother = chart["patient"]["collaterals"][0]["id"].as_str().unwrap().to_string();
        let family_svc = app.store.service_types(app.org.id).await.unwrap().into_iter().find(|s| s.code == "family_therapy").unwrap();
        let fam = json!({"site_id": site, "program_id": c.program, "service_type_id": family_svc.id.to_string(), "date": "2026-11-17", "start": "18:00",
            "is_virtual": true, "leader_ids": [c.lena], "patient_ids": [c.jordan]});
        let session = ok(app, Method::POST, "/api/v1/sessions", t, fam).await["id"].as_str().unwrap().to_string();
        let (s, v) = call(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{session}/participants"),
            t,
            Some(json!({"family_patient_id": c.jordan, "family_collateral_id": mother})),
        )
        .await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("consent_required")), "{engine}");

        assert_eq!(count().await, before + 1, "{engine}: only the valid family session was written");
        // Attendance with a bad row writes nothing for the whole group.
        let (s, _) = call(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{monday}/attendance"),
            t,
            Some(json!({"rows": [{"patient_id": c.jordan, "status": "present"}]})),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "a future session cannot have attendance yet");
        let _ = (&c.weekend, &c.room_a);
    }
}

#[tokio::test]
async fn calendar_feeds_parse_as_icalendar_and_can_be_revoked() {
    let c = clinic("sqlite").await;
    let (app, t) = (&c.app, c.director.as_str());
    ok(app, Method::POST, &format!("/api/v1/tracks/{}/generate", c.evening), t, json!({"week": "2026-W47"})).await;
    let feed = ok(app, Method::POST, "/api/v1/calendar-feeds", t, json!({"owner": "patient", "owner_id": c.jordan})).await;
    let path = feed["path"].as_str().unwrap().to_string();
    let r = app.api(Method::GET, &path, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/calendar"));
    assert!(!r.body.contains("Rivera"), "a feed carries no names");
    // The Python icalendar package is the independent parser (installed by scripts/setup).
    let file = std::env::temp_dir().join(format!("openiop-{}.ics", uuid::Uuid::new_v4()));
    std::fs::write(&file, &r.body).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, icalendar; c = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read()); ev = [e for e in c.walk('VEVENT')]; print(len(ev)); assert all(e.decoded('DTEND') > e.decoded('DTSTART') for e in ev)")
        .arg(&file)
        .output()
        .expect("python3");
    let _ = std::fs::remove_file(&file);
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("No module named") && std::env::var("CI").is_err() {
        eprintln!("SKIPPED icalendar check: pip install icalendar");
    } else {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    }
    // Revoked: the URL stops working.
    let feeds = app.store.feeds(app.org.id, openiop_domain::schedule::FeedOwner::Patient, &c.jordan).await.unwrap();
    ok(app, Method::DELETE, &format!("/api/v1/calendar-feeds/{}", feeds[0].id), t, Value::Null).await;
    assert_eq!(app.api(Method::GET, &path, None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.api(Method::GET, "/calendar/not-a-token.ics", None, None).await.status, StatusCode::NOT_FOUND);

    // Lena subscribes to her own sessions from her account page; the feed counts, never names.
    let mut b = app.browser();
    b.sign_in_enrolling("lena@harbor.org").await;
    let account = b.get("/account").await;
    let csrf = account.input_value("csrf").unwrap();
    let created = b.post("/account/calendar", &[("csrf", &csrf)]).await;
    let url = created.text_of("new-feed").expect("the address is shown once");
    let path = &url[url.find("/calendar/").unwrap()..];
    let feed = app.api(Method::GET, path, None, None).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert_eq!(feed.body.matches("BEGIN:VEVENT").count(), 3);
    assert!(feed.body.contains("participant(s)") && !feed.body.contains("Rivera"));
    // A patient's week on the schedule page, for staff who may see the patient.
    let week = b.get(&format!("/schedule?patient={}&week=2026-W47", c.jordan)).await;
    assert_eq!(week.status, StatusCode::OK);
    assert!(week.body.contains("Schedule: Jordan Rivera"));
}

#[tokio::test]
async fn the_program_week_costs_the_same_number_of_queries_for_20_or_200_episodes() {
    use openiop_domain::audit::{AuditAction, AuditEvent};
    let c = clinic("sqlite").await;
    let app = &c.app;
    let director = app.store.user_credentials("director@harbor.org").await.unwrap().unwrap().user;
    let ctx = openiop_domain::auth::Ctx::new(openiop_app::accounts::actor_of(director), Default::default());
    let program: openiop_domain::ids::ProgramId = c.program.parse().unwrap();
    let track: openiop_domain::programs::TrackId = c.evening.parse().unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 14).unwrap();
    let mut measured = Vec::new();
    for target in [20usize, 200] {
        let have = app.store.open_episodes(app.org.id, Some(&[program])).await.unwrap().len();
        for i in have..target {
            let form = openiop_domain::patients::PatientForm {
                legal_first: format!("P{i}"),
                legal_last: "Load".into(),
                date_of_birth: "1980-01-01".into(),
                state: "NJ".into(),
                ..Default::default()
            };
            let details = openiop_domain::patients::PatientDetails::parse(&form, today).unwrap();
            let p = app
                .store
                .create_patient(app.org.id, app.site.id, details, true, AuditEvent::system("test", AuditAction::Create, "patient", None))
                .await
                .unwrap();
            let a = openiop_domain::patients::Admission {
                program_id: program,
                track_id: Some(track),
                admitted_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                primary_clinician: None,
                level: openiop_domain::programs::LevelOfCare::iop(),
                authorized_level: None,
                diagnoses: openiop_domain::patients::parse_diagnoses("F10.20").unwrap(),
                reason: String::new(),
            };
            app.store.admit(app.org.id, p.id, a, AuditEvent::system("test", AuditAction::Create, "episode", None)).await.unwrap();
        }
        let week = openiop_domain::schedule::Week::parse("2026-W46").unwrap();
        let before = app.store.query_count();
        let pw = openiop_app::schedule::program_week(&app.state, &ctx, program, week).await.unwrap();
        measured.push(app.store.query_count() - before);
        assert_eq!(pw.rows.len(), target);
    }
    assert_eq!(measured[0], measured[1], "queries for 20 vs 200 episodes: {measured:?}");
    assert!(measured[1] < 25, "a small fixed number: {measured:?}");

    // The organization's hours report sums the same ledgers, program by program, and costs
    // the same statements as one program's week.
    let week = openiop_domain::schedule::Week::parse("2026-W46").unwrap();
    let pw = openiop_app::schedule::program_week(&app.state, &ctx, program, week).await.unwrap();
    let before = app.store.query_count();
    let all = openiop_app::schedule::visible_programs_week(&app.state, &ctx, week).await.unwrap();
    let report_queries = app.store.query_count() - before;
    assert!(report_queries <= measured[1] + 2, "report {report_queries} vs one program {}", measured[1]);
    let director = app.store.user_credentials("director@harbor.org").await.unwrap().unwrap().user;
    let token = app.token(&director).await;
    let r = app.api(axum::http::Method::GET, "/api/v1/hours?week=2026-W46", Some(&token), None).await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    let rows = r.json();
    let mine = rows.as_array().unwrap().iter().find(|x| x["program_id"] == c.program.as_str()).expect("the program is in the report");
    assert_eq!(mine["patients"].as_u64(), Some(200));
    assert_eq!(all.iter().find(|p| p.program.id == program).map(|p| p.rows.len()), Some(200));
    let below = pw.rows.iter().filter(|r| r.2.status == openiop_domain::schedule::LedgerStatus::Below).count();
    assert_eq!(mine["below"].as_u64(), Some(below as u64));
    let required: f64 = pw.rows.iter().map(|r| r.2.required_hours).sum();
    assert!((mine["required_hours"].as_f64().unwrap() - required).abs() < 0.01, "{mine} vs {required}");
    assert_eq!(
        mine["on_track"].as_u64().unwrap() + mine["at_risk"].as_u64().unwrap() + mine["below"].as_u64().unwrap(),
        200,
        "every patient has a status"
    );
    // A bad week is a clear 422, not a guess.
    let r = app.api(axum::http::Method::GET, "/api/v1/hours?week=2026-W99", Some(&token), None).await;
    assert_eq!(r.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}
