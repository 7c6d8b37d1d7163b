//! Small declarative helpers for id newtypes and closed vocabularies.

/// Id newtypes parsed from text: time-ordered (UUID v7) for the organization's own records.
macro_rules! ids {
    ($($name:ident),*) => { id_types!(uuid::Uuid::now_v7; $($name),*); };
}

/// Id newtypes for patients and every record tied to one: random (UUID v4). A time-ordered id in
/// a URL carries when the record was made, a date element under HIPAA's Safe Harbor rule
/// (45 CFR §164.514(b)(2)(i)(C)).
macro_rules! record_ids {
    ($($name:ident),*) => { id_types!(uuid::Uuid::new_v4; $($name),*); };
}

macro_rules! id_types {
    ($make:path; $($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);
        impl $name {
            pub fn new() -> Self { Self($make()) }
        }
        impl Default for $name {
            fn default() -> Self { Self::new() }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
        impl std::str::FromStr for $name {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> $crate::Result<Self> {
                uuid::Uuid::parse_str(s.trim()).map(Self).map_err(|_| $crate::DomainError::field("id", "invalid_id", "is not a valid identifier"))
            }
        }
    )*};
}

/// A small closed vocabulary with stable snake_case codes and labels for people.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident => $code:literal, $label:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),* } }
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),* } }
            pub fn parse(s: &str) -> $crate::Result<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.code() == s)
                    .ok_or_else(|| $crate::DomainError::field($field, "unknown_value", &format!("is not one of: {}", Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", "))))
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.label()) }
        }
    };
}
