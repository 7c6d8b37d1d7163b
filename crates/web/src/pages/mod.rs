//! Server-rendered pages: typed structs rendered by compile-checked, auto-escaping templates.
pub mod account;
pub mod audit;
pub mod auth;
pub mod documentation;
pub mod form;
pub mod home;
pub mod measurement;
pub mod measurement_chart;
pub mod optimizer;
pub mod patients;
pub mod programs;
pub mod schedule;

use crate::error::{PageError, PageResult};
use crate::session::Staff;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use openiop_domain::DomainError;
use openiop_domain::auth::Action;

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every page's frame needs: title, navigation for the caller's roles, the CSRF token
/// for the sign-out form, and the demo banner.
pub struct Layout {
    pub title: String,
    pub user_name: Option<String>,
    pub csrf: String,
    pub demo: bool,
    pub nav: Vec<NavLink>,
}

impl Layout {
    pub fn public(title: &str) -> Self {
        Self { title: title.to_string(), user_name: None, csrf: String::new(), demo: false, nav: Vec::new() }
    }

    pub fn staff(staff: &Staff, title: &str, current: &str) -> Self {
        let mut links: Vec<(&'static str, &'static str, Option<Action>)> = vec![("/", "Home", None)];
        links.push(("/patients", "Patients", Some(Action::ViewPatientDemographics)));
        links.push(("/referrals", "Referrals", Some(Action::ManageIntake)));
        links.push(("/schedule", "Schedule", Some(Action::ViewPrograms)));
        links.push(("/optimizer", "Optimizer", Some(Action::ManagePrograms)));
        links.push(("/documentation", "Documentation", Some(Action::ViewClinicalRecord)));
        links.push(("/admin/programs", "Programs", Some(Action::ViewPrograms)));
        links.push(("/admin/staff", "Staff", Some(Action::ViewPrograms)));
        links.push(("/admin/sites", "Sites", Some(Action::ViewPrograms)));
        links.push(("/outcomes", "Outcomes", Some(Action::ViewClinicalRecord)));
        links.push(("/audit", "Audit log", Some(Action::ViewAuditLog)));
        links.push(("/account", "My account", None));
        let nav = links
            .into_iter()
            .filter(|(_, _, a)| a.is_none_or(|a| staff.actor.can(a)))
            .map(|(href, label, _)| NavLink { href, label, current: href == current })
            .collect();
        Self {
            title: title.to_string(),
            user_name: Some(staff.actor.name.clone()),
            csrf: staff.session.csrf_token.clone(),
            demo: staff.demo,
            nav,
        }
    }
}

/// Renders a page template to a response.
pub fn render<T: Template>(t: &T) -> PageResult<Response> {
    t.render().map(|html| Html(html).into_response()).map_err(|e| PageError(DomainError::Internal(format!("template: {e}"))))
}

/// Field errors for a re-shown form, looked up by field name in templates.
#[derive(Default)]
pub struct FormErrors(pub Vec<openiop_domain::FieldError>);

impl FormErrors {
    pub fn from(e: &DomainError) -> Option<Self> {
        match e {
            DomainError::Validation(f) => Some(Self(f.clone())),
            _ => None,
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|f| f.field == field).map(|f| f.message.as_str())
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}
