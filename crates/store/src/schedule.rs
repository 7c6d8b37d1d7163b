//! Sessions, participation, attendance, closures and calendar feeds.
use crate::audit::append;
use crate::rows::{Get, date, parse_date, ts};
use crate::{Engine, SqlStore, bound, db_err, sql, unique_or};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use openiop_domain::audit::AuditEvent;
use openiop_domain::ids::{OrganizationId, SiteId};
use openiop_domain::patients::PatientId;
use openiop_domain::programs::{Modality, TrackId};
use openiop_domain::schedule::*;
use openiop_domain::{DomainError, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

const SESSION_COLUMNS: &str = "s.id, s.organization_id, s.site_id, s.program_id, s.track_id, s.template_id, s.service_type_id, s.starts_at, s.ends_at, \
                               s.local_date, s.room_id, s.is_virtual, s.virtual_token, s.capacity, s.topic, s.modality, s.status, s.cancel_reason";

fn session_row(r: &AnyRow) -> Result<Session> {
    Ok(Session {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        site_id: r.parsed("site_id")?,
        program_id: r.opt_text("program_id")?.map(|s| s.parse()).transpose()?,
        track_id: r.opt_text("track_id")?.map(|s| s.parse()).transpose()?,
        template_id: r.opt_text("template_id")?.map(|s| s.parse()).transpose()?,
        service_type_id: r.parsed("service_type_id")?,
        starts_at: r.time("starts_at")?,
        ends_at: r.time("ends_at")?,
        local_date: parse_date(&r.text("local_date")?)?,
        room_id: r.opt_text("room_id")?.map(|s| s.parse()).transpose()?,
        is_virtual: r.flag("is_virtual")?,
        virtual_token: r.opt_text("virtual_token")?,
        leaders: vec![],
        participants: vec![],
        family: vec![],
        capacity: r.int("capacity")? as u32,
        topic: r.text("topic")?,
        modality: r.opt_text("modality")?.map(|m| Modality::parse(&m)).transpose()?,
        status: SessionStatus::parse(&r.text("status")?)?,
        cancel_reason: r.text("cancel_reason")?,
    })
}

async fn insert_people(store: &SqlStore, conn: &mut AnyConnection, s: &Session) -> Result<()> {
    for l in &s.leaders {
        store.q()?;
        sqlx::query("INSERT INTO session_leaders (session_id, user_id) VALUES ($1, $2)")
            .bind(s.id.to_string())
            .bind(l.to_string())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for p in &s.participants {
        store.q()?;
        sqlx::query("INSERT INTO session_participants (session_id, patient_id) VALUES ($1, $2)")
            .bind(s.id.to_string())
            .bind(p.to_string())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for (p, c) in &s.family {
        store.q()?;
        sqlx::query("INSERT INTO session_family (session_id, patient_id, collateral_id) VALUES ($1, $2, $3)")
            .bind(s.id.to_string())
            .bind(p.to_string())
            .bind(c.to_string())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Inserts one session with its people (inside the caller's transaction).
async fn insert_session(store: &SqlStore, conn: &mut AnyConnection, org: OrganizationId, s: &Session) -> Result<()> {
    store.q()?;
    sqlx::query(sql(format!(
        "INSERT INTO sessions ({}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        SESSION_COLUMNS.replace("s.", "")
    )))
    .bind(s.id.to_string())
    .bind(org.to_string())
    .bind(s.site_id.to_string())
    .bind(s.program_id.map(|x| x.to_string()))
    .bind(s.track_id.map(|x| x.to_string()))
    .bind(s.template_id.map(|x| x.to_string()))
    .bind(s.service_type_id.to_string())
    .bind(ts(s.starts_at))
    .bind(ts(s.ends_at))
    .bind(date(s.local_date))
    .bind(s.room_id.map(|x| x.to_string()))
    .bind(s.is_virtual)
    .bind(s.virtual_token.clone())
    .bind(s.capacity as i64)
    .bind(&s.topic)
    .bind(s.modality.map(|m| m.code().to_string()))
    .bind(s.status.code())
    .bind(&s.cancel_reason)
    .bind(ts(store.now()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    insert_people(store, conn, s).await
}

fn attendance_row(r: &AnyRow) -> Result<Attendance> {
    Ok(Attendance {
        session_id: r.parsed("session_id")?,
        patient_id: r.parsed("patient_id")?,
        version: r.int("version")?,
        status: AttendanceStatus::parse(&r.text("status")?)?,
        minutes: r.int("minutes")? as u32,
        mode: AttendanceMode::parse(&r.text("mode")?)?,
        recorded_by: r.parsed("recorded_by")?,
        recorded_at: r.time("recorded_at")?,
        note: r.text("note")?,
        credited_by_default: r.flag("credited_by_default")?,
    })
}

fn feed_row(r: &AnyRow) -> Result<CalendarFeed> {
    Ok(CalendarFeed {
        id: r.parsed("id")?,
        owner: FeedOwner::parse(&r.text("owner")?)?,
        owner_id: r.text("owner_id")?,
        created_at: r.time("created_at")?,
        revoked_at: r.opt_time("revoked_at")?,
    })
}

/// The `WHERE` clause (on `sessions s`) and its parameters for one session or the sessions
/// overlapping `[from, to)` that match `filter`: the filter is applied in SQL (an organization's
/// week at operator scale is thousands of sessions; a site's or a patient's is a few dozen).
/// `None`: nothing can match.
fn session_clause(
    org: OrganizationId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    one: Option<SessionId>,
    filter: &SessionFilter,
) -> Option<(String, Vec<String>)> {
    let mut binds: Vec<String> = vec![org.to_string()];
    let mut conds: Vec<String> = vec!["s.organization_id = $1".into()];
    let param = |binds: &mut Vec<String>, v: String| {
        binds.push(v);
        format!("${}", binds.len())
    };
    match one {
        Some(id) => {
            let p = param(&mut binds, id.to_string());
            conds.push(format!("s.id = {p}"));
        }
        None => {
            // Sessions last at most 12 hours (720 minutes, checked where they are made), so a
            // session overlapping the window starts at most a day before it: a lower bound on
            // `starts_at` keeps the time index range to the window instead of all history.
            let (a, b) = (param(&mut binds, ts(to)), param(&mut binds, ts(from)));
            let c = param(&mut binds, ts(from - chrono::Duration::days(1)));
            conds.push(format!("s.starts_at < {a} AND s.ends_at > {b} AND s.starts_at > {c}"));
            for (column, value) in [
                ("s.site_id", filter.site.map(|x| x.to_string())),
                ("s.program_id", filter.program.map(|x| x.to_string())),
                ("s.track_id", filter.track.map(|x| x.to_string())),
                ("s.room_id", filter.room.map(|x| x.to_string())),
            ] {
                if let Some(v) = value {
                    let p = param(&mut binds, v);
                    conds.push(format!("{column} = {p}"));
                }
            }
            if let Some(u) = filter.leader {
                let p = param(&mut binds, u.to_string());
                conds.push(format!("EXISTS (SELECT 1 FROM session_leaders f WHERE f.session_id = s.id AND f.user_id = {p})"));
            }
            if let Some((sites, programs)) = &filter.units {
                if sites.is_empty() && programs.is_empty() {
                    return None;
                }
                let mut any = Vec::new();
                for (column, ids) in [
                    ("s.site_id", sites.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
                    ("s.program_id", programs.iter().map(|x| x.to_string()).collect()),
                ] {
                    if !ids.is_empty() {
                        let list: Vec<String> = ids.into_iter().map(|v| param(&mut binds, v)).collect();
                        any.push(format!("{column} IN ({})", list.join(", ")));
                    }
                }
                conds.push(format!("({})", any.join(" OR ")));
            }
            // Driven by the participants' patient index: a patient's sessions, then the window.
            if let Some(p) = filter.patient {
                let p = param(&mut binds, p.to_string());
                conds.push(format!("s.id IN (SELECT f.session_id FROM session_participants f WHERE f.patient_id = {p})"));
            }
            if let Some(ps) = &filter.any_patient {
                if ps.is_empty() {
                    return None;
                }
                let list: Vec<String> = ps.iter().map(|p| param(&mut binds, p.to_string())).collect();
                conds
                    .push(format!("s.id IN (SELECT f.session_id FROM session_participants f WHERE f.patient_id IN ({}))", list.join(", ")));
            }
        }
    }
    Some((conds.join(" AND "), binds))
}

impl SqlStore {
    /// Sessions with their leaders, participants and family: four statements whatever their
    /// number (see [`session_clause`]).
    async fn load_sessions(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        one: Option<SessionId>,
        filter: &SessionFilter,
    ) -> Result<Vec<Session>> {
        let Some((clause, binds)) = session_clause(org, from, to, one, filter) else { return Ok(Vec::new()) };
        // One statement: each session's leaders, participants and family come aggregated into
        // one text column each, so a week of sessions is one row per session (the database
        // driver hands rows over one at a time; a few hundred participant rows per page cost
        // more in hand-offs than the query itself). Only the aggregate's name differs.
        let agg = match self.engine {
            Engine::Sqlite => "group_concat",
            Engine::Postgres => "string_agg",
        };
        self.q()?;
        let rows = bound(
            format!(
                "SELECT {SESSION_COLUMNS}, \
                 (SELECT {agg}(x.user_id, ',') FROM session_leaders x WHERE x.session_id = s.id) AS leader_ids, \
                 (SELECT {agg}(x.patient_id, ',') FROM session_participants x WHERE x.session_id = s.id) AS participant_ids, \
                 (SELECT {agg}(x.patient_id || ':' || x.collateral_id, ',') FROM session_family x WHERE x.session_id = s.id) AS family_ids \
                 FROM sessions s WHERE {clause} ORDER BY s.starts_at"
            ),
            &binds,
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut s = session_row(r)?;
            let list = |column: &str| -> Result<Vec<String>> {
                Ok(r.opt_text(column)?.map(|v| v.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default())
            };
            s.leaders = list("leader_ids")?.iter().map(|x| x.parse()).collect::<Result<_>>()?;
            s.participants = list("participant_ids")?.iter().map(|x| x.parse()).collect::<Result<_>>()?;
            for pair in list("family_ids")? {
                let (p, c) = pair.split_once(':').ok_or_else(|| DomainError::internal("session family pair"))?;
                s.family.push((p.parse()?, c.parse()?));
            }
            s.leaders.sort();
            s.participants.sort();
            out.push(s);
        }
        Ok(out)
    }
}

#[async_trait]
impl ScheduleStore for SqlStore {
    async fn create_sessions(&self, org: OrganizationId, sessions: &[Session], audit: AuditEvent) -> Result<usize> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        let mut created = 0;
        for s in sessions {
            if let Some(t) = s.template_id {
                self.q()?;
                let exists = sqlx::query("SELECT id FROM sessions WHERE template_id = $1 AND local_date = $2")
                    .bind(t.to_string())
                    .bind(date(s.local_date))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if exists.is_some() {
                    continue;
                }
            }
            insert_session(self, &mut tx, org, s).await?;
            created += 1;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn replace_sessions(
        &self,
        org: OrganizationId,
        cancel: &[SessionId],
        reason: &str,
        create: &[Session],
        audit: AuditEvent,
    ) -> Result<usize> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        for id in cancel {
            self.q()?;
            let done = sqlx::query("UPDATE sessions SET status = 'cancelled', cancel_reason = $1 WHERE id = $2 AND organization_id = $3 AND status = 'scheduled'")
                .bind(reason)
                .bind(id.to_string())
                .bind(org.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(DomainError::conflict("session_changed", "a session changed since the proposal was made; propose again"));
            }
        }
        for s in create {
            insert_session(self, &mut tx, org, s).await?;
        }
        tx.commit().await?;
        Ok(create.len())
    }

    async fn save_session(&self, org: OrganizationId, s: &Session, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(4)?;
        let done = sqlx::query(
            "UPDATE sessions SET starts_at = $1, ends_at = $2, local_date = $3, room_id = $4, is_virtual = $5, virtual_token = $6, capacity = $7, topic = $8, \
             modality = $9, status = $10, cancel_reason = $11, service_type_id = $12 WHERE id = $13 AND organization_id = $14",
        )
        .bind(ts(s.starts_at))
        .bind(ts(s.ends_at))
        .bind(date(s.local_date))
        .bind(s.room_id.map(|x| x.to_string()))
        .bind(s.is_virtual)
        .bind(s.virtual_token.clone())
        .bind(s.capacity as i64)
        .bind(&s.topic)
        .bind(s.modality.map(|m| m.code().to_string()))
        .bind(s.status.code())
        .bind(&s.cancel_reason)
        .bind(s.service_type_id.to_string())
        .bind(s.id.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("session"));
        }
        for table in ["session_leaders", "session_participants", "session_family"] {
            sqlx::query(sql(format!("DELETE FROM {table} WHERE session_id = $1")))
                .bind(s.id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        insert_people(self, &mut tx, s).await?;
        tx.commit().await
    }

    async fn scheduled_session(&self, org: OrganizationId, id: SessionId) -> Result<Session> {
        self.load_sessions(org, self.now(), self.now(), Some(id), &SessionFilter::default())
            .await?
            .pop()
            .ok_or(DomainError::NotFound("session"))
    }

    async fn sessions_between(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &SessionFilter,
    ) -> Result<Vec<Session>> {
        let all = self.load_sessions(org, from, to, None, filter).await?;
        Ok(all.into_iter().filter(|s| filter.matches(s)).collect())
    }

    async fn set_track_participation(
        &self,
        org: OrganizationId,
        track: TrackId,
        patient: PatientId,
        from: DateTime<Utc>,
        join: bool,
        audit: AuditEvent,
    ) -> Result<usize> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let rows = sqlx::query(
            "SELECT id FROM sessions WHERE organization_id = $1 AND track_id = $2 AND starts_at >= $3 AND status = 'scheduled'",
        )
        .bind(org.to_string())
        .bind(track.to_string())
        .bind(ts(from))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut changed = 0;
        for r in &rows {
            let sid = r.text("id")?;
            self.q()?;
            let done = if join {
                let exists = sqlx::query("SELECT session_id FROM session_participants WHERE session_id = $1 AND patient_id = $2")
                    .bind(&sid)
                    .bind(patient.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if exists.is_some() {
                    continue;
                }
                sqlx::query("INSERT INTO session_participants (session_id, patient_id) VALUES ($1, $2)")
                    .bind(&sid)
                    .bind(patient.to_string())
                    .execute(&mut *tx)
                    .await
            } else {
                sqlx::query("DELETE FROM session_participants WHERE session_id = $1 AND patient_id = $2")
                    .bind(&sid)
                    .bind(patient.to_string())
                    .execute(&mut *tx)
                    .await
            }
            .map_err(db_err)?;
            changed += done.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn record_attendance(&self, org: OrganizationId, records: &[Attendance], audits: &[AuditEvent]) -> Result<()> {
        let mut tx = self.write().await?;
        for a in audits {
            append(self, &mut tx, a).await?;
        }
        for a in records {
            self.q_n(2)?;
            let v = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM attendance WHERE session_id = $1 AND patient_id = $2")
                .bind(a.session_id.to_string())
                .bind(a.patient_id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .int("v")?;
            sqlx::query(
                "INSERT INTO attendance (organization_id, session_id, patient_id, version, status, minutes, mode, recorded_by, recorded_at, note, \
                 credited_by_default) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(org.to_string())
            .bind(a.session_id.to_string())
            .bind(a.patient_id.to_string())
            .bind(v + 1)
            .bind(a.status.code())
            .bind(a.minutes as i64)
            .bind(a.mode.code())
            .bind(a.recorded_by.to_string())
            .bind(ts(a.recorded_at))
            .bind(&a.note)
            .bind(a.credited_by_default)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await
    }

    async fn attendance_between(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &SessionFilter,
    ) -> Result<Vec<Attendance>> {
        let Some((clause, binds)) = session_clause(org, from, to, None, filter) else { return Ok(Vec::new()) };
        self.q()?;
        let rows = bound(
            format!(
                "SELECT a.session_id, a.patient_id, a.version, a.status, a.minutes, a.mode, a.recorded_by, a.recorded_at, a.note, a.credited_by_default \
                 FROM attendance a JOIN sessions s ON s.id = a.session_id WHERE {clause} AND a.organization_id = $1 ORDER BY a.version"
            ),
            &binds,
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(attendance_row).collect()
    }

    async fn attendance(&self, org: OrganizationId, sessions: &[SessionId]) -> Result<Vec<Attendance>> {
        if sessions.is_empty() {
            return Ok(vec![]);
        }
        // One query per 500 sessions, whatever the number of patients.
        let mut out = Vec::new();
        for chunk in sessions.chunks(500) {
            self.q()?;
            let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let mut q = sqlx::query(sql(format!(
                "SELECT session_id, patient_id, version, status, minutes, mode, recorded_by, recorded_at, note, credited_by_default FROM attendance \
                 WHERE organization_id = $1 AND session_id IN ({}) ORDER BY version",
                placeholders.join(", ")
            )))
            .bind(org.to_string());
            for s in chunk {
                q = q.bind(s.to_string());
            }
            for r in q.fetch_all(&mut *self.conn().await?).await.map_err(db_err)? {
                out.push(attendance_row(&r)?);
            }
        }
        Ok(out)
    }

    async fn add_closure(&self, org: OrganizationId, site: SiteId, on: NaiveDate, reason: &str, mut audit: AuditEvent) -> Result<Closure> {
        let c = Closure { id: ClosureId::new(), site_id: site, date: on, reason: reason.trim().to_string() };
        audit.resource_id = Some(c.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query("INSERT INTO closures (id, organization_id, site_id, closed_on, reason) VALUES ($1, $2, $3, $4, $5)")
            .bind(c.id.to_string())
            .bind(org.to_string())
            .bind(site.to_string())
            .bind(date(on))
            .bind(&c.reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_or(e, "closure_exists", "the site is already closed that day"))?;
        tx.commit().await?;
        Ok(c)
    }

    async fn closures(&self, org: OrganizationId, site: SiteId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Closure>> {
        self.q()?;
        let rows = sqlx::query("SELECT id, site_id, closed_on, reason FROM closures WHERE organization_id = $1 AND site_id = $2 AND closed_on >= $3 AND closed_on <= $4 ORDER BY closed_on")
            .bind(org.to_string())
            .bind(site.to_string())
            .bind(date(from))
            .bind(date(to))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Closure {
                    id: r.parsed("id")?,
                    site_id: r.parsed("site_id")?,
                    date: parse_date(&r.text("closed_on")?)?,
                    reason: r.text("reason")?,
                })
            })
            .collect()
    }

    async fn create_feed(
        &self,
        org: OrganizationId,
        owner: FeedOwner,
        owner_id: &str,
        token_hash: &str,
        mut audit: AuditEvent,
    ) -> Result<CalendarFeed> {
        let f = CalendarFeed { id: FeedId::new(), owner, owner_id: owner_id.to_string(), created_at: self.now(), revoked_at: None };
        audit.resource_id = Some(f.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query(
            "INSERT INTO calendar_feeds (id, organization_id, owner, owner_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(f.id.to_string())
        .bind(org.to_string())
        .bind(owner.code())
        .bind(owner_id)
        .bind(token_hash)
        .bind(ts(f.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(f)
    }

    async fn feed(&self, token_hash: &str) -> Result<Option<(OrganizationId, CalendarFeed)>> {
        self.q()?;
        let r = sqlx::query("SELECT id, organization_id, owner, owner_id, created_at, revoked_at FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        match r {
            Some(r) => Ok(Some((r.parsed("organization_id")?, feed_row(&r)?))),
            None => Ok(None),
        }
    }

    async fn feeds(&self, org: OrganizationId, owner: FeedOwner, owner_id: &str) -> Result<Vec<CalendarFeed>> {
        self.q()?;
        let rows = sqlx::query("SELECT id, owner, owner_id, created_at, revoked_at FROM calendar_feeds WHERE organization_id = $1 AND owner = $2 AND owner_id = $3 ORDER BY created_at DESC")
            .bind(org.to_string())
            .bind(owner.code())
            .bind(owner_id)
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        rows.iter().map(feed_row).collect()
    }

    async fn calendar_feed(&self, org: OrganizationId, id: FeedId) -> Result<Option<CalendarFeed>> {
        self.q()?;
        let r =
            sqlx::query("SELECT id, owner, owner_id, created_at, revoked_at FROM calendar_feeds WHERE organization_id = $1 AND id = $2")
                .bind(org.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
        r.as_ref().map(feed_row).transpose()
    }

    async fn revoke_feed(&self, org: OrganizationId, id: FeedId, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query("UPDATE calendar_feeds SET revoked_at = $1 WHERE id = $2 AND organization_id = $3 AND revoked_at IS NULL")
            .bind(ts(self.now()))
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("calendar feed"));
        }
        tx.commit().await
    }

    async fn record_population_exceptions(
        &self,
        org: OrganizationId,
        exceptions: &[PopulationException],
        audits: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for a in audits {
            append(self, &mut tx, a).await?;
        }
        for x in exceptions {
            self.q()?;
            sqlx::query(
                "INSERT INTO population_exceptions (id, organization_id, patient_id, program_id, episode_id, session_id, patient_population, \
                 reason, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(x.id.to_string())
            .bind(org.to_string())
            .bind(x.patient_id.to_string())
            .bind(x.program_id.to_string())
            .bind(x.episode_id.map(|e| e.to_string()))
            .bind(x.session_id.map(|e| e.to_string()))
            .bind(x.patient_population.code())
            .bind(&x.reason)
            .bind(x.recorded_by.to_string())
            .bind(ts(x.recorded_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await
    }

    async fn population_exceptions(&self, org: OrganizationId, patients: &[PatientId]) -> Result<Vec<PopulationException>> {
        let mut out = Vec::new();
        for chunk in patients.chunks(500) {
            self.q()?;
            let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let mut q = sqlx::query(sql(format!(
                "SELECT id, patient_id, program_id, episode_id, session_id, patient_population, reason, recorded_by, recorded_at \
                 FROM population_exceptions WHERE organization_id = $1 AND patient_id IN ({}) ORDER BY recorded_at",
                placeholders.join(", ")
            )))
            .bind(org.to_string());
            for p in chunk {
                q = q.bind(p.to_string());
            }
            for r in q.fetch_all(&mut *self.conn().await?).await.map_err(db_err)? {
                out.push(PopulationException {
                    id: r.parsed("id")?,
                    patient_id: r.parsed("patient_id")?,
                    program_id: r.parsed("program_id")?,
                    episode_id: r.opt_text("episode_id")?.map(|s| s.parse()).transpose()?,
                    session_id: r.opt_text("session_id")?.map(|s| s.parse()).transpose()?,
                    patient_population: openiop_domain::programs::Population::parse(&r.text("patient_population")?)?,
                    reason: r.text("reason")?,
                    recorded_by: r.parsed("recorded_by")?,
                    recorded_at: r.time("recorded_at")?,
                });
            }
        }
        Ok(out)
    }

    async fn remove_family(&self, org: OrganizationId, removals: &[FamilyRemoval], audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        for x in removals {
            self.q_n(2)?;
            sqlx::query("DELETE FROM session_family WHERE session_id = $1 AND patient_id = $2 AND collateral_id = $3")
                .bind(x.session_id.to_string())
                .bind(x.patient_id.to_string())
                .bind(x.collateral_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO family_removals (organization_id, consent_id, session_id, patient_id, collateral_id, removed_by, removed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org.to_string())
            .bind(x.consent_id.to_string())
            .bind(x.session_id.to_string())
            .bind(x.patient_id.to_string())
            .bind(x.collateral_id.to_string())
            .bind(x.removed_by.to_string())
            .bind(ts(x.removed_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await
    }

    async fn family_removals(&self, org: OrganizationId, patient: PatientId) -> Result<Vec<FamilyRemoval>> {
        self.q()?;
        let rows = sqlx::query(
            "SELECT consent_id, session_id, patient_id, collateral_id, removed_by, removed_at FROM family_removals \
             WHERE organization_id = $1 AND patient_id = $2 ORDER BY removed_at, session_id",
        )
        .bind(org.to_string())
        .bind(patient.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(FamilyRemoval {
                    consent_id: r.parsed("consent_id")?,
                    session_id: r.parsed("session_id")?,
                    patient_id: r.parsed("patient_id")?,
                    collateral_id: r.parsed("collateral_id")?,
                    removed_by: r.parsed("removed_by")?,
                    removed_at: r.time("removed_at")?,
                })
            })
            .collect()
    }
}
