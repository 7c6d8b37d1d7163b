//! In real Chromium, on the demo clinic: a clinician finds the suicide-risk flag she answers for
//! on her home page; a patient of hers answers only item 9 of a PHQ-9 at their own link and the
//! flag is raised on the incomplete answers (kept without a total); and her patient with the open
//! flag is discharged only once she records the risk's disposition on the discharge itself.
mod common;

use common::BrowserTest;
use openiop_domain::auth::Ctx;
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinician_answers_for_her_risk_flags_from_home_link_and_discharge() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let store = t.store.as_ref();
    let slug = openiop_demo::demo_slug();
    let org = store.organization_by_slug(&slug).await.unwrap().expect("demo organization");

    // The demo's open flags each have an owner; take one owned by a clinician in person.
    let open = store.open_risk_work(org.id).await.unwrap();
    assert!(!open.is_empty(), "the demo has an open risk flag");
    assert!(open.iter().all(|r| r.task.is_some()), "every open flag has its task");
    let flagged = open.iter().find(|r| r.task.as_ref().is_some_and(|t| t.owner.user.is_some())).expect("a flag owned by a person");
    let owner_id = flagged.task.as_ref().and_then(|t| t.owner.user).unwrap();
    let owner = store.user(owner_id).await.unwrap();
    let flagged_name = flagged.patient_name.clone();

    // Another patient of hers, with no open flag, gets a link for a PHQ-9.
    let episodes = store.open_episodes(org.id, None).await.unwrap();
    let quiet = episodes
        .iter()
        .find(|e| e.primary_clinician == Some(owner_id) && !open.iter().any(|r| r.flag.episode_id == e.id))
        .expect("another patient of hers without a flag");
    let quiet_name = store.patient(org.id, quiet.patient_id).await.unwrap().details.display_name();
    let ctx = Ctx::new(openiop_app::accounts::actor_of(owner.clone()), Default::default());
    let (_, token) = openiop_app::measurement::create_link(&t.state, &ctx, quiet.id, "phq9", None).await.expect("a link");

    // She signs in: the flag she answers for is on her home page.
    t.open("/login").await;
    t.fill("email", &owner.email).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
    let flags = t.text("#risk-flags").await;
    assert!(flags.contains(&flagged_name), "her home lists {flagged_name}: {flags}");
    assert!(!flags.contains(&quiet_name), "not yet {quiet_name}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "home page accessibility: {v:?}");
    }

    // The patient, at home, answers only item 9 and sends the form.
    t.driver.delete_all_cookies().await.unwrap();
    t.open(&format!("/m/{token}")).await;
    t.click("#item_9-2").await;
    t.click("#submit-measure").await;
    t.expect_h1("Thank you").await;
    let kept = store.results(org.id, quiet.patient_id).await.unwrap();
    let last = kept.iter().filter(|r| r.episode_id == quiet.id && r.instrument == "phq9").max_by_key(|r| r.recorded_at).unwrap();
    assert!(!last.score.complete && last.score.total.is_none(), "kept as incomplete, without a total");
    assert_eq!(last.responses.get("9"), Some(&2));
    let now_open = store.open_risk_work(org.id).await.unwrap();
    let raised = now_open.iter().find(|r| r.flag.episode_id == quiet.id).expect("the risk answer raised a flag");
    assert_eq!(raised.task.as_ref().and_then(|t| t.owner.user), Some(owner_id), "and she owns its task");

    // Signed in again, she sees both flags at home.
    t.open("/login").await;
    t.fill("email", &owner.email).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
    let flags = t.text("#risk-flags").await;
    assert!(flags.contains(&flagged_name) && flags.contains(&quiet_name), "both on her home page: {flags}");

    // Discharging the patient with the open flag: refused, and the form asks for the disposition.
    let patient = flagged.flag.patient_id;
    t.open(&format!("/patients/{patient}")).await;
    t.click("details#discharge summary").await;
    t.fill("discharge-appointments", "Weekly outpatient therapy with the community clinic").await;
    t.click("details#discharge button[type=submit]").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let form = t.text("details#discharge").await;
    assert!(form.to_lowercase().contains("risk flag"), "the refusal names the open flag: {form}");
    assert!(store.open_episodes(org.id, None).await.unwrap().iter().any(|e| e.id == flagged.flag.episode_id), "still admitted");

    // With the disposition written on the discharge itself, it goes through and closes the flag.
    let open = t.driver.find(By::Css("details#discharge")).await.unwrap().prop("open").await.unwrap();
    if open.as_deref() != Some("true") {
        t.click("details#discharge summary").await;
    }
    t.fill("discharge-appointments", "Weekly outpatient therapy with the community clinic").await;
    t.fill(
        "discharge-risk_disposition",
        "Assessed in person today: passive thoughts only, no plan or intent; safety plan reviewed with her sister; 988 given.",
    )
    .await;
    t.click("details#discharge button[type=submit]").await;
    let mut discharged = false;
    for _ in 0..50 {
        if !store.open_episodes(org.id, None).await.unwrap().iter().any(|e| e.id == flagged.flag.episode_id) {
            discharged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(discharged, "discharged once the disposition is recorded");
    let flags = store.risk_flags(org.id, patient).await.unwrap();
    let closed = flags.iter().find(|f| f.id == flagged.flag.id).unwrap();
    assert!(closed.cleared_at.is_some() && closed.discharge_disposition.as_deref().is_some_and(|d| d.contains("988")));
    t.finish().await;
}
