//! Programs, tracks, rooms, the service catalogue, staff and credentials.
use crate::{App, Work};
use chrono::NaiveDate;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::{ProgramId, SiteId, UserId};
use openiop_domain::programs::*;
use openiop_domain::store::RecordKind;
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

/// Today where the caller works: at their first site in scope (organization-wide staff: the
/// organization's first site). Staff-wide lists (credentials expiring) count days from it.
pub(crate) async fn home_today(w: &Work<'_>, ctx: &Ctx) -> Result<NaiveDate> {
    let sites = w.db().sites(ctx.org()).await?;
    let tz = sites.iter().find(|s| ctx.actor.scope.covers(Some(s.id), None)).or(sites.first()).map(|s| s.time_zone.0);
    Ok(openiop_domain::clock::local_date(w.now(), tz.unwrap_or(chrono_tz::UTC)))
}

/// Managing a site's programs needs the role and the site in scope (out of scope: 404).
fn require_manage(ctx: &Ctx, site: SiteId, program: Option<ProgramId>) -> Result<()> {
    ctx.authorize(Action::ManagePrograms, Some(site), program, "program")
}

/// The site named in a program's form: one the caller may manage, else the same field error as
/// for a site that does not exist.
async fn form_site(w: &Work<'_>, ctx: &Ctx, site: SiteId) -> Result<()> {
    crate::sites::site_in(w, ctx, site, Action::ManagePrograms)
        .await
        .map(|_| ())
        .map_err(|_| DomainError::field("site_id", "unknown_site", "is not a site of this organization"))
}

/// A program's clinical lead is an active clinician (clinician, prescriber or clinical director)
/// of this organization who can see the program's patients; anyone else is the same field error.
async fn check_clinical_lead(w: &Work<'_>, ctx: &Ctx, p: &NewProgram, id: Option<ProgramId>) -> Result<()> {
    let Some(lead) = p.clinical_lead else { return Ok(()) };
    let refused =
        || DomainError::field("clinical_lead_id", "not_a_clinician", "choose an active clinician who works at the program's site");
    let user = match w.db().user(lead).await {
        Ok(u) => u,
        Err(DomainError::NotFound(_)) => return Err(refused()),
        Err(e) => return Err(e),
    };
    let clinical = user.roles.iter().any(|r| {
        matches!(
            r,
            openiop_domain::auth::Role::Clinician | openiop_domain::auth::Role::Prescriber | openiop_domain::auth::Role::ClinicalDirector
        )
    });
    if user.organization_id != ctx.org() || !user.active || !clinical || !user.scope.covers(Some(p.site_id), id) {
        return Err(refused());
    }
    Ok(())
}

pub async fn visible_programs(app: &App, ctx: &Ctx) -> Result<Vec<Program>> {
    reading!(app, |w| visible_programs_in(&w, ctx).await)
}

pub(crate) async fn visible_programs_in(w: &Work<'_>, ctx: &Ctx) -> Result<Vec<Program>> {
    ctx.actor.require(Action::ViewPrograms)?;
    let all = w.db().programs(ctx.org()).await?;
    Ok(all.into_iter().filter(|p| ctx.actor.scope.covers(Some(p.site_id), Some(p.id))).collect())
}

pub async fn program(app: &App, ctx: &Ctx, id: ProgramId) -> Result<Program> {
    reading!(app, |w| program_in(&w, ctx, id).await)
}

pub(crate) async fn program_in(w: &Work<'_>, ctx: &Ctx, id: ProgramId) -> Result<Program> {
    let p = w.found(ctx, Action::ViewPrograms, RecordKind::Program, &id.to_string(), w.db().program(ctx.org(), id).await).await?;
    ctx.authorize(Action::ViewPrograms, Some(p.site_id), Some(p.id), "program")?;
    Ok(p)
}

pub async fn create_program(app: &App, ctx: &Ctx, form: &ProgramForm) -> Result<Program> {
    writing!(app, |w| {
        ctx.actor.require(Action::ManagePrograms)?;
        let p = NewProgram::parse(form)?;
        form_site(&w, ctx, p.site_id).await?;
        check_clinical_lead(&w, ctx, &p, None).await?;
        w.db().create_program(ctx.org(), p, event(ctx, AuditAction::Create, "program")).await
    })
}

