//! Import of a FHIR R4 `Questionnaire`: the clinic's licensed item wording and answer labels,
//! merged into the built-in scoring of an instrument (or scored as a plain sum if not built in).
//!
//! Read: `item[]` (nested `group` items are flattened, `display` items skipped) with `linkId`,
//! `text`, `type` (`choice`, `integer`, `boolean`), `answerOption[]` (`valueCoding{code,display}`
//! whose score is the `ordinalValue` or `itemWeight` extension, else a numeric `code`; or
//! `valueInteger`), the `minValue`/`maxValue` extensions on integer items, and `code[]` for LOINC.
use super::builtin::{InstrumentConfig, builtin_with};
use super::definition::{AnswerOption, InstrumentDefinition, ItemDef, Scoring};
use crate::error::Fields;
use crate::{DomainError, Result};
use serde_json::Value;
use std::collections::BTreeSet;

const ORDINAL_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
const ITEM_WEIGHT: &str = "http://hl7.org/fhir/StructureDefinition/itemWeight";
const MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
const LOINC: &str = "http://loinc.org";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Choice,
    Integer,
    Boolean,
}

/// One answerable item as read from the questionnaire.
#[derive(Debug)]
struct ReadItem {
    path: String,
    link_id: String,
    text: Option<String>,
    kind: Kind,
    options: Vec<AnswerOption>,
    min: Option<i32>,
    max: Option<i32>,
}

impl ReadItem {
    /// The range the questionnaire itself declares: from its options, or its min/max extensions.
    fn range(&self) -> Option<(i32, i32)> {
        if self.options.is_empty() {
            Some((self.min?, self.max?))
        } else {
            let lo = self.options.iter().map(|o| o.value).min()?;
            let hi = self.options.iter().map(|o| o.value).max()?;
            Some((lo, hi))
        }
    }
}

/// Reads a FHIR R4 Questionnaire and merges its wording into the built-in instrument
/// `scoring_for` (default configuration). See [`import_questionnaire_with`].
pub fn import_questionnaire(json: &str, scoring_for: &str) -> Result<InstrumentDefinition> {
    import_questionnaire_with(json, scoring_for, &InstrumentConfig::default())
}

/// Reads a FHIR R4 Questionnaire. When `scoring_for` names a built-in instrument, the built-in
/// items, scoring, bands and rules are kept and the questionnaire supplies item text and answer
/// labels; every built-in item must be present and every option must score inside the built-in
/// range; extra items are kept unscored and optional. Otherwise the questionnaire becomes a
/// plain-sum instrument with code `scoring_for`, every answerable item required and scored.
/// `enableWhen` and `required` in the file are not read: the built-in definition governs them.
/// Malformed questionnaires are refused with one `Validation` error naming every problem.
pub fn import_questionnaire_with(json: &str, scoring_for: &str, cfg: &InstrumentConfig) -> Result<InstrumentDefinition> {
    let doc: Value =
        serde_json::from_str(json).map_err(|e| DomainError::field("questionnaire", "invalid_json", &format!("is not JSON: {e}")))?;
    if doc.get("resourceType").and_then(Value::as_str) != Some("Questionnaire") {
        return Err(DomainError::field("resourceType", "not_a_questionnaire", "must be \"Questionnaire\""));
    }
    let mut f = Fields::new();
    let mut read = Vec::new();
    match doc.get("item").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => read_items(items, "item", &mut read, &mut f),
        _ => f.push("item", "required", "a questionnaire needs at least one item"),
    }
    let mut seen = BTreeSet::new();
    for r in &read {
        if !seen.insert(r.link_id.clone()) {
            f.push(&format!("{}.linkId", r.path), "duplicate_link_id", &format!("linkId {} appears more than once", r.link_id));
        }
    }
    let loinc = read_loinc(&doc);
    let title = doc.get("title").or_else(|| doc.get("name")).and_then(Value::as_str).map(str::to_string);

    let def = match builtin_with(scoring_for, cfg) {
        Some(b) => merge_into_builtin(b, &read, loinc, &mut f),
        None => plain_sum(scoring_for, title, &doc, &read, loinc, &mut f),
    };
    f.finish()?;
    def.validate()?;
    Ok(def)
}

