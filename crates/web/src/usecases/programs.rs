//! Programs, tracks, rooms, the service catalogue, staff and credentials.
use crate::state::AppState;
use chrono::NaiveDate;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::{ProgramId, SiteId, UserId};
use openiop_domain::programs::*;
use openiop_domain::tenancy::Site;
use openiop_domain::{DomainError, Result};

fn event(ctx: &Ctx, action: AuditAction, what: &str) -> AuditEvent {
    AuditEvent::by(
        ctx,
        ctx.actor.acting_role(Action::ManagePrograms).or_else(|| ctx.actor.acting_role(Action::ViewPrograms)),
        action,
        what,
        None,
    )
}

/// Managing a site's programs needs the role and the site in scope (out of scope: 404).
fn require_manage(ctx: &Ctx, site: SiteId, program: Option<ProgramId>) -> Result<()> {
    ctx.authorize(Action::ManagePrograms, Some(site), program, "program")
}

pub async fn visible_programs(state: &AppState, ctx: &Ctx) -> Result<Vec<Program>> {
    ctx.actor.require(Action::ViewPrograms)?;
    let all = state.store.programs(ctx.org()).await?;
    Ok(all.into_iter().filter(|p| ctx.actor.scope.covers(Some(p.site_id), Some(p.id))).collect())
}

pub async fn program(state: &AppState, ctx: &Ctx, id: ProgramId) -> Result<Program> {
    let p = state.store.program(ctx.org(), id).await?;
    ctx.authorize(Action::ViewPrograms, Some(p.site_id), Some(p.id), "program")?;
    Ok(p)
}

pub async fn create_program(state: &AppState, ctx: &Ctx, form: &ProgramForm) -> Result<Program> {
    ctx.actor.require(Action::ManagePrograms)?;
    let p = NewProgram::parse(form)?;
    require_manage(ctx, p.site_id, None)?;
    state.store.create_program(ctx.org(), p, event(ctx, AuditAction::Create, "program")).await
}

pub async fn update_program(state: &AppState, ctx: &Ctx, id: ProgramId, form: &ProgramForm) -> Result<Program> {
    let existing = program(state, ctx, id).await?;
    require_manage(ctx, existing.site_id, Some(id))?;
    let p = NewProgram::parse(form)?;
    require_manage(ctx, p.site_id, Some(id))?;
    state.store.update_program(ctx.org(), id, p, event(ctx, AuditAction::Update, "program")).await
}

pub async fn tracks(state: &AppState, ctx: &Ctx, program_id: ProgramId) -> Result<Vec<Track>> {
    program(state, ctx, program_id).await?;
    state.store.tracks(ctx.org(), Some(program_id)).await
}

pub async fn create_track(state: &AppState, ctx: &Ctx, program_id: ProgramId, name: &str, mode: &str) -> Result<Track> {
    let p = program(state, ctx, program_id).await?;
    require_manage(ctx, p.site_id, Some(p.id))?;
    let mode = DeliveryMode::parse(mode)?;
    state.store.create_track(ctx.org(), program_id, name, mode, event(ctx, AuditAction::Create, "track")).await
}

