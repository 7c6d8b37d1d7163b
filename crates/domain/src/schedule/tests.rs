use super::*;
use crate::patients::{DeliveryPreference, EpisodeId, LevelSpan};
use crate::programs::{ConditionFocus, CredentialId, CredentialType, LevelOfCare, RoomId, RoomKind, Verification};
use crate::tenancy::Slug;
use chrono_tz::America::New_York;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("time")
}

#[test]
fn a_three_hour_group_across_the_fall_back_night_is_still_three_hours() {
    // US daylight saving ended 2026-11-01 at 02:00 local.
    let start = local_to_utc(New_York, d("2026-10-31"), t(18, 0));
    let end = local_to_utc(New_York, d("2026-10-31"), t(21, 0));
    assert_eq!((end - start).num_minutes(), 180);
    // 18:00 EDT is 22:00 UTC before the change; 18:00 EST is 23:00 UTC after it.
    assert_eq!(start.format("%H:%M").to_string(), "22:00");
    assert_eq!(local_to_utc(New_York, d("2026-11-02"), t(18, 0)).format("%H:%M").to_string(), "23:00");
    // A session from 00:30 to 03:30 on the night itself lasts 4 hours of real time.
    let a = local_to_utc(New_York, d("2026-11-01"), t(0, 30));
    let b = local_to_utc(New_York, d("2026-11-01"), t(3, 30));
    assert_eq!((b - a).num_minutes(), 240);
    // 02:30 on spring-forward day does not exist: it becomes 03:30 EDT.
    let gap = local_to_utc(New_York, d("2026-03-08"), t(2, 30));
    assert_eq!(gap.with_timezone(&New_York).format("%H:%M").to_string(), "03:30");
}

#[test]
fn iso_weeks_parse_and_bound_in_site_time() {
    let w = Week::parse("2026-W44").expect("week");
    assert_eq!(w.monday(), d("2026-10-26"));
    let (a, b) = w.bounds(New_York);
    // The week containing the fall-back night is 7 days and one hour long.
    assert_eq!((b - a).num_hours(), 169);
    assert_eq!(Week::of(d("2026-11-01")).to_string(), "2026-W44");
    assert!(Week::parse("2026-W60").is_err() && Week::parse("nonsense").is_err());
}

fn program() -> Program {
    Program {
        id: ProgramId::new(),
        organization_id: OrganizationId::new(),
        site_id: SiteId::new(),
        name: "Adult Evening IOP".into(),
        slug: Slug::parse("adult-evening").expect("slug"),
        condition_focus: ConditionFocus::SubstanceUse,
        population: Population::Adult,
        level_of_care: LevelOfCare::iop(),
        weekly_hours: 9.0,
        expected_days_min: 30,
        expected_days_max: 60,
        delivery_modes: vec![DeliveryMode::InPerson],
        plan_review_days: 30,
        group_cap: 12,
        clinical_lead: None,
    }
}

fn episode(p: &Program, admitted: &str) -> Episode {
    Episode {
        id: EpisodeId::new(),
        organization_id: p.organization_id,
        patient_id: PatientId::new(),
        program_id: p.id,
        site_id: p.site_id,
        track_id: None,
        admitted_on: d(admitted),
        primary_clinician: None,
        status: EpisodeStatus::Active,
        diagnoses: vec![],
        levels: vec![LevelSpan {
            line: LevelLine::Clinical,
            level: LevelOfCare::iop(),
            from: d(admitted),
            to: None,
            reason: String::new(),
        }],
        reassessment_due: false,
        plan_review_due: false,
        discharge: None,
        referral_id: None,
    }
}

fn group() -> ServiceType {
    ServiceType {
        id: ServiceTypeId::new(),
        organization_id: OrganizationId::new(),
        code: "group_therapy".into(),
        name: "Group therapy".into(),
        default_minutes: 180,
        counts_toward_hours: true,
        is_group: true,
        family_allowed: false,
        billing_codes: String::new(),
        permitted: vec![CredentialType::Lcsw],
    }
}

fn session(p: &Program, svc: &ServiceType, date: &str, h: u32, patients: Vec<PatientId>) -> Session {
    Session {
        id: SessionId::new(),
        organization_id: p.organization_id,
        site_id: p.site_id,
        program_id: Some(p.id),
        track_id: None,
        template_id: None,
        service_type_id: svc.id,
        starts_at: local_to_utc(New_York, d(date), t(h, 0)),
        ends_at: local_to_utc(New_York, d(date), t(h + 3, 0)),
        local_date: d(date),
        room_id: Some(RoomId::new()),
        is_virtual: false,
        virtual_token: None,
        leaders: vec![UserId::new()],
        participants: patients,
        family: vec![],
        capacity: 12,
        topic: String::new(),
        modality: None,
        status: SessionStatus::Scheduled,
        cancel_reason: String::new(),
    }
}

