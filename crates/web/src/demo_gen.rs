//! `openiop demo`: a deterministic generator of realistic demo data, from one small program to
//! an operator with 160 sites.
//!
//! Everything comes from one seeded SplitMix64 stream per site (ids too: UUID v7 built from the
//! record's date and PRNG bits), and every date is counted from an anchor day (`--today`,
//! default the current date), so the same seed and anchor give byte-identical data
//! ([`checksum`]). Rows go through the store's bulk path (`openiop_store::bulk`): one big
//! transaction per site of multi-row `INSERT`s, without the per-row audit of the use cases; the
//! run writes one audit entry instead.
//!
//! What it makes: an organization with sites, rooms, programs (adult programs with an evening
//! track and a daytime or virtual track; some sites with an adolescent after-school program),
//! weekly templates, staff with credentials (a few about to expire) and profiles; referrals
//! (most admitted, some still in screening, waitlisted or declined); patients whose availability
//! fits their track (working adults in the evening, adolescents after school, some virtual);
//! episodes with diagnoses, both level-of-care lines (PHP step-ups, a payer that lags),
//! discharges with aftercare; a schedule history of group and individual sessions (closures on
//! holidays, a few cancellations) with attendance (10–15 % absences); PHQ-9 and GAD-7 every two
//! weeks along plausible trajectories (most improve, some do not, a few deteriorate) and
//! follow-ups at 30 and 90 days. Treatment plans and group notes are not generated: their store
//! (`PlanStore`, `NoteStore`) is still being written.
use anyhow::{Context, bail};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use openiop_domain::Store;
use openiop_domain::audit::{AuditAction, AuditEvent, timestamp_text};
use openiop_domain::measurement::care::{ResultContext, StoredScore};
use openiop_domain::measurement::{InstrumentDefinition, builtin, score};
use openiop_domain::patients::{
    Aftercare, DeliveryPreference, Discharge, DischargeKind, EmergencyContact, Icd10, PatientDetails, ReferringContact, Sex,
};
use openiop_domain::programs::{LevelOfCare, WeeklyWindow, default_service_catalogue};
use openiop_domain::schedule::local_to_utc;
use openiop_domain::tenancy::UsState;
use openiop_store::SqlStore;
use openiop_store::bulk::{BulkLoad, BulkValue as V, Table};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Instant;

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
    let today = a.today.unwrap_or_else(|| Utc::now().date_naive());
    let r = generate(&store, a.seed, a.size, today, !a.quiet).await?;
    println!(
        "demo organization {} ready in {:.1} s: {} sites, {} programs, {} patients, {} episodes, {} sessions, {} attendance rows, {} measurements ({} rows)",
        r.organization, r.seconds, r.sites, r.programs, r.patients, r.episodes, r.sessions, r.attendance, r.results, r.rows
    );
    println!("sign in as {} or {} (password {})", r.director_email, r.clinician_email, crate::pages::auth::DEMO_PASSWORD);
    Ok(0)
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
    slug: String,
    domain: String,
    today: NaiveDate,
    start: NaiveDate,
    weeks: i64,
    services: &'a BTreeMap<&'static str, (String, bool)>,
    director: String,
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
}

