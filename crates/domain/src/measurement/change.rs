//! Judging change between two scores with published, cited constants per instrument, and
//! recovery as NHS Talking Therapies defines it.
//!
//! Two methods, both configuration per organization: a fixed difference in points (how NHS
//! Talking Therapies judges PHQ-9 and GAD-7, and the National Center for PTSD the PCL-5), or the
//! Reliable Change Index from a normative SD and test–retest reliability (Jacobson & Truax 1991).
//! Recovery (NHS Talking Therapies): a case at the first measure (at or above the caseness
//! cut-off) and below it at the last; reliable recovery: recovery with reliable improvement.
use super::builtin::ScreeningCutoffs;
use serde::Serialize;

/// The normative numbers behind a Reliable Change Index for one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RciConfig {
    /// Standard deviation of the baseline scores in the normative sample (SD₁).
    pub sd_baseline: f64,
    /// Test–retest reliability (r).
    pub reliability: f64,
}

impl RciConfig {
    /// S_diff = √2 · SE, SE = SD₁ · √(1 − r) (Jacobson & Truax 1991).
    pub fn s_diff(&self) -> f64 {
        // Jacobson & Truax 1991: SE = SD₁·√(1 − r); S_diff = √2·SE
        std::f64::consts::SQRT_2 * self.sd_baseline * (1.0 - self.reliability).sqrt()
    }

    /// The smallest change in points that counts as reliable: 1.96 · S_diff. NaN when the
    /// configuration is not usable.
    pub fn reliable_change_points(&self) -> f64 {
        // Jacobson & Truax 1991: reliable when |x2 − x1| > 1.96 · S_diff
        if self.is_usable() { RELIABLE_RCI * self.s_diff() } else { f64::NAN }
    }

    /// Usable only with SD > 0 and 0 ≤ r < 1; otherwise [`rci`] returns NaN.
    pub fn is_usable(&self) -> bool {
        self.sd_baseline.is_finite() && self.sd_baseline > 0.0 && (0.0..1.0).contains(&self.reliability)
    }
}

/// RCI = (x₂ − x₁) / S_diff (Jacobson & Truax 1991). NaN when `cfg` is not usable.
pub fn rci(baseline: f64, latest: f64, cfg: &RciConfig) -> f64 {
    if !cfg.is_usable() {
        return f64::NAN;
    }
    // Jacobson & Truax 1991: RCI = (x2 − x1) / S_diff
    (latest - baseline) / cfg.s_diff()
}

/// Jacobson & Truax 1991: the RCI must exceed 1.96 in absolute value for change to be reliable
pub const RELIABLE_RCI: f64 = 1.96;

/// How a change is judged reliable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ReliableChange {
    /// A change of at least `points`, either way, is reliable.
    Points { points: f64 },
    /// |RCI| > 1.96 (Jacobson & Truax 1991).
    Index(RciConfig),
}

impl ReliableChange {
    pub fn is_usable(&self) -> bool {
        match self {
            ReliableChange::Points { points } => points.is_finite() && *points > 0.0,
            ReliableChange::Index(c) => c.is_usable(),
        }
    }

    /// `points` or `index`.
    pub fn method(&self) -> &'static str {
        match self {
            ReliableChange::Points { .. } => "points",
            ReliableChange::Index(_) => "index",
        }
    }

    /// The smallest change in points that counts as reliable (for display).
    pub fn threshold_points(&self) -> f64 {
        match self {
            ReliableChange::Points { points } => *points,
            ReliableChange::Index(c) => c.reliable_change_points(),
        }
    }
}

/// Everything that judges change on one instrument: the reliable-change method, the caseness
/// cut-off for recovery, the instrument's direction, and where the numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRule {
    pub reliable: ReliableChange,
    /// A score at or above it (when lower is better) is a case; without one, recovery is not judged.
    pub caseness: Option<f64>,
    pub lower_is_better: bool,
    /// The citation, or "organization setting".
    pub source: String,
}

impl ChangeRule {
    pub fn is_case(&self, score: f64) -> Option<bool> {
        self.caseness.filter(|c| c.is_finite()).map(|c| if self.lower_is_better { score >= c } else { score < c })
    }
}

/// Reliable change defaults in points, where a published source gives one.
pub fn reliable_change_points_default(code: &str) -> Option<(f64, &'static str)> {
    match code {
        // NHS Talking Therapies Manual (2023; IAPT Manual 2018): PHQ-9 reliable change = a change of 6 points or more
        "phq9" => Some((6.0, "NHS Talking Therapies Manual: PHQ-9 reliable change ≥ 6 points")),
        // NHS Talking Therapies Manual (2023; IAPT Manual 2018): GAD-7 reliable change = a change of 4 points or more
        "gad7" => Some((4.0, "NHS Talking Therapies Manual: GAD-7 reliable change ≥ 4 points")),
        // National Center for PTSD, "Using the PCL-5": 5–10 points = reliable change, 10 = clinically meaningful; default 10
        "pcl5" => Some((10.0, "National Center for PTSD (PCL-5): change ≥ 10 points (5–10 reliable, 10 clinically meaningful)")),
        _ => None,
    }
}

