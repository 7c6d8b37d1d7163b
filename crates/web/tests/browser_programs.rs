//! In real Chromium, on the demo organization: the clinical director creates a program from the
//! keyboard, adds a track and a recurring group to its week, and the public profile shows it.
mod common;

use common::BrowserTest;
use std::time::Duration;
use thirtyfour::prelude::*;

/// Picks the option of `<select id=…>` whose text starts with `label`, by clicking it (ChromeDriver
/// selects it without leaving the drop-down open).
async fn choose(t: &BrowserTest, select_id: &str, label: &str) {
    let xpath = format!("//select[@id='{select_id}']/option[starts-with(normalize-space(.), '{label}')]");
    let option = t.driver.find(By::XPath(&xpath)).await.unwrap_or_else(|e| panic!("{select_id} has no option {label:?}: {e}"));
    option.click().await.expect("choose option");
    let chosen = t.driver.find(By::Id(select_id)).await.unwrap().prop("value").await.unwrap();
    assert_eq!(chosen, option.value().await.unwrap(), "{select_id} now {label:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_creates_a_program_with_a_weekly_group_and_the_public_sees_it() {
    let Some(t) = BrowserTest::start(|c| c.demo = true).await else { return };
    let slug = openiop_demo::demo_slug();
    let store = t.store.as_ref();
    let org = store.organization_by_slug(&slug).await.unwrap().expect("the demo organization");
    let program = store.programs(org.id).await.unwrap().remove(0).name;
    let clinician = store.user_credentials(&format!("clinician@{slug}.example.org")).await.unwrap().unwrap().user.name;

    t.open("/login").await;
    t.fill("email", &format!("director@{slug}.example.org")).await;
    t.fill("password", openiop_demo::DEMO_PASSWORD).await;
    t.enter("password").await;
    t.expect_path("/").await;
    expect_text(&t, ".card h2", "Credentials expiring").await;
    expect_text(&t, ".card ul.counts", "Within 60 days: 2 credentials").await;
    assert_accessible(&t, "director home").await;
    t.screenshot("programs-director-home").await;

    // The programs page lists the demo's program and offers the new-program form.
    t.open("/admin/programs").await;
    t.expect_h1("Programs").await;
    expect_text(&t, "table.data th[scope=row]", &program).await;
    assert_accessible(&t, "programs page").await;

    t.fill("name", "Young Adult Evening IOP").await;
    t.fill("slug", "lakeside-young-adult-evening").await;
    choose(&t, "condition_focus", "Co-occurring").await;
    choose(&t, "population", "Adults").await;
    choose(&t, "level_code", "ASAM 2.1").await;
    t.click("input[name='delivery_modes[]'][value='virtual']").await;
    scroll_to(&t, "new-h").await;
    t.screenshot("programs-new-program").await;
    t.enter("name").await;

    // The program page: 9 h/week by default, no tracks yet.
    t.expect_h1("Young Adult Evening IOP").await;
    assert!(t.path().await.starts_with("/admin/programs/"));
    assert!(t.text(".lead").await.contains("9 h/week required"), "ASAM 2.1 adults: 9 hours");
    assert_accessible(&t, "new program page").await;

    t.fill("track-name", "Young adult evening").await;
    choose(&t, "track-mode", "In person").await;
    t.click("section[aria-labelledby='newtrack-h'] button[type=submit]").await;
    expect_text(&t, "section.card h2", "Young adult evening").await;

    // A recurring group: Tuesday 18:00, three hours, in Group Room B, led by a licensed therapist.
    choose(&t, "svc-1", "Group therapy").await;
    choose(&t, "day-1", "Tuesday").await;
    t.fill("min-1", "180").await;
    choose(&t, "room-1", "Group Room B").await;
    choose(&t, "lead-1", &clinician).await;
    t.fill("topic-1", "Building a recovery network").await;
    choose(&t, "mod-1", "Cognitive behavioral").await;
    scroll_to(&t, "svc-1").await;
    t.screenshot("programs-add-session").await;
    t.click("section.card form.grid-form button[type=submit]").await;
    expect_text(&t, "section.card table.data tbody", "Group therapy").await;
    let row = t.text("section.card table.data tbody tr").await;
    for part in ["tue", "18:00–21:00", "Group Room B", clinician.as_str(), "Building a recovery network"] {
        assert!(row.contains(part), "{part:?} in {row:?}");
    }
    assert!(t.text("section.card").await.contains("3 countable hours per week"));
    assert!(t.driver.find_all(By::Css("p.alert")).await.unwrap().is_empty(), "no error shown");
    assert_accessible(&t, "program page with a track").await;
    t.screenshot("programs-track").await;

    // The public profile, without signing in again: the track and its times.
    t.open("/programs/lakeside-young-adult-evening").await;
    t.expect_h1("Young Adult Evening IOP").await;
    expect_text(&t, "article.card h3", "Young adult evening").await;
    expect_text(&t, "article.card li", "Tue 18:00–21:00").await;
    let facts = t.text("dl.facts").await;
    assert!(facts.contains("In person") && facts.contains("Virtual"), "{facts}");
    assert_accessible(&t, "public profile").await;
    t.screenshot("programs-public-profile").await;

    // The organization's directory lists it next to the demo's programs.
    t.open(&format!("/directory/{slug}")).await;
    expect_text(&t, "table.compare th[scope=row]", "Young Adult Evening IOP").await;
    assert_accessible(&t, "directory").await;
    t.screenshot("programs-directory").await;
    t.finish().await;
}
