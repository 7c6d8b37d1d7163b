//! `openiop demo`: a deterministic generator of realistic demo data, from one small program to
//! an operator with 160 sites.
//!
//! Everything comes from one seeded SplitMix64 stream per site (ids too: UUID v7 built from the
//! record's date and PRNG bits, or random v4 from the stream for patients' records), and every date is counted from an anchor day (`--today`,
//! default the current date), so the same seed and anchor give byte-identical data
//! ([`checksum`]). Rows go through the store's bulk path (`openiop_store::bulk`): one big
//! transaction per site of multi-row `INSERT`s, without the per-row audit of the use cases; the
//! run writes one audit entry instead.
//!
//! What it makes: an organization with sites, rooms, programs (adult programs with an evening
//! track and a daytime or virtual track; some sites with an adolescent after-school program),
//! weekly templates, staff with credentials (a few about to expire; one therapist per site an
//! associate under the supervision of another) and profiles; referrals (most admitted, some still
//! in screening, waitlisted or declined); patients whose availability fits their track (working
//! adults in the evening, adolescents after school, some virtual); episodes with diagnoses, both
//! level-of-care lines (PHP step-ups, a payer that lags), discharges with aftercare; treatment
//! plans (a problem per diagnosis, goals in the patient's words, measurable objectives with their
//! interventions) signed a few days after admission and reviewed monthly and after a step-up,
//! objectives met or revised as the course goes (a few reviews overdue or in draft); a schedule
//! history of group and individual sessions (closures on holidays, a few cancellations) with
//! attendance (10–15 % absences) and a note per participant: group notes with the shared section
//! and an individualized one per patient (varied, citing the plan's objectives), individual
//! notes in DAP, signed by the leader, an associate's co-signed by the supervisor (the newest
//! still waiting), of the last days some drafts and some not written yet; PHQ-9 and GAD-7 every
//! two weeks along plausible trajectories (most improve, some do not, a few deteriorate), now and
//! then a PHQ-9 item 9 above 0 raising a risk flag and a task (most cleared by the clinician's
//! assessment the same evening, with a safety plan; one or two per site still open), and
//! follow-ups at 30 and 90 days.
//!
//! So that `openiop serve --demo` (the small size, seed 1) shows every feature whatever the
//! anchor day, some things are fixed rather than drawn: the first site's staff sign in as their
//! role (director@, clinician@, associate@, prescriber@, nurse@, frontdesk@, biller@, ur@,
//! auditor@, admin@ `<slug>.example.org`, see [`logins`]), two of its licences lapse within 60
//! days and one awaits verification; referrals cycle through every stage; every site has one
//! patient in PHP today while the payer still authorizes IOP, one who completed treatment half a
//! year ago (a flag assessed early, both follow-ups answered) and one reliably getting worse; and
//! some consents were revoked or have expired.
//!
//! At `operator` size notes cover the last 6 weeks only (about 97,000 instead of some 830,000
//! for the year): with them, plans and risk flags the operator dataset took 113 s on SQLite
//! against 106 s without (+7 %, side by side on a shared two-core machine); 8 weeks of notes
//! measured +14 to +23 %, over the 15 % this generator may grow.
#![forbid(unsafe_code)]
use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use openiop_domain::audit::{AuditAction, AuditEvent, timestamp_text};
use openiop_domain::auth::Role;
use openiop_domain::ids::UserId;
use openiop_domain::measurement::care::{MeasurementSettings, OwnerKind, ResultContext, StoredScore, TaskUrgency};
use openiop_domain::measurement::{InstrumentDefinition, RiskFlag, RiskLevel, builtin, score};
use openiop_domain::notes::{NoteBody, NoteSection, Participation, SessionFacts, SharedSection};
use openiop_domain::patients::{
    Aftercare, DeliveryPreference, Discharge, DischargeKind, EmergencyContact, Icd10, PatientDetails, ReferringContact, Sex,
};
use openiop_domain::plans::{AsamDimension, Goal, Intervention, ItemStatus, Objective, ObjectiveId, PlanContent, Problem};
use openiop_domain::programs::{LevelOfCare, Modality, ServiceTypeId, WeeklyWindow, default_service_catalogue};
use openiop_domain::schedule::{AttendanceStatus, local_to_utc};
use openiop_domain::store::AccountStore;
use openiop_domain::tenancy::UsState;
use openiop_store::SqlStore;
use openiop_store::bulk::{BulkLoad, BulkValue as V, Table};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Instant;

/// The password of every demo account (shown on a demo server's sign-in page, never a real one's).
pub const DEMO_PASSWORD: &str = "demo-password-2026";

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// One site, one program, about 40 patients, 12 weeks of history.
    Small,
    /// 160 sites, about 14,000 episodes over a year, about a million attendance rows.
    Operator,
}

/// `openiop demo` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The seed: the same seed (and anchor day) gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = Size::Small)]
    pub size: Size,
    /// The anchor day ("today" in the data), YYYY-MM-DD; default the current date.
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Print the SHA-256 of the canonical export of the database instead of generating.
    #[arg(long)]
    pub checksum: bool,
    /// No progress lines on standard error.
    #[arg(long)]
    pub quiet: bool,
}

/// What a run made.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub organization: String,
    pub director_email: String,
    pub clinician_email: String,
    pub sites: usize,
    pub programs: usize,
    pub patients: usize,
    pub episodes: usize,
    pub sessions: usize,
    pub attendance: usize,
    pub results: usize,
    pub plans: usize,
    pub notes: usize,
    pub risk_flags: usize,
    pub rows: u64,
    pub seconds: f64,
}