/// Caseness defaults: at or above is a case.
pub fn caseness_default(code: &str, screening: &ScreeningCutoffs) -> Option<f64> {
    match code {
        // NHS Talking Therapies Manual: PHQ-9 caseness ≥ 10 (recovery = below 10 at the last measure)
        "phq9" => Some(10.0),
        // NHS Talking Therapies Manual: GAD-7 caseness ≥ 8 (recovery = below 8 at the last measure)
        "gad7" => Some(8.0),
        // National Center for PTSD: probable PTSD at the organization's PCL-5 cut-off (31–33, default 33)
        "pcl5" => Some(screening.pcl5_probable_ptsd),
        _ => None,
    }
}

/// The cited default rule for a built-in instrument (every built-in total rises with severity).
pub fn change_rule_default(code: &str, screening: &ScreeningCutoffs) -> Option<ChangeRule> {
    let (points, source) = reliable_change_points_default(code)?;
    Some(ChangeRule {
        reliable: ReliableChange::Points { points },
        caseness: caseness_default(code, screening),
        lower_is_better: true,
        source: source.to_string(),
    })
}

/// How a patient's score moved between the first and last measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    ReliableImprovement,
    NoReliableChange,
    ReliableDeterioration,
}

/// The judgement of one patient's change on one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangeJudgement {
    /// Latest − baseline, in points.
    pub change: f64,
    /// The Reliable Change Index, when the rule uses it.
    pub rci: Option<f64>,
    pub status: ChangeStatus,
    /// Whether the baseline was a case; `None` without a caseness cut-off.
    pub case_at_baseline: Option<bool>,
    /// NHS Talking Therapies recovery: a case at baseline and not a case at the latest measure.
    /// `None` unless the baseline was a case.
    pub recovered: Option<bool>,
    /// Recovery with reliable improvement. `None` unless the baseline was a case.
    pub reliable_recovery: Option<bool>,
}

/// Judges change from `baseline` to `latest`; `None` when the rule's numbers are not usable.
pub fn judge(baseline: f64, latest: f64, rule: &ChangeRule) -> Option<ChangeJudgement> {
    if !rule.reliable.is_usable() {
        return None;
    }
    let change = latest - baseline;
    // Positive = improvement in the instrument's own direction.
    let gain = if rule.lower_is_better { -change } else { change };
    let (rci, status) = match rule.reliable {
        // NHS Talking Therapies: reliable improvement / deterioration = a change of at least the threshold
        ReliableChange::Points { points } => (
            None,
            if gain >= points {
                ChangeStatus::ReliableImprovement
            } else if -gain >= points {
                ChangeStatus::ReliableDeterioration
            } else {
                ChangeStatus::NoReliableChange
            },
        ),
        ReliableChange::Index(cfg) => {
            let index = rci(baseline, latest, &cfg);
            let gain_index = if rule.lower_is_better { -index } else { index };
            // Jacobson & Truax 1991: |RCI| > 1.96 → reliable
            let status = if gain_index > RELIABLE_RCI {
                ChangeStatus::ReliableImprovement
            } else if gain_index < -RELIABLE_RCI {
                ChangeStatus::ReliableDeterioration
            } else {
                ChangeStatus::NoReliableChange
            };
            (Some(index), status)
        }
    };
    let case_at_baseline = rule.is_case(baseline);
    // NHS Talking Therapies: recovery = a case at the first measure and not at the last; reliable
    // recovery = recovery and reliable improvement
    let recovered = match (case_at_baseline, rule.is_case(latest)) {
        (Some(true), Some(now)) => Some(!now),
        _ => None,
    };
    let reliable_recovery = recovered.map(|r| r && status == ChangeStatus::ReliableImprovement);
    Some(ChangeJudgement { change, rci, status, case_at_baseline, recovered, reliable_recovery })
}

/// Parses `code=value` pairs (commas, semicolons or new lines between them), each value within
/// `min..=max`; blank gives none. Problems go to `field` in `errs`.
pub(crate) fn parse_per_instrument(
    errs: &mut crate::error::Fields,
    field: &str,
    text: &str,
    min: f64,
    max: f64,
) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for part in text.split([',', ';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let Some((code, value)) = part.split_once(['=', ':']) else {
            errs.push(field, "invalid_pair", &format!("write each as instrument=value, e.g. phq9=6 (not {part:?})"));
            continue;
        };
        let code = code.trim().to_ascii_lowercase();
        if !(2..=40).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            errs.push(field, "invalid_code", "instrument codes are 2–40 lowercase letters, digits or dashes (e.g. phq9)");
            continue;
        }
        match value.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && (min..=max).contains(&v) => {
                if out.insert(code.clone(), v).is_some() {
                    errs.push(field, "duplicate_code", &format!("{code} is listed twice"));
                }
            }
            _ => errs.push(field, "out_of_range", &format!("{code}: the value must be a number from {min} to {max}")),
        }
    }
    out
}

/// Parses one cut-off (blank keeps `current`) within its range.
pub(crate) fn parse_threshold(errs: &mut crate::error::Fields, (field, min, max): (&str, f64, f64), text: &str, current: f64) -> f64 {
    let t = text.trim();
    if t.is_empty() {
        return current;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && (min..=max).contains(&v) => v,
        _ => {
            errs.push(field, "out_of_range", &format!("must be a number from {min} to {max}"));
            current
        }
    }
}
