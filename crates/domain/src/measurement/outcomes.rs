//! Outcomes: one patient's scores over time with the Reliable Change Index against baseline, and
//! a program's baseline → latest → follow-up figures with the number of patients behind each.
use super::care::{MeasurementResult, MeasurementSettings, OutcomeRow, ResultContext};
use super::change::{ChangeStatus, RciConfig, caseness_default, change_status, rci};
use super::definition::{InstrumentDefinition, SeverityBand};
use crate::ids::ProgramId;
use crate::patients::EpisodeId;
use crate::programs::{Population, TrackId};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// One score on the chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScorePoint {
    pub date: NaiveDate,
    pub total: f64,
    pub context: ResultContext,
}

/// A patient's course on one instrument (one episode's treatment results and its follow-ups).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstrumentOutcome {
    pub instrument: String,
    pub name: String,
    pub points: Vec<ScorePoint>,
    pub follow_ups: Vec<ScorePoint>,
    pub baseline: Option<ScorePoint>,
    pub latest: Option<ScorePoint>,
    pub rci: Option<f64>,
    pub status: Option<ChangeStatus>,
    /// The smallest change that counts as reliable, in points.
    pub reliable_change_points: Option<f64>,
    pub rci_source: Option<String>,
    /// Whole weeks from baseline to latest.
    pub weeks: i64,
    /// No reliable improvement after the configured number of weeks: review the plan.
    pub plan_review_prompt: bool,
    pub bands: Vec<SeverityBand>,
    /// Highest possible total (for the chart's scale).
    pub max_total: f64,
}

/// Whether lower totals are better and where caseness lies (for recovery). Every built-in total
/// rises with severity; recovery needs a cited caseness line (PHQ-9, GAD-7).
fn caseness(code: &str) -> (f64, bool) {
    match caseness_default(code) {
        Some(c) => (c.cutoff, c.lower_is_better),
        // No caseness line: recovery cannot be judged (NaN never compares true).
        None => (f64::NAN, true),
    }
}

/// The change status between two totals, when the instrument has usable RCI numbers.
pub fn status_between(code: &str, baseline: f64, latest: f64, cfg: Option<&RciConfig>) -> Option<(f64, ChangeStatus)> {
    let cfg = cfg.filter(|c| c.is_usable())?;
    let (cut, lower) = caseness(code);
    Some((rci(baseline, latest, cfg), change_status(baseline, latest, cfg, cut, lower)))
}

/// The highest total an instrument can reach (sum of item maxima, or the top band).
pub fn max_total(def: &InstrumentDefinition) -> f64 {
    let top_band = def.bands.iter().map(|b| b.max).fold(0.0, f64::max);
    let sum: f64 = def.items.iter().filter(|i| i.scored).map(|i| f64::from(i.max.max(i.min))).sum();
    if top_band > 0.0 { top_band } else { sum.max(1.0) }
}

/// A patient's outcome on one instrument, from the results of one episode (treatment results
/// and follow-ups). Baseline = first in-treatment result; latest = last in-treatment result.
pub fn patient_outcome(def: &InstrumentDefinition, results: &[&MeasurementResult], settings: &MeasurementSettings) -> InstrumentOutcome {
    let mut points: Vec<ScorePoint> = Vec::new();
    let mut follow_ups: Vec<ScorePoint> = Vec::new();
    for r in results.iter().filter(|r| r.instrument == def.code) {
        let Some(total) = r.score.total else { continue };
        let p = ScorePoint { date: r.administered_on, total, context: r.context };
        match r.context {
            ResultContext::Treatment => points.push(p),
            ResultContext::FollowUp { .. } => follow_ups.push(p),
        }
    }
    points.sort_by_key(|p| p.date);
    follow_ups.sort_by_key(|p| p.date);
    let baseline = points.first().copied();
    let latest = if points.len() > 1 { points.last().copied() } else { None };
    let cfg = settings.rci_for(&def.code);
    let judged = match (baseline, latest) {
        (Some(b), Some(l)) => status_between(&def.code, b.total, l.total, cfg.as_ref()),
        _ => None,
    };
    let weeks = match (baseline, latest) {
        (Some(b), Some(l)) => (l.date - b.date).num_days() / 7,
        _ => 0,
    };
    let improved = matches!(judged, Some((_, ChangeStatus::ReliableImprovement | ChangeStatus::Recovered)));
    let plan_review_prompt = judged.is_some() && !improved && weeks >= i64::from(settings.no_improvement_weeks);
    InstrumentOutcome {
        instrument: def.code.clone(),
        name: def.name.clone(),
        points,
        follow_ups,
        baseline,
        latest,
        rci: judged.map(|(r, _)| r),
        status: judged.map(|(_, s)| s),
        reliable_change_points: cfg.filter(|c| c.is_usable()).map(|c| c.reliable_change_points()),
        rci_source: cfg.map(|c| c.source.to_string()),
        weeks,
        plan_review_prompt,
        bands: def.bands.clone(),
        max_total: max_total(def),
    }
}