pub async fn update_program(app: &App, ctx: &Ctx, id: ProgramId, form: &ProgramForm) -> Result<Program> {
    writing!(app, |w| {
        let existing = program_in(&w, ctx, id).await?;
        require_manage(ctx, existing.site_id, Some(id))?;
        let p = NewProgram::parse(form)?;
        form_site(&w, ctx, p.site_id).await?;
        check_clinical_lead(&w, ctx, &p, Some(id)).await?;
        w.db().update_program(ctx.org(), id, p, event(ctx, AuditAction::Update, "program")).await
    })
}

pub async fn tracks(app: &App, ctx: &Ctx, program_id: ProgramId) -> Result<Vec<Track>> {
    reading!(app, |w| {
        program_in(&w, ctx, program_id).await?;
        w.db().tracks(ctx.org(), Some(program_id)).await
    })
}

pub async fn create_track(app: &App, ctx: &Ctx, program_id: ProgramId, name: &str, mode: &str) -> Result<Track> {
    writing!(app, |w| {
        let p = program_in(&w, ctx, program_id).await?;
        require_manage(ctx, p.site_id, Some(p.id))?;
        let mode = DeliveryMode::parse(mode)?;
        w.db().create_track(ctx.org(), program_id, name, mode, event(ctx, AuditAction::Create, "track")).await
    })
}

/// Adds a recurring session to a track's week. The leader, if named, must be allowed to lead
/// the service (the one credential rule, checked for the program's site state today).
pub async fn add_template_session(app: &App, ctx: &Ctx, track_id: TrackId, form: &TemplateForm) -> Result<TemplateSession> {
    writing!(app, |w| {
        let track = w.db().track(ctx.org(), track_id).await?;
        let p = program_in(&w, ctx, track.program_id).await?;
        require_manage(ctx, p.site_id, Some(p.id))?;
        let services = w.db().service_types(ctx.org()).await?;
        let service_minutes = form
            .service_type_id
            .parse::<ServiceTypeId>()
            .ok()
            .and_then(|id| services.iter().find(|s| s.id == id))
            .map(|s| s.default_minutes);
        let s = TemplateSession::parse(form, service_minutes)?;
        let service = services
            .iter()
            .find(|x| x.id == s.service_type_id)
            .ok_or_else(|| DomainError::field("service_type_id", "unknown_reference", "is not a service of this organization"))?;
        if let Some(room_id) = s.room_id {
            let rooms = w.db().rooms(ctx.org()).await?;
            let room = rooms
                .iter()
                .find(|r| r.id == room_id)
                .ok_or_else(|| DomainError::field("room_id", "unknown_reference", "is not a room of this organization"))?;
            if room.site_id != p.site_id {
                return Err(DomainError::field("room_id", "room_at_other_site", "is at another site"));
            }
        }
        if let Some(leader) = s.leader {
            let staff = w.db().staff_profiles(ctx.org()).await?;
            let profile = staff
                .iter()
                .find(|x| x.user_id == leader)
                .ok_or_else(|| DomainError::field("leader_id", "no_credentials", "has no staff profile or credentials yet"))?;
            let site = w.db().site(ctx.org(), p.site_id).await?;
            let today = openiop_domain::clock::local_date(w.now(), site.time_zone.0);
            let states = [site.address.state];
            check_may_lead(profile, &LeadRequest { service, date: today, patient_states: &states }, &CompactConfig::default())?;
        }
        w.db().add_template_session(ctx.org(), track_id, s.clone(), event(ctx, AuditAction::Create, "template_session")).await?;
        Ok(s)
    })
}

pub async fn remove_template_session(app: &App, ctx: &Ctx, track_id: TrackId, id: TemplateSessionId) -> Result<()> {
    writing!(app, |w| {
        let track = w.db().track(ctx.org(), track_id).await?;
        let p = program_in(&w, ctx, track.program_id).await?;
        require_manage(ctx, p.site_id, Some(p.id))?;
        if !track.template.iter().any(|t| t.id == id) {
            return Err(DomainError::NotFound("template session"));
        }
        w.db().remove_template_session(ctx.org(), id, event(ctx, AuditAction::Delete, "template_session")).await
    })
}

