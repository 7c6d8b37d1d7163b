//! Patient pages: search, registration, referrals (accept and admit without retyping), the chart
//! with its two level-of-care lines and every episode form, and the discharge summary (HTML and
//! PDF). Each page calls the same use cases as the API.
use super::form::Form;
use super::{Layout, render};
use crate::error::{PageError, PageResult};
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use openiop_app::patients::{self as uc, Chart, DischargeSummary};
use openiop_domain::auth::{Action, role_allows};
use openiop_domain::patients::*;
use openiop_domain::programs::{LevelOfCare, Program, Track};
use openiop_domain::users::User;
use openiop_domain::{DomainError, FieldError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

fn not_found<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(DomainError::NotFound(what)))
}

// ---------------------------------------------------------------------------------------------
// Forms as data: one template (`_form.html`) renders every field the same accessible way.

/// One field of a page form.
pub struct Field {
    pub id: String,
    pub name: &'static str,
    pub label: String,
    /// text, date, email, tel, select, textarea, checkbox, hidden
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub hint: String,
    pub error: Option<String>,
    pub required: bool,
    pub wide: bool,
    pub autocomplete: &'static str,
}

impl Field {
    fn new(form: &str, name: &'static str, label: &str, kind: &'static str) -> Self {
        Self {
            id: format!("{form}-{name}"),
            name,
            label: label.to_string(),
            kind,
            value: String::new(),
            options: Vec::new(),
            hint: String::new(),
            error: None,
            required: false,
            wide: kind == "textarea",
            autocomplete: "off",
        }
    }

    fn value(mut self, v: impl Into<String>) -> Self {
        self.value = v.into();
        self
    }

    fn options(mut self, o: Vec<(String, String)>) -> Self {
        self.options = o;
        self
    }

    fn hint(mut self, h: &str) -> Self {
        self.hint = h.to_string();
        self
    }

    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn wide(mut self) -> Self {
        self.wide = true;
        self
    }

    fn auto(mut self, a: &'static str) -> Self {
        self.autocomplete = a;
        self
    }

    /// The ids of the hint and error, for `aria-describedby`.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    pub fn checked(&self) -> bool {
        self.value == "true" || self.value == "on"
    }
}

/// A form on a page: where it posts, its fields, and the alert shown when it was refused.
pub struct FormView {
    pub id: String,
    pub action: String,
    pub heading: String,
    pub intro: String,
    pub submit: String,
    pub fields: Vec<Field>,
    pub alert: Option<String>,
    /// Shown expanded (the form that was refused).
    pub open: bool,
    /// section (heading and form), details (collapsed under a summary), button (one button).
    pub style: &'static str,
}

impl FormView {
    fn new(id: &str, action: String, heading: &str, submit: &str, fields: Vec<Field>) -> Self {
        Self {
            id: id.to_string(),
            action,
            heading: heading.to_string(),
            intro: String::new(),
            submit: submit.to_string(),
            fields,
            alert: None,
            open: false,
            style: "section",
        }
    }

    fn intro(mut self, s: &str) -> Self {
        self.intro = s.to_string();
        self
    }

    fn details(mut self) -> Self {
        self.style = "details";
        self
    }

    fn button(mut self) -> Self {
        self.style = "button";
        self
    }

    /// Puts back what was typed and marks the problems, when this is the form that was refused.
    fn apply(mut self, failure: Option<&Failure>) -> Self {
        let Some(f) = failure.filter(|f| f.form == self.id) else { return self };
        self.open = true;
        for field in &mut self.fields {
            if field.kind == "hidden" {
                continue;
            }
            match f.values.get(field.name) {
                Some(v) => field.value = v.clone(),
                None if field.kind == "checkbox" => field.value = String::new(),
                None => {}
            }
        }
        let mut unplaced = Vec::new();
        for e in &f.errors {
            match self.fields.iter_mut().find(|x| x.name == e.field && x.kind != "hidden") {
                Some(field) if field.error.is_none() => field.error = Some(e.message.clone()),
                Some(_) => {}
                None => unplaced.push(format!("{}: {}", e.field.replace('_', " "), e.message)),
            }
        }
        let mut alert = Vec::new();
        if !f.errors.is_empty() {
            alert.push("Some fields need attention.".to_string());
        }
        alert.extend(unplaced);
        if let Some(a) = &f.alert {
            alert.push(a.clone());
        }
        self.alert = (!alert.is_empty()).then(|| alert.join(" "));
        self
    }
}

/// A refused form: which one, what was typed, what was wrong.
pub struct Failure {
    form: String,
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
    alert: Option<String>,
    code: String,
}

impl Failure {
    /// `None` when the error is not the user's to fix (not found, forbidden, internal).
    fn from<T: Serialize>(form: &str, posted: &T, e: &DomainError) -> Option<Self> {
        let (errors, alert, code) = match e {
            DomainError::Validation(f) => (f.clone(), None, "validation".to_string()),
            DomainError::Rule { code, message } | DomainError::Conflict { code, message } => {
                (Vec::new(), Some(message.clone()), code.to_string())
            }
            _ => return None,
        };
        let mut values = HashMap::new();
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(posted) {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => values.insert(k, s),
                    serde_json::Value::Bool(b) => values.insert(k, if b { "true".into() } else { String::new() }),
                    _ => None,
                };
            }
        }
        Some(Self { form: form.to_string(), values, errors, alert, code })
    }
}

/// Renders with 422 when a form was refused.
fn respond<T: Template>(page: &T, refused: bool) -> PageResult<Response> {
    let mut res = render(page)?;
    if refused {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

macro_rules! opts {
    ($t:ty) => {
        <$t>::ALL.iter().map(|x| (x.code().to_string(), x.label().to_string())).collect::<Vec<_>>()
    };
}

fn level_options(empty: Option<&str>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = empty.map(|e| vec![(String::new(), e.to_string())]).unwrap_or_default();
    v.extend(LevelOfCare::all().into_iter().filter(|l| l.edition == "ASAM3").map(|l| (l.code.clone(), l.label())));
    v
}

fn patient_fields(form: &str) -> Vec<Field> {
    vec![
        Field::new(form, "legal_first", "Legal first name", "text").required().auto("off"),
        Field::new(form, "legal_last", "Legal last name", "text").required(),
        Field::new(form, "preferred_name", "Preferred name", "text"),
        Field::new(form, "pronouns", "Pronouns", "text"),
        Field::new(form, "date_of_birth", "Date of birth", "date").required(),
        Field::new(form, "sex", "Sex", "select").options(opts!(Sex)).value("unknown"),
        Field::new(form, "phone", "Phone", "tel"),
        Field::new(form, "email", "Email", "email"),
        Field::new(form, "line1", "Home address", "text"),
        Field::new(form, "city", "City", "text"),
        Field::new(form, "state", "State", "text").required().hint("USPS code, e.g. NJ: the licence rule uses it"),
        Field::new(form, "postal_code", "ZIP code", "text"),
        Field::new(form, "preferred_language", "Preferred language", "text").value("English"),
        Field::new(form, "delivery_preference", "Attends", "select").options(opts!(DeliveryPreference)).value("either"),
        Field::new(form, "emergency_name", "Emergency contact", "text"),
        Field::new(form, "emergency_relationship", "Relationship", "text"),
        Field::new(form, "emergency_phone", "Emergency contact phone", "tel"),
        Field::new(form, "availability", "Can attend", "textarea").hint("One window per line, outside work or school: mon 18:00-21:30"),
    ]
}

async fn site_options(state: &AppState, staff: &Staff) -> PageResult<Vec<(String, String)>> {
    Ok(openiop_app::sites::visible_sites(state, &staff.ctx()).await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect())
}

async fn visible_programs(state: &AppState, staff: &Staff) -> PageResult<Vec<Program>> {
    Ok(openiop_app::programs::visible_programs(state, &staff.ctx()).await?)
}

fn clinicians(users: &[User]) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "— to be assigned —".to_string())];
    v.extend(
        users
            .iter()
            .filter(|u| u.active && u.roles.iter().any(|r| role_allows(*r, Action::WriteClinicalRecord)))
            .map(|u| (u.id.to_string(), u.name.clone())),
    );
    v
}

