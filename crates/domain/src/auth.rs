//! Who may do what, where: one policy of role × action × scope, used by pages and API alike.
//!
//! Out-of-scope records answer **404 Not Found**, never 403: a clinician scoped to site A must not
//! learn that a site-B patient exists. 403 is kept for "you may see this place, but your role
//! does not allow this action".
use crate::ids::{OrganizationId, ProgramId, SiteId, UserId};
use crate::{DomainError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    ClinicalDirector,
    Clinician,
    Prescriber,
    Nurse,
    FrontDesk,
    Biller,
    UtilizationReviewer,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Admin,
        Role::ClinicalDirector,
        Role::Clinician,
        Role::Prescriber,
        Role::Nurse,
        Role::FrontDesk,
        Role::Biller,
        Role::UtilizationReviewer,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ClinicalDirector => "clinical_director",
            Role::Clinician => "clinician",
            Role::Prescriber => "prescriber",
            Role::Nurse => "nurse",
            Role::FrontDesk => "front_desk",
            Role::Biller => "biller",
            Role::UtilizationReviewer => "utilization_reviewer",
            Role::Auditor => "auditor",
        }
    }

    /// How the role is named to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::ClinicalDirector => "Clinical director",
            Role::Clinician => "Clinician",
            Role::Prescriber => "Prescriber",
            Role::Nurse => "Nurse",
            Role::FrontDesk => "Front desk",
            Role::Biller => "Biller",
            Role::UtilizationReviewer => "Utilization reviewer",
            Role::Auditor => "Auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| DomainError::field("role", "unknown_role", "is not a known role"))
    }
}

/// What a caller wants to do. Every route names exactly one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See one's own account.
    ViewSelf,
    /// Read patient demographics and the chart header (front desk and up).
    ViewPatientDemographics,
    /// Read clinical documentation of a patient.
    ViewClinicalRecord,
    /// Write clinical documentation.
    WriteClinicalRecord,
    /// Create referrals, register patients, schedule.
    ManageIntake,
    /// Programs, tracks, sites, staff credentials.
    ManagePrograms,
    /// See programs, sites and staff within scope.
    ViewPrograms,
    /// Users, roles, scopes.
    ManageUsers,
    /// Read the audit log.
    ViewAuditLog,
    /// Billing and authorizations.
    ManageBilling,
    /// Utilization review.
    ManageAuthorizations,
    /// Export patient data (summaries, CSV, PDF).
    ExportPatientData,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewSelf => "view_self",
            Action::ViewPatientDemographics => "view_patient_demographics",
            Action::ViewClinicalRecord => "view_clinical_record",
            Action::WriteClinicalRecord => "write_clinical_record",
            Action::ManageIntake => "manage_intake",
            Action::ManagePrograms => "manage_programs",
            Action::ViewPrograms => "view_programs",
            Action::ManageUsers => "manage_users",
            Action::ViewAuditLog => "view_audit_log",
            Action::ManageBilling => "manage_billing",
            Action::ManageAuthorizations => "manage_authorizations",
            Action::ExportPatientData => "export_patient_data",
        }
    }
}

/// The role × action table. Scope is checked separately, per record.
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action as A;
    use Role as R;
    match action {
        A::ViewSelf => true,
        A::ViewPrograms => true,
        A::ViewPatientDemographics => !matches!(role, R::Auditor),
        A::ViewClinicalRecord => matches!(role, R::ClinicalDirector | R::Clinician | R::Prescriber | R::Nurse | R::UtilizationReviewer),
        A::WriteClinicalRecord => {
            matches!(role, R::ClinicalDirector | R::Clinician | R::Prescriber | R::Nurse)
        }
        A::ManageIntake => matches!(role, R::ClinicalDirector | R::Clinician | R::FrontDesk | R::Admin),
        A::ManagePrograms => matches!(role, R::Admin | R::ClinicalDirector),
        A::ManageUsers => matches!(role, R::Admin),
        A::ViewAuditLog => matches!(role, R::Admin | R::Auditor),
        A::ManageBilling => matches!(role, R::Biller | R::Admin),
        A::ManageAuthorizations => matches!(role, R::UtilizationReviewer | R::ClinicalDirector),
        A::ExportPatientData => matches!(role, R::ClinicalDirector | R::Clinician | R::Prescriber),
    }
}