/// Runs `openiop demo`.
pub async fn run(database_url: &str, a: DemoArgs) -> anyhow::Result<i32> {
    let store = SqlStore::connect(database_url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    store.migrate().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.checksum {
        println!("{}", checksum(&store).await?);
        return Ok(0);
    }
    // Today at the demo's sites (New Jersey), by the one clock.
    let today = a.today.unwrap_or_else(|| openiop_app::system_clock().today_in(chrono_tz::America::New_York));
    let r = generate(&store, a.seed, a.size, today, !a.quiet).await?;
    println!(
        "demo organization {} ready in {:.1} s: {} sites, {} programs, {} patients, {} episodes, {} sessions, {} attendance rows, \
         {} measurements, {} plan versions, {} notes, {} risk flags ({} rows)",
        r.organization,
        r.seconds,
        r.sites,
        r.programs,
        r.patients,
        r.episodes,
        r.sessions,
        r.attendance,
        r.results,
        r.plans,
        r.notes,
        r.risk_flags,
        r.rows
    );
    println!("sign in as {} or {} (password {})", r.director_email, r.clinician_email, DEMO_PASSWORD);
    Ok(0)
}

/// The seed of the demo organization `openiop serve --demo` shows.
pub const DEMO_SEED: u64 = 1;

/// The slug of the organization generated with `seed` (its programs are `<slug>-<site>-<n>`).
pub fn slug_of(seed: u64, size: Size) -> String {
    match size {
        Size::Small => format!("lakeside-s{seed}"),
        Size::Operator => format!("harborview-s{seed}"),
    }
}

/// The demo organization of `openiop serve --demo`.
pub fn demo_slug() -> String {
    slug_of(DEMO_SEED, Size::Small)
}

/// `openiop serve --demo`: generates the small dataset (seed [`DEMO_SEED`], anchored on `today`)
/// unless the demo organization exists already, in which case it is left as it is.
/// The clinical-safety stories ([`clinical_safety_stories`]) are then told on top of it, through
/// the use cases and `clock`.
pub async fn ensure_demo(store: &SqlStore, clock: std::sync::Arc<dyn openiop_domain::clock::Clock>) -> anyhow::Result<()> {
    // Today at the demo's sites (New Jersey).
    let today = clock.today_in(chrono_tz::America::New_York);
    let slug = demo_slug();
    if store.organization_by_slug(&slug).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_some() {
        return Ok(());
    }
    match generate(store, DEMO_SEED, Size::Small, today, false).await {
        Ok(_) => clinical_safety_stories(store, clock).await,
        // Another app server generated it at the same moment.
        Err(_) if store.organization_by_slug(&slug).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_some() => Ok(()),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Clinical-safety stories (issue 15: hours counted as delivered, consents that mean what they say)

/// What `serve --demo` shows on top of the generated data, written through the use cases as a
/// clinical director would (so every rule and audit entry applies): a family therapy session two
/// days ago that the patient came late to, recorded with the minutes attended; and the spouse's
/// Part 2 consent, revoked today, which took the spouse off the two family sessions still to come
/// (the list of sessions changed is audited).
pub async fn clinical_safety_stories(store: &SqlStore, clock: std::sync::Arc<dyn openiop_domain::clock::Clock>) -> anyhow::Result<()> {
    use openiop_app::{patients as pt, schedule as sc};
    use openiop_domain::patients::{CollateralForm, ConsentForm, PatientStore};
    use openiop_domain::programs::ProgramStore;
    use openiop_domain::schedule::{AttendanceRow, SessionForm};
    let e = |e: openiop_domain::DomainError| anyhow::anyhow!("demo clinical-safety stories: {e}");
    let org = store.organization_by_slug(&demo_slug()).await.map_err(e)?.context("the demo organization")?;
    let app = openiop_app::App::new(std::sync::Arc::new(store.clone()), clock.clone(), openiop_app::Settings::default());
    let director =
        store.user_credentials(&format!("director@{}.example.org", demo_slug())).await.map_err(e)?.context("the demo director")?.user;
    let meta = openiop_domain::auth::RequestMeta { source_ip: "127.0.0.1".into(), request_id: "demo-clinical-safety".into() };
    let ctx = openiop_domain::auth::Ctx::new(openiop_app::accounts::actor_of(director), meta);
    let today = clock.today_in(chrono_tz::America::New_York);

    // A patient in care for a week or more, with a track and a primary clinician.
    let mut open: Vec<_> = store
        .open_episodes(org.id, None)
        .await
        .map_err(e)?
        .into_iter()
        .filter(|x| x.track_id.is_some() && x.primary_clinician.is_some() && x.admitted_on <= today - Duration::days(7))
        .collect();
    open.sort_by_key(|x| (x.admitted_on, x.id.to_string()));
    let episode = open.first().context("an episode in care for a week")?.clone();
    let pid = episode.patient_id;
    let patient = store.patient(org.id, pid).await.map_err(e)?;
    let name = patient.details.display_name();

    // The spouse, and the patient's consent for them to take part in family sessions.
    let spouse =
        CollateralForm { name: "Chris Avery".into(), relationship: "Spouse".into(), phone: "(973) 555-0142".into(), email: String::new() };
    pt::add_collateral(&app, &ctx, pid, &spouse).await.map_err(e)?;
    let collateral =
        store.patient(org.id, pid).await.map_err(e)?.collaterals.into_iter().find(|c| c.name == spouse.name).context("the spouse")?;
    let signed = (today - Duration::days(7)).max(episode.admitted_on);
    let consent = ConsentForm {
        discloser: org.name.clone(),
        recipients: "Chris Avery (spouse)".into(),
        purpose: "Family involvement in treatment".into(),
        information: "Dates and times of family sessions; what is discussed in them".into(),
        information_amount: "Family sessions only".into(),
        expiry_event: "End of treatment".into(),
        signed_by: name.clone(),
        signed_on: signed.to_string(),
        signature_method: "paper".into(),
        revocation_explained: true,
        refusal_consequences_explained: true,
        redisclosure_notice_given: true,
        collateral_id: collateral.id.to_string(),
        ..Default::default()
    };
    let (consent, _) = pt::add_consent(&app, &ctx, pid, &consent).await.map_err(e)?;

    // Family therapy two days ago, tomorrow and the day after (this week and next, never the
    // weeks the optimizer is asked to plan), with whoever of the patient's clinician and the
    // site's staff can lead it at an hour everyone is free.
    let services = store.service_types(org.id).await.map_err(e)?;
    let family = services.iter().find(|x| x.code == "family_therapy").context("family therapy")?;
    let room = store.rooms(org.id).await.map_err(e)?.into_iter().find(|r| r.site_id == episode.site_id).context("a room")?;
    let mut leaders: Vec<String> = episode.primary_clinician.map(|c| c.to_string()).into_iter().collect();
    leaders.extend(store.staff_profiles(org.id).await.map_err(e)?.into_iter().map(|p| p.user_id.to_string()));
    let mut sessions = Vec::new();
    for offset in [-2i64, 1, 2] {
        let date = today + Duration::days(offset);
        let mut made = None;
        'find: for hour in [13u32, 12, 14, 15, 11, 16, 10, 17, 9, 8] {
            for leader in &leaders {
                let form = SessionForm {
                    site_id: episode.site_id.to_string(),
                    program_id: episode.program_id.to_string(),
                    service_type_id: family.id.to_string(),
                    date: date.to_string(),
                    start: format!("{hour:02}:00"),
                    room_id: room.id.to_string(),
                    leader_ids: vec![leader.clone()],
                    patient_ids: vec![pid.to_string()],
                    topic: "Family therapy: communication and relapse warning signs".into(),
                    ..Default::default()
                };
                if let Ok(s) = sc::create_session(&app, &ctx, &form).await {
                    made = Some(s);
                    break 'find;
                }
            }
        }
        let s = made.context("a free hour for family therapy")?;
        sc::change_participants(&app, &ctx, s.id, &[], &[], Some((pid, collateral.id)), "").await.map_err(e)?;
        sessions.push(s);
    }

    // The patient came 15 minutes late to the one two days ago: recorded with the minutes attended.
    let past = &sessions[0];
    let row = AttendanceRow {
        patient_id: pid.to_string(),
        status: "late".into(),
        minutes: (past.minutes() - 15).to_string(),
        note: "Arrived 15 minutes late (bus delay)".into(),
        ..Default::default()
    };
    sc::take_attendance(&app, &ctx, past.id, &[row]).await.map_err(e)?;

    // Today the patient revoked the spouse's consent in writing: the spouse leaves the two
    // family sessions to come, and can join again only with a new consent.
    pt::revoke_consent(&app, &ctx, pid, consent.id, &name, "Asked in writing to stop involving the spouse").await.map_err(e)?;
    name_with_diacritics(store, &ctx).await
}

/// A former patient's name was registered without its diacritics; the front desk corrects it,
/// so the demo's discharge summaries include one (HTML and PDF) for a name beyond Latin-1.
async fn name_with_diacritics(store: &SqlStore, ctx: &openiop_domain::auth::Ctx) -> anyhow::Result<()> {
    use openiop_domain::patients::{EpisodeStatus, PatientStore, Sex};
    let e = |e: openiop_domain::DomainError| anyhow::anyhow!("demo name with diacritics: {e}");
    let org = ctx.actor.organization_id;
    for last in LAST {
        let found = store.search_patients(org, &last.to_lowercase(), None).await.map_err(e)?;
        let ids: Vec<_> = found.iter().filter(|p| p.name.ends_with(last)).map(|p| p.id).collect();
        let mut done: Vec<_> = store
            .episodes_of(org, &ids)
            .await
            .map_err(e)?
            .into_iter()
            .filter(|x| x.status == EpisodeStatus::Discharged && x.discharge.as_ref().is_some_and(|d| d.kind.code() == "completed"))
            .collect();
        done.sort_by_key(|x| (x.admitted_on, x.id.to_string()));
        let Some(episode) = done.first() else { continue };
        let mut patient = store.patient(org, episode.patient_id).await.map_err(e)?;
        let (first, family) = match patient.details.sex {
            Sex::Male => ("Quang Minh", "Nguyễn"),
            _ => ("Thị Thảo", "Nguyễn"),
        };
        patient.details.legal_first = first.into();
        patient.details.legal_last = family.into();
        patient.details.preferred_name = first.split(' ').next_back().unwrap_or(first).into();
        let mut ev = AuditEvent::by(ctx, None, AuditAction::Update, "patient", Some(patient.id.to_string())).detail("name corrected");
        ev.patient_id = Some(patient.id.to_string());
        store.update_patient(org, patient.id, patient.details, ev).await.map_err(e)?;
        return Ok(());
    }
    anyhow::bail!("demo name with diacritics: no completed discharge in the demo")
}

/// The demo organization's sign-in accounts, one per role: (email, role label). They skip the
/// second factor (the `mfa_exempt` column; no other account does).
pub fn logins() -> Vec<(String, String)> {
    let domain = format!("{}.example.org", demo_slug());
    [
        ("director", Role::ClinicalDirector, ""),
        ("clinician", Role::Clinician, " (supervisor)"),
        ("associate", Role::Clinician, " (associate, supervised)"),
        ("prescriber", Role::Prescriber, ""),
        ("nurse", Role::Nurse, ""),
        ("frontdesk", Role::FrontDesk, ""),
        ("biller", Role::Biller, ""),
        ("ur", Role::UtilizationReviewer, ""),
        ("auditor", Role::Auditor, ""),
        ("admin", Role::Admin, ""),
    ]
    .into_iter()
    .map(|(who, role, note)| (format!("{who}@{domain}"), format!("{}{note}", role.label())))
    .collect()
}

/// SHA-256 (hex) of the canonical export: every row of the clinical tables, sorted.
pub async fn checksum(store: &SqlStore) -> anyhow::Result<String> {
    let lines = store.canonical_export().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    Ok(data_encoding::HEXLOWER.encode(&h.finalize()))
}

// ---------------------------------------------------------------------------------------------
// The PRNG

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [lo, hi] (inclusive).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len().max(1) as u64) as usize]
    }

    /// Index by weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A UUID v7 whose time is noon UTC of `on` and whose random bits come from the stream.
    fn id(&mut self, on: NaiveDate) -> String {
        let ms = on.and_hms_opt(12, 0, 0).map(|t| t.and_utc().timestamp_millis().max(0) as u64).unwrap_or(0);
        let a = self.next().to_be_bytes();
        let b = self.next().to_be_bytes();
        let bytes = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1]];
        uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid().to_string()
    }

    /// A random (v4) UUID from the stream, for patients and everything tied to one: a
    /// time-ordered id in a URL would carry a date (HIPAA Safe Harbor).
    fn record_id(&mut self) -> String {
        let a = self.next().to_be_bytes();
        let b = self.next().to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a);
        bytes[8..].copy_from_slice(&b);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    fn token(&mut self) -> String {
        let mut bytes = Vec::with_capacity(32);
        for _ in 0..4 {
            bytes.extend_from_slice(&self.next().to_be_bytes());
        }
        data_encoding::BASE64URL_NOPAD.encode(&bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary for invented people and places

const FIRST: &[&str] = &[
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "William",
    "Elizabeth",
    "Carlos",
    "Aisha",
    "Daniel",
    "Keisha",
    "Brian",
    "Sofia",
    "Kevin",
    "Mei",
    "Jason",
    "Fatima",
    "Tyler",
    "Priya",
    "Marcus",
    "Olivia",
    "Andre",
    "Emma",
    "Luis",
    "Grace",
    "Jamal",
    "Hannah",
    "Ethan",
    "Chloe",
    "Noah",
    "Ava",
    "Diego",
    "Zoe",
    "Samuel",
    "Leah",
    "Omar",
    "Nina",
    "Isaac",
    "Ruth",
    "Hector",
    "Tanya",
    "Victor",
    "Alicia",
    "Derek",
    "Yuki",
    "Malik",
    "Rosa",
    "Connor",
    "Imani",
    "Trevor",
    "Lena",
    "Jorge",
    "Dana",
    "Cody",
    "Ines",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Okafor",
    "Patel",
    "Kowalski",
    "Schmidt",
    "Haddad",
    "Novak",
    "Tanaka",
    "Osei",
];
/// (city, state, ZIP prefix, time zone)
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Newark", "NJ", "071", "America/New_York"),
    ("Trenton", "NJ", "086", "America/New_York"),
    ("Philadelphia", "PA", "191", "America/New_York"),
    ("Pittsburgh", "PA", "152", "America/New_York"),
    ("Baltimore", "MD", "212", "America/New_York"),
    ("Richmond", "VA", "232", "America/New_York"),
    ("Charlotte", "NC", "282", "America/New_York"),
    ("Atlanta", "GA", "303", "America/New_York"),
    ("Tampa", "FL", "336", "America/New_York"),
    ("Orlando", "FL", "328", "America/New_York"),
    ("Columbus", "OH", "432", "America/New_York"),
    ("Cleveland", "OH", "441", "America/New_York"),
    ("Detroit", "MI", "482", "America/Detroit"),
    ("Indianapolis", "IN", "462", "America/Indiana/Indianapolis"),
    ("Chicago", "IL", "606", "America/Chicago"),
    ("Milwaukee", "WI", "532", "America/Chicago"),
    ("Minneapolis", "MN", "554", "America/Chicago"),
    ("St. Louis", "MO", "631", "America/Chicago"),
    ("Nashville", "TN", "372", "America/Chicago"),
    ("Dallas", "TX", "752", "America/Chicago"),
    ("Houston", "TX", "770", "America/Chicago"),
    ("Austin", "TX", "787", "America/Chicago"),
    ("Denver", "CO", "802", "America/Denver"),
    ("Phoenix", "AZ", "850", "America/Phoenix"),
    ("Salt Lake City", "UT", "841", "America/Denver"),
    ("Las Vegas", "NV", "891", "America/Los_Angeles"),
    ("Sacramento", "CA", "958", "America/Los_Angeles"),
    ("San Diego", "CA", "921", "America/Los_Angeles"),
    ("Portland", "OR", "972", "America/Los_Angeles"),
    ("Seattle", "WA", "981", "America/Los_Angeles"),
    ("Boston", "MA", "021", "America/New_York"),
    ("Hartford", "CT", "061", "America/New_York"),
];
const STREETS: &[&str] =
    &["Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Park Avenue", "Elm Street", "Washington Boulevard", "Lake Road"];
const PAYERS: &[&str] =
    &["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Medicaid", "Medicare", "Humana", "Kaiser Permanente"];
const THERAPIST_LICENCES: &[(&str, &str)] = &[
    ("LPC", "Licensed Professional Counselor"),
    ("LCSW", "Licensed Clinical Social Worker"),
    ("LMFT", "Licensed Marriage and Family Therapist"),
    ("LMHC", "Licensed Mental Health Counselor"),
];
const MODALITIES: &[&str] = &["cbt", "dbt", "mi", "twelve_step", "matrix", "act", "family_therapy", "contingency_management"];

/// US holidays on which sites close (month, day).
const HOLIDAYS: &[(u32, u32, &str)] =
    &[(1, 1, "New Year's Day"), (7, 4, "Independence Day"), (11, 27, "Thanksgiving"), (12, 25, "Christmas Day")];

const SUBSTANCE_DX: &[&str] = &["F10.20", "F11.20", "F12.20", "F14.20", "F15.20", "F10.21"];
const MOOD_DX: &[&str] = &["F33.1", "F32.1", "F41.1", "F43.10", "F33.2", "F31.81"];
const TEEN_DX: &[&str] = &["F32.1", "F41.1", "F43.10", "F12.20", "F33.1"];

/// What a plan problem is about, with the words plans and notes use for it (invented, short).
struct Theme {
    substance: bool,
    /// The problem statement (`{}`: the substance, for substance use).
    statement: &'static str,
    /// ASAM dimensions the problem touches.
    dimensions: &'static [&'static str],
    /// Goals in the patient's words.
    goals: &'static [&'static str],
    /// (measurable objective, modality)
    objectives: &'static [(&'static str, &'static str)],
    /// What a patient who is doing well reports (a clause after "and").
    better: &'static [&'static str],
    /// What a patient who is struggling reports.
    worse: &'static [&'static str],
    /// What they will practise before the next session.
    homework: &'static [&'static str],
}

static SUBSTANCE: Theme = Theme {
    substance: true,
    statement: "{} use with a recent return to use, putting work, health and family at risk",
    dimensions: &["1", "4", "5"],
    goals: &[
        "I want to stay sober so I can keep my job",
        "I want my kids to be able to count on me again",
        "I don't want to end up back in residential",
        "I want to stop lying to the people I love",
        "I want to get my license back and drive my daughter to school",
    ],
    objectives: &[
        ("Name three personal triggers and a coping plan for each, reviewed in group within three weeks", "relapse_prevention"),
        ("Attend at least two mutual-help meetings a week for six weeks, confirmed on an attendance sheet", "twelve_step"),
        ("Provide negative weekly drug screens for four weeks in a row", "contingency_management"),
        ("Rate readiness to change weekly and reach 8 of 10 by week four", "mi"),
    ],
    better: &[
        "reported more than a week without use, crediting a new evening routine",
        "described leaving a family barbecue early when the drinks came out",
        "said a call to a sponsor got them through a hard Friday night",
        "named boredom after work as the main trigger and has started going to the gym instead",
        "brought the meeting sheet with three signatures from this week",
        "noticed that cravings pass within twenty minutes when they use urge surfing",
        "talked about rebuilding trust with a partner and paying back a debt",
    ],
    worse: &[
        "disclosed a brief return to use on Saturday and was open about what led to it",
        "reported strong cravings after an argument at work",
        "was torn about stopping completely and weighed the pros and cons aloud",
        "admitted skipping meetings this week and feeling ashamed about it",
        "said old friends keep calling and saying no is hard",
    ],
    homework: &[
        "Will log each craving with its trigger and what helped, and bring the log",
        "Agreed to call a support person before the evening hours that are hardest",
        "Will go to two meetings before the next group and ask for signatures",
        "Plans to clear the house of alcohol with a partner's help",
    ],
};

static MOOD: Theme = Theme {
    substance: false,
    statement: "Depressed mood, poor sleep and withdrawal from others, limiting work and daily life",
    dimensions: &["3", "5"],
    goals: &[
        "I want to feel like myself again",
        "I want to get out of bed and go back to work",
        "I want to stop hiding from my friends",
        "I want to enjoy my kids instead of just getting through the day",
    ],
    objectives: &[
        ("Plan and complete one valued activity on at least five days a week, shown on an activity log", "cbt"),
        ("Lower the PHQ-9 score by at least five points from admission within six weeks", "cbt"),
        ("Use a distress-tolerance skill when overwhelmed at least four times a week, on a diary card", "dbt"),
        ("Keep the same wake-up time on six days a week for four weeks", "psychoeducation"),
    ],
    better: &[
        "said mornings feel less heavy and they managed a walk on four days",
        "completed the activity log and noticed mood lifts after seeing friends",
        "reported sleeping about seven hours on most nights",
        "returned a friend's call for the first time in weeks",
        "described cooking dinner with the family twice this week",
        "said it is getting easier to catch and question negative thoughts",
    ],
    worse: &[
        "described low energy and staying in bed most of Sunday",
        "said it is hard to see the point of the exercises right now",
        "reported skipping the activity plan on most days",
        "has been waking at four in the morning and unable to fall back asleep",
        "pulled out of family plans over the weekend",
    ],
    homework: &[
        "Will schedule three small activities and rate mood before and after each",
        "Will fill in one thought record a day",
        "Agreed to a fixed wake-up time and to keep the phone out of the bedroom",
        "Will reach out to one friend before the next group",
    ],
};

static ANXIETY: Theme = Theme {
    substance: false,
    statement: "Persistent worry, panic and tension disturbing sleep, concentration and work",
    dimensions: &["3"],
    goals: &[
        "I want to stop panicking at work",
        "I want to sleep through the night",
        "I want to drive on the highway again",
        "I want to stop checking everything three times",
    ],
    objectives: &[
        ("Use paced breathing or grounding at the first sign of panic, logging each use, for four weeks", "dbt"),
        ("Lower the GAD-7 score by at least four points within six weeks", "cbt"),
        ("Complete one planned step of the exposure ladder each week", "cbt"),
        ("Keep worry to one 20-minute scheduled period on five days a week", "act"),
    ],
    better: &[
        "reported using box breathing in a meeting and staying to the end",
        "drove two exits on the highway with a friend in the car",
        "said the scheduled worry time keeps worries from taking over the evening",
        "fell asleep within half an hour on most nights",
        "noticed a racing heart and named it as anxiety rather than danger",
    ],
    worse: &[
        "had two panic attacks this week and left work early once",
        "described lying awake replaying conversations",
        "avoided the grocery store and asked a relative to go instead",
        "said breathing exercises feel useless once panic is strong",
    ],
    homework: &[
        "Will practise grounding twice a day, also when calm",
        "Will take the next step on the exposure ladder and rate anxiety before and after",
        "Will hold worries until the 7 p.m. worry period",
        "Agreed to stop caffeine after noon and keep a sleep log",
    ],
};

