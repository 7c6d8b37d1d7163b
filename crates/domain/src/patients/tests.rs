use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn form() -> PatientForm {
    PatientForm {
        legal_first: "Jordan".into(),
        legal_last: "Rivera".into(),
        date_of_birth: "1990-04-12".into(),
        state: "NJ".into(),
        availability: "mon 18:00-21:30\nwed 18:00-21:30".into(),
        ..Default::default()
    }
}

#[test]
fn a_patient_born_in_the_future_is_refused() {
    let mut f = form();
    f.date_of_birth = "2030-01-01".into();
    match PatientDetails::parse(&f, d("2026-11-27")).unwrap_err() {
        DomainError::Validation(e) => assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("date_of_birth", "date_in_future")),
        other => panic!("{other:?}"),
    }
    let p = PatientDetails::parse(&form(), d("2026-11-27")).expect("valid");
    assert_eq!((p.age_on(d("2026-11-27")), p.availability.len(), p.delivery_preference), (36, 2, DeliveryPreference::Either));
}

#[test]
fn icd10_codes_are_checked_for_shape() {
    for ok in ["F10.20", "f33.1", "F41.1", "Z63.0", "F50.81"] {
        assert!(Icd10::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", "F1", "10.20", "U07.1", "F10.20000", "F10-20", "F10."] {
        assert!(Icd10::parse(bad).is_err(), "{bad}");
    }
    let dx = parse_diagnoses("F10.20, F41.1").expect("ok");
    assert!(dx[0].primary && !dx[1].primary);
    assert_eq!(dx[0].description, "Alcohol dependence, uncomplicated");
    assert_eq!(parse_diagnoses("F10.20 FX9.1").unwrap_err().code(), "validation_failed");
}

#[test]
fn referrals_move_forward_only() {
    use ReferralStatus as S;
    assert!(S::New.can_move_to(S::Screening));
    assert!(S::Screening.can_move_to(S::Accepted));
    assert!(!S::Accepted.can_move_to(S::Screening));
    assert!(!S::Declined.can_move_to(S::Accepted));
}

fn episode() -> Episode {
    Episode {
        id: EpisodeId::new(),
        organization_id: OrganizationId::new(),
        patient_id: PatientId::new(),
        program_id: ProgramId::new(),
        site_id: SiteId::new(),
        track_id: None,
        admitted_on: d("2026-10-01"),
        primary_clinician: None,
        status: EpisodeStatus::Active,
        diagnoses: vec![],
        levels: vec![
            LevelSpan { line: LevelLine::Clinical, level: LevelOfCare::iop(), from: d("2026-10-01"), to: None, reason: "admission".into() },
            LevelSpan { line: LevelLine::Authorized, level: LevelOfCare::iop(), from: d("2026-10-01"), to: None, reason: "payer".into() },
        ],
        reassessment_due: false,
        plan_review_due: false,
        discharge: None,
        referral_id: None,
    }
}

#[test]
fn a_discharge_before_admission_is_refused_and_a_completed_one_needs_aftercare() {
    let e = episode();
    let f = DischargeForm { date: "2026-09-01".into(), kind: "completed".into(), ..Default::default() };
    match Discharge::parse(&f, &e, d("2026-11-27")).unwrap_err() {
        DomainError::Validation(errs) => {
            let codes: Vec<&str> = errs.iter().map(|x| x.code.as_str()).collect();
            assert_eq!(codes, ["before_admission", "aftercare_required"]);
        }
        other => panic!("{other:?}"),
    }
    let ok = DischargeForm {
        date: "2026-11-20".into(),
        kind: "completed".into(),
        next_level_code: "1".into(),
        appointments: "Weekly OP with Dr. Lee".into(),
        ..Default::default()
    };
    assert_eq!(Discharge::parse(&ok, &e, d("2026-11-27")).expect("ok").next_level, Some(LevelOfCare::outpatient()));
}

#[test]
fn a_discharged_episode_refuses_changes() {
    let mut e = episode();
    e.status = EpisodeStatus::Discharged;
    let change = LevelChange { line: LevelLine::Clinical, level: LevelOfCare::php(), from: d("2026-11-01"), reason: "worse".into() };
    assert_eq!(change.check(&e).unwrap_err().code(), "episode_discharged");
}

#[test]
fn the_two_level_lines_can_differ() {
    let mut e = episode();
    e.levels[0].to = Some(d("2026-10-31"));
    e.levels.push(LevelSpan {
        line: LevelLine::Clinical,
        level: LevelOfCare::php(),
        from: d("2026-11-01"),
        to: None,
        reason: "step up".into(),
    });
    assert!(e.levels_differ_on(d("2026-11-03")));
    assert!(!e.levels_differ_on(d("2026-10-15")));
    assert_eq!(transition_kind(&LevelOfCare::iop(), &LevelOfCare::php()), TransitionKind::StepUp);
    assert_eq!(e.day_number(d("2026-10-10")), 10);
}

#[test]
fn a_family_member_joins_only_under_a_consent_in_force() {
    let mom = Collateral {
        id: CollateralId::new(),
        name: "Ana Rivera".into(),
        relationship: "mother".into(),
        phone: String::new(),
        email: String::new(),
    };
    let mut c = Consent {
        id: ConsentId::new(),
        patient_id: PatientId::new(),
        discloser: "Harbor Light".into(),
        recipients: "Ana Rivera (mother)".into(),
        purpose: "Family therapy sessions".into(),
        information: "Attendance and progress in treatment".into(),
        information_amount: "Dates of family sessions and a monthly summary".into(),
        expires_on: Some(d("2027-01-31")),
        expiry_event: String::new(),
        signed_by: "Jordan Rivera".into(),
        signed_on: d("2026-10-02"),
        signature_method: SignatureMethod::Paper,
        revocation_explained: true,
        refusal_consequences_explained: true,
        redisclosure_notice_given: true,
        collateral_id: Some(mom.id),
        revoked_on: None,
        revoked_by: String::new(),
        revocation_note: String::new(),
    };
    assert!(require_consent_for(&[c.clone()], &mom, d("2026-11-27")).is_ok());
    assert_eq!(require_consent_for(&[], &mom, d("2026-11-27")).unwrap_err().code(), "consent_required");
    assert!(require_consent_for(&[c.clone()], &mom, d("2027-02-01")).is_err(), "expired");
    c.revoked_on = Some(d("2026-11-27"));
    assert!(require_consent_for(&[c.clone()], &mom, d("2026-11-27")).is_err(), "revocation is effective at once");
    assert_eq!(c.status(d("2026-11-27")), "revoked");
}

#[test]
fn a_consent_needs_every_part_2_element() {
    let f = ConsentForm {
        recipients: "My treating providers".into(),
        signed_by: "Jordan".into(),
        signed_on: "2026-11-01".into(),
        ..Default::default()
    };
    match NewConsent::parse(&f, d("2026-11-27")).unwrap_err() {
        DomainError::Validation(e) => {
            let fields: Vec<&str> = e.iter().map(|x| x.field.as_str()).collect();
            assert_eq!(
                fields,
                [
                    "discloser",
                    "purpose",
                    "information",
                    "information_amount",
                    "signature_method",
                    "expires_on",
                    "revocation_explained",
                    "refusal_consequences_explained",
                    "redisclosure_notice_given"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    // Complete, it keeps every element as given.
    let full = ConsentForm {
        discloser: "Harbor Light".into(),
        recipients: "My treating providers".into(),
        purpose: "Treatment".into(),
        information: "Diagnoses and attendance".into(),
        information_amount: "This episode only".into(),
        expiry_event: "End of treatment".into(),
        signed_by: "Jordan".into(),
        signed_on: "2026-11-01".into(),
        signature_method: "electronic".into(),
        revocation_explained: true,
        refusal_consequences_explained: true,
        redisclosure_notice_given: true,
        ..Default::default()
    };
    let c = NewConsent::parse(&full, d("2026-11-27")).expect("complete");
    assert_eq!(
        (c.discloser.as_str(), c.information_amount.as_str(), c.signature_method),
        ("Harbor Light", "This episode only", SignatureMethod::Electronic)
    );
}

#[test]
fn the_duplicate_check_folds_case_and_accents_as_the_front_desk_types_names() {
    use super::name_key;
    assert_eq!(name_key("ÑÚÑEZ"), name_key("Núñez"));
    assert_eq!(name_key("Nunez"), name_key("Núñez"));
    assert_eq!(name_key("Zoë"), name_key("ZOE"));
    assert_eq!(name_key("Strauß"), name_key("STRAUSS"));
    assert_eq!(name_key("Mary-Jane"), name_key("mary jane"));
    assert_eq!(name_key("Nguyễn"), name_key("NGUYEN"));
    assert_ne!(name_key("Nunez"), name_key("Nuno"));
    assert_eq!(name_key("李"), "李", "letters without case stay as they are");
}