/// Adds a recurring session to a track's week. The leader, if named, must be allowed to lead
/// the service (the one credential rule, checked for the program's site state today).
pub async fn add_template_session(
    state: &AppState,
    ctx: &Ctx,
    track_id: TrackId,
    form: &TemplateForm,
    today: NaiveDate,
) -> Result<TemplateSession> {
    let track = state.store.track(ctx.org(), track_id).await?;
    let p = program(state, ctx, track.program_id).await?;
    require_manage(ctx, p.site_id, Some(p.id))?;
    let services = state.store.service_types(ctx.org()).await?;
    let service_minutes =
        form.service_type_id.parse::<ServiceTypeId>().ok().and_then(|id| services.iter().find(|s| s.id == id)).map(|s| s.default_minutes);
    let s = TemplateSession::parse(form, service_minutes)?;
    let service = services
        .iter()
        .find(|x| x.id == s.service_type_id)
        .ok_or_else(|| DomainError::field("service_type_id", "unknown_reference", "is not a service of this organization"))?;
    if let Some(room_id) = s.room_id {
        let rooms = state.store.rooms(ctx.org()).await?;
        let room = rooms
            .iter()
            .find(|r| r.id == room_id)
            .ok_or_else(|| DomainError::field("room_id", "unknown_reference", "is not a room of this organization"))?;
        if room.site_id != p.site_id {
            return Err(DomainError::field("room_id", "room_at_other_site", "is at another site"));
        }
    }
    if let Some(leader) = s.leader {
        let staff = state.store.staff_profiles(ctx.org()).await?;
        let profile = staff
            .iter()
            .find(|x| x.user_id == leader)
            .ok_or_else(|| DomainError::field("leader_id", "no_credentials", "has no staff profile or credentials yet"))?;
        let site = state.store.site(ctx.org(), p.site_id).await?;
        let states = [site.address.state];
        check_may_lead(profile, &LeadRequest { service, date: today, patient_states: &states }, &CompactConfig::default())?;
    }
    state.store.add_template_session(ctx.org(), track_id, s.clone(), event(ctx, AuditAction::Create, "template_session")).await?;
    Ok(s)
}

pub async fn remove_template_session(state: &AppState, ctx: &Ctx, track_id: TrackId, id: TemplateSessionId) -> Result<()> {
    let track = state.store.track(ctx.org(), track_id).await?;
    let p = program(state, ctx, track.program_id).await?;
    require_manage(ctx, p.site_id, Some(p.id))?;
    if !track.template.iter().any(|t| t.id == id) {
        return Err(DomainError::NotFound("template session"));
    }
    state.store.remove_template_session(ctx.org(), id, event(ctx, AuditAction::Delete, "template_session")).await
}

pub async fn rooms(state: &AppState, ctx: &Ctx) -> Result<Vec<Room>> {
    ctx.actor.require(Action::ViewPrograms)?;
    Ok(state.store.rooms(ctx.org()).await?.into_iter().filter(|r| ctx.actor.scope.covers(Some(r.site_id), None)).collect())
}

pub async fn create_room(state: &AppState, ctx: &Ctx, site: SiteId, name: &str, kind: &str, capacity: &str, notes: &str) -> Result<Room> {
    ctx.authorize(Action::ManagePrograms, Some(site), None, "site")?;
    let room = NewRoom::parse(name, kind, capacity, notes)?;
    state.store.create_room(ctx.org(), site, room, event(ctx, AuditAction::Create, "room")).await
}

pub async fn service_types(state: &AppState, ctx: &Ctx) -> Result<Vec<ServiceType>> {
    ctx.actor.require(Action::ViewPrograms)?;
    state.store.service_types(ctx.org()).await
}

/// Staff visible to the caller: those whose scope overlaps the caller's (everyone for
/// organization-wide callers).
pub async fn staff(state: &AppState, ctx: &Ctx) -> Result<Vec<StaffProfile>> {
    ctx.actor.require(Action::ViewPrograms)?;
    state.store.staff_profiles(ctx.org()).await
}

fn require_staff_admin(ctx: &Ctx) -> Result<()> {
    ctx.actor.require(Action::ManagePrograms)?;
    if ctx.actor.scope != Scope::Organization {
        return Err(DomainError::Forbidden);
    }
    Ok(())
}

pub async fn save_staff_profile(state: &AppState, ctx: &Ctx, user: UserId, form: &StaffProfileForm) -> Result<()> {
    require_staff_admin(ctx)?;
    let p = StaffProfileUpdate::parse(form)?;
    state.store.save_staff_profile(ctx.org(), user, p, event(ctx, AuditAction::Update, "staff_profile")).await
}

