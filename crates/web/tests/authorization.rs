//! Who may do what, where: every route of the API (as its OpenAPI document lists them) and every
//! page route, asked by every role, about a record of each kind in each of the places it can be.
//!
//! Harbor Light runs two sites, Newark (site A) and Trenton (site B); Lakeside is another
//! organization on the same server, with its own site in Camden. Nine staff members work at
//! Newark, one for each role, each scoped to Newark only. Each of them has a desk at Newark: an
//! evening IOP with a track and its weekly template, a room, measurement cadences, a licensed
//! clinician, patients (Jordan, in care with a consent, a draft treatment plan, a safety plan, an
//! open risk flag, a patient link and a draft note for this morning's group; Casey, in the same
//! groups; Riley and Sam, registered but not yet admitted), two referrals, their own calendar
//! subscriptions and a spare API token. Trenton and Camden each have one desk just like it.
//!
//! It is Monday 16 November 2026, 08:00 in New Jersey, and the clock does not move. Route by
//! route, each Newark staff member asks about a record that does not exist, then Lakeside's, then
//! Trenton's, then their own (in that order: the requests write). Every answer is recorded in
//! `authorization.tsv`, which is checked in: a change of any answer fails this test until the
//! table is regenerated (`OPENIOP_WRITE_MATRIX=1`) and the change reviewed. Whatever the table
//! says, no route may fail with a server error, and none may grant (2xx, or a redirect to a page
//! that opens) a request about another site's, another organization's or a missing record —
//! except the public pages and the capability links (a patient's questionnaire link, a calendar
//! feed), whose secret is the authorization. A route added to the API or to the pages without a
//! line here fails the test, so none is forgotten. The same table holds on SQLite and PostgreSQL.
use axum::http::Method;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::{OrganizationId, SiteId, UserId};
use openiop_domain::schedule::FeedOwner;
use openiop_domain::tenancy::{NewSite, Slug};
use openiop_domain::users::{Email, NewUser, User};
use openiop_web::testing::{Browser, PASSWORD, Reply, TestApp, engines};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Monday 2026-11-16, 08:00 in New Jersey.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 13, 0, 0).single().expect("time")
}

const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/authorization.tsv");
const STARTUP: &str = include_str!("../src/startup.rs");

// ---- The world --------------------------------------------------------------------------------

/// One of every record a route can name, at one place, by kind (`patient`, `episode`, …).
type Desk = BTreeMap<&'static str, String>;

/// Where a record lives, seen from a Newark staff member. Requests run in this order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Missing,
    OtherOrg,
    OtherSite,
    Own,
}

const VARIANTS: [Variant; 4] = [Variant::Missing, Variant::OtherOrg, Variant::OtherSite, Variant::Own];

/// A site and who sets it up: the organization's director (organization-wide).
#[derive(Clone)]
struct Place {
    org: OrganizationId,
    org_slug: &'static str,
    domain: &'static str,
    site: SiteId,
    director: String,
    group_service: String,
}

/// A Newark staff member: one role, scoped to Newark.
struct Account {
    role: Role,
    user: User,
    token: String,
}

struct World {
    app: TestApp,
    accounts: Vec<Account>,
    /// Each Newark account's own desk, in the order of `accounts`.
    own: Vec<Desk>,
    other_site: Desk,
    other_org: Desk,
    missing: Desk,
    /// The organization's settings as they are, for the routes that save them unchanged.
    measurement_settings: Value,
    documentation_settings: Value,
}

impl World {
    fn desk(&self, account: usize, v: Variant) -> &Desk {
        match v {
            Variant::Own => &self.own[account],
            Variant::OtherSite => &self.other_site,
            Variant::OtherOrg => &self.other_org,
            Variant::Missing => &self.missing,
        }
    }
}

