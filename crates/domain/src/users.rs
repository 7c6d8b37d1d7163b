//! Staff accounts: who they are, their roles and scope, and the state of their sign-in.
use crate::auth::{Role, Scope};
use crate::ids::{OrganizationId, UserId};
use crate::{DomainError, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A staff email address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !s.chars().any(char::is_whitespace)
            && s.matches('@').count() == 1;
        if valid { Ok(Self(s)) } else { Err(DomainError::field("email", "invalid_email", "is not an email address")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Minimum password length for staff accounts (NIST SP 800-63B allows 8; clinical systems use more).
pub const MIN_PASSWORD_LENGTH: usize = 12;

/// Checks a new password against the house rules (length only, per NIST SP 800-63B §5.1.1.2).
pub fn check_new_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LENGTH {
        Err(DomainError::field("password", "password_too_short", &format!("must be at least {MIN_PASSWORD_LENGTH} characters")))
    } else if n > 256 {
        Err(DomainError::field("password", "password_too_long", "must be at most 256 characters"))
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub organization_id: OrganizationId,
    pub email: Email,
    pub name: String,
    pub roles: Vec<Role>,
    pub scope: Scope,
    /// Argon2id PHC string; the domain never sees the password itself after hashing.
    pub password_hash: String,
    /// Demo accounts may skip MFA; nothing else may.
    pub mfa_exempt: bool,
}

impl NewUser {
    pub fn validate_roles(roles: &[Role]) -> Result<()> {
        if roles.is_empty() { Err(DomainError::field("roles", "required", "choose at least one role")) } else { Ok(()) }
    }
}

/// A user as shown to people and to the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub organization_id: OrganizationId,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub scope: Scope,
    pub mfa_enrolled: bool,
    pub mfa_exempt: bool,
    pub active: bool,
}

/// What sign-in needs to know about a user; never leaves the server.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Lockout after repeated failures (OWASP ASVS 2.2.1): the defaults, overridable in config.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: i64,
    pub lockout: chrono::Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self { max_failures: 5, lockout: chrono::Duration::minutes(15) }
    }
}

/// A staff sign-in session stored in the database (shared by every app server).
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// SHA-256 of the cookie value; the cookie itself is never stored.
    pub id_hash: String,
    pub user_id: UserId,
    /// `mfa_pending` until the second factor is given, then `active`.
    pub stage: SessionStage,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// A TOTP secret being enrolled, held until the first code confirms it.
    pub pending_totp_secret: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    MfaPending,
    Active,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::MfaPending => "mfa_pending",
            SessionStage::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "active" { SessionStage::Active } else { SessionStage::MfaPending }
    }
}

/// Session lifetime rules (HIPAA §164.312(a)(2)(iii) automatic logoff; ONC §170.315(d)(5)).
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle: chrono::Duration::minutes(15), absolute: chrono::Duration::hours(12) }
    }
}

impl SessionPolicy {
    pub fn is_expired(&self, s: &StaffSession, now: DateTime<Utc>) -> bool {
        now - s.last_seen_at > self.idle || now - s.created_at > self.absolute
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: crate::ids::TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(Email::parse(" Dana@Clinic.ORG ").expect("ok").as_str(), "dana@clinic.org");
        for bad in ["", "dana", "dana@", "@clinic.org", "dana@clinic", "a b@c.org", "a@b@c.org"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_session_ends_after_fifteen_idle_minutes_or_twelve_hours() {
        let p = SessionPolicy::default();
        let t0 = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 17, 9, 0, 0).single().expect("time");
        let mut s = StaffSession {
            id_hash: String::new(),
            user_id: UserId::new(),
            stage: SessionStage::Active,
            csrf_token: String::new(),
            created_at: t0,
            last_seen_at: t0,
            pending_totp_secret: None,
        };
        assert!(!p.is_expired(&s, t0 + chrono::Duration::minutes(14)));
        assert!(p.is_expired(&s, t0 + chrono::Duration::minutes(16)));
        s.last_seen_at = t0 + chrono::Duration::hours(12);
        assert!(p.is_expired(&s, t0 + chrono::Duration::hours(12) + chrono::Duration::minutes(1)));
    }
}
