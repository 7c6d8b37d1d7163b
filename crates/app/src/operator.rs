//! What the operator does from the command line on the server (bootstrap, break-glass): no
//! signed-in caller, every change audited as done by `cli`, one unit of work each.
use crate::App;
use crate::security::{hash_password, random_token, sha256_hex};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::tenancy::{Organization, Slug, required_text};
use openiop_domain::users::{Email, NewUser, User, check_new_password};
use openiop_domain::{DomainError, Result};

const ACTOR: &str = "cli";

/// Creates a staff account in the organization named by `organization` (created first if it
/// does not exist), in one unit of work.
pub async fn create_staff(
    app: &App,
    organization: &str,
    email: &str,
    name: &str,
    roles: &[String],
    scope: &str,
    password: &str,
) -> Result<(User, Organization)> {
    check_new_password(password)?;
    let email = Email::parse(email)?;
    let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>>>()?;
    NewUser::validate_roles(&roles)?;
    let scope = Scope::parse(scope)?;
    let name = required_text("name", name, 120)?;
    let typed = password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&typed))
        .await
        .map_err(|_| DomainError::internal("password hashing stopped"))??;
    writing!(app, |w| {
        let org = match w.db().organization_by_slug(organization).await? {
            Some(o) => o,
            None => {
                let slug = Slug::parse(organization)?;
                let ev = AuditEvent::system(ACTOR, AuditAction::Create, "organization", None);
                w.db().create_organization(organization, &slug, false, ev).await?
            }
        };
        let new = NewUser { organization_id: org.id, email, name, roles, scope, password_hash, mfa_exempt: false };
        let user = w.db().create_user(new, AuditEvent::system(ACTOR, AuditAction::Create, "user", None).in_org(org.id)).await?;
        Ok((user, org))
    })
}

/// Changes a user's roles, scope or active flag; their sessions end. `None`: unchanged.
/// Returns whether anything changed.
pub async fn update_access(
    app: &App,
    email: &str,
    roles: Option<&[String]>,
    scope: Option<&str>,
    active: Option<bool>,
) -> Result<Option<User>> {
    let roles = roles.map(|r| r.iter().map(|x| x.parse::<Role>()).collect::<Result<Vec<_>>>()).transpose()?;
    let scope = scope.map(Scope::parse).transpose()?;
    writing!(app, |w| {
        let user = w.db().user_credentials(email).await?.ok_or(DomainError::NotFound("user"))?.user;
        let new_roles = roles.clone().unwrap_or_else(|| user.roles.clone());
        NewUser::validate_roles(&new_roles)?;
        let new_scope = scope.clone().unwrap_or_else(|| user.scope.clone());
        let new_active = active.unwrap_or(user.active);
        let event = |action: AuditAction, detail: String| {
            let mut e = AuditEvent::system(ACTOR, action, "user", Some(user.id.to_string())).in_org(user.organization_id);
            e.detail = detail;
            e
        };
        let mut audits = Vec::new();
        if new_roles != user.roles {
            let show = |r: &[Role]| r.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(",");
            audits.push(event(AuditAction::RoleChange, format!("{} -> {}", show(&user.roles), show(&new_roles))));
        }
        if new_scope != user.scope {
            audits.push(event(AuditAction::ScopeChange, format!("{} -> {}", user.scope, new_scope)));
        }
        if new_active != user.active {
            audits.push(event(AuditAction::Update, format!("active={new_active}")));
        }
        if audits.is_empty() {
            return Ok(None);
        }
        w.db().update_user_access(user.id, &new_roles, &new_scope, new_active, audits).await?;
        Ok(Some(User { roles: new_roles, scope: new_scope, active: new_active, ..user }))
    })
}

/// A personal API token for a user; the token is returned once and stored only as a hash.
pub async fn create_token(app: &App, email: &str, name: &str) -> Result<(User, String)> {
    let name = required_text("name", name, 80)?;
    let token = format!("oiop_{}", random_token()?);
    writing!(app, |w| {
        let user = w.db().user_credentials(email).await?.ok_or(DomainError::NotFound("user"))?.user;
        let ev = AuditEvent::system(ACTOR, AuditAction::TokenCreated, "api_token", None).in_org(user.organization_id);
        let ev = AuditEvent { user_id: Some(user.id), ..ev };
        w.db().create_token(user.id, &name, &sha256_hex(&token), ev).await?;
        Ok((user, token.clone()))
    })
}
