//! An instrument as data: its items, how they are scored, its bands, cut-offs and risk rules.
//!
//! Nothing here knows a particular instrument; `builtin.rs` fills these types in, and
//! `fhir.rs` merges a clinic's definition file (item wording) into them.
use crate::Result;
use crate::error::Fields;
use crate::patients::Sex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One answer a patient can pick, with the number it scores before any reversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerOption {
    pub value: i32,
    pub label: String,
}

/// An item that is asked only when an earlier answer reached a value (skip logic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnableWhen {
    pub link_id: String,
    pub at_least: i32,
}

/// One question of an instrument. `min..=max` is the raw response range; when `options` is not
/// empty the response must also be one of the option values (e.g. AUDIT items 9–10 score 0, 2, 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDef {
    pub link_id: String,
    pub label: String,
    pub min: i32,
    pub max: i32,
    /// Scored as `min + max − value` (e.g. DAST-10 item 3).
    pub reverse: bool,
    /// Must be answered (when enabled) for the instrument to be scored.
    pub required: bool,
    /// Counts toward a plain `Scoring::Sum` total.
    pub scored: bool,
    pub enable_when: Option<EnableWhen>,
    pub options: Vec<AnswerOption>,
}

impl ItemDef {
    /// A required, scored item answered on an integer scale `min..=max`.
    pub fn scale(link_id: &str, label: &str, min: i32, max: i32) -> Self {
        Self {
            link_id: link_id.to_string(),
            label: label.to_string(),
            min,
            max,
            reverse: false,
            required: true,
            scored: true,
            enable_when: None,
            options: Vec::new(),
        }
    }

    /// A required, scored yes/no item: No = 0, Yes = 1.
    pub fn yes_no(link_id: &str, label: &str) -> Self {
        Self {
            options: vec![AnswerOption { value: 0, label: "No".into() }, AnswerOption { value: 1, label: "Yes".into() }],
            ..Self::scale(link_id, label, 0, 1)
        }
    }

    pub fn reversed(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Recorded but not part of a plain sum.
    pub fn unscored(mut self) -> Self {
        self.scored = false;
        self
    }

    /// May be left blank.
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// Asked (and then required, if `required`) only when `link_id` was answered `>= at_least`.
    pub fn enabled_when(mut self, link_id: &str, at_least: i32) -> Self {
        self.enable_when = Some(EnableWhen { link_id: link_id.to_string(), at_least });
        self
    }

    pub fn with_options(mut self, options: &[(i32, &str)]) -> Self {
        self.options = options.iter().map(|(value, label)| AnswerOption { value: *value, label: (*label).to_string() }).collect();
        self
    }

    /// Whether `value` is an answer this item can take.
    pub fn accepts(&self, value: i32) -> bool {
        (self.min..=self.max).contains(&value) && (self.options.is_empty() || self.options.iter().any(|o| o.value == value))
    }

    /// The value that counts toward scores: reverse-scored items become `min + max − value`.
    pub fn scored_value(&self, value: i32) -> i32 {
        if self.reverse { self.min + self.max - value } else { value }
    }
}

/// How a subscale combines its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    Sum,
    Mean,
}

/// A named subset of items. An item may belong to more than one subscale (EDE-Q item 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscale {
    pub name: String,
    pub link_ids: Vec<String>,
    pub aggregate: Aggregate,
    /// Higher scores are better (e.g. BAM protective factors); most subscales rise with severity.
    #[serde(default)]
    pub higher_is_better: bool,
}

impl Subscale {
    pub fn new(name: &str, link_ids: &[&str], aggregate: Aggregate) -> Self {
        Self { name: name.to_string(), link_ids: link_ids.iter().map(|s| (*s).to_string()).collect(), aggregate, higher_is_better: false }
    }

    /// Marks a subscale on which a rise is improvement.
    pub fn higher_is_better(mut self) -> Self {
        self.higher_is_better = true;
        self
    }
}

/// How the total (if any) and subscales are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scoring {
    /// Total = sum of the `scored` items after reversal.
    Sum,
    /// Only named subscales; no total (e.g. BAM, which has no validated summary score).
    Subscales(Vec<Subscale>),
    /// Each subscale is computed, and the total is the mean of the subscale scores
    /// (EDE-Q global = mean of the four subscale means).
    MeanOfSubscales(Vec<Subscale>),
    /// No total: the instrument triages risk through its `critical_items` (C-SSRS screener).
    TriageOnly,
}

impl Scoring {
    pub fn subscales(&self) -> &[Subscale] {
        match self {
            Scoring::Subscales(s) | Scoring::MeanOfSubscales(s) => s,
            Scoring::Sum | Scoring::TriageOnly => &[],
        }
    }
}

/// A severity band over the total, inclusive at both ends. `level` is the band's rank on this
/// instrument's own ladder (0 = least severe); it is not comparable across instruments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityBand {
    pub min: f64,
    pub max: f64,
    pub label: String,
    pub level: u8,
}

impl SeverityBand {
    pub fn new(min: f64, max: f64, label: &str, level: u8) -> Self {
        Self { min, max, label: label.to_string(), level }
    }
}

