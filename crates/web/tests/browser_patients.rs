//! In real Chromium, on the demo organization: the front desk records a residential step-down
//! referral and signs out; a clinician opens it, accepts and admits it into the Adult Evening IOP
//! at ASAM 2.1 without retyping, and the chart shows both level-of-care lines.
mod common;

use common::BrowserTest;
use std::time::Duration;
use thirtyfour::prelude::*;

/// Picks the option of `<select id=…>` whose text starts with `label`.
async fn choose(t: &BrowserTest, select_id: &str, label: &str) {
    let xpath = format!("//select[@id='{select_id}']/option[starts-with(normalize-space(.), '{label}')]");
    let option = t.driver.find(By::XPath(&xpath)).await.unwrap_or_else(|e| panic!("{select_id} has no option {label:?}: {e}"));
    option.click().await.expect("choose option");
    let chosen = t.driver.find(By::Id(select_id)).await.unwrap().prop("value").await.unwrap();
    assert_eq!(chosen, option.value().await.unwrap(), "{select_id} now {label:?}");
}

/// Sets a date input (typing into one depends on the browser's locale).
async fn set_date(t: &BrowserTest, id: &str, value: &str) {
    t.driver
        .execute("document.getElementById(arguments[0]).value = arguments[1];", vec![serde_json::json!(id), serde_json::json!(value)])
        .await
        .expect("set date");
}

/// Waits (up to 10 s) for an element matching `css` whose text contains `text`.
async fn expect_text(t: &BrowserTest, css: &str, text: &str) {
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.clear();
        if let Ok(els) = t.driver.find_all(By::Css(css)).await {
            for el in els {
                let s = el.text().await.unwrap_or_default();
                if s.contains(text) {
                    return;
                }
                seen.push(s);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {css} containing {text:?}; saw {seen:?}");
}

async fn scroll_to(t: &BrowserTest, id: &str) {
    t.driver.execute("document.getElementById(arguments[0]).scrollIntoView();", vec![serde_json::json!(id)]).await.expect("scroll");
}

async fn assert_accessible(t: &BrowserTest, page: &str) {
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "{page} accessibility: {v:?}");
    }
}

