//! Program pages: the public profile and directory, and the director's pages for programs,
//! tracks and templates, sites and rooms, staff and credentials.
use super::auth::CsrfForm;
use super::form::Form;
use super::{FormErrors, Layout, render};
use crate::error::{PageError, PageResult};
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openiop_app::programs as uc;
use openiop_domain::DomainError;
use openiop_domain::ids::{ProgramId, UserId};
use openiop_domain::programs::*;
use openiop_domain::tenancy::Site;
use serde::Deserialize;

fn not_found<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(DomainError::NotFound(what)))
}

#[derive(Template)]
#[template(path = "program_profile.html")]
struct ProfilePage {
    layout: Layout,
    p: PublicProfile,
}

pub async fn public_profile(State(state): State<AppState>, Path(slug): Path<String>) -> PageResult<Response> {
    let p = uc::public_profile(&state, &slug).await?;
    render(&ProfilePage { layout: Layout::public(&p.name.clone()), p })
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    layout: Layout,
    organization: String,
    programs: Vec<PublicProfile>,
}

pub async fn directory(State(state): State<AppState>, Path(org): Path<String>) -> PageResult<Response> {
    let (organization, programs) = uc::directory(&state, &org).await?;
    render(&DirectoryPage { layout: Layout::public(&format!("{organization}: programs")), organization, programs })
}

#[derive(Template)]
#[template(path = "admin_programs.html")]
struct ProgramsPage {
    layout: Layout,
    programs: Vec<Program>,
    sites: Vec<Site>,
    can_manage: bool,
    form: ProgramForm,
    errors: FormErrors,
    focuses: &'static [ConditionFocus],
    populations: &'static [Population],
    modes: &'static [DeliveryMode],
    levels: Vec<LevelOfCare>,
}

impl ProgramsPage {
    fn mode_checked(&self, code: &str) -> bool {
        self.form.delivery_modes.iter().any(|m| m == code)
    }
}