pub async fn rooms(app: &App, ctx: &Ctx) -> Result<Vec<Room>> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPrograms)?;
        Ok(w.db().rooms(ctx.org()).await?.into_iter().filter(|r| ctx.actor.scope.covers(Some(r.site_id), None)).collect())
    })
}

pub async fn create_room(app: &App, ctx: &Ctx, site: SiteId, name: &str, kind: &str, capacity: &str, notes: &str) -> Result<Room> {
    let room = NewRoom::parse(name, kind, capacity, notes)?;
    writing!(app, |w| {
        let site = crate::sites::site_in(&w, ctx, site, Action::ManagePrograms).await?;
        w.db().create_room(ctx.org(), site.id, room, event(ctx, AuditAction::Create, "room")).await
    })
}

pub async fn service_types(app: &App, ctx: &Ctx) -> Result<Vec<ServiceType>> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPrograms)?;
        w.db().service_types(ctx.org()).await
    })
}

/// Staff visible to the caller: those whose scope overlaps the caller's (everyone for
/// organization-wide callers).
pub async fn staff(app: &App, ctx: &Ctx) -> Result<Vec<StaffProfile>> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewPrograms)?;
        w.db().staff_profiles(ctx.org()).await
    })
}

fn require_staff_admin(ctx: &Ctx) -> Result<()> {
    ctx.actor.require(Action::ManagePrograms)?;
    if ctx.actor.scope != Scope::Organization {
        return Err(DomainError::Forbidden);
    }
    Ok(())
}

pub async fn save_staff_profile(app: &App, ctx: &Ctx, user: UserId, form: &StaffProfileForm) -> Result<()> {
    writing!(app, |w| {
        require_staff_admin(ctx)?;
        let p = StaffProfileUpdate::parse(form)?;
        w.db().save_staff_profile(ctx.org(), user, p, event(ctx, AuditAction::Update, "staff_profile")).await
    })
}

pub async fn add_credential(app: &App, ctx: &Ctx, user: UserId, form: &CredentialForm) -> Result<Credential> {
    writing!(app, |w| {
        require_staff_admin(ctx)?;
        let c = NewCredential::parse(form)?;
        w.db().add_credential(ctx.org(), user, c, event(ctx, AuditAction::Create, "credential")).await
    })
}

pub async fn verify_credential(app: &App, ctx: &Ctx, id: CredentialId, status: &str) -> Result<()> {
    writing!(app, |w| {
        require_staff_admin(ctx)?;
        let status = Verification::parse(status)?;
        w.db().verify_credential(ctx.org(), id, status, ctx.actor.user_id, event(ctx, AuditAction::Update, "credential")).await
    })
}

/// A credential that expires soon, with its holder and the days it has left.
pub struct Expiring {
    pub holder: String,
    pub credential: Credential,
    /// Counted from today where the caller works (negative: already expired).
    pub days_left: i64,
}

