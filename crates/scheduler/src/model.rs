//! Serde types for the `iop-week/1` instance and solution JSON (see FORMAT.md of the bench kit).

use serde::{Deserialize, Serialize};

/// Days in the planning week (Mon..Sat).
pub const DAYS: usize = 6;
/// 30-minute slots per day, 07:00..21:30.
pub const SLOTS: usize = 29;
/// Day names used in messages.
pub const DAY_NAMES: [&str; DAYS] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A complete problem instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Instance {
    #[serde(default = "default_format")]
    pub format: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub sites: Vec<Site>,
    pub rooms: Vec<Room>,
    pub clinicians: Vec<Clinician>,
    pub patients: Vec<Patient>,
}

fn default_format() -> String {
    "iop-week/1".to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Site {
    pub id: String,
    pub state: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Group,
    Office,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Room {
    pub id: String,
    pub site: String,
    pub kind: RoomKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

/// An availability window `[day, from, to)` in slots.
pub type Window = [i64; 3];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Clinician {
    pub id: String,
    pub site: String,
    pub credentials: Vec<String>,
    pub licenses: Vec<String>,
    pub max_hours: f64,
    pub availability: Vec<Window>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    Adult,
    Adolescent,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PatientMode {
    InPerson,
    Virtual,
    Either,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Needs {
    #[serde(default)]
    pub individual: u32,
    #[serde(default)]
    pub family: u32,
    #[serde(default)]
    pub med_mgmt: u32,
}

impl Needs {
    /// Needs of a 1:1 type (`None` for group types).
    pub fn of(&self, t: SessionType) -> Option<u32> {
        match t {
            SessionType::Individual => Some(self.individual),
            SessionType::Family => Some(self.family),
            SessionType::MedMgmt => Some(self.med_mgmt),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Patient {
    pub id: String,
    pub site: String,
    pub population: Population,
    pub required_hours: f64,
    pub max_hours: f64,
    pub mode: PatientMode,
    pub home_state: String,
    pub primary: String,
    #[serde(default)]
    pub needs: Needs,
    pub availability: Vec<Window>,
}

/// The five session types.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SessionType {
    ProcessGroup,
    PsychoedGroup,
    Individual,
    Family,
    MedMgmt,
}

impl SessionType {
    pub const ALL: [SessionType; 5] =
        [SessionType::ProcessGroup, SessionType::PsychoedGroup, SessionType::Individual, SessionType::Family, SessionType::MedMgmt];
    /// The 1:1 types that have `needs`.
    pub const ONE_TO_ONE: [SessionType; 3] = [SessionType::Individual, SessionType::Family, SessionType::MedMgmt];

    /// Duration in 30-minute slots.
    pub fn duration(self) -> u32 {
        match self {
            SessionType::ProcessGroup => 6,
            SessionType::PsychoedGroup => 3,
            SessionType::Individual | SessionType::Family => 2,
            SessionType::MedMgmt => 1,
        }
    }
    pub fn is_group(self) -> bool {
        matches!(self, SessionType::ProcessGroup | SessionType::PsychoedGroup)
    }
    /// Counts toward the patient's weekly hours.
    pub fn countable(self) -> bool {
        !matches!(self, SessionType::MedMgmt)
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        match self {
            SessionType::ProcessGroup => "process_group",
            SessionType::PsychoedGroup => "psychoed_group",
            SessionType::Individual => "individual",
            SessionType::Family => "family",
            SessionType::MedMgmt => "med_mgmt",
        }
    }
    /// Plain-English label.
    pub fn label(self) -> &'static str {
        match self {
            SessionType::ProcessGroup => "process group",
            SessionType::PsychoedGroup => "psychoeducation group",
            SessionType::Individual => "individual session",
            SessionType::Family => "family session",
            SessionType::MedMgmt => "medication-management visit",
        }
    }
}

/// Which session types a credential allows one to lead (FORMAT.md §2). Bit i = `SessionType` i.
pub fn credential_mask(cred: &str) -> u8 {
    match cred {
        "LCSW" | "LPC" | "LMFT" | "LPC-Associate" => 0b01111,
        "CADC" => 0b00010,
        "MD" | "NP" => 0b10000,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    InPerson,
    Virtual,
}

/// One scheduled session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: SessionType,
    pub clinician: String,
    pub day: i64,
    pub start: i64,
    pub mode: SessionMode,
    #[serde(default)]
    pub room: Option<String>,
    pub patients: Vec<String>,
}

/// A schedule for an instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Solution {
    #[serde(default)]
    pub instance: Option<String>,
    #[serde(default)]
    pub solver: Option<String>,
    #[serde(default)]
    pub stats: serde_json::Value,
    pub sessions: Vec<Session>,
}

/// `HH:MM` of a slot boundary.
pub fn hhmm(slot: i64) -> String {
    let m = 7 * 60 + 30 * slot;
    format!("{:02}:{:02}", m / 60, m % 60)
}
