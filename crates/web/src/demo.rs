//! The demo organization: created once by `openiop serve --demo`, clearly bannered, with staff
//! accounts that may skip MFA (nothing else may), and a living program: rooms, three programs
//! with weekly tracks, and clinicians with profiles and credentials (two of them expiring soon,
//! one not yet verified) so the director's pages have something to show; and patients at every
//! stage: referrals new to declined, open episodes (residential step-downs, one stepped up to PHP
//! while the payer still authorizes IOP), Part 2 consents in force, revoked and expired, and two
//! discharges.
use crate::pages::auth::DEMO_PASSWORD;
use crate::security::hash_password;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::{OrganizationId, ProgramId, SiteId, UserId};
use openiop_domain::patients::{
    Admission, AdmissionForm, Collateral, CollateralForm, ConsentForm, Coverage, CoverageForm, Discharge, DischargeForm, Episode,
    LevelChange, LevelLine, NewConsent, NewReferral, Patient, PatientForm, ReferralForm, ReferralStatus,
};
use openiop_domain::programs::{
    DeliveryMode, LevelOfCare, Modality, NewCredential, NewProgram, NewRoom, ProgramForm, RoomId, ServiceType, StaffProfileForm,
    StaffProfileUpdate, TemplateSession, TemplateSessionId, TrackId, Verification,
};
use openiop_domain::tenancy::{NewSite, Organization, Slug, UsState};
use openiop_domain::users::{Email, NewUser};
use openiop_domain::{DomainError, Result, Store};

pub const DEMO_SLUG: &str = "riverbend-demo";

/// The organization's video-visit base URL in the demo.
pub const DEMO_VIDEO_URL: &str = "https://video.example.org/riverbend";

/// The demo staff: (email, name, role).
const STAFF: &[(&str, &str, Role)] = &[
    ("director@demo.openiop.org", "Dana Whitfield", Role::ClinicalDirector),
    ("therapist@demo.openiop.org", "Marcus Lee", Role::Clinician),
    ("counselor@demo.openiop.org", "Elena Petrova", Role::Clinician),
    ("associate@demo.openiop.org", "Jamal Okafor", Role::Clinician),
    ("familytherapist@demo.openiop.org", "Grace Kim", Role::Clinician),
    ("addictions@demo.openiop.org", "Tom Reilly", Role::Clinician),
    ("peer@demo.openiop.org", "Luis Ortega", Role::Clinician),
    ("prescriber@demo.openiop.org", "Priya Raman", Role::Prescriber),
    ("nurse@demo.openiop.org", "Owen Brooks", Role::Nurse),
    ("frontdesk@demo.openiop.org", "Rosa Alvarez", Role::FrontDesk),
    ("billing@demo.openiop.org", "Ken Tanaka", Role::Biller),
    ("ur@demo.openiop.org", "Alicia Grant", Role::UtilizationReviewer),
    ("auditor@demo.openiop.org", "Sam Carter", Role::Auditor),
    ("admin@demo.openiop.org", "Jordan Ellis", Role::Admin),
];

pub fn logins() -> Vec<(String, String)> {
    STAFF.iter().map(|(e, _, r)| (e.to_string(), r.label().to_string())).collect()
}

/// A clinician's profile and licences. Credential: (type, number, state, board, issued days
/// ago, expires in days, verified).
struct Clinician {
    email: &'static str,
    discipline: &'static str,
    telehealth: Option<u32>,
    modalities: &'static [&'static str],
    availability: &'static str,
    caseload: u32,
    supervisor: Option<&'static str>,
    credentials: &'static [(&'static str, &'static str, &'static str, &'static str, i64, i64, bool)],
}

const NJ_SOCIAL_WORK: &str = "NJ State Board of Social Work Examiners";
const NJ_COUNSELORS: &str = "NJ Professional Counselor Examiners Committee";
const NJ_MFT: &str = "NJ State Board of Marriage and Family Therapy Examiners";
const NJ_ADDICTIONS: &str = "NJ Alcohol and Drug Counselor Committee";
const NJ_NURSING: &str = "NJ Board of Nursing";

