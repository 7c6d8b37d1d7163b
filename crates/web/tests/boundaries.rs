//! Access boundaries, tried as an attacker with staff accounts at two sites of one organization
//! and at a second organization would, on SQLite and PostgreSQL: every record a request names —
//! in its path or in its body — is checked, refusals are the same whether the record is out of
//! scope, another organization's or does not exist, and every refusal is audited where the
//! right auditors (and only they) can read it. One test per defect found.
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::{OrganizationId, SiteId};
use openiop_domain::store::AuditFilter;
use openiop_domain::tenancy::{NewSite, Slug};
use openiop_domain::users::{Email, NewUser, User};
use openiop_web::testing::{PASSWORD, TestApp, engines};
use serde_json::{Value, json};

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

/// Monday 2026-11-16, 08:00 in New Jersey.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 13, 0, 0).single().expect("time")
}

/// Harbor Light with two sites (Newark and Trenton), and a second organization, Lakeside.
struct World {
    app: TestApp,
    director: String,
    trenton: SiteId,
    newark_program: String,
    trenton_program: String,
    service: String,
    /// Site-scoped staff of Newark.
    newark_clinician: User,
    newark_token: String,
    /// A patient of each site.
    newark_patient: String,
    trenton_patient: String,
    /// Lakeside's administrator, with its own organization-wide scope.
    lakeside: OrganizationId,
    lakeside_admin: String,
}

