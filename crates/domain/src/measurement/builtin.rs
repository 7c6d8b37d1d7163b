//! The built-in instruments: scoring facts only. Item labels are short descriptors of our own;
//! real item wording is loaded from a definition file (see `fhir.rs`).
//!
//! Sources are those listed in `shared/reference/instruments.md` (beside the repository). Thresholds that the
//! reference marks [verify] live in [`InstrumentConfig`] with the cited default.
use super::definition::{
    Aggregate, CriticalRule, Cutoff, InstrumentDefinition, ItemDef, RecallPeriod, RiskLevel, Scoring, SeverityBand, Subscale,
};
use crate::patients::Sex;
use serde::{Deserialize, Serialize};

/// Codes of every built-in instrument.
pub const BUILTIN_CODES: [&str; 11] =
    ["phq9", "gad7", "audit", "audit-c", "dast10", "cssrs-screener", "pcl5", "bam", "bam-iop", "edeq", "edeqs"];

/// Which C-SSRS screener answers put a patient at which triage level, and from which level a
/// `suicide_risk` flag is raised. Item numbers: 1 wish to be dead, 2 active thoughts, 3 method,
/// 4 intent, 5 plan, 6 suicidal behaviour in the past 3 months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CssrsTriage {
    pub high: Vec<String>,
    pub moderate: Vec<String>,
    pub low: Vec<String>,
    pub flag_from: RiskLevel,
}

impl Default for CssrsTriage {
    fn default() -> Self {
        let v = |ids: &[&str]| ids.iter().map(|s| (*s).to_string()).collect();
        Self {
            // instruments.md (C-SSRS screener triage) [verify against Columbia's triage card]: intent, plan or behaviour in 3 months → high
            high: v(&["4", "5", "6"]),
            // instruments.md (C-SSRS screener triage) [verify]: method → moderate; behaviour more than
            // 3 months ago (lifetime, item 6L) → moderate
            moderate: v(&["3", "6L"]),
            // instruments.md (C-SSRS screener triage) [verify]: wish / thoughts only → low
            low: v(&["1", "2"]),
            // Columbia triage: even low risk (wish / non-specific thoughts) gets a task: review at
            // the next contact (instruments.md, C-SSRS screener triage)
            flag_from: RiskLevel::Low,
        }
    }
}

/// Screening cut-offs over an instrument's total, per organization, each default cited. Stored in
/// the organization's measurement settings; left out of stored settings, the default applies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScreeningCutoffs {
    /// AUDIT-C positive screen for men (default 4).
    pub audit_c_positive_men: f64,
    /// AUDIT-C positive screen for women (default 3).
    pub audit_c_positive_women: f64,
    /// PCL-5 probable PTSD (default 33; the published range is 31–33).
    pub pcl5_probable_ptsd: f64,
    /// EDE-Q global score in the clinical range (default 4; some services use 2.3 or 2.8).
    pub edeq_global_clinical: f64,
}

impl Default for ScreeningCutoffs {
    fn default() -> Self {
        Self {
            // Bradley et al. 2007 (Alcohol Clin Exp Res 31:1208; after Bush et al. 1998): AUDIT-C positive at ≥ 4 for men
            audit_c_positive_men: 4.0,
            // Bradley et al. 2003 (Arch Intern Med 163:821) and 2007: AUDIT-C positive at ≥ 3 for women
            audit_c_positive_women: 3.0,
            // National Center for PTSD, "Using the PCL-5" (Blevins et al. 2015): probable PTSD at 31–33; default 33
            pcl5_probable_ptsd: 33.0,
            // Mond et al. 2006 / Carter, Stewart & Fairburn 2001 (instruments.md): EDE-Q global ≥ 4 = clinically significant range
            edeq_global_clinical: 4.0,
        }
    }
}

