//! Clinic stories for the instrument engine. Every expected number is worked by hand in a comment.
use super::*;
use crate::DomainError;
use std::collections::BTreeMap;

fn def(code: &str) -> InstrumentDefinition {
    builtin(code).expect("built-in instrument")
}

/// Answers to items "1", "2", … in order.
fn in_order(values: &[i32]) -> BTreeMap<String, i32> {
    values.iter().enumerate().map(|(i, v)| ((i + 1).to_string(), *v)).collect()
}

fn answers(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

/// (field, code) of every field error, or a panic if the error is not a validation error.
fn field_errors(e: DomainError) -> Vec<(String, String)> {
    match e {
        DomainError::Validation(errs) => errs.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn every_builtin_instrument_is_a_consistent_definition() {
    for code in BUILTIN_CODES {
        let d = def(code);
        assert_eq!(d.code, code);
        d.validate().unwrap_or_else(|e| panic!("{code}: {e:?}"));
    }
    assert!(builtin("not-an-instrument").is_none());
    assert_eq!(def("phq9").items.len(), 9);
    assert_eq!(def("gad7").items.len(), 7);
    assert_eq!(def("audit").items.len(), 10);
    assert_eq!(def("audit-c").items.len(), 3);
    assert_eq!(def("dast10").items.len(), 10);
    assert_eq!(def("cssrs-screener").items.len(), 7, "six questions and the lifetime behaviour");
    assert_eq!(def("pcl5").items.len(), 20);
    assert_eq!(def("bam").items.len(), 17 + 6); // 1–17 with item 7 split into 7A–7G
    assert_eq!(def("edeq").items.len(), 28);
    assert_eq!(def("edeqs").items.len(), 12);
    assert_eq!(def("phq9").loinc.as_deref(), Some("44249-1"));
    assert_eq!(def("phq9").total_loinc.as_deref(), Some("44261-6"));
    assert_eq!(def("gad7").loinc.as_deref(), Some("69737-5"));
    assert_eq!(def("gad7").total_loinc.as_deref(), Some("70274-6"));
    assert_eq!(def("bam").recall_period, Some(RecallPeriod::Days(30)));
    assert_eq!(def("bam-iop").recall_period, Some(RecallPeriod::Days(7)));
}

#[test]
fn maria_intake_phq9_scores_nine_mild_and_no_risk_flag() {
    // 1+2+1+2+1+0+1+1+0 = 9 → mild (5–9); item 9 = 0 → no flag
    let r = score(&def("phq9"), &in_order(&[1, 2, 1, 2, 1, 0, 1, 1, 0])).expect("scores");
    assert_eq!(r.total, Some(9.0));
    assert_eq!(r.band, Some(BandHit { label: "mild".into(), level: 1 }));
    assert!(r.flags.is_empty());
    assert_eq!(r.triage, None);
}

/// PHQ-9 answers that add up to `total`: items 1–8 filled up to 3 each, the rest on item 9.
fn phq9_totalling(total: i32) -> BTreeMap<String, i32> {
    let mut left = total;
    let values: Vec<i32> = (0..9)
        .map(|_| {
            let v = left.min(3);
            left -= v;
            v
        })
        .collect();
    in_order(&values)
}

#[test]
fn phq9_band_edges_are_exact() {
    let d = def("phq9");
    let expected = [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ];
    for (total, label) in expected {
        let r = score(&d, &phq9_totalling(total)).expect("scores");
        assert_eq!(r.total, Some(f64::from(total)));
        assert_eq!(r.band.map(|b| b.label).as_deref(), Some(label), "PHQ-9 total {total}");
    }
}

#[test]
fn phq9_item_nine_answered_one_raises_same_day_suicide_follow_up() {
    // All zero except item 9 = 1: total 1, minimal, but the flag is raised.
    let r = score(&def("phq9"), &in_order(&[0, 0, 0, 0, 0, 0, 0, 0, 1])).expect("scores");
    assert_eq!(r.total, Some(1.0));
    assert_eq!(r.band.as_ref().map(|b| b.label.as_str()), Some("minimal"));
    let flag = r.flag("suicide_risk").expect("flag raised");
    assert_eq!(flag.items, vec!["9".to_string()]);
    assert_eq!(flag.level, None, "PHQ-9 screens; the level is for a C-SSRS to assess");
    assert!(flag.action.contains("same day"));
}

#[test]
fn incomplete_phq9_is_refused_naming_every_missing_and_impossible_answer() {
    // Item 3 missing, item 5 = 4 (max 3), item 9 = -1, plus an answer to an item that does not exist.
    let mut a = in_order(&[1, 1, 1, 1, 4, 1, 1, 1, -1]);
    a.remove("3");
    a.insert("12".into(), 2);
    let errs = field_errors(score(&def("phq9"), &a).expect_err("refused"));
    assert!(errs.contains(&("3".into(), "missing_response".into())));
    assert!(errs.contains(&("5".into(), "out_of_range".into())));
    assert!(errs.contains(&("9".into(), "out_of_range".into())));
    assert!(errs.contains(&("12".into(), "unknown_item".into())));
    assert_eq!(errs.len(), 4);
}

#[test]
fn gad7_scores_and_band_edges() {
    // 2+2+1+1+1+1+2 = 10 → moderate (10–14)
    let d = def("gad7");
    let r = score(&d, &in_order(&[2, 2, 1, 1, 1, 1, 2])).expect("scores");
    assert_eq!(r.total, Some(10.0));
    assert_eq!(r.band.map(|b| b.label).as_deref(), Some("moderate"));
    // Edges: 4 = 3+1, 5 = 3+2, 9 = 3+3+3, 14 = 3·4+2, 15 = 3·5, 21 = 3·7
    for (values, label) in [
        ([3, 1, 0, 0, 0, 0, 0], "minimal"),
        ([3, 2, 0, 0, 0, 0, 0], "mild"),
        ([3, 3, 3, 0, 0, 0, 0], "mild"),
        ([3, 3, 3, 3, 2, 0, 0], "moderate"),
        ([3, 3, 3, 3, 3, 0, 0], "severe"),
        ([3, 3, 3, 3, 3, 3, 3], "severe"),
    ] {
        let r = score(&d, &in_order(&values)).expect("scores");
        assert_eq!(r.band.map(|b| b.label).as_deref(), Some(label), "{values:?}");
    }
}

#[test]
fn audit_puts_twelve_points_in_zone_two_and_refuses_a_one_on_item_nine() {
    // Items 1–8: 2+1+1+0+1+0+1+0 = 6; item 9 = 2, item 10 = 4 → 12 → zone II (8–15)
    let d = def("audit");
    let r = score(&d, &in_order(&[2, 1, 1, 0, 1, 0, 1, 0, 2, 4])).expect("scores");
    assert_eq!(r.total, Some(12.0));
    assert_eq!(r.band.map(|b| (b.label, b.level)), Some(("zone II".into(), 1)));
    // Items 9 and 10 score only 0, 2 or 4.
    let errs = field_errors(score(&d, &in_order(&[2, 1, 1, 0, 1, 0, 1, 0, 1, 3])).expect_err("refused"));
    assert_eq!(errs, vec![("9".into(), "out_of_range".into()), ("10".into(), "out_of_range".into())]);
    // Edges: 7 → I, 8 → II, 16 → III, 20 → IV, 40 → IV
    for (values, label) in [
        ([4, 3, 0, 0, 0, 0, 0, 0, 0, 0], "zone I"),
        ([4, 4, 0, 0, 0, 0, 0, 0, 0, 0], "zone II"),
        ([4, 4, 4, 4, 0, 0, 0, 0, 0, 0], "zone III"),
        ([4, 4, 4, 4, 4, 0, 0, 0, 0, 0], "zone IV"),
        ([4, 4, 4, 4, 4, 4, 4, 4, 4, 4], "zone IV"),
    ] {
        let r = score(&d, &in_order(&values)).expect("scores");
        assert_eq!(r.band.map(|b| b.label).as_deref(), Some(label), "{values:?}");
    }
}

#[test]
fn audit_c_three_is_positive_for_women_only_and_cutoffs_are_configurable() {
    // 2+1+0 = 3 → women (≥3) positive, men (≥4) negative
    let r = score(&def("audit-c"), &in_order(&[2, 1, 0])).expect("scores");
    assert_eq!(r.total, Some(3.0));
    assert_eq!(r.screen("positive_women"), Some(true));
    assert_eq!(r.screen("positive_men"), Some(false));
    // 2+1+1 = 4 → both positive
    let r = score(&def("audit-c"), &in_order(&[2, 1, 1])).expect("scores");
    assert_eq!((r.screen("positive_men"), r.screen("positive_women")), (Some(true), Some(true)));
    // A clinic that uses ≥5 for men
    let cfg = InstrumentConfig { screening: ScreeningCutoffs { audit_c_positive_men: 5.0, ..Default::default() }, ..Default::default() };
    let d = builtin_with("audit-c", &cfg).expect("built in");
    assert_eq!(score(&d, &in_order(&[2, 1, 1])).expect("scores").screen("positive_men"), Some(false));
}

#[test]
fn audit_c_applies_the_cut_off_for_the_recorded_sex_and_both_when_not_recorded() {
    use crate::patients::Sex;
    let cutoffs = def("audit-c").cutoffs;
    let pick =
        |sex: Sex| -> Vec<(String, bool)> { screens_for(&cutoffs, Some(3.0), sex).into_iter().map(|s| (s.code, s.positive)).collect() };
    // A total of 3: positive for a woman (≥ 3), negative for a man (≥ 4)
    assert_eq!(pick(Sex::Female), vec![("positive_women".to_string(), true)]);
    assert_eq!(pick(Sex::Male), vec![("positive_men".to_string(), false)]);
    // Sex not recorded (or intersex): both cut-offs, each saying whom it is for
    let both = screens_for(&cutoffs, Some(3.0), Sex::Unknown);
    assert_eq!(
        both.iter().map(|s| (s.code.as_str(), s.sex)).collect::<Vec<_>>(),
        vec![("positive_men", Some(Sex::Male)), ("positive_women", Some(Sex::Female))]
    );
    assert_eq!(pick(Sex::Intersex).len(), 2);
    // No total (an incomplete result): no screen at all
    assert!(screens_for(&cutoffs, None, Sex::Female).is_empty());
}

#[test]
fn dast10_all_no_still_scores_one_point_from_reverse_scored_item_three() {
    // All "no" (0): item 3 reversed = 0 + 1 − 0 = 1 → total 1 → low (1–2)
    let d = def("dast10");
    let r = score(&d, &in_order(&[0; 10])).expect("scores");
    assert_eq!(r.total, Some(1.0));
    assert_eq!(r.band.map(|b| b.label).as_deref(), Some("low"));
    // Yes to 1 and 2, no to item 3: 1 + 1 + 1 = 3 → moderate (3–5)
    let r = score(&d, &in_order(&[1, 1, 0, 0, 0, 0, 0, 0, 0, 0])).expect("scores");
    assert_eq!(r.total, Some(3.0));
    assert_eq!(r.band.map(|b| b.label).as_deref(), Some("moderate"));
    // Yes to everything: nine points, item 3 yes reversed to 0 → 9 → severe (9–10)
    let r = score(&d, &in_order(&[1; 10])).expect("scores");
    assert_eq!(r.total, Some(9.0));
    assert_eq!(r.band.map(|b| b.label).as_deref(), Some("severe"));
    // Yes to everything except item 3 (no → 1): 10 → severe; the only way to reach 10
    let r = score(&d, &in_order(&[1, 1, 0, 1, 1, 1, 1, 1, 1, 1])).expect("scores");
    assert_eq!(r.total, Some(10.0));
    // "None" needs a "yes" on item 3 and "no" elsewhere: 0 → none
    let r = score(&d, &in_order(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0])).expect("scores");
    assert_eq!(r.band.map(|b| b.label).as_deref(), Some("none"));
    // A yes/no item refuses 2.
    let errs = field_errors(score(&d, &in_order(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0])).expect_err("refused"));
    assert_eq!(errs, vec![("3".into(), "out_of_range".into())]);
}

#[test]
fn cssrs_screener_triage_levels() {
    let d = def("cssrs-screener");
    // No to 1, 2 and 6 (3–5 are skipped when 2 is no) → no risk, no flag
    let r = score(&d, &answers(&[("1", 0), ("2", 0), ("6", 0)])).expect("scores");
    assert_eq!(r.triage, Some(RiskLevel::NoRisk));
    assert!(r.flags.is_empty());
    assert_eq!(r.total, None);
    // Wish to be dead only → low: flagged too, for review at the next contact (Columbia triage)
    let r = score(&d, &answers(&[("1", 1), ("2", 0), ("6", 0)])).expect("scores");
    assert_eq!(r.triage, Some(RiskLevel::Low));
    assert_eq!(r.flag("suicide_risk").and_then(|f| f.level), Some(RiskLevel::Low));
    // Behaviour more than 3 months ago (lifetime) → moderate
    let r = score(&d, &answers(&[("1", 0), ("2", 0), ("6", 0), ("6L", 1)])).expect("scores");
    assert_eq!(r.triage, Some(RiskLevel::Moderate));
    // Thoughts with a method → moderate, flagged
    let r = score(&d, &answers(&[("1", 1), ("2", 1), ("3", 1), ("4", 0), ("5", 0), ("6", 0)])).expect("scores");
    assert_eq!(r.triage, Some(RiskLevel::Moderate));
    let flag = r.flag("suicide_risk").expect("flagged");
    assert_eq!(flag.level, Some(RiskLevel::Moderate));
    // Every "yes" involved is named, the highest level first.
    assert_eq!(flag.items, vec!["3".to_string(), "1".to_string(), "2".to_string()]);
    // Method and intent → high; one flag at the highest level naming both items
    let r = score(&d, &answers(&[("1", 1), ("2", 1), ("3", 1), ("4", 1), ("5", 0), ("6", 0)])).expect("scores");
    assert_eq!(r.triage, Some(RiskLevel::High));
    assert_eq!(r.flags.len(), 1);
    assert_eq!(r.flags[0].level, Some(RiskLevel::High));
    assert_eq!(r.flags[0].items[..2], ["4".to_string(), "3".to_string()]);
    // Behaviour in the past 3 months alone → high
    let r = score(&d, &answers(&[("1", 0), ("2", 0), ("6", 1)])).expect("scores");
    assert_eq!(r.triage, Some(RiskLevel::High));
    // Active thoughts but 3–5 not asked → refused, naming 3, 4 and 5
    let errs = field_errors(score(&d, &answers(&[("1", 1), ("2", 1), ("6", 0)])).expect_err("refused"));
    assert_eq!(
        errs,
        vec![("3".into(), "missing_response".into()), ("4".into(), "missing_response".into()), ("5".into(), "missing_response".into())]
    );
}

#[test]
fn cssrs_triage_rules_are_configurable_data() {
    // A clinic that flags from low upwards (the default, after Columbia's triage).
    let cfg =
        InstrumentConfig { cssrs: CssrsTriage { flag_from: RiskLevel::Low, ..CssrsTriage::default() }, ..InstrumentConfig::default() };
    let d = builtin_with("cssrs-screener", &cfg).expect("built in");
    let r = score(&d, &answers(&[("1", 1), ("2", 0), ("6", 0)])).expect("scores");
    assert_eq!(r.flag("suicide_risk").and_then(|f| f.level), Some(RiskLevel::Low));
}

#[test]
fn pcl5_probable_ptsd_from_thirty_three_by_default() {
    let d = def("pcl5");
    // Thirteen 2s and seven 1s: 26 + 7 = 33 → positive
    let mut values = vec![2; 13];
    values.extend([1; 7]);
    let r = score(&d, &in_order(&values)).expect("scores");
    assert_eq!(r.total, Some(33.0));
    assert_eq!(r.screen("probable_ptsd"), Some(true));
    // Twelve 2s and eight 1s: 24 + 8 = 32 → negative
    let mut values = vec![2; 12];
    values.extend([1; 8]);
    let r = score(&d, &in_order(&values)).expect("scores");
    assert_eq!(r.total, Some(32.0));
    assert_eq!(r.screen("probable_ptsd"), Some(false));
    // …but positive for a clinic that uses 31
    let cfg = InstrumentConfig { screening: ScreeningCutoffs { pcl5_probable_ptsd: 31.0, ..Default::default() }, ..Default::default() };
    let r = score(&builtin_with("pcl5", &cfg).expect("built in"), &in_order(&values)).expect("scores");
    assert_eq!(r.screen("probable_ptsd"), Some(true));
}

/// A weekly BAM worked by hand (VA numbering).
fn bam_week() -> BTreeMap<String, i32> {
    answers(&[
        ("1", 2),
        ("2", 3),
        ("3", 1),
        ("4", 1),
        ("5", 0),
        ("6", 2),
        ("7A", 2),
        ("7B", 0),
        ("7C", 0),
        ("7D", 0),
        ("7E", 0),
        ("7F", 0),
        ("7G", 0),
        ("8", 2),
        ("9", 3),
        ("10", 4),
        ("11", 1),
        ("12", 2),
        ("13", 0),
        ("14", 4),
        ("15", 1),
        ("16", 3),
        ("17", 3),
    ])
}

#[test]
fn bam_iop_week_subscales_worked_by_hand() {
    // Use        = 4+5+6             = 1+0+2         = 3
    // Risk       = 1+2+3+8+11+15     = 2+3+1+2+1+1   = 10
    // Protective = 9+10+12+13+14+16  = 3+4+2+0+4+3   = 16
    // 7A (2) and 17 (3) count nowhere; the BAM has no total.
    let r = score(&def("bam-iop"), &bam_week()).expect("scores");
    assert_eq!(r.subscales, vec![("use".into(), 3.0), ("risk".into(), 10.0), ("protective".into(), 16.0)]);
    assert_eq!(r.total, None);
    assert_eq!(r.band, None);
}

#[test]
fn bam_asks_seven_a_to_g_only_after_drug_use() {
    let d = def("bam");
    // Item 6 > 0 without 7A–G → each of the seven named
    let mut a = bam_week();
    for l in ["7A", "7B", "7C", "7D", "7E", "7F", "7G"] {
        a.remove(l);
    }
    let errs = field_errors(score(&d, &a).expect_err("refused"));
    assert_eq!(errs.len(), 7);
    assert!(errs.iter().all(|(_, code)| code == "missing_response"));
    // No drug use → 7A–G not needed; Use = 1 + 0 + 0 = 1
    a.insert("6".into(), 0);
    let r = score(&d, &a).expect("scores");
    assert_eq!(r.subscale("use"), Some(1.0));
    // Item 14 is No (0) or Yes (4) only
    a.insert("14".into(), 2);
    assert_eq!(field_errors(score(&d, &a).expect_err("refused")), vec![("14".into(), "out_of_range".into())]);
}

#[test]
fn edeq_global_is_the_mean_of_four_subscale_means() {
    let a = answers(&[
        // Restraint 1–5: 3+2+4+1+0 = 10 / 5 = 2.0
        ("1", 3),
        ("2", 2),
        ("3", 4),
        ("4", 1),
        ("5", 0),
        // Shape concern 6, 8, 23, 10, 26, 27, 28, 11: 4+3+4+2+3+2+1+5 = 24 / 8 = 3.0
        ("6", 4),
        ("8", 3),
        ("10", 2),
        ("11", 5),
        ("23", 4),
        ("26", 3),
        ("27", 2),
        ("28", 1),
        // Eating concern 7, 9, 19, 21, 20: 1+2+0+1+3 = 7 / 5 = 1.4
        ("7", 1),
        ("9", 2),
        ("19", 0),
        ("20", 3),
        ("21", 1),
        // Weight concern 22, 24, 8, 25, 12: 3+2+3+4+3 = 15 / 5 = 3.0 (item 8 counted again)
        ("12", 3),
        ("22", 3),
        ("24", 2),
        ("25", 4),
        // Frequency items 13–18: recorded, not scored
        ("13", 6),
        ("14", 4),
        ("15", 3),
        ("16", 0),
        ("17", 0),
        ("18", 12),
    ]);
    // Global = (2.0 + 1.4 + 3.0 + 3.0) / 4 = 9.4 / 4 = 2.35 → below the clinical range (≥ 4)
    let r = score(&def("edeq"), &a).expect("scores");
    let sub = |n: &str| r.subscale(n).expect("subscale");
    assert!(close(sub("restraint"), 2.0));
    assert!(close(sub("eating_concern"), 1.4));
    assert!(close(sub("shape_concern"), 3.0));
    assert!(close(sub("weight_concern"), 3.0));
    assert!(close(r.total.expect("global"), 2.35));
    assert_eq!(r.screen("clinical_range"), Some(false));
    // A service using 2.3 (community samples of young women) counts it
    let cfg = InstrumentConfig { screening: ScreeningCutoffs { edeq_global_clinical: 2.3, ..Default::default() }, ..Default::default() };
    assert_eq!(score(&builtin_with("edeq", &cfg).expect("built in"), &a).expect("scores").screen("clinical_range"), Some(true));
    // Items 13–18 may be left blank; a scored item may not; a 7 is impossible.
    let mut b = a.clone();
    for i in 13..=18 {
        b.remove(&i.to_string());
    }
    assert!(score(&def("edeq"), &b).is_ok());
    b.remove("8");
    b.insert("1".into(), 7);
    assert_eq!(
        field_errors(score(&def("edeq"), &b).expect_err("refused")),
        vec![("1".into(), "out_of_range".into()), ("8".into(), "missing_response".into())]
    );
}

#[test]
fn edeqs_weekly_total() {
    // 1+2+0+3+1+1+2+0+1+2+3+0 = 16 of 36
    let r = score(&def("edeqs"), &in_order(&[1, 2, 0, 3, 1, 1, 2, 0, 1, 2, 3, 0])).expect("scores");
    assert_eq!(r.total, Some(16.0));
    let errs = field_errors(score(&def("edeqs"), &in_order(&[4, 2, 0, 3, 1, 1, 2, 0, 1, 2, 3])).expect_err("refused"));
    assert_eq!(errs, vec![("1".into(), "out_of_range".into()), ("12".into(), "missing_response".into())]);
}

#[test]
fn rci_worked_from_the_formula() {
    // SD 5, r 0.84: SE = 5·√0.16 = 5·0.4 = 2.0; S_diff = √2·2.0 = 2.828427…
    // 20 → 10: (10 − 20) / 2.828427 = −3.535534
    let cfg = RciConfig { sd_baseline: 5.0, reliability: 0.84 };
    assert!(close(cfg.s_diff(), 2.0 * std::f64::consts::SQRT_2));
    assert!((rci(20.0, 10.0, &cfg) - (-3.535_533_905_932_737)).abs() < 1e-9);
    // SD 4, r 0.75: SE = 4·√0.25 = 2.0; S_diff = 2.828427…; 6 → 11: 5 / 2.828427 = 1.767767 (not reliable)
    let cfg = RciConfig { sd_baseline: 4.0, reliability: 0.75 };
    assert!((rci(6.0, 11.0, &cfg) - 1.767_766_952_966_368_8).abs() < 1e-9);
    // An unusable configuration gives NaN rather than a false "reliable", and no judgement.
    let bad = RciConfig { sd_baseline: 0.0, reliability: 0.8 };
    assert!(rci(20.0, 10.0, &bad).is_nan());
    assert!(RciConfig { sd_baseline: 5.0, reliability: 1.0 }.reliable_change_points().is_nan());
    let rule = ChangeRule { reliable: ReliableChange::Index(bad), caseness: Some(10.0), lower_is_better: true, source: "test".into() };
    assert_eq!(judge(20.0, 10.0, &rule), None);
}

fn phq9_rule() -> ChangeRule {
    change_rule_default("phq9", &ScreeningCutoffs::default()).expect("PHQ-9 has a cited rule")
}

#[test]
fn phq9_change_follows_nhs_talking_therapies_six_points_and_caseness_ten() {
    let rule = phq9_rule();
    assert_eq!((rule.reliable, rule.caseness), (ReliableChange::Points { points: 6.0 }, Some(10.0)));
    let j = |b: f64, l: f64| judge(b, l, &rule).expect("judged");
    // 16 → 10: a drop of 6 is reliable, but 10 is still a case → reliable improvement, not recovered
    let a = j(16.0, 10.0);
    assert_eq!((a.status, a.recovered, a.reliable_recovery), (ChangeStatus::ReliableImprovement, Some(false), Some(false)));
    // 16 → 9: a drop of 7, from a case to below 10 → reliable recovery
    let a = j(16.0, 9.0);
    assert_eq!((a.status, a.recovered, a.reliable_recovery), (ChangeStatus::ReliableImprovement, Some(true), Some(true)));
    assert_eq!((a.change, a.rci), (-7.0, None));
    // 11 → 9: crossed the line with a drop of 2 → recovered (the NHS definition) but not reliably
    let a = j(11.0, 9.0);
    assert_eq!((a.status, a.recovered, a.reliable_recovery), (ChangeStatus::NoReliableChange, Some(true), Some(false)));
    // 18 → 13: a drop of 5 → no reliable change
    assert_eq!(j(18.0, 13.0).status, ChangeStatus::NoReliableChange);
    // 8 → 14: a rise of 6 → reliable deterioration; 8 was not a case → recovery not judged
    let a = j(8.0, 14.0);
    assert_eq!(
        (a.status, a.case_at_baseline, a.recovered, a.reliable_recovery),
        (ChangeStatus::ReliableDeterioration, Some(false), None, None)
    );
}

#[test]
fn gad7_reliable_change_is_four_points_and_caseness_eight() {
    let rule = change_rule_default("gad7", &ScreeningCutoffs::default()).expect("GAD-7 has a cited rule");
    // 12 → 7: a drop of 5 (≥ 4) and from ≥ 8 to < 8 → reliable recovery
    let a = judge(12.0, 7.0, &rule).expect("judged");
    assert_eq!((a.status, a.reliable_recovery), (ChangeStatus::ReliableImprovement, Some(true)));
    // 12 → 8: a drop of 4 is reliable, but 8 is still a case
    let a = judge(12.0, 8.0, &rule).expect("judged");
    assert_eq!((a.status, a.recovered), (ChangeStatus::ReliableImprovement, Some(false)));
    // 10 → 7: a drop of 3 → not reliable; recovered, not reliably
    let a = judge(10.0, 7.0, &rule).expect("judged");
    assert_eq!((a.status, a.recovered, a.reliable_recovery), (ChangeStatus::NoReliableChange, Some(true), Some(false)));
}

#[test]
fn pcl5_change_is_ten_points_and_caseness_is_the_organizations_probable_ptsd_cut_off() {
    let rule = change_rule_default("pcl5", &ScreeningCutoffs::default()).expect("PCL-5 has a cited rule");
    assert_eq!((rule.reliable.threshold_points(), rule.caseness), (10.0, Some(33.0)));
    // 45 → 32: a drop of 13 and below 33 → reliable recovery
    assert_eq!(judge(45.0, 32.0, &rule).expect("judged").reliable_recovery, Some(true));
    // 40 → 31: a drop of 9 → not reliable by the default 10
    assert_eq!(judge(40.0, 31.0, &rule).expect("judged").status, ChangeStatus::NoReliableChange);
    // A clinic using 31 for probable PTSD: 32 is still a case
    let rule = change_rule_default("pcl5", &ScreeningCutoffs { pcl5_probable_ptsd: 31.0, ..Default::default() }).expect("rule");
    assert_eq!(judge(45.0, 32.0, &rule).expect("judged").recovered, Some(false));
}

#[test]
fn an_organization_may_judge_change_by_its_own_points_caseness_or_rci() {
    let mut s = care::MeasurementSettings::default();
    assert_eq!(s.change_rule("audit"), None, "no cited constant: not judged");
    s.reliable_change_points.insert("phq9".into(), 5.0);
    s.caseness.insert("phq9".into(), 12.0);
    let rule = s.change_rule("phq9").expect("rule");
    assert_eq!(
        (rule.reliable, rule.caseness, rule.source.as_str()),
        (ReliableChange::Points { points: 5.0 }, Some(12.0), "organization setting (points)")
    );
    // 18 → 11: a drop of 7 ≥ 5, and 11 < 12 → reliable recovery under the clinic's numbers
    assert_eq!(judge(18.0, 11.0, &rule).expect("judged").reliable_recovery, Some(true));
    // RCI numbers win over points: SD 5.7, r 0.84 → S_diff = √2·5.7·0.4 = 3.224407; 18 → 11: −7 / 3.224407 = −2.170942 → reliable
    s.rci.insert("phq9".into(), care::RciOverride { sd_baseline: 5.7, reliability: 0.84 });
    let rule = s.change_rule("phq9").expect("rule");
    let a = judge(18.0, 11.0, &rule).expect("judged");
    assert!((a.rci.expect("an index") - (-2.170_942)).abs() < 1e-5, "{a:?}");
    assert_eq!(a.status, ChangeStatus::ReliableImprovement);
    assert!((rule.reliable.threshold_points() - 6.319_837_567).abs() < 1e-6, "1.96 · 3.2244");
}

#[test]
fn the_settings_form_parses_per_instrument_constants_and_cut_offs() {
    let current = care::MeasurementSettings::default();
    let form = care::MeasurementSettingsForm {
        reliable_change_points: Some("phq9=5, gad7 = 3".into()),
        caseness: Some("phq9: 12".into()),
        audit_c_positive_women: "4".into(),
        edeq_global_clinical: "2.8".into(),
        ..Default::default()
    };
    let s = care::MeasurementSettings::parse(&form, &current).expect("parses");
    assert_eq!(s.reliable_change_points, BTreeMap::from([("gad7".to_string(), 3.0), ("phq9".to_string(), 5.0)]));
    assert_eq!(s.caseness, BTreeMap::from([("phq9".to_string(), 12.0)]));
    assert_eq!((s.screening.audit_c_positive_women, s.screening.audit_c_positive_men, s.screening.edeq_global_clinical), (4.0, 4.0, 2.8));
    // Left out: unchanged; blank: back to the cited defaults.
    let kept = care::MeasurementSettings::parse(&care::MeasurementSettingsForm::default(), &s).expect("parses");
    assert_eq!((kept.reliable_change_points.len(), kept.screening.edeq_global_clinical), (2, 2.8));
    let cleared = care::MeasurementSettings::parse(
        &care::MeasurementSettingsForm { reliable_change_points: Some(String::new()), ..Default::default() },
        &s,
    )
    .expect("parses");
    assert!(cleared.reliable_change_points.is_empty());
    // Every problem at once.
    let bad = care::MeasurementSettingsForm {
        reliable_change_points: Some("phq9=0, PHQ 9=4, gad7".into()),
        pcl5_probable_ptsd: "90".into(),
        ..Default::default()
    };
    let errs = field_errors(care::MeasurementSettings::parse(&bad, &current).expect_err("refused"));
    assert_eq!(
        errs,
        vec![
            ("reliable_change_points".into(), "out_of_range".into()),
            ("reliable_change_points".into(), "invalid_code".into()),
            ("reliable_change_points".into(), "invalid_pair".into()),
            ("pcl5_probable_ptsd".into(), "out_of_range".into()),
        ]
    );
}

#[test]
fn a_patients_bam_subscales_run_over_time_with_protective_factors_rising_as_improvement() {
    use care::{MeasurementResult, ResultContext, ResultSource, StoredScore};
    let d = def("bam-iop");
    let settings = care::MeasurementSettings::default();
    let week = |on: &str, use_: i32, protective: i32| {
        // Use items 4, 5, 6 carry `use_` on item 4; protective items 9, 10, 12, 13, 16 carry `protective` on item 9
        let mut a = bam_week();
        for (k, v) in [("4", use_), ("5", 0), ("6", 0), ("9", protective), ("10", 0), ("12", 0), ("13", 0), ("14", 0), ("16", 0)] {
            a.insert(k.into(), v);
        }
        let scored = score(&d, &a).expect("scores");
        MeasurementResult {
            id: care::ResultId::new(),
            patient_id: crate::patients::PatientId::new(),
            episode_id: crate::patients::EpisodeId::new(),
            program_id: crate::ids::ProgramId::new(),
            instrument: d.code.clone(),
            instrument_name: d.name.clone(),
            loinc: None,
            total_loinc: None,
            administered_on: on.parse().expect("date"),
            context: ResultContext::Treatment,
            source: ResultSource::Staff,
            entered_by: "test".into(),
            responses: a,
            score: StoredScore::from(&scored),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
        }
    };
    let results = [week("2024-03-04", 3, 1), week("2024-03-11", 2, 2), week("2024-03-18", 0, 4)];
    let refs: Vec<&MeasurementResult> = results.iter().collect();
    let o = outcomes::patient_outcome(&d, &refs, &settings);
    assert!(o.points.is_empty() && o.judgement.is_none(), "BAM has no total to judge");
    assert!(o.has_scores());
    let sub = |n: &str| o.subscales.iter().find(|s| s.name == n).expect("subscale");
    // Use: 3 → 0 (change −3, lower is better); protective: 1 → 4 (change +3, higher is better)
    assert_eq!(
        (sub("use").baseline.map(|p| p.total), sub("use").latest.map(|p| p.total), sub("use").change),
        (Some(3.0), Some(0.0), Some(-3.0))
    );
    assert_eq!((sub("protective").change, sub("protective").higher_is_better, sub("use").higher_is_better), (Some(3.0), true, false));
    assert_eq!(sub("protective").points.len(), 3);
    // Risk items (1, 2, 3, 8, 11, 15) are unchanged from the worked week: 10 each time
    assert_eq!(sub("risk").change, Some(0.0));
    // Maxima: use 3 items × 4 = 12; protective 6 items × 4 = 24
    assert_eq!((sub("use").max, sub("protective").max), (12.0, 24.0));
}

#[test]
fn clinic_imports_its_licensed_phq9_wording_and_scores_a_visit() {
    let json = include_str!("testdata/phq9_clinic_wording.json");
    let d = import_questionnaire(json, "phq9").expect("imports");
    // Wording and labels come from the file; scoring, bands and rules from the built-in PHQ-9.
    assert_eq!(d.item("1").map(|i| i.label.as_str()), Some("How often did your usual pastimes feel flat?"));
    assert_eq!(d.item("6").map(|i| i.options[2].label.as_str()), Some("Quite a bit"));
    assert_eq!(d.item("9").map(|i| i.options.iter().map(|o| o.value).collect::<Vec<_>>()), Some(vec![0, 1, 2, 3]));
    assert_eq!(d.bands, def("phq9").bands);
    assert_eq!(d.loinc.as_deref(), Some("44249-1"));
    // The extra "how much in your way" item is kept but unscored and optional.
    let extra = d.item("10").expect("extra item kept");
    assert!(!extra.scored && !extra.required);
    // 2+2+1+1+2+1+1+1+1 = 12 → moderate, item 9 = 1 → flag
    let mut a = in_order(&[2, 2, 1, 1, 2, 1, 1, 1, 1]);
    let r = score(&d, &a).expect("scores");
    assert_eq!(r.total, Some(12.0));
    assert_eq!(r.band.as_ref().map(|b| b.label.as_str()), Some("moderate"));
    assert!(r.flag("suicide_risk").is_some());
    // Answering the extra item does not change the total.
    a.insert("10".into(), 3);
    assert_eq!(score(&d, &a).expect("scores").total, Some(12.0));
}

#[test]
fn an_instrument_we_do_not_ship_imports_as_a_plain_sum() {
    let d = import_questionnaire(include_str!("testdata/sleep_checkin.json"), "sleep-checkin").expect("imports");
    assert_eq!(d.code, "sleep-checkin");
    assert_eq!(d.name, "Sleep check-in (invented)");
    assert_eq!(d.scoring, Scoring::Sum);
    // nights 0–7, naps yes/no, rested 0–2: 5 + 1 + 2 = 8
    let r = score(&d, &answers(&[("nights", 5), ("naps", 1), ("rested", 2)])).expect("scores");
    assert_eq!(r.total, Some(8.0));
    let errs = field_errors(score(&d, &answers(&[("nights", 8), ("naps", 1)])).expect_err("refused"));
    assert_eq!(errs, vec![("nights".into(), "out_of_range".into()), ("rested".into(), "missing_response".into())]);
}

#[test]
fn a_malformed_questionnaire_is_refused_with_every_problem_named() {
    let errs = field_errors(import_questionnaire(include_str!("testdata/broken.json"), "my-form").expect_err("refused"));
    for expected in [
        ("item[0].linkId", "required"),
        ("item[1].answerOption", "required"),
        ("item[2].answerOption[0]", "no_ordinal_value"),
        ("item[3].linkId", "duplicate_link_id"),
        ("item[4].type", "unsupported_type"),
    ] {
        assert!(errs.contains(&(expected.0.to_string(), expected.1.to_string())), "missing {expected:?} in {errs:?}");
    }
    let errs = field_errors(import_questionnaire(r#"{"resourceType":"Patient"}"#, "phq9").expect_err("refused"));
    assert_eq!(errs, vec![("resourceType".into(), "not_a_questionnaire".into())]);
    let errs = field_errors(import_questionnaire("not json", "phq9").expect_err("refused"));
    assert_eq!(errs[0].1, "invalid_json");
}

#[test]
fn importing_the_wrong_form_for_a_builtin_is_refused() {
    // A GAD-7-coded form with a single item, offered as PHQ-9 wording; its option scores 5.
    let json = r#"{
        "resourceType": "Questionnaire",
        "code": [{"system": "http://loinc.org", "code": "69737-5"}],
        "item": [{"linkId": "1", "type": "choice", "text": "Invented item",
                  "answerOption": [{"valueCoding": {"code": "5", "display": "Five"}}]}]
    }"#;
    let errs = field_errors(import_questionnaire(json, "phq9").expect_err("refused"));
    assert!(errs.contains(&("code".into(), "loinc_mismatch".into())));
    assert!(errs.contains(&("item[0].answerOption[0]".into(), "option_out_of_range".into())));
    for id in 2..=9 {
        assert!(errs.contains(&(format!("item/{id}"), "missing_item".into())), "item {id}");
    }
}

#[test]
fn a_positive_risk_answer_is_kept_even_when_the_rest_is_blank() {
    // PHQ-9 with only item 9 answered ("several days"): kept as incomplete, no total, flagged.
    let d = def("phq9");
    let r = score_keeping_risk(&d, &answers(&[("9", 1)])).expect("kept for its risk answer");
    assert!(!r.complete && r.total.is_none() && r.band.is_none());
    assert_eq!(r.flag("suicide_risk").map(|f| f.items.clone()), Some(vec!["9".to_string()]));
    // Blank answers without a risk answer are still refused, naming what is missing.
    assert!(score_keeping_risk(&d, &answers(&[("1", 2)])).is_err());
    // An impossible value is refused whatever else is given.
    assert!(score_keeping_risk(&d, &answers(&[("9", 7)])).is_err());
    // A C-SSRS with a "yes" to intent and the rest refused: high, acted on.
    let c = def("cssrs-screener");
    let r = score_keeping_risk(&c, &answers(&[("2", 1), ("4", 1)])).expect("kept");
    assert_eq!((r.complete, r.triage), (false, Some(RiskLevel::High)));
    // Complete answers score as before.
    assert!(
        score_keeping_risk(&d, &answers(&[("1", 0), ("2", 0), ("3", 0), ("4", 0), ("5", 0), ("6", 0), ("7", 0), ("8", 0), ("9", 0)]))
            .expect("scores")
            .complete
    );
}
