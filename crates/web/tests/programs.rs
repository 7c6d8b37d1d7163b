//! A clinical director sets up an adult evening IOP, its staff and their credentials; the
//! public profile tells prospective patients what the seed says to look for.
use axum::http::{Method, StatusCode};
use openiop_domain::auth::{Role, Scope};
use openiop_web::testing::{TestApp, engines};
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let r = app.api(Method::POST, path, Some(token), Some(body)).await;
    assert!(r.status.is_success(), "POST {path}: {} {}", r.status, r.body);
    if r.body.is_empty() { Value::Null } else { r.json() }
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) {
    let r = app.api(Method::PUT, path, Some(token), Some(body)).await;
    assert!(r.status.is_success(), "PUT {path}: {} {}", r.status, r.body);
}

async fn director_sets_up_an_evening_iop(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let director = app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let t = app.token(&director).await;

    // A site and a group room.
    let site = post(&app, "/api/v1/sites", &t, json!({"name": "Harbor Light Montclair", "line1": "5 Park St", "city": "Montclair", "state": "NJ", "postal_code": "07042", "time_zone": "America/New_York"})).await;
    let site_id = site["id"].as_str().unwrap().to_string();
    let room = post(
        &app,
        &format!("/api/v1/sites/{site_id}/rooms"),
        &t,
        json!({"name": "Group Room A", "kind": "group", "capacity": 14, "notes": "Whiteboard"}),
    )
    .await;
    assert_eq!(room["capacity"], 14);

    // The adult evening IOP at ASAM 2.1: 9 hours a week by default.
    let program = post(
        &app,
        "/api/v1/programs",
        &t,
        json!({"site_id": site_id, "name": "Adult Evening IOP", "condition_focus": "substance_use",
        "population": "adult", "delivery_modes": ["in_person", "virtual"]}),
    )
    .await;
    assert_eq!(
        (program["weekly_hours"].as_f64(), program["slug"].as_str(), program["level_of_care"]["code"].as_str()),
        (Some(9.0), Some("adult-evening-iop"), Some("2.1"))
    );
    let pid = program["id"].as_str().unwrap().to_string();

    // Three staff: an LCSW, an LPC-Associate under her supervision, and an NP.
    let lcsw =
        app.staff("lena@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![site_id.parse().unwrap()], programs: vec![] }).await;
    let assoc = app.staff("ari@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![], programs: vec![pid.parse().unwrap()] }).await;
    let np =
        app.staff("nia@harbor.org", &[Role::Prescriber], Scope::Units { sites: vec![site_id.parse().unwrap()], programs: vec![] }).await;
    let staff = [
        (&lcsw, "Social work", "LCSW", "NJ Board of Social Work Examiners", true, json!(["cbt", "mi", "family_therapy"]), None),
        (
            &assoc,
            "Counseling",
            "LPC-ASSOCIATE",
            "NJ Professional Counselor Examiners Committee",
            false,
            json!(["dbt", "twelve_step"]),
            Some(lcsw.id.to_string()),
        ),
        (&np, "Psychiatric nursing", "NP", "NJ Board of Nursing", true, json!([]), None),
    ];
    for (user, discipline, kind, board, tele, modalities, supervisor) in staff {
        put(
            &app,
            &format!("/api/v1/staff/{}/profile", user.id),
            &t,
            json!({"discipline": discipline, "telehealth_trained": tele, "modalities": modalities,
            "availability": ["mon 16:00-21:00", "wed 16:00-21:00", "thu 16:00-21:00"], "supervisor_id": supervisor}),
        )
        .await;
        let c = post(
            &app,
            &format!("/api/v1/staff/{}/credentials", user.id),
            &t,
            json!({"kind": kind, "number": format!("{kind}-001"), "state": "NJ",
            "board": board, "issued_on": app.days_ago(1500), "expires_on": app.days_ago(-730)}),
        )
        .await;
        assert_eq!(c["verification"], "unverified");
        post(&app, &format!("/api/v1/credentials/{}/verification", c["id"].as_str().unwrap()), &t, json!({"status": "verified"})).await;
    }

    // A track with a weekly template: three 3-hour groups and a medication check.
    let services = app.api(Method::GET, "/api/v1/service-types", Some(&t), None).await.json();
    let svc = |code: &str| services.as_array().unwrap().iter().find(|s| s["code"] == code).unwrap()["id"].as_str().unwrap().to_string();
    let track =
        post(&app, &format!("/api/v1/programs/{pid}/tracks"), &t, json!({"name": "Adult evening", "delivery_mode": "in_person"})).await;
    let tid = track["id"].as_str().unwrap().to_string();
    for (day, leader, modality) in [("mon", &lcsw, "cbt"), ("wed", &assoc, "dbt"), ("thu", &lcsw, "mi")] {
        post(
            &app,
            &format!("/api/v1/tracks/{tid}/template"),
            &t,
            json!({"service_type_id": svc("group_therapy"), "weekday": day, "start": "18:00",
            "room_id": room["id"], "leader_id": leader.id.to_string(), "topic": "Relapse prevention", "modality": modality}),
        )
        .await;
    }
    post(
        &app,
        &format!("/api/v1/tracks/{tid}/template"),
        &t,
        json!({"service_type_id": svc("medication_management"), "weekday": "thu", "start": "17:00",
        "is_virtual": true, "leader_id": np.id.to_string()}),
    )
    .await;
    // The NP may not lead group therapy: refused with its code, nothing written.
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/tracks/{tid}/template"),
            Some(&t),
            Some(json!({"service_type_id": svc("group_therapy"),
        "weekday": "tue", "start": "18:00", "room_id": room["id"], "leader_id": np.id.to_string()})),
        )
        .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("credential_not_permitted")), "{engine}");
    let tracks = app.api(Method::GET, &format!("/api/v1/programs/{pid}/tracks"), Some(&t), None).await.json();
    assert_eq!(tracks[0]["template"].as_array().unwrap().len(), 4);

    // The public profile, without signing in.
    let r = app.api(Method::GET, "/api/v1/public/programs/adult-evening-iop", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.json();
    assert_eq!(p["level_of_care"], "ASAM 2.1 (Intensive outpatient)");
    assert_eq!(p["required_hours_per_week"], 9.0);
    assert_eq!(p["tracks"][0]["name"], "Adult evening");
    assert_eq!(p["tracks"][0]["hours_per_week"], 9.0, "three 3-hour groups; medication management does not count");
    assert_eq!(p["tracks"][0]["parts_of_week"], json!(["evening"]));
    assert_eq!(p["tracks"][0]["times"][0], "Mon 18:00–21:00");
    assert_eq!(p["services"], json!(["Group therapy", "Medication management"]));
    let care: Vec<(String, bool)> = p["comprehensive_care"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["service"].as_str().unwrap().to_string(), c["offered"].as_bool().unwrap()))
        .collect();
    assert_eq!(care[1], ("Group therapy".to_string(), true));
    assert_eq!(care[3], ("Medication management".to_string(), true));
    assert_eq!(care[2], ("Family therapy".to_string(), false));
    let staff = &p["staff"];
    assert_eq!(staff["clinical_staff"], 3);
    let counts: Vec<(String, u64)> = staff["by_credential"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap().into(), c["staff"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, vec![("LCSW".to_string(), 1), ("LPC-ASSOCIATE".to_string(), 1), ("NP".to_string(), 1)]);
    assert_eq!(staff["licensed"], 2, "the LCSW and the NP; the associate is supervised");
    assert_eq!(staff["share_telehealth_trained"], 66.7);
    assert_eq!(staff["boards"].as_array().unwrap().len(), 3);
    let modalities = p["modalities"].as_array().unwrap();
    assert!(modalities.iter().any(|m| m == "Dialectical behavior therapy (DBT)") && modalities.iter().any(|m| m == "Family therapy"));
    assert!(!r.body.contains("lena@harbor.org"), "no personal data on the public profile");

    // The HTML profile and the organization's directory.
    let page = app.browser().get("/programs/adult-evening-iop").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Adult evening") && page.body.contains("Licensed Clinical Social Worker (LCSW)"));
    let dir = app.browser().get("/directory/harbor-light").await;
    assert!(dir.body.contains("Adult Evening IOP"));
    assert_eq!(app.browser().get("/programs/no-such-program").await.status, StatusCode::NOT_FOUND);

    // Credentials expiring within 90 days: none yet; a new one expiring next month shows.
    let soon = app.days_ago(-20);
    post(
        &app,
        &format!("/api/v1/staff/{}/credentials", assoc.id),
        &t,
        json!({"kind": "CADC", "number": "C-9", "state": "NJ", "issued_on": "2021-01-01", "expires_on": soon}),
    )
    .await;
    let exp = app.api(Method::GET, "/api/v1/credentials/expiring?days=30", Some(&t), None).await.json();
    assert_eq!(exp.as_array().unwrap().len(), 1);
    assert_eq!(exp[0]["days_left"], 20);
}