async fn programs_page(state: &AppState, staff: &Staff, form: ProgramForm, errors: FormErrors) -> PageResult<Response> {
    let ctx = staff.ctx();
    let programs = uc::visible_programs(state, &ctx).await?;
    let sites = openiop_app::sites::visible_sites(state, &ctx).await?;
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut res = render(&ProgramsPage {
        layout: Layout::staff(staff, "Programs", "/admin/programs"),
        programs,
        sites,
        can_manage: staff.actor.can(openiop_domain::auth::Action::ManagePrograms),
        form,
        errors,
        focuses: ConditionFocus::ALL,
        populations: Population::ALL,
        modes: DeliveryMode::ALL,
        levels: LevelOfCare::all(),
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn programs(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    let form = ProgramForm {
        delivery_modes: vec!["in_person".into()],
        level_edition: "ASAM3".into(),
        level_code: "2.1".into(),
        ..Default::default()
    };
    programs_page(&state, &staff, form, FormErrors::default()).await
}

#[derive(Deserialize)]
pub struct ProgramPost {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: ProgramForm,
}

pub async fn create_program(State(state): State<AppState>, staff: Staff, Form(post): Form<ProgramPost>) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    match uc::create_program(&state, &staff.ctx(), &post.form).await {
        Ok(p) => Ok(Redirect::to(&format!("/admin/programs/{}", p.id)).into_response()),
        Err(e) => match FormErrors::from(&e).or_else(|| conflict_as_field(&e, "slug")) {
            Some(errors) => programs_page(&state, &staff, post.form, errors).await,
            None => Err(e.into()),
        },
    }
}

fn conflict_as_field(e: &DomainError, field: &str) -> Option<FormErrors> {
    match e {
        DomainError::Conflict { code, message } => Some(FormErrors(vec![openiop_domain::FieldError::new(field, *code, message.clone())])),
        _ => None,
    }
}

pub struct TemplateRow {
    pub id: String,
    pub day: &'static str,
    pub time: String,
    pub service: String,
    pub place: String,
    pub leader: String,
    pub topic: String,
    pub modality: String,
}

pub struct TrackView {
    pub id: String,
    pub name: String,
    pub mode: &'static str,
    pub rows: Vec<TemplateRow>,
    pub hours: f64,
}

#[derive(Template)]
#[template(path = "admin_program.html")]
struct ProgramPage {
    layout: Layout,
    program: Program,
    site: Site,
    tracks: Vec<TrackView>,
    can_manage: bool,
    services: Vec<ServiceType>,
    rooms: Vec<Room>,
    staff: Vec<StaffProfile>,
    modalities: &'static [Modality],
    modes: &'static [DeliveryMode],
    error: Option<String>,
    form: ProgramForm,
    focuses: &'static [ConditionFocus],
    populations: &'static [Population],
}

impl ProgramPage {
    fn mode_checked(&self, code: &str) -> bool {
        self.form.delivery_modes.iter().any(|m| m == code)
    }
}

async fn program_page(state: &AppState, staff: &Staff, id: ProgramId, error: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let program = uc::program(state, &ctx, id).await?;
    let program_for_form = program.clone();
    let site = openiop_app::sites::site(state, &ctx, program.site_id).await?;
    let tracks = uc::tracks(state, &ctx, id).await?;
    let services = uc::service_types(state, &ctx).await?;
    let rooms: Vec<Room> = uc::rooms(state, &ctx).await?.into_iter().filter(|r| r.site_id == program.site_id).collect();
    let people = uc::staff(state, &ctx).await?;
    let name_of =
        |u: Option<UserId>| u.and_then(|u| people.iter().find(|p| p.user_id == u)).map(|p| p.name.clone()).unwrap_or_else(|| "—".into());
    let tracks = tracks
        .into_iter()
        .map(|t| {
            let mut hours = 0.0;
            let rows = t
                .template
                .iter()
                .map(|s| {
                    let svc = services.iter().find(|x| x.id == s.service_type_id);
                    if svc.is_some_and(|x| x.counts_toward_hours) {
                        hours += s.minutes as f64 / 60.0;
                    }
                    TemplateRow {
                        id: s.id.to_string(),
                        day: short_weekday(s.weekday),
                        time: format!("{}–{}", s.start.format("%H:%M"), s.end().format("%H:%M")),
                        service: svc.map(|x| x.name.clone()).unwrap_or_default(),
                        place: if s.is_virtual {
                            "Virtual".into()
                        } else {
                            s.room_id.and_then(|r| rooms.iter().find(|x| x.id == r)).map(|r| r.name.clone()).unwrap_or_default()
                        },
                        leader: name_of(s.leader),
                        topic: s.topic.clone(),
                        modality: s.modality.map(|m| m.label().to_string()).unwrap_or_default(),
                    }
                })
                .collect();
            TrackView { id: t.id.to_string(), name: t.name, mode: t.delivery_mode.label(), rows, hours }
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut res = render(&ProgramPage {
        layout: Layout::staff(staff, &program.name.clone(), "/admin/programs"),
        can_manage: staff.actor.can(openiop_domain::auth::Action::ManagePrograms),
        program,
        site,
        tracks,
        services,
        rooms,
        staff: people,
        modalities: Modality::ALL,
        modes: DeliveryMode::ALL,
        error,
        form: ProgramForm::from(&program_for_form),
        focuses: ConditionFocus::ALL,
        populations: Population::ALL,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn program(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> PageResult<Response> {
    program_page(&state, &staff, not_found(&id, "program")?, None).await
}

/// Saves a program's settings (directors and administrators).
pub async fn update_program(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(post): Form<ProgramPost>,
) -> PageResult<Response> {
    staff.check_csrf(&post.csrf)?;
    let pid: ProgramId = not_found(&id, "program")?;
    match uc::update_program(&state, &staff.ctx(), pid, &post.form).await {
        Ok(p) => Ok(Redirect::to(&format!("/admin/programs/{}", p.id)).into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => program_page(&state, &staff, pid, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}

/// Field errors as one readable sentence for a form inside a larger page.
fn explain(e: &DomainError) -> Option<String> {
    match e {
        DomainError::Validation(f) => {
            Some(f.iter().map(|x| format!("{}: {}", x.field.replace('_', " "), x.message)).collect::<Vec<_>>().join("; "))
        }
        DomainError::Rule { message, .. } | DomainError::Conflict { message, .. } => Some(message.clone()),
        _ => None,
    }
}

#[derive(Deserialize)]
pub struct TrackPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    delivery_mode: String,
}

pub async fn create_track(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TrackPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let pid: ProgramId = not_found(&id, "program")?;
    match uc::create_track(&state, &staff.ctx(), pid, &f.name, &f.delivery_mode).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/programs/{pid}")).into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => program_page(&state, &staff, pid, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct TemplatePost {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: TemplateForm,
}

pub async fn add_template(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TemplatePost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let tid: TrackId = not_found(&id, "track")?;
    let track = uc::track(&state, &staff.ctx(), tid).await?;
    match uc::add_template_session(&state, &staff.ctx(), tid, &f.form).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/programs/{}#track-{tid}", track.program_id)).into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => program_page(&state, &staff, track.program_id, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}

pub async fn remove_template(
    State(state): State<AppState>,
    staff: Staff,
    Path((tid, sid)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let tid: TrackId = not_found(&tid, "track")?;
    let track = uc::track(&state, &staff.ctx(), tid).await?;
    uc::remove_template_session(&state, &staff.ctx(), tid, not_found(&sid, "template session")?).await?;
    Ok(Redirect::to(&format!("/admin/programs/{}", track.program_id)).into_response())
}

pub struct StaffRow {
    pub profile: StaffProfile,
    pub supervisor: String,
    pub modalities: String,
    pub availability: String,
}

#[derive(Template)]
#[template(path = "admin_staff.html")]
struct StaffPage {
    layout: Layout,
    rows: Vec<StaffRow>,
    users: Vec<openiop_domain::users::User>,
    can_manage: bool,
    kinds: &'static [CredentialType],
    modalities: &'static [Modality],
    expiring: Vec<(String, Credential, i64)>,
    error: Option<String>,
}

async fn staff_page(state: &AppState, staff: &Staff, error: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let people = uc::staff(state, &ctx).await?;
    let users = uc::staff_accounts(state, &ctx).await?;
    let can_manage = staff.actor.can(openiop_domain::auth::Action::ManagePrograms);
    let expiring = if can_manage {
        uc::expiring_credentials(state, &ctx, 90).await?.into_iter().map(|e| (e.holder, e.credential, e.days_left)).collect()
    } else {
        Vec::new()
    };
    let rows = people
        .iter()
        .map(|p| StaffRow {
            supervisor: p.supervisor_id.and_then(|s| people.iter().find(|x| x.user_id == s)).map(|x| x.name.clone()).unwrap_or_default(),
            modalities: p.modalities.iter().map(|m| m.label()).collect::<Vec<_>>().join(", "),
            availability: p.availability.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
            profile: p.clone(),
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut res = render(&StaffPage {
        layout: Layout::staff(staff, "Staff and credentials", "/admin/staff"),
        rows,
        users,
        can_manage,
        kinds: CredentialType::ALL,
        modalities: Modality::ALL,
        expiring,
        error,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn staff_list(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    staff_page(&state, &staff, None).await
}

#[derive(Deserialize)]
pub struct CredentialPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(flatten)]
    form: CredentialForm,
}

pub async fn add_credential(State(state): State<AppState>, staff: Staff, Form(f): Form<CredentialPost>) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let user: UserId = f.user_id.parse().map_err(|_| DomainError::field("user_id", "required", "choose a staff member"))?;
    match uc::add_credential(&state, &staff.ctx(), user, &f.form).await {
        Ok(_) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => staff_page(&state, &staff, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct VerifyPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

pub async fn verify_credential(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<VerifyPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    uc::verify_credential(&state, &staff.ctx(), not_found(&id, "credential")?, &f.status).await?;
    Ok(Redirect::to("/admin/staff").into_response())
}

#[derive(Deserialize)]
pub struct ProfilePost {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: StaffProfileForm,
}

pub async fn save_profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ProfilePost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    match uc::save_staff_profile(&state, &staff.ctx(), not_found(&id, "staff member")?, &f.form).await {
        Ok(()) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => staff_page(&state, &staff, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "admin_sites.html")]
struct SitesPage {
    layout: Layout,
    sites: Vec<Site>,
    rooms: Vec<Room>,
    can_manage: bool,
    error: Option<String>,
}

async fn sites_page(state: &AppState, staff: &Staff, error: Option<String>) -> PageResult<Response> {
    let ctx = staff.ctx();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut res = render(&SitesPage {
        layout: Layout::staff(staff, "Sites and rooms", "/admin/sites"),
        sites: openiop_app::sites::visible_sites(state, &ctx).await?,
        rooms: uc::rooms(state, &ctx).await?,
        can_manage: staff.actor.can(openiop_domain::auth::Action::ManagePrograms),
        error,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn sites(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    sites_page(&state, &staff, None).await
}

#[derive(Deserialize)]
pub struct SitePost {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    site: openiop_domain::tenancy::SiteForm,
}

pub async fn create_site(State(state): State<AppState>, staff: Staff, Form(f): Form<SitePost>) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    match openiop_app::sites::add_site(&state, &staff.ctx(), &f.site).await {
        Ok(_) => Ok(Redirect::to("/admin/sites").into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => sites_page(&state, &staff, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct RoomPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    notes: String,
}

pub async fn create_room(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<RoomPost>,
) -> PageResult<Response> {
    staff.check_csrf(&f.csrf)?;
    match uc::create_room(&state, &staff.ctx(), not_found(&id, "site")?, &f.name, &f.kind, &f.capacity, &f.notes).await {
        Ok(_) => Ok(Redirect::to("/admin/sites").into_response()),
        Err(e) => match explain(&e) {
            Some(msg) => sites_page(&state, &staff, Some(msg)).await,
            None => Err(e.into()),
        },
    }
}
