//! The director asks the optimizer for next week at the demo site, accepts it, and the hours
//! ledger fills; when a clinician is out on Wednesday, a re-plan moves only what that forces.
use chrono::{TimeZone, Utc, Weekday};
use openiop_app::optimizer::{Unavailable, accept, propose};
use openiop_domain::auth::Ctx;
use openiop_domain::schedule::{SessionFilter, Week};
use openiop_web::testing::{TestApp, engines};

async fn demo_director(app: &TestApp) -> Ctx {
    let email = format!("director@{}.example.org", openiop_demo::demo_slug());
    let user = app.store.user_credentials(&email).await.unwrap().unwrap().user;
    Ctx::new(openiop_app::accounts::actor_of(user), Default::default())
}

async fn story(engine: &'static str) {
    // Friday 2026-11-27: plan the week of Monday 2026-11-30.
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).single().unwrap();
    let app = TestApp::with_config(engine, |c| {
        c.demo = true;
        c.clock_at(now);
    })
    .await;
    let ctx = demo_director(&app).await;
    let demo = app.store.organization_by_slug(&openiop_demo::demo_slug()).await.unwrap().unwrap();
    let site = app.store.sites(demo.id).await.unwrap()[0].clone();
    let week = Week::parse("2026-W50").unwrap();

    let p = propose(&app.state, &ctx, site.id, week, &[], false).await.unwrap();
    assert!(!p.instance.patients.is_empty() && !p.instance.clinicians.is_empty(), "{engine}: the instance comes from live data");
    assert!(!p.new_sessions.is_empty());
    let covered = p.rows.iter().filter(|r| r.4 + 1e-9 >= r.2).count();
    assert!(covered >= 1, "{engine}: patients reach their hours ({covered} of {})", p.rows.len());
    // Whoever is still short is explained in words, from the data (e.g. a virtual-only patient
    // in New York with no clinician licensed there on shift in their windows).
    for r in p.rows.iter().filter(|r| r.4 + 1e-9 < r.2) {
        let e = p.explanations.iter().find(|e| e.patient == r.0.to_string()).expect("a shortfall is explained");
        assert!(!e.reasons.is_empty());
    }
    // The same data gives the same proposal.
    let again = propose(&app.state, &ctx, site.id, week, &[], false).await.unwrap();
    assert_eq!(p.solution.sessions, again.solution.sessions);

    let (created, replaced) = accept(&app.state, &ctx, site.id, week, &[], false).await.unwrap();
    assert_eq!((created, replaced), (p.new_sessions.len(), 0));
    let (from, to) = week.bounds(site.time_zone.0);
    let before = app.store.sessions_between(demo.id, from, to, &SessionFilter { site: Some(site.id), ..Default::default() }).await.unwrap();
    assert_eq!(before.len(), created);

    // The hours ledger of a program at the site is filled by the accepted week.
    let program = app
        .store
        .programs(demo.id)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.site_id == site.id && p.population == openiop_domain::programs::Population::Adult)
        .unwrap();
    let pw = openiop_app::schedule::program_week(&app.state, &ctx, program.id, week).await.unwrap();
    assert!(pw.rows.iter().any(|r| r.2.scheduled_hours > 0.0), "{engine}: the ledger shows scheduled hours");

    // Re-plan: the busiest clinician is out on Wednesday.
    let (busiest, _) = before
        .iter()
        .filter(|s| s.local_date.format("%a").to_string() == "Wed")
        .flat_map(|s| s.leaders.iter())
        .fold(std::collections::BTreeMap::new(), |mut m, l| {
            *m.entry(*l).or_insert(0) += 1;
            m
        })
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .expect("someone leads on Wednesday");
    let out = [Unavailable { clinician: busiest, days: vec![Weekday::Wed] }];
    let r = propose(&app.state, &ctx, site.id, week, &out, true).await.unwrap();
    let affected: Vec<_> =
        before.iter().filter(|s| s.leaders.contains(&busiest) && s.local_date.format("%a").to_string() == "Wed").collect();
    assert!(!r.replaced.is_empty());
    for id in &r.replaced {
        let s = before.iter().find(|s| s.id == *id).unwrap();
        let forced = s.leaders.contains(&busiest) || s.participants.iter().any(|p| affected.iter().any(|a| a.participants.contains(p)));
        assert!(forced, "{engine}: a re-plan moves only the absent clinician's sessions and what they force");
    }
    assert!(r.kept * 2 > before.len(), "{engine}: most of the week is kept ({} of {})", r.kept, before.len());
    let (_, replaced) = accept(&app.state, &ctx, site.id, week, &out, true).await.unwrap();
    assert_eq!(replaced, r.replaced.len());
    let after = app
        .store
        .sessions_between(demo.id, from, to, &SessionFilter { site: Some(site.id), leader: Some(busiest), ..Default::default() })
        .await
        .unwrap();
    assert!(
        after.iter().filter(|s| s.is_live()).all(|s| s.local_date.format("%a").to_string() != "Wed"),
        "nothing left for the absent clinician on Wednesday"
    );
}

#[tokio::test]
async fn a_director_plans_a_week_accepts_it_and_replans_when_a_clinician_is_out() {
    for engine in engines() {
        story(engine).await;
    }
}
