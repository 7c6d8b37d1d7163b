//! Outcomes: one patient's scores over time with change judged against baseline (cited reliable
//! change and NHS Talking Therapies recovery), subscales over time (BAM use, risk, protective),
//! screening cut-offs by the patient's recorded sex, and a program's baseline → latest →
//! follow-up figures with the number of patients behind each.
use super::builtin::{BUILTIN_CODES, screening_cutoffs};
use super::care::{MeasurementResult, MeasurementSettings, OutcomeRow, ResultContext};
use super::change::{ChangeJudgement, ChangeRule, ChangeStatus, judge};
use super::definition::{Aggregate, InstrumentDefinition, SeverityBand};
use super::score::{ScreenResult, screens_for};
use crate::ids::ProgramId;
use crate::patients::{EpisodeId, Sex};
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

/// One subscale's course (e.g. BAM protective factors). Subscales carry no cited reliable-change
/// figure, so the change is shown, not judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscaleOutcome {
    pub name: String,
    /// A rise is improvement (BAM protective); otherwise a fall is.
    pub higher_is_better: bool,
    pub points: Vec<ScorePoint>,
    pub follow_ups: Vec<ScorePoint>,
    pub baseline: Option<ScorePoint>,
    pub latest: Option<ScorePoint>,
    /// Latest − baseline.
    pub change: Option<f64>,
    /// Highest possible score on the subscale.
    pub max: f64,
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
    /// The change judged from baseline to latest, when both exist and a rule applies.
    pub judgement: Option<ChangeJudgement>,
    /// How change is judged on this instrument (method, threshold, caseness, source).
    pub rule: Option<ChangeRule>,
    /// Whole weeks from baseline to latest.
    pub weeks: i64,
    /// No reliable improvement after the configured number of weeks: review the plan.
    pub plan_review_prompt: bool,
    pub bands: Vec<SeverityBand>,
    /// Highest possible total (for the chart's scale).
    pub max_total: f64,
    /// Each subscale over time (empty when the instrument has none).
    pub subscales: Vec<SubscaleOutcome>,
}

impl InstrumentOutcome {
    pub fn status(&self) -> Option<ChangeStatus> {
        self.judgement.map(|j| j.status)
    }

    /// Anything to show: a total or a subscale score.
    pub fn has_scores(&self) -> bool {
        !self.points.is_empty()
            || !self.follow_ups.is_empty()
            || self.subscales.iter().any(|s| !s.points.is_empty() || !s.follow_ups.is_empty())
    }
}

/// The highest total an instrument can reach (sum of item maxima, or the top band).
pub fn max_total(def: &InstrumentDefinition) -> f64 {
    let top_band = def.bands.iter().map(|b| b.max).fold(0.0, f64::max);
    let sum: f64 = def.items.iter().filter(|i| i.scored).map(|i| f64::from(i.max.max(i.min))).sum();
    if top_band > 0.0 { top_band } else { sum.max(1.0) }
}

/// The highest score of each subscale (sum or mean of its items' maxima).
fn subscale_max(def: &InstrumentDefinition, link_ids: &[String], aggregate: Aggregate) -> f64 {
    let sum: f64 = link_ids.iter().filter_map(|id| def.item(id)).map(|i| f64::from(i.max.max(i.min))).sum();
    match aggregate {
        Aggregate::Sum => sum,
        Aggregate::Mean => sum / link_ids.len().max(1) as f64,
    }
}

fn first_last(points: &[ScorePoint]) -> (Option<ScorePoint>, Option<ScorePoint>) {
    (points.first().copied(), if points.len() > 1 { points.last().copied() } else { None })
}

