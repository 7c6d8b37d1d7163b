//! Judging change between two scores: the Reliable Change Index (Jacobson & Truax 1991) and
//! recovery (moving across a caseness cut-off).
use serde::Serialize;

/// The normative numbers behind an RCI for one instrument. Configuration, with cited defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RciConfig {
    /// Standard deviation of the baseline scores in the normative sample (SD₁).
    pub sd_baseline: f64,
    /// Test–retest reliability (r).
    pub reliability: f64,
    pub source: &'static str,
}

impl RciConfig {
    /// S_diff = √2 · SE, SE = SD₁ · √(1 − r) (Jacobson & Truax 1991).
    pub fn s_diff(&self) -> f64 {
        // Jacobson & Truax 1991: SE = SD₁·√(1 − r); S_diff = √2·SE
        std::f64::consts::SQRT_2 * self.sd_baseline * (1.0 - self.reliability).sqrt()
    }

    /// The smallest change in points that counts as reliable: 1.96 · S_diff (for display, e.g.
    /// "a drop of 7 or more is reliable"). NaN when the configuration is not usable.
    pub fn reliable_change_points(&self) -> f64 {
        // Jacobson & Truax 1991: reliable when |x2 − x1| > 1.96 · S_diff
        if self.is_usable() { RELIABLE_RCI * self.s_diff() } else { f64::NAN }
    }

    /// Usable only with SD > 0 and 0 ≤ r < 1; otherwise [`rci`] returns NaN.
    pub fn is_usable(&self) -> bool {
        self.sd_baseline.is_finite() && self.sd_baseline > 0.0 && (0.0..1.0).contains(&self.reliability)
    }
}

/// Literature defaults, where we have one. Every value is configurable; where the comment says
/// [verify], the number has not been checked against a primary source.
pub fn rci_default(code: &str) -> Option<RciConfig> {
    match code {
        // r = 0.84: Kroenke, Spitzer & Williams 2001 (48-hour test–retest).
        // SD 5.7: an approximate clinical-sample baseline SD, NOT confirmed from a primary source [verify].
        "phq9" => Some(RciConfig {
            sd_baseline: 5.7,
            reliability: 0.84,
            source: "r: Kroenke, Spitzer & Williams 2001 test–retest 0.84; SD 5.7 approximate [verify]",
        }),
        // r = 0.83: Spitzer et al. 2006 (test–retest intraclass correlation).
        // SD 4.6: approximate, NOT confirmed from a primary source [verify].
        "gad7" => Some(RciConfig {
            sd_baseline: 4.6,
            reliability: 0.83,
            source: "r: Spitzer et al. 2006 test–retest ICC 0.83; SD 4.6 approximate [verify]",
        }),
        // r = 0.82: Blevins et al. 2015 (PCL-5 test–retest, trauma-exposed students) — recalled, [verify].
        // SD 14.0: approximate, NOT confirmed from a primary source [verify].
        "pcl5" => Some(RciConfig {
            sd_baseline: 14.0,
            reliability: 0.82,
            source: "r: Blevins et al. 2015 test–retest 0.82 [verify]; SD 14.0 approximate [verify]",
        }),
        // No default we can cite for the other instruments: supply SD and r from your normative sample.
        _ => None,
    }
}

/// The line between "a case" and "not a case" for judging recovery.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Caseness {
    pub cutoff: f64,
    pub lower_is_better: bool,
    pub source: &'static str,
}

/// Caseness cut-offs used by NHS Talking Therapies; configurable.
pub fn caseness_default(code: &str) -> Option<Caseness> {
    match code {
        // NHS Talking Therapies (instruments.md): PHQ-9 caseness ≥ 10, recovery = below 10
        "phq9" => Some(Caseness { cutoff: 10.0, lower_is_better: true, source: "NHS Talking Therapies: PHQ-9 caseness 10" }),
        // NHS Talking Therapies (instruments.md): GAD-7 caseness ≥ 8, recovery = below 8
        "gad7" => Some(Caseness { cutoff: 8.0, lower_is_better: true, source: "NHS Talking Therapies: GAD-7 caseness 8" }),
        _ => None,
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

/// How a patient's score moved between baseline and latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    ReliableImprovement,
    NoReliableChange,
    ReliableDeterioration,
    /// Reliable improvement that also moved the patient from a case to not a case.
    Recovered,
}

/// Jacobson & Truax 1991: the RCI must exceed 1.96 in absolute value for change to be reliable
pub const RELIABLE_RCI: f64 = 1.96;

/// Classifies change. `lower_is_better` says which direction is improvement. A "case" is a score
/// at or above `caseness_cutoff` when lower is better (PHQ-9 ≥ 10), or below it when higher is
/// better. Recovered = reliable improvement AND baseline was a case AND latest is not.
/// An unusable `cfg` (RCI NaN) gives `NoReliableChange`.
pub fn change_status(baseline: f64, latest: f64, cfg: &RciConfig, caseness_cutoff: f64, lower_is_better: bool) -> ChangeStatus {
    let index = rci(baseline, latest, cfg);
    // Positive = improvement in the instrument's own direction.
    let improvement = if lower_is_better { -index } else { index };
    // Jacobson & Truax 1991: |RCI| > 1.96 → reliable
    if improvement > RELIABLE_RCI {
        let is_case = |x: f64| if lower_is_better { x >= caseness_cutoff } else { x < caseness_cutoff };
        // Jacobson & Truax 1991: recovered = reliable improvement and passing the cut-off (caseness line per NHS Talking Therapies)
        if is_case(baseline) && !is_case(latest) { ChangeStatus::Recovered } else { ChangeStatus::ReliableImprovement }
    } else if improvement < -RELIABLE_RCI {
        ChangeStatus::ReliableDeterioration
    } else {
        ChangeStatus::NoReliableChange
    }
}