/// The admission fields, shared by the referral's "Accept and admit" and the chart's "Admit".
fn admission_fields(
    form: &str,
    programs: &[Program],
    tracks: &[Track],
    users: &[User],
    default_program: Option<String>,
    today: NaiveDate,
) -> Vec<Field> {
    let program_opts: Vec<(String, String)> = programs.iter().map(|p| (p.id.to_string(), p.name.clone())).collect();
    let mut track_opts = vec![(String::new(), "— none yet —".to_string())];
    for t in tracks {
        if let Some(p) = programs.iter().find(|p| p.id == t.program_id) {
            track_opts.push((t.id.to_string(), format!("{} — {}", p.name, t.name)));
        }
    }
    let first = default_program.or_else(|| programs.first().map(|p| p.id.to_string())).unwrap_or_default();
    vec![
        Field::new(form, "program_id", "Program", "select").options(program_opts).value(first).required(),
        Field::new(form, "track_id", "Track", "select").options(track_opts).wide(),
        Field::new(form, "admitted_on", "Admission date", "date").value(today.to_string()).required(),
        Field::new(form, "primary_clinician_id", "Primary clinician", "select").options(clinicians(users)),
        Field::new(form, "level_edition", "", "hidden").value("ASAM3"),
        Field::new(form, "level_code", "Level of care delivered", "select").options(level_options(None)).value("2.1").wide(),
        Field::new(form, "authorized_level_code", "Level authorized by the payer", "select")
            .options(level_options(Some("— not authorized yet —")))
            .value("2.1")
            .wide(),
        Field::new(form, "diagnoses", "Diagnoses (ICD-10-CM)", "text")
            .required()
            .hint("Codes separated by commas, primary first: F10.20, F32.1"),
        Field::new(form, "reason", "Note", "text").wide(),
        Field::new(form, "population_exception_reason", "Population exception (clinician's reason)", "textarea")
            .hint("Only to admit a minor to an adult program, or an adult to an adolescent one: say why (recorded with your name, audited)")
            .wide(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Search

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    program_id: String,
    #[serde(default)]
    track_id: String,
    #[serde(default)]
    clinician_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    level_code: String,
    #[serde(default)]
    page: String,
}

/// One row of the patients list as the page shows it.
pub struct ListRowView {
    pub id: String,
    pub name: String,
    pub mrn: String,
    pub date_of_birth: String,
    pub program: String,
    pub track: String,
    pub clinician: String,
    pub status: String,
    pub level: String,
    pub admitted_on: String,
}

#[derive(Template)]
#[template(path = "patients_search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    searched: bool,
    results: Vec<PatientSummary>,
    can_register: bool,
    can_refer: bool,
    /// The list (when not searching): its rows, filters and paging.
    rows: Vec<ListRowView>,
    total: u64,
    first: u64,
    last: u64,
    previous: Option<String>,
    next: Option<String>,
    programs: Vec<(String, String)>,
    tracks: Vec<(String, String)>,
    clinicians: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    levels: Vec<(String, String)>,
    f: SearchQuery,
    problem: Option<String>,
}

pub async fn search(State(state): State<AppState>, staff: Staff, Query(q): Query<SearchQuery>) -> PageResult<Response> {
    use openiop_domain::auth::Role;
    let ctx = staff.ctx();
    ctx.actor.require(Action::ViewPatientDemographics)?;
    let query = q.q.trim().to_string();
    let searched = query.len() >= 2;
    let results = if searched { uc::search(&state, &ctx, &query).await? } else { Vec::new() };
    let openiop_app::programs::Catalog { programs: all_programs, tracks, users } = openiop_app::programs::catalog(&state, &ctx).await?;
    let programs = visible_programs(&state, &staff).await?;
    let (mut rows, mut total, mut problem) = (Vec::new(), 0, None);
    let per_page = PatientListFilter::PER_PAGE_DEFAULT;
    let mut page = 1u32;
    if !searched {
        match PatientListFilter::parse(&q.program_id, &q.track_id, &q.clinician_id, &q.status, &q.level_code, &q.page, "") {
            Ok(filter) => {
                page = filter.page;
                let (found, n) = uc::list(&state, &ctx, &filter).await?;
                total = n;
                let name = |u: Option<openiop_domain::ids::UserId>| {
                    u.and_then(|u| users.iter().find(|x| x.id == u)).map(|x| x.name.clone()).unwrap_or_default()
                };
                rows = found
                    .into_iter()
                    .map(|r| ListRowView {
                        id: r.patient.id.to_string(),
                        name: r.patient.name.clone(),
                        mrn: r.patient.mrn.clone(),
                        date_of_birth: r.patient.date_of_birth.to_string(),
                        program: r.program_id.map(|p| program_name(&all_programs, Some(p))).unwrap_or_default(),
                        track: r.track_id.and_then(|t| tracks.iter().find(|x| x.id == t)).map(|t| t.name.clone()).unwrap_or_default(),
                        clinician: name(r.primary_clinician),
                        status: r.status.map(|s| s.label().to_string()).unwrap_or_else(|| "Not admitted".into()),
                        level: r.level_code.clone().unwrap_or_default(),
                        admitted_on: r.admitted_on.map(|d| d.to_string()).unwrap_or_default(),
                    })
                    .collect();
            }
            Err(e) => problem = Some(e.to_string()),
        }
    }
    let link = |p: u32| {
        let mut pairs = vec![
            ("program_id", q.program_id.as_str()),
            ("track_id", q.track_id.as_str()),
            ("clinician_id", q.clinician_id.as_str()),
            ("status", q.status.as_str()),
            ("level_code", q.level_code.as_str()),
        ];
        let page = p.to_string();
        pairs.push(("page", page.as_str()));
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)))
            .collect();
        format!("/patients?{}", query.join("&"))
    };
    let first = u64::from(page - 1) * u64::from(per_page) + 1;
    let last = (first + rows.len() as u64).saturating_sub(1);
    let mut levels: Vec<(String, String)> =
        programs.iter().map(|p| (p.level_of_care.code.clone(), format!("ASAM {}", p.level_of_care.code))).collect();
    levels.sort();
    levels.dedup();
    let mut status_opts = vec![(String::new(), "Any".to_string())];
    status_opts.extend(openiop_domain::patients::EpisodeStatus::ALL.iter().map(|s| (s.code().to_string(), s.label().to_string())));
    status_opts.push(("not_admitted".into(), "Not admitted".into()));
    let clinical = |u: &openiop_domain::users::User| {
        u.active && u.roles.iter().any(|r| matches!(r, Role::Clinician | Role::ClinicalDirector | Role::Prescriber | Role::Nurse))
    };
    let page_view = SearchPage {
        layout: Layout::staff(&staff, "Patients", "/patients"),
        q: query,
        searched,
        results,
        can_register: staff.actor.can(Action::ManageIntake),
        can_refer: staff.actor.can(Action::ManageIntake),
        previous: (page > 1 && (!rows.is_empty() || total > 0)).then(|| link(page - 1)),
        next: (last < total).then(|| link(page + 1)),
        rows,
        total,
        first,
        last,
        programs: programs.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
        tracks: tracks
            .iter()
            .filter_map(|t| programs.iter().find(|p| p.id == t.program_id).map(|p| (t.id.to_string(), format!("{} — {}", p.name, t.name))))
            .collect(),
        clinicians: users.iter().filter(|u| clinical(u)).map(|u| (u.id.to_string(), u.name.clone())).collect(),
        statuses: status_opts,
        levels,
        problem,
        f: q,
    };
    let mut res = render(&page_view)?;
    if page_view.problem.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// Registration