/// Generates a dataset into a database (migrated) and writes one audit entry.
pub async fn generate(store: &SqlStore, seed: u64, size: Size, today: NaiveDate, progress: bool) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (name, slug_base, sites, weeks) = match size {
        Size::Small => ("Lakeside Recovery (demo)", "lakeside", 1usize, 12i64),
        Size::Operator => ("Harborview Behavioral Health (demo)", "harborview", 160usize, 52i64),
    };
    let slug = format!("{slug_base}-s{seed}");
    if store.organization_by_slug(&slug).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_some() {
        bail!("organization {slug} already exists: generate into a fresh database or use another seed");
    }
    let mut rng = Rng::new(seed, 0);
    let start = today - Duration::weeks(weeks);
    let created = start - Duration::weeks(10);
    let org = rng.id(created);
    let domain = format!("{slug}.example.org");
    let hash = crate::security::hash_password(crate::pages::auth::DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
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
        services.insert(code, (id, counts));
    }
    let director = rng.id(created);
    let director_email = format!("director@{domain}");
    for (id, email, uname, role) in [
        (director.clone(), director_email.clone(), "Dana Whitfield", "clinical_director"),
        (rng.id(created), format!("admin@{domain}"), "Sam Okoro", "admin"),
        (rng.id(created), format!("auditor@{domain}"), "Ruth Bellamy", "auditor"),
        (rng.id(created), format!("biller@{domain}"), "Tom Alvarez", "biller"),
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
        slug: slug.clone(),
        domain,
        today,
        start,
        weeks,
        services: &services,
        director,
        phq9: &phq9,
        gad7: &gad7,
        mrn: 0,
        report: Report { organization: slug.clone(), director_email, sites, ..Default::default() },
    };
    let mut rows = load.commit().await.map_err(|e| anyhow::anyhow!("{e}"))?;

    for s in 0..sites {
        let mut rng = Rng::new(seed, 1 + s as u64);
        let mut load = store.bulk_load().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        site(&mut ctx, &mut load, &mut rng, s, size, &hash).await?;
        if s + 1 == sites {
            push(&mut load, Table::OrgCounters, vec![org.clone().into(), "mrn".into(), ctx.mrn.into()]).await?;
        }
        rows += load.commit().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if progress {
            eprintln!(
                "demo: site {}/{} ({:.0} %), {} episodes, {} attendance rows, {} rows, {:.1} s",
                s + 1,
                sites,
                100.0 * (s + 1) as f64 / sites as f64,
                ctx.report.episodes,
                ctx.report.attendance,
                rows,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let org_id: openiop_domain::ids::OrganizationId = org.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut ev = AuditEvent::system("demo-generator", AuditAction::Create, "demo_dataset", Some(slug)).in_org(org_id);
    ev.detail = format!("seed {seed}, size {size:?}, anchor {today}, {rows} rows");
    store.audit(ev).await.map_err(|e| anyhow::anyhow!("{e}"))?;
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

    // Staff: four therapists (the first supervises), a nurse practitioner, front desk.
    let scope = format!("site:{site_id}");
    let mut clinicians: Vec<String> = Vec::new();
    let n_clinicians = 4;
    for c in 0..n_clinicians + 2 {
        let id = rng.id(opened);
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let (role, email) = match c {
            0 if index == 0 => ("clinician", format!("clinician@{}", ctx.domain)),
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
        let (kind, discipline) = if c == n_clinicians { ("NP", "Psychiatric nurse practitioner") } else { *rng.pick(THERAPIST_LICENCES) };
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
        let expires_in = if rng.chance(0.06) { rng.range(5, 45) } else { rng.range(120, 900) };
        let issued = ctx.today - Duration::days(rng.range(400, 4000));
        let verified = rng.chance(0.9);
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
    }
    // The nurse practitioner prescribes; groups and individual therapy go to the therapists.
    clinicians.truncate(n_clinicians);

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
                30i64.into(),
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
                let leader = (ti + si) % clinicians.len();
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
        for _ in 0..count {
            let admitted = ctx.start - Duration::weeks(lead) + Duration::days(rng.range(0, span_days - 1));
            let track = *rng.pick(&program_tracks);
            let e = patient_and_episode(ctx, load, rng, &site_id, (city, state, zip), p, pi, &tracks[track], track, admitted, &clinicians)
                .await?;
            episodes.push(e);
        }
        // Referrals still in the pipeline.
        for _ in 0..(count / 12).max(2) {
            pending_referral(ctx, load, rng, &site_id, (city, state, zip), p).await?;
        }
    }

    // The schedule: group sessions from the templates, weekly individual sessions.
    let last = ctx.today + Duration::days(6);
    let mut date = ctx.start;
    while date <= last {
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
                        leader: clinicians[*leader].clone(),
                    };
                    session(ctx, load, rng, &org, &site_id, tz, &s, &members).await?;
                }
            }
        }
        // Individual therapy: each patient once a week with their primary clinician.
        for e in episodes.iter().filter(|e| e.slot.0 == date.weekday() && e.admitted <= date && e.discharged.is_none_or(|d| date <= d)) {
            if closed.contains(&date) {
                continue;
            }
            let virt = e.virtual_care;
            let s = SessionPlan {
                template: None,
                program: programs[e.program].id.clone(),
                track: None,
                service: ctx.services.get("individual_therapy").map(|s| s.0.clone()).context("service")?,
                date,
                start: NaiveTime::from_hms_opt(e.slot.1, 0, 0).unwrap_or_default(),
                minutes: 60,
                room: if virt { None } else { Some(offices[e.clinician % offices.len()].clone()) },
                virt,
                capacity: 1,
                topic: "Individual therapy",
                modality: Some("cbt"),
                leader: clinicians[e.clinician].clone(),
            };
            session(ctx, load, rng, &org, &site_id, tz, &s, &[e]).await?;
        }
        date += Duration::days(1);
    }
    Ok(())
}

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
    leader: String,
}

