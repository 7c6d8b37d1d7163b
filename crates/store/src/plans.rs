//! Treatment-plan versions, session notes (with the objectives they cite and their addenda)
//! and documentation settings.
use crate::audit::append;
use crate::rows::{Get, date, parse_date, ts};
use crate::{SqlStore, db_err, sql, unique_or};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use openiop_domain::audit::AuditEvent;
use openiop_domain::ids::{OrganizationId, UserId};
use openiop_domain::notes::*;
use openiop_domain::patients::{Episode, EpisodeId, PatientId};
use openiop_domain::plans::*;
use openiop_domain::schedule::SessionId;
use openiop_domain::{DomainError, Result};
use sqlx::any::AnyRow;

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| DomainError::Internal(format!("serialize: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| DomainError::Internal(format!("stored JSON: {e}")))
}

/// The lock triggers answer `note_locked` / `plan_locked`; anything else is internal.
fn locked_or(e: sqlx::Error) -> DomainError {
    let m = e.to_string();
    if m.contains("note_locked") {
        note_locked()
    } else if m.contains("plan_locked") {
        DomainError::conflict("plan_locked", "this plan version is signed; start a review to make a new version")
    } else {
        db_err(e)
    }
}

/// `$from, $from+1, …` for an IN list of `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const PLAN_COLUMNS: &str = "p.id, p.organization_id, p.episode_id, p.patient_id, e.site_id, e.program_id, p.version, p.content, p.reason, \
                            p.planned_discharge_on, p.author_id, p.created_at, p.clinician_name, p.clinician_id, p.clinician_signed_at, \
                            p.supervisor_required, p.supervisor_id, p.supervisor_name, p.supervisor_signed_at, p.patient_ack_name, p.patient_ack_at";

fn signature(r: &AnyRow, name: &str, user: Option<&str>, at: &str) -> Result<Option<Signature>> {
    let Some(at) = r.opt_time(at)? else { return Ok(None) };
    let user_id = match user {
        Some(c) => r.opt_text(c)?.map(|s| s.parse()).transpose()?,
        None => None,
    };
    Ok(Some(Signature { by: r.opt_text(name)?.unwrap_or_default(), user_id, at }))
}

fn plan_row(r: &AnyRow) -> Result<PlanVersion> {
    let supervisor_id: Option<UserId> = r.opt_text("supervisor_id")?.map(|s| s.parse()).transpose()?;
    let mut supervisor = signature(r, "supervisor_name", None, "supervisor_signed_at")?;
    if let Some(s) = supervisor.as_mut() {
        s.user_id = supervisor_id;
    }
    Ok(PlanVersion {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        episode_id: r.parsed("episode_id")?,
        patient_id: r.parsed("patient_id")?,
        site_id: r.parsed("site_id")?,
        program_id: r.parsed("program_id")?,
        version: r.int("version")?,
        content: from_json(&r.text("content")?)?,
        reason: r.text("reason")?,
        planned_discharge_on: r.opt_text("planned_discharge_on")?.map(|s| parse_date(&s)).transpose()?,
        author_id: r.parsed("author_id")?,
        created_at: r.time("created_at")?,
        clinician: signature(r, "clinician_name", Some("clinician_id"), "clinician_signed_at")?,
        supervisor_required: r.flag("supervisor_required")?,
        supervisor_id,
        supervisor,
        patient_ack: signature(r, "patient_ack_name", None, "patient_ack_at")?,
    })
}

const NOTE_COLUMNS: &str = "n.id, n.organization_id, n.session_id, n.patient_id, n.episode_id, n.kind, n.format, n.body, n.attendance_only, \
                            n.author_id, n.created_at, n.due_at, n.signed_by, n.signed_at, n.cosign_required, n.cosigner_id, n.cosigned_at";

fn note_row(r: &AnyRow) -> Result<SessionNote> {
    Ok(SessionNote {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        session_id: r.parsed("session_id")?,
        patient_id: r.parsed("patient_id")?,
        episode_id: r.opt_text("episode_id")?.map(|s| s.parse()).transpose()?,
        kind: NoteKind::parse(&r.text("kind")?)?,
        format: NoteFormat::parse(&r.text("format")?)?,
        body: from_json(&r.text("body")?)?,
        attendance_only: r.flag("attendance_only")?,
        objectives: vec![],
        author_id: r.parsed("author_id")?,
        created_at: r.time("created_at")?,
        due_at: r.time("due_at")?,
        signed_by: r.opt_text("signed_by")?.map(|s| s.parse()).transpose()?,
        signed_at: r.opt_time("signed_at")?,
        cosign_required: r.flag("cosign_required")?,
        cosigner_id: r.opt_text("cosigner_id")?.map(|s| s.parse()).transpose()?,
        cosigned_at: r.opt_time("cosigned_at")?,
        addenda: vec![],
    })
}

impl SqlStore {
    async fn load_plans(&self, clause: &str, binds: &[String]) -> Result<Vec<PlanVersion>> {
        self.q()?;
        let q = format!(
            "SELECT {PLAN_COLUMNS} FROM plan_versions p JOIN episodes e ON e.id = p.episode_id WHERE {clause} ORDER BY p.episode_id, p.version"
        );
        let mut query = sqlx::query(sql(q));
        for b in binds {
            query = query.bind(b.clone());
        }
        let rows = query.fetch_all(&mut *self.conn().await?).await.map_err(db_err)?;
        rows.iter().map(plan_row).collect()
    }

    /// Notes matching a clause on `n`, with their objectives and addenda: three queries.
    async fn load_notes(&self, clause: &str, binds: &[String]) -> Result<Vec<SessionNote>> {
        let run = |q: String| crate::bound(q, binds);
        self.q_n(3)?;
        let rows = run(format!("SELECT {NOTE_COLUMNS} FROM session_notes n WHERE {clause} ORDER BY n.created_at, n.id"))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        let mut notes = rows.iter().map(note_row).collect::<Result<Vec<_>>>()?;
        if notes.is_empty() {
            return Ok(notes);
        }
        let index: std::collections::HashMap<NoteId, usize> = notes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        let objs =
            run(format!("SELECT x.note_id, x.objective_id FROM note_objectives x JOIN session_notes n ON n.id = x.note_id WHERE {clause}"))
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
        for r in &objs {
            if let Some(i) = index.get(&r.parsed::<NoteId>("note_id")?) {
                notes[*i].objectives.push(r.parsed("objective_id")?);
            }
        }
        let adds = run(format!(
            "SELECT a.id, a.note_id, a.author_id, a.author, a.text, a.created_at FROM note_addenda a JOIN session_notes n ON n.id = a.note_id \
             WHERE {clause} ORDER BY a.created_at, a.id"
        ))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        for r in &adds {
            if let Some(i) = index.get(&r.parsed::<NoteId>("note_id")?) {
                notes[*i].addenda.push(Addendum {
                    id: r.parsed("id")?,
                    author_id: r.parsed("author_id")?,
                    author: r.text("author")?,
                    text: r.text("text")?,
                    at: r.time("created_at")?,
                });
            }
        }
        for n in &mut notes {
            n.objectives.sort();
        }
        Ok(notes)
    }
}

#[async_trait]
impl PlanStore for SqlStore {
    async fn create_plan_version(
        &self,
        org: OrganizationId,
        episode: &Episode,
        v: NewPlanVersion,
        author: UserId,
        audit: AuditEvent,
    ) -> Result<PlanVersion> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(3)?;
        let drafts =
            sqlx::query("SELECT id FROM plan_versions WHERE episode_id = $1 AND organization_id = $2 AND clinician_signed_at IS NULL")
                .bind(episode.id.to_string())
                .bind(org.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if drafts.is_some() {
            return Err(DomainError::conflict("plan_draft_exists", "this episode already has an unsigned plan version; finish or edit it"));
        }
        let next = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM plan_versions WHERE episode_id = $1")
            .bind(episode.id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?
            .int("v")?
            + 1;
        let id = PlanVersionId::new();
        let now = self.now();
        sqlx::query(
            "INSERT INTO plan_versions (id, organization_id, episode_id, patient_id, version, content, reason, planned_discharge_on, author_id, \
             created_at, supervisor_required) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(episode.id.to_string())
        .bind(episode.patient_id.to_string())
        .bind(next)
        .bind(json(&v.content)?)
        .bind(&v.reason)
        .bind(v.planned_discharge_on.map(date))
        .bind(author.to_string())
        .bind(ts(now))
        .bind(false)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_or(e, "plan_draft_exists", "another version was just created; reload"))?;
        tx.commit().await?;
        Ok(PlanVersion {
            id,
            organization_id: org,
            episode_id: episode.id,
            patient_id: episode.patient_id,
            site_id: episode.site_id,
            program_id: episode.program_id,
            version: next,
            content: v.content,
            reason: v.reason,
            planned_discharge_on: v.planned_discharge_on,
            author_id: author,
            created_at: now,
            clinician: None,
            supervisor_required: false,
            supervisor_id: None,
            supervisor: None,
            patient_ack: None,
        })
    }

    async fn update_plan_draft(&self, org: OrganizationId, id: PlanVersionId, v: NewPlanVersion, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query(
            "UPDATE plan_versions SET content = $1, reason = $2, planned_discharge_on = $3 WHERE id = $4 AND organization_id = $5 \
             AND clinician_signed_at IS NULL",
        )
        .bind(json(&v.content)?)
        .bind(&v.reason)
        .bind(v.planned_discharge_on.map(date))
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(locked_or)?;
        if done.rows_affected() == 0 {
            // Exists but signed, or does not exist (nothing was written: the write ends here).
            drop(tx);
            self.plan_version(org, id).await?.require_draft()?;
            return Err(DomainError::NotFound("plan"));
        }
        tx.commit().await
    }

    async fn plan_version(&self, org: OrganizationId, id: PlanVersionId) -> Result<PlanVersion> {
        self.load_plans("p.organization_id = $1 AND p.id = $2", &[org.to_string(), id.to_string()])
            .await?
            .pop()
            .ok_or(DomainError::NotFound("plan"))
    }

    async fn plan_versions(&self, org: OrganizationId, episode: EpisodeId) -> Result<Vec<PlanVersion>> {
        self.load_plans("p.organization_id = $1 AND p.episode_id = $2", &[org.to_string(), episode.to_string()]).await
    }

    async fn current_plans(&self, org: OrganizationId, episodes: &[EpisodeId]) -> Result<Vec<PlanVersion>> {
        if episodes.is_empty() {
            return Ok(vec![]);
        }
        let clause = format!(
            "p.organization_id = $1 AND p.clinician_signed_at IS NOT NULL AND p.episode_id IN ({}) AND p.version = \
             (SELECT MAX(q.version) FROM plan_versions q WHERE q.episode_id = p.episode_id AND q.clinician_signed_at IS NOT NULL)",
            placeholders(2, episodes.len())
        );
        let mut binds = vec![org.to_string()];
        binds.extend(episodes.iter().map(|e| e.to_string()));
        self.load_plans(&clause, &binds).await
    }

    async fn sign_plan(
        &self,
        org: OrganizationId,
        id: PlanVersionId,
        sig: Signature,
        supervisor: Option<UserId>,
        audit: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(2)?;
        let done = sqlx::query(
            "UPDATE plan_versions SET clinician_name = $1, clinician_id = $2, clinician_signed_at = $3, supervisor_required = $4, supervisor_id = $5 \
             WHERE id = $6 AND organization_id = $7 AND clinician_signed_at IS NULL",
        )
        .bind(&sig.by)
        .bind(sig.user_id.map(|u| u.to_string()))
        .bind(ts(sig.at))
        .bind(supervisor.is_some())
        .bind(supervisor.map(|u| u.to_string()))
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(locked_or)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::conflict("plan_locked", "this plan version is already signed"));
        }
        // The review is done: the level-of-care flag is cleared with the signature.
        sqlx::query("UPDATE episodes SET plan_review_due = $1 WHERE id = (SELECT episode_id FROM plan_versions WHERE id = $2)")
            .bind(false)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn cosign_plan(&self, org: OrganizationId, id: PlanVersionId, sig: Signature, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query(
            "UPDATE plan_versions SET supervisor_name = $1, supervisor_signed_at = $2 WHERE id = $3 AND organization_id = $4 \
             AND clinician_signed_at IS NOT NULL AND supervisor_required = $5 AND supervisor_signed_at IS NULL AND supervisor_id = $6",
        )
        .bind(&sig.by)
        .bind(ts(sig.at))
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(true)
        .bind(sig.user_id.map(|u| u.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::conflict("nothing_to_cosign", "this plan version is not awaiting your signature"));
        }
        tx.commit().await
    }

    async fn acknowledge_plan(&self, org: OrganizationId, id: PlanVersionId, sig: Signature, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query(
            "UPDATE plan_versions SET patient_ack_name = $1, patient_ack_at = $2 WHERE id = $3 AND organization_id = $4 \
             AND clinician_signed_at IS NOT NULL AND patient_ack_at IS NULL",
        )
        .bind(&sig.by)
        .bind(ts(sig.at))
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::conflict("cannot_acknowledge", "the patient acknowledges a signed version, once"));
        }
        tx.commit().await
    }

    async fn plans_awaiting(&self, org: OrganizationId, supervisor: UserId) -> Result<Vec<PlanVersion>> {
        self.load_plans(
            "p.organization_id = $1 AND p.supervisor_id = $2 AND p.clinician_signed_at IS NOT NULL AND p.supervisor_signed_at IS NULL",
            &[org.to_string(), supervisor.to_string()],
        )
        .await
    }
}

