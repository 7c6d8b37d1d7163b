//! Identifiers: one newtype per kind of record, so a patient id cannot be passed as a site id.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::DomainError;
            fn from_str(s: &str) -> crate::Result<Self> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| crate::DomainError::field("id", "invalid_id", "is not a valid identifier"))
            }
        }
    )*};
}

id_type!(OrganizationId, SiteId, ProgramId, UserId, SessionId, TokenId);
