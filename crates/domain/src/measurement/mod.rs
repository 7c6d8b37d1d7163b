//! Measurement-based care: the instrument engine. Pure domain code — no web, no SQL.
//!
//! Instruments are data ([`InstrumentDefinition`]); scoring facts for the built-in instruments
//! live in `builtin.rs`, each rule citing its source. Item wording is never typed into code: a
//! clinic loads it from a FHIR R4 Questionnaire ([`import_questionnaire`]).
//!
//! # Public API
//! - Definitions: [`InstrumentDefinition`] `{ code, name, items: Vec<ItemDef>, scoring: Scoring,
//!   bands: Vec<SeverityBand>, cutoffs: Vec<Cutoff>, critical_items: Vec<CriticalRule>, loinc,
//!   total_loinc, recall_period: Option<RecallPeriod>, source }` and its `validate() -> Result<()>`;
//!   [`ItemDef`] `{ link_id, label, min, max, reverse, required, scored, enable_when, options:
//!   Vec<AnswerOption> }`; [`Scoring`] `Sum | Subscales(Vec<Subscale>) | MeanOfSubscales(Vec<Subscale>)
//!   | TriageOnly`; [`Subscale`] `{ name, link_ids, aggregate: Aggregate (Sum | Mean) }`;
//!   [`SeverityBand`] `{ min, max, label, level }`; [`Cutoff`] `{ code, label, at_least, source }`;
//!   [`CriticalRule`] `{ flag, any_of, at_least, level: Option<RiskLevel>, raises_flag, action,
//!   source }`; [`RiskLevel`] `NoRisk < Low < Moderate < High`.
//! - Built-ins: [`BUILTIN_CODES`] (`phq9 gad7 audit audit-c dast10 cssrs-screener pcl5 bam bam-iop
//!   edeq edeqs`); `builtin(code) -> Option<InstrumentDefinition>`;
//!   `builtin_with(code, &InstrumentConfig) -> Option<InstrumentDefinition>`; [`InstrumentConfig`]
//!   `{ screening: ScreeningCutoffs, cssrs: CssrsTriage }`: [`ScreeningCutoffs`] (AUDIT-C men /
//!   women, PCL-5 probable PTSD, EDE-Q global clinical range; cited defaults, per organization in
//!   `care::MeasurementSettings`) and `screening_cutoffs(code, &ScreeningCutoffs) -> Vec<Cutoff>`.
//! - Import: `import_questionnaire(json: &str, scoring_for: &str) -> Result<InstrumentDefinition>`
//!   and `import_questionnaire_with(json, scoring_for, &InstrumentConfig)`.
//! - Scoring: `score(&InstrumentDefinition, &BTreeMap<String, i32>) -> Result<ScoreResult>`;
//!   [`ScoreResult`] `{ instrument, total: Option<f64>, subscales: Vec<(String, f64)>, band:
//!   Option<BandHit>, screens: Vec<ScreenResult>, triage: Option<RiskLevel>, flags: Vec<RiskFlag> }`.
//!   Bad responses → one `DomainError::Validation` naming every item (`missing_response`,
//!   `out_of_range`, `unknown_item`). `screens_for(&[Cutoff], total, Sex)` keeps the cut-offs
//!   for the patient's recorded sex (all of them when it is not recorded as male or female).
//! - Change: [`ChangeRule`] `{ reliable: ReliableChange (Points { points } | Index(RciConfig)),
//!   caseness, lower_is_better, source }`; `change_rule_default(code, &ScreeningCutoffs)` (PHQ-9
//!   6 / caseness 10, GAD-7 4 / 8: NHS Talking Therapies; PCL-5 10 / its probable-PTSD cut-off:
//!   National Center for PTSD); `MeasurementSettings::change_rule(code)` applies the
//!   organization's overrides; `judge(baseline, latest, &ChangeRule) -> Option<ChangeJudgement>`
//!   `{ change, rci, status: ChangeStatus (ReliableImprovement | NoReliableChange |
//!   ReliableDeterioration), case_at_baseline, recovered, reliable_recovery }` — recovery as NHS
//!   Talking Therapies defines it. [`RciConfig`] `{ sd_baseline, reliability }` with `s_diff()`,
//!   `reliable_change_points()` and `rci(baseline, latest, &RciConfig)` (Jacobson & Truax 1991).

mod builtin;
pub mod care;
mod change;
mod definition;
mod fhir;
pub mod outcomes;
mod score;

#[cfg(test)]
mod tests;

pub use builtin::{BUILTIN_CODES, CssrsTriage, InstrumentConfig, ScreeningCutoffs, builtin, builtin_with, screening_cutoffs};
pub use change::{
    ChangeJudgement, ChangeRule, ChangeStatus, RELIABLE_RCI, RciConfig, ReliableChange, caseness_default, change_rule_default, judge, rci,
    reliable_change_points_default,
};
pub use definition::{
    Aggregate, AnswerOption, CriticalRule, Cutoff, EnableWhen, InstrumentDefinition, ItemDef, RecallPeriod, RiskLevel, Scoring,
    SeverityBand, Subscale,
};
pub use fhir::{import_questionnaire, import_questionnaire_with};
pub use score::{BandHit, RiskFlag, ScoreResult, ScreenResult, score, score_keeping_risk, screens_for};

/// Deserializes an answer set (item → value), refusing an item given twice: with a plain map
/// the last answer would silently win, and a clinician would not know which one was scored.
pub fn unique_answers<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<std::collections::BTreeMap<String, i32>, D::Error> {
    struct Answers;
    impl<'de> serde::de::Visitor<'de> for Answers {
        type Value = std::collections::BTreeMap<String, i32>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of item → answer value, each item once")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut out = std::collections::BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, i32>()? {
                if out.insert(k.clone(), v).is_some() {
                    return Err(serde::de::Error::custom(format!("item {k} is answered twice")));
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(Answers)
}