/// Where a user may act: the whole organization, or listed sites and programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    Organization,
    Units { sites: Vec<SiteId>, programs: Vec<ProgramId> },
}

impl Scope {
    /// Whether a record that lives at `site` (and, if any, `program`) is inside this scope.
    /// A program grant covers that program only; a site grant covers every program at the site.
    pub fn covers(&self, site: Option<SiteId>, program: Option<ProgramId>) -> bool {
        match self {
            Scope::Organization => true,
            Scope::Units { sites, programs } => site.is_some_and(|s| sites.contains(&s)) || program.is_some_and(|p| programs.contains(&p)),
        }
    }

    /// Parses the CLI/form notation: `organization`, or a comma list of `site:<id>` and
    /// `program:<id>`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() || s == "organization" {
            return Ok(Scope::Organization);
        }
        let mut sites = Vec::new();
        let mut programs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || DomainError::field("scope", "invalid_scope", "use organization, or site:<id> / program:<id> separated by commas");
            let (kind, id) = part.split_once(':').ok_or_else(bad)?;
            match kind {
                "site" => sites.push(id.parse().map_err(|_| bad())?),
                "program" => programs.push(id.parse().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        Ok(Scope::Units { sites, programs })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Organization => f.write_str("organization"),
            Scope::Units { sites, programs } => {
                let parts: Vec<String> =
                    sites.iter().map(|s| format!("site:{s}")).chain(programs.iter().map(|p| format!("program:{p}"))).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// The signed-in staff member behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user_id: UserId,
    pub organization_id: OrganizationId,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub scope: Scope,
}

impl Actor {
    pub fn can(&self, action: Action) -> bool {
        self.roles.iter().any(|r| role_allows(*r, action))
    }

    /// Fails with `Forbidden` unless one of the actor's roles allows the action.
    pub fn require(&self, action: Action) -> Result<()> {
        if self.can(action) { Ok(()) } else { Err(DomainError::Forbidden) }
    }

    /// The role recorded in the audit log for an action: the first role that allows it.
    pub fn acting_role(&self, action: Action) -> Option<Role> {
        self.roles.iter().copied().find(|r| role_allows(*r, action))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Facts about the request that the audit log keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestMeta {
    pub source_ip: String,
    pub request_id: String,
}

/// The context of every domain call: who acts, and from where.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub meta: RequestMeta,
}

impl Ctx {
    pub fn new(actor: Actor, meta: RequestMeta) -> Self {
        Self { actor, meta }
    }

    pub fn org(&self) -> OrganizationId {
        self.actor.organization_id
    }

    /// Role check then scope check; a record out of scope is reported as not found.
    pub fn authorize(&self, action: Action, site: Option<SiteId>, program: Option<ProgramId>, what: &'static str) -> Result<()> {
        self.actor.require(action)?;
        if self.actor.scope.covers(site, program) { Ok(()) } else { Err(DomainError::NotFound(what)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auditor_reads_the_log_but_not_charts() {
        assert!(role_allows(Role::Auditor, Action::ViewAuditLog));
        assert!(!role_allows(Role::Auditor, Action::ViewClinicalRecord));
        assert!(!role_allows(Role::Auditor, Action::ViewPatientDemographics));
    }

    #[test]
    fn front_desk_registers_patients_but_reads_no_notes() {
        assert!(role_allows(Role::FrontDesk, Action::ManageIntake));
        assert!(!role_allows(Role::FrontDesk, Action::ViewClinicalRecord));
    }

    #[test]
    fn a_site_scope_covers_its_programs_and_nothing_else() {
        let a = SiteId::new();
        let b = SiteId::new();
        let scope = Scope::Units { sites: vec![a], programs: vec![] };
        assert!(scope.covers(Some(a), Some(ProgramId::new())));
        assert!(!scope.covers(Some(b), None));
        assert!(!scope.covers(None, None));
        assert!(Scope::Organization.covers(None, None));
    }

    #[test]
    fn scope_notation_round_trips() {
        let a = SiteId::new();
        let s = Scope::parse(&format!("site:{a}")).expect("parses");
        assert_eq!(Scope::parse(&s.to_string()).expect("parses again"), s);
        assert!(Scope::parse("galaxy:1").is_err());
        assert_eq!(Scope::parse("organization").expect("org"), Scope::Organization);
    }
}