fn present(s: &Session, p: PatientId, minutes: u32) -> Attendance {
    Attendance {
        session_id: s.id,
        patient_id: p,
        version: 1,
        status: if minutes > 0 { AttendanceStatus::Present } else { AttendanceStatus::AbsentUnexcused },
        minutes,
        mode: AttendanceMode::InPerson,
        recorded_by: UserId::new(),
        recorded_at: Utc.with_ymd_and_hms(2026, 11, 17, 23, 0, 0).single().expect("time"),
        note: String::new(),
        credited_by_default: false,
    }
}

#[test]
fn three_groups_attended_is_nine_hours_on_track_and_one_missed_is_below_by_three() {
    let p = program();
    let e = episode(&p, "2026-10-01");
    let g = group();
    let week = Week::parse("2026-W46").expect("week");
    let s: Vec<Session> =
        ["2026-11-09", "2026-11-11", "2026-11-12"].iter().map(|day| session(&p, &g, day, 18, vec![e.patient_id])).collect();
    let refs: Vec<&Session> = s.iter().collect();
    let all: Vec<Attendance> = s.iter().map(|x| present(x, e.patient_id, 180)).collect();
    let l = weekly_ledger(&e, &p, week, &refs, std::slice::from_ref(&g), &all.iter().collect::<Vec<_>>());
    assert_eq!((l.required_hours, l.attended_hours, l.deficit_hours, l.status), (9.0, 9.0, 0.0, LedgerStatus::OnTrack));
    let one_missed = [present(&s[0], e.patient_id, 180), present(&s[1], e.patient_id, 0), present(&s[2], e.patient_id, 180)];
    let l = weekly_ledger(&e, &p, week, &refs, std::slice::from_ref(&g), &one_missed.iter().collect::<Vec<_>>());
    assert_eq!((l.attended_hours, l.forecast_hours, l.deficit_hours, l.status), (6.0, 6.0, 3.0, LedgerStatus::Below));
    // Mid-week, a missed Wednesday with Thursday to come is already "below": only a make-up helps.
    let so_far = [present(&s[0], e.patient_id, 180), present(&s[1], e.patient_id, 0)];
    let l = weekly_ledger(&e, &p, week, &refs, std::slice::from_ref(&g), &so_far.iter().collect::<Vec<_>>());
    assert_eq!((l.attended_hours, l.forecast_hours, l.status), (3.0, 6.0, LedgerStatus::Below));
    // With a Saturday make-up booked, the week is covered but at risk: nothing more may be missed.
    let saturday = session(&p, &g, "2026-11-14", 9, vec![e.patient_id]);
    let mut with_makeup = refs.clone();
    with_makeup.push(&saturday);
    let l = weekly_ledger(&e, &p, week, &with_makeup, std::slice::from_ref(&g), &so_far.iter().collect::<Vec<_>>());
    assert_eq!((l.forecast_hours, l.status), (9.0, LedgerStatus::AtRisk));
    // Before anything happens, a full schedule is on track.
    let l = weekly_ledger(&e, &p, week, &refs, std::slice::from_ref(&g), &[]);
    assert_eq!((l.scheduled_hours, l.forecast_hours, l.status), (9.0, 9.0, LedgerStatus::OnTrack));
}

#[test]
fn required_hours_are_prorated_for_a_partial_first_week() {
    let p = program();
    let e = episode(&p, "2026-11-11"); // a Wednesday: 5 of 7 days
    let l = weekly_ledger(&e, &p, Week::parse("2026-W46").expect("w"), &[], &[group()], &[]);
    assert_eq!(l.required_hours, 6.43);
}

#[test]
fn only_sessions_within_the_episode_count_toward_it() {
    let p = program();
    // Admitted Wednesday: Monday's group (attended before admission, say in an earlier episode) does not count.
    let e = episode(&p, "2026-11-11");
    let g = group();
    let s: Vec<Session> =
        ["2026-11-09", "2026-11-11", "2026-11-12"].iter().map(|day| session(&p, &g, day, 18, vec![e.patient_id])).collect();
    let refs: Vec<&Session> = s.iter().collect();
    let all: Vec<Attendance> = s.iter().map(|x| present(x, e.patient_id, 180)).collect();
    let l = weekly_ledger(&e, &p, Week::parse("2026-W46").expect("w"), &refs, std::slice::from_ref(&g), &all.iter().collect::<Vec<_>>());
    assert_eq!((l.scheduled_hours, l.attended_hours), (6.0, 6.0));
}