/// A patient's outcome on one instrument, from the results of one episode (treatment results
/// and follow-ups). Baseline = first in-treatment result; latest = last in-treatment result.
/// Incomplete results (kept for a risk answer) have no scores and are left out.
pub fn patient_outcome(def: &InstrumentDefinition, results: &[&MeasurementResult], settings: &MeasurementSettings) -> InstrumentOutcome {
    let mut points: Vec<ScorePoint> = Vec::new();
    let mut follow_ups: Vec<ScorePoint> = Vec::new();
    let mut mine: Vec<&MeasurementResult> = results.iter().copied().filter(|r| r.instrument == def.code && r.score.complete).collect();
    mine.sort_by_key(|r| r.administered_on);
    let push = |points: &mut Vec<ScorePoint>, follow_ups: &mut Vec<ScorePoint>, p: ScorePoint| match p.context {
        ResultContext::Treatment => points.push(p),
        ResultContext::FollowUp { .. } => follow_ups.push(p),
    };
    for r in &mine {
        if let Some(total) = r.score.total {
            push(&mut points, &mut follow_ups, ScorePoint { date: r.administered_on, total, context: r.context });
        }
    }
    let subscales = def
        .scoring
        .subscales()
        .iter()
        .map(|s| {
            let (mut sp, mut sf) = (Vec::new(), Vec::new());
            for r in &mine {
                if let Some(v) = r.score.subscales.iter().find(|(n, _)| *n == s.name).map(|(_, v)| *v) {
                    push(&mut sp, &mut sf, ScorePoint { date: r.administered_on, total: v, context: r.context });
                }
            }
            let (baseline, latest) = first_last(&sp);
            SubscaleOutcome {
                name: s.name.clone(),
                higher_is_better: s.higher_is_better,
                change: baseline.zip(latest).map(|(b, l)| l.total - b.total),
                baseline,
                latest,
                points: sp,
                follow_ups: sf,
                max: subscale_max(def, &s.link_ids, s.aggregate),
            }
        })
        .collect();
    let (baseline, latest) = first_last(&points);
    let rule = settings.change_rule(&def.code);
    let judgement = match (baseline, latest, &rule) {
        (Some(b), Some(l), Some(rule)) => judge(b.total, l.total, rule),
        _ => None,
    };
    let weeks = match (baseline, latest) {
        (Some(b), Some(l)) => (l.date - b.date).num_days() / 7,
        _ => 0,
    };
    let improved = judgement.is_some_and(|j| j.status == ChangeStatus::ReliableImprovement);
    let plan_review_prompt = judgement.is_some() && !improved && weeks >= i64::from(settings.no_improvement_weeks);
    InstrumentOutcome {
        instrument: def.code.clone(),
        name: def.name.clone(),
        points,
        follow_ups,
        baseline,
        latest,
        judgement,
        rule: rule.filter(|r| r.reliable.is_usable()),
        weeks,
        plan_review_prompt,
        bands: def.bands.clone(),
        max_total: max_total(def),
        subscales,
    }
}

/// The screening cut-offs of a result that apply to the patient (by recorded sex), under the
/// organization's settings for built-in instruments and the definition's own otherwise.
pub fn result_screens(
    result: &MeasurementResult,
    def: Option<&InstrumentDefinition>,
    sex: Sex,
    settings: &MeasurementSettings,
) -> Vec<ScreenResult> {
    if !result.score.complete {
        return Vec::new();
    }
    let cutoffs = if BUILTIN_CODES.contains(&result.instrument.as_str()) {
        screening_cutoffs(&result.instrument, &settings.screening)
    } else {
        def.map(|d| d.cutoffs.clone()).unwrap_or_default()
    };
    screens_for(&cutoffs, result.score.total, sex)
}

pub fn status_label(s: ChangeStatus) -> &'static str {
    match s {
        ChangeStatus::ReliableImprovement => "Reliable improvement",
        ChangeStatus::NoReliableChange => "No reliable change",
        ChangeStatus::ReliableDeterioration => "Reliable deterioration",
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
/// post-discharge total). Improvement and deterioration are shares of episodes with a baseline, a
/// latest and a usable reliable-change rule; recovery and reliable recovery (NHS Talking
/// Therapies) are shares of those whose baseline was a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramInstrumentOutcome {
    pub instrument: String,
    pub baseline: Figure,
    pub latest: Figure,
    pub follow_up: Figure,
    pub reliable_improvement: Share,
    pub reliable_deterioration: Share,
    /// A case at baseline, below caseness at the latest measure.
    pub recovered: Share,
    /// Recovered with reliable improvement.
    pub reliable_recovery: Share,
    /// Each subscale (BAM: use, risk factors, protective factors), counted like the total.
    pub subscales: Vec<SubscaleFigures>,
}