async fn sign_in(t: &BrowserTest, email: &str) {
    t.open("/login").await;
    t.fill("email", email).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_desk_refers_a_residential_step_down_and_a_clinician_admits_it() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let slug = openiop_demo::demo_slug();
    let store = t.store.as_ref();
    let org = store.organization_by_slug(&slug).await.unwrap().expect("the demo organization");
    let program = store.programs(org.id).await.unwrap().remove(0).name;
    let waiting = store.referrals(org.id).await.unwrap().into_iter().find(|r| r.patient_id.is_none()).expect("a referral in the pipeline");
    let clinician = store.user_credentials(&format!("clinician@{slug}.example.org")).await.unwrap().unwrap().user.name;

    // The front desk records the referral from the residential program.
    sign_in(&t, &format!("frontdesk@{slug}.example.org")).await;
    t.click("nav a[href='/referrals']").await;
    t.expect_h1("Referrals").await;
    expect_text(&t, "table.data th[scope=row]", &waiting.patient.display_name()).await;
    assert_accessible(&t, "referrals list and form").await;
    choose(&t, "ref-program_id", &program).await;
    choose(&t, "ref-source", "Residential step-down").await;
    choose(&t, "ref-urgency", "Urgent").await;
    choose(&t, "ref-from_level_code", "ASAM 3.5").await;
    t.fill("ref-contact_name", "Carla Nunez, LCSW").await;
    t.fill("ref-contact_organization", "Willow Ridge Residential").await;
    t.fill("ref-reason", "Completing 21 days of residential care for alcohol use disorder; returning to work.").await;
    t.fill("ref-legal_first", "Jordan").await;
    t.fill("ref-legal_last", "Whitaker").await;
    t.fill("ref-pronouns", "they/them").await;
    set_date(&t, "ref-date_of_birth", "1988-03-15").await;
    t.fill("ref-phone", "973-555-0187").await;
    t.fill("ref-line1", "22 Church Street").await;
    t.fill("ref-city", "Montclair").await;
    t.fill("ref-state", "NJ").await;
    t.fill("ref-postal_code", "07042").await;
    t.fill("ref-availability", "mon 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30").await;
    scroll_to(&t, "ref").await;
    t.click("#ref button[type=submit]").await;
    t.expect_h1("Referral: Jordan Whitaker").await;
    let referral = t.path().await;
    assert!(referral.starts_with("/referrals/"), "{referral}");
    assert!(t.text("section.card").await.contains("ASAM 3.5"), "coming from residential");
    assert!(t.driver.find_all(By::Id("accept")).await.unwrap().is_empty(), "front desk does not admit");
    t.click(".signout button").await;
    t.expect_path("/login").await;

    // A clinician opens it, accepts and admits without retyping.
    sign_in(&t, &format!("clinician@{slug}.example.org")).await;
    t.open(&referral).await;
    t.expect_h1("Referral: Jordan Whitaker").await;
    assert_accessible(&t, "referral page").await;
    choose(&t, "accept-program_id", &program).await;
    choose(&t, "accept-track_id", &format!("{program} — Evening")).await;
    choose(&t, "accept-primary_clinician_id", &clinician).await;
    choose(&t, "accept-level_code", "ASAM 2.1").await;
    choose(&t, "accept-authorized_level_code", "ASAM 2.1").await;
    t.fill("accept-diagnoses", "F10.20, F41.1").await;
    scroll_to(&t, "accept").await;
    t.screenshot("patients-referral").await;
    t.click("#accept button[type=submit]").await;

    // The chart: header, and the clinical line remembering the step-down.
    t.expect_h1("Jordan Whitaker").await;
    assert!(t.path().await.starts_with("/patients/"));
    let header = t.text("#chart-header").await;
    for part in [program.as_str(), "ASAM 2.1", "Day 1"] {
        assert!(header.contains(part), "{part:?} in {header:?}");
    }
    expect_text(&t, "#line-clinical tbody tr", "step-down from ASAM 3.5").await;
    expect_text(&t, "#line-authorized tbody tr", "ASAM 2.1").await;
    expect_text(&t, "ul.flags", "Consent missing").await;
    assert_accessible(&t, "chart").await;
    t.driver.execute("window.scrollTo(0, 0);", vec![]).await.expect("scroll");
    t.screenshot("patients-chart").await;
    t.finish().await;
}

/// In Chromium, on the demo clinic: the front desk opens the patients list without typing a
/// search and narrows it to patients in care (pages of 50; the API story pages); the page
/// passes axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_desk_pages_through_the_patients_in_care() {
    let Some(t) = common::BrowserTest::start(|c| c.demo = true).await else { return };
    t.open("/login").await;
    t.fill("email", &format!("frontdesk@{}.example.org", openiop_demo::demo_slug())).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
    t.open("/patients").await;
    let caption = t.text("#patient-list caption").await;
    assert!(caption.starts_with("Patients 1–") && caption.contains(" of "), "the first page of everyone: {caption}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "patients list: {v:?}");
    }
    t.click("#status option[value='active']").await;
    t.click("#apply-filters").await;
    let mut narrowed = String::new();
    for _ in 0..100 {
        narrowed = t.text("#patient-list caption").await;
        if narrowed != caption {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(narrowed.contains(" of "), "{narrowed}");
    let statuses = t.text("#patient-list tbody").await;
    assert!(!statuses.contains("Discharged") && !statuses.contains("Not admitted"), "only patients in care: {statuses}");
    if narrowed.starts_with("Patients 1–50") {
        t.click("#next-page").await;
        let next = t.text("#patient-list caption").await;
        assert!(next.starts_with("Patients 51–"), "{next}");
    }
    t.finish().await;
}