pub fn status_label(s: ChangeStatus) -> &'static str {
    match s {
        ChangeStatus::ReliableImprovement => "Reliable improvement",
        ChangeStatus::NoReliableChange => "No reliable change",
        ChangeStatus::ReliableDeterioration => "Reliable deterioration",
        ChangeStatus::Recovered => "Recovered",
    }
}

/// Filters of the program outcomes view. Date range: episodes admitted in `[from, to]`.
/// Level of care: the episode's clinical level on its baseline date.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutcomeFilter {
    pub program_id: Option<ProgramId>,
    pub track_id: Option<TrackId>,
    pub population: Option<Population>,
    /// A level code such as `2.1` (any edition).
    pub level_code: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A mean and the number of patients (episodes) behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    pub mean: Option<f64>,
    pub n: usize,
}

impl Figure {
    fn of(values: &[f64]) -> Self {
        let n = values.len();
        Self { mean: (n > 0).then(|| values.iter().sum::<f64>() / n as f64), n }
    }
}

/// `count` of `n` patients (episodes), and the share.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    pub count: usize,
    pub n: usize,
    pub share: Option<f64>,
}

impl Share {
    fn of(count: usize, n: usize) -> Self {
        Self { count, n, share: (n > 0).then(|| count as f64 / n as f64) }
    }
}

/// One instrument's program outcome. Each episode counts once: its baseline (first in-treatment
/// total), its latest (last in-treatment total, when it has two or more), its follow-up (last
/// post-discharge total). Improvement and deterioration are shares of episodes with a baseline
/// and a latest and usable RCI numbers; recovery is a share of those whose baseline was a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramInstrumentOutcome {
    pub instrument: String,
    pub baseline: Figure,
    pub latest: Figure,
    pub follow_up: Figure,
    pub reliable_improvement: Share,
    pub reliable_deterioration: Share,
    pub recovered: Share,
}

fn passes(row: &OutcomeRow, f: &OutcomeFilter, baseline: NaiveDate) -> bool {
    f.program_id.is_none_or(|p| row.program_id == p)
        && f.track_id.is_none_or(|t| row.track_id == Some(t))
        && f.population.is_none_or(|p| row.population == p)
        && f.from.is_none_or(|d| row.admitted_on >= d)
        && f.to.is_none_or(|d| row.admitted_on <= d)
        && f.level_code.as_ref().is_none_or(|code| {
            row.levels.iter().any(|(l, from, to)| l.code == *code && *from <= baseline && to.is_none_or(|t| baseline <= t))
        })
}

/// Program outcomes per instrument, in instrument-code order.
pub fn program_outcomes(rows: &[OutcomeRow], filter: &OutcomeFilter, settings: &MeasurementSettings) -> Vec<ProgramInstrumentOutcome> {
    // (instrument, episode) → rows
    let mut groups: BTreeMap<(&str, EpisodeId), Vec<&OutcomeRow>> = BTreeMap::new();
    for r in rows {
        groups.entry((r.instrument.as_str(), r.episode_id)).or_default().push(r);
    }
    #[derive(Default)]
    struct Acc {
        baseline: Vec<f64>,
        latest: Vec<f64>,
        follow_up: Vec<f64>,
        judged: usize,
        improved: usize,
        deteriorated: usize,
        recovered: usize,
        cases: usize,
    }
    let mut per: BTreeMap<&str, Acc> = BTreeMap::new();
    for ((instrument, _), mut rs) in groups {
        rs.sort_by_key(|r| r.administered_on);
        let treatment: Vec<&&OutcomeRow> = rs.iter().filter(|r| r.context == ResultContext::Treatment).collect();
        let Some(first) = treatment.first() else { continue };
        if !passes(first, filter, first.administered_on) {
            continue;
        }
        let e = per.entry(instrument).or_default();
        e.baseline.push(first.total);
        let cfg = settings.rci_for(instrument);
        if treatment.len() > 1
            && let Some(last) = treatment.last()
        {
            e.latest.push(last.total);
            if let Some((_, status)) = status_between(instrument, first.total, last.total, cfg.as_ref()) {
                e.judged += 1;
                match status {
                    ChangeStatus::ReliableImprovement => e.improved += 1,
                    ChangeStatus::Recovered => {
                        e.improved += 1;
                        e.recovered += 1;
                    }
                    ChangeStatus::ReliableDeterioration => e.deteriorated += 1,
                    ChangeStatus::NoReliableChange => {}
                }
                let (cut, lower) = caseness(instrument);
                let case = if lower { first.total >= cut } else { first.total < cut };
                if case {
                    e.cases += 1;
                }
            }
        }
        if let Some(f) = rs.iter().rev().find(|r| matches!(r.context, ResultContext::FollowUp { .. })) {
            e.follow_up.push(f.total);
        }
    }
    per.into_iter()
        .map(|(instrument, a)| ProgramInstrumentOutcome {
            instrument: instrument.to_string(),
            baseline: Figure::of(&a.baseline),
            latest: Figure::of(&a.latest),
            follow_up: Figure::of(&a.follow_up),
            reliable_improvement: Share::of(a.improved, a.judged),
            reliable_deterioration: Share::of(a.deteriorated, a.judged),
            recovered: Share::of(a.recovered, a.cases),
        })
        .collect()
}