impl ScreeningCutoffs {
    /// Sane ranges for each cut-off on its instrument's scale.
    pub const RANGES: [(&'static str, f64, f64); 4] = [
        ("audit_c_positive_men", 1.0, 12.0),
        ("audit_c_positive_women", 1.0, 12.0),
        ("pcl5_probable_ptsd", 1.0, 80.0),
        ("edeq_global_clinical", 0.1, 6.0),
    ];
}

/// The screening cut-offs of a built-in instrument under an organization's settings (empty for
/// instruments without one).
pub fn screening_cutoffs(code: &str, c: &ScreeningCutoffs) -> Vec<Cutoff> {
    let at = |v: f64| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") };
    match code {
        "audit-c" => vec![
            Cutoff::new(
                "positive_men",
                &format!("positive screen (men, ≥ {})", at(c.audit_c_positive_men)),
                c.audit_c_positive_men,
                "Bradley et al. 2007: AUDIT-C ≥ 4 for men",
            )
            .for_sex(Sex::Male),
            Cutoff::new(
                "positive_women",
                &format!("positive screen (women, ≥ {})", at(c.audit_c_positive_women)),
                c.audit_c_positive_women,
                "Bradley et al. 2003, 2007: AUDIT-C ≥ 3 for women",
            )
            .for_sex(Sex::Female),
        ],
        "pcl5" => vec![Cutoff::new(
            "probable_ptsd",
            &format!("probable PTSD (≥ {})", at(c.pcl5_probable_ptsd)),
            c.pcl5_probable_ptsd,
            "National Center for PTSD: PCL-5 probable PTSD at 31–33",
        )],
        "edeq" => vec![Cutoff::new(
            "clinical_range",
            &format!("clinical range (global ≥ {})", at(c.edeq_global_clinical)),
            c.edeq_global_clinical,
            "Mond et al. 2006; Carter, Stewart & Fairburn 2001: EDE-Q global ≥ 4",
        )],
        _ => Vec::new(),
    }
}

/// An organization's configuration of the built-in instruments: screening cut-offs and the
/// C-SSRS triage, each with its cited default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstrumentConfig {
    pub screening: ScreeningCutoffs,
    pub cssrs: CssrsTriage,
}

/// A built-in instrument with the default configuration.
pub fn builtin(code: &str) -> Option<InstrumentDefinition> {
    builtin_with(code, &InstrumentConfig::default())
}

/// A built-in instrument with the clinic's configuration.
pub fn builtin_with(code: &str, cfg: &InstrumentConfig) -> Option<InstrumentDefinition> {
    Some(match code {
        "phq9" => phq9(),
        "gad7" => gad7(),
        "audit" => audit(),
        "audit-c" => audit_c(cfg),
        "dast10" => dast10(),
        "cssrs-screener" => cssrs_screener(&cfg.cssrs),
        "pcl5" => pcl5(cfg),
        "bam" => bam("bam", "Brief Addiction Monitor (past 30 days)", RecallPeriod::Days(30)),
        "bam-iop" => bam("bam-iop", "Brief Addiction Monitor, IOP weekly version (past 7 days)", RecallPeriod::Days(7)),
        "edeq" => edeq(cfg),
        "edeqs" => edeqs(),
        _ => return None,
    })
}

fn base(code: &str, name: &str, items: Vec<ItemDef>, scoring: Scoring, recall: RecallPeriod, source: &str) -> InstrumentDefinition {
    InstrumentDefinition {
        code: code.to_string(),
        name: name.to_string(),
        items,
        scoring,
        bands: Vec::new(),
        cutoffs: Vec::new(),
        critical_items: Vec::new(),
        loinc: None,
        total_loinc: None,
        recall_period: Some(recall),
        source: source.to_string(),
    }
}

/// Items `1..=labels.len()`, each a required scored scale `min..=max`.
fn scale_items(labels: &[&str], min: i32, max: i32) -> Vec<ItemDef> {
    labels.iter().enumerate().map(|(i, l)| ItemDef::scale(&(i + 1).to_string(), l, min, max)).collect()
}

/// Items `1..=n` labelled "Item n".
fn numbered_items(n: usize, min: i32, max: i32) -> Vec<ItemDef> {
    (1..=n).map(|i| ItemDef::scale(&i.to_string(), &format!("Item {i}"), min, max)).collect()
}

