//! In real Chromium: a director generates the adult evening track's week from its template,
//! takes Monday's attendance for ten patients on one screen by keyboard, and sees the program's
//! hours ledger change.
mod common;

use chrono::{TimeZone, Utc};
use common::BrowserTest;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Ctx, Role, Scope};
use openiop_domain::patients::{Admission, PatientDetails, PatientForm, parse_diagnoses};
use openiop_domain::programs::*;
use openiop_domain::tenancy::{NewSite, Slug};
use openiop_domain::users::{Email, NewUser};
use thirtyfour::prelude::*;

fn sys(what: &str) -> AuditEvent {
    AuditEvent::system("test", AuditAction::Create, what, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_generates_a_week_takes_attendance_for_ten_and_sees_the_ledger() {
    // Monday 2026-11-16, 21:15 in New Jersey: the evening group has just ended.
    let now = Utc.with_ymd_and_hms(2026, 11, 17, 2, 15, 0).single().unwrap();
    let Some(t) = BrowserTest::start(|c| {
        c.clock_at(now);
    })
    .await
    else {
        return;
    };
    let store = &t.store;
    let org = store.create_organization("Harbor Light", &Slug::parse("harbor-light").unwrap(), false, sys("organization")).await.unwrap();
    let site = store
        .create_site(
            org.id,
            NewSite::parse("Harbor Light Newark", "1 Market St", "Newark", "NJ", "07102", "America/New_York").unwrap(),
            sys("site"),
        )
        .await
        .unwrap();
    let hash = openiop_app::security::hash_password("a long enough password").unwrap();
    let user = |email: &str, name: &str, role: Role| NewUser {
        organization_id: org.id,
        email: Email::parse(email).unwrap(),
        name: name.into(),
        roles: vec![role],
        scope: Scope::Organization,
        password_hash: hash.clone(),
        mfa_exempt: true,
    };
    let director = store.create_user(user("dana@harbor.org", "Dana Reyes", Role::ClinicalDirector), sys("user")).await.unwrap();
    let lena = store.create_user(user("lena@harbor.org", "Lena Cho", Role::Clinician), sys("user")).await.unwrap();
    let upd = StaffProfileUpdate {
        discipline: "Social work".into(),
        telehealth_trained: true,
        telehealth_years: 2,
        modalities: vec![],
        availability: vec![],
        max_caseload: 30,
        supervisor_id: None,
    };
    store.save_staff_profile(org.id, lena.id, upd, sys("staff")).await.unwrap();
    let cred = NewCredential::parse(&CredentialForm {
        kind: "LCSW".into(),
        number: "44".into(),
        state: "NJ".into(),
        board: String::new(),
        issued_on: "2020-01-01".into(),
        expires_on: "2030-01-01".into(),
    })
    .unwrap();
    let c = store.add_credential(org.id, lena.id, cred, sys("credential")).await.unwrap();
    store.verify_credential(org.id, c.id, Verification::Verified, director.id, sys("credential")).await.unwrap();
    let room = store.create_room(org.id, site.id, NewRoom::parse("Group Room A", "group", "14", "").unwrap(), sys("room")).await.unwrap();
    let form = ProgramForm {
        site_id: site.id.to_string(),
        name: "Adult Evening IOP".into(),
        condition_focus: "substance_use".into(),
        population: "adult".into(),
        delivery_modes: vec!["in_person".into()],
        ..Default::default()
    };
    let program = store.create_program(org.id, NewProgram::parse(&form).unwrap(), sys("program")).await.unwrap();
    let track = store.create_track(org.id, program.id, "Adult evening", DeliveryMode::InPerson, sys("track")).await.unwrap();
    let group = store.service_types(org.id).await.unwrap().into_iter().find(|s| s.code == "group_therapy").unwrap();
    for day in ["mon", "wed", "thu"] {
        let tf = TemplateForm {
            service_type_id: group.id.to_string(),
            weekday: day.into(),
            start: "18:00".into(),
            room_id: room.id.to_string(),
            leader_id: lena.id.to_string(),
            ..Default::default()
        };
        store.add_template_session(org.id, track.id, TemplateSession::parse(&tf, Some(180)).unwrap(), sys("template")).await.unwrap();
    }
    let today = now.date_naive();
    let names = [
        "Avery Brooks",
        "Blake Chen",
        "Casey Diaz",
        "Drew Evans",
        "Emery Fox",
        "Finley Gray",
        "Harper Hill",
        "Jamie Ito",
        "Kendall Jones",
        "Logan King",
    ];
    for n in names {
        let (first, last) = n.split_once(' ').unwrap();
        let pf = PatientForm {
            legal_first: first.into(),
            legal_last: last.into(),
            date_of_birth: "1988-05-05".into(),
            state: "NJ".into(),
            ..Default::default()
        };
        let p = store.create_patient(org.id, site.id, PatientDetails::parse(&pf, today).unwrap(), false, sys("patient")).await.unwrap();
        let a = Admission {
            program_id: program.id,
            track_id: Some(track.id),
            admitted_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            primary_clinician: Some(lena.id),
            level: LevelOfCare::iop(),
            authorized_level: None,
            diagnoses: parse_diagnoses("F10.20").unwrap(),
            reason: String::new(),
        };
        store.admit(org.id, p.id, a, sys("episode")).await.unwrap();
    }
    let _ = Ctx::new;

    // Sign in and generate W47 from the template.
    t.open("/login").await;
    t.fill("email", "dana@harbor.org").await;
    t.fill("password", "a long enough password").await;
    t.enter("password").await;
    t.expect_path("/").await;
    t.open(&format!("/schedule?week=2026-W47&track={}", track.id)).await;
    t.expect_h1("Schedule: Adult evening (Adult Evening IOP)").await;
    t.click("#generate").await;
    let status = t.text("p.notice").await;
    assert!(status.contains("3 session(s) generated"), "{status}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "schedule accessibility: {v:?}");
    }
    t.screenshot("schedule-week").await;

    // Monday's group: ten patients on one screen; everyone present but Casey, by keyboard.
    t.click(".day .session a").await;
    t.expect_h1("Group therapy, Mon Nov 16").await;
    let rows = t.driver.find_all(By::Css("table.attendance tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 10);
    let casey = t.driver.find(By::XPath("//tr[th/label[text()='Casey Diaz']]//select[starts-with(@name,'status_')]")).await.unwrap();
    casey.send_keys("Absent (n").await.unwrap();
    let save = t.driver.find(By::Id("save-attendance")).await.unwrap();
    save.send_keys(Key::Enter).await.unwrap();
    let saved = t.text("p.notice").await;
    assert!(saved.contains("Attendance saved for 10 patient(s)"), "{saved}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "attendance screen accessibility: {v:?}");
    }
    t.screenshot("schedule-attendance").await;

    // The ledger: nine on track (3 attended + 6 still scheduled), Casey below by 9 - 6.
    t.open(&format!("/programs/{}/hours?week=2026-W47", program.id)).await;
    t.expect_h1("Hours: Adult Evening IOP").await;
    let lead = t.text("p.lead").await;
    assert!(lead.contains("9 on track") && lead.contains("1 below"), "{lead}");
    let casey_row = t.driver.find(By::XPath("//table[@id='ledger']//tr[th/a[text()='Casey Diaz']]")).await.unwrap().text().await.unwrap();
    assert!(casey_row.contains("Below"), "{casey_row}");
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "ledger accessibility: {v:?}");
    }
    t.screenshot("schedule-ledger").await;
    t.finish().await;
}
