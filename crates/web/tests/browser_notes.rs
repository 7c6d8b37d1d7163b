//! In real Chromium, keyboard only: after Thursday's group, Lena writes the group note for eight
//! attendees on one screen (the shared section once, then each patient's own section beside
//! their objectives) and signs all eight notes with Enter.
mod common;

use chrono::{Duration, TimeZone, Utc};
use common::BrowserTest;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::notes::NoteStatus;
use openiop_domain::patients::{Admission, PatientDetails, PatientForm, parse_diagnoses};
use openiop_domain::plans::{GoalForm, InterventionForm, NewPlanVersion, ObjectiveForm, PlanForm, PlanRefs, ProblemForm, Signature};
use openiop_domain::programs::*;
use openiop_domain::schedule::{Attendance, AttendanceMode, AttendanceStatus, Session, SessionId, SessionStatus};
use openiop_domain::tenancy::{NewSite, Slug};
use openiop_domain::users::{Email, NewUser};
use thirtyfour::prelude::*;

fn sys(what: &str) -> AuditEvent {
    AuditEvent::system("test", AuditAction::Create, what, None)
}

/// Types into whatever has the keyboard focus (no element is clicked or targeted).
async fn keys(t: &BrowserTest, text: impl Into<TypingData>) {
    t.driver.active_element().await.expect("focus").send_keys(text).await.expect("type");
}

