//! Scoring a completed instrument: refuse incomplete or impossible answers, then compute the
//! total, subscales, band, screening cut-offs, triage and risk flags.
use super::definition::{Aggregate, Cutoff, InstrumentDefinition, ItemDef, RiskLevel, Scoring};
use crate::error::Fields;
use crate::patients::Sex;
use crate::{DomainError, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The band the total fell in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BandHit {
    pub label: String,
    pub level: u8,
}

/// One screening cut-off applied to the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenResult {
    pub code: String,
    pub label: String,
    pub at_least: f64,
    pub positive: bool,
    /// The recorded sex the cut-off is for (AUDIT-C), `None` for every patient.
    pub sex: Option<Sex>,
    pub source: String,
}

/// The screening cut-offs that apply to a patient of recorded `sex`, applied to `total`: a
/// cut-off for one sex applies to patients recorded as that sex; when the recorded sex is neither
/// male nor female (unknown, intersex), every cut-off is shown, each saying whom it is for.
pub fn screens_for(cutoffs: &[Cutoff], total: Option<f64>, sex: Sex) -> Vec<ScreenResult> {
    let Some(t) = total else { return Vec::new() };
    let known = matches!(sex, Sex::Male | Sex::Female);
    cutoffs
        .iter()
        .filter(|c| !known || c.sex.is_none_or(|s| s == sex))
        .map(|c| ScreenResult {
            code: c.code.clone(),
            label: c.label.clone(),
            at_least: c.at_least,
            positive: t >= c.at_least,
            sex: c.sex,
            source: c.source.clone(),
        })
        .collect()
}

/// Something the clinic must act on, raised by individual answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskFlag {
    /// Stable machine code, e.g. `suicide_risk`.
    pub code: String,
    /// The triage level, when the instrument triages (C-SSRS); `None` for a screen-positive item
    /// whose level still has to be assessed (PHQ-9 item 9).
    pub level: Option<RiskLevel>,
    /// The items whose answers raised the flag.
    pub items: Vec<String>,
    pub action: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreResult {
    pub instrument: String,
    /// Sum (or mean of subscales, e.g. EDE-Q global); `None` where the instrument has no total.
    pub total: Option<f64>,
    pub subscales: Vec<(String, f64)>,
    pub band: Option<BandHit>,
    pub screens: Vec<ScreenResult>,
    /// Set only for instruments whose rules carry a triage level (C-SSRS screener).
    pub triage: Option<RiskLevel>,
    pub flags: Vec<RiskFlag>,
    /// Every needed answer was given. An incomplete answer set is kept only when it carries a
    /// positive risk answer (see [`score_keeping_risk`]): then it has no total, band or screens.
    pub complete: bool,
}