#[derive(Template)]
#[template(path = "patients_new.html")]
struct NewPatientPage {
    layout: Layout,
    forms: Vec<FormView>,
}

async fn new_patient_page(state: &AppState, staff: &Staff, failure: Option<&Failure>) -> PageResult<Response> {
    staff.actor.require(Action::ManageIntake)?;
    let mut fields = vec![Field::new("reg", "site_id", "Site", "select").options(site_options(state, staff).await?).required()];
    fields.extend(patient_fields("reg"));
    if let Some(f) = failure.filter(|f| f.code == "possible_duplicate") {
        fields.push(
            Field::new("reg", "allow_duplicate", "This is a different person: register a new record", "checkbox")
                .wide()
                .value(f.values.get("allow_duplicate").cloned().unwrap_or_default()),
        );
    }
    let form = FormView::new("reg", "/patients/new".into(), "Patient details", "Register patient", fields).apply(failure);
    respond(&NewPatientPage { layout: Layout::staff(staff, "Register a patient", "/patients"), forms: vec![form] }, failure.is_some())
}

pub async fn new_patient(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    new_patient_page(&state, &staff, None).await
}

#[derive(Deserialize, Serialize)]
pub struct RegisterPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    allow_duplicate: bool,
    #[serde(flatten)]
    form: PatientForm,
}