/// One subscale's program figures: the mean at baseline, latest and follow-up, with their n.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscaleFigures {
    pub name: String,
    /// A rise is improvement (BAM protective factors); otherwise a fall is.
    pub higher_is_better: bool,
    pub baseline: Figure,
    pub latest: Figure,
    pub follow_up: Figure,
}

/// Baseline (first in-treatment), latest (last in-treatment, when two or more) and follow-up
/// (last post-discharge) values of one episode's series, as `(date-ordered rows, value of a row)`.
fn course(rs: &[&OutcomeRow], value: impl Fn(&OutcomeRow) -> Option<f64>) -> (Option<f64>, Option<f64>, Option<f64>) {
    let treatment: Vec<f64> = rs.iter().filter(|r| r.context == ResultContext::Treatment).filter_map(|r| value(r)).collect();
    let follow_up = rs.iter().rev().filter(|r| matches!(r.context, ResultContext::FollowUp { .. })).find_map(|r| value(r));
    let baseline = treatment.first().copied();
    let latest = if treatment.len() > 1 { treatment.last().copied() } else { None };
    (baseline, latest, follow_up)
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

/// Whether a rise on a built-in instrument's subscale is improvement (BAM protective factors).
fn subscale_higher_is_better(instrument: &str, name: &str) -> bool {
    super::builtin::builtin(instrument).is_some_and(|d| d.scoring.subscales().iter().any(|s| s.name == name && s.higher_is_better))
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
        reliably_recovered: usize,
        cases: usize,
    }
    let mut per: BTreeMap<&str, Acc> = BTreeMap::new();
    // instrument → subscale name → (baselines, latests, follow-ups), in first-seen order
    type SubAcc = Vec<(String, Vec<f64>, Vec<f64>, Vec<f64>)>;
    let mut subs: BTreeMap<&str, SubAcc> = BTreeMap::new();
    for ((instrument, _), mut rs) in groups {
        rs.sort_by_key(|r| r.administered_on);
        // The episode's baseline is its first in-treatment result, whatever it scored.
        let Some(first) = rs.iter().find(|r| r.context == ResultContext::Treatment) else { continue };
        if !passes(first, filter, first.administered_on) {
            continue;
        }
        let (baseline, latest, follow_up) = course(&rs, |r| r.total);
        if let Some(b) = baseline {
            let e = per.entry(instrument).or_default();
            e.baseline.push(b);
            if let Some(l) = latest {
                e.latest.push(l);
                if let Some(j) = settings.change_rule(instrument).as_ref().and_then(|rule| judge(b, l, rule)) {
                    e.judged += 1;
                    match j.status {
                        ChangeStatus::ReliableImprovement => e.improved += 1,
                        ChangeStatus::ReliableDeterioration => e.deteriorated += 1,
                        ChangeStatus::NoReliableChange => {}
                    }
                    if j.case_at_baseline == Some(true) {
                        e.cases += 1;
                    }
                    if j.recovered == Some(true) {
                        e.recovered += 1;
                    }
                    if j.reliable_recovery == Some(true) {
                        e.reliably_recovered += 1;
                    }
                }
            }
            if let Some(f) = follow_up {
                e.follow_up.push(f);
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for r in &rs {
            for (n, _) in &r.subscales {
                if !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        if names.is_empty() {
            continue;
        }
        per.entry(instrument).or_default();
        let acc = subs.entry(instrument).or_default();
        for name in names {
            let (b, l, f) = course(&rs, |r| r.subscales.iter().find(|(n, _)| n == name).map(|(_, v)| *v));
            let i = match acc.iter().position(|(n, ..)| n == name) {
                Some(i) => i,
                None => {
                    acc.push((name.to_string(), Vec::new(), Vec::new(), Vec::new()));
                    acc.len() - 1
                }
            };
            let slot = &mut acc[i];
            slot.1.extend(b);
            slot.2.extend(l);
            slot.3.extend(f);
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
            reliable_recovery: Share::of(a.reliably_recovered, a.cases),
            subscales: subs
                .remove(instrument)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, b, l, f)| SubscaleFigures {
                    higher_is_better: subscale_higher_is_better(instrument, &name),
                    name,
                    baseline: Figure::of(&b),
                    latest: Figure::of(&l),
                    follow_up: Figure::of(&f),
                })
                .collect(),
        })
        .collect()
}
