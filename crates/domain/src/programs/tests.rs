use super::*;

fn svc(code: &str, permitted: Vec<CredentialType>) -> ServiceType {
    ServiceType {
        id: ServiceTypeId::new(),
        organization_id: OrganizationId::new(),
        code: code.into(),
        name: code.replace('_', " "),
        default_minutes: 60,
        counts_toward_hours: true,
        is_group: false,
        family_allowed: false,
        billing_codes: String::new(),
        permitted,
    }
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn cred(kind: CredentialType, state: &str, verification: Verification, expires: &str) -> Credential {
    Credential {
        id: CredentialId::new(),
        user_id: UserId::new(),
        kind,
        number: "12345".into(),
        state: UsState::parse(state).expect("state"),
        board: "NJ Board of Social Work Examiners".into(),
        issued_on: d("2020-01-01"),
        expires_on: d(expires),
        verification,
        verified_by: None,
        verified_at: None,
    }
}

fn staff(name: &str, credentials: Vec<Credential>) -> StaffProfile {
    StaffProfile {
        user_id: UserId::new(),
        name: name.into(),
        discipline: "Social work".into(),
        telehealth_trained: true,
        telehealth_years: 2,
        modalities: vec![Modality::Cbt],
        availability: vec![],
        max_caseload: 20,
        supervisor_id: None,
        credentials,
    }
}

fn group() -> ServiceType {
    svc("group_therapy", vec![CredentialType::Lcsw, CredentialType::Lpc, CredentialType::LpcAssociate])
}

fn nj() -> Vec<UsState> {
    vec![UsState::parse("NJ").expect("NJ")]
}

#[test]
fn an_lcsw_with_a_verified_current_licence_leads_an_in_person_group() {
    let s = staff("Lena Cho, LCSW", vec![cred(CredentialType::Lcsw, "NJ", Verification::Verified, "2027-06-30")]);
    let g = group();
    let states = nj();
    assert!(
        check_may_lead(&s, &LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &states }, &CompactConfig::default()).is_ok()
    );
}

#[test]
fn an_expired_licence_is_refused_and_named() {
    let s = staff("Lena Cho, LCSW", vec![cred(CredentialType::Lcsw, "NJ", Verification::Verified, "2026-10-31")]);
    let g = group();
    let states = nj();
    let e = check_may_lead(&s, &LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &states }, &CompactConfig::default())
        .unwrap_err();
    assert_eq!(e.code(), "credential_expired");
    assert!(e.to_string().contains("Lena Cho") && e.to_string().contains("LCSW licence 12345"));
}

#[test]
fn an_unverified_licence_is_refused() {
    let s = staff("Sam Ortiz", vec![cred(CredentialType::Lpc, "NJ", Verification::Unverified, "2028-01-01")]);
    let g = group();
    let states = nj();
    let e = check_may_lead(&s, &LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &states }, &CompactConfig::default())
        .unwrap_err();
    assert_eq!(e.code(), "credential_unverified");
}

#[test]
fn a_nurse_practitioner_may_not_lead_group_therapy() {
    let s = staff("Nia Park, NP", vec![cred(CredentialType::Np, "NJ", Verification::Verified, "2028-01-01")]);
    let g = group();
    let states = nj();
    let e = check_may_lead(&s, &LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &states }, &CompactConfig::default())
        .unwrap_err();
    assert_eq!(e.code(), "credential_not_permitted");
    assert!(e.to_string().contains("NP"));
}

#[test]
fn a_virtual_session_with_a_patient_in_another_state_needs_a_licence_there() {
    let s = staff("Lena Cho, LCSW", vec![cred(CredentialType::Lcsw, "NJ", Verification::Verified, "2027-06-30")]);
    let g = group();
    let ny = vec![UsState::parse("NY").expect("NY")];
    let req = LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &ny };
    let e = check_may_lead(&s, &req, &CompactConfig::default()).unwrap_err();
    assert_eq!(e.code(), "license_state_mismatch");
    assert!(e.to_string().contains("NY"));
    // In-state virtual: fine.
    let states = nj();
    assert!(
        check_may_lead(&s, &LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &states }, &CompactConfig::default()).is_ok()
    );
    // A compact that both states joined grants the privilege.
    let compact = CompactConfig {
        compacts: vec![(CredentialType::Lcsw, vec![UsState::parse("NJ").expect("NJ"), UsState::parse("NY").expect("NY")])],
    };
    assert!(check_may_lead(&s, &req, &compact).is_ok());
}

#[test]
fn an_associate_leads_only_under_a_supervisor() {
    let mut s = staff("Ari Blum, LPC-Associate", vec![cred(CredentialType::LpcAssociate, "NJ", Verification::Verified, "2027-06-30")]);
    let g = group();
    let states = nj();
    let req = LeadRequest { service: &g, date: d("2026-11-30"), patient_states: &states };
    assert_eq!(check_may_lead(&s, &req, &CompactConfig::default()).unwrap_err().code(), "credential_not_permitted");
    s.supervisor_id = Some(UserId::new());
    assert!(check_may_lead(&s, &req, &CompactConfig::default()).is_ok());
}