pub async fn register(State(state): State<AppState>, staff: Staff, Form(post): Form<RegisterPost>) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let ctx = staff.ctx();
    let result = match post.site_id.parse() {
        Ok(site) => uc::register(&state, &ctx, site, &post.form, post.allow_duplicate).await,
        Err(_) => Err(DomainError::field("site_id", "required", "choose a site")),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/patients/{}", p.id)).into_response()),
        Err(e) => match Failure::from("reg", &post, &e) {
            Some(f) => new_patient_page(&state, &staff, Some(&f)).await,
            None => Err(e.into()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Referrals

pub struct ReferralRow {
    pub id: String,
    pub received_on: NaiveDate,
    pub name: String,
    pub source: &'static str,
    pub from_level: String,
    pub program: String,
    pub urgency: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    pub status_reason: String,
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ReferralsPage {
    layout: Layout,
    rows: Vec<ReferralRow>,
    forms: Vec<FormView>,
}

fn program_name(programs: &[Program], id: Option<openiop_domain::ids::ProgramId>) -> String {
    id.and_then(|id| programs.iter().find(|p| p.id == id)).map(|p| p.name.clone()).unwrap_or_else(|| "—".into())
}

async fn referrals_page(state: &AppState, staff: &Staff, failure: Option<&Failure>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let list = uc::referrals(state, &ctx).await?;
    let programs = visible_programs(state, staff).await?;
    let all_programs = openiop_app::programs::catalog(state, &ctx).await?.programs;
    let mut rows: Vec<ReferralRow> = list
        .into_iter()
        .map(|r| ReferralRow {
            id: r.id.to_string(),
            received_on: r.received_on,
            name: r.patient.display_name(),
            source: r.source.label(),
            from_level: r.from_level.as_ref().map(|l| format!("ASAM {}", l.code)).unwrap_or_else(|| "—".into()),
            program: program_name(&all_programs, r.program_id),
            urgency: r.urgency.label(),
            status: r.status.label(),
            status_code: r.status.code(),
            status_reason: r.status_reason,
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.received_on));
    let mut program_opts = vec![(String::new(), "— not decided —".to_string())];
    program_opts.extend(programs.iter().map(|p| (p.id.to_string(), p.name.clone())));
    let mut fields = vec![
        Field::new("ref", "site_id", "Site", "select").options(site_options(state, staff).await?).required(),
        Field::new("ref", "program_id", "Program", "select").options(program_opts),
        Field::new("ref", "source", "Referred by", "select").options(opts!(ReferralSource)).value("self"),
        Field::new("ref", "urgency", "Urgency", "select").options(opts!(Urgency)).value("routine"),
        Field::new("ref", "from_level_edition", "", "hidden").value("ASAM3"),
        Field::new("ref", "from_level_code", "Coming from level of care", "select")
            .options(level_options(Some("— none / community —")))
            .wide()
            .hint("e.g. ASAM 3.5 for a residential step-down"),
        Field::new("ref", "contact_name", "Referring contact", "text"),
        Field::new("ref", "contact_organization", "Referring organization", "text"),
        Field::new("ref", "contact_phone", "Referring phone", "tel"),
        Field::new("ref", "reason", "Reason for referral", "textarea").required(),
    ];
    fields.extend(patient_fields("ref"));
    let form = FormView::new("ref", "/referrals".into(), "New referral", "Record referral", fields)
        .intro("The patient's details are kept with the referral; accepting it registers and admits without retyping.")
        .apply(failure);
    respond(&ReferralsPage { layout: Layout::staff(staff, "Referrals", "/referrals"), rows, forms: vec![form] }, failure.is_some())
}

pub async fn referrals(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    referrals_page(&state, &staff, None).await
}

#[derive(Deserialize, Serialize)]
pub struct ReferralPost {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: ReferralForm,
}

pub async fn create_referral(State(state): State<AppState>, staff: Staff, Form(post): Form<ReferralPost>) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    match uc::create_referral(&state, &staff.ctx(), &post.form).await {
        Ok(r) => Ok(Redirect::to(&format!("/referrals/{}", r.id)).into_response()),
        Err(e) => match Failure::from("ref", &post.form, &e) {
            Some(f) => referrals_page(&state, &staff, Some(&f)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "referrals_detail.html")]
struct ReferralPage {
    layout: Layout,
    r: Referral,
    site: String,
    program: String,
    availability: Vec<String>,
    patient_link: Option<String>,
    status_form: Option<FormView>,
    accept_form: Option<FormView>,
}

async fn referral_page(state: &AppState, staff: &Staff, id: ReferralId, failure: Option<&Failure>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let r = uc::referral(state, &ctx, id).await?;
    let catalog = openiop_app::programs::catalog(state, &ctx).await?;
    let all_programs = &catalog.programs;
    let site = openiop_app::sites::site(state, &ctx, r.site_id).await?.name;
    let open = matches!(r.status, ReferralStatus::New | ReferralStatus::Screening | ReferralStatus::Waitlisted);
    let status_form = open.then(|| {
        let choices: Vec<(String, String)> = [ReferralStatus::Screening, ReferralStatus::Waitlisted, ReferralStatus::Declined]
            .into_iter()
            .filter(|s| r.status.can_move_to(*s))
            .map(|s| (s.code().to_string(), s.label().to_string()))
            .collect();
        FormView::new(
            "status",
            format!("/referrals/{id}/status"),
            "Change status",
            "Change status",
            vec![
                Field::new("status", "status", "New status", "select").options(choices),
                Field::new("status", "reason", "Reason", "text").wide().hint("Required when declining or waitlisting"),
            ],
        )
        .apply(failure)
    });
    let accept_form = if open && staff.actor.can(Action::WriteClinicalRecord) {
        let programs = visible_programs(state, staff).await?;
        let today = openiop_app::programs::today(state, &ctx).await?;
        let fields = admission_fields("accept", &programs, &catalog.tracks, &catalog.users, r.program_id.map(|p| p.to_string()), today);
        Some(
            FormView::new("accept", format!("/referrals/{id}/accept"), "Accept and admit", "Accept and admit", fields)
                .intro("Registers the patient from the referral's details and opens the episode of care.")
                .apply(failure),
        )
    } else {
        None
    };
    let page = ReferralPage {
        layout: Layout::staff(staff, &format!("Referral: {}", r.patient.display_name()), "/referrals"),
        site,
        program: program_name(all_programs, r.program_id),
        availability: r.patient.availability.iter().map(|w| w.to_string()).collect(),
        patient_link: r.patient_id.map(|p| format!("/patients/{p}")),
        status_form,
        accept_form,
        r,
    };
    respond(&page, failure.is_some())
}

pub async fn referral(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    referral_page(&state, &staff, not_found(&id, "referral")?, None).await
}

#[derive(Deserialize, Serialize)]
pub struct StatusPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

pub async fn referral_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<StatusPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let id: ReferralId = not_found(&id, "referral")?;
    match uc::set_referral_status(&state, &staff.ctx(), id, &post.status, &post.reason).await {
        Ok(()) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Err(e) => match Failure::from("status", &post, &e) {
            Some(f) => referral_page(&state, &staff, id, Some(&f)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize, Serialize)]
pub struct AdmissionPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(flatten)]
    form: AdmissionForm,
}

pub async fn accept_referral(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<AdmissionPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let id: ReferralId = not_found(&id, "referral")?;
    match uc::accept_referral(&state, &staff.ctx(), id, &post.form).await {
        Ok((p, _)) => Ok(Redirect::to(&format!("/patients/{}", p.id)).into_response()),
        Err(e) => match Failure::from("accept", &post.form, &e) {
            Some(f) => referral_page(&state, &staff, id, Some(&f)).await,
            None => Err(e.into()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The chart

pub struct SpanRow {
    pub level: String,
    pub from: NaiveDate,
    pub to: String,
    pub reason: String,
}

pub struct EpisodeRow {
    pub program: String,
    pub track: String,
    pub admitted_on: NaiveDate,
    pub status: &'static str,
    pub clinician: String,
    pub discharge: String,
    pub summary_link: Option<String>,
}

pub struct ConsentRow {
    pub recipients: String,
    pub purpose: String,
    pub information: String,
    pub expiry: String,
    pub signed: String,
    pub for_whom: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub revocation: String,
    /// The future sessions its revocation took a family member off.
    pub taken_off: Vec<String>,
    pub revoke: Option<FormView>,
}

#[derive(Template)]
#[template(path = "chart.html")]
struct ChartPage {
    layout: Layout,
    c: Chart,
    name: String,
    age: i32,
    program: String,
    clinical_level: String,
    authorized_level: String,
    day: Option<i64>,
    episodes: Vec<EpisodeRow>,
    clinical_spans: Vec<SpanRow>,
    authorized_spans: Vec<SpanRow>,
    history_of: String,
    diagnoses: Vec<Diagnosis>,
    consents: Vec<ConsentRow>,
    availability: String,
    forms: Vec<FormView>,
    /// Links to the rest of the record: outcomes, plan, hours, make-ups, safety plan.
    care_links: Vec<(String, String)>,
    /// This week's hours for the open episode.
    this_week: Option<openiop_domain::schedule::WeekLedger>,
    /// When the treatment plan is next due for review, and why.
    review: Option<String>,
    review_overdue: bool,
    /// Open risk flags (suicide risk) awaiting a clinician's assessment.
    risk_flags: Vec<(String, String)>,
}

fn spans(e: &Episode, line: LevelLine) -> Vec<SpanRow> {
    let mut v: Vec<&LevelSpan> = e.levels.iter().filter(|s| s.line == line).collect();
    v.sort_by_key(|s| s.from);
    v.into_iter()
        .map(|s| SpanRow {
            level: s.level.label(),
            from: s.from,
            to: s.to.map(|t| t.to_string()).unwrap_or_else(|| "current".into()),
            reason: s.reason.clone(),
        })
        .collect()
}

/// The episode the chart is about: the open one, else the latest.
fn focus(c: &Chart) -> Option<&Episode> {
    c.episodes.iter().find(|e| e.is_open()).or_else(|| c.episodes.iter().max_by_key(|e| e.admitted_on))
}

async fn chart_page(state: &AppState, staff: &Staff, id: PatientId, failure: Option<&Failure>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let c = uc::chart(state, &ctx, id).await?;
    let today = c.today;
    let openiop_app::programs::Catalog { programs: all_programs, tracks, users } = openiop_app::programs::catalog(state, &ctx).await?;
    let user_name = |u: Option<openiop_domain::ids::UserId>| {
        u.and_then(|u| users.iter().find(|x| x.id == u)).map(|x| x.name.clone()).unwrap_or_else(|| "—".into())
    };
    let can_write = staff.actor.can(Action::WriteClinicalRecord);
    let can_intake = staff.actor.can(Action::ManageIntake);
    let can_auth = staff.actor.can(Action::ManageAuthorizations);
    let can_export = staff.actor.can(Action::ExportPatientData);
    let f = focus(&c);
    let open = f.filter(|e| e.is_open());
    let open_flags = if c.clinical { openiop_app::measurement::open_risk_flags(state, &ctx, id).await? } else { Vec::new() };

    let mut episodes: Vec<&Episode> = c.episodes.iter().collect();
    episodes.sort_by_key(|e| std::cmp::Reverse(e.admitted_on));
    let episode_rows = episodes
        .iter()
        .map(|e| EpisodeRow {
            program: program_name(&all_programs, Some(e.program_id)),
            track: e.track_id.and_then(|t| tracks.iter().find(|x| x.id == t)).map(|t| t.name.clone()).unwrap_or_else(|| "—".into()),
            admitted_on: e.admitted_on,
            status: e.status.label(),
            clinician: user_name(e.primary_clinician),
            discharge: e.discharge.as_ref().map(|d| format!("{} · {}", d.date, d.kind.label())).unwrap_or_else(|| "—".into()),
            summary_link: (e.discharge.is_some() && can_export && c.clinical).then(|| format!("/episodes/{}/discharge-summary", e.id)),
        })
        .collect();

    let mut forms = Vec::new();
    let pid = c.patient.id;
    if open.is_none() && can_write {
        let programs = visible_programs(state, staff).await?;
        forms.push(
            FormView::new(
                "admit",
                format!("/patients/{pid}/admit"),
                "Admit",
                "Admit",
                admission_fields("admit", &programs, &tracks, &users, None, today),
            )
            .intro("Opens a new episode of care.")
            .details()
            .apply(failure),
        );
    }
    if let Some(e) = open {
        let eid = e.id;
        if can_write || can_auth {
            let mut lines = Vec::new();
            if can_write {
                lines.push(("clinical".to_string(), LevelLine::Clinical.label().to_string()));
            }
            if can_write || can_auth {
                lines.push(("authorized".to_string(), LevelLine::Authorized.label().to_string()));
            }
            forms.push(
                FormView::new(
                    "level",
                    format!("/episodes/{eid}/level"),
                    "Change level of care",
                    "Change level",
                    vec![
                        Field::new("level", "line", "Line", "select").options(lines),
                        Field::new("level", "edition", "", "hidden").value("ASAM3"),
                        Field::new("level", "level_code", "New level", "select").options(level_options(None)).value("2.1").wide(),
                        Field::new("level", "from", "From", "date").value(today.to_string()).required(),
                        Field::new("level", "reason", "Reason", "text").required().wide(),
                    ],
                )
                .details()
                .apply(failure),
            );
        }
        if can_write {
            // This program's tracks first, then those of the other programs in the caller's scope
            // (a move out of the program, under the same risk and population rules as discharge).
            let mut track_opts: Vec<(String, String)> =
                tracks.iter().filter(|t| t.program_id == e.program_id).map(|t| (t.id.to_string(), t.name.clone())).collect();
            for p in all_programs.iter().filter(|p| p.id != e.program_id && staff.actor.scope.covers(Some(p.site_id), Some(p.id))) {
                track_opts
                    .extend(tracks.iter().filter(|t| t.program_id == p.id).map(|t| (t.id.to_string(), format!("{} — {}", p.name, t.name))));
            }
            let mut fields = vec![
                Field::new("track", "track_id", "Track", "select")
                    .options(track_opts)
                    .value(e.track_id.map(|t| t.to_string()).unwrap_or_default()),
            ];
            if open_flags.iter().any(|f| f.episode_id == e.id) {
                fields.push(
                    Field::new("track", "risk_disposition", "Disposition of the open suicide-risk flag", "textarea")
                        .hint("Needed to move to another program while a risk flag is open: what was assessed and what follows.")
                        .wide(),
                );
            }
            forms.push(
                FormView::new("track", format!("/episodes/{eid}/track"), "Transfer track or program", "Transfer", fields)
                    .details()
                    .apply(failure),
            );
            let (next, label) = if e.status == EpisodeStatus::OnHold { ("active", "Mark active") } else { ("on_hold", "Put on hold") };
            forms.push(
                FormView::new(
                    "hold",
                    format!("/episodes/{eid}/status"),
                    label,
                    label,
                    vec![Field::new("hold", "status", "", "hidden").value(next)],
                )
                .button()
                .apply(failure),
            );
            if e.reassessment_due {
                forms.push(
                    FormView::new(
                        "reassess",
                        format!("/episodes/{eid}/reassessment"),
                        "Re-assessment",
                        "Record re-assessment done",
                        Vec::new(),
                    )
                    .button()
                    .apply(failure),
                );
            }
            forms.push(
                FormView::new(
                    "dx",
                    format!("/episodes/{eid}/diagnoses"),
                    "Add diagnosis",
                    "Add diagnosis",
                    vec![Field::new("dx", "codes", "ICD-10-CM codes", "text").required().hint("e.g. F41.1, F43.10")],
                )
                .details()
                .apply(failure),
            );
        }
    }
    if can_intake {
        forms.push(
            FormView::new(
                "family",
                format!("/patients/{pid}/collaterals"),
                "Add family member or contact",
                "Add contact",
                vec![
                    Field::new("family", "name", "Name", "text").required(),
                    Field::new("family", "relationship", "Relationship", "text").required(),
                    Field::new("family", "phone", "Phone", "tel"),
                    Field::new("family", "email", "Email", "email"),
                ],
            )
            .details()
            .apply(failure),
        );
        forms.push(
            FormView::new(
                "coverage",
                format!("/patients/{pid}/coverages"),
                "Add coverage",
                "Add coverage",
                vec![
                    Field::new("coverage", "payer", "Payer", "text").required(),
                    Field::new("coverage", "member_id", "Member ID", "text").required(),
                    Field::new("coverage", "group_number", "Group number", "text"),
                ],
            )
            .details()
            .apply(failure),
        );
    }
    if can_write || can_intake {
        let mut family = vec![(String::new(), "— none: treatment, payment and operations —".to_string())];
        family.extend(c.patient.collaterals.iter().map(|x| (x.id.to_string(), format!("{} ({})", x.name, x.relationship))));
        forms.push(
            FormView::new(
                "consent",
                format!("/patients/{pid}/consents"),
                "Record a 42 CFR Part 2 consent",
                "Record consent",
                vec![
                    Field::new("consent", "discloser", "Who may disclose (this program)", "text")
                        .required()
                        .wide()
                        .value(c.organization.clone()),
                    Field::new("consent", "recipients", "Who may receive the information", "textarea")
                        .required()
                        .value("My treating providers, health plans, third-party payers, and people helping to operate this program"),
                    Field::new("consent", "purpose", "Purpose", "text")
                        .required()
                        .wide()
                        .value("Treatment, payment and health care operations"),
                    Field::new("consent", "information", "What information, specifically", "textarea")
                        .required()
                        .value("Diagnosis, attendance, level of care, treatment plan and progress"),
                    Field::new("consent", "information_amount", "How much of it", "text")
                        .required()
                        .wide()
                        .value("What each recipient needs for its purpose, for this episode of care"),
                    Field::new("consent", "expires_on", "Expires on", "date").hint("A date, an event, or both"),
                    Field::new("consent", "expiry_event", "Or expires at (event)", "text").value("One year after discharge"),
                    Field::new("consent", "signed_by", "Signed by", "text").required().value(c.patient.details.display_name()),
                    Field::new("consent", "signed_on", "Signed on", "date").required().value(today.to_string()),
                    Field::new("consent", "signature_method", "Signed", "select").options(
                        openiop_domain::patients::SignatureMethod::ALL
                            .iter()
                            .map(|m| (m.code().to_string(), m.label().to_string()))
                            .collect(),
                    ),
                    Field::new("consent", "collateral_id", "Family member this consent covers", "select").options(family).wide(),
                    Field::new(
                        "consent",
                        "revocation_explained",
                        "The patient was told they may revoke it, in writing, at any time (§2.31)",
                        "checkbox",
                    )
                    .wide(),
                    Field::new(
                        "consent",
                        "refusal_consequences_explained",
                        "The patient was told what happens if they refuse to sign (§2.31)",
                        "checkbox",
                    )
                    .wide(),
                    Field::new("consent", "redisclosure_notice_given", "The redisclosure notice was given (§2.32)", "checkbox").wide(),
                ],
            )
            .details()
            .apply(failure),
        );
    }
    if let Some(e) = open
        && can_write
    {
        forms.push(
            FormView::new(
                "discharge",
                format!("/episodes/{}/discharge", e.id),
                "Discharge",
                "Discharge",
                vec![
                    Field::new("discharge", "kind", "Type", "select").options(opts!(DischargeKind)),
                    Field::new("discharge", "date", "Date", "date").value(today.to_string()).required(),
                    Field::new("discharge", "next_level_code", "Next level of care", "select")
                        .options(level_options(Some("— none —")))
                        .wide(),
                    Field::new("discharge", "next_provider", "Next provider", "text"),
                    Field::new("discharge", "reason", "Reason", "textarea"),
                    Field::new("discharge", "appointments", "Aftercare appointments", "textarea")
                        .hint("Required for a completed discharge, unless a relapse-prevention plan is given"),
                    Field::new("discharge", "supports", "Supports (groups, sponsor, family)", "textarea"),
                    Field::new("discharge", "relapse_prevention", "Relapse-prevention plan", "textarea"),
                ]
                .into_iter()
                .chain(open_flags.iter().any(|f| f.episode_id == e.id).then(|| {
                    Field::new("discharge", "risk_disposition", "Disposition of the open suicide-risk flag", "textarea")
                        .hint("A risk flag is still open. Assess it first, or write here what was assessed and what follows (clinicians).")
                        .wide()
                }))
                .collect(),
            )
            .details()
            .apply(failure),
        );
    }

    let consents = c
        .consents
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let status = k.status(today);
            let revoke = (status == "in force" && (can_write || can_intake)).then(|| {
                let form_id = format!("revoke-{}", i + 1);
                FormView::new(
                    &form_id,
                    format!("/patients/{pid}/consents/{}/revoke", k.id),
                    "Revoke",
                    "Record revocation",
                    vec![
                        Field::new(&form_id, "revoked_by", "Revoked in writing by", "text").required(),
                        Field::new(&form_id, "note", "Note", "text"),
                    ],
                )
                .details()
                .apply(failure)
            });
            ConsentRow {
                recipients: k.recipients.clone(),
                purpose: k.purpose.clone(),
                information: k.information.clone(),
                expiry: match (&k.expires_on, k.expiry_event.is_empty()) {
                    (Some(d), true) => d.to_string(),
                    (Some(d), false) => format!("{d} or {}", k.expiry_event),
                    (None, _) => k.expiry_event.clone(),
                },
                signed: format!("{} on {}", k.signed_by, k.signed_on),
                for_whom: k
                    .collateral_id
                    .and_then(|id| c.patient.collaterals.iter().find(|x| x.id == id))
                    .map(|x| format!("{} ({})", x.name, x.relationship))
                    .unwrap_or_else(|| "Treatment, payment, operations".into()),
                status,
                badge: match status {
                    "in force" => "ok",
                    "revoked" => "bad",
                    _ => "warn",
                },
                revocation: k
                    .revoked_on
                    .map(|d| {
                        let mut s = format!("Revoked on {d} by {}", k.revoked_by);
                        if !k.revocation_note.is_empty() {
                            s.push_str(&format!(": {}", k.revocation_note));
                        }
                        s
                    })
                    .unwrap_or_default(),
                taken_off: c
                    .family_taken_off
                    .iter()
                    .filter(|t| t.consent_id == k.id)
                    .map(|t| {
                        if t.topic.is_empty() {
                            t.on.format("%a %-d %b %Y").to_string()
                        } else {
                            format!("{}, {}", t.on.format("%a %-d %b %Y"), t.topic)
                        }
                    })
                    .collect(),
                revoke,
            }
        })
        .collect();

    let name = c.patient.details.display_name();
    let mut care_links: Vec<(String, String)> = Vec::new();
    if staff.actor.can(Action::ViewAuditLog) {
        // Who read or changed this record, one click away (the audit log by patient).
        care_links.push((format!("/audit?patient={pid}"), "Who opened this chart".into()));
    }
    let (mut this_week, mut review, mut review_overdue, mut risk_flags) = (None, None, false, Vec::new());
    if c.clinical {
        care_links.push((format!("/patients/{pid}/outcomes"), "Measures and outcomes".into()));
        for f in &open_flags {
            risk_flags.push((
                format!("/risk-flags/{}/assess", f.id),
                format!("{} raised on {}", f.code.replace('_', " "), f.raised_at.date_naive()),
            ));
        }
    }
    if let Some(e) = open {
        let week = openiop_domain::schedule::Week::of(today);
        this_week = openiop_app::schedule::episode_week(state, &ctx, e.id, week).await.ok();
        care_links.push((format!("/episodes/{}/make-ups?week={week}", e.id), "Hours this week and make-ups".into()));
        care_links.push((format!("/schedule?patient={pid}&week={week}"), "This patient's week".into()));
        if c.clinical {
            care_links.push((format!("/episodes/{}/plan", e.id), "Treatment plan".into()));
            care_links.push((format!("/episodes/{}/safety-plan", e.id), "Safety plan".into()));
            if let Ok(r) = openiop_app::documentation::plan_review(state, &ctx, e).await {
                review_overdue = r.overdue;
                review = Some(format!("{} ({})", r.due_on, r.reason));
            }
        }
    }
    let page = ChartPage {
        care_links,
        this_week,
        review,
        review_overdue,
        risk_flags,
        layout: Layout::staff(staff, &name, "/patients"),
        age: c.patient.details.age_on(today),
        program: f.map(|e| program_name(&all_programs, Some(e.program_id))).unwrap_or_else(|| "Not admitted".into()),
        clinical_level: open.and_then(|e| e.current_level(LevelLine::Clinical)).map(|s| s.level.label()).unwrap_or_else(|| "—".into()),
        authorized_level: open
            .and_then(|e| e.current_level(LevelLine::Authorized))
            .map(|s| s.level.label())
            .unwrap_or_else(|| if open.is_some() { "Not authorized yet".into() } else { "—".into() }),
        day: open.map(|e| e.day_number(today)),
        episodes: episode_rows,
        clinical_spans: f.map(|e| spans(e, LevelLine::Clinical)).unwrap_or_default(),
        authorized_spans: f.map(|e| spans(e, LevelLine::Authorized)).unwrap_or_default(),
        history_of: f
            .map(|e| format!("{}, admitted {}", program_name(&all_programs, Some(e.program_id)), e.admitted_on))
            .unwrap_or_default(),
        diagnoses: if c.clinical { f.map(|e| e.diagnoses.clone()).unwrap_or_default() } else { Vec::new() },
        consents,
        availability: c.patient.details.availability.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
        forms,
        name,
        c,
    };
    respond(&page, failure.is_some())
}

pub async fn chart(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    chart_page(&state, &staff, not_found(&id, "patient")?, None).await
}

/// After a chart form: back to the chart, or the chart again with the form's problems marked.
async fn after<T: Serialize>(
    state: &AppState,
    staff: &Staff,
    patient: PatientId,
    form: &str,
    posted: &T,
    result: openiop_domain::Result<()>,
) -> PageResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/patients/{patient}")).into_response()),
        Err(e) => match Failure::from(form, posted, &e) {
            Some(f) => chart_page(state, staff, patient, Some(&f)).await,
            None => Err(e.into()),
        },
    }
}

/// The patient of an episode, once a use case has checked the caller may act on it.
async fn patient_of(state: &AppState, staff: &Staff, episode: EpisodeId) -> PageResult<PatientId> {
    Ok(uc::patient_of_episode(state, &staff.ctx(), episode).await?)
}

/// Errors that mean "not yours to see" propagate before the chart is re-shown.
fn passes_scope(r: &openiop_domain::Result<()>) -> bool {
    !matches!(r, Err(DomainError::NotFound(_) | DomainError::Forbidden | DomainError::Unauthenticated | DomainError::Internal(_)))
}

pub async fn admit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<AdmissionPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let pid: PatientId = not_found(&id, "patient")?;
    let r = uc::admit(&state, &staff.ctx(), pid, &post.form).await.map(|_| ());
    after(&state, &staff, pid, "admit", &post.form, r).await
}

/// Runs an episode use case and answers with the chart.
async fn episode_action<T: Serialize>(
    state: &AppState,
    staff: &Staff,
    eid: EpisodeId,
    form: &str,
    posted: &T,
    r: openiop_domain::Result<()>,
) -> PageResult<Response> {
    if !passes_scope(&r) {
        return Err(r.err().unwrap_or(DomainError::NotFound("episode")).into());
    }
    let pid = patient_of(state, staff, eid).await?;
    after(state, staff, pid, form, posted, r).await
}

#[derive(Deserialize, Serialize)]
pub struct LevelPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(flatten)]
    form: LevelChangeForm,
}

pub async fn change_level(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<LevelPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let r = uc::change_level(&state, &staff.ctx(), eid, &post.form).await.map(|_| ());
    episode_action(&state, &staff, eid, "level", &post.form, r).await
}

#[derive(Deserialize, Serialize)]
pub struct TrackPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    track_id: String,
    #[serde(default)]
    risk_disposition: String,
}

