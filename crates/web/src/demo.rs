//! The demo organization: created once by `openiop serve --demo`, clearly bannered, with staff
//! accounts that may skip MFA (nothing else may), and a living program: rooms, three programs
//! with weekly tracks, and clinicians with profiles and credentials (two of them expiring soon,
//! one not yet verified) so the director's pages have something to show.
use crate::pages::auth::DEMO_PASSWORD;
use crate::security::hash_password;
use chrono::{Duration, NaiveDate, NaiveTime, Weekday};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::{OrganizationId, UserId};
use openiop_domain::programs::{
    DeliveryMode, Modality, NewCredential, NewProgram, NewRoom, ProgramForm, RoomId, ServiceType, StaffProfileForm, StaffProfileUpdate,
    TemplateSession, TemplateSessionId, TrackId, Verification,
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
    }
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