#[test]
fn iop_hours_default_from_the_level_and_population() {
    assert_eq!(default_weekly_hours(&LevelOfCare::iop(), Population::Adult), 9.0);
    assert_eq!(default_weekly_hours(&LevelOfCare::iop(), Population::Adolescent), 6.0);
    assert_eq!(default_weekly_hours(&LevelOfCare::php(), Population::Adult), 20.0);
    assert!(LevelOfCare::parse("asam3", "2.1").is_ok());
    assert_eq!(LevelOfCare::parse("ASAM3", "9.9").unwrap_err().code(), "validation_failed");
}

#[test]
fn every_level_a_program_can_run_at_has_its_weekly_hours_and_the_others_are_refused() {
    let level = |e: &str, c: &str| LevelOfCare::parse(e, c).expect("level");
    assert_eq!(required_weekly_hours(&level("ASAM4", "2.1"), Population::Adolescent), Some(6.0));
    assert_eq!(required_weekly_hours(&level("ASAM4", "2.5"), Population::Adult), Some(20.0));
    assert_eq!(required_weekly_hours(&level("ASAM4", "2.7"), Population::Adult), Some(20.0));
    assert_eq!(required_weekly_hours(&level("ASAM3", "3.5"), Population::Adult), None);
    let form = |code: &str, hours: &str| ProgramForm {
        site_id: SiteId::new().to_string(),
        name: "Day Program".into(),
        condition_focus: "mental_health".into(),
        population: "adult".into(),
        level_edition: "ASAM4".into(),
        level_code: code.into(),
        weekly_hours: hours.into(),
        delivery_modes: vec!["in_person".into()],
        ..Default::default()
    };
    assert_eq!(NewProgram::parse(&form("2.7", "")).expect("2.7").weekly_hours, 20.0);
    assert_eq!(NewProgram::parse(&form("2.1", "12")).expect("more than the minimum").weekly_hours, 12.0);
    for (code, hours, why) in [("1.0", "", "level_not_intensive"), ("3.5", "", "level_not_intensive"), ("2.1", "5", "below_level_minimum")]
    {
        match NewProgram::parse(&form(code, hours)).unwrap_err() {
            DomainError::Validation(f) => assert_eq!(f[0].code, why, "{code} {hours}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_program_form_defaults_to_asam_2_1_and_names_every_problem() {
    let f = ProgramForm {
        site_id: SiteId::new().to_string(),
        name: "Adult Evening IOP".into(),
        condition_focus: "substance_use".into(),
        population: "adolescent".into(),
        delivery_modes: vec!["in_person".into(), "virtual".into()],
        ..Default::default()
    };
    let p = NewProgram::parse(&f).expect("valid");
    assert_eq!((p.level_of_care.code.as_str(), p.weekly_hours, p.slug.as_str()), ("2.1", 6.0, "adult-evening-iop"));
    assert_eq!((p.expected_days_min, p.expected_days_max, p.group_cap), (30, 60, 12));
    let bad = ProgramForm {
        site_id: "x".into(),
        name: "".into(),
        condition_focus: "gaming".into(),
        population: "adult".into(),
        expected_days_min: "60".into(),
        expected_days_max: "30".into(),
        weekly_hours: "-3".into(),
        ..Default::default()
    };
    match NewProgram::parse(&bad).unwrap_err() {
        DomainError::Validation(f) => {
            let names: Vec<&str> = f.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(names, ["site_id", "name", "slug", "condition_focus", "weekly_hours", "expected_days_max"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_template_session_needs_a_room_or_to_be_virtual_and_ends_the_same_day() {
    let sid = ServiceTypeId::new().to_string();
    let ok =
        TemplateForm { service_type_id: sid.clone(), weekday: "mon".into(), start: "17:30".into(), is_virtual: true, ..Default::default() };
    let t = TemplateSession::parse(&ok, Some(180)).expect("valid");
    assert_eq!((t.minutes, t.end().format("%H:%M").to_string(), t.part_of_week()), (180, "20:30".to_string(), "evening"));
    let late = TemplateForm {
        service_type_id: sid.clone(),
        weekday: "fri".into(),
        start: "23:00".into(),
        minutes: "120".into(),
        is_virtual: true,
        ..Default::default()
    };
    assert!(TemplateSession::parse(&late, None).is_err());
    let nowhere = TemplateForm { service_type_id: sid, weekday: "funday".into(), start: "25:00".into(), ..Default::default() };
    match TemplateSession::parse(&nowhere, Some(60)).unwrap_err() {
        DomainError::Validation(f) => assert_eq!(f.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["weekday", "start", "room_id"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn availability_windows_parse_from_lines() {
    let w = WeeklyWindow::parse_lines("mon 09:00-17:00\n\ntue 18:00-21:00").expect("ok");
    assert_eq!(w.len(), 2);
    assert_eq!(w[1].to_string(), "tue 18:00-21:00");
    assert!(WeeklyWindow::parse("mon 17:00-09:00").is_err());
    assert!(w[0].covers(Weekday::Mon, NaiveTime::from_hms_opt(10, 0, 0).expect("t"), NaiveTime::from_hms_opt(11, 0, 0).expect("t")));
}

#[test]
fn credentials_expiring_within_thirty_days_are_listed() {
    let c = vec![
        cred(CredentialType::Lcsw, "NJ", Verification::Verified, "2026-12-15"),
        cred(CredentialType::Lpc, "NJ", Verification::Verified, "2027-12-15"),
    ];
    assert_eq!(expiring_within(&c, d("2026-11-27"), 30).len(), 1);
    assert_eq!(expiring_within(&c, d("2026-11-27"), 400).len(), 2);
}