pub async fn transfer_track(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<TrackPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let r = uc::transfer_track(&state, &staff.ctx(), eid, &post.track_id, &post.risk_disposition).await;
    episode_action(&state, &staff, eid, "track", &post, r).await
}

#[derive(Deserialize, Serialize)]
pub struct EpisodeStatusPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    status: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<EpisodeStatusPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let r = uc::set_status(&state, &staff.ctx(), eid, &post.status).await;
    episode_action(&state, &staff, eid, "hold", &post, r).await
}

pub async fn reassessment(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<super::auth::CsrfForm>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let r = uc::record_reassessment(&state, &staff.ctx(), eid).await;
    episode_action(&state, &staff, eid, "reassess", &(), r).await
}

#[derive(Deserialize, Serialize)]
pub struct DiagnosisPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    codes: String,
}

pub async fn add_diagnoses(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<DiagnosisPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let r = uc::add_diagnoses(&state, &staff.ctx(), eid, &post.codes).await.map_err(|e| match e {
        // The domain names the field after the admission form; here it is `codes`.
        DomainError::Validation(mut f) => {
            for x in &mut f {
                x.field = "codes".into();
            }
            DomainError::Validation(f)
        }
        other => other,
    });
    episode_action(&state, &staff, eid, "dx", &post, r).await
}