fn phq9() -> InstrumentDefinition {
    let labels = [
        "Item 1 — interest",
        "Item 2 — mood",
        "Item 3 — sleep",
        "Item 4 — energy",
        "Item 5 — appetite",
        "Item 6 — self-worth",
        "Item 7 — concentration",
        "Item 8 — psychomotor",
        "Item 9 — self-harm thoughts",
    ];
    // Kroenke, Spitzer & Williams 2001: 9 items scored 0–3, total 0–27
    let mut d = base(
        "phq9",
        "PHQ-9 (depression)",
        scale_items(&labels, 0, 3),
        Scoring::Sum,
        RecallPeriod::Weeks(2),
        "Kroenke, Spitzer & Williams 2001",
    );
    // Kroenke, Spitzer & Williams 2001: PHQ-9 bands 0–4, 5–9, 10–14, 15–19, 20–27
    d.bands = vec![
        SeverityBand::new(0.0, 4.0, "minimal", 0),
        SeverityBand::new(5.0, 9.0, "mild", 1),
        SeverityBand::new(10.0, 14.0, "moderate", 2),
        SeverityBand::new(15.0, 19.0, "moderately severe", 3),
        SeverityBand::new(20.0, 27.0, "severe", 4),
    ];
    // instruments.md: "Item 9 > 0 → suicide-risk follow-up the same day"
    d.critical_items = vec![CriticalRule {
        flag: "suicide_risk".into(),
        any_of: vec!["9".into()],
        at_least: 1,
        level: None,
        raises_flag: true,
        action: "suicide-risk follow-up the same day".into(),
        source: "instruments.md: PHQ-9 item 9 > 0 → suicide-risk follow-up the same day".into(),
    }];
    // instruments.md: LOINC panel 44249-1, total 44261-6
    d.loinc = Some("44249-1".into());
    d.total_loinc = Some("44261-6".into());
    d
}

fn gad7() -> InstrumentDefinition {
    let labels = [
        "Item 1 — nervousness",
        "Item 2 — uncontrollable worry",
        "Item 3 — worrying too much",
        "Item 4 — trouble relaxing",
        "Item 5 — restlessness",
        "Item 6 — irritability",
        "Item 7 — feeling afraid",
    ];
    // Spitzer et al. 2006: 7 items scored 0–3, total 0–21
    let mut d = base("gad7", "GAD-7 (anxiety)", scale_items(&labels, 0, 3), Scoring::Sum, RecallPeriod::Weeks(2), "Spitzer et al. 2006");
    // Spitzer et al. 2006: GAD-7 bands 0–4, 5–9, 10–14, 15–21
    d.bands = vec![
        SeverityBand::new(0.0, 4.0, "minimal", 0),
        SeverityBand::new(5.0, 9.0, "mild", 1),
        SeverityBand::new(10.0, 14.0, "moderate", 2),
        SeverityBand::new(15.0, 21.0, "severe", 3),
    ];
    // instruments.md: LOINC panel 69737-5, total 70274-6
    d.loinc = Some("69737-5".into());
    d.total_loinc = Some("70274-6".into());
    d
}

fn audit_items() -> Vec<ItemDef> {
    // Babor et al. 2001 (WHO AUDIT manual): items 1–8 score 0–4; items 9 and 10 score 0, 2 or 4
    let mut items = numbered_items(8, 0, 4);
    for i in [9, 10] {
        items.push(ItemDef::scale(&i.to_string(), &format!("Item {i}"), 0, 4).with_options(&[(0, "0"), (2, "2"), (4, "4")]));
    }
    items
}

fn audit() -> InstrumentDefinition {
    let mut d = base("audit", "AUDIT (alcohol)", audit_items(), Scoring::Sum, RecallPeriod::Years(1), "Babor et al. 2001 (WHO)");
    // Babor et al. 2001: WHO risk zones 0–7, 8–15, 16–19, 20–40
    d.bands = vec![
        SeverityBand::new(0.0, 7.0, "zone I", 0),
        SeverityBand::new(8.0, 15.0, "zone II", 1),
        SeverityBand::new(16.0, 19.0, "zone III", 2),
        SeverityBand::new(20.0, 40.0, "zone IV", 3),
    ];
    d
}

fn audit_c(cfg: &InstrumentConfig) -> InstrumentDefinition {
    // Babor et al. 2001: AUDIT-C = AUDIT items 1–3, each 0–4, total 0–12
    let items = audit_items().into_iter().take(3).collect();
    let mut d = base(
        "audit-c",
        "AUDIT-C (alcohol consumption)",
        items,
        Scoring::Sum,
        RecallPeriod::Years(1),
        "Babor et al. 2001 (WHO); cut-offs Bradley et al. 2003, 2007",
    );
    // Bradley et al. 2007: AUDIT-C positive ≥ 4 (men), ≥ 3 (women); applied by the patient's recorded sex
    d.cutoffs = screening_cutoffs("audit-c", &cfg.screening);
    // instruments.md: AUDIT-C total 75626-2 [verify]
    d.total_loinc = Some("75626-2".into());
    d
}