/// A screening cut-off over the total: positive when `total >= at_least`. Kept as data because
/// several published cut-offs differ by population (AUDIT-C by sex) and clinics choose their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cutoff {
    pub code: String,
    pub label: String,
    pub at_least: f64,
    pub source: String,
    /// The recorded sex this cut-off is for (AUDIT-C men / women); `None`: every patient.
    #[serde(default)]
    pub sex: Option<Sex>,
}

impl Cutoff {
    pub fn new(code: &str, label: &str, at_least: f64, source: &str) -> Self {
        Self { code: code.to_string(), label: label.to_string(), at_least, source: source.to_string(), sex: None }
    }

    /// A cut-off for patients of one recorded sex.
    pub fn for_sex(mut self, sex: Sex) -> Self {
        self.sex = Some(sex);
        self
    }
}

/// A triage level for risk (C-SSRS screener), ordered from none to high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    NoRisk,
    Low,
    Moderate,
    High,
}

impl RiskLevel {
    pub fn as_str(&self) -> &'static str {
        match self {
            RiskLevel::NoRisk => "no_risk",
            RiskLevel::Low => "low",
            RiskLevel::Moderate => "moderate",
            RiskLevel::High => "high",
        }
    }
}

/// A rule over individual answers: fires when any of `any_of` was answered `>= at_least`.
/// A fired rule contributes its `level` to the instrument's triage, and raises a risk flag
/// named `flag` when `raises_flag` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalRule {
    pub flag: String,
    pub any_of: Vec<String>,
    pub at_least: i32,
    pub level: Option<RiskLevel>,
    pub raises_flag: bool,
    /// What the clinic should do, in plain words.
    pub action: String,
    pub source: String,
}

/// The period a patient is asked to think back over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallPeriod {
    Days(u16),
    Weeks(u16),
    Months(u16),
    Years(u16),
    Lifetime,
}

/// An instrument of measurement-based care, entirely as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentDefinition {
    /// Short stable code, e.g. `phq9`.
    pub code: String,
    pub name: String,
    pub items: Vec<ItemDef>,
    pub scoring: Scoring,
    pub bands: Vec<SeverityBand>,
    pub cutoffs: Vec<Cutoff>,
    pub critical_items: Vec<CriticalRule>,
    /// LOINC code of the panel (the questionnaire as a whole).
    pub loinc: Option<String>,
    /// LOINC code of the total score observation.
    pub total_loinc: Option<String>,
    pub recall_period: Option<RecallPeriod>,
    /// Where the scoring rules come from.
    pub source: String,
}

impl InstrumentDefinition {
    pub fn item(&self, link_id: &str) -> Option<&ItemDef> {
        self.items.iter().find(|i| i.link_id == link_id)
    }

    /// Checks the definition is self-consistent: unique link ids, sane ranges, options inside the
    /// range, scored and subscale items that exist and are required, rules naming real items.
    pub fn validate(&self) -> Result<()> {
        let mut f = Fields::new();
        if self.code.trim().is_empty() {
            f.push("code", "required", "is required");
        }
        if self.items.is_empty() {
            f.push("item", "required", "an instrument needs at least one item");
        }
        let mut seen = BTreeSet::new();
        for item in &self.items {
            let field = format!("item/{}", item.link_id);
            if item.link_id.trim().is_empty() {
                f.push("item", "required", "every item needs a linkId");
            } else if !seen.insert(item.link_id.as_str()) {
                f.push(&field, "duplicate_link_id", "appears more than once");
            }
            if item.min > item.max {
                f.push(&field, "invalid_range", &format!("min {} is above max {}", item.min, item.max));
            }
            for o in &item.options {
                if !(item.min..=item.max).contains(&o.value) {
                    f.push(&field, "option_out_of_range", &format!("option value {} is outside {}–{}", o.value, item.min, item.max));
                }
            }
            if item.scored && !item.required && matches!(self.scoring, Scoring::Sum) {
                f.push(&field, "scored_item_optional", "a scored item must be required");
            }
            if let Some(ew) = &item.enable_when
                && self.item(&ew.link_id).is_none()
            {
                f.push(&field, "unknown_item", &format!("is enabled by unknown item {}", ew.link_id));
            }
        }
        for s in self.scoring.subscales() {
            if s.link_ids.is_empty() {
                f.push(&format!("subscale/{}", s.name), "required", "a subscale needs items");
            }
            for id in &s.link_ids {
                match self.item(id) {
                    None => f.push(&format!("subscale/{}", s.name), "unknown_item", &format!("names unknown item {id}")),
                    Some(i) if !i.required || i.enable_when.is_some() => {
                        f.push(&format!("subscale/{}", s.name), "subscale_item_optional", &format!("item {id} must be required"))
                    }
                    Some(_) => {}
                }
            }
        }
        if matches!(self.scoring, Scoring::MeanOfSubscales(ref s) if s.is_empty()) {
            f.push("scoring", "required", "a mean of subscales needs subscales");
        }
        for rule in &self.critical_items {
            for id in &rule.any_of {
                if self.item(id).is_none() {
                    f.push(&format!("rule/{}", rule.flag), "unknown_item", &format!("names unknown item {id}"));
                }
            }
        }
        for b in &self.bands {
            if b.min > b.max {
                f.push(&format!("band/{}", b.label), "invalid_range", "min is above max");
            }
        }
        f.finish()
    }
}