#[derive(Deserialize, Serialize)]
pub struct DischargePost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(flatten)]
    form: DischargeForm,
}

pub async fn discharge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<DischargePost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let eid: EpisodeId = not_found(&id, "episode")?;
    let r = uc::discharge(&state, &staff.ctx(), eid, &post.form).await.map(|_| ());
    episode_action(&state, &staff, eid, "discharge", &post.form, r).await
}

#[derive(Deserialize, Serialize)]
pub struct CollateralPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(flatten)]
    form: CollateralForm,
}

pub async fn add_collateral(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<CollateralPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let pid: PatientId = not_found(&id, "patient")?;
    let r = uc::add_collateral(&state, &staff.ctx(), pid, &post.form).await;
    after(&state, &staff, pid, "family", &post.form, r).await
}

#[derive(Deserialize, Serialize)]
pub struct CoveragePost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(flatten)]
    form: CoverageForm,
}

pub async fn add_coverage(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<CoveragePost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let pid: PatientId = not_found(&id, "patient")?;
    let r = uc::add_coverage(&state, &staff.ctx(), pid, &post.form).await;
    after(&state, &staff, pid, "coverage", &post.form, r).await
}

#[derive(Deserialize, Serialize)]
pub struct ConsentPost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(flatten)]
    form: ConsentForm,
}