fn dast10() -> InstrumentDefinition {
    // instruments.md (DAST-10): 10 yes/no items, item 3 reverse-scored (No = 1), total 0–10
    let items = (1..=10)
        .map(|i| {
            let item = ItemDef::yes_no(&i.to_string(), &format!("Item {i}"));
            if i == 3 { item.reversed() } else { item }
        })
        .collect();
    let mut d =
        base("dast10", "DAST-10 (drug use)", items, Scoring::Sum, RecallPeriod::Months(12), "Skinner 1982; bands per instruments.md");
    // instruments.md (DAST-10): 0 none, 1–2 low, 3–5 moderate, 6–8 substantial, 9–10 severe
    d.bands = vec![
        SeverityBand::new(0.0, 0.0, "none", 0),
        SeverityBand::new(1.0, 2.0, "low", 1),
        SeverityBand::new(3.0, 5.0, "moderate", 2),
        SeverityBand::new(6.0, 8.0, "substantial", 3),
        SeverityBand::new(9.0, 10.0, "severe", 4),
    ];
    d
}

fn cssrs_screener(t: &CssrsTriage) -> InstrumentDefinition {
    // Posner et al. 2011 (C-SSRS screener): items 3–5 are asked only when item 2 (active thoughts) is yes
    let items = vec![
        ItemDef::yes_no("1", "Item 1 — wish to be dead").unscored(),
        ItemDef::yes_no("2", "Item 2 — active suicidal thoughts").unscored(),
        ItemDef::yes_no("3", "Item 3 — thoughts of a method").unscored().enabled_when("2", 1),
        ItemDef::yes_no("4", "Item 4 — intent").unscored().enabled_when("2", 1),
        ItemDef::yes_no("5", "Item 5 — plan").unscored().enabled_when("2", 1),
        ItemDef::yes_no("6", "Item 6 — suicidal behaviour in the past 3 months").unscored(),
        // Columbia's lifetime question: behaviour more than 3 months ago (recorded when known)
        ItemDef::yes_no("6L", "Item 6 (lifetime) — suicidal behaviour more than 3 months ago").unscored().optional(),
    ];
    let mut d = base(
        "cssrs-screener",
        "C-SSRS screener (suicide risk)",
        items,
        Scoring::TriageOnly,
        RecallPeriod::Months(1),
        "Posner et al. 2011; triage per instruments.md [verify]",
    );
    let rule = |ids: &Vec<String>, level: RiskLevel, action: &str| CriticalRule {
        flag: "suicide_risk".into(),
        any_of: ids.clone(),
        at_least: 1,
        level: Some(level),
        raises_flag: level >= t.flag_from,
        action: action.into(),
        source: "instruments.md: C-SSRS screener triage [verify against Columbia's triage card]".into(),
    };
    // instruments.md (C-SSRS screener triage) [verify]: high / moderate / low; none → no risk
    d.critical_items = vec![
        rule(&t.high, RiskLevel::High, "high suicide risk: immediate safety assessment"),
        rule(&t.moderate, RiskLevel::Moderate, "moderate suicide risk: clinician assessment and safety plan"),
        rule(&t.low, RiskLevel::Low, "low suicide risk: review at the next contact"),
    ];
    d
}

fn pcl5(cfg: &InstrumentConfig) -> InstrumentDefinition {
    // Weathers et al. 2013 (PCL-5): 20 items scored 0–4, total 0–80
    let mut d = base("pcl5", "PCL-5 (PTSD)", numbered_items(20, 0, 4), Scoring::Sum, RecallPeriod::Months(1), "Weathers et al. 2013");
    // National Center for PTSD: probable PTSD at 31–33; default 33 (configurable)
    d.cutoffs = screening_cutoffs("pcl5", &cfg.screening);
    d
}