fn sys(what: &str) -> AuditEvent {
    AuditEvent::system("test", AuditAction::Create, what, None)
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let body = if body.is_null() { None } else { Some(body) };
    let r = app.api(method.clone(), path, Some(token), body).await;
    assert!(r.status.is_success(), "setting up, {method} {path}: {} {}", r.status, r.body);
    if r.body.is_empty() { Value::Null } else { r.json() }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

async fn user(app: &TestApp, org: OrganizationId, email: &str, roles: &[Role], scope: Scope, hash: &str) -> User {
    let new = NewUser {
        organization_id: org,
        email: Email::parse(email).expect("email"),
        name: format!("Staff {email}"),
        roles: roles.to_vec(),
        scope,
        password_hash: hash.to_string(),
        mfa_exempt: false,
    };
    app.store.create_user(new, sys("user").in_org(org)).await.expect("user")
}

fn phq9(items: [i32; 9]) -> Value {
    let m: BTreeMap<String, i32> = items.iter().enumerate().map(|(i, v)| ((i + 1).to_string(), *v)).collect();
    json!(m)
}

fn consent() -> Value {
    json!({"discloser": "Harbor Light", "recipients": "Dr. Ames, primary care", "purpose": "Care coordination",
           "information": "Attendance and progress", "information_amount": "This episode's attendance", "expires_on": "2027-11-16",
           "signed_by": "Jordan Rivera", "signed_on": "2026-11-16", "signature_method": "paper", "revocation_explained": true,
           "refusal_consequences_explained": true, "redisclosure_notice_given": true})
}

fn safety_plan() -> Value {
    json!({"sections": {"warning_signs": "Not sleeping; skipping meals", "internal_coping": "Walk the dog; music",
        "social_distraction": "Coffee shop; sister's house", "people_to_ask": "Sister (555-0101)",
        "professionals": "Clinic, 988 Suicide & Crisis Lifeline", "safe_environment": "Medications kept by sister",
        "reasons_for_living": "My kids"}})
}

/// A treatment plan with one golden thread; `{service}` and `{staff}` are the desk's.
fn plan(service: &str, staff: &str) -> Value {
    json!({"reason": "initial", "problems": [{
        "statement": "Drinks daily to manage stress", "diagnosis": "F10.20", "dimensions": ["5"],
        "goals": [{"patient_words": "I want to keep my job", "objectives": [{
            "text": "Name three triggers and a coping skill for each", "target_date": "2026-12-15",
            "interventions": [{"description": "Relapse-prevention group", "service_type_id": service,
                "modality": "cbt", "frequency": "3 groups a week", "staff_id": staff}]}]}]}]})
}

/// A person to register: first name, last name.
fn person(site: SiteId, first: &str, last: &str) -> Value {
    json!({"site_id": site.to_string(), "legal_first": first, "legal_last": last, "date_of_birth": "1990-04-12", "state": "NJ",
           "allow_duplicate": true})
}

/// Sets up one desk at a place (see the module's story); `owner` owns its calendar feeds and
/// spare token (the Newark staff member whose desk it is, or the desk's clinician).
async fn desk(app: &TestApp, p: &Place, label: &str, owner: Option<UserId>, hash: &str) -> Desk {
    let d = p.director.as_str();
    let mut k = Desk::new();
    let site = p.site;
    k.insert("site", site.to_string());
    k.insert("service", p.group_service.clone());
    k.insert("org_slug", p.org_slug.to_string());
    let slug = label.to_lowercase().replace(' ', "-");
    // A licensed clinician of the site.
    let scope = Scope::Units { sites: vec![site], programs: vec![] };
    let clinician = user(app, p.org, &format!("clinician.{slug}@{}", p.domain), &[Role::Clinician], scope, hash).await;
    let staff = clinician.id.to_string();
    ok(app, Method::PUT, &format!("/api/v1/staff/{staff}/profile"), d, json!({"discipline": "Clinical"})).await;
    let credential = json!({"kind": "LCSW", "number": "1", "state": "NJ", "issued_on": "2020-01-01", "expires_on": "2030-01-01"});
    let c = id_of(&ok(app, Method::POST, &format!("/api/v1/staff/{staff}/credentials"), d, credential).await);
    ok(app, Method::POST, &format!("/api/v1/credentials/{c}/verification"), d, json!({"status": "verified"})).await;
    k.insert("credential", c);
    // An evening IOP with a hybrid track and its weekly template, a room and two cadences.
    let program = json!({"site_id": site.to_string(), "name": format!("{label} Evening IOP"), "condition_focus": "substance_use",
                         "population": "adult", "delivery_modes": ["in_person", "virtual"]});
    let program = ok(app, Method::POST, "/api/v1/programs", d, program).await;
    let pid = id_of(&program);
    k.insert("program_slug", program["slug"].as_str().expect("slug").to_string());
    let track = id_of(
        &ok(app, Method::POST, &format!("/api/v1/programs/{pid}/tracks"), d, json!({"name": "Evenings", "delivery_mode": "hybrid"})).await,
    );
    for (key, weekday) in [("template", "wed"), ("template2", "thu")] {
        let t = json!({"service_type_id": p.group_service, "weekday": weekday, "start": "18:00", "minutes": 90, "is_virtual": true,
                       "leader_id": staff, "topic": "Coping skills"});
        k.insert(key, id_of(&ok(app, Method::POST, &format!("/api/v1/tracks/{track}/template"), d, t).await));
    }
    let room = json!({"name": format!("{label} group room"), "kind": "group", "capacity": 12});
    k.insert("room", id_of(&ok(app, Method::POST, &format!("/api/v1/sites/{site}/rooms"), d, room).await));
    for (key, instrument) in [("cadence", "phq9"), ("cadence2", "gad7")] {
        let c = json!({"instrument": instrument, "every_days": 14});
        k.insert(key, id_of(&ok(app, Method::POST, &format!("/api/v1/programs/{pid}/cadences"), d, c).await));
    }
    // Jordan and Casey in care; Riley and Sam registered only.
    let mut patients = Vec::new();
    for (key, first) in [("patient", "Jordan"), ("patient2", "Casey"), ("patient3", "Riley"), ("patient4", "Sam")] {
        let id = id_of(&ok(app, Method::POST, "/api/v1/patients", d, person(site, first, "Rivera")).await);
        k.insert(key, id.clone());
        patients.push(id);
    }
    for (key, patient) in [("episode", &patients[0]), ("episode2", &patients[1])] {
        let a = json!({"program_id": pid, "track_id": track, "admitted_on": "2026-11-02", "primary_clinician_id": staff,
                       "diagnoses": "F10.20"});
        let e = id_of(&ok(app, Method::POST, &format!("/api/v1/patients/{patient}/episodes"), d, a).await);
        k.insert(key, e);
    }
    for key in ["consent", "consent2"] {
        k.insert(key, id_of(&ok(app, Method::POST, &format!("/api/v1/patients/{}/consents", patients[0]), d, consent()).await));
    }
    for (key, first) in [("referral", "Drew"), ("referral2", "Avery")] {
        let r = json!({"site_id": site.to_string(), "program_id": pid, "source": "self", "reason": "Asked for help after a relapse",
                       "urgency": "routine", "legal_first": first, "legal_last": format!("{label} Walker"), "date_of_birth": "1988-02-03",
                       "state": "NJ"});
        k.insert(key, id_of(&ok(app, Method::POST, "/api/v1/referrals", d, r).await));
    }
    // This morning's groups (07:00 is under way), each with a draft note.
    for (key, note, start, patient) in [("session", "note", "07:00", &patients[0]), ("session2", "note2", "06:00", &patients[1])] {
        let s = json!({"site_id": site.to_string(), "program_id": pid, "service_type_id": p.group_service, "date": "2026-11-16",
                       "start": start, "minutes": "50", "is_virtual": true, "leader_ids": [staff],
                       "patient_ids": [patients[0], patients[1]]});
        let sid = id_of(&ok(app, Method::POST, "/api/v1/sessions", d, s).await);
        let n = json!({"patient_id": patient, "sections": {"data": "Attended", "assessment": "Engaged", "plan": "Continue"}});
        k.insert(note, id_of(&ok(app, Method::POST, &format!("/api/v1/sessions/{sid}/notes"), d, n).await));
        k.insert(key, sid);
    }
    // Clinical records: draft plans, a safety plan, risk flags from a PHQ-9, patient links.
    let episodes = [k["episode"].clone(), k["episode2"].clone()];
    for (key, e) in [("plan", &episodes[0]), ("plan2", &episodes[1])] {
        k.insert(key, id_of(&ok(app, Method::POST, &format!("/api/v1/episodes/{e}/plan"), d, plan(&p.group_service, &staff)).await));
    }
    ok(app, Method::PUT, &format!("/api/v1/episodes/{}/safety-plan", episodes[0]), d, safety_plan()).await;
    for (key, e) in [("flag", &episodes[0]), ("flag2", &episodes[1])] {
        let m = json!({"instrument": "phq9", "responses": phq9([1, 1, 1, 1, 1, 1, 1, 0, 1])});
        let r = ok(app, Method::POST, &format!("/api/v1/episodes/{e}/measurements"), d, m).await;
        k.insert(key, r["risk_flag"]["id"].as_str().expect("item 9 raises a flag").to_string());
    }
    for key in ["link", "link2"] {
        let l =
            ok(app, Method::POST, &format!("/api/v1/episodes/{}/measurement-links", episodes[0]), d, json!({"instrument": "phq9"})).await;
        k.insert(key, l["path"].as_str().expect("path").trim_start_matches("/m/").to_string());
    }
    // Calendar subscriptions and a spare API token of the desk's owner.
    let owner = owner.unwrap_or(clinician.id);
    for key in ["feed", "feed2"] {
        let before: Vec<_> =
            app.store.feeds(p.org, FeedOwner::Staff, &owner.to_string()).await.expect("feeds").into_iter().map(|f| f.id).collect();
        let f = ok(app, Method::POST, "/api/v1/calendar-feeds", d, json!({"owner": "staff", "owner_id": owner.to_string()})).await;
        let after = app.store.feeds(p.org, FeedOwner::Staff, &owner.to_string()).await.expect("feeds");
        let new = after.into_iter().find(|f| !before.contains(&f.id)).expect("the new feed");
        k.insert(key, new.id.to_string());
        if key == "feed" {
            k.insert("feed_file", f["path"].as_str().expect("path").trim_start_matches("/calendar/").to_string());
        }
    }
    let secret = format!("oiop_{}", openiop_app::security::random_token().expect("random"));
    let ev = AuditEvent::system("test", AuditAction::TokenCreated, "api_token", None).in_org(p.org);
    let t = app.store.create_token(owner, "spare", &openiop_app::security::sha256_hex(&secret), ev).await.expect("token");
    k.insert("token", t.id.to_string());
    k.insert("program", pid);
    k.insert("track", track);
    k.insert("staff", staff);
    k
}

/// Ids of records that do not exist, one per kind.
fn missing(like: &Desk) -> Desk {
    let mut k: Desk = like.keys().map(|key| (*key, uuid::Uuid::new_v4().to_string())).collect();
    k.insert("program_slug", "no-such-program".into());
    k.insert("org_slug", "no-such-organization".into());
    k.insert("link", "no-such-link-0123456789abcdefghijklmnopqrstuvwxyz".into());
    k.insert("link2", "no-such-link-zyxwvutsrqponmlkjihgfedcba9876543210".into());
    k.insert("feed_file", "no-such-feed-0123456789abcdefghijklmnopqrstuvwxyz.ics".into());
    k
}

async fn world(engine: &'static str) -> World {
    let app = TestApp::with_config(engine, |c| {
        c.clock_at(monday());
    })
    .await;
    let hash = openiop_app::security::hash_password(PASSWORD).expect("hash");
    // Harbor Light: its director, its second site (Trenton).
    let org = app.org.id;
    let director = user(&app, org, "director@harbor.org", &[Role::ClinicalDirector], Scope::Organization, &hash).await;
    let director = app.token(&director).await;
    let trenton = json!({"name": "Harbor Light Trenton", "line1": "2 State St", "city": "Trenton", "state": "NJ", "postal_code": "08608",
                         "time_zone": "America/New_York"});
    let trenton: SiteId = id_of(&ok(&app, Method::POST, "/api/v1/sites", &director, trenton).await).parse().expect("site id");
    let group = |services: &Value| {
        services.as_array().expect("services").iter().find(|s| s["code"] == "group_therapy").expect("group therapy")["id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let services = ok(&app, Method::GET, "/api/v1/service-types", &director, Value::Null).await;
    let newark = Place {
        org,
        org_slug: "harbor-light",
        domain: "harbor.org",
        site: app.site.id,
        director: director.clone(),
        group_service: group(&services),
    };
    let trenton = Place { site: trenton, ..newark.clone() };
    // Lakeside: another organization, with its own director and site.
    let lakeside =
        app.store.create_organization("Lakeside", &Slug::parse("lakeside").expect("slug"), false, sys("organization")).await.expect("org");
    let camden = NewSite::parse("Lakeside Camden", "3 Main St", "Camden", "NJ", "08101", "America/New_York").expect("site");
    let camden = app.store.create_site(lakeside.id, camden, sys("site").in_org(lakeside.id)).await.expect("site");
    let roles = [Role::Admin, Role::ClinicalDirector];
    let lakeside_director = user(&app, lakeside.id, "director@lakeside.org", &roles, Scope::Organization, &hash).await;
    let lakeside_director = app.token(&lakeside_director).await;
    let services = ok(&app, Method::GET, "/api/v1/service-types", &lakeside_director, Value::Null).await;
    let camden = Place {
        org: lakeside.id,
        org_slug: "lakeside",
        domain: "lakeside.org",
        site: camden.id,
        director: lakeside_director,
        group_service: group(&services),
    };
    // Nine Newark staff members, one per role, and their desks.
    let mut accounts = Vec::new();
    let mut own = Vec::new();
    for role in Role::ALL {
        let scope = Scope::Units { sites: vec![newark.site], programs: vec![] };
        let u = user(&app, org, &format!("{}@harbor.org", role.as_str().replace('_', ".")), &[role], scope, &hash).await;
        let token = app.token(&u).await;
        own.push(desk(&app, &newark, &format!("Newark {}", role.as_str().replace('_', " ")), Some(u.id), &hash).await);
        accounts.push(Account { role, user: u, token });
    }
    let other_site = desk(&app, &trenton, "Trenton", None, &hash).await;
    let other_org = desk(&app, &camden, "Camden", None, &hash).await;
    let missing = missing(&other_site);
    let measurement_settings = ok(&app, Method::GET, "/api/v1/measurement-settings", &director, Value::Null).await;
    let documentation_settings = ok(&app, Method::GET, "/api/v1/documentation/settings", &director, Value::Null).await;
    World { app, accounts, own, other_site, other_org, missing, measurement_settings, documentation_settings }
}

// ---- The routes -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Api,
    Page,
}

/// One route and a request to it: its path as the API document or `startup.rs` names it, what
/// goes in each `{…}` of the path (a kind of record, or `=literal`), and a valid body. `{kind}`
/// in the query or the body is that kind's record in the request's place; `{n}` is a number of
/// the request's own and `{day}` a date of its own (for names and dates that must not repeat).
struct Route {
    surface: Surface,
    method: Method,
    path: &'static str,
    fill: &'static [&'static str],
    query: &'static str,
    json: Option<Value>,
    form: Vec<(String, String)>,
    /// A public page or a capability link: anyone holding the link may open it.
    open: bool,
}

fn route(surface: Surface, method: &str, path: &'static str) -> Route {
    Route { surface, method: method.parse().expect("method"), path, fill: &[], query: "", json: None, form: Vec::new(), open: false }
}

fn api(method: &str, path: &'static str) -> Route {
    route(Surface::Api, method, path)
}

fn page(method: &str, path: &'static str) -> Route {
    route(Surface::Page, method, path)
}

impl Route {
    fn on(mut self, fill: &'static [&'static str]) -> Self {
        assert_eq!(fill.len(), self.path.matches('{').count(), "{}: one fill per path parameter", self.path);
        self.fill = fill;
        self
    }

    fn query(mut self, q: &'static str) -> Self {
        self.query = q;
        self
    }

    fn json(mut self, v: Value) -> Self {
        self.json = Some(v);
        self
    }

    fn form(mut self, f: &[(&str, &str)]) -> Self {
        self.form = f.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self
    }

    fn form_with(mut self, extra: &[(&str, &str)]) -> Self {
        self.form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    fn form_pairs(mut self, f: Vec<(String, String)>) -> Self {
        self.form = f;
        self
    }

    fn allow_duplicate(mut self) -> Self {
        self.json.get_or_insert_with(|| json!({}))["allow_duplicate"] = json!(true);
        self
    }

    fn json_with(mut self, extra: &[(&str, &str)]) -> Self {
        let body = self.json.get_or_insert_with(|| json!({}));
        for (k, v) in extra {
            body[*k] = json!(v);
        }
        self
    }

    fn open(mut self) -> Self {
        self.open = true;
        self
    }

    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The request's path and query, before the place's records are put in.
    fn target(&self) -> String {
        let mut out = String::new();
        let mut fills = self.fill.iter();
        let mut rest = self.path;
        while let Some(start) = rest.find('{') {
            let end = rest[start..].find('}').expect("closing brace") + start;
            out.push_str(&rest[..start]);
            match fills.next().expect("a fill for every parameter") {
                f if f.starts_with('=') => out.push_str(&f[1..]),
                f => write!(out, "{{{f}}}").expect("write"),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out.push_str(self.query);
        out
    }

    /// Whether the request names a record (and so has the four variants).
    fn names_records(&self, desk: &Desk) -> bool {
        let text = format!(
            "{} {} {}",
            self.target(),
            self.json.as_ref().map(Value::to_string).unwrap_or_default(),
            self.form.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
        );
        desk.keys().any(|k| text.contains(&format!("{{{k}}}")))
    }
}

/// A questionnaire written for this test (three invented items, a plain sum).
fn questionnaire() -> Value {
    json!({"resourceType": "Questionnaire", "status": "draft", "title": "Weekly stress check (test)",
           "item": [{"linkId": "worry", "type": "integer", "text": "On how many days did worry wake you?",
                     "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
                                   {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 7}]}]})
}

fn program_body(name: &str) -> Value {
    json!({"site_id": "{site}", "name": name, "condition_focus": "substance_use", "population": "adult",
           "delivery_modes": ["in_person", "virtual"]})
}

const SITE: &[(&str, &str)] = &[
    ("name", "Harbor Light Camden {n}"),
    ("line1", "9 Cooper St"),
    ("city", "Camden"),
    ("state", "NJ"),
    ("postal_code", "08102"),
    ("time_zone", "America/New_York"),
];
const CREDENTIAL: &[(&str, &str)] =
    &[("kind", "LPC"), ("number", "2"), ("state", "NJ"), ("issued_on", "2021-01-01"), ("expires_on", "2031-01-01")];
const WALK_IN: &[(&str, &str)] = &[("legal_first", "Quinn"), ("legal_last", "Walker"), ("date_of_birth", "1992-07-08"), ("state", "NJ")];
const ADMISSION: &[(&str, &str)] = &[("program_id", "{program}"), ("admitted_on", "2026-11-16"), ("diagnoses", "F10.20")];
const DISCHARGE: &[(&str, &str)] = &[
    ("date", "2026-11-16"),
    ("kind", "completed"),
    ("reason", "Goals met"),
    ("next_level_code", "1"),
    ("next_provider", "Harbor Light outpatient clinic"),
    ("appointments", "Weekly outpatient group"),
    ("supports", "Sponsor; home group"),
    ("relapse_prevention", "Call the sponsor the same day"),
];
const ASSESSMENT: &[(&str, &str)] = &[
    ("risk_level", "low"),
    ("findings", "Passive thoughts last week; none now, no plan, no intent."),
    ("disposition", "Continue the program; 988 information given"),
];
const PHQ9_PAGE: &[(&str, &str)] = &[
    ("item_1", "1"),
    ("item_2", "1"),
    ("item_3", "1"),
    ("item_4", "1"),
    ("item_5", "1"),
    ("item_6", "1"),
    ("item_7", "1"),
    ("item_8", "1"),
    ("item_9", "0"),
];

/// A JSON object of text fields.
fn object(fields: &[(&str, &str)]) -> Value {
    json!(fields.iter().copied().collect::<BTreeMap<_, _>>())
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect()
}

/// Every route, in the order they run: reads first, then what adds and changes, then what
/// closes, revokes, clears or discharges (the requests write, and the later ones need the
/// records the earlier ones leave).
fn routes(w: &World) -> Vec<Route> {
    let admission = json!({"program_id": "{program}", "admitted_on": "2026-11-16", "diagnoses": "F10.20"});
    let group_note = json!({"topic": "Triggers", "modality": "cbt", "interventions": "Taught urge surfing",
        "entries": [{"patient_id": "{patient}", "individualized": "Jordan named payday as a trigger and practised urge surfing."},
                    {"patient_id": "{patient2}", "individualized": "Casey described a calm hour each morning as a new routine."}]});
    let ms = &w.measurement_settings;
    let follow_ups: Vec<String> = ms["follow_up_days"].as_array().expect("days").iter().map(Value::to_string).collect();
    let measurement_form = vec![
        ("no_improvement_weeks".to_string(), ms["no_improvement_weeks"].to_string()),
        ("follow_up_days".to_string(), follow_ups.join(",")),
        ("link_expiry_days".to_string(), ms["link_expiry_days"].to_string()),
        ("risk_task_due_hours".to_string(), ms["risk_task_due_hours"].to_string()),
    ];
    vec![
        // Reads.
        api("GET", "/api/v1/me"),
        api("GET", "/api/v1/sites"),
        api("GET", "/api/v1/programs"),
        api("GET", "/api/v1/programs/{id}").on(&["program"]),
        api("GET", "/api/v1/programs/{id}/tracks").on(&["program"]),
        api("GET", "/api/v1/programs/{id}/cadences").on(&["program"]),
        api("GET", "/api/v1/programs/{id}/hours").on(&["program"]).query("?week=2026-W47"),
        api("GET", "/api/v1/rooms"),
        api("GET", "/api/v1/service-types"),
        api("GET", "/api/v1/staff"),
        api("GET", "/api/v1/credentials/expiring"),
        api("GET", "/api/v1/public/programs/{slug}").on(&["program_slug"]).open(),
        api("GET", "/api/v1/instruments"),
        api("GET", "/api/v1/measurement-settings"),
        api("GET", "/api/v1/documentation/settings"),
        api("GET", "/api/v1/documentation/home"),
        api("GET", "/api/v1/audit-log"),
        api("GET", "/api/v1/patients").query("?q=Jordan"),
        api("GET", "/api/v1/patients/{id}").on(&["patient"]),
        api("GET", "/api/v1/patients/{id}/measurements").on(&["patient"]),
        api("GET", "/api/v1/referrals"),
        api("GET", "/api/v1/episodes/{id}").on(&["episode"]),
        api("GET", "/api/v1/episodes/{id}/hours").on(&["episode"]).query("?week=2026-W47"),
        api("GET", "/api/v1/episodes/{id}/make-ups").on(&["episode"]).query("?week=2026-W47"),
        api("GET", "/api/v1/episodes/{id}/notes").on(&["episode"]),
        api("GET", "/api/v1/episodes/{id}/plan").on(&["episode"]),
        api("GET", "/api/v1/episodes/{id}/safety-plan").on(&["episode"]),
        api("GET", "/api/v1/plan-versions/{id}").on(&["plan"]),
        api("GET", "/api/v1/hours").query("?week=2026-W47"),
        api("GET", "/api/v1/program-outcomes").query("?program_id={program}"),
        api("GET", "/api/v1/program-outcomes.csv").query("?program_id={program}"),
        api("GET", "/api/v1/tasks"),
        api("GET", "/api/v1/risk-flags/{id}").on(&["flag"]),
        api("GET", "/api/v1/sessions").query("?from=2026-11-16&to=2026-11-23&patient={patient}"),
        api("GET", "/api/v1/sessions/{id}").on(&["session"]),
        api("GET", "/api/v1/sessions/{id}/notes").on(&["session"]),
        api("GET", "/api/v1/notes/{id}").on(&["note"]),
        page("GET", "/"),
        page("GET", "/login"),
        page("GET", "/mfa"),
        page("GET", "/account"),
        page("GET", "/audit"),
        page("GET", "/audit.csv"),
        page("GET", "/programs/{slug}").on(&["program_slug"]).open(),
        page("GET", "/directory/{org}").on(&["org_slug"]).open(),
        page("GET", "/admin/programs"),
        page("GET", "/admin/programs/{id}").on(&["program"]),
        page("GET", "/admin/staff"),
        page("GET", "/admin/sites"),
        page("GET", "/patients").query("?q=Jordan"),
        page("GET", "/patients/new"),
        page("GET", "/patients/{id}").on(&["patient"]),
        page("GET", "/patients/{id}/outcomes").on(&["patient"]),
        page("GET", "/referrals"),
        page("GET", "/referrals/{id}").on(&["referral"]),
        page("GET", "/episodes/{id}/measure").on(&["episode"]).query("?instrument=phq9"),
        page("GET", "/episodes/{id}/measure/{code}").on(&["episode", "=phq9"]),
        page("GET", "/episodes/{id}/safety-plan").on(&["episode"]),
        page("GET", "/episodes/{id}/plan").on(&["episode"]),
        page("GET", "/episodes/{id}/make-ups").on(&["episode"]).query("?week=2026-W47"),
        page("GET", "/risk-flags/{id}/assess").on(&["flag"]),
        page("GET", "/m/{token}").on(&["link"]).open(),
        page("GET", "/outcomes").query("?program_id={program}"),
        page("GET", "/outcomes.csv").query("?program_id={program}"),
        page("GET", "/measurement"),
        page("GET", "/schedule").query("?week=2026-W47&patient={patient}"),
        page("GET", "/optimizer"),
        page("GET", "/programs/{id}/hours").on(&["program"]).query("?week=2026-W47"),
        page("GET", "/sessions/{id}").on(&["session"]),
        page("GET", "/sessions/{id}/sign-in-sheet").on(&["session"]),
        page("GET", "/sessions/{id}/notes").on(&["session"]),
        page("GET", "/documentation"),
        page("GET", "/notes/{id}").on(&["note"]),
        page("GET", "/calendar/{file}").on(&["feed_file"]).open(),
        page("GET", "/api/openapi.json"),
        page("GET", "/healthz"),
        page("GET", "/readyz"),
        page("GET", "/metrics"),
        page("GET", "/static/app.css"),
        // Signing in is not for the signed-in: each answer leaves their session as it was.
        page("POST", "/login"),
        page("POST", "/mfa"),
        page("POST", "/mfa/enroll"),
        // Settings, programs, sites and staff.
        api("PUT", "/api/v1/documentation/settings").json(w.documentation_settings.clone()),
        api("PUT", "/api/v1/measurement-settings").json(w.measurement_settings.clone()),
        page("POST", "/measurement/settings").form_pairs(measurement_form),
        api("POST", "/api/v1/instruments/import").json(json!({"questionnaire": questionnaire(), "scoring_for": "stress-{n}"})),
        page("POST", "/measurement/import").form(&[("scoring_for", "stress-{n}"), ("questionnaire", &questionnaire().to_string())]),
        api("POST", "/api/v1/sites").json(object(SITE)),
        page("POST", "/admin/sites").form(SITE),
        api("POST", "/api/v1/sites/{id}/rooms").on(&["site"]).json(json!({"name": "Office {n}", "kind": "office", "capacity": 2})),
        page("POST", "/admin/sites/{id}/rooms").on(&["site"]).form(&[("name", "Office {n}"), ("kind", "office"), ("capacity", "2")]),
        api("POST", "/api/v1/sites/{id}/closures").on(&["site"]).json(json!({"date": "{day}", "reason": "Staff training"})),
        api("POST", "/api/v1/programs").json(program_body("Program {n}")),
        page("POST", "/admin/programs").form(&[
            ("site_id", "{site}"),
            ("name", "Program {n}"),
            ("condition_focus", "substance_use"),
            ("population", "adult"),
            ("delivery_modes[]", "in_person"),
        ]),
        api("PUT", "/api/v1/programs/{id}").on(&["program"]).json({
            let mut b = program_body("Evening IOP {n}");
            b["slug"] = json!("{program_slug}");
            b
        }),
        page("POST", "/admin/programs/{id}").on(&["program"]).form(&[
            ("site_id", "{site}"),
            ("name", "Evening IOP {n}"),
            ("slug", "{program_slug}"),
            ("condition_focus", "substance_use"),
            ("population", "adult"),
            ("delivery_modes[]", "in_person"),
            ("delivery_modes[]", "virtual"),
        ]),
        api("POST", "/api/v1/programs/{id}/tracks").on(&["program"]).json(json!({"name": "Track {n}", "delivery_mode": "hybrid"})),
        page("POST", "/admin/programs/{id}/tracks").on(&["program"]).form(&[("name", "Track {n}"), ("delivery_mode", "virtual")]),
        api("POST", "/api/v1/programs/{id}/cadences").on(&["program"]).json(json!({"instrument": "dast10", "every_days": 28})),
        page("POST", "/measurement/cadences").form(&[("program_id", "{program}"), ("instrument", "audit"), ("every_days", "28")]),
        api("PUT", "/api/v1/staff/{user_id}/profile").on(&["staff"]).json(json!({"discipline": "Clinical"})),
        page("POST", "/admin/staff/{id}/profile").on(&["staff"]).form(&[("discipline", "Clinical")]),
        api("POST", "/api/v1/staff/{user_id}/credentials").on(&["staff"]).json(object(CREDENTIAL)),
        page("POST", "/admin/staff/credentials").form(CREDENTIAL).form_with(&[("user_id", "{staff}")]),
        api("POST", "/api/v1/credentials/{id}/verification").on(&["credential"]).json(json!({"status": "verified"})),
        page("POST", "/admin/credentials/{id}/verify").on(&["credential"]).form(&[("status", "verified")]),
        // The schedule: templates, generation, sessions, the optimizer's proposal.
        api("POST", "/api/v1/tracks/{id}/template").on(&["track"]).json(json!({"service_type_id": "{service}", "weekday": "sat",
            "start": "10:00", "minutes": 60, "is_virtual": true, "leader_id": "{staff}", "topic": "Family day"})),
        page("POST", "/admin/tracks/{id}/template").on(&["track"]).form(&[
            ("service_type_id", "{service}"),
            ("weekday", "sun"),
            ("start", "10:00"),
            ("minutes", "60"),
            ("is_virtual", "on"),
            ("leader_id", "{staff}"),
            ("topic", "Sunday check-in"),
        ]),
        api("POST", "/api/v1/tracks/{id}/generate").on(&["track"]).json(json!({"week": "2026-W47"})),
        page("POST", "/schedule/generate").form(&[("track_id", "{track}"), ("week", "2026-W47")]),
        api("POST", "/api/v1/sessions").json(json!({"site_id": "{site}", "program_id": "{program}", "service_type_id": "{service}",
            "date": "2026-11-17", "start": "10:00", "minutes": "50", "is_virtual": true, "leader_ids": ["{staff}"],
            "patient_ids": ["{patient}"]})),
        page("POST", "/optimizer/propose").form(&[("site_id", "{site}"), ("week", "2026-W50")]),
        api("POST", "/api/v1/calendar-feeds").json(json!({"owner": "staff", "owner_id": "{staff}"})),
        page("POST", "/account/calendar"),
        page("POST", "/account/tokens").form(&[("name", "Laptop {n}")]),
        // Patients, referrals and episodes.
        api("POST", "/api/v1/patients").json(object(WALK_IN)).json_with(&[("site_id", "{site}")]).allow_duplicate(),
        page("POST", "/patients/new").form(WALK_IN).form_with(&[("site_id", "{site}"), ("allow_duplicate", "on")]),
        api("PUT", "/api/v1/patients/{id}").on(&["patient"]).json(json!({"legal_first": "Jordan", "legal_last": "Rivera",
            "date_of_birth": "1990-04-12", "state": "NJ", "phone": "973-555-0101"})),
        api("POST", "/api/v1/patients/{id}/collaterals").on(&["patient"]).json(json!({"name": "Alex Rivera", "relationship": "Brother"})),
        page("POST", "/patients/{id}/collaterals").on(&["patient"]).form(&[("name", "Sam Rivera"), ("relationship", "Mother")]),
        api("POST", "/api/v1/patients/{id}/coverages").on(&["patient"]).json(json!({"payer": "Aetna", "member_id": "W123456"})),
        page("POST", "/patients/{id}/coverages").on(&["patient"]).form(&[("payer", "Medicaid"), ("member_id", "M98765")]),
        api("POST", "/api/v1/patients/{id}/consents").on(&["patient"]).json(consent()),
        page("POST", "/patients/{id}/consents").on(&["patient"]).form(&[
            ("discloser", "Harbor Light"),
            ("recipients", "Harbor Light outpatient clinic"),
            ("purpose", "Aftercare"),
            ("information", "Discharge summary"),
            ("information_amount", "The discharge summary only"),
            ("expires_on", "2027-11-16"),
            ("signed_by", "Jordan Rivera"),
            ("signed_on", "2026-11-16"),
            ("signature_method", "paper"),
            ("revocation_explained", "on"),
            ("refusal_consequences_explained", "on"),
            ("redisclosure_notice_given", "on"),
        ]),
        api("POST", "/api/v1/patients/{id}/episodes").on(&["patient3"]).json(admission.clone()),
        page("POST", "/patients/{id}/admit").on(&["patient4"]).form(ADMISSION),
        api("POST", "/api/v1/referrals").json(json!({"site_id": "{site}", "program_id": "{program}", "source": "self",
            "reason": "Asked for help", "urgency": "routine", "legal_first": "Drew", "legal_last": "Walker",
            "date_of_birth": "1988-02-03", "state": "NJ"})),
        page("POST", "/referrals").form(&[
            ("site_id", "{site}"),
            ("program_id", "{program}"),
            ("source", "self"),
            ("reason", "Asked for help"),
            ("urgency", "routine"),
            ("legal_first", "Avery"),
            ("legal_last", "Walker"),
            ("date_of_birth", "1988-02-03"),
            ("state", "NJ"),
        ]),
        api("POST", "/api/v1/referrals/{id}/status").on(&["referral"]).json(json!({"status": "screening"})),
        page("POST", "/referrals/{id}/status").on(&["referral2"]).form(&[("status", "screening")]),
        api("POST", "/api/v1/episodes/{id}/levels").on(&["episode"]).json(json!({"line": "clinical", "level_code": "2.5",
            "from": "2026-11-16", "reason": "Weekly review"})),
        page("POST", "/episodes/{id}/level").on(&["episode"]).form(&[
            ("line", "authorized"),
            ("level_code", "2.1"),
            ("from", "2026-11-16"),
            ("reason", "Payer authorized 14 days"),
        ]),
        api("POST", "/api/v1/episodes/{id}/track").on(&["episode"]).json(json!({"track_id": "{track}"})),
        page("POST", "/episodes/{id}/track").on(&["episode"]).form(&[("track_id", "{track}")]),
        api("POST", "/api/v1/episodes/{id}/join-track").on(&["episode"]).json(json!({"track_id": "{track}", "from": "2026-11-17"})),
        api("POST", "/api/v1/episodes/{id}/status").on(&["episode"]).json(json!({"status": "active"})),
        page("POST", "/episodes/{id}/status").on(&["episode"]).form(&[("status", "active")]),
        page("POST", "/episodes/{id}/reassessment").on(&["episode"]),
        api("POST", "/api/v1/episodes/{id}/diagnoses").on(&["episode"]).json(json!({"codes": "F41.1"})),
        page("POST", "/episodes/{id}/diagnoses").on(&["episode"]).form(&[("codes", "F43.10")]),
        // Measurement-based care.
        api("POST", "/api/v1/episodes/{id}/measurements").on(&["episode"]).json(json!({"instrument": "phq9",
            "responses": phq9([1, 1, 1, 1, 1, 1, 1, 1, 0])})),
        page("POST", "/episodes/{id}/measure/{code}")
            .on(&["episode", "=phq9"])
            .form(PHQ9_PAGE)
            .form_with(&[("administered_on", "2026-11-16")]),
        api("POST", "/api/v1/episodes/{id}/measurement-links").on(&["episode"]).json(json!({"instrument": "phq9"})),
        page("POST", "/episodes/{id}/measurement-links").on(&["episode"]).form(&[("instrument", "gad7")]),
        api("PUT", "/api/v1/episodes/{id}/safety-plan").on(&["episode"]).json(safety_plan()),
        page("POST", "/episodes/{id}/safety-plan").on(&["episode"]).form_pairs(pairs(&safety_plan()["sections"])),
        // This morning's group: who is in it, who came, the notes.
        api("POST", "/api/v1/sessions/{id}/participants").on(&["session"]).json(json!({"add": ["{patient}"]})),
        page("POST", "/sessions/{id}/participants").on(&["session"]).form(&[("patient_id", "{patient}")]),
        api("POST", "/api/v1/sessions/{id}/attendance").on(&["session"]).json(json!({"rows": [{"patient_id": "{patient}",
            "status": "present", "minutes": 50, "mode": "virtual"}]})),
        page("POST", "/sessions/{id}/attendance").on(&["session"]).form(&[
            ("status_{patient}", "present"),
            ("minutes_{patient}", "50"),
            ("mode_{patient}", "virtual"),
        ]),
        api("PUT", "/api/v1/notes/{id}").on(&["note"]).json(json!({"sections": {"data": "Attended on time", "assessment": "Engaged",
            "plan": "Continue the group"}})),
        api("POST", "/api/v1/sessions/{id}/notes").on(&["session"]).json(json!({"patient_id": "{patient}",
            "sections": {"data": "Attended", "assessment": "Engaged", "plan": "Continue"}})),
        page("POST", "/sessions/{id}/notes").on(&["session"]).form(&[
            ("patient_id", "{patient}"),
            ("section_data", "Attended"),
            ("section_assessment", "Engaged"),
            ("section_plan", "Continue"),
            ("intent", "draft"),
        ]),
        api("POST", "/api/v1/sessions/{id}/group-note/check").on(&["session"]).json(group_note.clone()),
        api("POST", "/api/v1/sessions/{id}/group-note").on(&["session"]).json(group_note),
        page("POST", "/sessions/{id}/group-note").on(&["session"]).form(&[
            ("topic", "Triggers"),
            ("modality", "cbt"),
            ("interventions", "Taught urge surfing"),
            ("individualized_{patient}", "Jordan named payday as a trigger and practised urge surfing."),
            ("individualized_{patient2}", "Casey described a calm hour each morning as a new routine."),
            ("intent", "draft"),
        ]),
        api("POST", "/api/v1/notes/{id}/sign").on(&["note"]),
        page("POST", "/notes/{id}/sign").on(&["note2"]),
        api("POST", "/api/v1/notes/{id}/cosign").on(&["note"]),
        page("POST", "/notes/{id}/cosign").on(&["note2"]),
        api("POST", "/api/v1/notes/{id}/addenda").on(&["note"]).json(json!({"text": "Also attended the family hour."})),
        page("POST", "/notes/{id}/addenda").on(&["note2"]).form(&[("text", "Correction: arrived at 06:10.")]),
        // Treatment plans.
        api("PUT", "/api/v1/plan-versions/{id}").on(&["plan"]).json(plan("{service}", "{staff}")),
        api("POST", "/api/v1/plan-versions/{id}/sign").on(&["plan"]),
        page("POST", "/plan-versions/{id}/sign").on(&["plan2"]),
        api("POST", "/api/v1/plan-versions/{id}/cosign").on(&["plan"]),
        page("POST", "/plan-versions/{id}/cosign").on(&["plan2"]),
        api("POST", "/api/v1/plan-versions/{id}/acknowledge").on(&["plan"]).json(json!({"patient_name": "Jordan Rivera"})),
        page("POST", "/plan-versions/{id}/acknowledge").on(&["plan2"]).form(&[("patient_name", "Casey Rivera")]),
        api("POST", "/api/v1/episodes/{id}/plan").on(&["episode"]).json({
            let mut p = plan("{service}", "{staff}");
            p["reason"] = json!("review");
            p
        }),
        page("POST", "/episodes/{id}/plan").on(&["episode"]).form(&[
            ("statement", "Sleeps four hours a night"),
            ("diagnosis", "F10.20"),
            ("dimension", "3"),
            ("patient_words", "I want to sleep through the night"),
            ("objective", "Keep a sleep diary for two weeks"),
            ("target_date", "2026-12-15"),
            ("intervention", "Sleep hygiene group"),
            ("service_type_id", "{service}"),
            ("modality", "cbt"),
            ("frequency", "Weekly"),
            ("staff_id", "{staff}"),
        ]),
        // What closes, revokes, clears or ends.
        page("POST", "/optimizer/accept").form(&[("site_id", "{site}"), ("week", "2026-W50")]),
        api("POST", "/api/v1/risk-flags/{id}/assessment").on(&["flag"]).json(object(ASSESSMENT)),
        page("POST", "/risk-flags/{id}/assess").on(&["flag2"]).form(ASSESSMENT),
        api("POST", "/api/v1/patients/{id}/consents/{consent_id}/revoke")
            .on(&["patient", "consent"])
            .json(json!({"revoked_by": "Jordan Rivera"})),
        page("POST", "/patients/{id}/consents/{cid}/revoke").on(&["patient", "consent2"]).form(&[("revoked_by", "Jordan Rivera")]),
        api("POST", "/api/v1/referrals/{id}/accept").on(&["referral"]).json(admission),
        page("POST", "/referrals/{id}/accept").on(&["referral2"]).form(ADMISSION),
        api("DELETE", "/api/v1/cadences/{id}").on(&["cadence"]),
        page("POST", "/measurement/cadences/{id}/remove").on(&["cadence2"]),
        api("DELETE", "/api/v1/tracks/{id}/template/{session_id}").on(&["track", "template"]),
        page("POST", "/admin/tracks/{id}/template/{sid}/remove").on(&["track", "template2"]),
        api("DELETE", "/api/v1/calendar-feeds/{id}").on(&["feed"]),
        page("POST", "/account/calendar/{id}/revoke").on(&["feed2"]),
        page("POST", "/account/tokens/{id}/revoke").on(&["token"]),
        page("POST", "/m/{token}").on(&["link2"]).form(PHQ9_PAGE).open(),
        api("POST", "/api/v1/episodes/{id}/discharge").on(&["episode2"]).json(object(DISCHARGE)),
        page("GET", "/episodes/{id}/discharge-summary").on(&["episode2"]),
        page("GET", "/episodes/{id}/discharge-summary.pdf").on(&["episode2"]),
        page("POST", "/episodes/{id}/discharge").on(&["episode"]).form(DISCHARGE),
        api("POST", "/api/v1/sessions/{id}/cancel").on(&["session"]).json(json!({"reason": "Clinician out sick"})),
        // Last: signing out ends each account's session.
        page("POST", "/logout"),
    ]
}

// ---- What the app declares --------------------------------------------------------------------

/// The page routes `startup.rs` declares: `METHOD PATH` for each `.route("…", get(…).post(…))`.
fn declared_pages() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = STARTUP;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's text, up to its closing parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a closed .route(…) call");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a path literal");
        let handlers = &call[call.find(',').expect("handlers")..];
        for method in ["get", "post", "put", "patch", "delete"] {
            let declared =
                handlers.match_indices(&format!("{method}(")).any(|(i, _)| i == 0 || handlers[..i].ends_with([' ', '(', '.', ',', '\n']));
            if declared {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
        rest = &rest[end..];
    }
    out
}

/// The operations the OpenAPI document describes: `METHOD PATH`.
async fn documented(app: &TestApp) -> BTreeSet<String> {
    let doc = app.api(Method::GET, "/api/openapi.json", None, None).await.json();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

// ---- Running the matrix -----------------------------------------------------------------------

/// Puts the place's records (and the request's own number and date) into a template.
fn fill(template: &str, desk: &Desk, n: usize) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let key = after
            .find('}')
            .map(|end| &after[..end])
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        match key {
            Some("n") => write!(out, "{n}").expect("write"),
            Some("day") => {
                let base = NaiveDate::from_ymd_opt(2027, 1, 4).expect("date");
                out.push_str(&(base + Duration::days((n % 600) as i64)).to_string());
            }
            Some(k) if desk.contains_key(k) => out.push_str(&desk[k]),
            _ => {
                out.push('{');
                rest = after;
                continue;
            }
        }
        rest = &after[key.map(str::len).unwrap_or(0) + 1..];
    }
    out.push_str(rest);
    out
}

/// The answers one account got from one route: own, other site, other organization, missing
/// (only the first when the route names no record).
type Answers = Vec<Option<u16>>;

struct Run {
    /// `(route, role)` → answers, in the order they ran.
    table: Vec<((String, &'static str), Answers)>,
    violations: Vec<String>,
    requests: usize,
}

fn column(v: Variant) -> usize {
    match v {
        Variant::Own => 0,
        Variant::OtherSite => 1,
        Variant::OtherOrg => 2,
        Variant::Missing => 3,
    }
}

fn label(v: Variant) -> &'static str {
    ["own", "other_site", "other_org", "missing"][column(v)]
}

/// Sends one request as `account`, through the API with its token or a page with its browser.
async fn send(w: &World, browser: &mut Browser<'_>, csrf: &str, account: &Account, r: &Route, desk: &Desk, n: usize) -> (Reply, String) {
    let target = fill(&r.target(), desk, n);
    let reply = match r.surface {
        Surface::Api => {
            let body = r.json.as_ref().map(|b| serde_json::from_str(&fill(&b.to_string(), desk, n)).expect("a JSON body"));
            w.app.api(r.method.clone(), &target, Some(&account.token), body).await
        }
        Surface::Page if r.method == Method::GET => browser.get(&target).await,
        Surface::Page => {
            let mut fields: Vec<(String, String)> = r.form.iter().map(|(k, v)| (fill(k, desk, n), fill(v, desk, n))).collect();
            fields.push(("csrf".into(), csrf.to_string()));
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post(&target, &refs).await
        }
    };
    (reply, target)
}

/// Whether an answer grants the request: a success, or a redirect to a page that opens (a
/// redirect to the sign-in page refuses).
async fn grants(browser: &mut Browser<'_>, reply: &Reply) -> bool {
    if reply.status.is_success() {
        return true;
    }
    if !reply.status.is_redirection() {
        return false;
    }
    match reply.location() {
        Some(l) if !l.starts_with("/login") => {
            let l = l.to_string();
            browser.get(&l).await.status.is_success()
        }
        _ => false,
    }
}

async fn run(w: &World, routes: &[Route]) -> Run {
    // Each account signs in once (the clock stands still: a TOTP code cannot be used twice).
    let mut browsers = Vec::new();
    let mut csrfs = Vec::new();
    for a in &w.accounts {
        let mut b = w.app.browser();
        b.sign_in_enrolling(&a.user.email).await;
        let page = b.get("/account").await;
        csrfs.push(page.input_value("csrf").unwrap_or_else(|| panic!("{}: /account has a CSRF token", a.role)));
        browsers.push(b);
    }
    let mut out = Run { table: Vec::new(), violations: Vec::new(), requests: 0 };
    for r in routes {
        for (i, a) in w.accounts.iter().enumerate() {
            let variants: &[Variant] = if r.names_records(&w.own[i]) { &VARIANTS } else { &[Variant::Own] };
            let mut answers: Answers = vec![None; 4];
            for v in variants {
                let desk = w.desk(i, *v);
                out.requests += 1;
                let (reply, target) = send(w, &mut browsers[i], &csrfs[i], a, r, desk, out.requests).await;
                answers[column(*v)] = Some(reply.status.as_u16());
                let what = format!("{} {target} as {} ({})", r.method, a.role, label(*v));
                if reply.status.is_server_error() {
                    out.violations.push(format!("server error {}: {what}: {}", reply.status, excerpt(&reply.body)));
                }
                if *v != Variant::Own && !r.open && grants(&mut browsers[i], &reply).await {
                    out.violations.push(format!("unexpected allow {}: {what}", reply.status));
                }
            }
            out.table.push(((r.key(), a.role.as_str()), answers));
        }
    }
    out
}

fn excerpt(body: &str) -> String {
    body.chars().take(300).collect()
}

// ---- The expected-answers table ----------------------------------------------------------------

const HEADER: &str = "# route\trole\town\tother_site\tother_org\tmissing";

fn render(table: &[((String, &'static str), Answers)]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for ((route, role), answers) in table {
        let cells: Vec<String> = answers.iter().map(|a| a.map(|s| s.to_string()).unwrap_or_else(|| "-".into())).collect();
        writeln!(out, "{route}\t{role}\t{}", cells.join("\t")).expect("write");
    }
    out
}

/// Every difference between the expected table and this run's, one line each.
fn differences(expected: &str, actual: &str) -> Vec<String> {
    let rows = |text: &str| -> BTreeMap<(String, String), String> {
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut cells = l.splitn(3, '\t');
                Some(((cells.next()?.to_string(), cells.next()?.to_string()), cells.next()?.to_string()))
            })
            .collect()
    };
    let (want, got) = (rows(expected), rows(actual));
    let mut out = Vec::new();
    for (key, answers) in &got {
        match want.get(key) {
            None => out.push(format!("{} as {}: not in the table (got {answers})", key.0, key.1)),
            Some(w) if w != answers => out.push(format!("{} as {}: expected {w}, got {answers}", key.0, key.1)),
            Some(_) => {}
        }
    }
    for key in want.keys().filter(|k| !got.contains_key(*k)) {
        out.push(format!("{} as {}: in the table but no longer a route", key.0, key.1));
    }
    out
}

/// Fails unless `listed` names exactly the routes `declared` (from `source`).
fn same_routes(engine: &str, source: &str, declared: &BTreeSet<String>, listed: &BTreeSet<String>) {
    let forgotten: Vec<&String> = declared.difference(listed).collect();
    assert!(forgotten.is_empty(), "{engine}: routes of {source} without a line in the authorization matrix: {forgotten:#?}");
    let stale: Vec<&String> = listed.difference(declared).collect();
    assert!(stale.is_empty(), "{engine}: lines of the authorization matrix for routes {source} no longer has: {stale:#?}");
}

/// Runs the matrix on one engine; the table of its answers.
async fn matrix(engine: &'static str) -> String {
    let started = std::time::Instant::now();
    let w = world(engine).await;
    let routes = routes(&w);
    let mut seen = BTreeSet::new();
    for r in &routes {
        assert!(seen.insert(r.key()), "{engine}: {} is listed twice", r.key());
    }
    let listed = |s: Surface| routes.iter().filter(|r| r.surface == s).map(Route::key).collect::<BTreeSet<_>>();
    same_routes(engine, "the OpenAPI document", &documented(&w.app).await, &listed(Surface::Api));
    same_routes(engine, "startup.rs", &declared_pages(), &listed(Surface::Page));
    let setup = started.elapsed();
    let out = run(&w, &routes).await;
    eprintln!(
        "{engine}: {} routes × {} roles, {} requests in {:.1?} (the world set up in {:.1?})",
        routes.len(),
        w.accounts.len(),
        out.requests,
        started.elapsed() - setup,
        setup
    );
    assert!(out.violations.is_empty(), "{engine}: {} violation(s):\n{}", out.violations.len(), out.violations.join("\n"));
    render(&out.table)
}

#[tokio::test]
async fn every_route_answers_every_role_about_every_place_as_the_table_says() {
    let write = std::env::var("OPENIOP_WRITE_MATRIX").is_ok_and(|v| v == "1");
    let mut first: Option<String> = None;
    for engine in engines() {
        let table = matrix(engine).await;
        match (&first, write) {
            (None, true) => {
                std::fs::write(TABLE, &table).expect("write the table");
                eprintln!("wrote {TABLE}");
            }
            (None, false) => {
                let expected = std::fs::read_to_string(TABLE).unwrap_or_default();
                let diff = differences(&expected, &table);
                assert!(
                    diff.is_empty(),
                    "{engine}: {} answer(s) differ from authorization.tsv (OPENIOP_WRITE_MATRIX=1 rewrites it):\n{}",
                    diff.len(),
                    diff.join("\n")
                );
            }
            (Some(earlier), _) => {
                let diff = differences(earlier, &table);
                assert!(diff.is_empty(), "{engine} answers differently from the first engine:\n{}", diff.join("\n"));
            }
        }
        first.get_or_insert(table);
    }
}