static TEEN: Theme = Theme {
    substance: false,
    statement: "Low mood, school avoidance and conflict at home",
    dimensions: &["3", "6"],
    goals: &[
        "I want to go back to school without freaking out",
        "I want to fight less with my mom",
        "I want to feel normal around my friends",
        "I want to handle it when I get upset without shutting down",
    ],
    objectives: &[
        ("Attend school at least four days a week for four weeks, confirmed by the school", "cbt"),
        ("Use a skill from group instead of shutting down or yelling three times a week, on a diary card", "dbt"),
        ("Join four family sessions and agree on two house rules", "family_therapy"),
        ("Spend time with a friend or a club outside class once a week", "cbt"),
    ],
    better: &[
        "went to school four days this week and sat with a friend at lunch",
        "used the TIPP skill before a test and finished it",
        "argued at home but took a time-out instead of leaving the house",
        "said they joined the art club and liked it",
        "turned in two overdue assignments",
    ],
    worse: &[
        "missed two school days and said mornings are the hardest",
        "felt left out at lunch and spent the evening alone in their room",
        "got into a shouting match with a parent over phone use",
        "said they are tired of everyone asking how they feel",
    ],
    homework: &[
        "Will fill in the diary card every night this week",
        "Will try opposite action before school on Monday",
        "Agreed to a ten-minute check-in with a parent after dinner",
        "Will tell the school counselor when things feel like too much",
    ],
};

/// The objective added at a review when a course goes badly.
const CLOSER_CONTACT: (&str, &str) = ("Attend every scheduled group for two weeks and call the program before missing one", "mi");

/// How a group member took part (`{n}`: their name).
const OPEN_ACTIVE: &[&str] = &[
    "{n} joined in readily and gave thoughtful feedback to peers",
    "{n} spoke early in the group and stayed engaged throughout",
    "{n} volunteered for the role-play and handled it with humour",
    "{n} offered an example from the week that others related to",
];
const OPEN_ENGAGED: &[&str] = &[
    "{n} answered when invited and listened closely",
    "{n} was quiet at first but opened up in the second half",
    "{n} took part when prompted and took notes",
    "{n} followed the exercise and asked a clarifying question",
];
const OPEN_MINIMAL: &[&str] = &[
    "{n} said little and appeared tired",
    "{n} gave brief answers and checked the phone several times",
    "{n} passed at check-in and spoke once near the end",
];
/// What the group did (`{t}`: the topic).
const GROUP_WORK: &[&str] = &[
    "Check-in, teaching on {t}, practice in pairs, closing round on the week's plan",
    "Check-in, homework review, discussion of {t} with a worksheet, closing commitments",
    "Brief mindfulness exercise, {t}, role-play of a high-risk moment, check-out",
    "Check-in, video and discussion on {t}, each member named one step for the week",
];
const ASSESS_BETTER: &[&str] = &[
    "Progress toward the goal is steady; insight and motivation are good.",
    "Symptoms are easing and skills are being used between sessions.",
    "Engaged and reflective; responding well to the current plan.",
];
const ASSESS_WORSE: &[&str] = &[
    "Progress has stalled and ambivalence remains high.",
    "Symptoms are worse this week; safety reviewed, no intent or plan reported.",
    "Engagement is uneven; barriers to attending were discussed.",
];
/// What a clinician found when assessing a positive PHQ-9 item 9, and what happened next.
const RISK_FINDINGS: &[&str] = &[
    "Passive thoughts that others would be better off without them on several days; denies plan, intent or past attempts.",
    "Thoughts of death when overwhelmed at night; no plan or intent; children and faith are protective.",
    "Answered item 9 after a hard week; on interview no current thoughts of self-harm and talks about the future.",
];
const RISK_DISPOSITIONS: &[&str] = &[
    "Safety plan written together; 988 and the program's after-hours number given; continue IOP, repeat PHQ-9 next week.",
    "Warning signs and coping steps reviewed; a family member will keep medications; check-in call tomorrow.",
];

// ---------------------------------------------------------------------------------------------
// The generator

fn ts_on(d: NaiveDate, hour: u32) -> String {
    timestamp_text(d.and_hms_opt(hour, 0, 0).map(|t| t.and_utc()).unwrap_or_default())
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn json<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    serde_json::to_string(v).context("serializing demo data")
}

fn windows(spec: &str) -> anyhow::Result<Vec<WeeklyWindow>> {
    spec.lines().map(|l| WeeklyWindow::parse(l).map_err(|e| anyhow::anyhow!("{e}"))).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Adult,
    Adolescent,
}

/// A track's weekly shape: (name, delivery mode, weekdays, [(start, minutes, service code, topic, modality)]).
struct TrackShape {
    name: &'static str,
    mode: &'static str,
    days: &'static [Weekday],
    slots: &'static [(&'static str, u32, &'static str, &'static str, &'static str)],
    /// Availability windows of patients who fit it.
    availability: &'static str,
}

const EVENING: TrackShape = TrackShape {
    name: "Evening",
    mode: "in_person",
    days: &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu],
    slots: &[
        ("18:00", 90, "group_therapy", "Process group", "cbt"),
        ("19:30", 90, "psychoeducation_group", "Relapse prevention and coping skills", "mi"),
    ],
    availability: "mon 17:30-21:30\ntue 17:30-21:30\nwed 17:30-21:30\nthu 17:30-21:30",
};
const DAYTIME: TrackShape = TrackShape {
    name: "Daytime",
    mode: "in_person",
    days: &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu],
    slots: &[
        ("10:00", 90, "group_therapy", "Process group", "dbt"),
        ("11:30", 90, "psychoeducation_group", "Skills: emotion regulation", "dbt"),
    ],
    availability: "mon 09:00-15:00\ntue 09:00-15:00\nwed 09:00-15:00\nthu 09:00-15:00",
};
const VIRTUAL: TrackShape = TrackShape {
    name: "Virtual evening",
    mode: "virtual",
    days: &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu],
    slots: &[
        ("18:00", 90, "group_therapy", "Process group (video)", "act"),
        ("19:30", 90, "psychoeducation_group", "Recovery skills (video)", "mi"),
    ],
    availability: "mon 17:30-21:30\ntue 17:30-21:30\nwed 17:30-21:30\nthu 17:30-21:30\nsat 09:00-12:00",
};
const AFTER_SCHOOL: TrackShape = TrackShape {
    name: "After school",
    mode: "in_person",
    days: &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu],
    slots: &[
        ("16:00", 60, "group_therapy", "Teen process group", "dbt"),
        ("17:00", 60, "psychoeducation_group", "Skills for school and home", "cbt"),
    ],
    availability: "mon 15:15-18:30\ntue 15:15-18:30\nwed 15:15-18:30\nthu 15:15-18:30",
};

struct Ctx<'a> {
    org: String,
    /// The organization's name (the Part 2 program that discloses, on its consents).
    org_name: String,
    slug: String,
    domain: String,
    today: NaiveDate,
    start: NaiveDate,
    weeks: i64,
    services: &'a BTreeMap<&'static str, (String, bool)>,
    /// Service type id → name (for the session facts of notes).
    service_names: &'a BTreeMap<String, String>,
    director: String,
    /// Notes are written for sessions from this day on (see the module comment).
    notes_from: NaiveDate,
    /// Risk flags this site may still leave open (unassessed).
    open_flags_left: usize,
    /// Open episodes this site may still put in PHP today (payer still authorizing IOP).
    php_now_left: usize,
    /// The patient being generated is the site's follow-up story, or its worsening one (see
    /// [`site`]).
    follow_up_story: bool,
    worse_story: bool,
    /// Measurement, risk, plan and note rows, written after the site's schedule (see [`site`]).
    later: Vec<(Table, Vec<V>)>,
    phq9: &'a InstrumentDefinition,
    gad7: &'a InstrumentDefinition,
    mrn: i64,
    report: Report,
}

/// (template id, weekday, start, minutes, service id, topic, modality, leader index)
type TemplateRow = (String, Weekday, NaiveTime, u32, String, &'static str, &'static str, usize);

struct Track {
    id: String,
    program: usize,
    shape: &'static TrackShape,
    /// (template id, weekday, start, minutes, service id, topic, modality, leader index)
    templates: Vec<TemplateRow>,
}

struct Program {
    id: String,
    kind: Kind,
    focus: &'static str,
    cap: i64,
}

/// One episode of care as the generator plans it.
struct Ep {
    patient: String,
    program: usize,
    track: usize,
    admitted: NaiveDate,
    /// Discharge day (inclusive) if discharged by the anchor day.
    discharged: Option<NaiveDate>,
    clinician: usize,
    absence: f64,
    virtual_care: bool,
    /// Weekday and hour of the weekly individual session.
    slot: (Weekday, u32),
    episode: String,
    /// The name notes call the patient by.
    name: String,
    course: Course,
    /// The primary problem's theme and the first goal, in the patient's words.
    theme: &'static Theme,
    goal: &'static str,
    /// The plan's objectives, with the days they are in force.
    objectives: Vec<PlanObjective>,
}

/// An objective of an episode's plan as notes cite it.
struct PlanObjective {
    id: String,
    text: &'static str,
    /// In force from the day the plan that set it was signed, until it was met or revised.
    from: NaiveDate,
    until: Option<NaiveDate>,
}

impl Ep {
    fn objectives_on(&self, d: NaiveDate) -> Vec<&PlanObjective> {
        self.objectives.iter().filter(|o| o.from <= d && o.until.is_none_or(|u| d < u)).collect()
    }

    /// Whether a note on this day finds the patient doing well: more and more likely as an
    /// improving course goes on, less and less as a deteriorating one does.
    fn doing_well(&self, rng: &mut Rng, d: NaiveDate) -> bool {
        let t = ((d - self.admitted).num_days() as f64 / 42.0).clamp(0.0, 1.0);
        rng.chance(match self.course {
            Course::Improves => 0.45 + 0.45 * t,
            Course::Flat => 0.4,
            Course::Deteriorates => 0.5 - 0.4 * t,
        })
    }
}

/// A site's therapists as sessions, notes and plans need them.
struct Staff {
    ids: Vec<String>,
    names: Vec<String>,
    /// The therapist practising under supervision (an associate licence): their notes and plans
    /// are co-signed by the first therapist, who supervises.
    associate: usize,
    prescriber: String,
}

impl Staff {
    fn supervisor_of(&self, i: usize) -> Option<&str> {
        (i == self.associate).then(|| self.ids[0].as_str())
    }
}

/// Generates a dataset into a database (migrated) and writes one audit entry.
pub async fn generate(store: &SqlStore, seed: u64, size: Size, today: NaiveDate, progress: bool) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (name, sites, weeks) = match size {
        Size::Small => ("Lakeside Recovery (demo)", 1usize, 12i64),
        Size::Operator => ("Harborview Behavioral Health (demo)", 160usize, 52i64),
    };
    let slug = slug_of(seed, size);
    if store.organization_by_slug(&slug).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_some() {
        bail!("organization {slug} already exists: generate into a fresh database or use another seed");
    }
    let mut rng = Rng::new(seed, 0);
    let start = today - Duration::weeks(weeks);
    let created = start - Duration::weeks(10);
    let org = rng.id(created);
    let domain = format!("{slug}.example.org");
    let hash = openiop_app::security::hash_password(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let phq9 = builtin("phq9").context("PHQ-9 definition")?;
    let gad7 = builtin("gad7").context("GAD-7 definition")?;

    // The organization: its row, service catalogue and organization-wide staff.
    let mut load = store.bulk_load().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    push(
        &mut load,
        Table::Organizations,
        vec![
            org.clone().into(),
            name.into(),
            slug.clone().into(),
            true.into(),
            ts_on(created, 9).into(),
            Some(format!("https://meet.example.org/{slug}")).into(),
        ],
    )
    .await?;
    let mut services = BTreeMap::new();
    let mut service_names = BTreeMap::new();
    for (code, sname, minutes, counts, group, family, billing, permitted) in default_service_catalogue() {
        let id = rng.id(created);
        let permitted = permitted.iter().map(|c| c.code()).collect::<Vec<_>>().join(",");
        push(
            &mut load,
            Table::ServiceTypes,
            vec![
                id.clone().into(),
                org.clone().into(),
                code.into(),
                sname.into(),
                i64::from(minutes).into(),
                counts.into(),
                group.into(),
                family.into(),
                billing.into(),
                permitted.into(),
            ],
        )
        .await?;
        service_names.insert(id.clone(), sname.to_string());
        services.insert(code, (id, counts));
    }
    let director = rng.id(created);
    let director_email = format!("director@{domain}");
    for (id, email, uname, role) in [
        (director.clone(), director_email.clone(), "Dana Whitfield", "clinical_director"),
        (rng.id(created), format!("admin@{domain}"), "Sam Okoro", "admin"),
        (rng.id(created), format!("auditor@{domain}"), "Ruth Bellamy", "auditor"),
        (rng.id(created), format!("biller@{domain}"), "Tom Alvarez", "biller"),
        (rng.id(created), format!("ur@{domain}"), "Maya Castillo", "utilization_reviewer"),
    ] {
        push(
            &mut load,
            Table::Users,
            vec![
                id.into(),
                org.clone().into(),
                email.into(),
                uname.into(),
                role.into(),
                "organization".into(),
                hash.clone().into(),
                true.into(),
                ts_on(created, 9).into(),
            ],
        )
        .await?;
    }
    let mut ctx = Ctx {
        org: org.clone(),
        org_name: name.to_string(),
        slug: slug.clone(),
        domain,
        today,
        start,
        weeks,
        services: &services,
        service_names: &service_names,
        director,
        notes_from: match size {
            Size::Small => start,
            Size::Operator => today - Duration::weeks(6),
        },
        open_flags_left: 0,
        php_now_left: 0,
        follow_up_story: false,
        worse_story: false,
        later: Vec::new(),
        phq9: &phq9,
        gad7: &gad7,
        mrn: 0,
        report: Report { organization: slug.clone(), director_email, sites, ..Default::default() },
    };
    let mut rows = load.commit().await.map_err(|e| anyhow::anyhow!("{e}"))?;

    // Each site's rows are made in memory, then written in the background while the next site
    // is made: on PostgreSQL two sites are written at once (one server process each, one per
    // core); SQLite has one writer, so one at a time. What is written does not depend on it.
    let in_flight = if store.engine_kind() == openiop_store::Engine::Postgres { 2 } else { 1 };
    let mut writing: std::collections::VecDeque<(usize, tokio::task::JoinHandle<openiop_domain::Result<u64>>)> =
        std::collections::VecDeque::new();
    let done = |s: usize, n: u64, rows: &mut u64, ctx: &Ctx<'_>| {
        *rows += n;
        if progress {
            eprintln!(
                "demo: site {}/{} ({:.0} %), {} episodes, {} attendance rows so far made, {} rows written, {:.1} s",
                s + 1,
                sites,
                100.0 * (s + 1) as f64 / sites as f64,
                ctx.report.episodes,
                ctx.report.attendance,
                rows,
                started.elapsed().as_secs_f64()
            );
        }
    };
    for s in 0..sites {
        let mut rng = Rng::new(seed, 1 + s as u64);
        let mut load = store.bulk_load_deferred().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        ctx.open_flags_left = if size == Size::Small { 2 } else { 1 };
        ctx.php_now_left = 1;
        site(&mut ctx, &mut load, &mut rng, s, size, &hash).await?;
        if s + 1 == sites {
            push(&mut load, Table::OrgCounters, vec![org.clone().into(), "mrn".into(), ctx.mrn.into()]).await?;
        }
        while writing.len() >= in_flight {
            let (i, task) = writing.pop_front().context("a site being written")?;
            let n = task.await.context("writing a site")?.map_err(|e| anyhow::anyhow!("{e}"))?;
            done(i, n, &mut rows, &ctx);
        }
        writing.push_back((s, tokio::spawn(load.commit())));
    }
    while let Some((i, task)) = writing.pop_front() {
        let n = task.await.context("writing a site")?.map_err(|e| anyhow::anyhow!("{e}"))?;
        done(i, n, &mut rows, &ctx);
    }
    let org_id: openiop_domain::ids::OrganizationId = org.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut ev = AuditEvent::system("demo-generator", AuditAction::Create, "demo_dataset", Some(slug)).in_org(org_id);
    ev.detail = format!("seed {seed}, size {size:?}, anchor {today}, {rows} rows");
    store.audit(ev).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    // Planner statistics for the loaded data, so the first start plans well and starts fast.
    store.analyze().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut report = ctx.report;
    report.rows = rows;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