async fn tab(t: &BrowserTest) {
    keys(t, Key::Tab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinician_writes_and_signs_a_group_note_for_eight_by_keyboard() {
    // Thursday 2026-11-19, 15:00 UTC: the morning group (09:00–12:00 UTC) has ended.
    let now = Utc.with_ymd_and_hms(2026, 11, 19, 15, 0, 0).single().unwrap();
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
    let lena = store
        .create_user(
            NewUser {
                organization_id: org.id,
                email: Email::parse("lena@harbor.org").unwrap(),
                name: "Lena Cho".into(),
                roles: vec![Role::Clinician],
                scope: Scope::Organization,
                password_hash: openiop_app::security::hash_password("a long enough password").unwrap(),
                mfa_exempt: true,
            },
            sys("user"),
        )
        .await
        .unwrap();
    let form = ProgramForm {
        site_id: site.id.to_string(),
        name: "Adult IOP".into(),
        condition_focus: "substance_use".into(),
        population: "adult".into(),
        delivery_modes: vec!["in_person".into()],
        ..Default::default()
    };
    let program = store.create_program(org.id, NewProgram::parse(&form).unwrap(), sys("program")).await.unwrap();
    let services = store.service_types(org.id).await.unwrap();
    let group = services.iter().find(|s| s.code == "group_therapy").unwrap();
    let names = ["Avery Brooks", "Blake Chen", "Casey Diaz", "Drew Evans", "Emery Fox", "Finley Gray", "Harper Hill", "Jamie Ito"];
    let today = now.date_naive();
    let mut patients = Vec::new();
    for (i, n) in names.iter().enumerate() {
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
            track_id: None,
            admitted_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            primary_clinician: Some(lena.id),
            level: LevelOfCare::iop(),
            authorized_level: None,
            diagnoses: parse_diagnoses("F10.20").unwrap(),
            reason: String::new(),
        };
        let e = store.admit(org.id, p.id, a, sys("episode")).await.unwrap();
        // Avery and Blake have signed plans: their objectives appear beside their sections.
        if i < 2 {
            let plan = PlanForm {
                problems: vec![ProblemForm {
                    statement: "Daily drinking after work".into(),
                    diagnosis: "F10.20".into(),
                    dimensions: vec!["5".into()],
                    goals: vec![GoalForm {
                        patient_words: "I want my evenings back".into(),
                        objectives: vec![ObjectiveForm {
                            text: format!("Name three evening triggers and a plan for each ({first})"),
                            target_date: "2026-12-15".into(),
                            interventions: vec![InterventionForm {
                                description: "Relapse-prevention group".into(),
                                service_type_id: group.id.to_string(),
                                modality: "cbt".into(),
                                frequency: "3 groups a week".into(),
                                staff_id: lena.id.to_string(),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                reason: "initial".into(),
                planned_discharge_on: String::new(),
            };
            let refs = PlanRefs { episode: &e, service_types: &[group.id], staff: &[lena.id] };
            let v =
                store.create_plan_version(org.id, &e, NewPlanVersion::parse(&plan, &refs).unwrap(), lena.id, sys("plan")).await.unwrap();
            let sig = Signature { by: "Lena Cho".into(), user_id: Some(lena.id), at: now - Duration::days(10) };
            store.sign_plan(org.id, v.id, sig, None, sys("plan")).await.unwrap();
        }
        patients.push(p.id);
    }
    let start = Utc.with_ymd_and_hms(2026, 11, 19, 9, 0, 0).single().unwrap();
    let s = Session {
        id: SessionId::new(),
        organization_id: org.id,
        site_id: site.id,
        program_id: Some(program.id),
        track_id: None,
        template_id: None,
        service_type_id: group.id,
        starts_at: start,
        ends_at: start + Duration::minutes(180),
        local_date: today,
        room_id: None,
        is_virtual: false,
        virtual_token: None,
        leaders: vec![lena.id],
        participants: patients.clone(),
        family: vec![],
        capacity: 12,
        topic: String::new(),
        modality: None,
        status: SessionStatus::Held,
        cancel_reason: String::new(),
    };
    store.create_sessions(org.id, std::slice::from_ref(&s), sys("session")).await.unwrap();
    let present: Vec<Attendance> = patients
        .iter()
        .map(|p| Attendance {
            session_id: s.id,
            patient_id: *p,
            version: 1,
            status: AttendanceStatus::Present,
            minutes: 180,
            mode: AttendanceMode::InPerson,
            recorded_by: lena.id,
            recorded_at: now,
            note: String::new(),
            credited_by_default: false,
        })
        .collect();
    let audits: Vec<AuditEvent> = present.iter().map(|_| sys("attendance")).collect();
    store.record_attendance(org.id, &present, &audits).await.unwrap();

    // Sign in (keyboard), then the documentation home lists the group to write.
    t.open("/login").await;
    t.fill("email", "lena@harbor.org").await;
    t.fill("password", "a long enough password").await;
    t.enter("password").await;
    t.expect_path("/").await;
    t.open("/documentation").await;
    t.expect_h1("Documentation").await;
    assert!(t.text("#to-write").await.contains("8 patient(s) without a signed note"));

    t.open(&format!("/sessions/{}/notes", s.id)).await;
    t.expect_h1("Group therapy notes, Thu Nov 19").await;
    // The topic field has focus: type the shared section once.
    keys(&t, "Evening triggers and urge surfing").await;
    tab(&t).await;
    keys(&t, "Cog").await; // Modality: CBT, by typeahead.
    tab(&t).await;
    keys(&t, "Trigger mapping in pairs; guided urge-surfing practice; homework review").await;
    let sections = [
        "Named payday Fridays as her main trigger; practised urge surfing and rated the craving from 7 down to 4.",
        "Quiet at first; later described drinking alone after late shifts and chose calling his sponsor as a plan.",
        "Arrived anxious about court; used the breathing exercise and said it helped more than last week.",
        "Challenged another member respectfully; linked arguments at home to cravings for the first time.",
        "Reported five days without use; shared the grocery-store route change that avoids the liquor aisle.",
        "Left the room once when distressed, returned, and completed the trigger map with staff help.",
        "Offered feedback to peers; plans to tell his partner about the Sunday-football trigger.",
        "Said little; nodded during urge surfing. Will review the homework in individual session Monday.",
    ];
    for (i, text) in sections.iter().enumerate() {
        tab(&t).await; // participation (keep "Actively participated")
        tab(&t).await; // this patient's section
        keys(&t, *text).await;
        if i < 2 {
            tab(&t).await; // their objective
            keys(&t, " ").await;
        }
    }
    tab(&t).await; // "Sign all notes"
    let focused = t.driver.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("sign-all"), "Tab order reaches the sign button");
    t.screenshot("notes-group-note").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "group note accessibility: {v:?}");
    }
    keys(&t, Key::Enter).await;

    let mut saved = String::new();
    for _ in 0..100 {
        if let Ok(el) = t.driver.find(By::Id("saved")).await {
            saved = el.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(saved, "8 notes signed.");
    let notes = store.session_notes(org.id, &[s.id]).await.unwrap();
    assert_eq!(notes.len(), 8);
    assert!(notes.iter().all(|n| n.status() == NoteStatus::Final && !n.body.individualized.is_empty()));
    let shared = notes[0].body.shared.clone().unwrap();
    assert_eq!((shared.topic.as_str(), shared.modality), ("Evening triggers and urge surfing", Some(Modality::Cbt)));
    assert_eq!(notes.iter().filter(|n| n.objectives.len() == 1).count(), 2, "Avery and Blake cite their objective");
    t.screenshot("notes-group-note-signed").await;
    if let Some(v) = t.accessibility_violations().await {
        assert!(v.is_empty(), "signed group note accessibility: {v:?}");
    }
    t.finish().await;
}
