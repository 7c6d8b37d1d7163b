//! Jordan's episode of care, told through the API on both engines: a residential step-down
//! referral, admission at ASAM 2.1, a week of PHP the payer did not authorize, back to 2.1,
//! and a completed discharge to outpatient care with an aftercare plan.
use axum::http::{Method, StatusCode};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::store::AuditFilter;
use openiop_web::testing::{TestApp, engines};
use serde_json::{Value, json};

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let r = app.api(method, path, Some(token), body).await;
    let v = if r.body.is_empty() { Value::Null } else { r.json() };
    (r.status, v)
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let (s, v) = call(app, method.clone(), path, token, Some(body)).await;
    assert!(s.is_success(), "{method} {path}: {s} {v}");
    v
}

/// An adult evening IOP at the test site, created through the API.
async fn evening_iop(app: &TestApp, director: &str) -> (String, String) {
    let p = ok(
        app,
        Method::POST,
        "/api/v1/programs",
        director,
        json!({"site_id": app.site.id.to_string(), "name": "Adult Evening IOP",
        "condition_focus": "substance_use", "population": "adult", "delivery_modes": ["in_person"]}),
    )
    .await;
    let pid = p["id"].as_str().unwrap().to_string();
    let t = ok(
        app,
        Method::POST,
        &format!("/api/v1/programs/{pid}/tracks"),
        director,
        json!({"name": "Adult evening", "delivery_mode": "in_person"}),
    )
    .await;
    (pid, t["id"].as_str().unwrap().to_string())
}

fn jordan() -> Value {
    json!({"legal_first": "Jordan", "legal_last": "Rivera", "date_of_birth": "1990-04-12", "sex": "male", "state": "NJ",
           "city": "Newark", "postal_code": "07102", "phone": "973-555-0101",
           "availability": "mon 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30", "delivery_preference": "in_person"})
}