#[test]
fn the_fall_back_week_counts_real_durations() {
    let p = program();
    let e = episode(&p, "2026-10-01");
    let g = group();
    let s = [session(&p, &g, "2026-10-29", 18, vec![e.patient_id]), session(&p, &g, "2026-11-02", 18, vec![e.patient_id])];
    assert!(s.iter().all(|x| x.minutes() == 180));
    let refs: Vec<&Session> = s.iter().collect();
    let att: Vec<Attendance> = s.iter().map(|x| present(x, e.patient_id, 180)).collect();
    let l = weekly_ledger(&e, &p, Week::parse("2026-W44").expect("w"), &refs, &[g], &att.iter().collect::<Vec<_>>());
    assert_eq!(l.scheduled_hours, 3.0, "only the Thursday of W44 belongs to that week");
}

fn facts(p: PatientId, pop: Population, windows: &str) -> PatientFacts {
    PatientFacts {
        patient_id: p,
        name: "Jordan Rivera".into(),
        home_state: UsState::parse("NJ").expect("NJ"),
        population: Some(pop),
        availability: WeeklyWindow::parse_lines(windows).expect("windows"),
        delivery: DeliveryPreference::Either,
        collaterals: vec![],
        consents: vec![],
        date_of_birth: match pop {
            Population::Adult => d("1990-01-01"),
            Population::Adolescent => d("2011-01-01"),
        },
        episode: None,
        exceptions: vec![],
    }
}

#[test]
fn make_ups_fit_the_patients_windows_and_open_seats() {
    let p = program();
    let g = group();
    let jordan = PatientId::new();
    let f = facts(jordan, Population::Adult, "mon 17:00-21:30\nfri 17:00-21:30\nsat 09:00-13:00");
    let friday = session(&p, &g, "2026-11-13", 18, vec![]);
    let saturday = session(&p, &g, "2026-11-14", 9, vec![]);
    let tuesday_noon = session(&p, &g, "2026-11-10", 12, vec![]);
    let mut full = session(&p, &g, "2026-11-13", 9, vec![]);
    full.participants = (0..12).map(|_| PatientId::new()).collect();
    let after = local_to_utc(New_York, d("2026-11-09"), t(22, 0));
    let c = [&friday, &saturday, &tuesday_noon, &full];
    let s = make_up_suggestions(
        &f,
        &c,
        &[],
        &Catalog { services: std::slice::from_ref(&g), programs: std::slice::from_ref(&p), rooms: &[] },
        after,
        New_York,
    );
    let ids: Vec<SessionId> = s.iter().map(|m| m.session_id).collect();
    assert_eq!(ids, vec![friday.id, saturday.id], "the noon group is during work; the full group has no seat");
    let mut adolescent = p.clone();
    adolescent.population = Population::Adolescent;
    assert!(
        make_up_suggestions(&f, &c, &[], &Catalog { services: &[g], programs: &[adolescent], rooms: &[] }, after, New_York).is_empty(),
        "never an adolescent group for an adult"
    );
}

fn lcsw(name: &str) -> StaffProfile {
    StaffProfile {
        user_id: UserId::new(),
        name: name.into(),
        discipline: String::new(),
        telehealth_trained: true,
        telehealth_years: 1,
        modalities: vec![],
        availability: vec![],
        max_caseload: 20,
        supervisor_id: None,
        credentials: vec![crate::programs::Credential {
            id: CredentialId::new(),
            user_id: UserId::new(),
            kind: CredentialType::Lcsw,
            number: "44".into(),
            state: UsState::parse("NJ").expect("NJ"),
            board: String::new(),
            issued_on: d("2020-01-01"),
            expires_on: d("2030-01-01"),
            verification: Verification::Verified,
            verified_by: None,
            verified_at: None,
        }],
    }
}