/// The demo clinicians. Elena Petrova's LPC (45 days) and Tom Reilly's CADC (52 days) expire
/// soon; Grace Kim's New York LMFT waits for verification.
const CLINICIANS: &[Clinician] = &[
    Clinician {
        email: "therapist@demo.openiop.org",
        discipline: "Clinical social work",
        telehealth: Some(6),
        modalities: &["cbt", "mi", "relapse_prevention", "twelve_step"],
        availability: "mon 12:00-21:00\ntue 12:00-20:00\nwed 08:30-17:00\nthu 12:00-21:00",
        caseload: 18,
        supervisor: None,
        credentials: &[("LCSW", "44SC05512300", "NJ", NJ_SOCIAL_WORK, 2900, 540, true)],
    },
    Clinician {
        email: "counselor@demo.openiop.org",
        discipline: "Professional counseling",
        telehealth: Some(4),
        modalities: &["dbt", "cbt", "act", "mi"],
        availability: "tue 08:30-17:00\nwed 12:00-21:00\nfri 08:30-13:00",
        caseload: 20,
        supervisor: None,
        credentials: &[("LPC", "37PC00481900", "NJ", NJ_COUNSELORS, 1400, 45, true)],
    },
    Clinician {
        email: "associate@demo.openiop.org",
        discipline: "Professional counseling (associate)",
        telehealth: Some(1),
        modalities: &["cbt", "mi", "matrix"],
        availability: "thu 14:00-21:00\nfri 08:30-17:00",
        caseload: 12,
        supervisor: Some("therapist@demo.openiop.org"),
        credentials: &[("LPC-ASSOCIATE", "37AC00997100", "NJ", NJ_COUNSELORS, 300, 430, true)],
    },
    Clinician {
        email: "familytherapist@demo.openiop.org",
        discipline: "Marriage and family therapy",
        telehealth: Some(3),
        modalities: &["family_therapy", "dbt", "psychoeducation"],
        availability: "mon 14:00-19:00\ntue 14:00-19:00\nthu 14:00-19:00",
        caseload: 16,
        supervisor: None,
        credentials: &[
            ("LMFT", "37FT00213400", "NJ", NJ_MFT, 2100, 610, true),
            ("LMFT", "001877", "NY", "NY State Board for Mental Health Practitioners", 20, 1090, false),
        ],
    },
    Clinician {
        email: "addictions@demo.openiop.org",
        discipline: "Addiction counseling",
        telehealth: None,
        modalities: &["twelve_step", "matrix", "mi", "contingency_management", "relapse_prevention"],
        availability: "mon 14:00-21:00\ntue 14:00-21:00\nwed 14:00-21:00",
        caseload: 22,
        supervisor: None,
        credentials: &[("CADC", "37CD00354200", "NJ", NJ_ADDICTIONS, 680, 52, true)],
    },
    Clinician {
        email: "peer@demo.openiop.org",
        discipline: "Peer recovery support",
        telehealth: Some(2),
        modalities: &["twelve_step", "cra"],
        availability: "mon 16:00-21:00\nwed 16:00-21:00\nthu 16:00-21:00",
        caseload: 25,
        supervisor: None,
        credentials: &[("CPS", "CPRS-20931", "NJ", "Certification Board of New Jersey", 900, 400, true)],
    },
    Clinician {
        email: "prescriber@demo.openiop.org",
        discipline: "Psychiatric nursing (APN)",
        telehealth: Some(5),
        modalities: &["mi"],
        availability: "tue 13:00-20:00\nfri 09:00-13:00",
        caseload: 60,
        supervisor: None,
        credentials: &[("NP", "26NJ00674100", "NJ", NJ_NURSING, 3300, 700, true)],
    },
    Clinician {
        email: "nurse@demo.openiop.org",
        discipline: "Nursing",
        telehealth: Some(2),
        modalities: &["psychoeducation"],
        availability: "mon 15:00-21:00\ntue 15:00-21:00\nwed 15:00-21:00\nthu 15:00-21:00",
        caseload: 30,
        supervisor: None,
        credentials: &[("RN", "26NR15532700", "NJ", NJ_NURSING, 1900, 480, true)],
    },
];