impl ScoreResult {
    pub fn subscale(&self, name: &str) -> Option<f64> {
        self.subscales.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    pub fn screen(&self, code: &str) -> Option<bool> {
        self.screens.iter().find(|s| s.code == code).map(|s| s.positive)
    }

    pub fn flag(&self, code: &str) -> Option<&RiskFlag> {
        self.flags.iter().find(|f| f.code == code)
    }
}

fn is_enabled(item: &ItemDef, responses: &BTreeMap<String, i32>) -> bool {
    match &item.enable_when {
        None => true,
        Some(ew) => responses.get(&ew.link_id).is_some_and(|v| *v >= ew.at_least),
    }
}

/// Every problem with the responses, at once: unknown items, missing answers, impossible values.
fn check_responses(def: &InstrumentDefinition, responses: &BTreeMap<String, i32>) -> Result<()> {
    let mut f = Fields::new();
    for link_id in responses.keys() {
        if def.item(link_id).is_none() {
            f.push(link_id, "unknown_item", &format!("is not an item of {}", def.name));
        }
    }
    // Items a score depends on are needed even if a hand-built definition forgot to mark them required.
    let mut needed: BTreeSet<&str> = def.scoring.subscales().iter().flat_map(|s| s.link_ids.iter().map(String::as_str)).collect();
    if matches!(def.scoring, Scoring::Sum) {
        needed.extend(def.items.iter().filter(|i| i.scored).map(|i| i.link_id.as_str()));
    }
    for item in &def.items {
        match responses.get(&item.link_id) {
            None => {
                if needed.contains(item.link_id.as_str()) || (item.required && is_enabled(item, responses)) {
                    f.push(&item.link_id, "missing_response", "needs an answer");
                }
            }
            Some(v) if !item.accepts(*v) => {
                let message = if item.options.is_empty() {
                    format!("{v} is outside {}–{}", item.min, item.max)
                } else {
                    let allowed: Vec<String> = item.options.iter().map(|o| o.value.to_string()).collect();
                    format!("{v} is not one of {}", allowed.join(", "))
                };
                f.push(&item.link_id, "out_of_range", &message);
            }
            Some(_) => {}
        }
    }
    for id in needed {
        if def.item(id).is_none() && !responses.contains_key(id) {
            f.push(id, "missing_response", "needs an answer");
        }
    }
    f.finish()
}

/// Scores one completed instrument. `responses` maps `link_id` to the raw answer value (before
/// reversal). Refuses, with one `DomainError::Validation` naming every bad item, when a needed
/// answer is missing (`missing_response`), a value is impossible (`out_of_range`), or an answer
/// names no item of the instrument (`unknown_item`).
pub fn score(def: &InstrumentDefinition, responses: &BTreeMap<String, i32>) -> Result<ScoreResult> {
    check_responses(def, responses)?;
    let value = |link_id: &str| -> Result<f64> {
        let item = def.item(link_id).ok_or_else(|| DomainError::internal(format!("{}: no item {link_id}", def.code)))?;
        let raw = responses.get(link_id).ok_or_else(|| DomainError::internal(format!("{}: no answer for {link_id}", def.code)))?;
        Ok(f64::from(item.scored_value(*raw)))
    };

    let mut subscales = Vec::new();
    for s in def.scoring.subscales() {
        let mut sum = 0.0;
        for id in &s.link_ids {
            sum += value(id)?;
        }
        let v = match s.aggregate {
            Aggregate::Sum => sum,
            Aggregate::Mean => sum / s.link_ids.len().max(1) as f64,
        };
        subscales.push((s.name.clone(), v));
    }

    let total = match &def.scoring {
        Scoring::Sum => {
            let mut sum = 0.0;
            for item in def.items.iter().filter(|i| i.scored) {
                sum += value(&item.link_id)?;
            }
            Some(sum)
        }
        // Fairburn & Beglin 2008: EDE-Q global = mean of the subscale scores
        Scoring::MeanOfSubscales(_) if !subscales.is_empty() => {
            Some(subscales.iter().map(|(_, v)| v).sum::<f64>() / subscales.len() as f64)
        }
        Scoring::MeanOfSubscales(_) | Scoring::Subscales(_) | Scoring::TriageOnly => None,
    };

    let band =
        total.and_then(|t| def.bands.iter().find(|b| b.min <= t && t <= b.max)).map(|b| BandHit { label: b.label.clone(), level: b.level });
    // Scoring does not know the patient: every cut-off is applied; readers pick by recorded sex.
    let screens = screens_for(&def.cutoffs, total, Sex::Unknown);

    let (triage, flags) = apply_rules(def, responses);
    Ok(ScoreResult { instrument: def.code.clone(), total, subscales, band, screens, triage, flags, complete: true })
}

/// Scores an answer set like [`score`], except that a positive risk answer is never lost: when
/// the only problem is answers left blank (skipped or refused by the patient) and the answers
/// given raise a risk flag (PHQ-9 item 9 > 0, a C-SSRS "yes"), the result is kept as incomplete —
/// no total, no band — with its flags, so the clinic acts on them. Anything else still refuses.
pub fn score_keeping_risk(def: &InstrumentDefinition, responses: &BTreeMap<String, i32>) -> Result<ScoreResult> {
    match score(def, responses) {
        Err(DomainError::Validation(errs)) if errs.iter().all(|e| e.code == "missing_response") => {
            let (triage, flags) = apply_rules(def, responses);
            if flags.is_empty() {
                return Err(DomainError::Validation(errs));
            }
            Ok(ScoreResult {
                instrument: def.code.clone(),
                total: None,
                subscales: Vec::new(),
                band: None,
                screens: Vec::new(),
                triage,
                flags,
                complete: false,
            })
        }
        other => other,
    }
}

/// Fires the critical-item rules: the triage level is the highest level of any fired rule (or
/// no risk); flags of the same code merge, keeping the highest level and every item involved.
fn apply_rules(def: &InstrumentDefinition, responses: &BTreeMap<String, i32>) -> (Option<RiskLevel>, Vec<RiskFlag>) {
    let triages = def.critical_items.iter().any(|r| r.level.is_some());
    let mut triage = triages.then_some(RiskLevel::NoRisk);
    let mut flags: Vec<RiskFlag> = Vec::new();
    for rule in &def.critical_items {
        // A "yes" counts even on an item skip logic would have skipped: risk answers are never discarded.
        let hits: Vec<String> = rule.any_of.iter().filter(|id| responses.get(*id).is_some_and(|v| *v >= rule.at_least)).cloned().collect();
        if hits.is_empty() {
            continue;
        }
        if let (Some(t), Some(l)) = (triage, rule.level) {
            triage = Some(t.max(l));
        }
        if !rule.raises_flag {
            continue;
        }
        match flags.iter_mut().find(|f| f.code == rule.flag) {
            Some(existing) => {
                if rule.level > existing.level {
                    existing.level = rule.level;
                    existing.action = rule.action.clone();
                    existing.source = rule.source.clone();
                }
                for h in hits {
                    if !existing.items.contains(&h) {
                        existing.items.push(h);
                    }
                }
            }
            None => flags.push(RiskFlag {
                code: rule.flag.clone(),
                level: rule.level,
                items: hits,
                action: rule.action.clone(),
                source: rule.source.clone(),
            }),
        }
    }
    (triage, flags)
}
