//! In real Chromium: the demo's clinical director proposes next week for the demo site, accepts
//! it, and sees the program's hours ledger fill.
mod common;

use chrono::{TimeZone, Utc};
use common::BrowserTest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_proposes_and_accepts_a_week_and_the_ledger_fills() {
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).single().unwrap();
    let Some(t) = BrowserTest::start(|c| {
        c.demo = true;
        c.clock_at(now);
    })
    .await
    else {
        return;
    };
    t.open("/login").await;
    let slug = openiop_demo::demo_slug();
    t.fill("email", &format!("director@{slug}.example.org")).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
    t.open("/optimizer").await;
    t.expect_h1("Schedule optimizer").await;
    t.fill("o-week", "2026-W50").await;
    t.click("#propose").await;
    let summary = t.text("#proposal-summary").await;
    assert!(summary.contains("session(s) proposed for 2026-W50"), "{summary}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "optimizer accessibility: {v:?}");
    }
    t.screenshot("optimizer-proposal").await;
    t.click("#accept").await;
    let msg = t.text("#optimizer-message").await;
    assert!(msg.starts_with("Accepted:"), "{msg}");

    let org = t.store.organization_by_slug(&slug).await.unwrap().unwrap();
    let program = t.store.programs(org.id).await.unwrap().remove(0);
    t.open(&format!("/programs/{}/hours?week=2026-W50", program.id)).await;
    t.expect_h1(&format!("Hours: {}", program.name)).await;
    let table = t.text("#ledger").await;
    assert!(table.lines().any(|l| l.split_whitespace().any(|w| w == "9" || w == "9.0")), "scheduled hours appear: {table}");
    t.screenshot("optimizer-ledger").await;
    t.finish().await;
}