async fn push(load: &mut BulkLoad, t: Table, row: Vec<V>) -> anyhow::Result<()> {
    load.push(t, row).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// One site: rooms, staff, programs and tracks, patients and everything that happened to them.
async fn site(ctx: &mut Ctx<'_>, load: &mut BulkLoad, rng: &mut Rng, index: usize, size: Size, hash: &str) -> anyhow::Result<()> {
    let org = ctx.org.clone();
    let opened = ctx.start - Duration::weeks(10);
    let (city, state, zip, tz_name) = CITIES[index % CITIES.len()];
    let tz: Tz = tz_name.parse().map_err(|_| anyhow::anyhow!("time zone {tz_name}"))?;
    let site_name = if index < CITIES.len() { city.to_string() } else { format!("{city} {}", index / CITIES.len() + 1) };
    let site_id = rng.id(opened);
    push(
        load,
        Table::Sites,
        vec![
            site_id.clone().into(),
            org.clone().into(),
            site_name.clone().into(),
            format!("{} {}", rng.range(10, 2400), rng.pick(STREETS)).into(),
            city.into(),
            state.into(),
            format!("{zip}{:02}", rng.range(1, 99)).into(),
            tz_name.into(),
            ts_on(opened, 9).into(),
        ],
    )
    .await?;
    ctx.report.sites = ctx.report.sites.max(index + 1);

    // Rooms: two group rooms and two offices.
    let mut group_rooms = Vec::new();
    let mut offices = Vec::new();
    for (rname, kind, cap) in
        [("Group Room A", "group", 14), ("Group Room B", "group", 12), ("Office 1", "office", 3), ("Office 2", "office", 3)]
    {
        let id = rng.id(opened);
        push(
            load,
            Table::Rooms,
            vec![
                id.clone().into(),
                org.clone().into(),
                site_id.clone().into(),
                rname.into(),
                kind.into(),
                i64::from(cap).into(),
                "".into(),
            ],
        )
        .await?;
        if kind == "group" { group_rooms.push(id) } else { offices.push(id) }
    }

    // Staff: four therapists (the first supervises the last, an associate), a nurse
    // practitioner, front desk.
    let scope = format!("site:{site_id}");
    let mut clinicians: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let n_clinicians = 4;
    for c in 0..n_clinicians + 2 {
        let id = rng.id(opened);
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let role_email = |r: &str| format!("{r}@{}", ctx.domain);
        let (role, email) = match c {
            // The first site's staff sign in as their role (the demo logins).
            0 if index == 0 => ("clinician", role_email("clinician")),
            c if index == 0 && c == n_clinicians - 1 => ("clinician", role_email("associate")),
            c if index == 0 && c == n_clinicians => ("prescriber", role_email("prescriber")),
            c if index == 0 && c == n_clinicians + 1 => ("front_desk", role_email("frontdesk")),
            c if c == n_clinicians => {
                ("prescriber", format!("{}.{}.{index}.{c}@{}", first.to_lowercase(), last.to_lowercase(), ctx.domain))
            }
            c if c == n_clinicians + 1 => {
                ("front_desk", format!("{}.{}.{index}.{c}@{}", first.to_lowercase(), last.to_lowercase(), ctx.domain))
            }
            _ => ("clinician", format!("{}.{}.{index}.{c}@{}", first.to_lowercase(), last.to_lowercase(), ctx.domain)),
        };
        if c == 0 && index == 0 {
            ctx.report.clinician_email = email.clone();
        }
        push(
            load,
            Table::Users,
            vec![
                id.clone().into(),
                org.clone().into(),
                email.into(),
                format!("{first} {last}").into(),
                role.into(),
                scope.clone().into(),
                hash.into(),
                true.into(),
                ts_on(opened, 9).into(),
            ],
        )
        .await?;
        if c > n_clinicians {
            continue;
        }
        let licence = *rng.pick(THERAPIST_LICENCES);
        let (kind, discipline) = match c {
            c if c == n_clinicians => ("NP", "Psychiatric nurse practitioner"),
            c if c == n_clinicians - 1 => ("LMSW", "Licensed master social worker (under supervision)"),
            _ => licence,
        };
        let mut mods: Vec<&str> = (0..3).map(|_| *rng.pick(MODALITIES)).collect();
        mods.sort_unstable();
        mods.dedup();
        let telehealth = rng.chance(0.7);
        push(
            load,
            Table::StaffProfiles,
            vec![
                id.clone().into(),
                org.clone().into(),
                discipline.into(),
                telehealth.into(),
                (if telehealth { rng.range(1, 8) } else { 0 }).into(),
                mods.join(",").into(),
                "mon 09:00-21:30\ntue 09:00-21:30\nwed 09:00-21:30\nthu 09:00-21:30\nfri 09:00-17:00".into(),
                12i64.into(),
                (if c == 0 { None } else { clinicians.first().cloned() }).into(),
            ],
        )
        .await?;
        // A few licences expire within weeks: the director's home page lists them.
        // On the first site two licences lapse within 60 days and one awaits verification.
        let expires_in = match (index, c) {
            (0, 1) => 45,
            (0, c) if c == n_clinicians => 52,
            (0, _) => rng.range(120, 900),
            _ if rng.chance(0.06) => rng.range(5, 45),
            _ => rng.range(120, 900),
        };
        let issued = ctx.today - Duration::days(rng.range(400, 4000));
        let verified = if index == 0 { c != 2 } else { rng.chance(0.9) };
        push(
            load,
            Table::Credentials,
            vec![
                rng.id(opened).into(),
                org.clone().into(),
                id.clone().into(),
                kind.into(),
                format!("{kind}{:06}", rng.range(1000, 999_999)).into(),
                state.into(),
                format!("{state} Board of Behavioral Health").into(),
                day(issued).into(),
                day(ctx.today + Duration::days(expires_in)).into(),
                (if verified { "verified" } else { "unverified" }).into(),
                (if verified { Some(ctx.director.clone()) } else { None }).into(),
                (if verified { Some(ts_on(opened, 10)) } else { None }).into(),
            ],
        )
        .await?;
        clinicians.push(id);
        names.push(format!("{first} {last}"));
    }
    // The nurse practitioner prescribes; groups and individual therapy go to the therapists.
    let prescriber = clinicians[n_clinicians].clone();
    clinicians.truncate(n_clinicians);
    names.truncate(n_clinicians);
    let staff = Staff { ids: clinicians.clone(), names, associate: n_clinicians - 1, prescriber };
    if index == 0 {
        // The first site's nurse (medications, vitals, drug screens).
        let id = rng.id(opened);
        let user = vec![
            id.clone().into(),
            org.clone().into(),
            format!("nurse@{}", ctx.domain).into(),
            "Owen Brooks".into(),
            "nurse".into(),
            scope.clone().into(),
            hash.into(),
            true.into(),
            ts_on(opened, 9).into(),
        ];
        push(load, Table::Users, user).await?;
        let availability = "mon 12:00-21:00\ntue 12:00-21:00\nwed 12:00-21:00\nthu 12:00-21:00";
        let profile = vec![
            id.clone().into(),
            org.clone().into(),
            "Registered nurse".into(),
            false.into(),
            0i64.into(),
            "psychoeducation".into(),
            availability.into(),
            30i64.into(),
            None::<String>.into(),
        ];
        push(load, Table::StaffProfiles, profile).await?;
        let credential = vec![
            rng.id(opened).into(),
            org.clone().into(),
            id.into(),
            "RN".into(),
            format!("RN{:06}", rng.range(1000, 999_999)).into(),
            state.into(),
            format!("{state} Board of Nursing").into(),
            day(ctx.today - Duration::days(2200)).into(),
            day(ctx.today + Duration::days(400)).into(),
            "verified".into(),
            Some(ctx.director.clone()).into(),
            Some(ts_on(opened, 10)).into(),
        ];
        push(load, Table::Credentials, credential).await?;
    }

    // Programs and tracks.
    let focus = ["co_occurring", "substance_use", "mental_health"][index % 3];
    let mut programs = vec![Program { id: rng.id(opened), kind: Kind::Adult, focus, cap: 12 }];
    let mut shapes: Vec<(usize, &'static TrackShape)> = vec![(0, &EVENING), (0, if index.is_multiple_of(2) { &VIRTUAL } else { &DAYTIME })];
    if size == Size::Operator && index % 4 == 1 {
        programs.push(Program { id: rng.id(opened), kind: Kind::Adolescent, focus: "mental_health", cap: 10 });
        shapes.push((1, &AFTER_SCHOOL));
    }
    for (i, p) in programs.iter().enumerate() {
        let (pname, hours, pop, days) = match p.kind {
            Kind::Adult => (format!("{site_name} Adult IOP"), 9.0, "adult", (42, 90)),
            Kind::Adolescent => (format!("{site_name} Adolescent IOP"), 6.0, "adolescent", (42, 84)),
        };
        let pslug = format!("{}-{index}-{i}", ctx.slug);
        push(
            load,
            Table::Programs,
            vec![
                p.id.clone().into(),
                org.clone().into(),
                site_id.clone().into(),
                pname.into(),
                pslug.into(),
                p.focus.into(),
                pop.into(),
                "ASAM3".into(),
                "2.1".into(),
                hours.into(),
                i64::from(days.0).into(),
                i64::from(days.1).into(),
                (if p.kind == Kind::Adult { "in_person,virtual" } else { "in_person" }).into(),
                PLAN_REVIEW_DAYS.into(),
                p.cap.into(),
                ts_on(opened, 10).into(),
            ],
        )
        .await?;
        for (instrument, every) in [("phq9", 14i64), ("gad7", 14)] {
            push(
                load,
                Table::MeasurementCadences,
                vec![
                    rng.id(opened).into(),
                    org.clone().into(),
                    p.id.clone().into(),
                    instrument.into(),
                    every.into(),
                    true.into(),
                    ts_on(opened, 10).into(),
                ],
            )
            .await?;
        }
    }
    ctx.report.programs += programs.len();
    let mut tracks = Vec::new();
    for (ti, (p, shape)) in shapes.iter().enumerate() {
        let id = rng.id(opened);
        push(
            load,
            Table::Tracks,
            vec![id.clone().into(), org.clone().into(), programs[*p].id.clone().into(), shape.name.into(), shape.mode.into()],
        )
        .await?;
        let mut templates = Vec::new();
        for d in shape.days {
            for (si, (start, minutes, service, topic, modality)) in shape.slots.iter().enumerate() {
                let t = NaiveTime::parse_from_str(start, "%H:%M").context("template time")?;
                // Every therapist leads groups, the associate too.
                let leader = (ti + si + 2) % clinicians.len();
                let service_id = ctx.services.get(service).map(|s| s.0.clone()).context("service")?;
                let tid = rng.id(opened);
                let virt = shape.mode == "virtual";
                push(
                    load,
                    Table::TemplateSessions,
                    vec![
                        tid.clone().into(),
                        org.clone().into(),
                        id.clone().into(),
                        service_id.clone().into(),
                        i64::from(d.num_days_from_monday()).into(),
                        (*start).into(),
                        i64::from(*minutes).into(),
                        (if virt { None } else { Some(group_rooms[ti % group_rooms.len()].clone()) }).into(),
                        virt.into(),
                        Some(clinicians[leader].clone()).into(),
                        (*topic).into(),
                        Some(modality.to_string()).into(),
                    ],
                )
                .await?;
                templates.push((tid, *d, t, *minutes, service_id, *topic, *modality, leader));
            }
        }
        tracks.push(Track { id, program: *p, shape, templates });
    }

    // Closures on holidays within the history.
    let mut closed = Vec::new();
    for y in [ctx.start.year() - 1, ctx.start.year(), ctx.today.year()] {
        for (m, d, why) in HOLIDAYS {
            if let Some(date) = NaiveDate::from_ymd_opt(y, *m, *d)
                && date >= ctx.start
                && date <= ctx.today + Duration::days(7)
                && !closed.contains(&date)
            {
                closed.push(date);
                push(
                    load,
                    Table::Closures,
                    vec![rng.id(opened).into(), org.clone().into(), site_id.clone().into(), day(date).into(), (*why).into()],
                )
                .await?;
            }
        }
    }

    // Patients, referrals and episodes.
    let mut episodes: Vec<Ep> = Vec::new();
    let lead = 8; // weeks of admissions before the history starts (a census from day one)
    let span_days = (ctx.weeks + lead) * 7;
    for (pi, p) in programs.iter().enumerate() {
        let count = match (size, p.kind) {
            (Size::Small, _) => 38,
            (Size::Operator, Kind::Adult) => rng.range(70, 80),
            (Size::Operator, Kind::Adolescent) => rng.range(44, 56),
        };
        let program_tracks: Vec<usize> = tracks.iter().enumerate().filter(|(_, t)| t.program == pi).map(|(i, _)| i).collect();
        for n in 0..count {
            let mut admitted = ctx.start - Duration::weeks(lead) + Duration::days(rng.range(0, span_days - 1));
            // The site's first patient completed treatment half a year ago and answered both
            // follow-ups (so a small dataset has a 90-day follow-up too).
            ctx.follow_up_story = pi == 0 && n == 0;
            if ctx.follow_up_story {
                admitted = ctx.today - Duration::days(200);
            }
            // The second is getting worse, six weeks in (a reliable deterioration to review).
            ctx.worse_story = pi == 0 && n == 1;
            if ctx.worse_story {
                admitted = ctx.today - Duration::days(45);
            }
            let track = *rng.pick(&program_tracks);
            let e =
                patient_and_episode(ctx, load, rng, &site_id, (city, state, zip), p, pi, &tracks[track], track, admitted, &staff).await?;
            episodes.push(e);
        }
        // Referrals still in the pipeline, at every stage.
        for i in 0..(count / 12).max(4) {
            pending_referral(ctx, load, rng, &site_id, (city, state, zip), p, i).await?;
        }
    }

    // The schedule: group sessions from the templates, weekly individual sessions.
    let last = ctx.today + Duration::days(6);
    let mut date = ctx.start;
    while date <= last {
        // The day's bookings so far (start, end, leader, room, patients): nobody and no room is
        // booked twice at once, as the scheduling rules (and PostgreSQL's constraints) require.
        let mut booked: Vec<Booking> = Vec::new();
        if !closed.contains(&date) {
            for (ti, t) in tracks.iter().enumerate() {
                for (tid, wd, start, minutes, service, topic, modality, leader) in &t.templates {
                    if *wd != date.weekday() {
                        continue;
                    }
                    let members: Vec<&Ep> =
                        episodes.iter().filter(|e| e.track == ti && e.admitted <= date && e.discharged.is_none_or(|d| date <= d)).collect();
                    let virt = t.shape.mode == "virtual";
                    let room = if virt { None } else { Some(group_rooms[ti % group_rooms.len()].clone()) };
                    let cap = programs[t.program].cap.max(members.len() as i64);
                    let s = SessionPlan {
                        template: Some(tid.clone()),
                        program: programs[t.program].id.clone(),
                        track: Some(t.id.clone()),
                        service: service.clone(),
                        date,
                        start: *start,
                        minutes: *minutes,
                        room,
                        virt,
                        capacity: cap,
                        topic,
                        modality: Some(*modality),
                        leader: *leader,
                    };
                    let end = s.start + Duration::minutes(i64::from(s.minutes));
                    booked.push((s.start, end, s.leader, s.room.clone(), members.iter().map(|e| e.patient.clone()).collect()));
                    session(ctx, load, rng, &org, &site_id, tz, &staff, &s, &members).await?;
                }
            }
        }
        // Individual therapy: each patient once a week with their primary clinician.
        for e in episodes.iter().filter(|e| e.slot.0 == date.weekday() && e.admitted <= date && e.discharged.is_none_or(|d| date <= d)) {
            if closed.contains(&date) {
                continue;
            }
            let virt = e.virtual_care;
            // The patient's usual hour with their clinician's usual office; when either is taken
            // that day, the nearest free hour and any free office (no randomness: the rest of
            // the generated clinic does not move).
            let free = |from: NaiveTime, room: &Option<String>| {
                let to = from + Duration::minutes(60);
                !booked.iter().any(|(s, t, leader, r, people)| {
                    *s < to && from < *t && (*leader == e.clinician || people.contains(&e.patient) || (room.is_some() && r == room))
                })
            };
            let usual = offices[e.clinician % offices.len()].clone();
            let rooms: Vec<Option<String>> = if virt {
                vec![None]
            } else {
                std::iter::once(usual.clone()).chain(offices.iter().filter(|o| **o != usual).cloned()).map(Some).collect()
            };
            let hours = [0i64, 1, -1, 2, -2, 3, -3, 4, -4].map(|d| i64::from(e.slot.1) + d);
            let Some((start, room)) = hours
                .iter()
                .filter(|h| (8..=20).contains(*h))
                .filter_map(|h| NaiveTime::from_hms_opt(*h as u32, 0, 0))
                .find_map(|t| rooms.iter().find(|r| free(t, r)).map(|r| (t, r.clone())))
            else {
                continue;
            };
            booked.push((start, start + Duration::minutes(60), e.clinician, room.clone(), vec![e.patient.clone()]));
            let s = SessionPlan {
                template: None,
                program: programs[e.program].id.clone(),
                track: None,
                service: ctx.services.get("individual_therapy").map(|s| s.0.clone()).context("service")?,
                date,
                start,
                minutes: 60,
                room,
                virt,
                capacity: 1,
                topic: "Individual therapy",
                modality: Some("cbt"),
                leader: e.clinician,
            };
            session(ctx, load, rng, &org, &site_id, tz, &staff, &s, &[e]).await?;
        }
        date += Duration::days(1);
    }

    // Measurements, risk flags, plans and notes go in after the schedule, table by table: pushed
    // among the other rows they would flush those buffers early (the bulk path writes parent
    // tables first), making many short statements.
    let mut later = std::mem::take(&mut ctx.later);
    later.sort_by_key(|(t, _)| *t);
    for (t, row) in later {
        push(load, t, row).await?;
    }
    Ok(())
}

/// One of a day's bookings: start, end, leader, room, patients.
type Booking = (NaiveTime, NaiveTime, usize, Option<String>, Vec<String>);

struct SessionPlan<'a> {
    template: Option<String>,
    program: String,
    track: Option<String>,
    service: String,
    date: NaiveDate,
    start: NaiveTime,
    minutes: u32,
    room: Option<String>,
    virt: bool,
    capacity: i64,
    topic: &'a str,
    modality: Option<&'a str>,
    /// Index of the leading therapist in [`Staff`].
    leader: usize,
}

#[allow(clippy::too_many_arguments)]
async fn session(
    ctx: &mut Ctx<'_>,
    load: &mut BulkLoad,
    rng: &mut Rng,
    org: &str,
    site: &str,
    tz: Tz,
    staff: &Staff,
    s: &SessionPlan<'_>,
    members: &[&Ep],
) -> anyhow::Result<()> {
    let leader = staff.ids[s.leader].clone();
    let starts = local_to_utc(tz, s.date, s.start);
    let ends = starts + Duration::minutes(i64::from(s.minutes));
    let past = s.date < ctx.today;
    let cancelled = past && s.template.is_some() && rng.chance(0.01);
    let status = if cancelled {
        "cancelled"
    } else if past {
        "held"
    } else {
        "scheduled"
    };
    let id = rng.id(s.date);
    push(
        load,
        Table::Sessions,
        vec![
            id.clone().into(),
            org.into(),
            site.into(),
            Some(s.program.clone()).into(),
            s.track.clone().into(),
            s.template.clone().into(),
            s.service.clone().into(),
            timestamp_text(starts).into(),
            timestamp_text(ends).into(),
            day(s.date).into(),
            s.room.clone().into(),
            s.virt.into(),
            (if s.virt { Some(rng.token()) } else { None }).into(),
            s.capacity.into(),
            s.topic.into(),
            s.modality.map(str::to_string).into(),
            status.into(),
            (if cancelled { "Clinician out sick; no cover available" } else { "" }).into(),
            ts_on(s.date - Duration::days(14), 9).into(),
        ],
    )
    .await?;
    ctx.report.sessions += 1;
    push(load, Table::SessionLeaders, vec![id.clone().into(), leader.clone().into()]).await?;
    for e in members {
        push(load, Table::SessionParticipants, vec![id.clone().into(), e.patient.clone().into()]).await?;
    }
    if !past || cancelled {
        return Ok(());
    }
    let recorded = timestamp_text(ends + Duration::minutes(rng.range(5, 40)));
    let mut marks = Vec::with_capacity(members.len());
    for e in members {
        let x = rng.unit();
        let (status, minutes) = if x < e.absence * 0.5 {
            (AttendanceStatus::AbsentExcused, 0)
        } else if x < e.absence {
            (AttendanceStatus::AbsentUnexcused, 0)
        } else if x < e.absence + 0.03 {
            (AttendanceStatus::Late, i64::from(s.minutes) - rng.range(10, 25))
        } else if x < e.absence + 0.05 {
            (AttendanceStatus::LeftEarly, i64::from(s.minutes) - rng.range(15, 40))
        } else {
            (AttendanceStatus::Present, i64::from(s.minutes))
        };
        let note = match status {
            AttendanceStatus::AbsentExcused => {
                *rng.pick(&["Called in sick", "Work shift changed", "Childcare fell through", "Medical appointment"])
            }
            AttendanceStatus::AbsentUnexcused => "No call, no show; outreach call made",
            AttendanceStatus::Late => "Arrived late (transport)",
            AttendanceStatus::LeftEarly => "Left early for work",
            _ => "",
        };
        push(
            load,
            Table::Attendance,
            vec![
                org.into(),
                id.clone().into(),
                e.patient.clone().into(),
                1i64.into(),
                status.code().into(),
                minutes.into(),
                (if s.virt { "virtual" } else { "in_person" }).into(),
                leader.clone().into(),
                recorded.clone().into(),
                note.into(),
            ],
        )
        .await?;
        ctx.report.attendance += 1;
        marks.push((status, minutes));
    }
    if s.date >= ctx.notes_from {
        notes(ctx, rng, staff, s, &id, (starts, ends), members, &marks)?;
    }
    Ok(())
}

/// The notes of a session that is over, one per participant: most signed by the leader within
/// hours (an associate's co-signed by the supervisor a day or so later; the last five days' still
/// wait); of the last few days' some are still drafts or not written yet.
#[allow(clippy::too_many_arguments)]
fn notes(
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
    staff: &Staff,
    s: &SessionPlan<'_>,
    session_id: &str,
    (starts, ends): (DateTime<Utc>, DateTime<Utc>),
    members: &[&Ep],
    marks: &[(AttendanceStatus, i64)],
) -> anyhow::Result<()> {
    let days_ago = (ctx.today - s.date).num_days();
    let x = rng.unit();
    let (written, signed) = match days_ago {
        0..=5 => (x >= 0.2, x >= 0.55),
        6..=9 => (true, x >= 0.04),
        _ => (true, true),
    };
    if !written {
        return Ok(());
    }
    let group = s.track.is_some();
    let author = &staff.ids[s.leader];
    let created = ends + Duration::minutes(rng.range(15, 150));
    let signed_at = signed.then(|| created + Duration::minutes(rng.range(2, 20)));
    let cosigner = signed_at.and(staff.supervisor_of(s.leader));
    let cosigned = cosigned_at(rng, ctx.today, cosigner, signed_at);
    // Due 24 hours after the session ends (the documentation settings' default).
    let due = ends + Duration::hours(i64::from(openiop_domain::notes::NoteSettings::default().due_hours));
    let attended = marks.iter().filter(|m| m.0.attended()).count();
    let facts = SessionFacts {
        date: s.date,
        starts_at: starts,
        minutes: i64::from(s.minutes),
        service: ctx.service_names.get(&s.service).cloned().unwrap_or_default(),
        topic: s.topic.to_string(),
        staff: vec![staff.names[s.leader].clone()],
        participants: attended,
        attendance: None,
        minutes_attended: None,
        collaterals: vec![],
    };
    let shared = group.then(|| SharedSection {
        topic: s.topic.to_string(),
        modality: s.modality.and_then(|m| Modality::parse(m).ok()),
        interventions: rng.pick(GROUP_WORK).replace("{t}", &s.topic.to_lowercase()),
    });
    for (e, (status, minutes)) in members.iter().zip(marks) {
        let present = status.attended();
        let mut cited: Vec<&PlanObjective> = if present { e.objectives_on(s.date) } else { vec![] };
        if !cited.is_empty() {
            let first = rng.range(0, cited.len() as i64 - 1) as usize;
            cited.rotate_left(first);
            cited.truncate(if group && rng.chance(0.7) { 1 } else { 2 });
        }
        let well = e.doing_well(rng, s.date);
        let facts = SessionFacts { attendance: Some(*status), minutes_attended: Some(*minutes as u32), ..facts.clone() };
        let body = if !present {
            absent_body(*status, group, shared.clone(), facts)
        } else if group {
            let participation = match (well, rng.unit()) {
                (true, x) if x < 0.55 => Participation::Active,
                (_, x) if x < 0.8 => Participation::Engaged,
                _ => Participation::Minimal,
            };
            let individualized = group_text(rng, e, well, participation, &cited);
            NoteBody { sections: vec![], shared: shared.clone(), participation: Some(participation), individualized, facts }
        } else {
            NoteBody {
                sections: individual_sections(rng, e, well, s.virt, &cited),
                shared: None,
                participation: None,
                individualized: String::new(),
                facts,
            }
        };
        let note = rng.record_id();
        ctx.later.push((
            Table::SessionNotes,
            vec![
                note.clone().into(),
                ctx.org.clone().into(),
                session_id.into(),
                e.patient.clone().into(),
                Some(e.episode.clone()).into(),
                (if group { "group" } else { "individual" }).into(),
                "dap".into(),
                json(&body)?.into(),
                (!present).into(),
                author.clone().into(),
                timestamp_text(created).into(),
                timestamp_text(signed_at.unwrap_or(created)).into(),
                timestamp_text(due).into(),
                signed_at.map(|_| author.clone()).into(),
                signed_at.map(timestamp_text).into(),
                cosigner.is_some().into(),
                cosigner.map(str::to_string).into(),
                cosigned.map(timestamp_text).into(),
            ],
        ));
        for o in &cited {
            ctx.later.push((Table::NoteObjectives, vec![note.clone().into(), o.id.clone().into()]));
        }
        ctx.report.notes += 1;
    }
    Ok(())
}

fn absent_body(status: AttendanceStatus, group: bool, shared: Option<SharedSection>, facts: SessionFacts) -> NoteBody {
    let line = format!("Did not attend ({}); attendance recorded only.", status.label().to_lowercase());
    if group {
        return NoteBody { sections: vec![], shared, participation: None, individualized: line, facts };
    }
    let texts = [line.as_str(), "Not assessed this week.", "Outreach call made; the session is offered again later this week."];
    let sections = dap(&texts);
    NoteBody { sections, shared: None, participation: None, individualized: String::new(), facts }
}

/// When the supervisor co-signed an associate's signature: a day or so later, except that what
/// was signed in the last five days still waits in the supervisor's queue.
fn cosigned_at(rng: &mut Rng, today: NaiveDate, supervisor: Option<&str>, signed: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let (Some(_), Some(t)) = (supervisor, signed) else { return None };
    let midnight = at(today, 0, 0);
    (t < midnight - Duration::days(5)).then(|| (t + Duration::hours(rng.range(16, 40))).min(midnight - Duration::hours(6)))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn dap(texts: &[&str]) -> Vec<NoteSection> {
    openiop_domain::notes::NoteFormat::Dap
        .sections()
        .iter()
        .zip(texts)
        .map(|((code, label), text)| NoteSection { code: (*code).into(), label: (*label).into(), text: (*text).into() })
        .collect()
}

/// A group note's individualized section: how the patient took part, what they brought, the
/// objective worked on and what they will practise.
fn group_text(rng: &mut Rng, e: &Ep, well: bool, participation: Participation, cited: &[&PlanObjective]) -> String {
    let opener = match participation {
        Participation::Active => rng.pick(OPEN_ACTIVE),
        Participation::Minimal | Participation::Disruptive => rng.pick(OPEN_MINIMAL),
        Participation::Engaged => rng.pick(OPEN_ENGAGED),
    };
    let what = if well { rng.pick(e.theme.better) } else { rng.pick(e.theme.worse) };
    let mood = if well { rng.range(5, 8) } else { rng.range(2, 5) };
    let mut out = format!("{}. Rated mood {mood}/10 at check-in and {what}.", opener.replace("{n}", &e.name));
    if let Some(o) = cited.first() {
        out.push_str(&format!(" Objective worked on: {}.", lower_first(o.text)));
    }
    out.push(' ');
    let homework = *rng.pick(e.theme.homework);
    out.push_str(homework);
    out.push('.');
    out
}

fn individual_sections(rng: &mut Rng, e: &Ep, well: bool, virt: bool, cited: &[&PlanObjective]) -> Vec<NoteSection> {
    let what = if well { rng.pick(e.theme.better) } else { rng.pick(e.theme.worse) };
    let mood = if well { rng.range(5, 8) } else { rng.range(2, 5) };
    let data = format!(
        "Individual session, 60 minutes, {}. {} {what}; rated mood {mood}/10.",
        if virt { "by video" } else { "in person" },
        e.name
    );
    let mut assessment =
        format!("{} Goal in {}'s words: \"{}\".", rng.pick(if well { ASSESS_BETTER } else { ASSESS_WORSE }), e.name, e.goal);
    for o in cited {
        assessment.push_str(&format!(" Objective: {}.", lower_first(o.text)));
    }
    let plan = format!("{}. Next individual session in one week; continue the group schedule.", rng.pick(e.theme.homework));
    dap(&[&data, &assessment, &plan])
}

fn person(rng: &mut Rng, kind: Kind, on: NaiveDate, place: (&str, &str, &str), shape: &TrackShape) -> anyhow::Result<PatientDetails> {
    let (city, state, zip) = place;
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let age = match kind {
        Kind::Adult => rng.range(19, 64),
        Kind::Adolescent => rng.range(13, 17),
    };
    let born = NaiveDate::from_ymd_opt(on.year() - age as i32, rng.range(1, 12) as u32, rng.range(1, 28) as u32).context("birth date")?;
    let sex = *rng.pick(&[Sex::Female, Sex::Male, Sex::Female, Sex::Male, Sex::Unknown]);
    let pronouns = match sex {
        Sex::Female => "she/her",
        Sex::Male => "he/him",
        _ => "they/them",
    };
    let delivery = if shape.mode == "virtual" {
        *rng.pick(&[DeliveryPreference::Virtual, DeliveryPreference::Either])
    } else {
        *rng.pick(&[DeliveryPreference::InPerson, DeliveryPreference::InPerson, DeliveryPreference::Either])
    };
    Ok(PatientDetails {
        legal_first: first.into(),
        legal_last: last.into(),
        preferred_name: String::new(),
        pronouns: pronouns.into(),
        date_of_birth: born,
        sex,
        phone: format!("555-{:03}-{:04}", rng.range(200, 999), rng.range(0, 9999)),
        email: format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), rng.range(1, 999)),
        emergency_contact: Some(EmergencyContact {
            name: format!("{} {last}", rng.pick(FIRST)),
            relationship: (if kind == Kind::Adolescent { "Parent" } else { *rng.pick(&["Spouse", "Sibling", "Parent", "Friend"]) }).into(),
            phone: format!("555-{:03}-{:04}", rng.range(200, 999), rng.range(0, 9999)),
        }),
        line1: format!("{} {}", rng.range(1, 3000), rng.pick(STREETS)),
        city: city.into(),
        state: UsState::parse(state).map_err(|e| anyhow::anyhow!("{e}"))?,
        postal_code: format!("{zip}{:02}", rng.range(1, 99)),
        preferred_language: (if rng.chance(0.12) { "Spanish" } else { "English" }).into(),
        availability: windows(shape.availability)?,
        delivery_preference: delivery,
    })
}

