//! Demo measurement-based care: cadences for the first demo program and invented patients whose
//! PHQ-9 and GAD-7 scores tell the usual stories — recovery, slow improvement with a PHP week,
//! no change (a plan-review prompt), deterioration, a positive item 9 (a risk flag and a task),
//! and discharged patients with 30- and 90-day follow-ups. Idempotent: does nothing when the
//! organization already has cadences.
use chrono::{Duration, NaiveDate, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::ids::OrganizationId;
use openiop_domain::measurement::care::*;
use openiop_domain::measurement::{builtin, score};
use openiop_domain::patients::{
    Admission, Aftercare, Diagnosis, Discharge, DischargeKind, Episode, Icd10, LevelChange, LevelLine, PatientDetails, PatientForm,
};
use openiop_domain::programs::{LevelOfCare, Population};
use openiop_domain::{DomainError, Result, Store};
use std::collections::BTreeMap;

fn event(org: OrganizationId, action: AuditAction, what: &str) -> AuditEvent {
    AuditEvent::system("demo", action, what, None).in_org(org)
}

/// One invented patient: name, days since admission, PHQ-9 totals every two weeks (the last
/// entry is the latest), GAD-7 totals, discharge (days ago) and follow-up PHQ-9 totals at 30/90
/// days, whether item 9 was positive on the latest PHQ-9, and a PHP week (days ago) if any.
struct DemoCourse {
    first: &'static str,
    last: &'static str,
    admitted_days_ago: i64,
    phq9: &'static [i32],
    gad7: &'static [i32],
    discharged_days_ago: Option<i64>,
    follow_up: &'static [(u32, i32)],
    item9_positive: bool,
    php_from_days_ago: Option<i64>,
}

const COURSES: &[DemoCourse] = &[
    DemoCourse {
        first: "Avery",
        last: "Quinn",
        admitted_days_ago: 70,
        phq9: &[19, 16, 13, 11, 8, 6],
        gad7: &[15, 13, 10, 8, 6, 5],
        discharged_days_ago: None,
        follow_up: &[],
        item9_positive: false,
        php_from_days_ago: Some(50),
    },
    DemoCourse {
        first: "Blake",
        last: "Moreno",
        admitted_days_ago: 56,
        phq9: &[16, 17, 16, 15, 16],
        gad7: &[12, 12, 11, 12, 12],
        discharged_days_ago: None,
        follow_up: &[],
        item9_positive: false,
        php_from_days_ago: None,
    },
    DemoCourse {
        first: "Casey",
        last: "Nguyen",
        admitted_days_ago: 42,
        phq9: &[11, 13, 15, 18],
        gad7: &[9, 10, 12, 14],
        discharged_days_ago: None,
        follow_up: &[],
        item9_positive: true,
        php_from_days_ago: None,
    },
    DemoCourse {
        first: "Devon",
        last: "Abara",
        admitted_days_ago: 150,
        phq9: &[22, 18, 14, 10, 7],
        gad7: &[17, 14, 11, 8, 6],
        discharged_days_ago: Some(95),
        follow_up: &[(30, 6), (90, 5)],
        item9_positive: false,
        php_from_days_ago: None,
    },
    DemoCourse {
        first: "Emerson",
        last: "Hale",
        admitted_days_ago: 120,
        phq9: &[14, 12, 11, 9],
        gad7: &[10, 9, 8, 7],
        discharged_days_ago: Some(65),
        follow_up: &[(30, 10)],
        item9_positive: false,
        php_from_days_ago: None,
    },
    DemoCourse {
        first: "Finley",
        last: "Osei",
        admitted_days_ago: 28,
        phq9: &[17, 14, 12],
        gad7: &[13, 11, 10],
        discharged_days_ago: None,
        follow_up: &[],
        item9_positive: false,
        php_from_days_ago: None,
    },
    DemoCourse {
        first: "Harper",
        last: "Lindqvist",
        admitted_days_ago: 8,
        phq9: &[15],
        gad7: &[11],
        discharged_days_ago: None,
        follow_up: &[],
        item9_positive: false,
        php_from_days_ago: None,
    },
];

/// PHQ-9 answers that add up to `total` (items 1–8 filled first; item 9 as given).
fn phq9_answers(total: i32, item9: i32) -> BTreeMap<String, i32> {
    let mut left = (total - item9).max(0);
    let mut out = BTreeMap::new();
    for i in 1..=8 {
        let v = left.min(3);
        out.insert(i.to_string(), v);
        left -= v;
    }
    out.insert("9".into(), item9);
    out
}

fn sum_answers(items: usize, max: i32, total: i32) -> BTreeMap<String, i32> {
    let mut left = total;
    (1..=items)
        .map(|i| {
            let v = left.clamp(0, max);
            left -= v;
            (i.to_string(), v)
        })
        .collect()
}

/// Creates the demo measurement data once (see the module comment).
pub async fn ensure_demo_measurement(store: &dyn Store, org: OrganizationId) -> Result<()> {
    if !store.cadences(org, None).await?.is_empty() {
        return Ok(());
    }
    let programs = store.programs(org).await?;
    let Some(program) = programs.iter().find(|p| p.population == Population::Adult).or(programs.first()) else { return Ok(()) };
    let track = store.tracks(org, Some(program.id)).await?.into_iter().next().map(|t| t.id);
    let users = store.users(org).await?;
    let clinician = users.iter().find(|u| u.email == "therapist@demo.openiop.org").or_else(|| users.first()).map(|u| u.id);
    for (code, every, follow_up) in [("phq9", 14, true), ("gad7", 14, true), ("bam-iop", 7, false)] {
        let c = Cadence { id: CadenceId::new(), program_id: program.id, instrument: code.into(), every_days: every, follow_up };
        store.add_cadence(org, c, event(org, AuditAction::Create, "measurement_cadence")).await?;
    }
    let settings = store.measurement_settings(org).await?;
    let today = Utc::now().date_naive();
    let phq9 = builtin("phq9").ok_or_else(|| DomainError::internal("phq9 missing"))?;
    let gad7 = builtin("gad7").ok_or_else(|| DomainError::internal("gad7 missing"))?;
    for c in COURSES {
        let form = PatientForm {
            legal_first: c.first.into(),
            legal_last: c.last.into(),
            date_of_birth: "1988-03-14".into(),
            state: "NJ".into(),
            ..Default::default()
        };
        let details = PatientDetails::parse(&form, today)?;
        let patient = store.create_patient(org, program.site_id, details, true, event(org, AuditAction::Create, "patient")).await?;
        let admitted_on = today - Duration::days(c.admitted_days_ago);
        let admission = Admission {
            program_id: program.id,
            track_id: track,
            admitted_on,
            primary_clinician: clinician,
            level: LevelOfCare::iop(),
            authorized_level: Some(LevelOfCare::iop()),
            diagnoses: vec![Diagnosis {
                code: Icd10::parse("F33.1")?,
                description: "Major depressive disorder, recurrent, moderate".into(),
                primary: true,
            }],
            reason: "Demo admission".into(),
        };
        let mut episode = store.admit(org, patient.id, admission, event(org, AuditAction::Create, "episode").patient(patient.id)).await?;
        if let Some(php) = c.php_from_days_ago {
            for (level, from, reason) in
                [(LevelOfCare::php(), php, "Worsening mood; daily structure"), (LevelOfCare::iop(), php - 7, "Stable again")]
            {
                let change = LevelChange { line: LevelLine::Clinical, level, from: today - Duration::days(from), reason: reason.into() };
                episode = store
                    .change_level(org, episode.id, change, event(org, AuditAction::Update, "episode_level").patient(patient.id))
                    .await?;
            }
        }
        let last = c.phq9.len().saturating_sub(1);
        for (i, total) in c.phq9.iter().enumerate() {
            let on = admitted_on + Duration::days(14 * i as i64);
            let item9 = if c.item9_positive && i == last { 1 } else { 0 };
            add(store, &episode, &phq9, phq9_answers(*total, item9), on, ResultContext::Treatment, &settings).await?;
            if let Some(g) = c.gad7.get(i) {
                add(store, &episode, &gad7, sum_answers(7, 3, *g), on, ResultContext::Treatment, &settings).await?;
            }
        }
        if let Some(days) = c.discharged_days_ago {
            let discharge = Discharge {
                date: today - Duration::days(days),
                kind: DischargeKind::Completed,
                reason: "Goals met".into(),
                next_level: Some(LevelOfCare::outpatient()),
                next_provider: "Riverbend outpatient clinic".into(),
                aftercare: Aftercare {
                    appointments: "Weekly outpatient group".into(),
                    supports: String::new(),
                    relapse_prevention: String::new(),
                },
            };
            let d = discharge.date;
            let episode =
                store.discharge(org, episode.id, discharge, event(org, AuditAction::Update, "episode").patient(patient.id)).await?;
            for (offset, total) in c.follow_up {
                let on: NaiveDate = d + Duration::days(i64::from(*offset));
                let ctx = ResultContext::FollowUp { days: *offset };
                add(store, &episode, &phq9, phq9_answers(*total, 0), on, ctx, &settings).await?;
            }
        }
    }
    Ok(())
}

async fn add(
    store: &dyn Store,
    episode: &Episode,
    def: &openiop_domain::measurement::InstrumentDefinition,
    responses: BTreeMap<String, i32>,
    on: NaiveDate,
    context: ResultContext,
    settings: &MeasurementSettings,
) -> Result<()> {
    let org = episode.organization_id;
    let scored = score(def, &responses)?;
    let now = Utc::now();
    let id = ResultId::new();
    let risk = risk_raised(&scored, episode, id, now, settings)
        .map(|(f, t)| (f, t, event(org, AuditAction::Create, "risk_flag").patient(episode.patient_id)));
    let result = MeasurementResult {
        id,
        patient_id: episode.patient_id,
        episode_id: episode.id,
        program_id: episode.program_id,
        instrument: def.code.clone(),
        instrument_name: def.name.clone(),
        loinc: def.loinc.clone(),
        total_loinc: def.total_loinc.clone(),
        administered_on: on,
        context,
        source: ResultSource::Staff,
        entered_by: "demo".into(),
        responses,
        score: StoredScore::from(&scored),
        recorded_at: now,
    };
    store
        .record_result(
            org,
            NewResult { result, risk, link: None },
            event(org, AuditAction::Create, "measurement_result").patient(episode.patient_id),
        )
        .await?;
    Ok(())
}
