//! The foundation, told as clinic stories, against the whole app in-process on both engines.
use axum::http::{Method, StatusCode};
use openiop_app::security::totp;
use openiop_domain::auth::{Role, Scope};
use openiop_domain::store::AuditFilter;
use openiop_web::testing::{PASSWORD, TestApp, engines};
use serde_json::json;

#[tokio::test]
async fn the_api_knows_who_is_calling_and_refuses_strangers() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        let r = app.api(Method::GET, "/api/v1/me", None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{engine}");
        assert_eq!(r.json()["code"], "unauthenticated");

        let r = app.api(Method::GET, "/api/v1/me", Some("oiop_not-a-real-token"), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);

        let nurse = app.staff("nurse@harbor.org", &[Role::Nurse], Scope::Units { sites: vec![app.site.id], programs: vec![] }).await;
        let token = app.token(&nurse).await;
        let r = app.api(Method::GET, "/api/v1/me", Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let me = r.json();
        assert_eq!(me["email"], "nurse@harbor.org");
        assert_eq!(me["roles"], json!(["nurse"]));
        assert_eq!(me["scope"]["kind"], "units");
        assert_eq!(me["scope"]["site_ids"], json!([app.site.id.to_string()]));

        // A revoked token stops working at once.
        let tokens = app.store.tokens(nurse.id).await.unwrap();
        let ev = openiop_domain::audit::AuditEvent::system("test", openiop_domain::audit::AuditAction::TokenRevoked, "api_token", None);
        app.store.revoke_token(nurse.id, tokens[0].id, ev).await.unwrap();
        assert_eq!(app.api(Method::GET, "/api/v1/me", Some(&token), None).await.status, StatusCode::UNAUTHORIZED);

        // Rejected tokens are audited (under no organization: whose they were is unknown, so
        // no organization's auditors see them).
        let since = app.state.now() - chrono::Duration::hours(1);
        assert_eq!(app.store.recent_events("token_rejected", None, None, since).await.unwrap(), 2, "{engine}");
        let org_log =
            app.store.audit_search(app.org.id, &AuditFilter { action: Some("token_rejected".into()), ..Default::default() }).await.unwrap();
        assert!(org_log.is_empty(), "{engine}");
    }
}