fn diagnoses(rng: &mut Rng, p: &Program) -> Vec<&'static str> {
    let mut d = match (p.kind, p.focus) {
        (Kind::Adolescent, _) => vec![*rng.pick(TEEN_DX)],
        (_, "substance_use") => vec![*rng.pick(SUBSTANCE_DX)],
        (_, "mental_health") => vec![*rng.pick(MOOD_DX)],
        _ => vec![*rng.pick(SUBSTANCE_DX), *rng.pick(MOOD_DX)],
    };
    if rng.chance(0.3) {
        let extra = *rng.pick(MOOD_DX);
        if !d.contains(&extra) {
            d.push(extra);
        }
    }
    d
}

/// Trajectory classes of the measures.
#[derive(Clone, Copy, PartialEq)]
enum Course {
    Improves,
    Flat,
    Deteriorates,
}

#[allow(clippy::too_many_arguments)]
async fn patient_and_episode(
    ctx: &mut Ctx<'_>,
    load: &mut BulkLoad,
    rng: &mut Rng,
    site: &str,
    place: (&str, &str, &str),
    p: &Program,
    program_index: usize,
    track: &Track,
    track_index: usize,
    admitted: NaiveDate,
    staff: &Staff,
) -> anyhow::Result<Ep> {
    let org = ctx.org.clone();
    let details = person(rng, p.kind, admitted, place, track.shape)?;
    let received = admitted - Duration::days(rng.range(2, 12));
    let patient = rng.record_id();
    ctx.mrn += 1;
    push(
        load,
        Table::Patients,
        vec![
            patient.clone().into(),
            org.clone().into(),
            site.into(),
            format!("{:07}", ctx.mrn).into(),
            details.legal_first.clone().into(),
            details.legal_last.clone().into(),
            details.preferred_name.clone().into(),
            day(details.date_of_birth).into(),
            json(&details)?.into(),
            ts_on(received, 14).into(),
        ],
    )
    .await?;
    ctx.report.patients += 1;
    let payer = *rng.pick(PAYERS);
    push(
        load,
        Table::Coverages,
        vec![
            rng.record_id().into(),
            org.clone().into(),
            patient.clone().into(),
            payer.into(),
            format!("{}{:09}", &payer[..1], rng.range(0, 999_999_999)).into(),
            format!("G{:05}", rng.range(0, 99_999)).into(),
            0i64.into(),
        ],
    )
    .await?;
    if p.kind == Kind::Adolescent
        && let Some(ec) = &details.emergency_contact
    {
        push(
            load,
            Table::Collaterals,
            vec![
                rng.record_id().into(),
                org.clone().into(),
                patient.clone().into(),
                ec.name.clone().into(),
                "Parent".into(),
                ec.phone.clone().into(),
                "".into(),
            ],
        )
        .await?;
    }

    // The referral that brought them.
    let sources = [
        ("residential_step_down", 0.25),
        ("inpatient_step_down", 0.08),
        ("self", 0.2),
        ("primary_care", 0.15),
        ("family", 0.1),
        ("emergency_department", 0.08),
        ("court", 0.07),
        ("employer", 0.07),
    ];
    let source = sources[rng.weighted(&sources.iter().map(|s| s.1).collect::<Vec<_>>())].0;
    let from_level = match source {
        "residential_step_down" => Some("3.5"),
        "inpatient_step_down" => Some("3.7"),
        _ => None,
    };
    let referral = rng.record_id();
    let contact = ReferringContact {
        name: if source == "self" { String::new() } else { format!("{} {}", rng.pick(FIRST), rng.pick(LAST)) },
        organization: match source {
            "residential_step_down" => "Willow Ridge Residential".into(),
            "inpatient_step_down" => "County General Behavioral Unit".into(),
            "primary_care" => "Family Health Partners".into(),
            "emergency_department" => "St. Mary's Emergency Department".into(),
            "court" => "County Drug Court".into(),
            "employer" => "Employee Assistance Program".into(),
            _ => String::new(),
        },
        phone: format!("555-{:03}-{:04}", rng.range(200, 999), rng.range(0, 9999)),
    };
    let reason = match (p.kind, p.focus) {
        (Kind::Adolescent, _) => "Declining school attendance, low mood and self-isolation; needs after-school structure.",
        (_, "substance_use") => "Substance use with recent return to use; needs structured treatment around work.",
        (_, "mental_health") => "Worsening depression and anxiety despite weekly outpatient therapy.",
        _ => "Co-occurring substance use and depression; stepping up from outpatient care.",
    };
    push(
        load,
        Table::Referrals,
        vec![
            referral.clone().into(),
            org.clone().into(),
            site.into(),
            Some(p.id.clone()).into(),
            source.into(),
            json(&contact)?.into(),
            reason.into(),
            (if from_level.is_some() { "urgent" } else { "routine" }).into(),
            "accepted".into(),
            "".into(),
            from_level.map(|_| "ASAM3".to_string()).into(),
            from_level.map(str::to_string).into(),
            json(&details)?.into(),
            Some(patient.clone()).into(),
            day(received).into(),
            ts_on(received, 13).into(),
        ],
    )
    .await?;

    // The course of care.
    let course = [Course::Improves, Course::Flat, Course::Deteriorates][rng.weighted(&[0.65, 0.25, 0.10])];
    let (course, kind, los) = match course {
        _ if ctx.follow_up_story => (Course::Improves, DischargeKind::Completed, 63),
        _ if ctx.worse_story => (Course::Deteriorates, DischargeKind::Transferred, 70),
        Course::Improves => match rng.weighted(&[0.8, 0.12, 0.08]) {
            0 => (course, DischargeKind::Completed, rng.range(49, 91)),
            1 => (course, DischargeKind::AgainstAdvice, rng.range(10, 40)),
            _ => (course, DischargeKind::Administrative, rng.range(20, 50)),
        },
        Course::Flat => match rng.weighted(&[0.4, 0.4, 0.2]) {
            0 => (course, DischargeKind::Completed, rng.range(56, 90)),
            1 => (course, DischargeKind::AgainstAdvice, rng.range(10, 40)),
            _ => (course, DischargeKind::Administrative, rng.range(20, 50)),
        },
        Course::Deteriorates => match rng.weighted(&[0.6, 0.4]) {
            0 => (course, DischargeKind::Transferred, rng.range(15, 45)),
            _ => (course, DischargeKind::AgainstAdvice, rng.range(10, 35)),
        },
    };
    let planned_end = admitted + Duration::days(los);
    let discharged = (planned_end < ctx.today).then_some(planned_end);
    let episode = rng.record_id();
    let clinician = rng.range(0, staff.ids.len() as i64 - 1) as usize;
    // The first plan is signed one to three days after admission (none yet for the newest).
    let first_plan = admitted + Duration::days(rng.range(1, 3));
    let has_plan = first_plan < ctx.today;
    let days_in = (ctx.today - admitted).num_days();
    let status = match discharged {
        Some(_) => "discharged",
        None if days_in < 7 => "admitted",
        None if rng.chance(0.03) => "on_hold",
        None => "active",
    };
    let iop = LevelOfCare::iop();
    let discharge = discharged.map(|d| Discharge {
        date: d,
        kind,
        reason: match kind {
            DischargeKind::Completed => "Treatment goals met",
            DischargeKind::AgainstAdvice => "Stopped attending; declined to continue",
            DischargeKind::Administrative => "Insurance authorization ended",
            DischargeKind::Transferred => "Symptoms worsened; needs a higher level of care",
            DischargeKind::Other => "Other",
        }
        .into(),
        next_level: match kind {
            DischargeKind::Completed => Some(LevelOfCare::outpatient()),
            DischargeKind::Transferred => {
                Some(if rng.chance(0.6) { LevelOfCare::php() } else { LevelOfCare { edition: "ASAM3".into(), code: "3.5".into() } })
            }
            _ => None,
        },
        next_provider: match kind {
            DischargeKind::Completed => "Community outpatient clinic".into(),
            DischargeKind::Transferred => "Regional partial hospitalization program".into(),
            _ => String::new(),
        },
        aftercare: Aftercare {
            appointments: if kind == DischargeKind::Completed {
                "Weekly outpatient therapy; monthly medication management".into()
            } else {
                String::new()
            },
            supports: if kind == DischargeKind::Completed {
                "Mutual-help meetings twice a week; family check-ins".into()
            } else {
                String::new()
            },
            relapse_prevention: if kind == DischargeKind::Completed {
                "Written relapse-prevention plan reviewed at discharge".into()
            } else {
                String::new()
            },
        },
    });
    push(
        load,
        Table::Episodes,
        vec![
            episode.clone().into(),
            org.clone().into(),
            patient.clone().into(),
            p.id.clone().into(),
            site.into(),
            Some(track.id.clone()).into(),
            day(admitted).into(),
            Some(staff.ids[clinician].clone()).into(),
            status.into(),
            (status == "admitted").into(),
            (!has_plan).into(),
            discharged.map(day).into(),
            discharge.as_ref().map(json).transpose()?.into(),
            Some(referral.clone()).into(),
            ts_on(admitted, 15).into(),
        ],
    )
    .await?;
    ctx.report.episodes += 1;
    let dx = diagnoses(rng, p);
    for (i, code) in dx.iter().enumerate() {
        let title = Icd10::parse(code).map(|c| c.common_title().to_string()).unwrap_or_default();
        push(
            load,
            Table::Diagnoses,
            vec![
                rng.record_id().into(),
                org.clone().into(),
                episode.clone().into(),
                (*code).into(),
                title.into(),
                (i == 0).into(),
                (i as i64).into(),
            ],
        )
        .await?;
    }

    // Level-of-care lines: IOP; some step up to PHP for a week or two, and the payer follows
    // two days later or not at all.
    let end = discharged;
    let mut spans: Vec<(&str, LevelOfCare, NaiveDate, Option<NaiveDate>, &str)> = Vec::new();
    let step_up = rng.chance(if course == Course::Deteriorates { 0.4 } else { 0.1 });
    let php_from = admitted + Duration::days(rng.range(10, 28));
    let php_to = php_from + Duration::days(rng.range(6, 13));
    let stepped_up = step_up && php_to < end.unwrap_or(ctx.today);
    // One open episode per site is in PHP right now while the payer still authorizes IOP.
    let php_now = (end.is_none() && days_in >= 21 && status == "active" && !stepped_up && ctx.php_now_left > 0)
        .then(|| ctx.today - Duration::days(3));
    if let Some(from) = php_now {
        ctx.php_now_left -= 1;
        spans.push(("clinical", iop.clone(), admitted, Some(from - Duration::days(1)), "Admission"));
        spans.push(("clinical", LevelOfCare::php(), from, None, "Worsening symptoms; daily structure while the payer reviews"));
        spans.push(("authorized", iop.clone(), admitted, None, "Initial authorization (PHP requested; concurrent review pending)"));
    } else if stepped_up {
        let php = LevelOfCare::php();
        spans.push(("clinical", iop.clone(), admitted, Some(php_from - Duration::days(1)), "Admission"));
        spans.push(("clinical", php.clone(), php_from, Some(php_to - Duration::days(1)), "Worsening symptoms; daily structure for a week"));
        spans.push(("clinical", iop.clone(), php_to, end, "Stable again; back to IOP"));
        if rng.chance(0.7) {
            let auth_from = php_from + Duration::days(2);
            spans.push(("authorized", iop.clone(), admitted, Some(auth_from - Duration::days(1)), "Initial authorization"));
            spans.push(("authorized", php, auth_from, Some(php_to - Duration::days(1)), "Concurrent review: PHP authorized"));
            spans.push(("authorized", iop.clone(), php_to, end, "Concurrent review: back to IOP"));
        } else {
            spans.push(("authorized", iop.clone(), admitted, end, "Initial authorization (PHP step-up not authorized)"));
        }
    } else {
        spans.push(("clinical", iop.clone(), admitted, end, "Admission"));
        spans.push(("authorized", iop.clone(), admitted, end, "Initial authorization"));
    }
    for (line, level, from, to, why) in spans {
        push(
            load,
            Table::LevelSpans,
            vec![
                rng.record_id().into(),
                org.clone().into(),
                episode.clone().into(),
                line.into(),
                level.edition.into(),
                level.code.into(),
                day(from).into(),
                to.map(day).into(),
                why.into(),
                ts_on(from, 16).into(),
            ],
        )
        .await?;
    }
    push(
        load,
        Table::Consents,
        vec![
            rng.record_id().into(),
            org.clone().into(),
            patient.clone().into(),
            format!("{payer} (payer)").into(),
            "Payment, utilization review and care coordination".into(),
            "Attendance, diagnoses, level of care and treatment progress".into(),
            None::<String>.into(),
            "One year after discharge".into(),
            details.display_name().into(),
            day(admitted).into(),
            None::<String>.into(),
            None::<String>.into(),
            "".into(),
            "".into(),
            ts_on(admitted, 15).into(),
            ctx.org_name.clone().into(),
            "What the payer needs for each review, for the episode".into(),
            "paper".into(),
            true.into(),
            true.into(),
            true.into(),
        ],
    )
    .await?;
    // Part 2 consents beyond the payer's: now and then one to the family that the patient later
    // revoked, or one to primary care that has expired.
    let revoke_on = admitted + Duration::days(rng.range(5, 20));
    let expires_on = admitted + Duration::days(30);
    let extra = match ctx.report.episodes % 8 {
        3 if revoke_on < ctx.today => Some(("family", Some(revoke_on), None)),
        6 if expires_on < ctx.today => Some(("primary care", None, Some(expires_on))),
        _ => None,
    };
    if let Some((to, revoked, expires)) = extra {
        let family = to == "family";
        let recipients = if family {
            format!("{} (family)", details.emergency_contact.as_ref().map(|c| c.name.as_str()).unwrap_or("Family member"))
        } else {
            "Family Health Partners (primary care)".to_string()
        };
        push(
            load,
            Table::Consents,
            vec![
                rng.record_id().into(),
                org.clone().into(),
                patient.clone().into(),
                recipients.into(),
                (if family { "Family involvement in treatment" } else { "Care coordination with primary care" }).into(),
                (if family { "Attendance and general progress" } else { "Diagnoses, medications and the discharge plan" }).into(),
                expires.map(day).into(),
                (if family { "End of treatment" } else { "" }).into(),
                details.display_name().into(),
                day(admitted).into(),
                None::<String>.into(),
                revoked.map(day).into(),
                (if family { details.display_name() } else { String::new() }).into(),
                (if family { "Asked in writing to stop sharing with family" } else { "" }).into(),
                ts_on(admitted, 15).into(),
                ctx.org_name.clone().into(),
                (if family { "Dates and times of family sessions; a summary of progress" } else { "The discharge summary" }).into(),
                "paper".into(),
                true.into(),
                true.into(),
                true.into(),
            ],
        )
        .await?;
    }

    // Measures every two weeks from admission, then follow-ups after a completed discharge.
    let last_day = end.unwrap_or(ctx.today);
    let (phq9, gad7) = (ctx.phq9, ctx.gad7);
    let focus_sub = p.focus == "substance_use";
    let phq_base = if ctx.worse_story {
        16
    } else if focus_sub {
        rng.range(7, 16)
    } else {
        rng.range(11, 22)
    } as f64;
    let steady = ctx.worse_story;
    let noise = |rng: &mut Rng| if steady { 0.0 } else { rng.range(-2, 2) as f64 };
    let gad_base = if focus_sub { rng.range(5, 13) } else { rng.range(9, 18) } as f64;
    let gain = rng.range(40, 75) as f64 / 100.0;
    let mut day_n = 0;
    let mut last = (phq_base, gad_base);
    let until = last_day.min(ctx.today);
    let mut safety_plan = false;
    while admitted + Duration::days(day_n) <= until {
        let on = admitted + Duration::days(day_n);
        let t = (day_n as f64 / 42.0).min(1.0);
        let factor = match course {
            Course::Improves => 1.0 - gain * t,
            Course::Flat => 1.0,
            Course::Deteriorates => 1.0 + 0.45 * t,
        };
        let phq = (phq_base * factor + noise(rng)).round().clamp(0.0, 26.0);
        let gad = (gad_base * factor + noise(rng)).round().clamp(0.0, 21.0);
        last = (phq, gad);
        // PHQ-9 item 9 now and then above 0, more often as things get worse; the latest answer
        // of a few open episodes raises a flag nobody has assessed yet.
        let latest = admitted + Duration::days(day_n + 14) > until;
        let keep_open = discharged.is_none()
            && latest
            && on >= ctx.today - Duration::days(10)
            && ctx.open_flags_left > 0
            && (course == Course::Deteriorates || rng.chance(0.6));
        let p9 = match course {
            Course::Deteriorates if t >= 0.3 => 0.3,
            Course::Flat => 0.03,
            Course::Improves if t < 0.3 => 0.02,
            _ => 0.0,
        };
        // The follow-up story's second PHQ-9 raised a flag that was assessed and cleared.
        let story = ctx.follow_up_story && day_n == 14;
        let item9 = if keep_open || story || rng.chance(p9) { rng.range(1, 2) as i32 } else { 0 };
        let (result_id, flag) = result(ctx, rng, &patient, &episode, &p.id, phq9, phq as i32, item9, on, ResultContext::Treatment)?;
        if let Some(flag) = flag {
            if keep_open {
                ctx.open_flags_left -= 1;
            }
            let r = Raised { patient: &patient, episode: &episode, result: &result_id, flag: &flag, on, open: keep_open };
            safety_plan |= risk_flag(ctx, rng, staff, clinician, r, course, safety_plan)?;
        }
        result(ctx, rng, &patient, &episode, &p.id, gad7, gad as i32, 0, on, ResultContext::Treatment)?;
        day_n += 14;
    }
    if let Some(d) = end
        && kind == DischargeKind::Completed
    {
        for (days, p_answer) in [(30u32, 0.6), (90, 0.45)] {
            let on = d + Duration::days(i64::from(days));
            if on <= ctx.today && (rng.chance(p_answer) || ctx.follow_up_story) {
                let drift = if rng.chance(0.15) { rng.range(3, 7) } else { rng.range(-2, 2) } as f64;
                let phq = (last.0 + drift).clamp(0.0, 26.0) as i32;
                result(ctx, rng, &patient, &episode, &p.id, phq9, phq, 0, on, ResultContext::FollowUp { days })?;
            }
        }
    }

    let absence = rng.range(4, 22) as f64 / 100.0 + if course == Course::Flat { 0.03 } else { 0.0 };
    let virtual_care = track.shape.mode == "virtual" || details.delivery_preference == DeliveryPreference::Virtual;
    let slot_day = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu][rng.range(0, 3) as usize];
    let slot_hour = match (p.kind, track.shape.name) {
        (Kind::Adolescent, _) => 15,
        (_, "Daytime") => rng.range(13, 15) as u32,
        _ => rng.range(16, 17) as u32,
    };

    // The treatment plan and its reviews.
    let theme = theme_of(p.kind, dx[0]);
    let input = PlanInput {
        patient: &patient,
        patient_name: details.display_name(),
        episode: &episode,
        kind: p.kind,
        dx: &dx,
        admitted,
        end,
        first: has_plan.then_some(first_plan),
        php_from: php_now.or(stepped_up.then_some(php_from)),
        course,
        clinician,
    };
    let (objectives, goal) = plan(ctx, rng, staff, &input)?;
    Ok(Ep {
        patient,
        program: program_index,
        track: track_index,
        admitted,
        discharged,
        clinician,
        absence,
        virtual_care,
        slot: (slot_day, slot_hour),
        episode,
        name: details.legal_first.clone(),
        course,
        theme,
        goal,
        objectives,
    })
}