pub async fn add_credential(state: &AppState, ctx: &Ctx, user: UserId, form: &CredentialForm) -> Result<Credential> {
    require_staff_admin(ctx)?;
    let c = NewCredential::parse(form)?;
    state.store.add_credential(ctx.org(), user, c, event(ctx, AuditAction::Create, "credential")).await
}

pub async fn verify_credential(state: &AppState, ctx: &Ctx, id: CredentialId, status: &str) -> Result<()> {
    require_staff_admin(ctx)?;
    let status = Verification::parse(status)?;
    state.store.verify_credential(ctx.org(), id, status, ctx.actor.user_id, event(ctx, AuditAction::Update, "credential")).await
}

/// Credentials expiring within `days`, soonest first, with their holder's name.
pub async fn expiring_credentials(state: &AppState, ctx: &Ctx, today: NaiveDate, days: i64) -> Result<Vec<(String, Credential)>> {
    ctx.actor.require(Action::ManagePrograms)?;
    let staff = state.store.staff_profiles(ctx.org()).await?;
    let mut out: Vec<(String, Credential)> =
        staff.iter().flat_map(|s| expiring_within(&s.credentials, today, days).into_iter().map(|c| (s.name.clone(), c.clone()))).collect();
    out.sort_by_key(|(_, c)| c.expires_on);
    Ok(out)
}

/// A program's staff: whoever leads its template sessions, and staff assigned to its site or
/// to the program itself (organization-wide accounts count only where they lead sessions).
pub fn program_staff(program: &Program, tracks: &[Track], staff: &[StaffProfile], scopes: &[(UserId, Scope)]) -> Vec<StaffProfile> {
    staff
        .iter()
        .filter(|s| {
            let leads = tracks.iter().any(|t| t.template.iter().any(|x| x.leader == Some(s.user_id)));
            let scoped = scopes
                .iter()
                .any(|(u, sc)| *u == s.user_id && *sc != Scope::Organization && sc.covers(Some(program.site_id), Some(program.id)));
            leads || scoped
        })
        .cloned()
        .collect()
}

/// Public profiles of programs of one organization, from one load of its data (no N+1).
async fn profiles_of(
    state: &AppState,
    org: &openiop_domain::tenancy::Organization,
    programs: Vec<Program>,
    today: NaiveDate,
) -> Result<Vec<PublicProfile>> {
    let sites = state.store.sites(org.id).await?;
    let tracks = state.store.tracks(org.id, None).await?;
    let services = state.store.service_types(org.id).await?;
    let staff = state.store.staff_profiles(org.id).await?;
    let scopes: Vec<(UserId, Scope)> = state.store.users(org.id).await?.into_iter().map(|u| (u.id, u.scope)).collect();
    programs
        .iter()
        .map(|p| {
            let site: &Site = sites.iter().find(|s| s.id == p.site_id).ok_or(DomainError::NotFound("site"))?;
            let tracks: Vec<Track> = tracks.iter().filter(|t| t.program_id == p.id).cloned().collect();
            let staff = program_staff(p, &tracks, &staff, &scopes);
            Ok(openiop_domain::programs::public_profile(org, site, p, &tracks, &services, &staff, today))
        })
        .collect()
}

/// The public profile of a program (no login, no patient data).
pub async fn public_profile(state: &AppState, slug: &str, today: NaiveDate) -> Result<PublicProfile> {
    let program = state.store.program_by_slug(slug).await?.ok_or(DomainError::NotFound("program"))?;
    let org = state.store.organization(program.organization_id).await?;
    profiles_of(state, &org, vec![program], today).await?.pop().ok_or(DomainError::NotFound("program"))
}

/// An organization's programs side by side, for its public directory.
pub async fn directory(state: &AppState, org_slug: &str, today: NaiveDate) -> Result<(String, Vec<PublicProfile>)> {
    let org = state.store.organization_by_slug(org_slug).await?.ok_or(DomainError::NotFound("organization"))?;
    let programs = state.store.programs(org.id).await?;
    let profiles = profiles_of(state, &org, programs, today).await?;
    Ok((org.name, profiles))
}
