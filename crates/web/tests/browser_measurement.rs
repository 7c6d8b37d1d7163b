//! In real Chromium, on the demo organization: a therapist opens a patient's outcomes and sees
//! the PHQ-9 chart with its severity bands shaded and the PHP week marked; the screenshot is kept.
mod common;

use common::BrowserTest;
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_chart_shows_the_phq9_chart_with_bands() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let store = t.state.store.as_ref();
    let org = store.organization_by_slug(openiop_web::demo::DEMO_SLUG).await.unwrap().expect("demo organization");
    openiop_web::demo_measurement::ensure_demo_measurement(store, org.id).await.unwrap();
    let avery = store.search_patients(org.id, "Quinn", None).await.unwrap().into_iter().next().expect("Avery Quinn");

    t.open("/login").await;
    t.fill("email", "therapist@demo.openiop.org").await;
    t.fill("password", openiop_web::pages::auth::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;

    t.open(&format!("/patients/{}/outcomes", avery.id)).await;
    t.expect_h1("Outcomes: Avery Quinn").await;
    let chart = t.driver.find(By::Css("svg#chart-phq9")).await.expect("the PHQ-9 chart");
    let bands = chart.find_all(By::Css("rect.band")).await.unwrap();
    assert_eq!(bands.len(), 5, "minimal, mild, moderate, moderately severe, severe");
    let band_titles: Vec<String> = {
        let mut v = Vec::new();
        for b in &bands {
            v.push(b.find(By::Css("title")).await.unwrap().inner_html().await.unwrap());
        }
        v
    };
    assert!(band_titles.iter().any(|b| b == "moderately severe"), "{band_titles:?}");
    assert_eq!(chart.find_all(By::Css("circle.point")).await.unwrap().len(), 6, "six scores in treatment");
    assert!(!chart.find_all(By::Css("line.level-change")).await.unwrap().is_empty(), "the PHP week is marked");
    let status = t.text("section.outcome .status").await;
    assert_eq!(status, "Recovered", "19 → 6 is a reliable improvement out of caseness");
    chart.scroll_into_view().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    t.screenshot("measurement-phq9-chart").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "outcomes page accessibility: {v:?}");
    }
    t.finish().await;
}