/// Item answers that add up to `total` (spread from the first item, at most `max` each).
fn answers(items: usize, max: i32, total: i32) -> BTreeMap<String, i32> {
    let mut left = total;
    (1..=items)
        .map(|i| {
            let v = left.clamp(0, max);
            left -= v;
            (i.to_string(), v)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn result(
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
    patient: &str,
    episode: &str,
    program: &str,
    def: &InstrumentDefinition,
    total: i32,
    item9: i32,
    on: NaiveDate,
    context: ResultContext,
) -> anyhow::Result<(String, Option<RiskFlag>)> {
    let responses = if def.code == "phq9" {
        let mut a = answers(8, 3, (total - item9).clamp(0, 24));
        a.insert("9".into(), item9);
        a
    } else {
        answers(7, 3, total)
    };
    let scored = score(def, &responses).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored = StoredScore::from(&scored);
    let id = rng.record_id();
    ctx.later.push((
        Table::MeasurementResults,
        vec![
            id.clone().into(),
            ctx.org.clone().into(),
            patient.into(),
            episode.into(),
            program.into(),
            def.code.clone().into(),
            def.name.clone().into(),
            def.loinc.clone().into(),
            def.total_loinc.clone().into(),
            day(on).into(),
            context.code().into(),
            context.follow_up_days().map(i64::from).into(),
            "staff".into(),
            "demo".into(),
            stored.total.into(),
            stored.band.clone().into(),
            json(&responses)?.into(),
            json(&stored)?.into(),
            ts_on(on, 17).into(),
        ],
    ));
    ctx.report.results += 1;
    Ok((id, scored.flags.into_iter().find(|f| f.code == "suicide_risk")))
}

/// A positive PHQ-9 item 9 on a result.
struct Raised<'a> {
    patient: &'a str,
    episode: &'a str,
    result: &'a str,
    flag: &'a RiskFlag,
    on: NaiveDate,
    /// Not assessed yet.
    open: bool,
}

/// A risk flag and its task for the primary clinician, as recording the result raises them
/// (instruments.md: item 9 > 0 → suicide-risk follow-up the same day); unless it stays open, the
/// clinician's assessment the same evening that cleared it, with a safety plan the first time
/// one was reviewed. Returns whether a safety plan was written.
#[allow(clippy::too_many_arguments)]
fn risk_flag(
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
    staff: &Staff,
    clinician: usize,
    r: Raised<'_>,
    course: Course,
    has_safety_plan: bool,
) -> anyhow::Result<bool> {
    let org = ctx.org.clone();
    let raised = r.on.and_hms_opt(17, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    let (flag, task) = (rng.record_id(), rng.record_id());
    let due = raised + Duration::hours(i64::from(MeasurementSettings::default().risk_task_due_hours));
    let assessed = (!r.open).then(|| raised + Duration::minutes(rng.range(40, 200)));
    let assessment = assessed.map(|_| rng.record_id());
    let (who, who_name) = (staff.ids[clinician].clone(), staff.names[clinician].clone());
    let instrument = ctx.phq9.code.clone();
    ctx.later.push((
        Table::RiskFlags,
        vec![
            flag.clone().into(),
            org.clone().into(),
            r.patient.into(),
            r.episode.into(),
            r.result.into(),
            r.flag.code.clone().into(),
            r.flag.level.map(|l| l.as_str().to_string()).into(),
            instrument.clone().into(),
            json(&r.flag.items)?.into(),
            r.flag.action.clone().into(),
            timestamp_text(raised).into(),
            assessed.map(timestamp_text).into(),
            assessed.map(|_| who.clone()).into(),
            assessment.clone().into(),
        ],
    ));
    ctx.report.risk_flags += 1;
    ctx.later.push((
        Table::RiskFlagEvents,
        vec![
            // Named after its result (one event each), so the demo's random stream is unchanged.
            format!("event-{}", r.result).into(),
            org.clone().into(),
            flag.clone().into(),
            r.result.into(),
            instrument.clone().into(),
            r.flag.level.map(|l| l.as_str().to_string()).into(),
            json(&r.flag.items)?.into(),
            timestamp_text(raised).into(),
        ],
    ));
    ctx.later.push((
        Table::ClinicalTasks,
        vec![
            task.into(),
            org.clone().into(),
            r.patient.into(),
            r.episode.into(),
            Some(flag.clone()).into(),
            Some(who.clone()).into(),
            OwnerKind::PrimaryClinician.code().into(),
            TaskUrgency::SameDay.code().into(),
            format!("Suicide-risk assessment ({instrument}: {})", r.flag.action).into(),
            timestamp_text(due).into(),
            timestamp_text(raised).into(),
            assessed.map(timestamp_text).into(),
        ],
    ));
    let (Some(at), Some(assessment)) = (assessed, assessment) else { return Ok(false) };
    let level = if course == Course::Deteriorates {
        *rng.pick(&[RiskLevel::Moderate, RiskLevel::Low])
    } else {
        *rng.pick(&[RiskLevel::Low, RiskLevel::NoRisk, RiskLevel::Low])
    };
    // A moderate or high level needs the safety plan reviewed.
    let reviewed = level >= RiskLevel::Moderate || rng.chance(0.5);
    ctx.later.push((
        Table::RiskAssessments,
        vec![
            assessment.into(),
            org.clone().into(),
            flag.into(),
            r.patient.into(),
            who.clone().into(),
            who_name.clone().into(),
            timestamp_text(at).into(),
            level.as_str().into(),
            (*rng.pick(RISK_FINDINGS)).into(),
            (*rng.pick(RISK_DISPOSITIONS)).into(),
            reviewed.into(),
        ],
    ));
    if !reviewed || has_safety_plan {
        return Ok(false);
    }
    let sections: BTreeMap<String, String> = [
        ("warning_signs", "Not answering texts, lying awake after midnight, thinking I am a burden"),
        ("internal_coping", "Walk the dog, take a shower, play guitar, slow breathing"),
        ("social_distraction", "The coffee shop on Main Street; my sister's kitchen"),
        ("people_to_ask", "My sister; my sponsor or a friend from group"),
        ("professionals", "My clinician during program hours; 988 Suicide and Crisis Lifeline; the nearest emergency department"),
        ("safe_environment", "Medications kept by my partner; no firearms at home"),
        ("reasons_for_living", *rng.pick(&["My kids", "My mother", "Getting back to work", "My dog"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    ctx.later.push((
        Table::SafetyPlans,
        vec![
            rng.record_id().into(),
            org.into(),
            r.episode.into(),
            r.patient.into(),
            1i64.into(),
            json(&sections)?.into(),
            who.into(),
            who_name.into(),
            timestamp_text(at).into(),
        ],
    ));
    Ok(true)
}

/// Days between plan reviews: the programs' `plan_review_days` (iop-rules.md: service-plan
/// review at least monthly in Washington; Medicare every other month).
const PLAN_REVIEW_DAYS: i64 = 30;

fn theme_of(kind: Kind, code: &str) -> &'static Theme {
    if kind == Kind::Adolescent {
        return &TEEN;
    }
    match code.get(..3).unwrap_or("") {
        "F10" | "F11" | "F12" | "F14" | "F15" => &SUBSTANCE,
        "F41" | "F43" => &ANXIETY,
        _ => &MOOD,
    }
}

fn substance(code: &str) -> &'static str {
    match code.get(..3).unwrap_or("") {
        "F10" => "Alcohol",
        "F11" => "Opioid",
        "F12" => "Cannabis",
        "F14" => "Cocaine",
        _ => "Stimulant",
    }
}

fn new_id<T: std::str::FromStr>(rng: &mut Rng) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    rng.record_id().parse::<T>().map_err(|e| anyhow::anyhow!("{e}"))
}

fn at(d: NaiveDate, hour: u32, minute: i64) -> DateTime<Utc> {
    d.and_hms_opt(hour, 0, 0).map(|t| t.and_utc()).unwrap_or_default() + Duration::minutes(minute)
}

/// What [`plan`] needs to know about the episode.
struct PlanInput<'a> {
    patient: &'a str,
    patient_name: String,
    episode: &'a str,
    kind: Kind,
    dx: &'a [&'static str],
    admitted: NaiveDate,
    end: Option<NaiveDate>,
    /// The day the first version is signed (none: no plan yet).
    first: Option<NaiveDate>,
    php_from: Option<NaiveDate>,
    course: Course,
    clinician: usize,
}

/// The episode's treatment plan: a problem per diagnosis theme (two at most), a goal in the
/// patient's words, two measurable objectives with their interventions; signed by the primary
/// clinician a few days after admission (an associate's co-signed by the supervisor, see
/// [`cosigned_at`]) and reviewed every [`PLAN_REVIEW_DAYS`] days and after a step-up to PHP. An improving
/// patient meets the first objective after five weeks; a worsening course revises the second
/// and adds closer contact. A few open episodes' latest review is overdue or still a draft.
/// Returns the objectives as notes cite them and the first goal.
fn plan(ctx: &mut Ctx<'_>, rng: &mut Rng, staff: &Staff, i: &PlanInput<'_>) -> anyhow::Result<(Vec<PlanObjective>, &'static str)> {
    let mut themes: Vec<(&'static Theme, &'static str)> = Vec::new();
    for code in i.dx.iter().take(2) {
        let t = theme_of(i.kind, code);
        if !themes.iter().any(|(x, _)| std::ptr::eq(*x, t)) {
            themes.push((t, code));
        }
    }
    let goal = *rng.pick(themes[0].0.goals);
    let Some(first) = i.first else { return Ok((vec![], goal)) };
    let service = |code: &str| -> anyhow::Result<ServiceTypeId> {
        ctx.services.get(code).context("service")?.0.parse().map_err(|e| anyhow::anyhow!("{e}"))
    };
    let (group, individual, medication) = (service("group_therapy")?, service("individual_therapy")?, service("medication_management")?);
    let clinician: UserId = staff.ids[i.clinician].parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let prescriber: UserId = staff.prescriber.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let modality = |m: &str| Modality::parse(m).map_err(|e| anyhow::anyhow!("{e}"));
    let mut problems = Vec::new();
    let mut cited = Vec::new();
    for (pi, (theme, code)) in themes.iter().enumerate() {
        let words = if pi == 0 { goal } else { *rng.pick(theme.goals) };
        let n = theme.objectives.len() as i64;
        let a = rng.range(0, n - 1);
        let b = (a + 1 + rng.range(0, n - 2)) % n;
        let mut objectives = Vec::new();
        for (oi, k) in [a, b].into_iter().enumerate() {
            let (text, m) = theme.objectives[k as usize];
            let mut interventions = vec![if oi == 0 {
                Intervention {
                    id: new_id(rng)?,
                    description: "Group therapy in the patient's track, following the group curriculum".into(),
                    service_type_id: group,
                    modality: modality(m)?,
                    frequency: "every group day".into(),
                    staff_id: clinician,
                }
            } else {
                Intervention {
                    id: new_id(rng)?,
                    description: "Individual therapy with the primary clinician".into(),
                    service_type_id: individual,
                    modality: modality(m)?,
                    frequency: "once a week".into(),
                    staff_id: clinician,
                }
            }];
            if oi == 1 && !theme.substance {
                interventions.push(Intervention {
                    id: new_id(rng)?,
                    description: "Medication evaluation, then follow-up visits".into(),
                    service_type_id: medication,
                    modality: modality("psychoeducation")?,
                    frequency: "monthly".into(),
                    staff_id: prescriber,
                });
            }
            let id: ObjectiveId = new_id(rng)?;
            objectives.push(Objective {
                id,
                text: text.into(),
                target_date: first + Duration::weeks(if oi == 0 { 4 } else { 6 }),
                status: ItemStatus::Active,
                interventions,
            });
            cited.push(PlanObjective { id: id.to_string(), text, from: first, until: None });
        }
        let statement = if theme.substance { theme.statement.replace("{}", substance(code)) } else { theme.statement.to_string() };
        let dimensions = theme.dimensions.iter().map(|d| AsamDimension::parse(d)).collect::<openiop_domain::Result<Vec<_>>>();
        problems.push(Problem {
            id: new_id(rng)?,
            statement,
            diagnosis: Some(Icd10::parse(code).map_err(|e| anyhow::anyhow!("{e}"))?),
            dimensions: dimensions.map_err(|e| anyhow::anyhow!("{e}"))?,
            goals: vec![Goal { id: new_id(rng)?, patient_words: words.into(), status: ItemStatus::Active, objectives }],
        });
    }
    let mut content = PlanContent { problems };

    // The versions: initial, then reviews up to the discharge (or today).
    let mut dates: Vec<(NaiveDate, &str)> = vec![(first, "initial")];
    loop {
        let last = dates[dates.len() - 1].0;
        let next = last + Duration::days(PLAN_REVIEW_DAYS);
        let d = match i.php_from {
            Some(p) if p > last && p < next => (p + Duration::days(1), "level-of-care change"),
            _ => (next, "scheduled review"),
        };
        if i.end.map_or(d.0 > ctx.today, |end| d.0 >= end) {
            break;
        }
        dates.push(d);
    }
    let today = ctx.today;
    let recent = |dates: &[(NaiveDate, &str)], days: i64| {
        i.end.is_none() && dates.len() > 1 && dates[dates.len() - 1].0 >= today - Duration::days(days)
    };
    if recent(&dates, 12) && rng.chance(0.1) {
        dates.pop();
    }
    let draft = recent(&dates, 3) && rng.chance(0.3);
    let mut closer = false;
    for (v, (d, reason)) in dates.iter().enumerate() {
        let d = *d;
        let signed = !(draft && v + 1 == dates.len());
        let since = (d - i.admitted).num_days();
        if v > 0 && i.course == Course::Improves && since >= 35 {
            let o = &mut content.problems[0].goals[0].objectives[0];
            if o.status == ItemStatus::Active {
                o.status = ItemStatus::Met;
                if signed {
                    cited[0].until = Some(d);
                }
            }
        }
        if v > 0 && i.course == Course::Deteriorates && since >= 21 && !closer {
            closer = true;
            let g = &mut content.problems[0].goals[0];
            g.objectives[1].status = ItemStatus::Revised;
            let id: ObjectiveId = new_id(rng)?;
            g.objectives.push(Objective {
                id,
                text: CLOSER_CONTACT.0.into(),
                target_date: d + Duration::weeks(2),
                status: ItemStatus::Active,
                interventions: vec![Intervention {
                    id: new_id(rng)?,
                    description: "Individual check-ins twice a week until attendance is steady".into(),
                    service_type_id: individual,
                    modality: modality(CLOSER_CONTACT.1)?,
                    frequency: "twice a week".into(),
                    staff_id: clinician,
                }],
            });
            if signed {
                cited[1].until = Some(d);
                cited.push(PlanObjective { id: id.to_string(), text: CLOSER_CONTACT.0, from: d, until: None });
            }
        }
        let created = at(d, 14, rng.range(0, 59));
        let signed_at = signed.then(|| created + Duration::minutes(rng.range(20, 90)));
        let supervisor = signed_at.and(staff.supervisor_of(i.clinician));
        let cosigned = cosigned_at(rng, ctx.today, supervisor, signed_at);
        let ack = match signed_at {
            Some(t) if rng.chance(0.85) => Some(t + Duration::minutes(rng.range(5, 15))),
            _ => None,
        };
        ctx.later.push((
            Table::PlanVersions,
            vec![
                rng.record_id().into(),
                ctx.org.clone().into(),
                i.episode.into(),
                i.patient.into(),
                (v as i64 + 1).into(),
                json(&content)?.into(),
                (*reason).into(),
                None::<String>.into(),
                staff.ids[i.clinician].clone().into(),
                timestamp_text(created).into(),
                signed_at.map(|_| staff.names[i.clinician].clone()).into(),
                signed_at.map(|_| staff.ids[i.clinician].clone()).into(),
                signed_at.map(timestamp_text).into(),
                supervisor.is_some().into(),
                supervisor.map(str::to_string).into(),
                cosigned.map(|_| staff.names[0].clone()).into(),
                cosigned.map(timestamp_text).into(),
                ack.map(|_| i.patient_name.clone()).into(),
                ack.map(timestamp_text).into(),
            ],
        ));
        ctx.report.plans += 1;
    }
    Ok((cited, goal))
}

/// A referral still in the pipeline (no patient record yet).
#[allow(clippy::too_many_arguments)]
async fn pending_referral(
    ctx: &mut Ctx<'_>,
    load: &mut BulkLoad,
    rng: &mut Rng,
    site: &str,
    place: (&str, &str, &str),
    p: &Program,
    i: i64,
) -> anyhow::Result<()> {
    let received = ctx.today - Duration::days(rng.range(0, 20));
    let shape = if p.kind == Kind::Adolescent { &AFTER_SCHOOL } else { &EVENING };
    let details = person(rng, p.kind, received, place, shape)?;
    let stages = [
        ("new", ""),
        ("screening", "Intake call booked"),
        ("waitlisted", "Evening track full; waiting for an opening"),
        ("declined", "Needs a higher level of care (medically managed withdrawal)"),
    ];
    let (status, why) = stages[i as usize % stages.len()];
    let contact = ReferringContact {
        name: format!("{} {}", rng.pick(FIRST), rng.pick(LAST)),
        organization: "Family Health Partners".into(),
        phone: "555-010-2000".into(),
    };
    push(
        load,
        Table::Referrals,
        vec![
            rng.record_id().into(),
            ctx.org.clone().into(),
            site.into(),
            Some(p.id.clone()).into(),
            "primary_care".into(),
            json(&contact)?.into(),
            "Referred for intensive outpatient care after an outpatient assessment.".into(),
            "routine".into(),
            status.into(),
            why.into(),
            None::<String>.into(),
            None::<String>.into(),
            json(&details)?.into(),
            None::<String>.into(),
            day(received).into(),
            ts_on(received, 11).into(),
        ],
    )
    .await?;
    Ok(())
}