async fn jordans_episode(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let front = app.token(&app.staff("desk@harbor.org", &[Role::FrontDesk], Scope::Organization).await).await;
    let clinician_user =
        app.staff("lena@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![app.site.id], programs: vec![] }).await;
    let clinician = app.token(&clinician_user).await;
    let ur = app.token(&app.staff("ur@harbor.org", &[Role::UtilizationReviewer], Scope::Organization).await).await;
    let (pid, tid) = evening_iop(&app, &director).await;

    // Front desk records the referral from the residential program, with Jordan's details.
    let mut referral = jordan();
    let extra = json!({"site_id": app.site.id.to_string(), "program_id": pid, "source": "residential_step_down", "contact_name": "Case manager, Lakeside Residential",
        "contact_phone": "973-555-0199", "reason": "Completing 28 days residential; needs IOP step-down", "urgency": "urgent", "from_level_code": "3.5"});
    referral.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let r = ok(&app, Method::POST, "/api/v1/referrals", &front, referral).await;
    assert_eq!(
        (r["status"].as_str(), r["from_level"].as_str()),
        (Some("new"), Some("ASAM 3.5 (Clinically managed high-intensity residential)"))
    );
    let rid = r["id"].as_str().unwrap().to_string();
    ok(&app, Method::POST, &format!("/api/v1/referrals/{rid}/status"), &front, json!({"status": "screening"})).await;
    // Front desk may not admit; the clinician does, without retyping Jordan's details.
    let admission = json!({"program_id": pid, "track_id": tid, "admitted_on": app.days_ago(40), "primary_clinician_id": clinician_user.id.to_string(),
        "level_code": "2.1", "authorized_level_code": "2.1", "diagnoses": "F10.20, F41.1", "reason": "Step-down from residential"});
    let (s, _) = call(&app, Method::POST, &format!("/api/v1/referrals/{rid}/accept"), &front, Some(admission.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{engine}");
    let accepted = ok(&app, Method::POST, &format!("/api/v1/referrals/{rid}/accept"), &clinician, admission).await;
    let patient_id = accepted["patient"]["id"].as_str().unwrap().to_string();
    let eid = accepted["episode"]["id"].as_str().unwrap().to_string();
    assert_eq!(accepted["patient"]["legal_last"], "Rivera");
    assert_eq!(accepted["patient"]["mrn"], "0000001");
    assert_eq!(accepted["episode"]["diagnoses"][0]["code"], "F10.20");
    assert!(accepted["episode"]["diagnoses"][0]["primary"].as_bool().unwrap());
    assert!(accepted["episode"]["levels"][0]["reason"].as_str().unwrap().contains("step-down from ASAM 3.5"));
    let (s, again) = call(
        &app,
        Method::POST,
        &format!("/api/v1/referrals/{rid}/accept"),
        &clinician,
        Some(json!({"program_id": pid, "diagnoses": "F10.20"})),
    )
    .await;
    assert_eq!((s, again["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));

    // The payer keeps 2.1 while the clinician steps Jordan up to PHP for a week, then back.
    ok(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/levels"),
        &clinician,
        json!({"line": "clinical", "level_code": "2.5", "from": app.days_ago(20), "reason": "Relapse; daily structure needed"}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/levels"),
        &ur,
        json!({"line": "authorized", "level_code": "2.1", "from": app.days_ago(19), "reason": "Payer denied PHP; 2.1 reauthorized for 14 days"}),
    )
    .await;
    let chart = ok(&app, Method::GET, &format!("/api/v1/patients/{patient_id}"), &clinician, Value::Null).await;
    assert!(chart["levels_differ"].as_bool().unwrap(), "{engine}: the two lines differ during the PHP week");
    assert!(
        chart["reassessment_due"].as_bool().unwrap() && chart["plan_review_due"].as_bool().unwrap(),
        "a level change flags re-assessment and plan review"
    );
    let e = ok(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/levels"),
        &clinician,
        json!({"line": "clinical", "level_code": "2.1", "from": app.days_ago(13), "reason": "Stable; back to IOP"}),
    )
    .await;
    let clinical: Vec<(&str, Option<&str>)> = e["levels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["line"] == "clinical")
        .map(|l| (l["code"].as_str().unwrap(), l["to"].as_str()))
        .collect();
    assert_eq!(clinical.len(), 3);
    assert_eq!(clinical[0].0, "2.1");
    // A clinical "change" to the level already in force is refused, not recorded as a new span.
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/levels"),
        &clinician,
        Some(json!({"line": "clinical", "level_code": "2.1", "from": app.days_ago(5), "reason": "Continuing IOP"})),
    )
    .await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("same_level")), "{engine}: {v}");
    assert_eq!(clinical[1], ("2.5", Some(app.days_ago(14).as_str())), "the PHP week closes the day before the step-down");
    assert_eq!(clinical[2], ("2.1", None));

    // Discharge: completed, to outpatient (ASAM 1), with an aftercare plan.
    let (s, bad) = call(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/discharge"),
        &clinician,
        Some(json!({"date": app.days_ago(60), "kind": "completed", "appointments": "x"})),
    )
    .await;
    assert_eq!((s, bad["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("before_admission")));
    let d = ok(&app, Method::POST, &format!("/api/v1/episodes/{eid}/discharge"), &clinician, json!({"date": app.days_ago(0), "kind": "completed", "reason": "Goals met",
        "next_level_code": "1", "next_provider": "Harbor Light outpatient clinic", "appointments": "Weekly OP group Tuesdays 18:00; individual therapy biweekly",
        "supports": "AA home group; sponsor", "relapse_prevention": "Triggers: payday, old friends. Plan: call sponsor, attend meeting same day."})).await;
    assert_eq!(d["status"], "discharged");
    assert_eq!(d["discharge"]["next_level"], "ASAM 1 (Outpatient services)");
    assert!(d["levels"].as_array().unwrap().iter().all(|l| !l["to"].is_null()), "every level span is closed at discharge");

    // The discharge summary holds the level history.
    let summary = level_history_in_summary(&app, &eid).await;
    assert!(summary.contains("Partial hospitalization") && summary.contains("Relapse; daily structure needed"), "{engine}: {summary}");
    assert!(summary.contains("Payer denied PHP"), "{engine}: both lines are in the summary");

    // A discharged episode refuses further changes.
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/levels"),
        &clinician,
        Some(json!({"line": "clinical", "level_code": "2.5", "from": app.days_ago(0), "reason": "x"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("episode_discharged")));
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/discharge"),
        &clinician,
        Some(json!({"date": app.days_ago(0), "kind": "other"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("episode_discharged")));
}

/// The level history as the discharge summary assembles it (the director exports it).
async fn level_history_in_summary(app: &TestApp, eid: &str) -> String {
    let user = app.store.user_credentials("director@harbor.org").await.unwrap().unwrap().user;
    let ctx = openiop_domain::auth::Ctx::new(openiop_app::accounts::actor_of(user), Default::default());
    let s = openiop_app::patients::discharge_summary(&app.state, &ctx, eid.parse().unwrap()).await.unwrap();
    let mut text = String::new();
    for span in s.clinical_levels.iter().chain(&s.authorized_levels) {
        text.push_str(&format!("{} {} {}\n", span.level.name(), span.from, span.reason));
    }
    text
}

#[tokio::test]
async fn a_residential_step_down_is_admitted_stepped_up_and_discharged_on_every_engine() {
    for engine in engines() {
        jordans_episode(engine).await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_stable_codes_and_nothing_is_written() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
        let (pid, _) = evening_iop(&app, &director).await;
        let site = app.site.id.to_string();

        // A birth date in the future.
        let mut p = jordan();
        p["date_of_birth"] = json!("2099-01-01");
        p["site_id"] = json!(site);
        let (s, v) = call(&app, Method::POST, "/api/v1/patients", &director, Some(p)).await;
        assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("date_in_future")), "{engine}");
        assert!(
            call(&app, Method::GET, "/api/v1/patients?q=Rivera", &director, None).await.1.as_array().unwrap().is_empty(),
            "nothing written"
        );

        // Registered once; the same name and birth date again is a possible duplicate.
        let mut p = jordan();
        p["site_id"] = json!(site);
        let created = ok(&app, Method::POST, "/api/v1/patients", &director, p.clone()).await;
        let (s, v) = call(&app, Method::POST, "/api/v1/patients", &director, Some(p.clone())).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("possible_duplicate")));
        // Typed in capitals, with a hyphen, or with the accents the record has (or lacks): the same person.
        let mut nunez = jordan();
        nunez["site_id"] = json!(site);
        (nunez["legal_first"], nunez["legal_last"]) = (json!("José"), json!("Núñez"));
        ok(&app, Method::POST, "/api/v1/patients", &director, nunez.clone()).await;
        for (first, last) in [("JOSÉ", "ÑÚÑEZ"), ("Jose", "Nunez"), ("jose", "NÚÑEZ")] {
            let mut again = nunez.clone();
            (again["legal_first"], again["legal_last"]) = (json!(first), json!(last));
            let (s, v) = call(&app, Method::POST, "/api/v1/patients", &director, Some(again)).await;
            assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("possible_duplicate")), "{engine}: {first} {last}: {v}");
        }
        p["allow_duplicate"] = json!(true);
        assert_eq!(
            call(&app, Method::POST, "/api/v1/patients", &director, Some(p)).await.0,
            StatusCode::CREATED,
            "a confirmed different person"
        );
        let patient = created["id"].as_str().unwrap();

        // A malformed ICD-10 code: 422, no episode.
        let (s, v) = call(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/episodes"),
            &director,
            Some(json!({"program_id": pid, "diagnoses": "F10.20, alcohol"})),
        )
        .await;
        assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_icd10")));
        let chart = ok(&app, Method::GET, &format!("/api/v1/patients/{patient}"), &director, Value::Null).await;
        assert!(chart["episodes"].as_array().unwrap().is_empty());
        assert!(chart["consent_missing"].as_bool().unwrap());

        // Admit, discharge, then try to admit into the discharged episode: refused.
        let e = ok(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/episodes"),
            &director,
            json!({"program_id": pid, "diagnoses": "F10.20", "admitted_on": app.days_ago(30)}),
        )
        .await;
        let eid = e["id"].as_str().unwrap();
        let (s, v) = call(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/episodes"),
            &director,
            Some(json!({"program_id": pid, "diagnoses": "F10.20"})),
        )
        .await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("episode_open")));
        ok(
            &app,
            Method::POST,
            &format!("/api/v1/episodes/{eid}/discharge"),
            &director,
            json!({"date": app.days_ago(1), "kind": "administrative", "reason": "Moved away"}),
        )
        .await;
        let (s, v) = call(
            &app,
            Method::POST,
            &format!("/api/v1/episodes/{eid}/levels"),
            &director,
            Some(json!({"line": "clinical", "level_code": "2.5", "from": app.days_ago(0), "reason": "x"})),
        )
        .await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("episode_discharged")));

        // A consent without the Part 2 elements; a family member without any consent.
        ok(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/collaterals"),
            &director,
            json!({"name": "Ana Rivera", "relationship": "mother"}),
        )
        .await;
        let (s, v) = call(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/consents"),
            &director,
            Some(json!({"discloser": "Harbor Light", "recipients": "Ana", "purpose": "", "information": "x", "information_amount": "All of it",
            "signature_method": "paper", "revocation_explained": true,
            "signed_by": "Jordan", "signed_on": app.days_ago(0), "refusal_consequences_explained": false, "redisclosure_notice_given": true})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = v["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["purpose", "expires_on", "refusal_consequences_explained"]);
        let chart = ok(&app, Method::GET, &format!("/api/v1/patients/{patient}"), &director, Value::Null).await;
        assert!(chart["consents"].as_array().unwrap().is_empty(), "nothing written");
        let mother = chart["patient"]["collaterals"][0].clone();
        let collateral = openiop_domain::patients::Collateral {
            id: mother["id"].as_str().unwrap().parse().unwrap(),
            name: "Ana Rivera".into(),
            relationship: "mother".into(),
            phone: String::new(),
            email: String::new(),
        };
        let today = app.today();
        let e = openiop_domain::patients::require_consent_for(&[], &collateral, today).unwrap_err();
        assert_eq!(e.code(), "consent_required");

        // With a consent covering her, in force; revoked in writing, no longer — but kept.
        let c = ok(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/consents"),
            &director,
            json!({"recipients": "Ana Rivera (mother)", "purpose": "Family therapy",
            "information": "Attendance and progress", "expires_on": app.days_ago(-90), "signed_by": "Jordan Rivera", "signed_on": app.days_ago(0),
            "discloser": "Harbor Light", "information_amount": "The whole record of this episode", "signature_method": "paper", "revocation_explained": true, "refusal_consequences_explained": true, "redisclosure_notice_given": true, "collateral_id": mother["id"]}),
        )
        .await;
        assert_eq!(c["status"], "in force");
        let cid = c["id"].as_str().unwrap();
        ok(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{patient}/consents/{cid}/revoke"),
            &director,
            json!({"revoked_by": "Jordan Rivera (written request)"}),
        )
        .await;
        let chart = ok(&app, Method::GET, &format!("/api/v1/patients/{patient}"), &director, Value::Null).await;
        assert_eq!(chart["consents"][0]["status"], "revoked", "{engine}: revocation is effective at once and kept as history");
    }
}

#[tokio::test]
async fn a_clinician_at_site_a_cannot_read_or_find_a_site_b_patient_and_the_attempt_is_audited() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
        let b = ok(
            &app,
            Method::POST,
            "/api/v1/sites",
            &director,
            json!({"name": "Harbor Light Trenton", "line1": "9 State St", "city": "Trenton", "state": "NJ",
            "postal_code": "08608", "time_zone": "America/New_York"}),
        )
        .await;
        let mut p = jordan();
        p["site_id"] = b["id"].clone();
        let patient = ok(&app, Method::POST, "/api/v1/patients", &director, p).await;
        let pid = patient["id"].as_str().unwrap();

        let site_a = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![app.site.id], programs: vec![] }).await;
        let t = app.token(&site_a).await;
        let (s, v) = call(&app, Method::GET, &format!("/api/v1/patients/{pid}"), &t, None).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{engine}");
        let (s, found) = call(&app, Method::GET, "/api/v1/patients?q=Rivera", &t, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(found.as_array().unwrap().is_empty(), "search does not find out-of-scope patients");
        // The director (organization scope) finds and reads Jordan.
        assert_eq!(call(&app, Method::GET, "/api/v1/patients?q=rivera", &director, None).await.1.as_array().unwrap().len(), 1);
        assert_eq!(
            call(&app, Method::GET, &format!("/api/v1/patients?q={}", patient["mrn"].as_str().unwrap()), &director, None)
                .await
                .1
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let log =
            app.store.audit_search(app.org.id, &AuditFilter { user: Some("lena@harbor.org".into()), ..Default::default() }).await.unwrap();
        let denied = log.iter().find(|e| e.event.action == "access_denied").expect("the attempt is audited");
        assert_eq!(denied.event.patient_id.as_deref(), Some(pid));
        assert_eq!(denied.event.outcome, "denied");
        let reads = app
            .store
            .audit_search(app.org.id, &AuditFilter { patient_id: Some(pid.to_string()), action: Some("read".into()), ..Default::default() })
            .await
            .unwrap();
        assert!(reads.iter().all(|e| e.event.actor != "lena@harbor.org"));
        // Every read of the chart by the director is audited with the patient.
        call(&app, Method::GET, &format!("/api/v1/patients/{pid}"), &director, None).await;
        let reads = app
            .store
            .audit_search(app.org.id, &AuditFilter { patient_id: Some(pid.to_string()), action: Some("read".into()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(reads.len(), 1);
        // Front desk sees the record but no clinical episodes.
        let desk = app.token(&app.staff("desk@harbor.org", &[Role::FrontDesk], Scope::Organization).await).await;
        let (s, chart) = call(&app, Method::GET, &format!("/api/v1/patients/{pid}"), &desk, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(chart["episodes"].as_array().unwrap().is_empty());
        // An auditor reads the log, not charts.
        let auditor = app.token(&app.staff("auditor@harbor.org", &[Role::Auditor], Scope::Organization).await).await;
        assert_eq!(call(&app, Method::GET, &format!("/api/v1/patients/{pid}"), &auditor, None).await.0, StatusCode::FORBIDDEN);
    }
}

/// The front desk's patients list, not only a search box: everyone in scope by name, a page at a
/// time, with their latest episode, narrowed by program, track, clinician, status and level; the
/// same list in the API without `q`. Staff of another site see none of these patients.
async fn the_patients_list(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let lena = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Organization).await;
    let (pid, tid) = evening_iop(&app, &director).await;
    let site = app.site.id.to_string();
    let mut ids = Vec::new();
    for (first, last) in [("Avery", "Quinn"), ("Blake", "Moss"), ("Casey", "Lund")] {
        let mut p = jordan();
        (p["legal_first"], p["legal_last"], p["site_id"]) = (json!(first), json!(last), json!(site));
        ids.push(ok(&app, Method::POST, "/api/v1/patients", &director, p).await["id"].as_str().unwrap().to_string());
    }
    // Avery and Blake are admitted (Avery to Lena, on the track); Casey is only registered.
    for (i, clinician) in [(0, Some(lena.id.to_string())), (1, None)] {
        let mut a = json!({"program_id": pid, "admitted_on": app.days_ago(10), "level_code": "2.1", "diagnoses": "F10.20"});
        if let Some(c) = clinician {
            (a["primary_clinician_id"], a["track_id"]) = (json!(c), json!(tid));
        }
        ok(&app, Method::POST, &format!("/api/v1/patients/{}/episodes", ids[i]), &director, a).await;
    }
    let list = |query: &str| {
        let (app, director, path) = (&app, director.clone(), format!("/api/v1/patients{query}"));
        async move { app.api(Method::GET, &path, Some(&director), None).await }
    };
    let names = |r: &openiop_web::testing::Reply| -> Vec<String> {
        r.json().as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    let all = list("").await;
    assert_eq!(all.status, StatusCode::OK, "{engine}: {}", all.body);
    assert_eq!(names(&all), ["Casey Lund", "Blake Moss", "Avery Quinn"], "{engine}: by last name");
    assert_eq!(all.headers["x-total-count"], "3");
    let avery = &all.json()[2];
    assert_eq!(avery["latest_episode"]["primary_clinician_id"], lena.id.to_string(), "{engine}: {avery}");
    assert_eq!(avery["latest_episode"]["level_code"], "2.1");
    assert!(all.json()[0].get("latest_episode").is_none(), "{engine}: Casey was never admitted");

    assert_eq!(names(&list(&format!("?clinician_id={}", lena.id)).await), ["Avery Quinn"], "{engine}");
    assert_eq!(names(&list(&format!("?track_id={tid}")).await), ["Avery Quinn"], "{engine}");
    assert_eq!(names(&list(&format!("?program_id={pid}")).await), ["Blake Moss", "Avery Quinn"], "{engine}");
    assert_eq!(names(&list("?status=not_admitted").await), ["Casey Lund"], "{engine}");
    assert_eq!(names(&list("?level_code=2.1&status=admitted").await).len() + names(&list("?level_code=2.1&status=active").await).len(), 2);
    let second = list("?per_page=2&page=2").await;
    assert_eq!((names(&second), second.headers["x-total-count"].to_str().unwrap()), (vec!["Avery Quinn".to_string()], "3"), "{engine}");
    let past = list("?per_page=2&page=9").await;
    assert!(names(&past).is_empty() && past.headers["x-total-count"] == "3", "{engine}: past the end, the count still holds");
    for bad in ["?status=sleeping", "?per_page=1000", "?page=0", "?program_id=nope"] {
        let r = list(bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {bad}: {}", r.body);
    }
    // The search still answers with q.
    assert_eq!(names(&list("?q=moss").await), ["Blake Moss"], "{engine}");

    // Staff of another site see none of them, in the list or on the page.
    let other =
        openiop_domain::tenancy::NewSite::parse("Harbor Light Camden", "2 Cooper St", "Camden", "NJ", "08102", "America/New_York").unwrap();
    let camden = app
        .store
        .create_site(
            app.org.id,
            other,
            openiop_domain::audit::AuditEvent::system("test", openiop_domain::audit::AuditAction::Create, "site", None).in_org(app.org.id),
        )
        .await
        .unwrap();
    let camden_staff = app.staff("desk@camden.org", &[Role::FrontDesk], Scope::Units { sites: vec![camden.id], programs: vec![] }).await;
    let token = app.token(&camden_staff).await;
    let r = app.api(Method::GET, "/api/v1/patients", Some(&token), None).await;
    assert_eq!((r.status, r.body.as_str(), r.headers["x-total-count"].to_str().unwrap()), (StatusCode::OK, "[]", "0"), "{engine}");

    // The page: the list with its filters; a bad filter re-shows the page with the problem.
    let mut b = app.browser();
    b.sign_in_enrolling("director@harbor.org").await;
    let page = b.get(&format!("/patients?clinician_id={}", lena.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Avery Quinn") && !page.body.contains("Blake Moss"), "{engine}: the filter holds on the page");
    assert!(page.body.contains("Patients 1–1 of 1"), "{engine}");
    let bad = b.get("/patients?status=sleeping").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("role=\"alert\""));
}

#[tokio::test]
async fn the_front_desk_lists_patients_by_program_track_clinician_status_and_level_on_every_engine() {
    for engine in engines() {
        the_patients_list(engine).await;
    }
}