fn bam(code: &str, name: &str, recall: RecallPeriod) -> InstrumentDefinition {
    // Cacciola et al. 2013 (VA BAM), VA item numbering kept. Items are recorded on the categorical
    // 0–4 coding (day counts grouped into 5 categories); item 14 (income) is No = 0 / Yes = 4.
    // [verify] the coding of your form version; the continuous (0–30 days) form needs its own definition.
    let labels = [
        ("1", "Item 1 — physical health"),
        ("2", "Item 2 — sleep trouble"),
        ("3", "Item 3 — low mood or anxiety"),
        ("4", "Item 4 — any alcohol"),
        ("5", "Item 5 — heavy drinking"),
        ("6", "Item 6 — any drug use"),
    ];
    let mut items: Vec<ItemDef> = labels.iter().map(|(id, l)| ItemDef::scale(id, l, 0, 4)).collect();
    // VA BAM: items 7A–G elaborate item 6 (per substance) and are not scored in any subscale
    for (letter, what) in [
        ("A", "marijuana"),
        ("B", "sedatives"),
        ("C", "cocaine"),
        ("D", "stimulants"),
        ("E", "opioids"),
        ("F", "inhalants"),
        ("G", "other drugs"),
    ] {
        items.push(ItemDef::scale(&format!("7{letter}"), &format!("Item 7{letter} — {what}"), 0, 4).unscored().enabled_when("6", 1));
    }
    let rest = [
        ("8", "Item 8 — cravings"),
        ("9", "Item 9 — confidence in abstinence"),
        ("10", "Item 10 — self-help meetings"),
        ("11", "Item 11 — risky situations"),
        ("12", "Item 12 — spiritual support"),
        ("13", "Item 13 — work, school or volunteering"),
    ];
    items.extend(rest.iter().map(|(id, l)| ItemDef::scale(id, l, 0, 4)));
    items.push(ItemDef::scale("14", "Item 14 — income for necessities", 0, 4).with_options(&[(0, "No"), (4, "Yes")]));
    items.push(ItemDef::scale("15", "Item 15 — family or social conflict", 0, 4));
    items.push(ItemDef::scale("16", "Item 16 — contact with supportive people", 0, 4));
    // VA BAM: item 17 = satisfaction with progress, not part of any subscale
    items.push(ItemDef::scale("17", "Item 17 — satisfaction with progress", 0, 4).unscored());
    // VA BAM: Use = 4+5+6; Risk = 1+2+3+8+11+15; Protective = 9+10+12+13+14+16
    let scoring = Scoring::Subscales(vec![
        Subscale::new("use", &["4", "5", "6"], Aggregate::Sum),
        Subscale::new("risk", &["1", "2", "3", "8", "11", "15"], Aggregate::Sum),
        // Cacciola et al. 2013: protective factors rise as recovery strengthens; use and risk fall
        Subscale::new("protective", &["9", "10", "12", "13", "14", "16"], Aggregate::Sum).higher_is_better(),
    ]);
    base(code, name, items, scoring, recall, "Cacciola et al. 2013 (VA BAM)")
}

fn edeq(cfg: &InstrumentConfig) -> InstrumentDefinition {
    // Fairburn & Beglin 2008 (EDE-Q 6.0): 28 items; items 13–18 are frequency counts, not in subscales
    let mut items = Vec::new();
    for i in 1..=28 {
        let item = match i {
            // EDE-Q 6.0: items 13, 14, 16, 17, 18 count episodes (times); 15 counts days out of 28. Upper bound 999 is ours.
            15 => ItemDef::scale("15", "Item 15 — frequency (days)", 0, 28).unscored().optional(),
            13 | 14 | 16 | 17 | 18 => {
                ItemDef::scale(&i.to_string(), &format!("Item {i} — frequency (times)"), 0, 999).unscored().optional()
            }
            // EDE-Q 6.0: every other item is rated 0–6
            _ => ItemDef::scale(&i.to_string(), &format!("Item {i}"), 0, 6),
        };
        items.push(item);
    }
    // Fairburn & Beglin 2008: subscale item mapping; item 8 belongs to both shape and weight concern
    let scoring = Scoring::MeanOfSubscales(vec![
        Subscale::new("restraint", &["1", "2", "3", "4", "5"], Aggregate::Mean),
        Subscale::new("eating_concern", &["7", "9", "19", "21", "20"], Aggregate::Mean),
        Subscale::new("shape_concern", &["6", "8", "23", "10", "26", "27", "28", "11"], Aggregate::Mean),
        Subscale::new("weight_concern", &["22", "24", "8", "25", "12"], Aggregate::Mean),
    ]);
    let mut d = base("edeq", "EDE-Q 6.0 (eating disorders)", items, scoring, RecallPeriod::Days(28), "Fairburn & Beglin 2008");
    // Mond et al. 2006: EDE-Q global ≥ 4 = clinical range (configurable; some services use 2.3 or 2.8)
    d.cutoffs = screening_cutoffs("edeq", &cfg.screening);
    d
}

fn edeqs() -> InstrumentDefinition {
    // Gideon et al. 2016 (EDE-QS): 12 items scored 0–3, total 0–36, past 7 days
    base("edeqs", "EDE-QS (eating disorders, short)", numbered_items(12, 0, 3), Scoring::Sum, RecallPeriod::Days(7), "Gideon et al. 2016")
}
