//! The home page: what each role needs first.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use openiop_domain::auth::{Action, Role};

pub struct Card {
    pub title: &'static str,
    pub text: String,
    pub href: &'static str,
    pub link: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    name: String,
    roles: Vec<&'static str>,
    scope: String,
    organization: String,
    cards: Vec<Card>,
}

pub async fn home(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    let org = state.store.organization(staff.actor.organization_id).await?;
    let sites = state.store.sites(org.id).await?;
    let scope = match &staff.actor.scope {
        openiop_domain::auth::Scope::Organization => format!("All of {}", org.name),
        openiop_domain::auth::Scope::Units { sites: s, programs: p } => {
            let names: Vec<String> = sites.iter().filter(|x| s.contains(&x.id)).map(|x| x.name.clone()).collect();
            let mut parts = Vec::new();
            if !names.is_empty() {
                parts.push(format!("Sites: {}", names.join(", ")));
            }
            if !p.is_empty() {
                parts.push(format!("{} program(s)", p.len()));
            }
            parts.join("; ")
        }
    };
    let mut cards = Vec::new();
    let a = &staff.actor;
    if a.can(Action::ViewAuditLog) {
        cards.push(Card {
            title: "Audit log",
            text: "Search every access to patient data and every sign-in by user, patient and date.".into(),
            href: "/audit",
            link: "Open the audit log",
        });
    }
    if a.has_role(Role::Admin) {
        cards.push(Card {
            title: "Sites",
            text: format!("{} site(s) in {}.", sites.len(), org.name),
            href: "/account",
            link: "Manage your account",
        });
    }
    cards.push(Card {
        title: "API access",
        text: "Create a personal token to use the JSON API with your permissions.".into(),
        href: "/account",
        link: "Manage tokens",
    });
    let page = HomePage {
        layout: Layout::staff(&staff, "Home", "/"),
        name: a.name.clone(),
        roles: a.roles.iter().map(|r| r.label()).collect(),
        scope,
        organization: org.name,
        cards,
    };
    render(&page)
}
