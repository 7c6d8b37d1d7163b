//! `openiop serve --demo` shows a living program: the Adult Evening IOP's public profile has a
//! week that meets ASAM 2.1, licensed staff, and the director sees the licences about to lapse.
use axum::http::{Method, StatusCode};
use openiop_web::demo::{DEMO_SLUG, DEMO_VIDEO_URL};
use openiop_web::testing::TestApp;
use serde_json::Value;

#[tokio::test]
async fn the_demo_shows_a_living_adult_evening_iop() {
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;

    let r = app.api(Method::GET, "/api/v1/public/programs/riverbend-adult-evening-iop", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.json();
    assert_eq!(p["name"], "Adult Evening IOP");
    assert_eq!(p["required_hours_per_week"].as_f64(), Some(9.0));
    assert_eq!((p["city"].as_str(), p["state"].as_str()), (Some("Montclair"), Some("NJ")));
    let modes: Vec<&str> = p["delivery_modes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(modes, ["In person", "Virtual"]);

    // The track: three evening groups, a weekly individual session and medication management.
    let tracks = p["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    assert_eq!(tracks[0]["name"], "Adult evening");
    let times: Vec<&str> = tracks[0]["times"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for t in ["Mon 18:00–21:00", "Wed 18:00–21:00", "Thu 18:00–21:00", "Tue 17:00–18:00", "Tue 18:00–18:30"] {
        assert!(times.contains(&t), "{t} in {times:?}");
    }
    assert!(tracks[0]["hours_per_week"].as_f64().unwrap() >= 9.0, "the template meets the 9 hours");
    assert!(p["comprehensive_care"].as_array().unwrap().iter().filter(|c| c["offered"] == true).count() >= 3);

    // Staff: several credential types, licensing boards, telehealth training.
    let by = p["staff"]["by_credential"].as_array().unwrap();
    let codes: Vec<&str> = by.iter().filter_map(|c| c["code"].as_str()).collect();
    assert!(codes.len() >= 3, "credential types: {codes:?}");
    // The program's staff are those who lead its sessions (organization-wide accounts count only there).
    for c in ["LCSW", "LPC", "NP"] {
        assert!(codes.contains(&c), "{c} in {codes:?}");
    }
    let boards = p["staff"]["boards"].as_array().unwrap();
    assert!(boards.iter().any(|b| b == "NJ State Board of Social Work Examiners"), "{boards:?}");
    // Grace Kim's New York licence is not verified yet: its board is not listed.
    assert!(!boards.iter().any(|b| b.as_str().is_some_and(|b| b.starts_with("NY"))), "{boards:?}");
    assert!(p["staff"]["telehealth_trained"].as_u64().unwrap() >= 3);

    // The other two programs are public too, with their own hours.
    let teen = app.api(Method::GET, "/api/v1/public/programs/riverbend-adolescent-after-school-iop", None, None).await.json();
    assert_eq!(teen["required_hours_per_week"].as_f64(), Some(6.0));
    assert_eq!(teen["tracks"][0]["hours_per_week"].as_f64(), Some(6.0));
    let virt = app.api(Method::GET, "/api/v1/public/programs/riverbend-virtual-morning-iop", None, None).await.json();
    assert_eq!(virt["tracks"][0]["delivery_mode"], "virtual");
    assert_eq!(virt["tracks"][0]["hours_per_week"].as_f64(), Some(9.0));

    // The director sees the two licences expiring within 60 days.
    let org = app.state.store.organization_by_slug(DEMO_SLUG).await.unwrap().unwrap();
    let users = app.state.store.users(org.id).await.unwrap();
    let director = users.iter().find(|u| u.email.as_str() == "director@demo.openiop.org").unwrap();
    let token = app.token(director).await;
    let r = app.api(Method::GET, "/api/v1/credentials/expiring?days=60", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.json();
    let list = list.as_array().unwrap();
    let found: Vec<(&str, &str, i64)> = list
        .iter()
        .map(|e| (e["staff_name"].as_str().unwrap(), e["credential"]["kind"].as_str().unwrap(), e["days_left"].as_i64().unwrap()))
        .collect();
    assert_eq!(found, [("Elena Petrova", "LPC", 45), ("Tom Reilly", "CADC", 52)]);
    let r = app.api(Method::GET, "/api/v1/credentials/expiring?days=30", Some(&token), None).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);

    // Rooms, the video link base, and one credential awaiting verification.
    assert_eq!(app.state.store.rooms(org.id).await.unwrap().len(), 5);
    assert_eq!(app.state.store.video_base_url(org.id).await.unwrap().as_deref(), Some(DEMO_VIDEO_URL));
    let staff = app.state.store.staff_profiles(org.id).await.unwrap();
    let unverified: Vec<_> = staff
        .iter()
        .flat_map(|s| s.credentials.iter())
        .filter(|c| c.verification == openiop_domain::programs::Verification::Unverified)
        .collect();
    assert_eq!(unverified.len(), 1);
    let associate = staff.iter().find(|s| s.name == "Jamal Okafor").unwrap();
    assert!(associate.supervisor_id.is_some(), "the associate works under supervision");

    // The director's home page counts them and links to the staff page.
    let mut b = app.browser();
    let r = b.sign_in("director@demo.openiop.org", openiop_web::pages::auth::DEMO_PASSWORD).await;
    assert_eq!(r.location(), Some("/"), "demo accounts skip MFA");
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    for text in ["Credentials expiring", "Within 30 days: 0 credentials", "Within 60 days: 2 credentials", "Within 90 days: 2 credentials"]
    {
        assert!(home.body.contains(text), "home shows {text:?}");
    }
    for href in ["/admin/staff", "/admin/programs", "/admin/sites"] {
        assert!(home.body.contains(&format!("href=\"{href}\"")), "home links to {href}");
    }
    // A therapist has no such card.
    let mut b = app.browser();
    b.sign_in("therapist@demo.openiop.org", openiop_web::pages::auth::DEMO_PASSWORD).await;
    let home = b.get("/").await;
    assert!(!home.body.contains("Credentials expiring") && home.body.contains("/admin/programs"));

    // Starting again with the demo flag leaves the data as it is.
    openiop_web::demo::ensure_demo(app.state.store.as_ref()).await.unwrap();
    assert_eq!(app.state.store.programs(org.id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_demo_has_patients_at_every_stage() {
    use openiop_domain::patients::{EpisodeStatus, LevelLine, ReferralStatus};
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;
    let store = app.state.store.as_ref();
    let org = store.organization_by_slug(DEMO_SLUG).await.unwrap().unwrap();
    let today = chrono::Utc::now().date_naive();

    // Referrals in every status.
    let referrals = store.referrals(org.id).await.unwrap();
    for status in
        [ReferralStatus::New, ReferralStatus::Screening, ReferralStatus::Waitlisted, ReferralStatus::Declined, ReferralStatus::Accepted]
    {
        assert!(referrals.iter().any(|r| r.status == status), "a {status:?} referral");
    }
    assert!(referrals.iter().filter(|r| r.status == ReferralStatus::Declined).all(|r| !r.status_reason.is_empty()));
    assert!(referrals.iter().filter(|r| r.from_level.as_ref().is_some_and(|l| l.code == "3.5")).count() >= 2, "residential step-downs");

    // Open episodes in the adult and adolescent programs.
    let open = store.open_episodes(org.id, None).await.unwrap();
    assert!(open.len() >= 6, "{} open episodes", open.len());
    let programs = store.programs(org.id).await.unwrap();
    for name in ["Adult Evening IOP", "Adolescent After-School IOP"] {
        let p = programs.iter().find(|p| p.name == name).unwrap();
        assert!(open.iter().any(|e| e.program_id == p.id), "open episodes in {name}");
    }
    assert!(open.iter().all(|e| !e.diagnoses.is_empty()));

    // One patient stepped up to PHP while the payer still authorizes IOP.
    let stepped = open.iter().find(|e| e.levels_differ_on(today)).expect("a stepped-up patient");
    assert_eq!(stepped.level_on(LevelLine::Clinical, today).unwrap().code, "2.5");
    assert_eq!(stepped.level_on(LevelLine::Authorized, today).unwrap().code, "2.1");

    // Consents: revoked and expired ones kept; a family-member consent in force.
    let mut statuses = Vec::new();
    let mut family_in_force = false;
    for e in &open {
        for c in store.consents(org.id, e.patient_id).await.unwrap() {
            statuses.push(c.status(today));
            family_in_force |= c.collateral_id.is_some() && c.in_force(today);
        }
    }
    assert!(statuses.contains(&"revoked") && statuses.contains(&"expired") && statuses.contains(&"in force"), "{statuses:?}");
    assert!(family_in_force);

    // Two discharges: one completed to outpatient with aftercare, one against advice; the
    // clinician can read the completed one's summary, as HTML and as PDF.
    let mut discharged = Vec::new();
    for q in ["Ruiz", "Brooks"] {
        let p = store.search_patients(org.id, q, None).await.unwrap();
        let eps = store.episodes(org.id, p[0].id).await.unwrap();
        discharged.extend(eps.into_iter().filter(|e| e.status == EpisodeStatus::Discharged));
    }
    assert_eq!(discharged.len(), 2);
    let completed = discharged.iter().find(|e| e.discharge.as_ref().unwrap().kind.code() == "completed").unwrap();
    assert_eq!(completed.discharge.as_ref().unwrap().next_level.as_ref().unwrap().code, "1");
    assert!(!completed.discharge.as_ref().unwrap().aftercare.appointments.is_empty());
    assert!(discharged.iter().any(|e| e.discharge.as_ref().unwrap().kind.code() == "against_advice"));

    let mut b = app.browser();
    b.sign_in("therapist@demo.openiop.org", openiop_web::pages::auth::DEMO_PASSWORD).await;
    let summary = b.get(&format!("/episodes/{}/discharge-summary", completed.id)).await;
    assert_eq!(summary.status, StatusCode::OK);
    assert!(summary.body.contains("Elena Ruiz") && summary.body.contains("step-down from ASAM 3.5"));
    let pdf = b.get(&format!("/episodes/{}/discharge-summary.pdf", completed.id)).await;
    assert!(pdf.body.starts_with("%PDF-1.4"));
    let chart = b.get(&format!("/patients/{}", stepped.patient_id)).await;
    assert!(chart.body.contains("Levels differ"));

    // Starting again leaves the patients as they are.
    openiop_web::demo::ensure_demo(store).await.unwrap();
    assert_eq!(store.referrals(org.id).await.unwrap().len(), referrals.len());
}
