//! `openiop serve --demo` shows a newcomer a living program, generated (seed 1, anchored on
//! today) the first time and left alone afterwards: the public profile of a program whose tracks
//! meet ASAM 2.1 hours, staff in every role with licences about to lapse, patients at every stage
//! from referral to follow-up, plans with goals, notes, a risk flag, outcomes and this week's
//! schedule.
use axum::http::{Method, StatusCode};
use chrono::Duration;
use openiop_demo::DEMO_PASSWORD;
use openiop_demo::{demo_slug, logins};
use openiop_domain::auth::Role;
use openiop_domain::measurement::care::ResultContext;
use openiop_domain::patients::{EpisodeStatus, LevelLine, ReferralStatus};
use openiop_domain::schedule::SessionFilter;
use openiop_web::testing::{TestApp, engines};

fn email(role: &str) -> String {
    format!("{role}@{}.example.org", demo_slug())
}

async fn the_demo_shows_a_living_program(engine: &'static str) {
    let app = TestApp::with_config(engine, |c| c.demo = true).await;
    let store = app.store.as_ref();
    let org = store.organization_by_slug(&demo_slug()).await.unwrap().expect("the demo organization");
    assert!(org.is_demo);

    // The public profile: the adult program's tracks each meet the 9 hours of ASAM 2.1.
    let programs = store.programs(org.id).await.unwrap();
    assert_eq!(programs.len(), 1);
    let r = app.api(Method::GET, &format!("/api/v1/public/programs/{}", programs[0].slug), None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{engine}: {}", r.body);
    let p = r.json();
    let required = p["required_hours_per_week"].as_f64().unwrap();
    assert_eq!(required, 9.0);
    let tracks = p["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2, "{tracks:?}");
    for t in tracks {
        assert!(t["hours_per_week"].as_f64().unwrap() >= required, "{engine}: {t}");
    }
    let modes: Vec<&str> = tracks.iter().filter_map(|t| t["delivery_mode"].as_str()).collect();
    assert!(modes.contains(&"virtual"), "{modes:?}");
    assert!(!p["staff"]["by_credential"].as_array().unwrap().is_empty());

    // Staff in every role; the associate works under a supervisor.
    let users = store.users(org.id).await.unwrap();
    for role in Role::ALL {
        assert!(users.iter().any(|u| u.roles.contains(&role)), "{engine}: someone is {role:?}");
    }
    let associate = users.iter().find(|u| u.email.as_str() == email("associate")).unwrap();
    let staff = store.staff_profiles(org.id).await.unwrap();
    assert!(staff.iter().find(|s| s.user_id == associate.id).unwrap().supervisor_id.is_some());
    let unverified = staff
        .iter()
        .flat_map(|s| s.credentials.iter())
        .filter(|c| c.verification == openiop_domain::programs::Verification::Unverified)
        .count();
    assert_eq!(unverified, 1, "{engine}: one licence awaits verification");

    // The director sees the two licences lapsing within 60 days, none within 30.
    let director = users.iter().find(|u| u.email.as_str() == email("director")).unwrap();
    let token = app.token(director).await;
    let r = app.api(Method::GET, "/api/v1/credentials/expiring?days=60", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let days: Vec<i64> = r.json().as_array().unwrap().iter().map(|e| e["days_left"].as_i64().unwrap()).collect();
    assert_eq!(days, [45, 52], "{engine}");
    let r = app.api(Method::GET, "/api/v1/credentials/expiring?days=30", Some(&token), None).await;
    assert!(r.json().as_array().unwrap().is_empty());

    // The sign-in page lists one account per role; they skip the second factor.
    let mut b = app.browser();
    let login = b.get("/login").await;
    for (address, _) in logins() {
        assert!(login.body.contains(&address), "{engine}: {address} on the sign-in page");
        assert!(users.iter().any(|u| u.email.as_str() == address), "{engine}: {address} exists");
    }
    let r = b.sign_in(&email("director"), DEMO_PASSWORD).await;
    assert_eq!(r.location(), Some("/"), "demo accounts skip MFA");
    let home = b.get("/").await;
    assert!(home.body.contains("Demo organization"));
    assert!(home.body.contains("Within 60 days: 2 credentials"), "{engine}: the director's credential card");

    // The schedule: this week's sessions are there, and the hours ledger has patients.
    let now = app.state.now();
    let week = store.sessions_between(org.id, now - Duration::days(7), now + Duration::days(7), &SessionFilter::default()).await.unwrap();
    assert!(week.iter().any(|s| s.starts_at > now) && week.iter().any(|s| s.starts_at < now), "{engine}: last and next days");
    let ledger = b.get(&format!("/programs/{}/hours", programs[0].id)).await;
    assert_eq!(ledger.status, StatusCode::OK);

    // Starting again with the demo flag leaves the data as it is.
    let referrals = store.referrals(org.id).await.unwrap().len();
    let mut config = openiop_web::config::Config::new(&app.database_url);
    config.demo = true;
    let (_, again) = openiop_web::startup::build_with_store(config).await.expect("a second start");
    assert_eq!(openiop_domain::patients::PatientStore::referrals(&again, org.id).await.unwrap().len(), referrals, "{engine}");
}

#[tokio::test]
async fn the_demo_shows_a_living_program_on_every_engine() {
    for engine in engines() {
        the_demo_shows_a_living_program(engine).await;
    }
}

#[tokio::test]
async fn the_demo_has_patients_at_every_stage() {
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;
    let store = app.store.as_ref();
    let org = store.organization_by_slug(&demo_slug()).await.unwrap().unwrap();
    // The demo sites are in New Jersey.
    let today = app.state.clock().today_in(chrono_tz::America::New_York);

    // Referrals in every status.
    let referrals = store.referrals(org.id).await.unwrap();
    for status in
        [ReferralStatus::New, ReferralStatus::Screening, ReferralStatus::Waitlisted, ReferralStatus::Declined, ReferralStatus::Accepted]
    {
        assert!(referrals.iter().any(|r| r.status == status), "a {status:?} referral");
    }
    assert!(referrals.iter().filter(|r| r.status == ReferralStatus::Declined).all(|r| !r.status_reason.is_empty()));

    // One patient stepped up to PHP while the payer still authorizes IOP.
    let open = store.open_episodes(org.id, None).await.unwrap();
    assert!(open.len() >= 8, "{} open episodes", open.len());
    let stepped = open.iter().find(|e| e.levels_differ_on(today)).expect("a stepped-up patient");
    assert_eq!(stepped.level_on(LevelLine::Clinical, today).unwrap().code, "2.5");
    assert_eq!(stepped.level_on(LevelLine::Authorized, today).unwrap().code, "2.1");

    // Part 2 consents in force, revoked and expired.
    let mut statuses = Vec::new();
    let mut discharged = Vec::new();
    let mut follow_ups = Vec::new();
    for r in referrals.iter().filter_map(|r| r.patient_id) {
        for c in store.consents(org.id, r).await.unwrap() {
            statuses.push(c.status(today));
        }
        discharged.extend(store.episodes(org.id, r).await.unwrap().into_iter().filter(|e| e.status == EpisodeStatus::Discharged));
        for m in store.results(org.id, r).await.unwrap() {
            if let ResultContext::FollowUp { days } = m.context {
                follow_ups.push(days);
            }
        }
    }
    for s in ["in force", "revoked", "expired"] {
        assert!(statuses.contains(&s), "a consent {s}: {statuses:?}");
    }
    // Discharges with aftercare, and follow-ups at 30 and 90 days.
    let completed = discharged.iter().find(|e| e.discharge.as_ref().unwrap().kind.code() == "completed").expect("a completed discharge");
    assert!(!completed.discharge.as_ref().unwrap().aftercare.appointments.is_empty());
    assert!(follow_ups.contains(&30) && follow_ups.contains(&90), "{follow_ups:?}");

    // The clinician (who supervises the associate) reads a discharge summary, a plan with goals,
    // notes waiting for co-signature, and a chart with an open risk flag.
    let clinician = store.user_credentials(&email("clinician")).await.unwrap().unwrap().user;
    let mut b = app.browser();
    assert_eq!(b.sign_in(&email("clinician"), DEMO_PASSWORD).await.location(), Some("/"));
    let summary = b.get(&format!("/episodes/{}/discharge-summary", completed.id)).await;
    assert_eq!(summary.status, StatusCode::OK);
    assert!(b.get(&format!("/episodes/{}/discharge-summary.pdf", completed.id)).await.body.starts_with("%PDF-1.4"));

    let plans = store.current_plans(org.id, &open.iter().map(|e| e.id).collect::<Vec<_>>()).await.unwrap();
    assert!(plans.len() * 10 >= open.len() * 8, "most open episodes have a signed plan");
    let plan = &plans[0];
    let goal = &plan.content.problems[0].goals[0].patient_words;
    let page = b.get(&format!("/episodes/{}/plan", plan.episode_id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&goal.replace('\'', "&#x27;")) || page.body.contains(goal.as_str()), "the goal in the patient's words");

    let awaiting = store.notes_awaiting(org.id, clinician.id).await.unwrap();
    assert!(!awaiting.is_empty(), "the associate's newest notes wait for the supervisor");
    let documentation = b.get("/documentation").await;
    assert_eq!(documentation.status, StatusCode::OK);
    let note = b.get(&format!("/notes/{}", awaiting[0].id)).await;
    assert_eq!(note.status, StatusCode::OK);

    let mut open_flags = 0;
    let mut flagged = None;
    for e in &open {
        for f in store.risk_flags(org.id, e.patient_id).await.unwrap().iter().filter(|f| f.is_open()) {
            open_flags += 1;
            flagged = Some((f.patient_id, e.id));
        }
    }
    assert!((1..=2).contains(&open_flags), "{open_flags} open risk flags");
    let (patient, _) = flagged.unwrap();
    let outcomes = b.get(&format!("/patients/{patient}/outcomes")).await;
    assert_eq!(outcomes.status, StatusCode::OK);
    let chart = b.get(&format!("/patients/{}", stepped.patient_id)).await;
    assert!(chart.body.contains("Levels differ"));

    // Program outcomes for the director.
    let mut d = app.browser();
    d.sign_in(&email("director"), DEMO_PASSWORD).await;
    let r = d.get("/outcomes").await;
    assert_eq!(r.status, StatusCode::OK);
}
