//! Measurement-based care: settings, imported instruments, cadences, results, patient links,
//! risk flags, tasks, assessments and safety plans.
use crate::audit::append;
use crate::rows::{Get, date, parse_date, ts};
use crate::{SqlStore, db_err, sql};
use async_trait::async_trait;

use openiop_domain::audit::AuditEvent;
use openiop_domain::ids::{OrganizationId, ProgramId};
use openiop_domain::measurement::RiskLevel;
use openiop_domain::measurement::care::*;
use openiop_domain::patients::{EpisodeId, LevelLine, PatientId};
use openiop_domain::programs::{LevelOfCare, Population};
use openiop_domain::{DomainError, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| DomainError::Internal(format!("serialize: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| DomainError::Internal(format!("stored JSON: {e}")))
}

fn level_of(s: Option<String>) -> Result<Option<RiskLevel>> {
    s.map(|s| {
        openiop_domain::measurement::care::parse_risk_level(&s).map_err(|_| DomainError::internal(format!("stored risk level {s:?}")))
    })
    .transpose()
}

const RESULT_COLUMNS: &str = "id, patient_id, episode_id, program_id, instrument, instrument_name, loinc, total_loinc, administered_on, \
                              context, follow_up_days, source, entered_by, responses, score, recorded_at";

fn result_row(r: &AnyRow) -> Result<MeasurementResult> {
    Ok(MeasurementResult {
        id: r.parsed("id")?,
        patient_id: r.parsed("patient_id")?,
        episode_id: r.parsed("episode_id")?,
        program_id: r.parsed("program_id")?,
        instrument: r.text("instrument")?,
        instrument_name: r.text("instrument_name")?,
        loinc: r.opt_text("loinc")?,
        total_loinc: r.opt_text("total_loinc")?,
        administered_on: parse_date(&r.text("administered_on")?)?,
        context: ResultContext::from_parts(&r.text("context")?, r.opt_int("follow_up_days")?)?,
        source: ResultSource::parse(&r.text("source")?)?,
        entered_by: r.text("entered_by")?,
        responses: from_json(&r.text("responses")?)?,
        score: from_json(&r.text("score")?)?,
        recorded_at: r.time("recorded_at")?,
    })
}

const FLAG_COLUMNS: &str = "id, patient_id, episode_id, result_id, code, level, instrument, items, action, raised_at, cleared_at, cleared_by, \
                            assessment_id, discharge_disposition";

/// The same columns of `risk_flags f` (for joins).
const F_FLAG_COLUMNS: &str = "f.id, f.patient_id, f.episode_id, f.result_id, f.code, f.level, f.instrument, f.items, f.action, f.raised_at, \
                              f.cleared_at, f.cleared_by, f.assessment_id, f.discharge_disposition";

const TASK_COLUMNS: &str =
    "id, patient_id, episode_id, risk_flag_id, assigned_to, owner_kind, urgency, title, due_at, created_at, completed_at";

fn flag_row(r: &AnyRow) -> Result<RiskFlagRecord> {
    Ok(RiskFlagRecord {
        id: r.parsed("id")?,
        patient_id: r.parsed("patient_id")?,
        episode_id: r.parsed("episode_id")?,
        result_id: r.parsed("result_id")?,
        code: r.text("code")?,
        level: level_of(r.opt_text("level")?)?,
        instrument: r.text("instrument")?,
        items: from_json(&r.text("items")?)?,
        action: r.text("action")?,
        raised_at: r.time("raised_at")?,
        cleared_at: r.opt_time("cleared_at")?,
        cleared_by: r.opt_text("cleared_by")?.map(|s| s.parse()).transpose()?,
        assessment_id: r.opt_text("assessment_id")?.map(|s| s.parse()).transpose()?,
        discharge_disposition: r.opt_text("discharge_disposition")?,
    })
}

fn task_row(r: &AnyRow) -> Result<ClinicalTask> {
    task_row_as(r, "")
}

/// A task from columns named with a prefix (`t_` in joins).
fn task_row_as(r: &AnyRow, p: &str) -> Result<ClinicalTask> {
    let c = |name: &str| format!("{p}{name}");
    Ok(ClinicalTask {
        id: r.parsed(&c("id"))?,
        patient_id: r.parsed(&c("patient_id"))?,
        episode_id: r.parsed(&c("episode_id"))?,
        risk_flag_id: r.opt_text(&c("risk_flag_id"))?.map(|s| s.parse()).transpose()?,
        owner: TaskOwner {
            kind: OwnerKind::parse(&r.text(&c("owner_kind"))?)?,
            user: r.opt_text(&c("assigned_to"))?.map(|s| s.parse()).transpose()?,
        },
        urgency: TaskUrgency::parse(&r.text(&c("urgency"))?)?,
        title: r.text(&c("title"))?,
        due_at: r.time(&c("due_at"))?,
        created_at: r.time(&c("created_at"))?,
        completed_at: r.opt_time(&c("completed_at"))?,
    })
}

fn link_row(r: &AnyRow) -> Result<MeasurementLink> {
    Ok(MeasurementLink {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        patient_id: r.parsed("patient_id")?,
        episode_id: r.parsed("episode_id")?,
        instrument: r.text("instrument")?,
        context: ResultContext::from_parts(&r.text("context")?, r.opt_int("follow_up_days")?)?,
        expires_at: r.time("expires_at")?,
        used_at: r.opt_time("used_at")?,
        created_at: r.time("created_at")?,
    })
}

fn plan_row(r: &AnyRow) -> Result<SafetyPlan> {
    Ok(SafetyPlan {
        id: r.parsed("id")?,
        episode_id: r.parsed("episode_id")?,
        patient_id: r.parsed("patient_id")?,
        version: r.int("version")?,
        sections: from_json(&r.text("sections")?)?,
        recorded_by: r.parsed("recorded_by")?,
        recorded_by_name: r.text("recorded_by_name")?,
        recorded_at: r.time("recorded_at")?,
    })
}

impl SqlStore {
    async fn begin_audited(&self, audit: &AuditEvent) -> Result<crate::Write<'_>> {
        let mut tx = self.write().await?;
        append(self, &mut tx, audit).await?;
        Ok(tx)
    }
}

/// One positive result on a flag's history.
async fn insert_event(tx: &mut crate::Write<'_>, org: OrganizationId, e: &RiskFlagEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO risk_flag_events (id, organization_id, risk_flag_id, result_id, instrument, level, items, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(RiskFlagEventId::new().to_string())
    .bind(org.to_string())
    .bind(e.risk_flag_id.to_string())
    .bind(e.result_id.to_string())
    .bind(&e.instrument)
    .bind(e.level.map(|l| l.as_str().to_string()))
    .bind(json(&e.items)?)
    .bind(ts(e.recorded_at))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl MeasurementStore for SqlStore {
    async fn measurement_settings(&self, org: OrganizationId) -> Result<MeasurementSettings> {
        self.q()?;
        let r = sqlx::query("SELECT settings FROM measurement_settings WHERE organization_id = $1")
            .bind(org.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        match r {
            Some(r) => from_json(&r.text("settings")?),
            None => Ok(MeasurementSettings::default()),
        }
    }

    async fn save_measurement_settings(&self, org: OrganizationId, s: MeasurementSettings, audit: AuditEvent) -> Result<()> {
        let mut tx = self.begin_audited(&audit).await?;
        self.q_n(2)?;
        sqlx::query("DELETE FROM measurement_settings WHERE organization_id = $1")
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO measurement_settings (organization_id, settings, updated_at) VALUES ($1, $2, $3)")
            .bind(org.to_string())
            .bind(json(&s)?)
            .bind(ts(self.now()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn save_instrument(&self, org: OrganizationId, i: StoredInstrument, audit: AuditEvent) -> Result<()> {
        let mut tx = self.begin_audited(&audit).await?;
        self.q_n(2)?;
        sqlx::query("DELETE FROM instruments WHERE organization_id = $1 AND code = $2")
            .bind(org.to_string())
            .bind(&i.code)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO instruments (id, organization_id, code, scoring_for, definition, questionnaire, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(org.to_string())
        .bind(&i.code)
        .bind(&i.scoring_for)
        .bind(json(&i.definition)?)
        .bind(&i.questionnaire)
        .bind(ts(i.imported_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await
    }

    async fn imported_instruments(&self, org: OrganizationId) -> Result<Vec<StoredInstrument>> {
        self.q()?;
        let rows = sqlx::query(
            "SELECT code, scoring_for, definition, questionnaire, imported_at FROM instruments WHERE organization_id = $1 ORDER BY code",
        )
        .bind(org.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(StoredInstrument {
                    code: r.text("code")?,
                    scoring_for: r.text("scoring_for")?,
                    definition: from_json(&r.text("definition")?)?,
                    questionnaire: r.text("questionnaire")?,
                    imported_at: r.time("imported_at")?,
                })
            })
            .collect()
    }

    async fn add_cadence(&self, org: OrganizationId, c: Cadence, audit: AuditEvent) -> Result<()> {
        self.q()?;
        let prog = sqlx::query("SELECT id FROM programs WHERE id = $1 AND organization_id = $2")
            .bind(c.program_id.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        if prog.is_none() {
            return Err(DomainError::field("program_id", "unknown_reference", "is not a program of this organization"));
        }
        let mut tx = self.begin_audited(&audit).await?;
        self.q_n(2)?;
        let dup = sqlx::query("SELECT id FROM measurement_cadences WHERE program_id = $1 AND instrument = $2")
            .bind(c.program_id.to_string())
            .bind(&c.instrument)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if dup.is_some() {
            return Err(DomainError::conflict("cadence_exists", "this program already measures that instrument; remove the cadence first"));
        }
        sqlx::query(
            "INSERT INTO measurement_cadences (id, organization_id, program_id, instrument, every_days, follow_up, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.to_string())
        .bind(org.to_string())
        .bind(c.program_id.to_string())
        .bind(&c.instrument)
        .bind(i64::from(c.every_days))
        .bind(c.follow_up)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await
    }

    async fn remove_cadence(&self, org: OrganizationId, id: CadenceId, audit: AuditEvent) -> Result<Cadence> {
        let found = self.cadences(org, None).await?.into_iter().find(|c| c.id == id).ok_or(DomainError::NotFound("cadence"))?;
        let mut tx = self.begin_audited(&audit).await?;
        self.q()?;
        sqlx::query("DELETE FROM measurement_cadences WHERE id = $1 AND organization_id = $2")
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await?;
        Ok(found)
    }

    async fn cadences(&self, org: OrganizationId, program: Option<ProgramId>) -> Result<Vec<Cadence>> {
        self.q()?;
        let rows = sqlx::query(
            "SELECT id, program_id, instrument, every_days, follow_up FROM measurement_cadences WHERE organization_id = $1 \
             AND ($2 = '' OR program_id = $2) ORDER BY program_id, instrument",
        )
        .bind(org.to_string())
        .bind(program.map(|p| p.to_string()).unwrap_or_default())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Cadence {
                    id: r.parsed("id")?,
                    program_id: r.parsed("program_id")?,
                    instrument: r.text("instrument")?,
                    every_days: u32::try_from(r.int("every_days")?).map_err(DomainError::internal)?,
                    follow_up: r.flag("follow_up")?,
                })
            })
            .collect()
    }

    async fn record_result(&self, org: OrganizationId, n: NewResult, audit: AuditEvent) -> Result<MeasurementResult> {
        let r = n.result;
        let mut tx = self.begin_audited(&audit).await?;
        self.q()?;
        sqlx::query(sql(format!(
            "INSERT INTO measurement_results (organization_id, total, band, {RESULT_COLUMNS}) \
             VALUES ($1, CAST($2 AS DOUBLE PRECISION), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        )))
        .bind(org.to_string())
        // As text: sqlx's Any driver declares a missing f64 as float4 on PostgreSQL, and the
        // statement cached after an incomplete result would then refuse every later total.
        .bind(r.score.total.map(|t| t.to_string()))
        .bind(r.score.band.clone())
        .bind(r.id.to_string())
        .bind(r.patient_id.to_string())
        .bind(r.episode_id.to_string())
        .bind(r.program_id.to_string())
        .bind(&r.instrument)
        .bind(&r.instrument_name)
        .bind(r.loinc.clone())
        .bind(r.total_loinc.clone())
        .bind(date(r.administered_on))
        .bind(r.context.code())
        .bind(r.context.follow_up_days().map(i64::from))
        .bind(r.source.code())
        .bind(&r.entered_by)
        .bind(json(&r.responses)?)
        .bind(json(&r.score)?)
        .bind(ts(r.recorded_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(link) = n.link {
            self.q()?;
            let done = sqlx::query("UPDATE measurement_links SET used_at = $1, result_id = $2 WHERE id = $3 AND used_at IS NULL")
                .bind(ts(r.recorded_at))
                .bind(r.id.to_string())
                .bind(link.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() != 1 {
                return Err(DomainError::conflict("link_used", "This questionnaire has already been completed. Thank you."));
            }
        }
        match n.risk {
            None => {}
            Some((RiskChange::Raise { flag, task, event }, flag_audit)) => {
                append(self, &mut tx, &flag_audit).await?;
                self.q_n(3)?;
                sqlx::query(sql(format!(
                    "INSERT INTO risk_flags (organization_id, {FLAG_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                )))
                .bind(org.to_string())
                .bind(flag.id.to_string())
                .bind(flag.patient_id.to_string())
                .bind(flag.episode_id.to_string())
                .bind(flag.result_id.to_string())
                .bind(&flag.code)
                .bind(flag.level.map(|l| l.as_str().to_string()))
                .bind(&flag.instrument)
                .bind(json(&flag.items)?)
                .bind(&flag.action)
                .bind(ts(flag.raised_at))
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<String>)
                .execute(&mut *tx)
                .await
                .map_err(|e| crate::unique_or(e, "risk_flag_open", "a risk flag is already open for this episode; try again"))?;
                insert_event(&mut tx, org, &event).await?;
                sqlx::query(sql(format!(
                    "INSERT INTO clinical_tasks (organization_id, {TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                )))
                .bind(org.to_string())
                .bind(task.id.to_string())
                .bind(task.patient_id.to_string())
                .bind(task.episode_id.to_string())
                .bind(task.risk_flag_id.map(|f| f.to_string()))
                .bind(task.owner.user.map(|u| u.to_string()))
                .bind(task.owner.kind.code())
                .bind(task.urgency.code())
                .bind(&task.title)
                .bind(ts(task.due_at))
                .bind(ts(task.created_at))
                .bind(None::<String>)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            Some((RiskChange::Repeat { flag, event, escalated, task_due }, flag_audit)) => {
                append(self, &mut tx, &flag_audit).await?;
                self.q()?;
                insert_event(&mut tx, org, &event).await?;
                if escalated || flag.level.is_some() {
                    self.q()?;
                    let done = sqlx::query(
                        "UPDATE risk_flags SET level = $1, action = $2, items = $3 WHERE id = $4 AND organization_id = $5 AND cleared_at IS NULL",
                    )
                    .bind(flag.level.map(|l| l.as_str().to_string()))
                    .bind(&flag.action)
                    .bind(json(&flag.items)?)
                    .bind(flag.id.to_string())
                    .bind(org.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    if done.rows_affected() != 1 {
                        return Err(DomainError::conflict("flag_cleared", "this risk flag was cleared meanwhile; enter the result again"));
                    }
                }
                if let Some((urgency, due_at, title)) = task_due {
                    self.q()?;
                    sqlx::query(
                        "UPDATE clinical_tasks SET urgency = $1, due_at = $2, title = $3 \
                         WHERE risk_flag_id = $4 AND organization_id = $5 AND completed_at IS NULL AND due_at > $2",
                    )
                    .bind(urgency.code())
                    .bind(ts(due_at))
                    .bind(&title)
                    .bind(flag.id.to_string())
                    .bind(org.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
            }
        }
        tx.commit().await?;
        Ok(r)
    }

    async fn results(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<MeasurementResult>> {
        self.q()?;
        let rows = sqlx::query(sql(format!(
            "SELECT {RESULT_COLUMNS} FROM measurement_results WHERE organization_id = $1 AND patient_id = $2 ORDER BY administered_on, recorded_at"
        )))
        .bind(org.to_string())
        .bind(patient.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(result_row).collect()
    }

    async fn create_link(&self, org: OrganizationId, l: MeasurementLink, token_hash: &str, audit: AuditEvent) -> Result<()> {
        let mut tx = self.begin_audited(&audit).await?;
        self.q()?;
        sqlx::query(
            "INSERT INTO measurement_links (id, organization_id, token_hash, patient_id, episode_id, instrument, context, follow_up_days, \
             expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(l.id.to_string())
        .bind(org.to_string())
        .bind(token_hash)
        .bind(l.patient_id.to_string())
        .bind(l.episode_id.to_string())
        .bind(&l.instrument)
        .bind(l.context.code())
        .bind(l.context.follow_up_days().map(i64::from))
        .bind(ts(l.expires_at))
        .bind(ts(l.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await
    }

    async fn link_by_token_hash(&self, token_hash: &str) -> Result<Option<MeasurementLink>> {
        self.q()?;
        let r = sqlx::query(
            "SELECT id, organization_id, patient_id, episode_id, instrument, context, follow_up_days, expires_at, used_at, created_at \
             FROM measurement_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        r.as_ref().map(link_row).transpose()
    }

    async fn risk_flags(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<RiskFlagRecord>> {
        self.q()?;
        let rows = sqlx::query(sql(format!(
            "SELECT {FLAG_COLUMNS} FROM risk_flags WHERE organization_id = $1 AND patient_id = $2 AND merged_into IS NULL ORDER BY raised_at DESC"
        )))
        .bind(org.to_string())
        .bind(patient.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(flag_row).collect()
    }

    async fn risk_flag(&self, org: OrganizationId, id: RiskFlagId) -> Result<RiskFlagRecord> {
        self.q()?;
        let r = sqlx::query(sql(format!(
            "SELECT {FLAG_COLUMNS} FROM risk_flags WHERE organization_id = $1 AND id = $2 AND merged_into IS NULL"
        )))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?
        .ok_or(DomainError::NotFound("risk flag"))?;
        flag_row(&r)
    }

    async fn open_risk_flag(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        code: &str,
    ) -> Result<Option<(RiskFlagRecord, Option<ClinicalTask>)>> {
        self.q_n(2)?;
        let mut conn = self.conn().await?;
        let r = sqlx::query(sql(format!(
            "SELECT {FLAG_COLUMNS} FROM risk_flags WHERE organization_id = $1 AND episode_id = $2 AND code = $3 \
             AND cleared_at IS NULL AND merged_into IS NULL"
        )))
        .bind(org.to_string())
        .bind(episode.to_string())
        .bind(code)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        let Some(r) = r else { return Ok(None) };
        let flag = flag_row(&r)?;
        let t = sqlx::query(sql(format!(
            "SELECT {TASK_COLUMNS} FROM clinical_tasks WHERE organization_id = $1 AND risk_flag_id = $2 AND completed_at IS NULL \
             ORDER BY due_at LIMIT 1"
        )))
        .bind(org.to_string())
        .bind(flag.id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        Ok(Some((flag, t.as_ref().map(task_row).transpose()?)))
    }

    async fn risk_flag_events(&self, org: OrganizationId, flag: RiskFlagId) -> Result<Vec<RiskFlagEvent>> {
        self.q()?;
        let rows = sqlx::query(
            "SELECT risk_flag_id, result_id, instrument, level, items, recorded_at FROM risk_flag_events \
             WHERE organization_id = $1 AND risk_flag_id = $2 ORDER BY recorded_at, id",
        )
        .bind(org.to_string())
        .bind(flag.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(RiskFlagEvent {
                    risk_flag_id: r.parsed("risk_flag_id")?,
                    result_id: r.parsed("result_id")?,
                    instrument: r.text("instrument")?,
                    level: level_of(r.opt_text("level")?)?,
                    items: from_json(&r.text("items")?)?,
                    recorded_at: r.time("recorded_at")?,
                })
            })
            .collect()
    }

    async fn open_risk_work(&self, org: OrganizationId) -> Result<Vec<OpenRisk>> {
        self.q()?;
        // The open task of each flag (the earliest due), in the same query.
        let rows = sqlx::query(sql(format!(
            "SELECT {F_FLAG_COLUMNS}, p.legal_first, p.legal_last, p.preferred_name, e.site_id, e.program_id, \
             t.id AS t_id, t.patient_id AS t_patient_id, t.episode_id AS t_episode_id, t.risk_flag_id AS t_risk_flag_id, \
             t.assigned_to AS t_assigned_to, t.owner_kind AS t_owner_kind, t.urgency AS t_urgency, t.title AS t_title, \
             t.due_at AS t_due_at, t.created_at AS t_created_at, t.completed_at AS t_completed_at \
             FROM risk_flags f JOIN patients p ON p.id = f.patient_id JOIN episodes e ON e.id = f.episode_id \
             LEFT JOIN clinical_tasks t ON t.id = (SELECT x.id FROM clinical_tasks x WHERE x.risk_flag_id = f.id AND x.completed_at IS NULL \
                                                   ORDER BY x.due_at LIMIT 1) \
             WHERE f.organization_id = $1 AND f.cleared_at IS NULL AND f.merged_into IS NULL ORDER BY COALESCE(t.due_at, f.raised_at)"
        )))
        .bind(org.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(OpenRisk {
                    flag: flag_row(r)?,
                    task: if r.opt_text("t_id")?.is_some() { Some(task_row_as(r, "t_")?) } else { None },
                    patient_name: {
                        let preferred = r.text("preferred_name")?;
                        let first = if preferred.is_empty() { r.text("legal_first")? } else { preferred };
                        format!("{first} {}", r.text("legal_last")?)
                    },
                    site_id: r.parsed("site_id")?,
                    program_id: r.parsed("program_id")?,
                })
            })
            .collect()
    }

    async fn close_risk_flags_at_discharge(
        &self,
        org: OrganizationId,
        episode: EpisodeId,
        by: openiop_domain::ids::UserId,
        disposition: &str,
        at: chrono::DateTime<chrono::Utc>,
        audit: AuditEvent,
    ) -> Result<u64> {
        let mut tx = self.begin_audited(&audit).await?;
        self.q_n(2)?;
        let at = ts(at);
        sqlx::query(
            "UPDATE clinical_tasks SET completed_at = $1 WHERE organization_id = $2 AND completed_at IS NULL AND risk_flag_id IN \
             (SELECT id FROM risk_flags WHERE episode_id = $3 AND organization_id = $2 AND cleared_at IS NULL)",
        )
        .bind(&at)
        .bind(org.to_string())
        .bind(episode.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE risk_flags SET cleared_at = $1, cleared_by = $2, discharge_disposition = $3 \
             WHERE organization_id = $4 AND episode_id = $5 AND cleared_at IS NULL AND merged_into IS NULL",
        )
        .bind(&at)
        .bind(by.to_string())
        .bind(disposition)
        .bind(org.to_string())
        .bind(episode.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn tasks(&self, org: OrganizationId, f: TaskFilter) -> Result<Vec<ClinicalTask>> {
        self.q()?;
        let rows = sqlx::query(sql(format!(
            "SELECT {TASK_COLUMNS} FROM clinical_tasks \
             WHERE organization_id = $1 AND ($2 = '' OR assigned_to = $2) AND ($3 = '' OR patient_id = $3) \
             AND ($4 = 0 OR completed_at IS NULL) ORDER BY due_at"
        )))
        .bind(org.to_string())
        .bind(f.assigned_to.map(|u| u.to_string()).unwrap_or_default())
        .bind(f.patient.map(|p| p.to_string()).unwrap_or_default())
        .bind(i64::from(f.open_only))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(task_row).collect()
    }

    async fn record_assessment(&self, org: OrganizationId, a: RiskAssessment, audit: AuditEvent) -> Result<()> {
        let mut tx = self.begin_audited(&audit).await?;
        self.q_n(3)?;
        let at = ts(a.assessed_at);
        let cleared = sqlx::query(
            "UPDATE risk_flags SET cleared_at = $1, cleared_by = $2, assessment_id = $3 WHERE id = $4 AND organization_id = $5 AND cleared_at IS NULL",
        )
        .bind(&at)
        .bind(a.assessed_by.to_string())
        .bind(a.id.to_string())
        .bind(a.risk_flag_id.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if cleared.rows_affected() != 1 {
            return Err(DomainError::conflict("flag_cleared", "this risk flag was already cleared by an assessment"));
        }
        sqlx::query(
            "INSERT INTO risk_assessments (id, organization_id, risk_flag_id, patient_id, assessed_by, assessed_by_name, assessed_at, \
             risk_level, findings, disposition, safety_plan_reviewed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(a.id.to_string())
        .bind(org.to_string())
        .bind(a.risk_flag_id.to_string())
        .bind(a.patient_id.to_string())
        .bind(a.assessed_by.to_string())
        .bind(&a.assessed_by_name)
        .bind(&at)
        .bind(a.risk_level.as_str())
        .bind(&a.findings)
        .bind(&a.disposition)
        .bind(a.safety_plan_reviewed)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("UPDATE clinical_tasks SET completed_at = $1 WHERE risk_flag_id = $2 AND completed_at IS NULL")
            .bind(&at)
            .bind(a.risk_flag_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn assessments(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<RiskAssessment>> {
        self.q()?;
        let rows = sqlx::query(
            "SELECT id, risk_flag_id, patient_id, assessed_by, assessed_by_name, assessed_at, risk_level, findings, disposition, \
             safety_plan_reviewed FROM risk_assessments WHERE organization_id = $1 AND patient_id = $2 ORDER BY assessed_at DESC",
        )
        .bind(org.to_string())
        .bind(patient.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(RiskAssessment {
                    id: r.parsed("id")?,
                    risk_flag_id: r.parsed("risk_flag_id")?,
                    patient_id: r.parsed("patient_id")?,
                    assessed_by: r.parsed("assessed_by")?,
                    assessed_by_name: r.text("assessed_by_name")?,
                    assessed_at: r.time("assessed_at")?,
                    risk_level: level_of(Some(r.text("risk_level")?))?.unwrap_or(RiskLevel::NoRisk),
                    findings: r.text("findings")?,
                    disposition: r.text("disposition")?,
                    safety_plan_reviewed: r.flag("safety_plan_reviewed")?,
                })
            })
            .collect()
    }

    async fn save_safety_plan(&self, org: OrganizationId, mut plan: SafetyPlan, audit: AuditEvent) -> Result<SafetyPlan> {
        let mut tx = self.begin_audited(&audit).await?;
        self.q_n(2)?;
        let v = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM safety_plans WHERE episode_id = $1")
            .bind(plan.episode_id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        plan.version = v.int("v")? + 1;
        sqlx::query(
            "INSERT INTO safety_plans (id, organization_id, episode_id, patient_id, version, sections, recorded_by, recorded_by_name, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(plan.id.to_string())
        .bind(org.to_string())
        .bind(plan.episode_id.to_string())
        .bind(plan.patient_id.to_string())
        .bind(plan.version)
        .bind(json(&plan.sections)?)
        .bind(plan.recorded_by.to_string())
        .bind(&plan.recorded_by_name)
        .bind(ts(plan.recorded_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(plan)
    }

    async fn safety_plan(&self, org: OrganizationId, episode: EpisodeId) -> Result<Option<SafetyPlan>> {
        self.q()?;
        let r = sqlx::query(
            "SELECT id, episode_id, patient_id, version, sections, recorded_by, recorded_by_name, recorded_at FROM safety_plans \
             WHERE organization_id = $1 AND episode_id = $2 ORDER BY version DESC LIMIT 1",
        )
        .bind(org.to_string())
        .bind(episode.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        r.as_ref().map(plan_row).transpose()
    }

    async fn outcome_rows(&self, org: OrganizationId, programs: Option<&[ProgramId]>) -> Result<Vec<OutcomeRow>> {
        // Three queries whatever the number of patients: episode facts, results, and the
        // clinical level spans of those episodes; all filtered to the programs in SQL.
        let mut binds: Vec<String> = vec![org.to_string()];
        let list = match programs {
            Some([]) => return Ok(Vec::new()),
            Some(ps) => Some(
                ps.iter()
                    .map(|p| {
                        binds.push(p.to_string());
                        format!("${}", binds.len())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => None,
        };
        let within = |alias: &str| list.as_ref().map(|l| format!(" AND {alias}.program_id IN ({l})")).unwrap_or_default();
        self.q_n(3)?;
        // Episode facts once per episode, results with only their own columns: at operator
        // scale 122,000 results come with 14,000 episodes, not 122,000 copies of them.
        let episodes = crate::bound(
            format!(
                "SELECT e.id, e.patient_id, e.program_id, e.track_id, p.population, e.admitted_on FROM episodes e \
                 JOIN programs p ON p.id = e.program_id WHERE e.organization_id = $1{}",
                within("e")
            ),
            &binds,
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let rows = crate::bound(
            format!(
                "SELECT r.episode_id, r.instrument, r.administered_on, r.total, r.context, r.follow_up_days, \
                 CASE WHEN r.total IS NULL OR r.instrument IN ('bam', 'bam-iop') THEN r.score END AS score FROM measurement_results r \
                 WHERE r.organization_id = $1{} ORDER BY r.episode_id, r.administered_on, r.recorded_at",
                within("r")
            ),
            &binds,
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let mut span_binds = binds.clone();
        span_binds.push(LevelLine::Clinical.code().to_string());
        let spans = crate::bound(
            format!(
                "SELECT s.episode_id, s.level_edition, s.level_code, s.from_date, s.to_date FROM level_spans s \
                 JOIN episodes e ON e.id = s.episode_id WHERE e.organization_id = $1 AND s.line = ${}{} ORDER BY s.from_date",
                span_binds.len(),
                within("e")
            ),
            &span_binds,
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let mut levels: std::collections::HashMap<EpisodeId, Vec<(LevelOfCare, chrono::NaiveDate, Option<chrono::NaiveDate>)>> =
            std::collections::HashMap::new();
        for s in &spans {
            levels.entry(s.parsed("episode_id")?).or_default().push((
                LevelOfCare { edition: s.text("level_edition")?, code: s.text("level_code")? },
                parse_date(&s.text("from_date")?)?,
                s.opt_text("to_date")?.map(|d| parse_date(&d)).transpose()?,
            ));
        }
        type Spans = std::sync::Arc<[(LevelOfCare, chrono::NaiveDate, Option<chrono::NaiveDate>)]>;
        let levels: std::collections::HashMap<EpisodeId, Spans> = levels.into_iter().map(|(k, v)| (k, Spans::from(v))).collect();
        let mut facts = std::collections::HashMap::with_capacity(episodes.len());
        for e in &episodes {
            let id: EpisodeId = e.parsed("id")?;
            let f = (
                e.parsed::<PatientId>("patient_id")?,
                e.parsed::<ProgramId>("program_id")?,
                e.opt_text("track_id")?.map(|s| s.parse()).transpose()?,
                Population::parse(&e.text("population")?)?,
                parse_date(&e.text("admitted_on")?)?,
                levels.get(&id).cloned().unwrap_or_else(|| Spans::from(Vec::new())),
            );
            facts.insert(id, f);
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let episode_id: EpisodeId = r.parsed("episode_id")?;
            let Some((patient_id, program_id, track_id, population, admitted_on, levels)) = facts.get(&episode_id) else { continue };
            let total = r.try_get::<Option<f64>, _>("total").map_err(|e| DomainError::internal(format!("column total: {e}")))?;
            // Subscales are read only where they matter (the BAM, and results without a total).
            let subscales = match r.opt_text("score")? {
                Some(json) => {
                    serde_json::from_str::<StoredScore>(&json).map_err(|e| DomainError::internal(format!("stored score: {e}")))?.subscales
                }
                None => Vec::new(),
            };
            if total.is_none() && subscales.is_empty() {
                continue;
            }
            out.push(OutcomeRow {
                patient_id: *patient_id,
                episode_id,
                program_id: *program_id,
                track_id: *track_id,
                population: *population,
                admitted_on: *admitted_on,
                levels: levels.clone(),
                instrument: r.text("instrument")?,
                administered_on: parse_date(&r.text("administered_on")?)?,
                total,
                subscales,
                context: ResultContext::from_parts(&r.text("context")?, r.opt_int("follow_up_days")?)?,
            });
        }
        Ok(out)
    }
}
