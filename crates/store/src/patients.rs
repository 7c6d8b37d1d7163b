//! Patients, referrals, episodes of care and consents.
use crate::audit::append;
use crate::rows::{Get, date, parse_date, ts};
use crate::{SqlStore, db_err, sql, unique_or};
use async_trait::async_trait;
use chrono::NaiveDate;
use openiop_domain::audit::AuditEvent;
use openiop_domain::ids::{OrganizationId, ProgramId, SiteId};
use openiop_domain::patients::*;
use openiop_domain::programs::{LevelOfCare, TrackId};
use openiop_domain::{DomainError, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| DomainError::Internal(format!("serialize: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| DomainError::Internal(format!("stored JSON: {e}")))
}

/// Next value of a per-organization counter (MRNs), inside the caller's transaction.
async fn next_counter(store: &SqlStore, conn: &mut AnyConnection, org: OrganizationId, name: &str) -> Result<i64> {
    store.q_n(2)?;
    let r = sqlx::query("UPDATE org_counters SET value = value + 1 WHERE organization_id = $1 AND name = $2 RETURNING value")
        .bind(org.to_string())
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if let Some(r) = r {
        return r.int("value");
    }
    sqlx::query("INSERT INTO org_counters (organization_id, name, value) VALUES ($1, $2, 1)")
        .bind(org.to_string())
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(1)
}

/// A patient's summary (preferred first name, else legal) from a row with the patients columns
/// `id, site_id, mrn, legal_first, legal_last, preferred_name, date_of_birth`.
fn summary_of(r: &AnyRow) -> Result<PatientSummary> {
    let preferred = r.text("preferred_name")?;
    let first = if preferred.is_empty() { r.text("legal_first")? } else { preferred };
    Ok(PatientSummary {
        id: r.parsed("id")?,
        site_id: r.parsed("site_id")?,
        mrn: r.text("mrn")?,
        name: format!("{first} {}", r.text("legal_last")?),
        date_of_birth: parse_date(&r.text("date_of_birth")?)?,
    })
}

/// The clinical level in force now on the latest episode `e` (its open clinical span).
const CURRENT_LEVEL: &str = "SELECT l.level_code FROM level_spans l WHERE l.episode_id = e.id AND l.line = 'clinical' \
     AND l.to_date IS NULL ORDER BY l.from_date DESC LIMIT 1";

async fn insert_patient(
    store: &SqlStore,
    conn: &mut AnyConnection,
    org: OrganizationId,
    site: SiteId,
    p: &PatientDetails,
    allow_duplicate: bool,
) -> Result<Patient> {
    // Everyone born that day, compared by folded name (case, accents, punctuation: see
    // `name_key`), inside the registering transaction.
    let born_that_day = sqlx::query("SELECT mrn, legal_first, legal_last FROM patients WHERE organization_id = $1 AND date_of_birth = $2")
        .bind(org.to_string())
        .bind(date(p.date_of_birth))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    store.q()?;
    let (first, last) = (openiop_domain::patients::name_key(&p.legal_first), openiop_domain::patients::name_key(&p.legal_last));
    let mut found = None;
    for r in &born_that_day {
        if openiop_domain::patients::name_key(&r.text("legal_first")?) == first
            && openiop_domain::patients::name_key(&r.text("legal_last")?) == last
        {
            found = Some(r);
            break;
        }
    }
    if let Some(r) = found
        && !allow_duplicate
    {
        return Err(DomainError::conflict(
            "possible_duplicate",
            format!(
                "a patient with this name and date of birth already exists (MRN {}); open that record, or confirm this is a different person",
                r.text("mrn")?
            ),
        ));
    }
    let n = next_counter(store, conn, org, "mrn").await?;
    let patient = Patient {
        id: PatientId::new(),
        organization_id: org,
        site_id: site,
        mrn: format!("{n:07}"),
        details: p.clone(),
        coverages: vec![],
        collaterals: vec![],
    };
    store.q()?;
    sqlx::query(
        "INSERT INTO patients (id, organization_id, site_id, mrn, legal_first, legal_last, preferred_name, date_of_birth, details, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(patient.id.to_string())
    .bind(org.to_string())
    .bind(site.to_string())
    .bind(&patient.mrn)
    .bind(&p.legal_first)
    .bind(&p.legal_last)
    .bind(&p.preferred_name)
    .bind(date(p.date_of_birth))
    .bind(json(p)?)
    .bind(ts(store.now()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(patient)
}

async fn insert_episode(
    store: &SqlStore,
    conn: &mut AnyConnection,
    org: OrganizationId,
    patient: PatientId,
    a: &Admission,
    referral: Option<ReferralId>,
) -> Result<EpisodeId> {
    store.q_n(3)?;
    let open = sqlx::query("SELECT id FROM episodes WHERE patient_id = $1 AND status <> 'discharged'")
        .bind(patient.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if open.is_some() {
        return Err(DomainError::conflict(
            "episode_open",
            "this patient already has an open episode of care; discharge or transfer it first",
        ));
    }
    let prog = sqlx::query("SELECT site_id FROM programs WHERE id = $1 AND organization_id = $2")
        .bind(a.program_id.to_string())
        .bind(org.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| DomainError::field("program_id", "unknown_reference", "is not a program of this organization"))?;
    let site = prog.text("site_id")?;
    if let Some(t) = a.track_id {
        store.q()?;
        let ok = sqlx::query("SELECT id FROM tracks WHERE id = $1 AND program_id = $2")
            .bind(t.to_string())
            .bind(a.program_id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        if ok.is_none() {
            return Err(DomainError::field("track_id", "unknown_reference", "is not a track of that program"));
        }
    }
    let id = EpisodeId::new();
    sqlx::query(
        "INSERT INTO episodes (id, organization_id, patient_id, program_id, site_id, track_id, admitted_on, primary_clinician_id, status, \
         reassessment_due, plan_review_due, referral_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id.to_string())
    .bind(org.to_string())
    .bind(patient.to_string())
    .bind(a.program_id.to_string())
    .bind(&site)
    .bind(a.track_id.map(|t| t.to_string()))
    .bind(date(a.admitted_on))
    .bind(a.primary_clinician.map(|u| u.to_string()))
    .bind(EpisodeStatus::Admitted.code())
    // An initial plan is due at admission (ASAM 2.1: assessment within 7 days, DC 22-A DCMR §6329).
    .bind(true)
    .bind(true)
    .bind(referral.map(|r| r.to_string()))
    .bind(ts(store.now()))
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_or(e, "episode_open", "this patient already has an open episode of care; discharge or transfer it first"))?;
    insert_diagnoses(store, conn, org, id, &a.diagnoses, 0).await?;
    let reason = if a.reason.is_empty() { "Admission".to_string() } else { a.reason.clone() };
    insert_span(store, conn, org, id, LevelLine::Clinical, &a.level, a.admitted_on, &reason).await?;
    if let Some(auth) = &a.authorized_level {
        insert_span(store, conn, org, id, LevelLine::Authorized, auth, a.admitted_on, "Initial authorization").await?;
    }
    // The patient's home site follows their care.
    sqlx::query("UPDATE patients SET site_id = $1 WHERE id = $2")
        .bind(&site)
        .bind(patient.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(id)
}

async fn insert_diagnoses(
    store: &SqlStore,
    conn: &mut AnyConnection,
    org: OrganizationId,
    episode: EpisodeId,
    d: &[Diagnosis],
    offset: i64,
) -> Result<()> {
    for (i, dx) in d.iter().enumerate() {
        store.q()?;
        sqlx::query("INSERT INTO diagnoses (id, organization_id, episode_id, code, description, is_primary, position) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(org.to_string())
            .bind(episode.to_string())
            .bind(dx.code.as_str())
            .bind(&dx.description)
            .bind(dx.primary && offset == 0)
            .bind(offset + i as i64)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_span(
    store: &SqlStore,
    conn: &mut AnyConnection,
    org: OrganizationId,
    episode: EpisodeId,
    line: LevelLine,
    level: &LevelOfCare,
    from: NaiveDate,
    reason: &str,
) -> Result<()> {
    store.q()?;
    sqlx::query(
        "INSERT INTO level_spans (id, organization_id, episode_id, line, level_edition, level_code, from_date, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(org.to_string())
    .bind(episode.to_string())
    .bind(line.code())
    .bind(&level.edition)
    .bind(&level.code)
    .bind(date(from))
    .bind(reason)
    .bind(ts(store.now()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn patient_row(r: &AnyRow) -> Result<Patient> {
    Ok(Patient {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        site_id: r.parsed("site_id")?,
        mrn: r.text("mrn")?,
        details: from_json(&r.text("details")?)?,
        coverages: vec![],
        collaterals: vec![],
    })
}

fn referral_row(r: &AnyRow) -> Result<Referral> {
    let from_level = match (r.opt_text("from_level_edition")?, r.opt_text("from_level_code")?) {
        (Some(e), Some(c)) => Some(LevelOfCare { edition: e, code: c }),
        _ => None,
    };
    Ok(Referral {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        site_id: r.parsed("site_id")?,
        program_id: r.opt_text("program_id")?.map(|s| s.parse()).transpose()?,
        source: ReferralSource::parse(&r.text("source")?)?,
        contact: from_json(&r.text("contact")?)?,
        reason: r.text("reason")?,
        urgency: Urgency::parse(&r.text("urgency")?)?,
        status: ReferralStatus::parse(&r.text("status")?)?,
        status_reason: r.text("status_reason")?,
        from_level,
        patient: from_json(&r.text("patient")?)?,
        patient_id: r.opt_text("patient_id")?.map(|s| s.parse()).transpose()?,
        received_on: parse_date(&r.text("received_on")?)?,
    })
}

const CONSENT_COLUMNS: &str = "id, patient_id, discloser, recipients, purpose, information, information_amount, expires_on, expiry_event, \
                               signed_by, signed_on, signature_method, revocation_explained, refusal_consequences_explained, \
                               redisclosure_notice_given, collateral_id, revoked_on, revoked_by, revocation_note";

fn consent_row(r: &AnyRow) -> Result<Consent> {
    Ok(Consent {
        id: r.parsed("id")?,
        patient_id: r.parsed("patient_id")?,
        discloser: r.text("discloser")?,
        recipients: r.text("recipients")?,
        purpose: r.text("purpose")?,
        information: r.text("information")?,
        information_amount: r.text("information_amount")?,
        expires_on: r.opt_text("expires_on")?.map(|s| parse_date(&s)).transpose()?,
        expiry_event: r.text("expiry_event")?,
        signed_by: r.text("signed_by")?,
        signed_on: parse_date(&r.text("signed_on")?)?,
        signature_method: openiop_domain::patients::SignatureMethod::parse(&r.text("signature_method")?)?,
        // As the patient gave them: stored, never assumed.
        revocation_explained: r.flag("revocation_explained")?,
        refusal_consequences_explained: r.flag("refusal_consequences_explained")?,
        redisclosure_notice_given: r.flag("redisclosure_notice_given")?,
        collateral_id: r.opt_text("collateral_id")?.map(|s| s.parse()).transpose()?,
        revoked_on: r.opt_text("revoked_on")?.map(|s| parse_date(&s)).transpose()?,
        revoked_by: r.text("revoked_by")?,
        revocation_note: r.text("revocation_note")?,
    })
}

const REFERRAL_COLUMNS: &str = "id, organization_id, site_id, program_id, source, contact, reason, urgency, status, status_reason, from_level_edition, \
                                from_level_code, patient, patient_id, received_on";
const EPISODE_COLUMNS: &str = "e.id, e.organization_id, e.patient_id, e.program_id, e.site_id, e.track_id, e.admitted_on, e.primary_clinician_id, e.status, \
                               e.reassessment_due, e.plan_review_due, e.discharge, e.referral_id";

/// Which episodes to load.
enum EpisodeFilter<'a> {
    Patient(PatientId),
    Patients(&'a [PatientId]),
    One(EpisodeId),
    Open(Option<&'a [ProgramId]>),
}

impl SqlStore {
    /// Loads episodes with their diagnoses and level history in three queries, whatever the count.
    async fn load_episodes(&self, org: OrganizationId, filter: EpisodeFilter<'_>) -> Result<Vec<Episode>> {
        let mut binds: Vec<String> = vec![org.to_string()];
        let clause = match &filter {
            EpisodeFilter::Patient(p) => {
                binds.push(p.to_string());
                "e.patient_id = $2".to_string()
            }
            EpisodeFilter::One(id) => {
                binds.push(id.to_string());
                "e.id = $2".to_string()
            }
            EpisodeFilter::Patients([]) => return Ok(Vec::new()),
            EpisodeFilter::Patients(patients) => {
                let list: Vec<String> = patients
                    .iter()
                    .map(|p| {
                        binds.push(p.to_string());
                        format!("${}", binds.len())
                    })
                    .collect();
                format!("e.patient_id IN ({})", list.join(", "))
            }
            EpisodeFilter::Open(None) => "e.status <> 'discharged'".to_string(),
            EpisodeFilter::Open(Some([])) => return Ok(Vec::new()),
            EpisodeFilter::Open(Some(programs)) => {
                // The programs asked for, in SQL (by the program/status index), not after loading them all.
                let list: Vec<String> = programs
                    .iter()
                    .map(|p| {
                        binds.push(p.to_string());
                        format!("${}", binds.len())
                    })
                    .collect();
                format!("e.program_id IN ({}) AND e.status <> 'discharged'", list.join(", "))
            }
        };
        let run = |q: String| crate::bound(q, &binds);
        self.q_n(3)?;
        let rows =
            run(format!("SELECT {EPISODE_COLUMNS} FROM episodes e WHERE e.organization_id = $1 AND {clause} ORDER BY e.admitted_on DESC"))
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
        let dx = run(format!(
            "SELECT d.episode_id, d.code, d.description, d.is_primary FROM diagnoses d JOIN episodes e ON e.id = d.episode_id \
             WHERE e.organization_id = $1 AND {clause} ORDER BY d.position"
        ))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let spans = run(format!(
            "SELECT s.episode_id, s.line, s.level_edition, s.level_code, s.from_date, s.to_date, s.reason FROM level_spans s JOIN episodes e ON e.id = s.episode_id \
             WHERE e.organization_id = $1 AND {clause} ORDER BY s.from_date, s.created_at, CASE s.line WHEN 'clinical' THEN 0 ELSE 1 END"
        ))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let e = Episode {
                id: r.parsed("id")?,
                organization_id: r.parsed("organization_id")?,
                patient_id: r.parsed("patient_id")?,
                program_id: r.parsed("program_id")?,
                site_id: r.parsed("site_id")?,
                track_id: r.opt_text("track_id")?.map(|s| s.parse()).transpose()?,
                admitted_on: parse_date(&r.text("admitted_on")?)?,
                primary_clinician: r.opt_text("primary_clinician_id")?.map(|s| s.parse()).transpose()?,
                status: EpisodeStatus::parse(&r.text("status")?)?,
                diagnoses: vec![],
                levels: vec![],
                reassessment_due: r.flag("reassessment_due")?,
                plan_review_due: r.flag("plan_review_due")?,
                discharge: r.opt_text("discharge")?.map(|s| from_json(&s)).transpose()?,
                referral_id: r.opt_text("referral_id")?.map(|s| s.parse()).transpose()?,
            };
            if let EpisodeFilter::Open(Some(programs)) = &filter
                && !programs.contains(&e.program_id)
            {
                continue;
            }
            out.push(e);
        }
        for r in &dx {
            let id: EpisodeId = r.parsed("episode_id")?;
            if let Some(e) = out.iter_mut().find(|e| e.id == id) {
                e.diagnoses.push(Diagnosis {
                    code: Icd10::parse(&r.text("code")?)?,
                    description: r.text("description")?,
                    primary: r.flag("is_primary")?,
                });
            }
        }
        for r in &spans {
            let id: EpisodeId = r.parsed("episode_id")?;
            if let Some(e) = out.iter_mut().find(|e| e.id == id) {
                e.levels.push(LevelSpan {
                    line: LevelLine::parse(&r.text("line")?)?,
                    level: LevelOfCare { edition: r.text("level_edition")?, code: r.text("level_code")? },
                    from: parse_date(&r.text("from_date")?)?,
                    to: r.opt_text("to_date")?.map(|s| parse_date(&s)).transpose()?,
                    reason: r.text("reason")?,
                });
            }
        }
        Ok(out)
    }

    async fn patient_children(&self, org: OrganizationId, p: &mut Patient) -> Result<()> {
        self.q_n(2)?;
        let cols = sqlx::query(
            "SELECT id, name, relationship, phone, email FROM collaterals WHERE organization_id = $1 AND patient_id = $2 ORDER BY name",
        )
        .bind(org.to_string())
        .bind(p.id.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        p.collaterals = cols
            .iter()
            .map(|r| {
                Ok(Collateral {
                    id: r.parsed("id")?,
                    name: r.text("name")?,
                    relationship: r.text("relationship")?,
                    phone: r.text("phone")?,
                    email: r.text("email")?,
                })
            })
            .collect::<Result<_>>()?;
        let covs = sqlx::query(
            "SELECT id, payer, member_id, group_number FROM coverages WHERE organization_id = $1 AND patient_id = $2 ORDER BY position",
        )
        .bind(org.to_string())
        .bind(p.id.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        p.coverages = covs
            .iter()
            .map(|r| {
                Ok(Coverage {
                    id: r.parsed("id")?,
                    payer: r.text("payer")?,
                    member_id: r.text("member_id")?,
                    group_number: r.text("group_number")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    async fn begin_with(&self, audit: &AuditEvent) -> Result<crate::Write<'_>> {
        let mut tx = self.write().await?;
        append(self, &mut tx, audit).await?;
        Ok(tx)
    }
}

#[async_trait]
impl PatientStore for SqlStore {
    async fn create_referral(&self, org: OrganizationId, r: NewReferral, mut audit: AuditEvent) -> Result<Referral> {
        let referral = Referral {
            id: ReferralId::new(),
            organization_id: org,
            site_id: r.site_id,
            program_id: r.program_id,
            source: r.source,
            contact: r.contact,
            reason: r.reason,
            urgency: r.urgency,
            status: ReferralStatus::New,
            status_reason: String::new(),
            from_level: r.from_level,
            patient: r.patient,
            patient_id: None,
            received_on: self.now().date_naive(),
        };
        audit.resource_id = Some(referral.id.to_string());
        let mut tx = self.begin_with(&audit).await?;
        self.q_n(2)?;
        let site = sqlx::query("SELECT id FROM sites WHERE id = $1 AND organization_id = $2")
            .bind(referral.site_id.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if site.is_none() {
            return Err(DomainError::field("site_id", "unknown_reference", "is not a site of this organization"));
        }
        sqlx::query(sql(format!("INSERT INTO referrals ({REFERRAL_COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")))
            .bind(referral.id.to_string())
            .bind(org.to_string())
            .bind(referral.site_id.to_string())
            .bind(referral.program_id.map(|p| p.to_string()))
            .bind(referral.source.code())
            .bind(json(&referral.contact)?)
            .bind(&referral.reason)
            .bind(referral.urgency.code())
            .bind(referral.status.code())
            .bind("")
            .bind(referral.from_level.as_ref().map(|l| l.edition.clone()))
            .bind(referral.from_level.as_ref().map(|l| l.code.clone()))
            .bind(json(&referral.patient)?)
            .bind(None::<String>)
            .bind(date(referral.received_on))
            .bind(ts(self.now()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await?;
        Ok(referral)
    }

    async fn referrals(&self, org: OrganizationId) -> Result<Vec<Referral>> {
        self.q()?;
        let rows = sqlx::query(sql(format!(
            "SELECT {REFERRAL_COLUMNS} FROM referrals WHERE organization_id = $1 ORDER BY received_on DESC, created_at DESC"
        )))
        .bind(org.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(referral_row).collect()
    }

    async fn referral(&self, org: OrganizationId, id: ReferralId) -> Result<Referral> {
        self.q()?;
        let r = sqlx::query(sql(format!("SELECT {REFERRAL_COLUMNS} FROM referrals WHERE organization_id = $1 AND id = $2")))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.as_ref().map(referral_row).transpose()?.ok_or(DomainError::NotFound("referral"))
    }

    async fn set_referral_status(
        &self,
        org: OrganizationId,
        id: ReferralId,
        status: ReferralStatus,
        reason: &str,
        mut audit: AuditEvent,
    ) -> Result<()> {
        let current = self.referral(org, id).await?;
        if !current.status.can_move_to(status) || status == ReferralStatus::Accepted {
            return Err(DomainError::conflict(
                "invalid_transition",
                format!("a {} referral cannot become {}", current.status.code(), status.code()),
            ));
        }
        if matches!(status, ReferralStatus::Declined | ReferralStatus::Waitlisted) && reason.trim().is_empty() {
            return Err(DomainError::field("reason", "required", "say why"));
        }
        audit.resource_id = Some(id.to_string());
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        sqlx::query("UPDATE referrals SET status = $1, status_reason = $2 WHERE id = $3 AND organization_id = $4 AND status = $5")
            .bind(status.code())
            .bind(reason.trim())
            .bind(id.to_string())
            .bind(org.to_string())
            .bind(current.status.code())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn accept_referral(
        &self,
        org: OrganizationId,
        id: ReferralId,
        a: Admission,
        mut audit: AuditEvent,
    ) -> Result<(Patient, Episode)> {
        let r = self.referral(org, id).await?;
        if !r.status.can_move_to(ReferralStatus::Accepted) {
            return Err(DomainError::conflict("invalid_transition", format!("a {} referral cannot be accepted", r.status.code())));
        }
        let mut tx = self.write().await?;
        // Register and admit first so the audit entry can name the patient.
        let patient = insert_patient(self, &mut tx, org, r.site_id, &r.patient, true).await?;
        audit.patient_id = Some(patient.id.to_string());
        audit.resource_id = Some(id.to_string());
        append(self, &mut tx, &audit).await?;
        let episode = insert_episode(self, &mut tx, org, patient.id, &a, Some(id)).await?;
        if let Some(from) = &r.from_level {
            // Where the patient stepped down from is kept on the clinical line's first span.
            self.q()?;
            sqlx::query("UPDATE level_spans SET reason = $1 WHERE episode_id = $2 AND line = 'clinical'")
                .bind(format!("Admission (step-down from {})", from.label()))
                .bind(episode.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        self.q()?;
        sqlx::query("UPDATE referrals SET status = 'accepted', patient_id = $1 WHERE id = $2")
            .bind(patient.id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await?;
        let e = self.episode(org, episode).await?;
        Ok((patient, e))
    }

    async fn create_patient(
        &self,
        org: OrganizationId,
        site: SiteId,
        p: PatientDetails,
        allow_duplicate: bool,
        mut audit: AuditEvent,
    ) -> Result<Patient> {
        let mut tx = self.write().await?;
        // The duplicate check and the insert are one transaction; the audit entry comes after
        // the patient id exists, still inside it.
        self.q()?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1").execute(&mut *tx).await.map_err(db_err)?;
        let patient = insert_patient(self, &mut tx, org, site, &p, allow_duplicate).await?;
        audit.patient_id = Some(patient.id.to_string());
        audit.resource_id = Some(patient.id.to_string());
        append(self, &mut tx, &audit).await?;
        tx.commit().await?;
        Ok(patient)
    }

    async fn update_patient(&self, org: OrganizationId, id: PatientId, p: PatientDetails, audit: AuditEvent) -> Result<()> {
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        let done = sqlx::query("UPDATE patients SET legal_first = $1, legal_last = $2, preferred_name = $3, date_of_birth = $4, details = $5 WHERE id = $6 AND organization_id = $7")
            .bind(&p.legal_first)
            .bind(&p.legal_last)
            .bind(&p.preferred_name)
            .bind(date(p.date_of_birth))
            .bind(json(&p)?)
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("patient"));
        }
        tx.commit().await
    }

    async fn patient(&self, org: OrganizationId, id: PatientId) -> Result<Patient> {
        self.q()?;
        let r = sqlx::query("SELECT id, organization_id, site_id, mrn, details FROM patients WHERE organization_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        let mut p = r.as_ref().map(patient_row).transpose()?.ok_or(DomainError::NotFound("patient"))?;
        self.patient_children(org, &mut p).await?;
        Ok(p)
    }

    async fn search_patients(&self, org: OrganizationId, query: &str, sites: Option<&[SiteId]>) -> Result<Vec<PatientSummary>> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Ok(vec![]);
        }
        let like = format!("%{}%", q.replace(['%', '_'], ""));
        self.q()?;
        let rows = sqlx::query(
            "SELECT id, site_id, mrn, legal_first, legal_last, preferred_name, date_of_birth FROM patients WHERE organization_id = $1 AND \
             (lower(legal_last) LIKE $2 OR lower(legal_first) LIKE $2 OR lower(preferred_name) LIKE $2 OR lower(legal_first || ' ' || legal_last) LIKE $2 \
              OR mrn = $3 OR date_of_birth = $3) ORDER BY legal_last, legal_first LIMIT 100",
        )
        .bind(org.to_string())
        .bind(like)
        .bind(query.trim())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let mut out = Vec::new();
        for r in &rows {
            let site: SiteId = r.parsed("site_id")?;
            if sites.is_some_and(|s| !s.contains(&site)) {
                continue;
            }
            out.push(summary_of(r)?);
        }
        Ok(out)
    }

    async fn patient_list(&self, org: OrganizationId, scope: &ListScope, f: &PatientListFilter) -> Result<(Vec<PatientListRow>, u64)> {
        let mut params: Vec<String> = vec![org.to_string()];
        let mut bind = |v: String| {
            params.push(v);
            format!("${}", params.len())
        };
        let mut conds = vec!["p.organization_id = $1".to_string()];
        if let ListScope::Units { sites, programs } = scope {
            let mut any = Vec::new();
            // As a chart is in scope: the patient's site, or the site or program of any episode.
            if !sites.is_empty() {
                let list: Vec<String> = sites.iter().map(|x| bind(x.to_string())).collect();
                any.push(format!("p.site_id IN ({})", list.join(", ")));
                any.push(format!("EXISTS (SELECT 1 FROM episodes o WHERE o.patient_id = p.id AND o.site_id IN ({}))", list.join(", ")));
            }
            if !programs.is_empty() {
                let list: Vec<String> = programs.iter().map(|x| bind(x.to_string())).collect();
                any.push(format!("EXISTS (SELECT 1 FROM episodes o WHERE o.patient_id = p.id AND o.program_id IN ({}))", list.join(", ")));
            }
            if any.is_empty() {
                return Ok((Vec::new(), 0));
            }
            conds.push(format!("({})", any.join(" OR ")));
        }
        if let Some(x) = f.program {
            conds.push(format!("e.program_id = {}", bind(x.to_string())));
        }
        if let Some(x) = f.track {
            conds.push(format!("e.track_id = {}", bind(x.to_string())));
        }
        if let Some(x) = f.clinician {
            conds.push(format!("e.primary_clinician_id = {}", bind(x.to_string())));
        }
        match f.status {
            Some(ListStatus::Episode(st)) => conds.push(format!("e.status = {}", bind(st.code().to_string()))),
            Some(ListStatus::NotAdmitted) => conds.push("e.id IS NULL".into()),
            None => {}
        }
        if let Some(code) = &f.level_code {
            conds.push(format!("({CURRENT_LEVEL}) = {}", bind(code.clone())));
        }
        let from_where = format!(
            "FROM patients p LEFT JOIN episodes e ON e.id = (SELECT x.id FROM episodes x WHERE x.patient_id = p.id \
             ORDER BY x.admitted_on DESC, x.created_at DESC, x.id DESC LIMIT 1) WHERE {}",
            conds.join(" AND ")
        );
        let offset_value = (u64::from(f.page.saturating_sub(1)) * u64::from(f.per_page)).to_string();
        let limit = bind(f.per_page.to_string());
        let offset = bind(offset_value);
        let filter_params = params.len() - 2;
        let text = format!(
            "SELECT p.id, p.site_id, p.mrn, p.legal_first, p.legal_last, p.preferred_name, p.date_of_birth, \
             e.id AS episode_id, e.program_id, e.track_id, e.primary_clinician_id, e.status, e.admitted_on, \
             ({CURRENT_LEVEL}) AS level_code, COUNT(*) OVER () AS total {from_where} \
             ORDER BY lower(p.legal_last), lower(p.legal_first), p.id LIMIT CAST({limit} AS INTEGER) OFFSET CAST({offset} AS INTEGER)"
        );
        self.q()?;
        let mut q = sqlx::query(sql(text));
        for v in &params {
            q = q.bind(v.clone());
        }
        let rows = q.fetch_all(&mut *self.conn().await?).await.map_err(db_err)?;
        let mut total = 0u64;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            total = u64::try_from(r.int("total")?).unwrap_or(0);
            out.push(PatientListRow {
                patient: summary_of(r)?,
                episode_id: r.opt_text("episode_id")?.map(|_| r.parsed("episode_id")).transpose()?,
                program_id: r.opt_text("program_id")?.map(|_| r.parsed("program_id")).transpose()?,
                track_id: r.opt_text("track_id")?.map(|_| r.parsed("track_id")).transpose()?,
                primary_clinician: r.opt_text("primary_clinician_id")?.map(|_| r.parsed("primary_clinician_id")).transpose()?,
                status: r.opt_text("status")?.map(|v| EpisodeStatus::parse(&v)).transpose()?,
                admitted_on: r.opt_text("admitted_on")?.map(|v| parse_date(&v)).transpose()?,
                level_code: r.opt_text("level_code")?,
            });
        }
        if rows.is_empty() && f.page > 1 {
            // Past the last page: the count still says how many the filter matches.
            self.q()?;
            let mut q = sqlx::query(sql(format!("SELECT COUNT(*) AS total {from_where}")));
            for v in &params[..filter_params] {
                q = q.bind(v.clone());
            }
            let r = q.fetch_one(&mut *self.conn().await?).await.map_err(db_err)?;
            total = u64::try_from(r.int("total")?).unwrap_or(0);
        }
        Ok((out, total))
    }

    async fn patient_summaries(&self, org: OrganizationId, ids: &[PatientId]) -> Result<Vec<PatientSummary>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let mut q = sqlx::query(sql(format!(
                "SELECT id, site_id, mrn, legal_first, legal_last, preferred_name, date_of_birth FROM patients WHERE organization_id = $1 AND id IN ({})",
                placeholders.join(", ")
            )))
            .bind(org.to_string());
            for id in chunk {
                q = q.bind(id.to_string());
            }
            self.q()?;
            for r in q.fetch_all(&mut *self.conn().await?).await.map_err(db_err)? {
                out.push(summary_of(&r)?);
            }
        }
        Ok(out)
    }

    async fn patients_with_consents(&self, org: OrganizationId, ids: &[PatientId]) -> Result<Vec<(Patient, Vec<Consent>)>> {
        let mut out: Vec<(Patient, Vec<Consent>)> = Vec::new();
        for chunk in ids.chunks(400) {
            let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let list = placeholders.join(", ");
            let bind_all = |q: String| {
                let mut query = sqlx::query(sql(q)).bind(org.to_string());
                for id in chunk {
                    query = query.bind(id.to_string());
                }
                query
            };
            self.q_n(3)?;
            let rows = bind_all(format!(
                "SELECT id, organization_id, site_id, mrn, details FROM patients WHERE organization_id = $1 AND id IN ({list})"
            ))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
            let start = out.len();
            for r in &rows {
                out.push((patient_row(r)?, Vec::new()));
            }
            let cols = bind_all(format!("SELECT id, patient_id, name, relationship, phone, email FROM collaterals WHERE organization_id = $1 AND patient_id IN ({list})"))
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            for r in &cols {
                let pid: PatientId = r.parsed("patient_id")?;
                if let Some((p, _)) = out[start..].iter_mut().find(|(p, _)| p.id == pid) {
                    p.collaterals.push(Collateral {
                        id: r.parsed("id")?,
                        name: r.text("name")?,
                        relationship: r.text("relationship")?,
                        phone: r.text("phone")?,
                        email: r.text("email")?,
                    });
                }
            }
            let cons = bind_all(format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE organization_id = $1 AND patient_id IN ({list})"))
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            for r in &cons {
                let c = consent_row(r)?;
                if let Some((_, v)) = out[start..].iter_mut().find(|(p, _)| p.id == c.patient_id) {
                    v.push(c);
                }
            }
        }
        Ok(out)
    }

    async fn add_collateral(&self, org: OrganizationId, patient: PatientId, c: Collateral, audit: AuditEvent) -> Result<()> {
        self.patient(org, patient).await?;
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        sqlx::query("INSERT INTO collaterals (id, organization_id, patient_id, name, relationship, phone, email) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(c.id.to_string())
            .bind(org.to_string())
            .bind(patient.to_string())
            .bind(&c.name)
            .bind(&c.relationship)
            .bind(&c.phone)
            .bind(&c.email)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn add_coverage(&self, org: OrganizationId, patient: PatientId, c: Coverage, audit: AuditEvent) -> Result<()> {
        let p = self.patient(org, patient).await?;
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        sqlx::query("INSERT INTO coverages (id, organization_id, patient_id, payer, member_id, group_number, position) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(c.id.to_string())
            .bind(org.to_string())
            .bind(patient.to_string())
            .bind(&c.payer)
            .bind(&c.member_id)
            .bind(&c.group_number)
            .bind(p.coverages.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn admit(&self, org: OrganizationId, patient: PatientId, a: Admission, audit: AuditEvent) -> Result<Episode> {
        self.patient(org, patient).await?;
        let mut tx = self.begin_with(&audit).await?;
        let id = insert_episode(self, &mut tx, org, patient, &a, None).await?;
        tx.commit().await?;
        self.episode(org, id).await
    }

    async fn episodes(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<Episode>> {
        self.load_episodes(org, EpisodeFilter::Patient(patient)).await
    }

    async fn episodes_of(&self, org: OrganizationId, patients: &[PatientId]) -> Result<Vec<Episode>> {
        let mut out = Vec::new();
        for chunk in patients.chunks(500) {
            out.extend(self.load_episodes(org, EpisodeFilter::Patients(chunk)).await?);
        }
        Ok(out)
    }

    async fn episode(&self, org: OrganizationId, id: EpisodeId) -> Result<Episode> {
        self.load_episodes(org, EpisodeFilter::One(id)).await?.pop().ok_or(DomainError::NotFound("episode"))
    }

    async fn open_episodes(&self, org: OrganizationId, programs: Option<&[ProgramId]>) -> Result<Vec<Episode>> {
        self.load_episodes(org, EpisodeFilter::Open(programs)).await
    }

    async fn change_level(&self, org: OrganizationId, episode: EpisodeId, change: LevelChange, audit: AuditEvent) -> Result<Episode> {
        let e = self.episode(org, episode).await?;
        change.check(&e)?;
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        let day_before = change.from.pred_opt().unwrap_or(change.from);
        sqlx::query("UPDATE level_spans SET to_date = $1 WHERE episode_id = $2 AND line = $3 AND to_date IS NULL")
            .bind(date(day_before))
            .bind(episode.to_string())
            .bind(change.line.code())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_span(self, &mut tx, org, episode, change.line, &change.level, change.from, &change.reason).await?;
        if change.line == LevelLine::Clinical {
            // A level change calls for re-assessment and a plan review (iop-rules.md: plan review after any level change).
            self.q()?;
            sqlx::query("UPDATE episodes SET reassessment_due = $1, plan_review_due = $1 WHERE id = $2")
                .bind(true)
                .bind(episode.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await?;
        self.episode(org, episode).await
    }

    async fn transfer_track(&self, org: OrganizationId, episode: EpisodeId, track: TrackId, audit: AuditEvent) -> Result<()> {
        let e = self.episode(org, episode).await?;
        e.require_open()?;
        let mut tx = self.begin_with(&audit).await?;
        self.q_n(2)?;
        let t = sqlx::query("SELECT program_id FROM tracks WHERE id = $1 AND organization_id = $2")
            .bind(track.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| DomainError::field("track_id", "unknown_reference", "is not a track of this organization"))?;
        let program = t.text("program_id")?;
        let site = sqlx::query("SELECT site_id FROM programs WHERE id = $1")
            .bind(&program)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?
            .text("site_id")?;
        sqlx::query("UPDATE episodes SET track_id = $1, program_id = $2, site_id = $3 WHERE id = $4")
            .bind(track.to_string())
            .bind(&program)
            .bind(&site)
            .bind(episode.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn set_episode_status(&self, org: OrganizationId, episode: EpisodeId, status: EpisodeStatus, audit: AuditEvent) -> Result<()> {
        let e = self.episode(org, episode).await?;
        e.require_open()?;
        if status == EpisodeStatus::Discharged {
            return Err(DomainError::conflict("use_discharge", "discharge an episode with its discharge record"));
        }
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        sqlx::query("UPDATE episodes SET status = $1 WHERE id = $2")
            .bind(status.code())
            .bind(episode.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn set_episode_flags(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        reassessment: Option<bool>,
        review: Option<bool>,
        audit: AuditEvent,
    ) -> Result<()> {
        let e = self.episode(org, episode).await?;
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        sqlx::query("UPDATE episodes SET reassessment_due = $1, plan_review_due = $2 WHERE id = $3")
            .bind(reassessment.unwrap_or(e.reassessment_due))
            .bind(review.unwrap_or(e.plan_review_due))
            .bind(episode.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn add_diagnoses(&self, org: OrganizationId, episode: EpisodeId, d: Vec<Diagnosis>, audit: AuditEvent) -> Result<()> {
        let e = self.episode(org, episode).await?;
        e.require_open()?;
        let fresh: Vec<Diagnosis> = d.into_iter().filter(|x| !e.diagnoses.iter().any(|y| y.code == x.code)).collect();
        let mut tx = self.begin_with(&audit).await?;
        insert_diagnoses(self, &mut tx, org, episode, &fresh, e.diagnoses.len() as i64).await?;
        tx.commit().await
    }

    async fn discharge(&self, org: OrganizationId, episode: EpisodeId, d: Discharge, audit: AuditEvent) -> Result<Episode> {
        let e = self.episode(org, episode).await?;
        e.require_open()?;
        if let Some(last) = e.levels.iter().map(|s| s.from).max()
            && d.date < last
        {
            return Err(DomainError::field("date", "before_level_change", &format!("cannot be before the last level change on {last}")));
        }
        let mut tx = self.begin_with(&audit).await?;
        self.q_n(2)?;
        sqlx::query("UPDATE level_spans SET to_date = $1 WHERE episode_id = $2 AND to_date IS NULL")
            .bind(date(d.date))
            .bind(episode.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("UPDATE episodes SET status = 'discharged', discharged_on = $1, discharge = $2, reassessment_due = $3, plan_review_due = $3 WHERE id = $4")
            .bind(date(d.date))
            .bind(json(&d)?)
            .bind(false)
            .bind(episode.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await?;
        self.episode(org, episode).await
    }

    async fn add_consent(&self, org: OrganizationId, patient: PatientId, c: NewConsent, mut audit: AuditEvent) -> Result<Consent> {
        let p = self.patient(org, patient).await?;
        if let Some(col) = c.collateral_id
            && !p.collaterals.iter().any(|x| x.id == col)
        {
            return Err(DomainError::field(
                "collateral_id",
                "unknown_reference",
                "is not one of this patient's family members or contacts",
            ));
        }
        let consent = Consent {
            id: ConsentId::new(),
            patient_id: patient,
            discloser: c.discloser,
            recipients: c.recipients,
            purpose: c.purpose,
            information: c.information,
            information_amount: c.information_amount,
            expires_on: c.expires_on,
            expiry_event: c.expiry_event,
            signed_by: c.signed_by,
            signed_on: c.signed_on,
            signature_method: c.signature_method,
            // The form refuses a consent without them: given, and stored as given.
            revocation_explained: true,
            refusal_consequences_explained: true,
            redisclosure_notice_given: true,
            collateral_id: c.collateral_id,
            revoked_on: None,
            revoked_by: String::new(),
            revocation_note: String::new(),
        };
        audit.resource_id = Some(consent.id.to_string());
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        sqlx::query(
            "INSERT INTO consents (id, organization_id, patient_id, recipients, purpose, information, expires_on, expiry_event, signed_by, signed_on, collateral_id, \
             revoked_by, revocation_note, created_at, discloser, information_amount, signature_method, revocation_explained, \
             refusal_consequences_explained, redisclosure_notice_given) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(consent.id.to_string())
        .bind(org.to_string())
        .bind(patient.to_string())
        .bind(&consent.recipients)
        .bind(&consent.purpose)
        .bind(&consent.information)
        .bind(consent.expires_on.map(date))
        .bind(&consent.expiry_event)
        .bind(&consent.signed_by)
        .bind(date(consent.signed_on))
        .bind(consent.collateral_id.map(|c| c.to_string()))
        .bind("")
        .bind("")
        .bind(ts(self.now()))
        .bind(&consent.discloser)
        .bind(&consent.information_amount)
        .bind(consent.signature_method.code())
        .bind(consent.revocation_explained)
        .bind(consent.refusal_consequences_explained)
        .bind(consent.redisclosure_notice_given)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(consent)
    }

    async fn revoke_consent(
        &self,
        org: OrganizationId,
        id: ConsentId,
        by: &str,
        on: NaiveDate,
        note: &str,
        audit: AuditEvent,
    ) -> Result<()> {
        if by.trim().is_empty() {
            return Err(DomainError::field("revoked_by", "required", "record who revoked the consent (revocation must be in writing)"));
        }
        let mut tx = self.begin_with(&audit).await?;
        self.q()?;
        let done = sqlx::query("UPDATE consents SET revoked_on = $1, revoked_by = $2, revocation_note = $3 WHERE id = $4 AND organization_id = $5 AND revoked_on IS NULL")
            .bind(date(on))
            .bind(by.trim())
            .bind(note.trim())
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("consent in force"));
        }
        tx.commit().await
    }

    async fn consents(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<Consent>> {
        self.q()?;
        let rows = sqlx::query(sql(format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE organization_id = $1 AND patient_id = $2 ORDER BY signed_on DESC, created_at DESC"
        )))
        .bind(org.to_string())
        .bind(patient.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(consent_row).collect()
    }
}