async fn licensed(app: &TestApp, director: &str, u: &User) {
    ok(app, Method::PUT, &format!("/api/v1/staff/{}/profile", u.id), director, json!({"discipline": "Clinical"})).await;
    let c = ok(
        app,
        Method::POST,
        &format!("/api/v1/staff/{}/credentials", u.id),
        director,
        json!({"kind": "LCSW", "number": "1", "state": "NJ", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}),
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
}

async fn world(engine: &'static str) -> World {
    let app = TestApp::with_config(engine, |c| {
        c.clock_at(monday());
    })
    .await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    let newark = app.site.id;
    let trenton: SiteId = ok(
        &app,
        Method::POST,
        "/api/v1/sites",
        &director,
        json!({"name": "Harbor Light Trenton", "line1": "2 State St", "city": "Trenton", "state": "NJ", "postal_code": "08608", "time_zone": "America/New_York"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let program = |site: SiteId, name: &str| json!({"site_id": site.to_string(), "name": name, "condition_focus": "substance_use", "population": "adult", "delivery_modes": ["in_person", "virtual"]});
    let newark_program = ok(&app, Method::POST, "/api/v1/programs", &director, program(newark, "Newark Evening IOP")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let trenton_program = ok(&app, Method::POST, "/api/v1/programs", &director, program(trenton, "Trenton Evening IOP")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let services = ok(&app, Method::GET, "/api/v1/service-types", &director, Value::Null).await;
    let service = services.as_array().unwrap().iter().find(|s| s["code"] == "group_therapy").unwrap()["id"].as_str().unwrap().to_string();
    let newark_clinician = app.staff("lena@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![newark], programs: vec![] }).await;
    licensed(&app, &director, &newark_clinician).await;
    let newark_token = app.token(&newark_clinician).await;
    let patient = |site: SiteId, first: &str| json!({"site_id": site.to_string(), "legal_first": first, "legal_last": "Rivera", "date_of_birth": "1990-04-12", "state": "NJ"});
    let newark_patient =
        ok(&app, Method::POST, "/api/v1/patients", &director, patient(newark, "Jordan")).await["id"].as_str().unwrap().to_string();
    let trenton_patient =
        ok(&app, Method::POST, "/api/v1/patients", &director, patient(trenton, "Casey")).await["id"].as_str().unwrap().to_string();
    for (p, prog) in [(&newark_patient, &newark_program), (&trenton_patient, &trenton_program)] {
        ok(
            &app,
            Method::POST,
            &format!("/api/v1/patients/{p}/episodes"),
            &director,
            json!({"program_id": prog, "admitted_on": "2026-11-02", "diagnoses": "F10.20"}),
        )
        .await;
    }
    // Lakeside: another organization on the same server.
    let sys = |what: &str| AuditEvent::system("test", AuditAction::Create, what, None);
    let lakeside = app.store.create_organization("Lakeside", &Slug::parse("lakeside").unwrap(), false, sys("organization")).await.unwrap();
    let site = NewSite::parse("Lakeside Camden", "3 Main St", "Camden", "NJ", "08101", "America/New_York").unwrap();
    app.store.create_site(lakeside.id, site, sys("site").in_org(lakeside.id)).await.unwrap();
    let admin = app
        .store
        .create_user(
            NewUser {
                organization_id: lakeside.id,
                email: Email::parse("admin@lakeside.org").unwrap(),
                name: "Lakeside Admin".into(),
                roles: vec![Role::Admin, Role::ClinicalDirector],
                scope: Scope::Organization,
                password_hash: openiop_app::security::hash_password(PASSWORD).unwrap(),
                mfa_exempt: false,
            },
            sys("user").in_org(lakeside.id),
        )
        .await
        .unwrap();
    let lakeside_admin = app.token(&admin).await;
    World {
        app,
        director,
        trenton,
        newark_program,
        trenton_program,
        service,
        newark_clinician,
        newark_token,
        newark_patient,
        trenton_patient,
        lakeside: lakeside.id,
        lakeside_admin,
    }
}

async fn denials(app: &TestApp, org: OrganizationId, detail: &str) -> usize {
    let all = app
        .store
        .audit_search(org, &AuditFilter { action: Some("access_denied".into()), limit: 1000, ..Default::default() })
        .await
        .unwrap();
    all.iter().filter(|e| e.event.detail == detail).count()
}

fn session(w: &World, patients: &[&str], start: &str) -> Value {
    json!({"site_id": w.app.site.id.to_string(), "program_id": w.newark_program, "service_type_id": w.service, "date": "2026-11-16",
           "start": start, "minutes": "50", "is_virtual": true, "leader_ids": [w.newark_clinician.id.to_string()], "patient_ids": patients})
}

async fn patients_are_not_pulled_across_sites(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 1a. Newark staff cannot book a Trenton patient, by creating a session or changing one.
    let before = denials(app, app.org.id, "out_of_scope").await;
    let (s, v) = call(app, Method::POST, "/api/v1/sessions", &w.newark_token, Some(session(&w, &[&w.trenton_patient], "10:00"))).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_reference")), "{engine}: {v}");
    // Under way since 07:00 (it is 08:00).
    let own = ok(app, Method::POST, "/api/v1/sessions", &w.newark_token, session(&w, &[&w.newark_patient], "07:00")).await;
    let sid = own["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{sid}/participants"),
        &w.newark_token,
        Some(json!({"add": [w.trenton_patient]})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}");
    // A patient id that does not exist at all answers exactly the same.
    let nobody = openiop_domain::patients::PatientId::new().to_string();
    let (s2, v2) =
        call(app, Method::POST, &format!("/api/v1/sessions/{sid}/participants"), &w.newark_token, Some(json!({"add": [nobody]}))).await;
    assert_eq!((s2, v2["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_reference")), "{engine}");
    assert!(denials(app, app.org.id, "out_of_scope").await >= before + 2, "{engine}: both attempts audited");

    // 1b. The director (organization-wide) puts the Trenton patient in a Newark session, and books
    //     them at Trenton at the same hour. Newark staff see that someone else takes part, never
    //     who: not on the session, its roster page, the sign-in sheet or the notes screen; they
    //     cannot take their attendance or write about them; a conflict does not name them.
    ok(app, Method::POST, &format!("/api/v1/sessions/{sid}/participants"), &w.director, json!({"add": [w.trenton_patient]})).await;
    let director_user = app.store.user_credentials("director@harbor.org").await.unwrap().unwrap().user;
    // (Booked at Trenton through the store: the rules would refuse the overlap through the API.)
    let mut other = app.store.scheduled_session(app.org.id, sid.parse().unwrap()).await.unwrap();
    other.id = openiop_domain::schedule::SessionId::new();
    other.site_id = w.trenton;
    other.program_id = Some(w.trenton_program.parse().unwrap());
    other.participants = vec![w.trenton_patient.parse().unwrap()];
    other.leaders = vec![director_user.id];
    let ev = AuditEvent::system("test", AuditAction::Create, "session", None).in_org(app.org.id);
    // On PostgreSQL the database itself refuses the overlap (its exclusion constraints), so the
    // conflict below cannot arise there; on SQLite the store keeps what it is given.
    let stored = app.store.create_sessions(app.org.id, std::slice::from_ref(&other), ev).await;
    let overlap_stored = match engine {
        "postgres" => {
            assert_eq!(stored.expect_err("the database refuses the double booking").code(), "schedule_conflict");
            false
        }
        _ => {
            stored.unwrap();
            true
        }
    };

    let seen = ok(app, Method::GET, &format!("/api/v1/sessions/{sid}"), &w.newark_token, Value::Null).await;
    assert_eq!(seen["patient_ids"], json!([w.newark_patient]), "{engine}: the Trenton patient is not listed");
    let mut b = app.browser();
    b.sign_in_enrolling(&w.newark_clinician.email).await;
    let page = b.get(&format!("/sessions/{sid}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Jordan") && !page.body.contains("Casey"), "{engine}: roster names only Newark's patient");
    assert!(page.body.contains("1 more participant"), "{engine}");
    let sheet = b.get(&format!("/sessions/{sid}/sign-in-sheet")).await;
    assert!(!sheet.body.contains("Casey"), "{engine}: nor does the sign-in sheet");
    let notes = ok(app, Method::GET, &format!("/api/v1/sessions/{sid}/notes"), &w.newark_token, Value::Null).await;
    assert!(!notes.to_string().contains(&w.trenton_patient) && !notes.to_string().contains("Casey"), "{engine}: nor the notes screen");
    let (s, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{sid}/attendance"),
        &w.newark_token,
        Some(json!({"rows": [{"patient_id": w.trenton_patient, "status": "present"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: no attendance for them");
    let (s, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/sessions/{sid}/notes"),
        &w.newark_token,
        Some(json!({"patient_id": w.trenton_patient, "sections": {"data": "x", "assessment": "y", "plan": "z"}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: no notes about them");
    // Newark staff change the session (it moves onto the Trenton booking): the conflict message
    // does not name the patient they may not see.
    if overlap_stored {
        let (s, v) = call(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{sid}/participants"),
            &w.newark_token,
            Some(json!({"remove": [w.newark_patient]})),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: {v}");
        assert!(!v["message"].as_str().unwrap().contains("Casey"), "{engine}: {v}");
        // Someone allowed to see Trenton's patient gets the name.
        let (_, v) = call(
            app,
            Method::POST,
            &format!("/api/v1/sessions/{sid}/participants"),
            &w.director,
            Some(json!({"remove": [w.newark_patient]})),
        )
        .await;
        assert!(v["message"].as_str().unwrap().contains("Casey"), "{engine}: {v}");
    }
    // A patient's week is only for those who may see the patient.
    let (s, _) =
        call(app, Method::GET, &format!("/api/v1/sessions?from=2026-11-16&patient={}", w.trenton_patient), &w.newark_token, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
}

#[tokio::test]
async fn a_site_a_clinician_cannot_book_see_or_document_a_site_b_patient() {
    for engine in engines() {
        patients_are_not_pulled_across_sites(engine).await;
    }
}

async fn no_writes_across_organizations(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 2. Lakeside's administrator cannot close Harbor Light's site; a site that does not exist
    //    answers the same 404, never a 500; the cross-organization attempt is in Lakeside's log.
    let closure = json!({"date": "2026-12-24", "reason": "Holiday"});
    let (s, _) =
        call(app, Method::POST, &format!("/api/v1/sites/{}/closures", app.site.id), &w.lakeside_admin, Some(closure.clone())).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
    let (s, _) =
        call(app, Method::POST, &format!("/api/v1/sites/{}/closures", SiteId::new()), &w.lakeside_admin, Some(closure.clone())).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}: unknown site");
    let closures = app
        .store
        .closures(app.org.id, app.site.id, monday().date_naive(), monday().date_naive() + chrono::Duration::days(60))
        .await
        .unwrap();
    assert!(closures.is_empty(), "{engine}: nothing written");
    assert_eq!(denials(app, w.lakeside, "other_organization").await, 1, "{engine}: audited in the attacker's organization");
    assert_eq!(denials(app, app.org.id, "other_organization").await, 0, "{engine}");
    // Nor a room, nor a patient read.
    let (s, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/sites/{}/rooms", app.site.id),
        &w.lakeside_admin,
        Some(json!({"name": "X", "kind": "office", "capacity": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
    let (s, _) = call(app, Method::GET, &format!("/api/v1/patients/{}", w.newark_patient), &w.lakeside_admin, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
    assert_eq!(denials(app, w.lakeside, "other_organization").await, 3, "{engine}");
    // Harbor's own director closes the site; a closure in the year 9999 is refused.
    ok(app, Method::POST, &format!("/api/v1/sites/{}/closures", app.site.id), &w.director, closure).await;
    let (s, v) = call(
        app,
        Method::POST,
        &format!("/api/v1/sites/{}/closures", app.site.id),
        &w.director,
        Some(json!({"date": "9999-12-31", "reason": "x"})),
    )
    .await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("date_out_of_range")), "{engine}");
}

#[tokio::test]
async fn another_organizations_administrator_cannot_write_to_our_sites() {
    for engine in engines() {
        no_writes_across_organizations(engine).await;
    }
}

async fn feeds_are_their_owners(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 3. A calendar subscription is revoked by its owner, not by a colleague.
    let me = w.newark_clinician.id.to_string();
    ok(app, Method::POST, "/api/v1/calendar-feeds", &w.newark_token, json!({"owner": "staff", "owner_id": me})).await;
    let feed = app.store.feeds(app.org.id, openiop_domain::schedule::FeedOwner::Staff, &me).await.unwrap()[0].id;
    let colleague = app.token(&app.staff("sam@harbor.org", &[Role::Clinician], Scope::Organization).await).await;
    let (s, _) = call(app, Method::DELETE, &format!("/api/v1/calendar-feeds/{feed}"), &colleague, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}: a colleague's revocation is refused");
    assert!(app.store.feeds(app.org.id, openiop_domain::schedule::FeedOwner::Staff, &me).await.unwrap()[0].revoked_at.is_none());
    let (s, _) = call(app, Method::DELETE, &format!("/api/v1/calendar-feeds/{feed}"), &w.lakeside_admin, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
    let (s, _) = call(app, Method::DELETE, &format!("/api/v1/calendar-feeds/{feed}"), &w.newark_token, None).await;
    assert!(s.is_success(), "{engine}: the owner revokes it");
}

#[tokio::test]
async fn a_calendar_subscription_is_revoked_only_by_its_owner() {
    for engine in engines() {
        feeds_are_their_owners(engine).await;
    }
}

async fn the_audit_log_keeps_tenants_apart(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 4a. A failed sign-in at an address that is no account: stored as a keyed hash of what was
    //     typed, under no organization; no organization's auditor sees it.
    let typed = "Hunter2-my-password@oops";
    let mut b = app.browser();
    assert_eq!(b.sign_in(typed, "whatever").await.status, StatusCode::UNAUTHORIZED);
    let since = monday() - chrono::Duration::hours(1);
    assert_eq!(app.store.recent_events("login_failure", None, None, since).await.unwrap(), 1);
    let auditor = app.token(&app.staff("audit@harbor.org", &[Role::Auditor], Scope::Organization).await).await;
    let log = ok(app, Method::GET, "/api/v1/audit-log?action=login_failure", &auditor, Value::Null).await;
    assert_eq!(log.as_array().unwrap().len(), 0, "{engine}: not shown to Harbor's auditors");
    let stored = stored_actors(app, "login_failure").await;
    assert!(stored.iter().all(|a| !a.to_lowercase().contains("hunter2") && a.starts_with("unknown:")), "{engine}: {stored:?}");
    // 4b. A Newark-scoped auditor sees what concerns Newark's patients, not the organization's
    //     other entries (Trenton's patients, program settings, sign-ins of organization staff).
    let newark_auditor = app
        .token(&app.staff("newark-audit@harbor.org", &[Role::Auditor], Scope::Units { sites: vec![app.site.id], programs: vec![] }).await)
        .await;
    ok(app, Method::GET, &format!("/api/v1/patients/{}", w.trenton_patient), &w.director, Value::Null).await;
    ok(app, Method::GET, &format!("/api/v1/patients/{}", w.newark_patient), &w.director, Value::Null).await;
    let all = ok(app, Method::GET, "/api/v1/audit-log", &auditor, Value::Null).await;
    let mine = ok(app, Method::GET, "/api/v1/audit-log", &newark_auditor, Value::Null).await;
    let about = |v: &Value, p: &str| v.as_array().unwrap().iter().filter(|e| e["patient_id"] == p).count();
    assert!(about(&all, &w.trenton_patient) > 0 && about(&mine, &w.trenton_patient) == 0, "{engine}: not Trenton's patients");
    assert!(about(&mine, &w.newark_patient) > 0, "{engine}: Newark's patients, yes");
    assert!(mine.as_array().unwrap().iter().all(|e| e["patient_id"].is_string()), "{engine}: nothing organization-wide");
}

/// The actors of stored entries of one action (looking behind the API, as an operator would).
async fn stored_actors(app: &TestApp, action: &str) -> Vec<String> {
    // Every organization's log plus the entries of none: verify the chain's entries.
    let verdict = app.store.audit_verify().await.unwrap();
    assert!(matches!(verdict, openiop_domain::audit::ChainVerdict::Intact { .. }));
    let mut out = Vec::new();
    for org in app.store.organizations().await.unwrap() {
        let f = AuditFilter { action: Some(action.into()), limit: 1000, ..Default::default() };
        out.extend(app.store.audit_search(org.id, &f).await.unwrap().into_iter().map(|e| e.event.actor));
    }
    let raw = openiop_store::testing::audit_actors(&app.sql, action).await;
    out.extend(raw);
    out
}

#[tokio::test]
async fn the_audit_log_keeps_organizations_and_sites_apart_and_never_stores_a_typed_secret() {
    for engine in engines() {
        the_audit_log_keeps_tenants_apart(engine).await;
    }
}

async fn denials_are_audited(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 5a. Out-of-scope reads of a session and of a note are denials on record.
    let trenton_clinician =
        app.staff("tam@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![w.trenton], programs: vec![] }).await;
    let trenton_token = app.token(&trenton_clinician).await;
    let own = ok(app, Method::POST, "/api/v1/sessions", &w.newark_token, session(&w, &[&w.newark_patient], "11:00")).await;
    let sid = own["id"].as_str().unwrap();
    let before = denials(app, app.org.id, "out_of_scope").await;
    assert_eq!(call(app, Method::GET, &format!("/api/v1/sessions/{sid}"), &trenton_token, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(app, Method::GET, &format!("/api/v1/sessions/{sid}/notes"), &trenton_token, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(denials(app, app.org.id, "out_of_scope").await, before + 2, "{engine}");
    // 5b. A role refusal (403) is a denial on record.
    let front = app.token(&app.staff("desk@harbor.org", &[Role::FrontDesk], Scope::Organization).await).await;
    assert_eq!(call(app, Method::GET, &format!("/api/v1/sessions/{sid}/notes"), &front, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(denials(app, app.org.id, "role:forbidden").await, 1, "{engine}");
    // 5c. Unknown tokens: audited, then throttled (the log does not fill up).
    let mut statuses = Vec::new();
    for i in 0..35 {
        statuses.push(app.api(Method::GET, "/api/v1/me", Some(&format!("oiop_bogus{i}")), None).await.status);
    }
    assert!(statuses[..30].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{engine}: {statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{engine}: {statuses:?}");
    let since = monday() - chrono::Duration::hours(1);
    assert_eq!(app.store.recent_events("token_rejected", None, None, since).await.unwrap(), 30, "{engine}");
}

#[tokio::test]
async fn refusals_are_audited_and_bogus_tokens_throttled() {
    for engine in engines() {
        denials_are_audited(engine).await;
    }
}

async fn no_existence_oracles(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 6a. A program at a site the caller does not manage, and one that does not exist: one answer.
    let newark_director = app
        .token(&app.staff("nd@harbor.org", &[Role::ClinicalDirector], Scope::Units { sites: vec![app.site.id], programs: vec![] }).await)
        .await;
    let body = json!({"instrument": "phq9", "every_days": 14});
    let a =
        call(app, Method::POST, &format!("/api/v1/programs/{}/cadences", w.trenton_program), &newark_director, Some(body.clone())).await;
    let b = call(
        app,
        Method::POST,
        &format!("/api/v1/programs/{}/cadences", openiop_domain::ids::ProgramId::new()),
        &newark_director,
        Some(body),
    )
    .await;
    assert_eq!((a.0, &a.1["code"]), (b.0, &b.1["code"]), "{engine}: {a:?} vs {b:?}");
    // 6b. Lockout answers the same for an account that exists and one that does not.
    app.staff("real@harbor.org", &[Role::Clinician], Scope::Organization).await;
    for email in ["real@harbor.org", "imaginary@harbor.org"] {
        let mut br = app.browser();
        let answers: Vec<StatusCode> = {
            let mut v = Vec::new();
            for _ in 0..6 {
                v.push(br.sign_in(email, "not the password").await.status);
            }
            v
        };
        assert_eq!(answers, [&[StatusCode::UNAUTHORIZED; 5][..], &[StatusCode::TOO_MANY_REQUESTS][..]].concat(), "{engine}: {email}");
    }
}

#[tokio::test]
async fn refusals_do_not_tell_an_existing_record_or_account_from_a_missing_one() {
    for engine in engines() {
        no_existence_oracles(engine).await;
    }
}

async fn input_never_crashes(engine: &'static str) {
    let w = world(engine).await;
    let app = &w.app;
    // 7a. An absurd week is a 422, not a dropped connection.
    let (s, v) = call(app, Method::GET, "/api/v1/hours?week=262143-W01", &w.director, None).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_week")), "{engine}: {v}");
    // 7b. A NUL character in text: refused on both engines, nothing stored.
    let before = app.store.search_patients(app.org.id, "Nul", None).await.unwrap().len();
    let (s, v) = call(
        app,
        Method::POST,
        "/api/v1/patients",
        &w.director,
        Some(json!({"site_id": app.site.id.to_string(), "legal_first": "Nul\u{0}l", "legal_last": "Byte", "date_of_birth": "1990-01-01", "state": "NJ"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{engine}: {v}");
    assert_eq!(app.store.search_patients(app.org.id, "Nul", None).await.unwrap().len(), before);
    // 7c. Dates at the end of time are refused where people type them.
    let eid = app.store.episodes(app.org.id, w.newark_patient.parse().unwrap()).await.unwrap()[0].id;
    let (s, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/episodes/{eid}/levels"),
        &w.director,
        Some(json!({"line": "clinical", "level_code": "2.5", "from": "9999-12-31", "reason": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: level change");
    let (s, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/patients/{}/consents", w.newark_patient),
        &w.director,
        Some(
            json!({"recipients": "Dr. A", "purpose": "Care", "information": "All", "expires_on": "9999-12-31", "signed_by": "Jordan Rivera",
                    "signed_on": "2026-11-16", "discloser": "Harbor Light", "information_amount": "The whole record of this episode", "signature_method": "paper", "revocation_explained": true, "refusal_consequences_explained": true, "redisclosure_notice_given": true}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: consent expiry");
}

#[tokio::test]
async fn bad_input_is_a_clear_refusal_on_every_engine() {
    for engine in engines() {
        input_never_crashes(engine).await;
    }
}

#[tokio::test]
async fn transport_and_headers() {
    // 8a. HSTS when served over TLS.
    let app = TestApp::with_config("sqlite", |c| c.public_url = "https://iop.example.org".into()).await;
    let r = app.browser().get("/login").await;
    assert!(r.headers.get("strict-transport-security").is_some_and(|v| v.to_str().unwrap().contains("max-age=")));
    let plain = TestApp::new("sqlite").await;
    assert!(plain.browser().get("/login").await.headers.get("strict-transport-security").is_none());
    // 8b. Too large: 413, with the security headers, whether the size was declared or chunked.
    let big = "x".repeat(3 * 1024 * 1024);
    let declared = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/patients")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big.clone()))
        .unwrap();
    let r = plain.send(declared).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.headers.get("content-security-policy").is_some() && r.headers.get("x-content-type-options").is_some());
    let chunks = chunked_body(big);
    let chunked = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/patients")
        .header(header::CONTENT_TYPE, "application/json")
        .body(chunks)
        .unwrap();
    let r = plain.send(chunked).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "chunked too: {}", r.body);
    assert_eq!(r.json()["code"], "validation_failed");
    // 8c. A form from https://localhost to a server on http://localhost: another origin.
    let mut b = plain.browser();
    let form = b.get("/login").await;
    let csrf = form.input_value("csrf").unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "https://localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("openiop_login_csrf={}", b.cookie("openiop_login_csrf").unwrap()))
        .body(Body::from(format!("email=a%40b.org&password=x&csrf={csrf}")))
        .unwrap();
    assert_eq!(plain.send(req).await.status, StatusCode::FORBIDDEN);
}

/// A body sent in chunks, with no length declared.
fn chunked_body(text: String) -> Body {
    let parts: Vec<Result<Vec<u8>, std::io::Error>> = text.into_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(stream_of(parts))
}

fn stream_of(parts: Vec<Result<Vec<u8>, std::io::Error>>) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    struct Iter(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_util::Stream for Iter {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(parts.into_iter())
}

#[tokio::test]
async fn a_connection_stays_open_after_a_post_whose_body_the_handler_never_reads() {
    // 8d. Over a real socket: a POST with a body the route ignores, then a GET, on one connection.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (url, _guard) = openiop_store::testing::fresh_database("sqlite").await;
    let mut config = openiop_web::config::Config::new(&url);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = openiop_web::startup::Application::build(config).await.unwrap();
    let addr = server.addr;
    tokio::spawn(async move {
        let _ = server.run().await;
    });
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = "k=".to_string() + &"v".repeat(200_000);
    let first = format!(
        "POST /logout HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(first.as_bytes()).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !String::from_utf8_lossy(&got).contains("\r\n\r\nok") && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("{e}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "two answers on one connection: {text}");
    assert!(text.contains("\r\n\r\nok"), "{text}");
}

/// The privacy officer asks who opened José Núñez's chart: she types his name (or MRN) on the
/// audit page and sees the reads with his name and MRN; a name two patients share asks her to
/// choose; the administrator finds the same log one click from the chart.
async fn the_auditor_finds_who_opened_a_chart_by_the_patients_name(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let director = app.token(&app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await).await;
    app.staff("privacy@harbor.org", &[Role::Auditor], Scope::Organization).await;
    app.staff("admin@harbor.org", &[Role::Admin, Role::ClinicalDirector], Scope::Organization).await;
    let site = app.site.id.to_string();
    let mut ids = Vec::new();
    for (first, last, dob) in [("José", "Núñez", "1979-06-01"), ("Ann", "Lee", "1990-01-01"), ("Ben", "Lee", "1991-02-02")] {
        let p = ok(
            &app,
            Method::POST,
            "/api/v1/patients",
            &director,
            json!({"legal_first": first, "legal_last": last, "date_of_birth": dob, "state": "NJ", "site_id": site}),
        )
        .await;
        ids.push((p["id"].as_str().unwrap().to_string(), p["mrn"].as_str().unwrap_or_default().to_string()));
    }
    let (jose, mrn) = ids[0].clone();
    ok(&app, Method::GET, &format!("/api/v1/patients/{jose}"), &director, Value::Null).await;

    let mut b = app.browser();
    b.sign_in_enrolling("privacy@harbor.org").await;
    for typed in ["Núñez", mrn.as_str()] {
        let page =
            b.get(&format!("/audit?patient={}", percent_encoding::utf8_percent_encode(typed, percent_encoding::NON_ALPHANUMERIC))).await;
        assert_eq!(page.status, StatusCode::OK, "{engine}: {typed}");
        let table = page.body.split("id=\"audit-entries\"").nth(1).unwrap_or_default();
        assert!(table.contains("José Núñez") && table.contains(&format!("MRN {mrn}")), "{engine}: {typed}: names and MRNs shown");
        assert!(table.contains("director@harbor.org"), "{engine}: {typed}: the director's read is listed");
        assert!(!table.contains("Lee"), "{engine}: {typed}: only his entries");
    }
    // The same entries as a CSV download, names and MRNs included; the export is itself audited.
    let csv = b.get("/audit.csv?patient=N%C3%BA%C3%B1ez").await;
    assert_eq!(csv.status, StatusCode::OK, "{engine}");
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let mut lines = csv.body.lines();
    assert!(lines.next().unwrap().starts_with("seq,occurred_at_utc,user,role,action"), "{engine}: the header says UTC");
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.contains("\"José Núñez\"") && r.contains(&mrn)), "{engine}: {}", csv.body);
    let exports =
        app.store.audit_search(app.org.id, &AuditFilter { action: Some("export".into()), limit: 50, ..Default::default() }).await.unwrap();
    assert!(exports.iter().any(|e| e.event.resource_type == "audit_log"), "{engine}: the export is in the log");
    let page = b.get("/audit?patient=Lee").await;
    assert!(page.body.contains("2 patients match; choose one"), "{engine}: a shared name asks which");
    assert!(page.body.contains(&format!("/audit?patient={}", ids[1].0)) && page.body.contains(&format!("/audit?patient={}", ids[2].0)));

    let mut admin = app.browser();
    admin.sign_in_enrolling("admin@harbor.org").await;
    let chart = admin.get(&format!("/patients/{jose}")).await;
    assert!(chart.body.contains(&format!("href=\"/audit?patient={jose}\"")), "{engine}: one click from the chart");
    let mut d = app.browser();
    d.sign_in_enrolling("director@harbor.org").await;
    let director_chart = d.get(&format!("/patients/{jose}")).await;
    assert_eq!(director_chart.status, StatusCode::OK);
    assert!(!director_chart.body.contains("Who opened this chart"), "{engine}: not for whoever cannot read the log");
}

#[tokio::test]
async fn the_auditor_finds_who_opened_a_chart_by_the_patients_name_on_every_engine() {
    for engine in engines() {
        the_auditor_finds_who_opened_a_chart_by_the_patients_name(engine).await;
    }
}