#[async_trait]
impl NoteStore for SqlStore {
    async fn note_settings(&self, org: OrganizationId) -> Result<NoteSettings> {
        self.q()?;
        let row = sqlx::query("SELECT settings FROM documentation_settings WHERE organization_id = $1")
            .bind(org.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => from_json(&r.text("settings")?),
            None => Ok(NoteSettings::default()),
        }
    }

    async fn save_note_settings(&self, org: OrganizationId, s: &NoteSettings, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(2)?;
        sqlx::query("DELETE FROM documentation_settings WHERE organization_id = $1")
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO documentation_settings (organization_id, settings, updated_at) VALUES ($1, $2, $3)")
            .bind(org.to_string())
            .bind(json(s)?)
            .bind(ts(self.now()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn save_notes(&self, org: OrganizationId, notes: &[SessionNote], audits: &[AuditEvent]) -> Result<()> {
        let mut tx = self.write().await?;
        for a in audits {
            append(self, &mut tx, a).await?;
        }
        let now = ts(self.now());
        for n in notes {
            self.q()?;
            let existing =
                sqlx::query("SELECT id, signed_at FROM session_notes WHERE session_id = $1 AND patient_id = $2 AND organization_id = $3")
                    .bind(n.session_id.to_string())
                    .bind(n.patient_id.to_string())
                    .bind(org.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            let id = match existing {
                Some(r) if r.opt_text("signed_at")?.is_some() => return Err(note_locked()),
                Some(r) => {
                    let id = r.text("id")?;
                    self.q_n(2)?;
                    sqlx::query(
                        "UPDATE session_notes SET kind = $1, format = $2, body = $3, attendance_only = $4, episode_id = $5, updated_at = $6, \
                         due_at = $7, signed_by = $8, signed_at = $9, cosign_required = $10, cosigner_id = $11 WHERE id = $12",
                    )
                    .bind(n.kind.code())
                    .bind(n.format.code())
                    .bind(json(&n.body)?)
                    .bind(n.attendance_only)
                    .bind(n.episode_id.map(|e| e.to_string()))
                    .bind(&now)
                    .bind(ts(n.due_at))
                    .bind(n.signed_by.map(|u| u.to_string()))
                    .bind(n.signed_at.map(ts))
                    .bind(n.cosign_required)
                    .bind(n.cosigner_id.map(|u| u.to_string()))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(locked_or)?;
                    sqlx::query("DELETE FROM note_objectives WHERE note_id = $1").bind(&id).execute(&mut *tx).await.map_err(db_err)?;
                    id
                }
                None => {
                    self.q()?;
                    sqlx::query(
                        "INSERT INTO session_notes (id, organization_id, session_id, patient_id, episode_id, kind, format, body, attendance_only, \
                         author_id, created_at, updated_at, due_at, signed_by, signed_at, cosign_required, cosigner_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                    )
                    .bind(n.id.to_string())
                    .bind(org.to_string())
                    .bind(n.session_id.to_string())
                    .bind(n.patient_id.to_string())
                    .bind(n.episode_id.map(|e| e.to_string()))
                    .bind(n.kind.code())
                    .bind(n.format.code())
                    .bind(json(&n.body)?)
                    .bind(n.attendance_only)
                    .bind(n.author_id.to_string())
                    .bind(ts(n.created_at))
                    .bind(&now)
                    .bind(ts(n.due_at))
                    .bind(n.signed_by.map(|u| u.to_string()))
                    .bind(n.signed_at.map(ts))
                    .bind(n.cosign_required)
                    .bind(n.cosigner_id.map(|u| u.to_string()))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| unique_or(e, "note_exists", "this patient already has a note for this session"))?;
                    n.id.to_string()
                }
            };
            for o in &n.objectives {
                self.q()?;
                sqlx::query("INSERT INTO note_objectives (note_id, objective_id) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(o.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        tx.commit().await
    }

    async fn note(&self, org: OrganizationId, id: NoteId) -> Result<SessionNote> {
        self.load_notes("n.organization_id = $1 AND n.id = $2", &[org.to_string(), id.to_string()])
            .await?
            .pop()
            .ok_or(DomainError::NotFound("note"))
    }

    async fn session_notes(&self, org: OrganizationId, sessions: &[SessionId]) -> Result<Vec<SessionNote>> {
        if sessions.is_empty() {
            return Ok(vec![]);
        }
        let clause = format!("n.organization_id = $1 AND n.session_id IN ({})", placeholders(2, sessions.len()));
        let mut binds = vec![org.to_string()];
        binds.extend(sessions.iter().map(|s| s.to_string()));
        self.load_notes(&clause, &binds).await
    }

    async fn patient_notes(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<SessionNote>> {
        self.load_notes("n.organization_id = $1 AND n.patient_id = $2", &[org.to_string(), patient.to_string()]).await
    }

    async fn sign_notes(
        &self,
        org: OrganizationId,
        ids: &[NoteId],
        by: UserId,
        at: DateTime<Utc>,
        cosigner: Option<UserId>,
        audits: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for a in audits {
            append(self, &mut tx, a).await?;
        }
        for id in ids {
            self.q()?;
            let done = sqlx::query(
                "UPDATE session_notes SET signed_by = $1, signed_at = $2, cosign_required = $3, cosigner_id = $4 \
                 WHERE id = $5 AND organization_id = $6 AND signed_at IS NULL",
            )
            .bind(by.to_string())
            .bind(ts(at))
            .bind(cosigner.is_some())
            .bind(cosigner.map(|u| u.to_string()))
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(locked_or)?;
            if done.rows_affected() == 0 {
                return Err(note_locked());
            }
        }
        tx.commit().await
    }

    async fn cosign_note(&self, org: OrganizationId, id: NoteId, at: DateTime<Utc>, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query(
            "UPDATE session_notes SET cosigned_at = $1 WHERE id = $2 AND organization_id = $3 AND signed_at IS NOT NULL \
             AND cosign_required = $4 AND cosigned_at IS NULL",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(true)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::conflict("nothing_to_cosign", "this note is not awaiting a co-signature"));
        }
        tx.commit().await
    }

    async fn add_addendum(&self, org: OrganizationId, note: NoteId, a: Addendum, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query(
            "INSERT INTO note_addenda (id, note_id, author_id, author, text, created_at) \
             SELECT $1, id, $2, $3, $4, $5 FROM session_notes WHERE id = $6 AND organization_id = $7",
        )
        .bind(a.id.to_string())
        .bind(a.author_id.to_string())
        .bind(&a.author)
        .bind(&a.text)
        .bind(ts(a.at))
        .bind(note.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await
    }

    async fn notes_awaiting(&self, org: OrganizationId, cosigner: UserId) -> Result<Vec<SessionNote>> {
        self.load_notes(
            "n.organization_id = $1 AND n.cosigner_id = $2 AND n.signed_at IS NOT NULL AND n.cosigned_at IS NULL",
            &[org.to_string(), cosigner.to_string()],
        )
        .await
    }

    async fn overdue_notes(&self, org: OrganizationId, now: DateTime<Utc>) -> Result<Vec<SessionNote>> {
        self.load_notes("n.organization_id = $1 AND n.signed_at IS NULL AND n.due_at < $2", &[org.to_string(), ts(now)]).await
    }
}