pub async fn add_consent(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<ConsentPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let pid: PatientId = not_found(&id, "patient")?;
    let r = uc::add_consent(&state, &staff.ctx(), pid, &post.form).await.map(|_| ());
    after(&state, &staff, pid, "consent", &post.form, r).await
}

#[derive(Deserialize, Serialize)]
pub struct RevokePost {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    revoked_by: String,
    #[serde(default)]
    note: String,
}

pub async fn revoke_consent(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, cid)): Path<(String, String)>,
    Form(post): Form<RevokePost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let pid: PatientId = not_found(&id, "patient")?;
    let cid: ConsentId = not_found(&cid, "consent")?;
    let ctx = staff.ctx();
    let r = if post.revoked_by.trim().is_empty() {
        // Revocation must be in writing (42 CFR §2.31): record who revoked.
        uc::consents(&state, &ctx, pid).await?;
        Err(DomainError::field("revoked_by", "required", "say who revoked the consent in writing"))
    } else {
        // A family member it covered leaves future sessions; the list is audited.
        uc::revoke_consent(&state, &ctx, pid, cid, post.revoked_by.trim(), post.note.trim()).await.map(|_| ())
    };
    // The failed form is the revoke form of this consent's row.
    let form = match &r {
        Err(_) => {
            let consents = uc::consents(&state, &ctx, pid).await?;
            consents.iter().position(|c| c.id == cid).map(|i| format!("revoke-{}", i + 1)).unwrap_or_else(|| "revoke".into())
        }
        Ok(()) => String::new(),
    };
    after(&state, &staff, pid, &form, &post, r).await
}

