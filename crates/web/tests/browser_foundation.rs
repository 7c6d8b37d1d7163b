//! In real Chromium: a therapist sets up two-step sign-in, signs in with a code, signs out;
//! an idle session ends by itself.
mod common;

use common::BrowserTest;
use openiop_app::security::totp;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::users::{Email, NewUser};

async fn add_staff(t: &BrowserTest, email: &str, password: &str) {
    let store = &t.store;
    let org = match store.organization_by_slug("harbor-light").await.unwrap() {
        Some(o) => o,
        None => store
            .create_organization(
                "Harbor Light",
                &openiop_domain::tenancy::Slug::parse("harbor-light").unwrap(),
                false,
                AuditEvent::system("test", AuditAction::Create, "organization", None),
            )
            .await
            .unwrap(),
    };
    let user = NewUser {
        organization_id: org.id,
        email: Email::parse(email).unwrap(),
        name: "Theo Therapist".into(),
        roles: vec![Role::Clinician],
        scope: Scope::Organization,
        password_hash: openiop_app::security::hash_password(password).unwrap(),
        mfa_exempt: false,
    };
    store.create_user(user, AuditEvent::system("test", AuditAction::Create, "user", None)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_therapist_enrols_mfa_signs_in_with_a_code_and_signs_out() {
    let Some(t) = BrowserTest::start(|_| {}).await else { return };
    add_staff(&t, "theo@harbor.org", "a long enough password").await;

    t.open("/login").await;
    t.expect_h1("Sign in").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "login page accessibility: {v:?}");
    }
    t.fill("email", "theo@harbor.org").await;
    t.fill("password", "a long enough password").await;
    t.enter("password").await;

    t.expect_path("/mfa").await;
    t.expect_h1("Set up two-step sign-in").await;
    t.screenshot("foundation-mfa-enrolment").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "enrolment page accessibility: {v:?}");
    }
    let secret = t.text("#totp-secret").await;
    let step = totp::step_at(t.state.now().timestamp());
    t.fill("code", &totp::code(&secret, step).unwrap()).await;
    t.enter("code").await;
    t.expect_h1("Save your recovery codes").await;
    t.click("#continue").await;

    t.expect_path("/").await;
    t.expect_h1("Welcome, Theo Therapist").await;
    t.screenshot("foundation-home").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "home page accessibility: {v:?}");
    }
    t.click(".signout button").await;
    t.expect_path("/login").await;

    // Sign in again: password, then a fresh code from the authenticator.
    t.fill("email", "theo@harbor.org").await;
    t.fill("password", "a long enough password").await;
    t.enter("password").await;
    t.expect_h1("Two-step sign-in").await;
    t.fill("code", &totp::code(&secret, step + 1).unwrap()).await;
    t.enter("code").await;
    t.expect_h1("Welcome, Theo Therapist").await;
    t.click(".signout button").await;
    t.expect_path("/login").await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends_by_itself() {
    // The one clock is stopped, and moved on instead of waiting.
    let mut clock = None;
    let Some(t) = BrowserTest::start(|c| {
        c.demo = true;
        clock = Some(c.clock_at(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 17, 15, 0, 0).single().expect("time")));
    })
    .await
    else {
        return;
    };
    let clock = clock.expect("the test's clock");
    t.open("/login").await;
    t.fill("email", &format!("director@{}.example.org", openiop_demo::demo_slug())).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
    assert!(t.text(".demo-banner").await.contains("Demo organization"));
    // Fourteen minutes without a click: still signed in.
    clock.advance(chrono::Duration::minutes(14));
    t.open("/").await;
    t.expect_path("/").await;
    // Sixteen more (the idle limit is 15 minutes): signed out.
    clock.advance(chrono::Duration::minutes(16));
    t.open("/").await;
    t.expect_path("/login").await;
    t.finish().await;
}