#[tokio::test]
async fn a_director_sets_up_an_adult_evening_iop_on_every_engine() {
    for engine in engines() {
        director_sets_up_an_evening_iop(engine).await;
    }
}

#[tokio::test]
async fn bad_program_input_is_refused_field_by_field_and_nothing_is_written() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        let director = app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
        let t = app.token(&director).await;
        let site = app.site.id.to_string();
        let r = app
            .api(
                Method::POST,
                "/api/v1/programs",
                Some(&t),
                Some(json!({"site_id": site, "name": "Evening", "condition_focus": "gaming",
            "population": "adult", "delivery_modes": ["teleport"], "expected_days_min": 60, "expected_days_max": 30})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = r.json()["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect();
        assert_eq!(fields, ["condition_focus", "expected_days_max", "delivery_modes"], "{engine}");
        let r = app
            .api(
                Method::POST,
                &format!("/api/v1/sites/{site}/rooms"),
                Some(&t),
                Some(json!({"name": "Room", "kind": "group", "capacity": -4})),
            )
            .await;
        assert_eq!((r.status, r.json()["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("capacity")));
        let r = app.api(Method::POST, "/api/v1/sites", Some(&t), Some(json!({"name": "S", "line1": "1 A St", "city": "C", "state": "QQ", "postal_code": "07001", "time_zone": "America/New_York"}))).await;
        assert_eq!((r.status, r.json()["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_state")));
        let lcsw = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Organization).await;
        let r = app
            .api(
                Method::POST,
                &format!("/api/v1/staff/{}/credentials", lcsw.id),
                Some(&t),
                Some(json!({"kind": "LCSW", "number": "1", "state": "NJ",
            "issued_on": "2026-01-01", "expires_on": "2025-01-01"})),
            )
            .await;
        assert_eq!((r.status, r.json()["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_on")));
        // Nothing was written.
        assert!(app.api(Method::GET, "/api/v1/programs", Some(&t), None).await.json().as_array().unwrap().is_empty());
        assert!(app.api(Method::GET, "/api/v1/rooms", Some(&t), None).await.json().as_array().unwrap().is_empty());
        assert!(app.api(Method::GET, "/api/v1/staff", Some(&t), None).await.json().as_array().unwrap().is_empty());
        // A clinician reads programs but cannot create them; a site-B director cannot touch site A.
        let clin = app.token(&lcsw).await;
        let r = app.api(Method::POST, "/api/v1/programs", Some(&clin), Some(json!({"site_id": site, "name": "Yellow Program", "condition_focus": "mental_health", "population": "adult", "delivery_modes": ["virtual"]}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let other_site = openiop_domain::ids::SiteId::new();
        let scoped = app.staff("b@harbor.org", &[Role::ClinicalDirector], Scope::Units { sites: vec![other_site], programs: vec![] }).await;
        let r = app.api(Method::POST, "/api/v1/programs", Some(&app.token(&scoped).await), Some(json!({"site_id": site, "name": "Zeta Program", "condition_focus": "mental_health", "population": "adult", "delivery_modes": ["virtual"]}))).await;
        // A site out of scope in the body is refused like one that does not exist: no oracle.
        assert_eq!((r.status, r.json()["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("site_id")));
    }
}

#[tokio::test]
async fn a_director_edits_a_programs_settings_from_its_page_and_bad_input_is_shown_in_place() {
    let app = TestApp::new("sqlite").await;
    let director = app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let t = app.token(&director).await;
    let p = post(
        &app,
        "/api/v1/programs",
        &t,
        json!({"site_id": app.site.id.to_string(), "name": "Adult Evening IOP", "condition_focus": "substance_use",
        "population": "adult", "delivery_modes": ["in_person"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap();
    let mut b = app.browser();
    b.sign_in_enrolling("director@harbor.org").await;
    let page = b.get(&format!("/admin/programs/{id}")).await;
    assert!(page.body.contains("Program settings"));
    let csrf = page.input_value("csrf").unwrap();
    let site = app.site.id.to_string();
    let fields = |hours: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("site_id", site.clone()),
            ("name", "Adult Evening IOP".to_string()),
            ("slug", "adult-evening-iop".to_string()),
            ("condition_focus", "co_occurring".to_string()),
            ("population", "adult".to_string()),
            ("level_edition", "ASAM3".to_string()),
            ("level_code", "2.1".to_string()),
            ("weekly_hours", hours.to_string()),
            ("delivery_modes[]", "in_person".to_string()),
            ("delivery_modes[]", "virtual".to_string()),
        ]
    };
    let bad = fields("-2");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&format!("/admin/programs/{id}"), &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("weekly hours"), "the problem is named on the page");
    let good = fields("10");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&format!("/admin/programs/{id}"), &good).await;
    assert_eq!(r.location(), Some(format!("/admin/programs/{id}").as_str()));
    let p = app.api(Method::GET, &format!("/api/v1/programs/{id}"), Some(&t), None).await.json();
    assert_eq!((p["weekly_hours"].as_f64(), p["condition_focus"].as_str()), (Some(10.0), Some("co_occurring")));
    assert_eq!(p["delivery_modes"], json!(["in_person", "virtual"]));
}