#[tokio::test]
async fn one_policy_decides_who_may_add_a_site_and_read_the_audit_log() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        let clinician = app.staff("clinician@harbor.org", &[Role::Clinician], Scope::Organization).await;
        let admin = app.staff("admin@harbor.org", &[Role::Admin], Scope::Organization).await;
        let auditor = app.staff("auditor@harbor.org", &[Role::Auditor], Scope::Organization).await;
        let (tc, ta, tu) = (app.token(&clinician).await, app.token(&admin).await, app.token(&auditor).await);
        let site = json!({"name": "Harbor Light Trenton", "line1": "9 State St", "city": "Trenton", "state": "NJ",
                          "postal_code": "08608", "time_zone": "America/New_York"});

        let r = app.api(Method::POST, "/api/v1/sites", Some(&tc), Some(site.clone())).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}: a clinician may not add sites");
        assert_eq!(r.json()["code"], "forbidden");

        let r = app.api(Method::POST, "/api/v1/sites", Some(&ta), Some(site.clone())).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json()["state"], "NJ");
        let r = app.api(Method::POST, "/api/v1/sites", Some(&ta), Some(site)).await;
        assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::CONFLICT, Some("site_name_taken")));

        // Bad input: every problem named, nothing written.
        let bad = json!({"name": "", "line1": "x", "city": "y", "state": "ZZ", "postal_code": "1", "time_zone": "Mars/Base"});
        let r = app.api(Method::POST, "/api/v1/sites", Some(&ta), Some(bad)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.json();
        assert_eq!(body["code"], "validation_failed");
        let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "state", "postal_code", "time_zone"]);
        let r = app.api(Method::POST, "/api/v1/sites", Some(&ta), Some(json!({"name": 3}))).await;
        assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        assert_eq!(app.store.sites(app.org.id).await.unwrap().len(), 2, "only the valid site was written");

        // The audit log: auditors yes, clinicians no.
        let r = app.api(Method::GET, "/api/v1/audit-log", Some(&tc), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.api(Method::GET, "/api/v1/audit-log?action=create", Some(&tu), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.json().as_array().unwrap().iter().any(|e| e["resource_type"] == "site" && e["actor"] == "admin@harbor.org"));
        let r = app.api(Method::GET, "/api/v1/audit-log?from=2026-12-01&to=2026-11-01", Some(&tu), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["fields"][0]["field"], "to");

        // A site-scoped clinician sees only their site.
        let scoped = app.staff("scoped@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![app.site.id], programs: vec![] }).await;
        let r = app.api(Method::GET, "/api/v1/sites", Some(&app.token(&scoped).await), None).await;
        assert_eq!(r.json().as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn staff_sign_in_needs_a_second_factor_and_gets_a_new_session_id() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        app.staff("therapist@harbor.org", &[Role::Clinician], Scope::Organization).await;
        let mut b = app.browser();
        assert_eq!(b.get("/").await.location(), Some("/login"), "home needs a session");

        let r = b.sign_in("therapist@harbor.org", PASSWORD).await;
        assert_eq!(r.location(), Some("/mfa"));
        let pending = b.cookie("openiop_session").expect("a pending session");
        assert_eq!(b.get("/").await.location(), Some("/login"), "a password alone does not reach the home page");

        // Enrolment: QR code and otpauth URI, then a wrong code, then the right one.
        let page = b.get("/mfa").await;
        assert!(page.body.contains("data:image/svg+xml;base64,"));
        assert!(page.text_of("otpauth-uri").unwrap().starts_with("otpauth://totp/OpenIOP:therapist%40harbor%2Eorg?secret="));
        let secret = page.text_of("totp-secret").unwrap();
        let csrf = page.input_value("csrf").unwrap();
        let wrong = b.post("/mfa/enroll", &[("code", "000000"), ("csrf", &csrf)]).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let now = app.state.now().timestamp();
        let code = totp::code(&secret, totp::step_at(now)).unwrap();
        let done = b.post("/mfa/enroll", &[("code", &code), ("csrf", &csrf)]).await;
        assert_eq!(done.status, StatusCode::OK);
        assert_eq!(done.body.matches("<li><code>").count(), 10, "ten recovery codes shown once");
        let recovery: String = done.body.split("<li><code>").nth(1).unwrap().split('<').next().unwrap().to_string();
        let active = b.cookie("openiop_session").unwrap();
        assert_ne!(pending, active, "sign-in rotates the session id");
        let home = b.get("/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("Welcome, Staff therapist@harbor.org"));

        // Sign out; the old cookie no longer works.
        let csrf = home.input_value("csrf").unwrap();
        let out = b.post("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.location(), Some("/login"));
        b.cookies.push(("openiop_session".into(), active));
        assert_eq!(b.get("/").await.location(), Some("/login"));

        // Next sign-in: the code just used is refused (no replay); a recovery code works once.
        let mut b = app.browser();
        b.sign_in("therapist@harbor.org", PASSWORD).await;
        let page = b.get("/mfa").await;
        assert!(page.body.contains("Two-step sign-in"));
        let csrf = page.input_value("csrf").unwrap();
        let replay = b.post("/mfa", &[("code", &code), ("csrf", &csrf)]).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{engine}: replayed code");
        let ok = b.post("/mfa", &[("code", &recovery), ("csrf", &csrf)]).await;
        assert_eq!(ok.location(), Some("/"));
        let mut b2 = app.browser();
        b2.sign_in("therapist@harbor.org", PASSWORD).await;
        let csrf = b2.get("/mfa").await.input_value("csrf").unwrap();
        assert_eq!(
            b2.post("/mfa", &[("code", &recovery), ("csrf", &csrf)]).await.status,
            StatusCode::UNAUTHORIZED,
            "recovery codes are single-use"
        );

        let log = app
            .store
            .audit_search(app.org.id, &AuditFilter { user: Some("therapist@harbor.org".into()), ..Default::default() })
            .await
            .unwrap();
        let actions: Vec<&str> = log.iter().rev().map(|e| e.event.action.as_str()).collect();
        for expected in ["mfa_challenge_failure", "mfa_enrolled", "login_success", "logout", "recovery_code_used"] {
            assert!(actions.contains(&expected), "{engine}: {expected} audited in {actions:?}");
        }
    }
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    for engine in engines() {
        let app = TestApp::new(engine).await;
        app.staff("frontdesk@harbor.org", &[Role::FrontDesk], Scope::Organization).await;
        let mut b = app.browser();
        for _ in 0..5 {
            let r = b.sign_in("frontdesk@harbor.org", "not the password").await;
            assert!(matches!(r.status, StatusCode::UNAUTHORIZED), "{engine}");
        }
        let r = b.sign_in("frontdesk@harbor.org", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{engine}: locked even with the right password");
        assert!(r.body.contains("locked"));
        assert!(b.cookie("openiop_session").is_none());

        let log = app
            .store
            .audit_search(app.org.id, &AuditFilter { user: Some("frontdesk@harbor.org".into()), ..Default::default() })
            .await
            .unwrap();
        let failures = log.iter().filter(|e| e.event.action == "login_failure" && e.event.detail == "wrong_password").count();
        let locked = log.iter().filter(|e| e.event.action == "login_locked").count();
        assert_eq!((failures, locked), (5, 1), "{engine}: every attempt audited");

        // Unknown accounts get the same answer, and are audited by the identifier typed.
        let r = b.sign_in("nobody@harbor.org", PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("do not match an account"));
    }
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_throttled() {
    let app = TestApp::with_config("sqlite", |c| c.ip_failures_per_window = 3).await;
    let mut b = app.browser();
    for i in 0..3 {
        assert_eq!(b.sign_in(&format!("guess{i}@harbor.org"), "x").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = b.sign_in("guess9@harbor.org", "x").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn forms_from_other_sites_and_without_tokens_are_refused() {
    let app = TestApp::new("sqlite").await;
    app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let mut b = app.browser();
    b.sign_in_enrolling("director@harbor.org").await;
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    // Missing CSRF token.
    let r = b.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A cross-site form post never reaches the handler.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/logout")
        .header("host", "localhost")
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("csrf=x"))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    // The login form itself carries a token bound to a cookie.
    let r = b.post("/login", &[("email", "director@harbor.org"), ("password", PASSWORD), ("csrf", "x")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_errors_never_leak() {
    let app = TestApp::new("sqlite").await;
    let r = app.browser().get("/login").await;
    let csp = r.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(r.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    assert!(r.headers.contains_key("x-request-id"));
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"));

    let r = app.api(Method::GET, "/api/v1/nothing-here", None, None).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let r = app.browser().get("/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("<h1>Not Found</h1>"));
}

#[tokio::test]
async fn secure_cookies_when_served_over_tls() {
    let app = TestApp::with_config("sqlite", |c| c.public_url = "https://iop.example.org".into()).await;
    let r = app.browser().get("/login").await;
    assert!(r.headers.get("set-cookie").unwrap().to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn health_readiness_metrics_and_the_openapi_document() {
    let app = TestApp::with_config("sqlite", |c| c.metrics_token = Some("scrape-me-0123456789".into())).await;
    assert_eq!(app.api(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
    assert_eq!(app.api(Method::GET, "/readyz", None, None).await.status, StatusCode::OK);
    // Metrics are for the scraper that holds the token, not for anyone who asks.
    assert_eq!(app.api(Method::GET, "/metrics", None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.api(Method::GET, "/metrics", Some("wrong"), None).await.status, StatusCode::NOT_FOUND);
    let m = app.api(Method::GET, "/metrics", Some("scrape-me-0123456789"), None).await;
    assert!(m.body.contains("openiop_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"), "{}", m.body);
    assert!(m.body.contains("openiop_db_queries_total"));
    let doc = app.api(Method::GET, "/api/openapi.json", None, None).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for p in ["/api/v1/me", "/api/v1/sites", "/api/v1/audit-log"] {
        assert!(paths.iter().any(|x| *x == p), "{p} documented");
    }
    assert!(doc["paths"]["/api/v1/sites"]["post"].is_object());
}

#[tokio::test]
async fn the_demo_organization_is_bannered_and_its_accounts_skip_mfa() {
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;
    let mut b = app.browser();
    let login = b.get("/login").await;
    let director = format!("director@{}.example.org", openiop_demo::demo_slug());
    assert!(login.body.contains(&director));
    let r = b.sign_in(&director, openiop_demo::DEMO_PASSWORD).await;
    assert_eq!(r.location(), Some("/"));
    let home = b.get("/").await;
    assert!(home.body.contains("Demo organization"));
    // Real accounts never skip MFA.
    app.staff("real@harbor.org", &[Role::Clinician], Scope::Organization).await;
    assert_eq!(app.browser().sign_in("real@harbor.org", PASSWORD).await.location(), Some("/mfa"));
}
