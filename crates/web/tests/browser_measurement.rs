//! In real Chromium, on the demo organization: the director opens the outcomes of a patient
//! who stepped up to PHP and sees the PHQ-9 chart with its severity bands shaded and the level
//! change marked; the screenshot is kept.
mod common;

use common::BrowserTest;
use openiop_domain::measurement::care::ResultContext;
use openiop_domain::patients::LevelLine;
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_chart_shows_the_phq9_chart_with_bands() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let store = t.store.as_ref();
    let slug = openiop_demo::demo_slug();
    let org = store.organization_by_slug(&slug).await.unwrap().expect("demo organization");
    // The open episode with the most PHQ-9 scores among those that went up to PHP.
    let mut best = None;
    for e in store.open_episodes(org.id, None).await.unwrap() {
        if !e.levels.iter().any(|l| l.line == LevelLine::Clinical && l.level.code == "2.5") {
            continue;
        }
        let scores = store
            .results(org.id, e.patient_id)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.instrument == "phq9" && r.context == ResultContext::Treatment)
            .count();
        if best.as_ref().is_none_or(|(n, _)| scores > *n) {
            best = Some((scores, e.patient_id));
        }
    }
    let (scores, patient) = best.expect("a patient who went up to PHP");
    let name = store.patient(org.id, patient).await.unwrap().details.display_name();

    t.open("/login").await;
    t.fill("email", &format!("director@{slug}.example.org")).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;

    t.open(&format!("/patients/{patient}/outcomes")).await;
    t.expect_h1(&format!("Outcomes: {name}")).await;
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
    assert_eq!(chart.find_all(By::Css("circle.point")).await.unwrap().len(), scores, "every score in treatment");
    assert!(!chart.find_all(By::Css("line.level-change")).await.unwrap().is_empty(), "the step-up to PHP is marked");
    assert!(!t.text("section.outcome .status").await.is_empty(), "the change is named");
    chart.scroll_into_view().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    t.screenshot("measurement-phq9-chart").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "outcomes page accessibility: {v:?}");
    }
    t.finish().await;
}
