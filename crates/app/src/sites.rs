//! Sites of the caller's organization.
use crate::{App, Work};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx, Scope};
use openiop_domain::ids::SiteId;
use openiop_domain::store::RecordKind;
use openiop_domain::tenancy::{NewSite, Site, SiteForm};
use openiop_domain::{DomainError, Result};

/// Sites the caller may see.
pub async fn visible_sites(app: &App, ctx: &Ctx) -> Result<Vec<Site>> {
    ctx.actor.require(Action::ViewPrograms)?;
    reading!(app, |w| {
        let all = w.db().sites(ctx.org()).await?;
        Ok(all.into_iter().filter(|s| ctx.actor.scope.covers(Some(s.id), None)).collect())
    })
}

/// Adds a site; needs a role that manages programs and an organization-wide scope.
pub async fn add_site(app: &App, ctx: &Ctx, form: &SiteForm) -> Result<Site> {
    ctx.actor.require(Action::ManagePrograms)?;
    if ctx.actor.scope != Scope::Organization {
        return Err(DomainError::Forbidden);
    }
    let new = NewSite::parse(&form.name, &form.line1, &form.city, &form.state, &form.postal_code, &form.time_zone)?;
    writing!(app, |w| {
        let ev = AuditEvent::by(ctx, ctx.actor.acting_role(Action::ManagePrograms), AuditAction::Create, "site", None);
        w.db().create_site(ctx.org(), new, ev).await
    })
}

/// One site in the caller's scope.
pub async fn site(app: &App, ctx: &Ctx, id: SiteId) -> Result<Site> {
    reading!(app, |w| site_in(&w, ctx, id, Action::ViewPrograms).await)
}

/// A site of the caller's organization and in their scope, for `action` (the one lookup every
/// use case that names a site goes through): another organization's site, or one out of scope,
/// answers 404 like a site that does not exist, and is audited as a denial.
pub(crate) async fn site_in(w: &Work<'_>, ctx: &Ctx, id: SiteId, action: Action) -> Result<Site> {
    ctx.actor.require(action)?;
    let site = w.found(ctx, action, RecordKind::Site, &id.to_string(), w.db().site(ctx.org(), id).await).await?;
    if !ctx.actor.scope.covers(Some(site.id), None) {
        w.refuse(ctx, action, RecordKind::Site, &id.to_string(), None, "out_of_scope");
        return Err(DomainError::NotFound("site"));
    }
    Ok(site)
}

/// The caller's organization and its sites (the home page's frame).
pub async fn organization(app: &App, ctx: &Ctx) -> Result<(openiop_domain::tenancy::Organization, Vec<Site>)> {
    reading!(app, |w| Ok((w.db().organization(ctx.org()).await?, w.db().sites(ctx.org()).await?)))
}
