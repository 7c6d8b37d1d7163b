//! The demo organization: created once by `openiop serve --demo`, clearly bannered, with staff
//! accounts that may skip MFA (nothing else may).
use crate::pages::auth::DEMO_PASSWORD;
use crate::security::hash_password;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::tenancy::{NewSite, Organization, Slug};
use openiop_domain::users::{Email, NewUser};
use openiop_domain::{Result, Store};

pub const DEMO_SLUG: &str = "riverbend-demo";

/// The demo staff: (email, role).
const STAFF: [(&str, &str, Role); 9] = [
    ("director@demo.openiop.org", "Dana Whitfield", Role::ClinicalDirector),
    ("therapist@demo.openiop.org", "Marcus Lee", Role::Clinician),
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
    store.create_site(org.id, site, AuditEvent::system("demo", AuditAction::Create, "site", None).in_org(org.id)).await?;
    let hash = hash_password(DEMO_PASSWORD)?;
    for (email, name, role) in STAFF {
        let user = NewUser {
            organization_id: org.id,
            email: Email::parse(email)?,
            name: name.to_string(),
            roles: vec![role],
            scope: Scope::Organization,
            password_hash: hash.clone(),
            mfa_exempt: true,
        };
        store.create_user(user, AuditEvent::system("demo", AuditAction::Create, "user", None).in_org(org.id)).await?;
    }
    Ok(org)
}
