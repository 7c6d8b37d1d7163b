//! Organization → sites → programs. Every clinical row carries its organization.
use crate::ids::{OrganizationId, ProgramId, SiteId};
use crate::{DomainError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// USPS codes of the states, DC and the territories (licences and addresses use them).
const US_STATES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA",
    "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX",
    "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
];

/// A US state (or DC / territory) by its two-letter USPS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UsState([u8; 2]);

impl UsState {
    pub fn parse(s: &str) -> Result<Self> {
        let up = s.trim().to_ascii_uppercase();
        if US_STATES.contains(&up.as_str()) {
            let b = up.as_bytes();
            Ok(Self([b[0], b[1]]))
        } else {
            Err(DomainError::field("state", "unknown_state", "is not a US state code (e.g. NJ)"))
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for UsState {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for UsState {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<UsState> for String {
    fn from(s: UsState) -> String {
        s.as_str().to_string()
    }
}

impl fmt::Display for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IANA time zone name such as `America/New_York`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(s: &str) -> Result<Self> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| DomainError::field("time_zone", "unknown_time_zone", "is not an IANA time zone (e.g. America/New_York)"))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> String {
        t.name().to_string()
    }
}

/// A URL-safe lowercase name: letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let ok = (2..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::field("slug", "invalid_slug", "use 2–64 lowercase letters, digits and single hyphens"))
        }
    }

    /// Makes a slug from a display name ("Adult Evening IOP" → "adult-evening-iop").
    pub fn from_name(name: &str) -> Result<Self> {
        let mut out = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(64).collect();
        Self::parse(trimmed.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A required, trimmed, bounded line of text (names, titles).
pub fn required_text(field: &str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        Err(DomainError::field(field, "required", "is required"))
    } else if t.chars().count() > max {
        Err(DomainError::field(field, "too_long", &format!("must be at most {max} characters")))
    } else {
        Ok(t.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub slug: Slug,
    /// Demo organizations are bannered on every page; their accounts may skip MFA.
    pub is_demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: String,
    pub city: String,
    pub state: UsState,
    pub postal_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: SiteId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub address: Address,
    pub time_zone: TimeZone,
}

/// A site as typed on its form or sent to the API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteForm {
    pub name: String,
    pub line1: String,
    pub city: String,
    /// USPS state code.
    pub state: String,
    pub postal_code: String,
    /// IANA time zone, e.g. `America/New_York`.
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSite {
    pub name: String,
    pub address: Address,
    pub time_zone: TimeZone,
}

impl NewSite {
    /// Parses a site form; every problem is reported at once.
    pub fn parse(name: &str, line1: &str, city: &str, state: &str, postal_code: &str, time_zone: &str) -> Result<Self> {
        let mut f = crate::error::Fields::new();
        let name = f.take("name", required_text("name", name, 120));
        let line1 = f.take("line1", required_text("line1", line1, 200));
        let city = f.take("city", required_text("city", city, 120));
        let state = f.take("state", UsState::parse(state));
        let postal = postal_code.trim();
        if !(postal.len() == 5 || postal.len() == 10) || !postal.chars().all(|c| c.is_ascii_digit() || c == '-') {
            f.push("postal_code", "invalid_postal_code", "use a 5-digit or ZIP+4 code");
        }
        let tz = f.take("time_zone", TimeZone::parse(time_zone));
        f.finish()?;
        match (name, line1, city, state, tz) {
            (Some(name), Some(line1), Some(city), Some(state), Some(time_zone)) => {
                Ok(Self { name, address: Address { line1, city, state, postal_code: postal.to_string() }, time_zone })
            }
            _ => Err(DomainError::internal("site form parsed without errors but incomplete")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramSummary {
    pub id: ProgramId,
    pub organization_id: OrganizationId,
    pub site_id: SiteId,
    pub name: String,
    pub slug: Slug,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_case_insensitively_and_unknown_codes_are_refused() {
        assert_eq!(UsState::parse("nj").expect("NJ").as_str(), "NJ");
        assert!(UsState::parse("XX").is_err());
        assert!(UsState::parse("").is_err());
    }

    #[test]
    fn slugs_come_from_names() {
        assert_eq!(Slug::from_name("Adult Evening IOP!").expect("slug").as_str(), "adult-evening-iop");
        assert!(Slug::parse("Bad Slug").is_err());
    }

    #[test]
    fn a_site_form_reports_every_problem_at_once() {
        let err = NewSite::parse("", "1 Main St", "Newark", "ZZ", "123", "Mars/Olympus").expect_err("invalid");
        match err {
            DomainError::Validation(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(names, ["name", "state", "postal_code", "time_zone"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