fn read_loinc(doc: &Value) -> Option<String> {
    doc.get("code")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(LOINC))
        .and_then(|c| c.get("code"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn read_items(items: &[Value], path: &str, out: &mut Vec<ReadItem>, f: &mut Fields) {
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        if !item.is_object() {
            f.push(&path, "invalid_item", "must be an object");
            continue;
        }
        let kind = match item.get("type").and_then(Value::as_str) {
            Some("group") => {
                if let Some(children) = item.get("item").and_then(Value::as_array) {
                    read_items(children, &format!("{path}.item"), out, f);
                }
                continue;
            }
            Some("display") => continue,
            Some("choice") | Some("coding") => Kind::Choice,
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            Some(other) => {
                f.push(
                    &format!("{path}.type"),
                    "unsupported_type",
                    &format!("type {other} cannot be scored (use choice, integer or boolean)"),
                );
                continue;
            }
            None => {
                f.push(&format!("{path}.type"), "required", "every item needs a type");
                continue;
            }
        };
        let link_id = match item.get("linkId").and_then(Value::as_str).map(str::trim) {
            Some(l) if !l.is_empty() => l.to_string(),
            _ => {
                f.push(&format!("{path}.linkId"), "required", "every item needs a linkId");
                continue;
            }
        };
        let text = item.get("text").and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let mut r = ReadItem { path: path.clone(), link_id, text, kind, options: Vec::new(), min: None, max: None };
        match kind {
            Kind::Choice => match item.get("answerOption").and_then(Value::as_array) {
                Some(opts) if !opts.is_empty() => {
                    for (j, o) in opts.iter().enumerate() {
                        let opath = format!("{path}.answerOption[{j}]");
                        if let Some(opt) = f.take(&opath, read_option(o)) {
                            r.options.push(opt);
                        }
                    }
                }
                _ => f.push(&format!("{path}.answerOption"), "required", "a choice item needs answerOption entries"),
            },
            Kind::Boolean => {
                r.options = vec![AnswerOption { value: 0, label: "No".into() }, AnswerOption { value: 1, label: "Yes".into() }];
            }
            Kind::Integer => {
                r.min = f.take(&format!("{path}.extension"), extension_int(item, MIN_VALUE)).flatten();
                r.max = f.take(&format!("{path}.extension"), extension_int(item, MAX_VALUE)).flatten();
                if let (Some(lo), Some(hi)) = (r.min, r.max)
                    && lo > hi
                {
                    f.push(&format!("{path}.extension"), "invalid_range", &format!("minValue {lo} is above maxValue {hi}"));
                }
            }
        }
        out.push(r);
    }
}

/// A whole number from a JSON number (FHIR decimals such as `2.0` are accepted; `2.5` is not).
fn whole(v: &Value) -> Option<i32> {
    if let Some(i) = v.as_i64() {
        return i32::try_from(i).ok();
    }
    let x = v.as_f64()?;
    (x.fract() == 0.0 && x >= f64::from(i32::MIN) && x <= f64::from(i32::MAX)).then_some(x as i32)
}

/// The integer value of extension `url` on `element`, if present.
fn extension_int(element: &Value, url: &str) -> Result<Option<i32>> {
    let Some(ext) = element
        .get("extension")
        .and_then(Value::as_array)
        .and_then(|e| e.iter().find(|x| x.get("url").and_then(Value::as_str) == Some(url)))
    else {
        return Ok(None);
    };
    let v = ext.get("valueInteger").or_else(|| ext.get("valueDecimal"));
    match v.and_then(whole) {
        Some(n) => Ok(Some(n)),
        None => Err(DomainError::field("extension", "invalid_number", &format!("{url} must carry a whole number"))),
    }
}

fn read_option(o: &Value) -> Result<AnswerOption> {
    if let Some(n) = o.get("valueInteger") {
        return whole(n)
            .map(|value| AnswerOption { value, label: value.to_string() })
            .ok_or_else(|| DomainError::field("answerOption", "invalid_number", "valueInteger must be a whole number"));
    }
    let Some(coding) = o.get("valueCoding").filter(|c| c.is_object()) else {
        return Err(DomainError::field("answerOption", "unsupported_option", "needs a valueCoding or valueInteger"));
    };
    let code = coding.get("code").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let display = coding.get("display").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if code.is_empty() && display.is_empty() {
        return Err(DomainError::field("answerOption", "required", "valueCoding needs a code or display"));
    }
    // The score: ordinalValue or itemWeight on the option or on its coding, else a numeric code.
    let mut value = None;
    for element in [o, coding] {
        for url in [ORDINAL_VALUE, ITEM_WEIGHT] {
            if value.is_none() {
                value = extension_int(element, url)?;
            }
        }
    }
    let value = match value.or_else(|| code.parse::<i32>().ok()) {
        Some(v) => v,
        None => {
            return Err(DomainError::field(
                "answerOption",
                "no_ordinal_value",
                &format!("option {code:?} has no score: add an ordinalValue or itemWeight extension, or use a numeric code"),
            ));
        }
    };
    let label = if display.is_empty() { code } else { display };
    Ok(AnswerOption { value, label: label.to_string() })
}

fn merge_into_builtin(mut def: InstrumentDefinition, read: &[ReadItem], loinc: Option<String>, f: &mut Fields) -> InstrumentDefinition {
    for item in &mut def.items {
        let Some(r) = read.iter().find(|r| r.link_id == item.link_id) else {
            f.push(&format!("item/{}", item.link_id), "missing_item", &format!("{} needs an item with linkId {}", def.name, item.link_id));
            continue;
        };
        for (j, o) in r.options.iter().enumerate() {
            if !item.accepts(o.value) {
                f.push(
                    &format!("{}.answerOption[{j}]", r.path),
                    "option_out_of_range",
                    &format!("scores {} but {} item {} takes {}–{}", o.value, def.name, item.link_id, item.min, item.max),
                );
            }
        }
        if r.kind == Kind::Integer
            && let Some((lo, hi)) = r.range()
            && (lo < item.min || hi > item.max)
        {
            f.push(
                &format!("{}.extension", r.path),
                "range_mismatch",
                &format!("declares {lo}–{hi} but {} item {} takes {}–{}", def.name, item.link_id, item.min, item.max),
            );
        }
        if let Some(t) = &r.text {
            item.label = t.clone();
        }
        if !r.options.is_empty() {
            item.options = r.options.clone();
        }
    }
    // Items the built-in scoring does not know (e.g. a "how difficult" follow-up) are kept, unscored and optional.
    let extras: Vec<&ReadItem> = read.iter().filter(|r| def.item(&r.link_id).is_none()).collect();
    for r in extras {
        let (min, max) = r.range().unwrap_or((i32::MIN, i32::MAX));
        let mut extra = ItemDef::scale(&r.link_id, r.text.as_deref().unwrap_or(&r.link_id), min, max).unscored().optional();
        extra.options = r.options.clone();
        def.items.push(extra);
    }
    match (&def.loinc, loinc) {
        (Some(ours), Some(theirs)) if *ours != theirs => {
            f.push("code", "loinc_mismatch", &format!("LOINC {theirs} is not {} (LOINC {ours})", def.name));
        }
        (None, Some(theirs)) => def.loinc = Some(theirs),
        _ => {}
    }
    def
}

fn plain_sum(
    code: &str,
    title: Option<String>,
    doc: &Value,
    read: &[ReadItem],
    loinc: Option<String>,
    f: &mut Fields,
) -> InstrumentDefinition {
    if code.trim().is_empty() {
        f.push("scoring_for", "required", "name the instrument this questionnaire is scored as");
    }
    let mut items = Vec::new();
    for r in read {
        match r.range() {
            Some((min, max)) => {
                let mut item = ItemDef::scale(&r.link_id, r.text.as_deref().unwrap_or(&r.link_id), min, max);
                item.options = r.options.clone();
                items.push(item);
            }
            // A choice item without usable options was already reported.
            None if r.kind != Kind::Integer => {}
            None => f.push(
                &format!("{}.extension", r.path),
                "missing_range",
                "an integer item needs minValue and maxValue extensions to be scored",
            ),
        }
    }
    let url = doc.get("url").and_then(Value::as_str).unwrap_or("(no url)");
    InstrumentDefinition {
        code: code.trim().to_string(),
        name: title.unwrap_or_else(|| code.trim().to_string()),
        items,
        scoring: Scoring::Sum,
        bands: Vec::new(),
        cutoffs: Vec::new(),
        critical_items: Vec::new(),
        loinc,
        total_loinc: None,
        recall_period: None,
        source: format!("imported FHIR Questionnaire {url}, scored as a plain sum"),
    }
}