// ---------------------------------------------------------------------------------------------
// Discharge summary

/// The discharge summary's facts, as label/value rows shared by the HTML page and the PDF.
pub struct SummaryView {
    pub title: String,
    pub patient: Vec<(String, String)>,
    pub clinical: Vec<SpanRow>,
    pub authorized: Vec<SpanRow>,
    pub diagnoses: Vec<String>,
    pub discharge: Vec<(String, String)>,
    pub aftercare: Vec<(String, String)>,
    pub hours: Option<String>,
    pub services: Vec<String>,
    pub scores: Vec<String>,
}

fn or_none(s: &str) -> String {
    if s.trim().is_empty() { "None recorded".into() } else { s.to_string() }
}

pub fn summary_view(s: &DischargeSummary) -> SummaryView {
    let d = &s.patient.details;
    let e = &s.episode;
    let (date, kind, reason, next_level, next_provider, aftercare) = match &e.discharge {
        Some(x) => (
            x.date.to_string(),
            x.kind.label().to_string(),
            x.reason.clone(),
            x.next_level.as_ref().map(|l| l.label()).unwrap_or_else(|| "None".into()),
            x.next_provider.clone(),
            Some(x.aftercare.clone()),
        ),
        None => (String::new(), String::new(), String::new(), String::new(), String::new(), None),
    };
    let stay = e.discharge.as_ref().map(|x| (x.date - e.admitted_on).num_days() + 1).unwrap_or(0);
    SummaryView {
        title: format!("Discharge summary: {}", d.display_name()),
        patient: vec![
            ("Patient".into(), format!("{} {}", d.legal_first, d.legal_last)),
            ("MRN".into(), s.patient.mrn.clone()),
            ("Date of birth".into(), d.date_of_birth.to_string()),
            ("Program".into(), s.program_name.clone()),
            ("Organization".into(), format!("{}, {}", s.organization, s.site_name)),
            ("Admitted".into(), e.admitted_on.to_string()),
            ("Discharged".into(), date),
            ("Length of stay".into(), format!("{stay} days")),
        ],
        clinical: spans(e, LevelLine::Clinical),
        authorized: spans(e, LevelLine::Authorized),
        diagnoses: e
            .diagnoses
            .iter()
            .map(|x| {
                let mut t = format!("{} {}", x.code, x.description);
                if x.primary {
                    t.push_str(" (primary)");
                }
                t.trim().to_string()
            })
            .collect(),
        discharge: vec![
            ("Type".into(), kind),
            ("Reason".into(), or_none(&reason)),
            ("Next level of care".into(), next_level),
            ("Next provider".into(), or_none(&next_provider)),
        ],
        aftercare: aftercare
            .map(|a| {
                vec![
                    ("Appointments".into(), or_none(&a.appointments)),
                    ("Supports".into(), or_none(&a.supports)),
                    ("Relapse-prevention plan".into(), or_none(&a.relapse_prevention)),
                ]
            })
            .unwrap_or_default(),
        hours: s.hours.map(|(attended, required)| format!("{attended:.1} hours attended of {required:.1} required")),
        services: s.services.iter().map(|(name, n, h)| format!("{name}: {n} sessions, {h:.1} hours")).collect(),
        scores: s.scores.iter().map(|(m, first, last)| format!("{m}: first {first}, last {last}")).collect(),
    }
}

#[derive(Template)]
#[template(path = "discharge_summary.html")]
struct SummaryPage {
    layout: Layout,
    s: SummaryView,
    pdf: String,
    chart: String,
    notice_title: &'static str,
    notice: &'static str,
}

pub async fn discharge_summary(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    let eid: EpisodeId = not_found(&id, "episode")?;
    let s = uc::discharge_summary(&state, &staff.ctx(), eid).await?;
    let view = summary_view(&s);
    render(&SummaryPage {
        layout: Layout::staff(&staff, &view.title, "/patients"),
        pdf: format!("/episodes/{eid}/discharge-summary.pdf"),
        chart: format!("/patients/{}", s.patient.id),
        s: view,
        notice_title: openiop_domain::part2::NOTICE_TITLE,
        notice: openiop_domain::part2::NOTICE,
    })
}

/// The same summary as a PDF document, with the 42 CFR §2.32 notice on its first page.
pub fn summary_pdf(s: &DischargeSummary) -> Result<Vec<u8>, crate::pdf::PdfError> {
    use crate::pdf::Document;
    let v = summary_view(s);
    let mut doc = Document::new();
    doc.metadata_title(&format!("Discharge summary, MRN {}", s.patient.mrn));
    doc.title(&v.title);
    doc.small(&format!("{} · printed {}", s.organization, s.printed_on));
    doc.notice(openiop_domain::part2::NOTICE_TITLE, openiop_domain::part2::NOTICE);
    doc.heading("Patient and episode");
    for (k, val) in &v.patient {
        doc.field(k, val);
    }
    for (heading, rows) in [("Clinical level delivered", &v.clinical), ("Level authorized by the payer", &v.authorized)] {
        doc.heading(heading);
        if rows.is_empty() {
            doc.text("Not recorded");
        }
        for r in rows {
            doc.text(&format!("{} — from {} to {}: {}", r.level, r.from, r.to, r.reason));
        }
    }
    doc.heading("Diagnoses (ICD-10-CM)");
    if v.diagnoses.is_empty() {
        doc.text("Not recorded");
    }
    for d in &v.diagnoses {
        doc.text(d);
    }
    doc.heading("Discharge");
    for (k, val) in &v.discharge {
        doc.field(k, val);
    }
    doc.heading("Aftercare plan");
    for (k, val) in &v.aftercare {
        doc.field(k, val);
    }
    doc.heading("Hours attended vs required");
    doc.text(v.hours.as_deref().unwrap_or("Not recorded"));
    doc.heading("Services received by type");
    if v.services.is_empty() {
        doc.text("Not recorded");
    }
    for x in &v.services {
        doc.text(x);
    }
    doc.heading("Measures: first and last scores");
    if v.scores.is_empty() {
        doc.text("Not recorded");
    }
    for x in &v.scores {
        doc.text(x);
    }
    doc.finish()
}

pub async fn discharge_summary_pdf(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    let eid: EpisodeId = not_found(&id, "episode")?;
    let s = uc::discharge_summary(&state, &staff.ctx(), eid).await?;
    let filename = format!("inline; filename=\"discharge-summary-{}.pdf\"", s.patient.mrn);
    // Shaping and font subsetting are CPU work (and the first CJK name reads its font file).
    let bytes = tokio::task::spawn_blocking(move || summary_pdf(&s))
        .await
        .map_err(|e| DomainError::Internal(format!("pdf task: {e}")))?
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, filename),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