#[allow(clippy::too_many_arguments)]
async fn session(
    ctx: &mut Ctx<'_>,
    load: &mut BulkLoad,
    rng: &mut Rng,
    org: &str,
    site: &str,
    tz: Tz,
    s: &SessionPlan<'_>,
    members: &[&Ep],
) -> anyhow::Result<()> {
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
    push(load, Table::SessionLeaders, vec![id.clone().into(), s.leader.clone().into()]).await?;
    for e in members {
        push(load, Table::SessionParticipants, vec![id.clone().into(), e.patient.clone().into()]).await?;
    }
    if !past || cancelled {
        return Ok(());
    }
    let recorded = timestamp_text(ends + Duration::minutes(rng.range(5, 40)));
    for e in members {
        let x = rng.unit();
        let (status, minutes) = if x < e.absence * 0.5 {
            ("absent_excused", 0)
        } else if x < e.absence {
            ("absent_unexcused", 0)
        } else if x < e.absence + 0.03 {
            ("late", i64::from(s.minutes) - rng.range(10, 25))
        } else if x < e.absence + 0.05 {
            ("left_early", i64::from(s.minutes) - rng.range(15, 40))
        } else {
            ("present", i64::from(s.minutes))
        };
        let note = match status {
            "absent_excused" => *rng.pick(&["Called in sick", "Work shift changed", "Childcare fell through", "Medical appointment"]),
            "absent_unexcused" => "No call, no show; outreach call made",
            "late" => "Arrived late (transport)",
            "left_early" => "Left early for work",
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
                status.into(),
                minutes.into(),
                (if s.virt { "virtual" } else { "in_person" }).into(),
                s.leader.clone().into(),
                recorded.clone().into(),
                note.into(),
            ],
        )
        .await?;
        ctx.report.attendance += 1;
    }
    Ok(())
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
    clinicians: &[String],
) -> anyhow::Result<Ep> {
    let org = ctx.org.clone();
    let details = person(rng, p.kind, admitted, place, track.shape)?;
    let received = admitted - Duration::days(rng.range(2, 12));
    let patient = rng.id(received);
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
            rng.id(received).into(),
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
                rng.id(received).into(),
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
    let referral = rng.id(received);
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
    let (kind, los) = match course {
        Course::Improves => match rng.weighted(&[0.8, 0.12, 0.08]) {
            0 => (DischargeKind::Completed, rng.range(49, 91)),
            1 => (DischargeKind::AgainstAdvice, rng.range(10, 40)),
            _ => (DischargeKind::Administrative, rng.range(20, 50)),
        },
        Course::Flat => match rng.weighted(&[0.4, 0.4, 0.2]) {
            0 => (DischargeKind::Completed, rng.range(56, 90)),
            1 => (DischargeKind::AgainstAdvice, rng.range(10, 40)),
            _ => (DischargeKind::Administrative, rng.range(20, 50)),
        },
        Course::Deteriorates => match rng.weighted(&[0.6, 0.4]) {
            0 => (DischargeKind::Transferred, rng.range(15, 45)),
            _ => (DischargeKind::AgainstAdvice, rng.range(10, 35)),
        },
    };
    let planned_end = admitted + Duration::days(los);
    let discharged = (planned_end < ctx.today).then_some(planned_end);
    let episode = rng.id(admitted);
    let clinician = rng.range(0, clinicians.len() as i64 - 1) as usize;
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
            Some(clinicians[clinician].clone()).into(),
            status.into(),
            (status == "admitted").into(),
            (status == "admitted").into(),
            discharged.map(day).into(),
            discharge.as_ref().map(json).transpose()?.into(),
            Some(referral.clone()).into(),
            ts_on(admitted, 15).into(),
        ],
    )
    .await?;
    ctx.report.episodes += 1;
    for (i, code) in diagnoses(rng, p).iter().enumerate() {
        let title = Icd10::parse(code).map(|c| c.common_title().to_string()).unwrap_or_default();
        push(
            load,
            Table::Diagnoses,
            vec![
                rng.id(admitted).into(),
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
    if step_up && php_to < end.unwrap_or(ctx.today) {
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
                rng.id(from).into(),
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
            rng.id(admitted).into(),
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
        ],
    )
    .await?;

    // Measures every two weeks from admission, then follow-ups after a completed discharge.
    let last_day = end.unwrap_or(ctx.today);
    let (phq9, gad7) = (ctx.phq9, ctx.gad7);
    let focus_sub = p.focus == "substance_use";
    let phq_base = if focus_sub { rng.range(7, 16) } else { rng.range(11, 22) } as f64;
    let gad_base = if focus_sub { rng.range(5, 13) } else { rng.range(9, 18) } as f64;
    let gain = rng.range(40, 75) as f64 / 100.0;
    let mut day_n = 0;
    let mut last = (phq_base, gad_base);
    while admitted + Duration::days(day_n) <= last_day.min(ctx.today) {
        let on = admitted + Duration::days(day_n);
        let t = (day_n as f64 / 42.0).min(1.0);
        let factor = match course {
            Course::Improves => 1.0 - gain * t,
            Course::Flat => 1.0,
            Course::Deteriorates => 1.0 + 0.45 * t,
        };
        let phq = (phq_base * factor + rng.range(-2, 2) as f64).round().clamp(0.0, 26.0);
        let gad = (gad_base * factor + rng.range(-2, 2) as f64).round().clamp(0.0, 21.0);
        last = (phq, gad);
        result(ctx, load, rng, &patient, &episode, &p.id, phq9, phq as i32, on, ResultContext::Treatment).await?;
        result(ctx, load, rng, &patient, &episode, &p.id, gad7, gad as i32, on, ResultContext::Treatment).await?;
        day_n += 14;
    }
    if let Some(d) = end
        && kind == DischargeKind::Completed
    {
        for (days, p_answer) in [(30u32, 0.6), (90, 0.45)] {
            let on = d + Duration::days(i64::from(days));
            if on <= ctx.today && rng.chance(p_answer) {
                let drift = if rng.chance(0.15) { rng.range(3, 7) } else { rng.range(-2, 2) } as f64;
                let phq = (last.0 + drift).clamp(0.0, 26.0) as i32;
                result(ctx, load, rng, &patient, &episode, &p.id, phq9, phq, on, ResultContext::FollowUp { days }).await?;
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
async fn result(
    ctx: &mut Ctx<'_>,
    load: &mut BulkLoad,
    rng: &mut Rng,
    patient: &str,
    episode: &str,
    program: &str,
    def: &InstrumentDefinition,
    total: i32,
    on: NaiveDate,
    context: ResultContext,
) -> anyhow::Result<()> {
    // PHQ-9 item 9 stays 0: risk flags belong to the hand-written demo's stories.
    let responses = if def.code == "phq9" {
        let mut a = answers(8, 3, total.min(24));
        a.insert("9".into(), 0);
        a
    } else {
        answers(7, 3, total)
    };
    let scored = score(def, &responses).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored = StoredScore::from(&scored);
    push(
        load,
        Table::MeasurementResults,
        vec![
            rng.id(on).into(),
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
    )
    .await?;
    ctx.report.results += 1;
    Ok(())
}

/// A referral still in the pipeline (no patient record yet).
async fn pending_referral(
    ctx: &mut Ctx<'_>,
    load: &mut BulkLoad,
    rng: &mut Rng,
    site: &str,
    place: (&str, &str, &str),
    p: &Program,
) -> anyhow::Result<()> {
    let received = ctx.today - Duration::days(rng.range(0, 20));
    let shape = if p.kind == Kind::Adolescent { &AFTER_SCHOOL } else { &EVENING };
    let details = person(rng, p.kind, received, place, shape)?;
    let (status, why) = *rng.pick(&[
        ("new", ""),
        ("screening", "Intake call booked"),
        ("waitlisted", "Evening track full; waiting for an opening"),
        ("declined", "Needs a higher level of care (medically managed withdrawal)"),
    ]);
    let contact = ReferringContact {
        name: format!("{} {}", rng.pick(FIRST), rng.pick(LAST)),
        organization: "Family Health Partners".into(),
        phone: "555-010-2000".into(),
    };
    push(
        load,
        Table::Referrals,
        vec![
            rng.id(received).into(),
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