/// One recurring session of a demo track: (service code, day, start, minutes, room index into
/// the rooms created (None: virtual), leader email, topic, modality).
type Slot = (&'static str, Weekday, &'static str, u32, Option<usize>, &'static str, &'static str, &'static str);

/// Rooms: two group rooms, then three offices.
const ROOMS: &[(&str, &str, u32, &str)] = &[
    ("Group Room A", "group", 14, "Ground floor, step-free; whiteboard and screen"),
    ("Group Room B", "group", 12, "Second floor, lift access; beanbags for the adolescent groups"),
    ("Office 1", "office", 3, ""),
    ("Office 2", "office", 3, ""),
    ("Office 3", "office", 4, "Medication room next door"),
];

/// (name, slug, focus, population, delivery modes, track name, track mode, sessions)
type DemoProgram =
    (&'static str, &'static str, &'static str, &'static str, &'static [&'static str], &'static str, &'static str, &'static [Slot]);

const PROGRAMS: &[DemoProgram] = &[
    (
        "Adult Evening IOP",
        "riverbend-adult-evening-iop",
        "substance_use",
        "adult",
        &["in_person", "virtual"],
        "Adult evening",
        "in_person",
        &[
            (
                "group_therapy",
                Weekday::Mon,
                "18:00",
                180,
                Some(0),
                "therapist@demo.openiop.org",
                "Relapse prevention and coping skills",
                "relapse_prevention",
            ),
            ("individual_therapy", Weekday::Tue, "17:00", 60, Some(2), "therapist@demo.openiop.org", "Individual session", "mi"),
            ("medication_management", Weekday::Tue, "18:00", 30, Some(4), "prescriber@demo.openiop.org", "Medication review", ""),
            ("group_therapy", Weekday::Wed, "18:00", 180, Some(0), "counselor@demo.openiop.org", "Emotion regulation skills", "dbt"),
            ("group_therapy", Weekday::Thu, "18:00", 180, Some(0), "associate@demo.openiop.org", "Matrix early recovery", "matrix"),
        ],
    ),
    (
        "Adolescent After-School IOP",
        "riverbend-adolescent-after-school-iop",
        "mental_health",
        "adolescent",
        &["in_person"],
        "Adolescent after-school",
        "in_person",
        &[
            ("group_therapy", Weekday::Mon, "15:30", 120, Some(1), "familytherapist@demo.openiop.org", "DBT skills for teens", "dbt"),
            (
                "psychoeducation_group",
                Weekday::Tue,
                "15:30",
                120,
                Some(1),
                "nurse@demo.openiop.org",
                "Sleep, mood and healthy routines",
                "psychoeducation",
            ),
            ("group_therapy", Weekday::Thu, "15:30", 60, Some(1), "familytherapist@demo.openiop.org", "Check-in and chain analysis", "dbt"),
            (
                "multi_family_group",
                Weekday::Thu,
                "16:30",
                60,
                Some(1),
                "familytherapist@demo.openiop.org",
                "Families together",
                "family_therapy",
            ),
        ],
    ),
    (
        "Virtual Morning IOP",
        "riverbend-virtual-morning-iop",
        "co_occurring",
        "adult",
        &["virtual"],
        "Virtual morning",
        "virtual",
        &[
            ("group_therapy", Weekday::Tue, "09:00", 180, None, "counselor@demo.openiop.org", "Mindfulness and distress tolerance", "dbt"),
            (
                "group_therapy",
                Weekday::Wed,
                "09:00",
                180,
                None,
                "therapist@demo.openiop.org",
                "Integrated recovery: mood and substances",
                "cbt",
            ),
            ("group_therapy", Weekday::Fri, "09:00", 180, None, "associate@demo.openiop.org", "Values and goals", "cbt"),
        ],
    ),
];

fn event(org: OrganizationId, action: AuditAction, what: &str) -> AuditEvent {
    AuditEvent::system("demo", action, what, None).in_org(org)
}

fn user_of(users: &[(&str, UserId)], email: &str) -> Result<UserId> {
    users.iter().find(|(e, _)| *e == email).map(|(_, id)| *id).ok_or_else(|| DomainError::internal("demo user missing"))
}

/// Creates the demo organization if it does not exist; returns it.
pub async fn ensure_demo(store: &dyn Store) -> Result<Organization> {
    if let Some(org) = store.organization_by_slug(DEMO_SLUG).await? {
        return Ok(org);
    }
    let slug = Slug::parse(DEMO_SLUG)?;
    let org = store
        .create_organization(
            "Riverbend Recovery (demo)",
            &slug,
            true,
            AuditEvent::system("demo", AuditAction::Create, "organization", None),
        )
        .await?;
    let site = NewSite::parse("Riverbend Main", "120 Orchard Street", "Montclair", "NJ", "07042", "America/New_York")?;
    let site = store.create_site(org.id, site, event(org.id, AuditAction::Create, "site")).await?;
    let hash = hash_password(DEMO_PASSWORD)?;
    let mut users: Vec<(&str, UserId)> = Vec::new();
    for (email, name, role) in STAFF {
        let user = NewUser {
            organization_id: org.id,
            email: Email::parse(email)?,
            name: name.to_string(),
            roles: vec![*role],
            scope: Scope::Organization,
            password_hash: hash.clone(),
            mfa_exempt: true,
        };
        let user = store.create_user(user, event(org.id, AuditAction::Create, "user")).await?;
        users.push((email, user.id));
    }
    let today = chrono::Utc::now().date_naive();
    add_staff(store, org.id, &users, today).await?;
    store.set_video_base_url(org.id, Some(DEMO_VIDEO_URL), event(org.id, AuditAction::Update, "organization")).await?;
    let mut rooms: Vec<RoomId> = Vec::new();
    for (name, kind, capacity, notes) in ROOMS {
        let room = NewRoom::parse(name, kind, &capacity.to_string(), notes)?;
        rooms.push(store.create_room(org.id, site.id, room, event(org.id, AuditAction::Create, "room")).await?.id);
    }
    let services = store.service_types(org.id).await?;
    let mut programs: Vec<(&str, ProgramId, TrackId)> = Vec::new();
    for (name, slug, focus, population, modes, track_name, track_mode, slots) in PROGRAMS {
        let form = ProgramForm {
            site_id: site.id.to_string(),
            name: name.to_string(),
            slug: slug.to_string(),
            condition_focus: focus.to_string(),
            population: population.to_string(),
            level_edition: "ASAM3".into(),
            level_code: "2.1".into(),
            delivery_modes: modes.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        };
        let program = store.create_program(org.id, NewProgram::parse(&form)?, event(org.id, AuditAction::Create, "program")).await?;
        let track = store
            .create_track(org.id, program.id, track_name, DeliveryMode::parse(track_mode)?, event(org.id, AuditAction::Create, "track"))
            .await?;
        add_slots(store, org.id, track.id, slots, &services, &rooms, &users).await?;
        programs.push((name, program.id, track.id));
    }
    add_patients(store, org.id, site.id, &programs, &users, today).await?;
    crate::demo_measurement::ensure_demo_measurement(store, org.id).await?;
    crate::demo_plans::ensure_demo_plans(store, org.id).await?;
    Ok(org)
}

async fn add_staff(store: &dyn Store, org: OrganizationId, users: &[(&str, UserId)], today: NaiveDate) -> Result<()> {
    let director = user_of(users, "director@demo.openiop.org")?;
    for c in CLINICIANS {
        let user = user_of(users, c.email)?;
        let form = StaffProfileForm {
            discipline: c.discipline.into(),
            telehealth_trained: c.telehealth.is_some(),
            telehealth_years: c.telehealth.unwrap_or(0).to_string(),
            modalities: c.modalities.iter().map(|m| m.to_string()).collect(),
            availability: c.availability.into(),
            max_caseload: c.caseload.to_string(),
            supervisor_id: match c.supervisor {
                Some(s) => user_of(users, s)?.to_string(),
                None => String::new(),
            },
        };
        store.save_staff_profile(org, user, StaffProfileUpdate::parse(&form)?, event(org, AuditAction::Update, "staff_profile")).await?;
        for (kind, number, state, board, issued_ago, expires_in, verified) in c.credentials {
            let credential = NewCredential {
                kind: openiop_domain::programs::CredentialType::parse(kind)?,
                number: number.to_string(),
                state: UsState::parse(state)?,
                board: board.to_string(),
                issued_on: today - Duration::days(*issued_ago),
                expires_on: today + Duration::days(*expires_in),
            };
            let saved = store.add_credential(org, user, credential, event(org, AuditAction::Create, "credential")).await?;
            if *verified {
                store
                    .verify_credential(org, saved.id, Verification::Verified, director, event(org, AuditAction::Update, "credential"))
                    .await?;
            }
        }
    }
    Ok(())
}

async fn add_slots(
    store: &dyn Store,
    org: OrganizationId,
    track: TrackId,
    slots: &[Slot],
    services: &[ServiceType],
    rooms: &[RoomId],
    users: &[(&str, UserId)],
) -> Result<()> {
    for (code, weekday, start, minutes, room, leader, topic, modality) in slots {
        let service = services.iter().find(|s| s.code == *code).ok_or_else(|| DomainError::internal("demo service missing"))?;
        let start = NaiveTime::parse_from_str(start, "%H:%M").map_err(|_| DomainError::internal("demo time"))?;
        let session = TemplateSession {
            id: TemplateSessionId::new(),
            service_type_id: service.id,
            weekday: *weekday,
            start,
            minutes: *minutes,
            room_id: room.and_then(|i| rooms.get(i).copied()),
            is_virtual: room.is_none(),
            leader: Some(user_of(users, leader)?),
            topic: topic.to_string(),
            modality: if modality.is_empty() { None } else { Some(Modality::parse(modality)?) },
        };
        store.add_template_session(org, track, session, event(org, AuditAction::Create, "template_session")).await?;
    }
    Ok(())
}

/// A demo patient and what happens to their referral.
struct DemoReferral {
    /// (first, last, preferred, pronouns)
    name: (&'static str, &'static str, &'static str, &'static str),
    /// (age, birth month, birth day)
    born: (i32, u32, u32),
    sex: &'static str,
    /// (phone, street, city, state, ZIP)
    home: (&'static str, &'static str, &'static str, &'static str, &'static str),
    availability: &'static str,
    delivery: &'static str,
    source: &'static str,
    /// (referring contact, organization)
    referrer: (&'static str, &'static str),
    reason: &'static str,
    urgency: &'static str,
    from_level: &'static str,
    course: Course,
}

/// What happens to a demo referral.
enum Course {
    /// Stays at this status, with a reason.
    Stays(ReferralStatus, &'static str),
    /// Accepted and admitted `days_ago` into program `program` (index) with these diagnoses.
    Admitted { program: usize, days_ago: i64, diagnoses: &'static str, clinician: &'static str },
}

const ADULT: usize = 0;
const TEEN: usize = 1;
const WEEKNIGHTS: &str = "mon 17:30-21:30\ntue 17:30-21:30\nwed 17:30-21:30\nthu 17:30-21:30";
const AFTER_SCHOOL: &str = "mon 15:15-18:30\ntue 15:15-18:30\nwed 15:15-18:30\nthu 15:15-18:30";

const REFERRALS: &[DemoReferral] = &[
    DemoReferral {
        name: ("Daniel", "Moreno", "Danny", "he/him"),
        born: (38, 3, 14),
        sex: "male",
        home: ("973-555-0142", "41 Ellison Street", "Paterson", "NJ", "07505"),
        availability: WEEKNIGHTS,
        delivery: "in_person",
        source: "residential_step_down",
        referrer: ("Carla Nunez, LCSW", "Willow Ridge Residential"),
        reason: "Completing 28 days of residential treatment for alcohol use disorder; stepping down to IOP while returning to work.",
        urgency: "urgent",
        from_level: "3.5",
        course: Course::Admitted { program: ADULT, days_ago: 24, diagnoses: "F10.20, F32.1", clinician: "therapist@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Keisha", "Williams", "", "she/her"),
        born: (45, 9, 2),
        sex: "female",
        home: ("862-555-0177", "18 Lyons Avenue, Apt 3", "Newark", "NJ", "07112"),
        availability: "mon 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30\nsat 09:00-13:00",
        delivery: "either",
        source: "residential_step_down",
        referrer: ("Paul Greer, CADC", "Seabrook House Residential"),
        reason: "Opioid use disorder on buprenorphine; completed residential stay, needs a structured evening program near home.",
        urgency: "urgent",
        from_level: "3.5",
        course: Course::Admitted { program: ADULT, days_ago: 12, diagnoses: "F11.20", clinician: "addictions@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Brian", "O'Connor", "", "he/him"),
        born: (33, 11, 27),
        sex: "male",
        home: ("201-555-0116", "7 Clifton Avenue", "Clifton", "NJ", "07011"),
        availability: "mon 18:00-21:30\ntue 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30\nfri 09:00-17:00",
        delivery: "in_person",
        source: "self",
        referrer: ("", ""),
        reason: "Cocaine use with panic attacks; asking for evening treatment around a warehouse day shift.",
        urgency: "routine",
        from_level: "",
        course: Course::Admitted { program: ADULT, days_ago: 30, diagnoses: "F14.20, F41.1", clinician: "therapist@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Priya", "Shah", "", "she/her"),
        born: (36, 6, 8),
        sex: "female",
        home: ("551-555-0190", "250 Newark Avenue, Unit 12", "Jersey City", "NJ", "07302"),
        availability: "mon 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30",
        delivery: "either",
        source: "primary_care",
        referrer: ("Dr. Helen Cho", "Grove Street Family Medicine"),
        reason: "Alcohol dependence with recurrent depression; PHQ-9 of 16 at primary care.",
        urgency: "routine",
        from_level: "",
        course: Course::Admitted { program: ADULT, days_ago: 20, diagnoses: "F10.20, F33.1", clinician: "counselor@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Marcus", "Johnson", "", "he/him"),
        born: (50, 1, 19),
        sex: "male",
        home: ("914-555-0123", "88 Palisade Avenue", "Yonkers", "NY", "10701"),
        availability: "mon 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30",
        delivery: "virtual",
        source: "employer",
        referrer: ("Janet Ruiz", "Metro Transit EAP"),
        reason: "Cannabis dependence after a positive workplace test; the EAP requires an IOP.",
        urgency: "routine",
        from_level: "",
        course: Course::Admitted { program: ADULT, days_ago: 18, diagnoses: "F12.20", clinician: "associate@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Elena", "Ruiz", "", "she/her"),
        born: (42, 4, 30),
        sex: "female",
        home: ("973-555-0168", "12 Valley Road", "Montclair", "NJ", "07042"),
        availability: WEEKNIGHTS,
        delivery: "in_person",
        source: "residential_step_down",
        referrer: ("Carla Nunez, LCSW", "Willow Ridge Residential"),
        reason: "Alcohol dependence, early remission after residential care.",
        urgency: "routine",
        from_level: "3.5",
        course: Course::Admitted { program: ADULT, days_ago: 70, diagnoses: "F10.21, F41.1", clinician: "therapist@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Tyler", "Brooks", "Ty", "he/him"),
        born: (29, 8, 5),
        sex: "male",
        home: ("973-555-0105", "301 Broad Street", "Bloomfield", "NJ", "07003"),
        availability: "mon 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30",
        delivery: "in_person",
        source: "court",
        referrer: ("Officer Dana Pike", "Essex County Drug Court"),
        reason: "Opioid use disorder; court-mandated IOP as a condition of probation.",
        urgency: "routine",
        from_level: "",
        course: Course::Admitted { program: ADULT, days_ago: 40, diagnoses: "F11.20", clinician: "addictions@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Maya", "Chen", "", "she/her"),
        born: (16, 2, 11),
        sex: "female",
        home: ("973-555-0131", "5 Upper Mountain Avenue", "Montclair", "NJ", "07043"),
        availability: AFTER_SCHOOL,
        delivery: "in_person",
        source: "family",
        referrer: ("Lin Chen (mother)", ""),
        reason: "Depression and anxiety with school refusal since January; weekly outpatient therapy is not enough.",
        urgency: "urgent",
        from_level: "",
        course: Course::Admitted { program: TEEN, days_ago: 14, diagnoses: "F32.1, F41.1", clinician: "familytherapist@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Jayden", "Rivera", "", "he/him"),
        born: (17, 10, 22),
        sex: "male",
        home: ("973-555-0158", "64 Watsessing Avenue", "Bloomfield", "NJ", "07003"),
        availability: "mon 15:00-19:00\ntue 15:00-19:00\nthu 15:00-19:00",
        delivery: "in_person",
        source: "emergency_department",
        referrer: ("Dr. Omar Haddad", "Mountainside Hospital ED"),
        reason: "Post-traumatic stress after a car crash; seen twice in the ED for panic.",
        urgency: "urgent",
        from_level: "",
        course: Course::Admitted { program: TEEN, days_ago: 9, diagnoses: "F43.10", clinician: "familytherapist@demo.openiop.org" },
    },
    DemoReferral {
        name: ("Aaliyah", "Thompson", "", "she/her"),
        born: (32, 12, 3),
        sex: "female",
        home: ("862-555-0149", "120 Clinton Avenue", "Newark", "NJ", "07108"),
        availability: "tue 18:00-21:30\nwed 18:00-21:30\nthu 18:00-21:30",
        delivery: "either",
        source: "residential_step_down",
        referrer: ("Paul Greer, CADC", "Seabrook House Residential"),
        reason: "Stimulant use disorder; residential discharge planned for next week.",
        urgency: "urgent",
        from_level: "3.5",
        course: Course::Stays(ReferralStatus::New, ""),
    },
    DemoReferral {
        name: ("Kevin", "Park", "", "he/him"),
        born: (40, 5, 17),
        sex: "male",
        home: ("201-555-0184", "2020 Lemoine Avenue", "Fort Lee", "NJ", "07024"),
        availability: "mon 19:00-21:30\ntue 19:00-21:30\nthu 19:00-21:30",
        delivery: "virtual",
        source: "self",
        referrer: ("", ""),
        reason: "Drinking has increased since a divorce; wants virtual evening sessions.",
        urgency: "routine",
        from_level: "",
        course: Course::Stays(ReferralStatus::Screening, "Screening call booked for Thursday"),
    },
    DemoReferral {
        name: ("Sophie", "Laurent", "", "she/her"),
        born: (15, 7, 9),
        sex: "female",
        home: ("973-555-0112", "33 Ridgewood Avenue", "Glen Ridge", "NJ", "07028"),
        availability: AFTER_SCHOOL,
        delivery: "in_person",
        source: "primary_care",
        referrer: ("Dr. Ana Lopes", "Glen Ridge Pediatrics"),
        reason: "Restrictive eating and low mood; medically stable per her pediatrician.",
        urgency: "routine",
        from_level: "",
        course: Course::Stays(ReferralStatus::Waitlisted, "Adolescent group at capacity until the next cohort starts"),
    },
    DemoReferral {
        name: ("Robert", "Hughes", "Bob", "he/him"),
        born: (58, 6, 1),
        sex: "male",
        home: ("718-555-0163", "95 Hylan Boulevard", "Staten Island", "NY", "10305"),
        availability: "mon 18:00-21:30\nwed 18:00-21:30",
        delivery: "in_person",
        source: "emergency_department",
        referrer: ("Dr. Sara Klein", "Richmond University Medical Center"),
        reason: "Heavy daily drinking with a history of withdrawal seizures.",
        urgency: "emergent",
        from_level: "",
        course: Course::Stays(
            ReferralStatus::Declined,
            "Needs medically monitored withdrawal first (ASAM 3.7); referred to inpatient detox, may be referred again after",
        ),
    },
];

fn person_form(p: &DemoReferral, today: NaiveDate) -> PatientForm {
    let (first, last, preferred, pronouns) = p.name;
    let (age, month, day) = p.born;
    let (phone, line1, city, state, zip) = p.home;
    let (sex, availability, pref) = (p.sex, p.availability, p.delivery);
    let dob = NaiveDate::from_ymd_opt(today.year() - age, month, day).unwrap_or(today - Duration::days(365 * i64::from(age)));
    let email = format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase().replace('\'', ""));
    PatientForm {
        legal_first: first.into(),
        legal_last: last.into(),
        preferred_name: preferred.into(),
        pronouns: pronouns.into(),
        date_of_birth: dob.to_string(),
        sex: sex.into(),
        phone: phone.into(),
        email,
        line1: line1.into(),
        city: city.into(),
        state: state.into(),
        postal_code: zip.into(),
        preferred_language: "English".into(),
        availability: availability.into(),
        delivery_preference: pref.into(),
        ..Default::default()
    }
}

/// A Part 2 consent for treatment, payment and operations (or for one family member).
fn consent(signed_by: &str, signed_on: NaiveDate, expires_on: Option<NaiveDate>, family: Option<(&Collateral, &str)>) -> ConsentForm {
    let (recipients, purpose, information, collateral_id) = match family {
        Some((c, what)) => (
            format!("{} ({}), to take part in family sessions", c.name, c.relationship),
            "Family involvement in treatment".to_string(),
            what.to_string(),
            c.id.to_string(),
        ),
        None => (
            "My treating providers, health plans, third-party payers, and people helping to operate this program".to_string(),
            "Treatment, payment and health care operations".to_string(),
            "Diagnosis, attendance, level of care, treatment plan and progress, discharge summary".to_string(),
            String::new(),
        ),
    };
    ConsentForm {
        recipients,
        purpose,
        information,
        expires_on: expires_on.map(|d| d.to_string()).unwrap_or_default(),
        expiry_event: if expires_on.is_none() { "One year after discharge".into() } else { String::new() },
        signed_by: signed_by.into(),
        signed_on: signed_on.to_string(),
        refusal_consequences_explained: true,
        redisclosure_notice_given: true,
        collateral_id,
    }
}

async fn add_patients(
    store: &dyn Store,
    org: OrganizationId,
    site: SiteId,
    programs: &[(&str, ProgramId, TrackId)],
    users: &[(&str, UserId)],
    today: NaiveDate,
) -> Result<()> {
    let ev = |action: AuditAction, what: &str| event(org, action, what);
    for person in REFERRALS {
        let DemoReferral { source, referrer: (contact, contact_org), reason, urgency, from_level, course, .. } = person;
        let program = match course {
            Course::Admitted { program, .. } => programs.get(*program).map(|p| p.1.to_string()).unwrap_or_default(),
            Course::Stays(..) => {
                let teen = person.born.0 < 18;
                programs.get(if teen { TEEN } else { ADULT }).map(|p| p.1.to_string()).unwrap_or_default()
            }
        };
        let form = ReferralForm {
            site_id: site.to_string(),
            program_id: program,
            source: source.to_string(),
            contact_name: contact.to_string(),
            contact_organization: contact_org.to_string(),
            contact_phone: String::new(),
            reason: reason.to_string(),
            urgency: urgency.to_string(),
            from_level_edition: if from_level.is_empty() { String::new() } else { "ASAM3".into() },
            from_level_code: from_level.to_string(),
            patient: person_form(person, today),
        };
        let referral = store.create_referral(org, NewReferral::parse(&form, today)?, ev(AuditAction::Create, "referral")).await?;
        match course {
            Course::Stays(ReferralStatus::New, _) => {}
            Course::Stays(status, why) => {
                if *status != ReferralStatus::Screening {
                    store.set_referral_status(org, referral.id, ReferralStatus::Screening, "", ev(AuditAction::Update, "referral")).await?;
                }
                store.set_referral_status(org, referral.id, *status, why, ev(AuditAction::Update, "referral")).await?;
            }
            Course::Admitted { program, days_ago, diagnoses, clinician } => {
                let (_, program_id, track_id) = programs.get(*program).ok_or_else(|| DomainError::internal("demo program missing"))?;
                let admitted = today - Duration::days(*days_ago);
                let admission = AdmissionForm {
                    program_id: program_id.to_string(),
                    track_id: track_id.to_string(),
                    admitted_on: admitted.to_string(),
                    primary_clinician_id: user_of(users, clinician)?.to_string(),
                    level_edition: "ASAM3".into(),
                    level_code: "2.1".into(),
                    authorized_level_code: "2.1".into(),
                    diagnoses: diagnoses.to_string(),
                    reason: String::new(),
                };
                store.set_referral_status(org, referral.id, ReferralStatus::Screening, "", ev(AuditAction::Update, "referral")).await?;
                let (patient, episode) = store
                    .accept_referral(org, referral.id, Admission::parse(&admission, today)?, ev(AuditAction::Create, "episode"))
                    .await?;
                follow_course(store, org, &patient, &episode, today).await?;
            }
        }
    }
    Ok(())
}

/// Consents, family members, coverage and the later history of each admitted demo patient.
async fn follow_course(store: &dyn Store, org: OrganizationId, patient: &Patient, episode: &Episode, today: NaiveDate) -> Result<()> {
    let ev = |action: AuditAction, what: &str| event(org, action, what);
    let d = &patient.details;
    let name = format!("{} {}", d.legal_first, d.legal_last);
    let admitted = episode.admitted_on;
    let coverage =
        |payer: &str, member: &str, group: &str| CoverageForm { payer: payer.into(), member_id: member.into(), group_number: group.into() };
    let tpo = |signed_by: &str| consent(signed_by, admitted, None, None);
    let add_family = |name: &str, relationship: &str, phone: &str| {
        Collateral::parse(&CollateralForm {
            name: name.into(),
            relationship: relationship.into(),
            phone: phone.into(),
            email: String::new(),
        })
    };
    match d.legal_last.as_str() {
        "Moreno" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Horizon Blue Cross Blue Shield of New Jersey", "3HZN48812207", "NJ5512"))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            store.add_consent(org, patient.id, NewConsent::parse(&tpo(&name), today)?, ev(AuditAction::Create, "consent")).await?;
            let wife = add_family("Sofia Moreno", "Spouse", "973-555-0143")?;
            store.add_collateral(org, patient.id, wife.clone(), ev(AuditAction::Create, "collateral")).await?;
            let c = consent(
                &name,
                admitted + Duration::days(2),
                Some(admitted + Duration::days(180)),
                Some((&wife, "Attendance, treatment goals and progress discussed in family sessions")),
            );
            store.add_consent(org, patient.id, NewConsent::parse(&c, today)?, ev(AuditAction::Create, "consent")).await?;
        }
        "Williams" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Horizon NJ Health (NJ FamilyCare)", "NJFC0093315", ""))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            store.add_consent(org, patient.id, NewConsent::parse(&tpo(&name), today)?, ev(AuditAction::Create, "consent")).await?;
            let sister = add_family("Tanya Williams", "Sister", "862-555-0178")?;
            store.add_collateral(org, patient.id, sister, ev(AuditAction::Create, "collateral")).await?;
        }
        "O'Connor" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Aetna", "W226019347", "0880112"))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            store.add_consent(org, patient.id, NewConsent::parse(&tpo(&name), today)?, ev(AuditAction::Create, "consent")).await?;
            // Stepped up to partial hospitalization; the payer still authorizes IOP only.
            let change = LevelChange {
                line: LevelLine::Clinical,
                level: LevelOfCare::php(),
                from: today - Duration::days(5),
                reason: "Step-up: relapse after two weeks, panic symptoms; needs daily structure".into(),
            };
            store.change_level(org, episode.id, change, ev(AuditAction::Update, "episode_level")).await?;
        }
        "Shah" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("UnitedHealthcare", "918204476", "GRP-77310"))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            store.add_consent(org, patient.id, NewConsent::parse(&tpo(&name), today)?, ev(AuditAction::Create, "consent")).await?;
            let brother = add_family("Rohan Shah", "Brother", "551-555-0191")?;
            store.add_collateral(org, patient.id, brother.clone(), ev(AuditAction::Create, "collateral")).await?;
            let c = consent(
                &name,
                admitted + Duration::days(1),
                Some(admitted + Duration::days(120)),
                Some((&brother, "Attendance and progress")),
            );
            let saved = store.add_consent(org, patient.id, NewConsent::parse(&c, today)?, ev(AuditAction::Create, "consent")).await?;
            store
                .revoke_consent(
                    org,
                    saved.id,
                    &name,
                    today - Duration::days(4),
                    "Signed revocation letter handed to the front desk",
                    ev(AuditAction::Update, "consent_revocation"),
                )
                .await?;
        }
        "Johnson" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Empire BlueCross BlueShield", "YLM900417733", "EMP-2231"))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            // Signed during an earlier contact; it has expired and a new one is needed.
            let old = consent(&name, today - Duration::days(400), Some(today - Duration::days(35)), None);
            store.add_consent(org, patient.id, NewConsent::parse(&old, today)?, ev(AuditAction::Create, "consent")).await?;
        }
        "Ruiz" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Cigna", "U55310987", "3340021"))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            store.add_consent(org, patient.id, NewConsent::parse(&tpo(&name), today)?, ev(AuditAction::Create, "consent")).await?;
            let form = DischargeForm {
                date: (today - Duration::days(10)).to_string(),
                kind: "completed".into(),
                reason: "Met treatment goals: 56 days abstinent, attended 94% of scheduled hours".into(),
                next_level_code: "1".into(),
                next_provider: "Riverbend Outpatient, weekly with Marcus Lee, LCSW".into(),
                appointments: "Individual therapy every Tuesday 17:00 starting next week; medication review in 4 weeks".into(),
                supports: "SMART Recovery Montclair (Wednesdays); sponsor; sister as recovery support".into(),
                relapse_prevention:
                    "Triggers: work stress, weekends alone. Plan: call sponsor, attend a meeting the same day, no alcohol at home.".into(),
            };
            store
                .discharge(org, episode.id, Discharge::parse(&form, episode, today)?, ev(AuditAction::Update, "episode_discharge"))
                .await?;
        }
        "Brooks" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Horizon NJ Health (NJ FamilyCare)", "NJFC0107741", ""))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            store.add_consent(org, patient.id, NewConsent::parse(&tpo(&name), today)?, ev(AuditAction::Create, "consent")).await?;
            let form = DischargeForm {
                date: (today - Duration::days(15)).to_string(),
                kind: "against_advice".into(),
                reason: "Stopped attending after day 24; two outreach calls and a letter unanswered".into(),
                next_level_code: String::new(),
                next_provider: "Referred back to Essex County Drug Court case manager".into(),
                appointments: String::new(),
                supports: "Naloxone kit given; crisis line 988".into(),
                relapse_prevention: String::new(),
            };
            store
                .discharge(org, episode.id, Discharge::parse(&form, episode, today)?, ev(AuditAction::Update, "episode_discharge"))
                .await?;
        }
        "Chen" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Aetna", "W118337720", "0880112"))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            let mother = add_family("Lin Chen", "Mother", "973-555-0132")?;
            store.add_collateral(org, patient.id, mother.clone(), ev(AuditAction::Create, "collateral")).await?;
            store
                .add_consent(
                    org,
                    patient.id,
                    NewConsent::parse(&tpo("Maya Chen and Lin Chen (parent)"), today)?,
                    ev(AuditAction::Create, "consent"),
                )
                .await?;
            let c = consent(
                "Maya Chen",
                admitted,
                Some(admitted + Duration::days(180)),
                Some((&mother, "Attendance, safety plan and progress in multi-family group")),
            );
            store.add_consent(org, patient.id, NewConsent::parse(&c, today)?, ev(AuditAction::Create, "consent")).await?;
        }
        "Rivera" => {
            store
                .add_coverage(
                    org,
                    patient.id,
                    Coverage::parse(&coverage("Horizon NJ Health (NJ FamilyCare)", "NJFC0120558", ""))?,
                    ev(AuditAction::Create, "coverage"),
                )
                .await?;
            let father = add_family("Luis Rivera", "Father", "973-555-0159")?;
            store.add_collateral(org, patient.id, father, ev(AuditAction::Create, "collateral")).await?;
            store
                .add_consent(
                    org,
                    patient.id,
                    NewConsent::parse(&tpo("Jayden Rivera and Luis Rivera (parent)"), today)?,
                    ev(AuditAction::Create, "consent"),
                )
                .await?;
        }
        _ => {}
    }
    Ok(())
}