#[test]
fn double_booking_capacity_and_population_are_refused_with_their_codes() {
    let p = program();
    let g = group();
    let lena = lcsw("Lena Cho");
    let jordan = PatientId::new();
    let teen = PatientId::new();
    let room = Room {
        id: RoomId::new(),
        site_id: p.site_id,
        name: "Group Room A".into(),
        kind: RoomKind::Group,
        capacity: 3,
        notes: String::new(),
    };
    let mut s = session(&p, &g, "2026-11-09", 18, vec![jordan]);
    s.room_id = Some(room.id);
    s.leaders = vec![lena.user_id];
    let fj = facts(jordan, Population::Adult, "");
    let ft = facts(teen, Population::Adolescent, "");
    let compacts = CompactConfig::default();
    let base = |overlapping: &'static [Session]| ScheduleCheck {
        service: &g,
        room: Some(&room),
        site_state: UsState::parse("NJ").expect("NJ"),
        program: Some(&p),
        leaders: vec![&lena],
        patients: vec![&fj],
        overlapping,
        compacts: &compacts,
    };
    assert!(check_session(&s, &base(&[]), New_York).is_ok());
    // The same patient in an overlapping session elsewhere.
    let mut other = session(&p, &g, "2026-11-09", 19, vec![jordan]);
    other.room_id = Some(RoomId::new());
    let leaked: &'static [Session] = Box::leak(vec![other.clone()].into_boxed_slice());
    let e = check_session(&s, &base(leaked), New_York).unwrap_err();
    assert_eq!(e.code(), "schedule_conflict");
    assert!(e.to_string().contains(&other.id.to_string()), "names the conflicting session");
    // The room taken by another group.
    let mut same_room = session(&p, &g, "2026-11-09", 17, vec![]);
    same_room.room_id = Some(room.id);
    let leaked: &'static [Session] = Box::leak(vec![same_room].into_boxed_slice());
    assert_eq!(check_session(&s, &base(leaked), New_York).unwrap_err().code(), "schedule_conflict");
    // Capacity: the room seats 3.
    let mut crowded = s.clone();
    crowded.participants = (0..4).map(|_| PatientId::new()).collect();
    assert_eq!(check_session(&crowded, &base(&[]), New_York).unwrap_err().code(), "capacity_exceeded");
    // An adolescent in an adult group.
    let mut mixed = s.clone();
    mixed.participants.push(teen);
    let mut c = base(&[]);
    c.patients = vec![&fj, &ft];
    assert_eq!(check_session(&mixed, &c, New_York).unwrap_err().code(), "population_mismatch");
    // A leader without a permitted credential.
    let mut np = lcsw("Nia Park");
    np.credentials[0].kind = CredentialType::Np;
    let mut c = base(&[]);
    c.leaders = vec![&np];
    assert_eq!(check_session(&s, &c, New_York).unwrap_err().code(), "credential_not_permitted");
    // Virtual with a New York patient: licence state.
    let mut virt = s.clone();
    virt.is_virtual = true;
    virt.room_id = None;
    let mut fny = facts(jordan, Population::Adult, "");
    fny.home_state = UsState::parse("NY").expect("NY");
    let mut c = base(&[]);
    c.patients = vec![&fny];
    assert_eq!(check_session(&virt, &c, New_York).unwrap_err().code(), "license_state_mismatch");
}

#[test]
fn templates_recur_weekly_and_skip_closures() {
    let tpl = TemplateSession {
        id: TemplateSessionId::new(),
        service_type_id: ServiceTypeId::new(),
        weekday: Weekday::Mon,
        start: t(18, 0),
        minutes: 180,
        room_id: None,
        is_virtual: true,
        leader: None,
        topic: String::new(),
        modality: None,
    };
    let dates = occurrences(&tpl, d("2026-11-01"), d("2026-11-30"), &[d("2026-11-23")]);
    assert_eq!(dates, vec![d("2026-11-02"), d("2026-11-09"), d("2026-11-16"), d("2026-11-30")]);
}

#[test]
fn amendments_keep_history_and_the_latest_counts() {
    let p = program();
    let s = session(&p, &group(), "2026-11-09", 18, vec![PatientId::new()]);
    let pid = s.participants[0];
    let first = present(&s, pid, 0);
    let mut second = present(&s, pid, 150);
    second.version = 2;
    let all = vec![first, second];
    let cur = current_attendance(&all);
    assert_eq!((cur.len(), cur[0].minutes), (1, 150));
    let row = AttendanceRow { patient_id: pid.to_string(), status: "absent_excused".into(), minutes: "30".into(), ..Default::default() };
    assert!(Attendance::parse(&row, &s, UserId::new(), s.ends_at).is_err(), "an absence has no minutes");
    let row = AttendanceRow { patient_id: pid.to_string(), status: "late".into(), minutes: "200".into(), ..Default::default() };
    assert!(Attendance::parse(&row, &s, UserId::new(), s.ends_at).is_err(), "more than the session");
    let row = AttendanceRow { patient_id: pid.to_string(), status: "present".into(), ..Default::default() };
    assert_eq!(Attendance::parse(&row, &s, UserId::new(), s.ends_at).expect("ok").minutes, 180);
}
