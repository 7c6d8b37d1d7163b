//! The home page: what each role needs first.
use super::{Layout, render};
use crate::error::PageResult;
use crate::session::Staff;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use openiop_app::programs::expiring_credentials;
use openiop_domain::auth::Action;

pub struct Card {
    pub title: &'static str,
    pub text: String,
    /// Short facts listed under the text (e.g. counts), may be empty.
    pub items: Vec<String>,
    pub href: &'static str,
    pub link: &'static str,
}

/// Counts of credentials expiring within 30, 60 and 90 days, from `days_left` of each.
pub fn expiring_counts(days_left: &[i64]) -> [(i64, usize); 3] {
    [30, 60, 90].map(|d| (d, days_left.iter().filter(|n| **n <= d).count()))
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
    /// This week's patients who are below or at risk of their required hours.
    short: Vec<ShortRow>,
    /// Open risk flags this person answers for, soonest due first.
    risks: Vec<RiskRow>,
}

pub struct RiskRow {
    pub patient_id: String,
    pub name: String,
    pub what: String,
    pub urgency: &'static str,
    pub due: String,
    pub overdue: bool,
    pub why: &'static str,
    pub assess_href: String,
}

pub struct ShortRow {
    pub patient_id: String,
    pub name: String,
    pub program: String,
    pub attended: f64,
    pub required: f64,
    pub status: &'static str,
    pub episode_id: String,
    pub week: String,
}

pub async fn home(State(state): State<AppState>, staff: Staff) -> PageResult<Response> {
    let (org, sites) = openiop_app::sites::organization(&state, &staff.ctx()).await?;
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
    if a.can(Action::ManagePrograms) {
        let expiring = expiring_credentials(&state, &staff.ctx(), 90).await?;
        let days_left: Vec<i64> = expiring.iter().map(|e| e.days_left).collect();
        let soonest = match expiring.first() {
            Some(e) => {
                format!("Soonest: {}'s {} on {}.", e.holder, e.credential.kind.code(), e.credential.expires_on.format("%b %-d, %Y"))
            }
            None => "No staff licence or certification expires in the next 90 days.".into(),
        };
        cards.push(Card {
            title: "Credentials expiring",
            text: soonest,
            items: expiring_counts(&days_left)
                .iter()
                .map(|(d, n)| format!("Within {d} days: {n} credential{}", if *n == 1 { "" } else { "s" }))
                .collect(),
            href: "/admin/staff",
            link: "Review staff credentials",
        });
    }
    if a.can(Action::ViewPrograms) {
        let programs = openiop_app::programs::visible_programs(&state, &staff.ctx()).await?;
        cards.push(Card {
            title: "Programs",
            text: format!("{} program(s): tracks, weekly schedules and public profiles.", programs.len()),
            items: Vec::new(),
            href: "/admin/programs",
            link: "Open programs",
        });
        cards.push(Card {
            title: "Staff",
            text: "Staff profiles, availability, supervision and credentials.".into(),
            items: Vec::new(),
            href: "/admin/staff",
            link: "Open staff",
        });
        cards.push(Card {
            title: "Sites and rooms",
            text: format!("{} site(s) and their group rooms and offices.", sites.len()),
            items: Vec::new(),
            href: "/admin/sites",
            link: "Open sites",
        });
    }
    if a.can(Action::ViewAuditLog) {
        cards.push(Card {
            title: "Audit log",
            text: "Search every access to patient data and every sign-in by user, patient and date.".into(),
            items: Vec::new(),
            href: "/audit",
            link: "Open the audit log",
        });
    }
    cards.push(Card {
        title: "API access",
        text: "Create a personal token to use the JSON API with your permissions.".into(),
        items: Vec::new(),
        href: "/account",
        link: "Manage tokens",
    });
    // Who is falling short this week, while there is still time to act (clinicians and directors).
    let mut short = Vec::new();
    if a.can(Action::ViewClinicalRecord) {
        let (week, rows) = openiop_app::schedule::falling_short(&state, &staff.ctx(), 25).await?;
        short = rows
            .into_iter()
            .map(|r| ShortRow {
                patient_id: r.patient.id.to_string(),
                name: r.patient.name,
                program: r.program,
                attended: r.ledger.attended_hours,
                required: r.ledger.required_hours,
                status: r.ledger.status.label(),
                episode_id: r.episode.id.to_string(),
                week: week.to_string(),
            })
            .collect();
    }
    // Every open risk flag this person answers for, first on the page.
    let mut risks = Vec::new();
    if a.can(Action::ViewClinicalRecord) {
        for r in openiop_app::measurement::risk_work(&state, &staff.ctx()).await? {
            let tz = sites.iter().find(|s| s.id == r.risk.site_id).map(|s| s.time_zone.0).unwrap_or(chrono_tz::UTC);
            let f = &r.risk.flag;
            let level = f.level.map(|l| format!(" ({})", l.as_str())).unwrap_or_default();
            risks.push(RiskRow {
                patient_id: f.patient_id.to_string(),
                name: r.risk.patient_name.clone(),
                what: format!("Suicide risk{level}: {} on {}", f.instrument, f.raised_at.with_timezone(&tz).format("%b %-d")),
                urgency: r.risk.task.as_ref().map(|t| t.urgency.label()).unwrap_or("Now"),
                due: r
                    .risk
                    .task
                    .as_ref()
                    .map(|t| t.due_at.with_timezone(&tz).format("%b %-d, %-I:%M %p %Z").to_string())
                    .unwrap_or_else(|| "now".into()),
                overdue: r.overdue,
                why: r.why,
                assess_href: format!("/risk-flags/{}/assess", f.id),
            });
        }
    }
    let page = HomePage {
        risks,
        short,
        layout: Layout::staff(&staff, "Home", "/"),
        name: a.name.clone(),
        roles: a.roles.iter().map(|r| r.label()).collect(),
        scope,
        organization: org.name,
        cards,
    };
    render(&page)
}