/// Credentials expiring within `days`, soonest first, with their holder's name.
pub async fn expiring_credentials(app: &App, ctx: &Ctx, days: i64) -> Result<Vec<Expiring>> {
    ctx.actor.require(Action::ManagePrograms)?;
    reading!(app, |w| {
        let staff = w.db().staff_profiles(ctx.org()).await?;
        let today = home_today(&w, ctx).await?;
        let mut out: Vec<Expiring> = staff
            .iter()
            .flat_map(|s| {
                expiring_within(&s.credentials, today, days).into_iter().map(|c| Expiring {
                    holder: s.name.clone(),
                    credential: c.clone(),
                    days_left: (c.expires_on - today).num_days(),
                })
            })
            .collect();
        out.sort_by_key(|e| e.credential.expires_on);
        Ok(out)
    })
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
async fn profiles_of(w: &Work<'_>, org: &openiop_domain::tenancy::Organization, programs: Vec<Program>) -> Result<Vec<PublicProfile>> {
    let sites = w.db().sites(org.id).await?;
    let tracks = w.db().tracks(org.id, None).await?;
    let services = w.db().service_types(org.id).await?;
    let staff = w.db().staff_profiles(org.id).await?;
    let scopes: Vec<(UserId, Scope)> = w.db().users(org.id).await?.into_iter().map(|u| (u.id, u.scope)).collect();
    programs
        .iter()
        .map(|p| {
            let site: &Site = sites.iter().find(|s| s.id == p.site_id).ok_or(DomainError::NotFound("site"))?;
            let tracks: Vec<Track> = tracks.iter().filter(|t| t.program_id == p.id).cloned().collect();
            let staff = program_staff(p, &tracks, &staff, &scopes);
            let today = openiop_domain::clock::local_date(w.now(), site.time_zone.0);
            Ok(openiop_domain::programs::public_profile(org, site, p, &tracks, &services, &staff, today))
        })
        .collect()
}

/// The public profile of a program (no login, no patient data).
pub async fn public_profile(app: &App, slug: &str) -> Result<PublicProfile> {
    reading!(app, |w| {
        let program = w.db().program_by_slug(slug).await?.ok_or(DomainError::NotFound("program"))?;
        let org = w.db().organization(program.organization_id).await?;
        profiles_of(&w, &org, vec![program]).await?.pop().ok_or(DomainError::NotFound("program"))
    })
}

/// An organization's programs side by side, for its public directory.
pub async fn directory(app: &App, org_slug: &str) -> Result<(String, Vec<PublicProfile>)> {
    reading!(app, |w| {
        let org = w.db().organization_by_slug(org_slug).await?.ok_or(DomainError::NotFound("organization"))?;
        let programs = w.db().programs(org.id).await?;
        let profiles = profiles_of(&w, &org, programs).await?;
        Ok((org.name, profiles))
    })
}

/// The organization's video service base URL (virtual sessions' links are built on it).
pub async fn video_base_url(app: &App, ctx: &Ctx) -> Result<Option<String>> {
    reading!(app, |w| w.db().video_base_url(ctx.org()).await)
}

/// Today where the caller works (see [`home_today`]).
pub async fn today(app: &App, ctx: &Ctx) -> Result<NaiveDate> {
    reading!(app, |w| home_today(&w, ctx).await)
}

/// A track of a program the caller may see.
pub async fn track(app: &App, ctx: &Ctx, id: TrackId) -> Result<Track> {
    reading!(app, |w| {
        let t = w.db().track(ctx.org(), id).await?;
        program_in(&w, ctx, t.program_id).await.map_err(|_| DomainError::NotFound("track"))?;
        Ok(t)
    })
}

/// The organization's staff accounts (names, roles and scope; no credentials).
pub async fn staff_accounts(app: &App, ctx: &Ctx) -> Result<Vec<openiop_domain::users::User>> {
    ctx.actor.require(Action::ViewPrograms)?;
    reading!(app, |w| w.db().users(ctx.org()).await)
}

/// Tracks of every program the caller may see.
pub async fn visible_tracks(app: &App, ctx: &Ctx) -> Result<Vec<Track>> {
    reading!(app, |w| {
        let programs = visible_programs_in(&w, ctx).await?;
        Ok(w.db().tracks(ctx.org(), None).await?.into_iter().filter(|t| programs.iter().any(|p| p.id == t.program_id)).collect())
    })
}

/// The organization's reference data that forms offer as choices: every program and track (by
/// name) and the staff accounts. No patient data.
pub struct Catalog {
    pub programs: Vec<Program>,
    pub tracks: Vec<Track>,
    pub users: Vec<openiop_domain::users::User>,
}

pub async fn catalog(app: &App, ctx: &Ctx) -> Result<Catalog> {
    reading!(app, |w| {
        Ok(Catalog {
            programs: w.db().programs(ctx.org()).await?,
            tracks: w.db().tracks(ctx.org(), None).await?,
            users: w.db().users(ctx.org()).await?,
        })
    })
}
