//! In real Chromium, on the demo clinic: a clinician's safety plan is not saved while a step says
//! nothing a patient could use in a crisis, and the form says which steps and why; and a
//! patient's written revocation of her husband's consent, recorded in her chart, takes him off the
//! family session to come — the chart lists what changed, the session page shows him no longer
//! taking part and refuses to add him back until a new consent is in force.
mod common;

use chrono::Duration;
use common::BrowserTest;
use openiop_app::{patients as pt, schedule as sc};
use openiop_domain::auth::Ctx;
use openiop_domain::patients::{CollateralForm, ConsentForm};
use openiop_domain::schedule::SessionForm;
use thirtyfour::prelude::*;

async fn sign_in(t: &BrowserTest, email: &str) {
    t.open("/login").await;
    t.fill("email", email).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safety_plan_is_saved_only_with_real_content_and_its_form_says_what_is_missing() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let store = t.store.as_ref();
    let org = store.organization_by_slug(&openiop_demo::demo_slug()).await.unwrap().expect("demo organization");
    let email = format!("director@{}.example.org", openiop_demo::demo_slug());
    let episode = store.open_episodes(org.id, None).await.unwrap().into_iter().next().expect("a patient in care");
    let before = store.safety_plan(org.id, episode.id).await.unwrap().map(|p| p.version);

    sign_in(&t, &email).await;
    t.open(&format!("/episodes/{}/safety-plan", episode.id)).await;
    t.expect_h1("Safety plan").await;

    // A hurried plan: a placeholder, one word, "n/a", a clinician with no crisis line, nothing.
    t.fill("warning_signs", "x").await;
    t.fill("internal_coping", "walk").await;
    t.fill("social_distraction", "Coffee with my sister Dana at the diner").await;
    t.fill("people_to_ask", "None identified yet").await;
    t.fill("professionals", "My clinician Lena").await;
    t.fill("safe_environment", "n/a").await;
    t.click("#save-safety-plan").await;

    let problems = t.text("#plan-problems").await;
    assert!(problems.contains("Not saved"), "the page says nothing was saved: {problems}");
    for step in ["1. Warning signs", "2. Internal coping", "5. Professionals", "6. Making the environment safe"] {
        assert!(problems.contains(step), "{step} is listed as missing: {problems}");
    }
    assert!(!problems.contains("3. People and social settings"), "a real entry is not listed: {problems}");
    assert!(!problems.contains("4. People I can ask"), "an honest 'none yet' is allowed here: {problems}");
    assert!(t.text("#professionals-error").await.contains("988"), "the crisis step asks for a crisis line with its number");
    assert!(t.text("#warning_signs-error").await.contains("cannot be left as none"));
    assert!(t.text("#internal_coping-error").await.contains("a few words"));
    // What was typed is kept, and the fields with problems are marked for assistive technology.
    let typed = t.driver.find(By::Id("social_distraction")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some("Coffee with my sister Dana at the diner"));
    let marked = t.driver.find(By::Id("warning_signs")).await.unwrap().attr("aria-invalid").await.unwrap();
    assert_eq!(marked.as_deref(), Some("true"));
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "safety plan form with problems: {v:?}");
    }
    assert_eq!(store.safety_plan(org.id, episode.id).await.unwrap().map(|p| p.version), before, "nothing was saved");

    // Worked out with the patient, the plan is saved as a new version.
    t.fill("warning_signs", "Not sleeping, skipping meals, staying in my room").await;
    t.fill("internal_coping", "Walk the dog around the park; breathing exercise from group").await;
    t.fill("professionals", "Clinician Lena Ortiz (973) 555-0100; 988 Suicide and Crisis Lifeline").await;
    t.fill("safe_environment", "My brother keeps the medications; no alcohol in the house").await;
    t.click("#save-safety-plan").await;
    t.expect_path(&format!("/patients/{}/outcomes", episode.patient_id)).await;
    let saved = store.safety_plan(org.id, episode.id).await.unwrap().expect("the plan is saved");
    assert_eq!(Some(saved.version), Some(before.unwrap_or(0) + 1));
    assert!(saved.section("professionals").contains("988"));
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_recorded_in_the_chart_takes_the_husband_off_the_family_session_to_come() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let store = t.store.as_ref();
    let org = store.organization_by_slug(&openiop_demo::demo_slug()).await.unwrap().expect("demo organization");
    let email = format!("director@{}.example.org", openiop_demo::demo_slug());
    let director = store.user_credentials(&email).await.unwrap().expect("the demo director").user;
    let ctx = Ctx::new(openiop_app::accounts::actor_of(director), Default::default());

    // A patient in care whose chart has no family member yet.
    let mut chosen = None;
    for e in store.open_episodes(org.id, None).await.unwrap() {
        let p = store.patient(org.id, e.patient_id).await.unwrap();
        if p.collaterals.is_empty() && e.track_id.is_some() {
            chosen = Some((e, p));
            break;
        }
    }
    let (episode, patient) = chosen.expect("a patient without family on file");
    let pid = patient.id;

    // Her husband, her consent for him to take part, and a family session three days from now.
    let husband = CollateralForm { name: "Daniel Okafor".into(), relationship: "Husband".into(), ..Default::default() };
    pt::add_collateral(&t.state, &ctx, pid, &husband).await.expect("the husband is recorded");
    let collateral = store.patient(org.id, pid).await.unwrap().collaterals.into_iter().next().expect("the husband");
    let consent_form = |signed_on: String| ConsentForm {
        discloser: org.name.clone(),
        recipients: "Daniel Okafor (husband)".into(),
        purpose: "Family involvement in treatment".into(),
        information: "Dates of family sessions and what is discussed in them".into(),
        information_amount: "Family sessions only".into(),
        expiry_event: "End of treatment".into(),
        signed_by: patient.details.display_name(),
        signed_on,
        signature_method: "paper".into(),
        revocation_explained: true,
        refusal_consequences_explained: true,
        redisclosure_notice_given: true,
        collateral_id: collateral.id.to_string(),
        ..Default::default()
    };
    let site = store.site(org.id, episode.site_id).await.unwrap();
    let today = t.state.clock().today_in(site.time_zone.0);
    let (consent, _) = pt::add_consent(&t.state, &ctx, pid, &consent_form(today.to_string())).await.expect("the consent");
    let family = store.service_types(org.id).await.unwrap().into_iter().find(|s| s.code == "family_therapy").expect("family therapy");
    let room = store.rooms(org.id).await.unwrap().into_iter().find(|r| r.site_id == episode.site_id).expect("a room");
    let day = today + Duration::days(3);
    let mut leaders: Vec<String> = episode.primary_clinician.map(|c| c.to_string()).into_iter().collect();
    leaders.extend(store.staff_profiles(org.id).await.unwrap().into_iter().map(|p| p.user_id.to_string()));
    let mut session = None;
    'find: for hour in [13u32, 12, 14, 15, 11, 16, 10, 17, 9, 8] {
        for leader in &leaders {
            let form = SessionForm {
                site_id: episode.site_id.to_string(),
                program_id: episode.program_id.to_string(),
                service_type_id: family.id.to_string(),
                date: day.to_string(),
                start: format!("{hour:02}:00"),
                room_id: room.id.to_string(),
                leader_ids: vec![leader.clone()],
                patient_ids: vec![pid.to_string()],
                topic: "Family therapy: rebuilding trust".into(),
                ..Default::default()
            };
            if let Ok(s) = sc::create_session(&t.state, &ctx, &form).await {
                session = Some(s);
                break 'find;
            }
        }
    }
    let session = session.expect("a free hour for the family session");
    sc::change_participants(&t.state, &ctx, session.id, &[], &[], Some((pid, collateral.id)), "").await.expect("he joins");

    // The director opens the session: the husband takes part.
    sign_in(&t, &email).await;
    t.open(&format!("/sessions/{}", session.id)).await;
    let listed = t.text("#family").await;
    assert!(listed.contains("Daniel Okafor (Husband)") && listed.contains("taking part"), "{listed}");

    // The patient hands in a written revocation; it is recorded in her chart.
    let row = store.consents(org.id, pid).await.unwrap().iter().position(|c| c.id == consent.id).expect("the consent") + 1;
    t.open(&format!("/patients/{pid}")).await;
    t.click(&format!("details#revoke-{row} summary")).await;
    t.fill(&format!("revoke-{row}-revoked_by"), &patient.details.display_name()).await;
    t.fill(&format!("revoke-{row}-note"), "Asked in writing that her husband no longer take part").await;
    t.click(&format!("details#revoke-{row} button[type=submit]")).await;

    // The chart shows the consent revoked and the session it took him off.
    let mut consents = String::new();
    for _ in 0..100 {
        consents = t.text("#consents").await;
        if consents.contains("Taken off") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(consents.contains("revoked"), "{consents}");
    assert!(consents.contains("Taken off 1 future session"), "{consents}");
    assert!(consents.contains(&day.format("%a %-d %b %Y").to_string()) && consents.contains("rebuilding trust"), "{consents}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "chart after the revocation: {v:?}");
    }
    let removed = store.family_removals(org.id, pid).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!((removed[0].session_id, removed[0].collateral_id), (session.id, collateral.id));

    // The session page: he no longer takes part, and adding him back is refused, saying why.
    t.open(&format!("/sessions/{}", session.id)).await;
    assert!(t.text("#family").await.contains("No family member takes part"));
    t.click(&format!("#family-member option[value='{pid}:{}']", collateral.id)).await;
    t.click("#add-family-submit").await;
    let refusal = t.text(".alert").await;
    assert!(refusal.contains("Daniel Okafor") && refusal.contains("no 42 CFR Part 2 consent in force"), "{refusal}");
    let now = store.scheduled_session(org.id, session.id).await.unwrap();
    assert!(now.family.is_empty(), "he was not added back");

    // With a new consent, signed today, he can take part again.
    pt::add_consent(&t.state, &ctx, pid, &consent_form(today.to_string())).await.expect("a new consent");
    t.open(&format!("/sessions/{}", session.id)).await;
    t.click(&format!("#family-member option[value='{pid}:{}']", collateral.id)).await;
    t.click("#add-family-submit").await;
    assert!(t.text("[role=status]").await.contains("Family member added"));
    assert!(t.text("#family").await.contains("taking part"));
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "session page with family: {v:?}");
    }
    t.finish().await;
}
