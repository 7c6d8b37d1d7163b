//! Programs, tracks, rooms, the service catalogue, staff profiles and credentials.
use crate::audit::append;
use crate::rows::{Get, date, parse_date, ts};
use crate::{SqlStore, db_err, sql, unique_or};
use async_trait::async_trait;
use chrono::{NaiveTime, Weekday};
use openiop_domain::audit::AuditEvent;
use openiop_domain::auth::Scope;
use openiop_domain::ids::{OrganizationId, ProgramId, SiteId, UserId};
use openiop_domain::programs::*;
use openiop_domain::tenancy::{Slug, UsState};
use openiop_domain::{DomainError, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

fn codes<T: Copy>(items: &[T], code: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|i| code(*i)).collect::<Vec<_>>().join(",")
}

fn parse_list<T>(s: &str, parse: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    s.split(',').filter(|x| !x.is_empty()).map(parse).collect()
}

/// Seeds an organization's default service catalogue (inside the caller's transaction).
pub(crate) async fn seed_service_catalogue(store: &SqlStore, conn: &mut AnyConnection, org: OrganizationId) -> Result<()> {
    for (code, name, minutes, counts, group, family, billing, permitted) in default_service_catalogue() {
        store.q()?;
        sqlx::query(
            "INSERT INTO service_types (id, organization_id, code, name, default_minutes, counts_toward_hours, is_group, family_allowed, billing_codes, permitted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(ServiceTypeId::new().to_string())
        .bind(org.to_string())
        .bind(code)
        .bind(name)
        .bind(minutes as i64)
        .bind(counts)
        .bind(group)
        .bind(family)
        .bind(billing)
        .bind(codes(&permitted, CredentialType::code))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

fn room(r: &AnyRow) -> Result<Room> {
    Ok(Room {
        id: r.parsed("id")?,
        site_id: r.parsed("site_id")?,
        name: r.text("name")?,
        kind: RoomKind::parse(&r.text("kind")?)?,
        capacity: r.int("capacity")? as u32,
        notes: r.text("notes")?,
    })
}

fn service_type(r: &AnyRow) -> Result<ServiceType> {
    Ok(ServiceType {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        code: r.text("code")?,
        name: r.text("name")?,
        default_minutes: r.int("default_minutes")? as u32,
        counts_toward_hours: r.flag("counts_toward_hours")?,
        is_group: r.flag("is_group")?,
        family_allowed: r.flag("family_allowed")?,
        billing_codes: r.text("billing_codes")?,
        permitted: parse_list(&r.text("permitted")?, CredentialType::parse)?,
    })
}

const PROGRAM_COLUMNS: &str = "id, organization_id, site_id, name, slug, condition_focus, population, level_edition, level_code, weekly_hours, \
                               expected_days_min, expected_days_max, delivery_modes, plan_review_days, group_cap, clinical_lead_id";

fn program(r: &AnyRow) -> Result<Program> {
    Ok(Program {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        site_id: r.parsed("site_id")?,
        name: r.text("name")?,
        slug: Slug::parse(&r.text("slug")?)?,
        condition_focus: ConditionFocus::parse(&r.text("condition_focus")?)?,
        population: Population::parse(&r.text("population")?)?,
        level_of_care: LevelOfCare { edition: r.text("level_edition")?, code: r.text("level_code")? },
        weekly_hours: r.try_get_f64("weekly_hours")?,
        expected_days_min: r.int("expected_days_min")? as u32,
        expected_days_max: r.int("expected_days_max")? as u32,
        delivery_modes: parse_list(&r.text("delivery_modes")?, DeliveryMode::parse)?,
        plan_review_days: r.int("plan_review_days")? as u32,
        group_cap: r.int("group_cap")? as u32,
        clinical_lead: r.opt_text("clinical_lead_id")?.map(|s| s.parse()).transpose()?,
    })
}

fn weekday_from(n: i64) -> Weekday {
    Weekday::try_from(n.clamp(0, 6) as u8).unwrap_or(Weekday::Mon)
}

fn template_session(r: &AnyRow) -> Result<(TrackId, TemplateSession)> {
    let start = NaiveTime::parse_from_str(&r.text("start_time")?, "%H:%M").map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok((
        r.parsed("track_id")?,
        TemplateSession {
            id: r.parsed("id")?,
            service_type_id: r.parsed("service_type_id")?,
            weekday: weekday_from(r.int("weekday")?),
            start,
            minutes: r.int("minutes")? as u32,
            room_id: r.opt_text("room_id")?.map(|s| s.parse()).transpose()?,
            is_virtual: r.flag("is_virtual")?,
            leader: r.opt_text("leader_id")?.map(|s| s.parse()).transpose()?,
            topic: r.text("topic")?,
            modality: r.opt_text("modality")?.map(|s| Modality::parse(&s)).transpose()?,
        },
    ))
}

fn credential(r: &AnyRow) -> Result<Credential> {
    Ok(Credential {
        id: r.parsed("id")?,
        user_id: r.parsed("user_id")?,
        kind: CredentialType::parse(&r.text("kind")?)?,
        number: r.text("number")?,
        state: UsState::parse(&r.text("state")?)?,
        board: r.text("board")?,
        issued_on: parse_date(&r.text("issued_on")?)?,
        expires_on: parse_date(&r.text("expires_on")?)?,
        verification: Verification::parse(&r.text("verification")?)?,
        verified_by: r.opt_text("verified_by")?.map(|s| s.parse()).transpose()?,
        verified_at: r.opt_time("verified_at")?,
    })
}

impl SqlStore {
    async fn write_program(&self, org: OrganizationId, id: ProgramId, p: &NewProgram, audit: &AuditEvent, insert: bool) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, audit).await?;
        self.q_n(2)?;
        let site_ok = sqlx::query("SELECT id FROM sites WHERE id = $1 AND organization_id = $2")
            .bind(p.site_id.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if site_ok.is_none() {
            return Err(DomainError::field("site_id", "unknown_site", "is not a site of this organization"));
        }
        let q = if insert {
            "INSERT INTO programs (site_id, name, slug, condition_focus, population, level_edition, level_code, weekly_hours, expected_days_min, \
             expected_days_max, delivery_modes, plan_review_days, group_cap, clinical_lead_id, id, organization_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        } else {
            "UPDATE programs SET site_id = $1, name = $2, slug = $3, condition_focus = $4, population = $5, level_edition = $6, level_code = $7, \
             weekly_hours = $8, expected_days_min = $9, expected_days_max = $10, delivery_modes = $11, plan_review_days = $12, group_cap = $13, \
             clinical_lead_id = $14 WHERE id = $15 AND organization_id = $16"
        };
        let mut q = sqlx::query(q)
            .bind(p.site_id.to_string())
            .bind(&p.name)
            .bind(p.slug.as_str())
            .bind(p.condition_focus.code())
            .bind(p.population.code())
            .bind(&p.level_of_care.edition)
            .bind(&p.level_of_care.code)
            .bind(p.weekly_hours)
            .bind(p.expected_days_min as i64)
            .bind(p.expected_days_max as i64)
            .bind(codes(&p.delivery_modes, DeliveryMode::code))
            .bind(p.plan_review_days as i64)
            .bind(p.group_cap as i64)
            .bind(p.clinical_lead.map(|u| u.to_string()))
            .bind(id.to_string())
            .bind(org.to_string());
        if insert {
            q = q.bind(ts(self.now()));
        }
        let done =
            q.execute(&mut *tx).await.map_err(|e| unique_or(e, "slug_taken", "another program already uses this web address (slug)"))?;
        if !insert && done.rows_affected() == 0 {
            return Err(DomainError::NotFound("program"));
        }
        tx.commit().await
    }

    async fn templates_for(&self, org: OrganizationId, track_ids: &[TrackId]) -> Result<Vec<(TrackId, TemplateSession)>> {
        if track_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.q()?;
        let rows = sqlx::query(
            "SELECT s.id, s.track_id, s.service_type_id, s.weekday, s.start_time, s.minutes, s.room_id, s.is_virtual, s.leader_id, s.topic, s.modality \
             FROM template_sessions s WHERE s.organization_id = $1 ORDER BY s.weekday, s.start_time",
        )
        .bind(org.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let all = rows.iter().map(template_session).collect::<Result<Vec<_>>>()?;
        Ok(all.into_iter().filter(|(t, _)| track_ids.contains(t)).collect())
    }
}

#[async_trait]
impl ProgramStore for SqlStore {
    async fn set_video_base_url(&self, org: OrganizationId, url: Option<&str>, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query("UPDATE organizations SET video_base_url = $1 WHERE id = $2")
            .bind(url.map(str::to_string))
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn video_base_url(&self, org: OrganizationId) -> Result<Option<String>> {
        self.q()?;
        let r = sqlx::query("SELECT video_base_url FROM organizations WHERE id = $1")
            .bind(org.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        Ok(match r {
            Some(r) => r.opt_text("video_base_url")?,
            None => None,
        })
    }

    async fn create_room(&self, org: OrganizationId, site: SiteId, n: NewRoom, mut audit: AuditEvent) -> Result<Room> {
        let room = Room { id: RoomId::new(), site_id: site, name: n.name, kind: n.kind, capacity: n.capacity, notes: n.notes };
        audit.resource_id = Some(room.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(2)?;
        let ok = sqlx::query("SELECT id FROM sites WHERE id = $1 AND organization_id = $2")
            .bind(site.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if ok.is_none() {
            return Err(DomainError::NotFound("site"));
        }
        sqlx::query("INSERT INTO rooms (id, organization_id, site_id, name, kind, capacity, notes) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(room.id.to_string())
            .bind(org.to_string())
            .bind(site.to_string())
            .bind(&room.name)
            .bind(room.kind.code())
            .bind(room.capacity as i64)
            .bind(&room.notes)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_or(e, "room_name_taken", "this site already has a room with that name"))?;
        tx.commit().await?;
        Ok(room)
    }

    async fn rooms(&self, org: OrganizationId) -> Result<Vec<Room>> {
        self.reference("rooms", org.to_string(), || async move {
            self.q()?;
            let rows = sqlx::query("SELECT id, site_id, name, kind, capacity, notes FROM rooms WHERE organization_id = $1 ORDER BY name")
                .bind(org.to_string())
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            rows.iter().map(room).collect()
        })
        .await
    }

    async fn service_types(&self, org: OrganizationId) -> Result<Vec<ServiceType>> {
        self.reference("service_types", org.to_string(), || async move {
            self.q()?;
            let rows = sqlx::query(
                "SELECT id, organization_id, code, name, default_minutes, counts_toward_hours, is_group, family_allowed, billing_codes, permitted \
                 FROM service_types WHERE organization_id = $1 ORDER BY name",
            )
            .bind(org.to_string())
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
            rows.iter().map(service_type).collect()
        })
        .await
    }

    async fn create_program(&self, org: OrganizationId, p: NewProgram, mut audit: AuditEvent) -> Result<Program> {
        let id = ProgramId::new();
        audit.resource_id = Some(id.to_string());
        self.write_program(org, id, &p, &audit, true).await?;
        self.program(org, id).await
    }

    async fn update_program(&self, org: OrganizationId, id: ProgramId, p: NewProgram, mut audit: AuditEvent) -> Result<Program> {
        audit.resource_id = Some(id.to_string());
        self.write_program(org, id, &p, &audit, false).await?;
        self.program(org, id).await
    }

    async fn programs(&self, org: OrganizationId) -> Result<Vec<Program>> {
        self.reference("programs", org.to_string(), || async move {
            self.q()?;
            let rows = sqlx::query(sql(format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE organization_id = $1 ORDER BY name")))
                .bind(org.to_string())
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            rows.iter().map(program).collect()
        })
        .await
    }

    async fn program(&self, org: OrganizationId, id: ProgramId) -> Result<Program> {
        self.q()?;
        let r = sqlx::query(sql(format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE organization_id = $1 AND id = $2")))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.as_ref().map(program).transpose()?.ok_or(DomainError::NotFound("program"))
    }

    async fn program_by_slug(&self, slug: &str) -> Result<Option<Program>> {
        self.q()?;
        let r = sqlx::query(sql(format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE slug = $1")))
            .bind(slug)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.as_ref().map(program).transpose()
    }

    async fn create_track(
        &self,
        org: OrganizationId,
        program_id: ProgramId,
        name: &str,
        mode: DeliveryMode,
        mut audit: AuditEvent,
    ) -> Result<Track> {
        let name = openiop_domain::tenancy::required_text("name", name, 80)?;
        let program = self.program(org, program_id).await?;
        let track = Track { id: TrackId::new(), program_id: program.id, name, delivery_mode: mode, template: Vec::new() };
        audit.resource_id = Some(track.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query("INSERT INTO tracks (id, organization_id, program_id, name, delivery_mode) VALUES ($1, $2, $3, $4, $5)")
            .bind(track.id.to_string())
            .bind(org.to_string())
            .bind(program.id.to_string())
            .bind(&track.name)
            .bind(mode.code())
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_or(e, "track_name_taken", "this program already has a track with that name"))?;
        tx.commit().await?;
        Ok(track)
    }

    async fn add_template_session(&self, org: OrganizationId, track: TrackId, s: TemplateSession, mut audit: AuditEvent) -> Result<()> {
        audit.resource_id = Some(s.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(4)?;
        let owned = |table: &'static str, id: String| {
            let q = format!("SELECT id FROM {table} WHERE id = $1 AND organization_id = $2");
            (q, id)
        };
        let mut checks = vec![owned("tracks", track.to_string()), owned("service_types", s.service_type_id.to_string())];
        if let Some(r) = s.room_id {
            checks.push(owned("rooms", r.to_string()));
        }
        if let Some(l) = s.leader {
            checks.push(owned("users", l.to_string()));
        }
        for (q, id) in checks {
            let found = sqlx::query(sql(q.clone())).bind(&id).bind(org.to_string()).fetch_optional(&mut *tx).await.map_err(db_err)?;
            if found.is_none() {
                let field = if q.contains("tracks") {
                    return Err(DomainError::NotFound("track"));
                } else if q.contains("service_types") {
                    "service_type_id"
                } else if q.contains("rooms") {
                    "room_id"
                } else {
                    "leader_id"
                };
                return Err(DomainError::field(field, "unknown_reference", "is not one of this organization's"));
            }
        }
        sqlx::query(
            "INSERT INTO template_sessions (id, organization_id, track_id, service_type_id, weekday, start_time, minutes, room_id, is_virtual, leader_id, topic, modality) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(s.id.to_string())
        .bind(org.to_string())
        .bind(track.to_string())
        .bind(s.service_type_id.to_string())
        .bind(s.weekday.num_days_from_monday() as i64)
        .bind(s.start.format("%H:%M").to_string())
        .bind(s.minutes as i64)
        .bind(s.room_id.map(|r| r.to_string()))
        .bind(s.is_virtual)
        .bind(s.leader.map(|l| l.to_string()))
        .bind(&s.topic)
        .bind(s.modality.map(|m| m.code().to_string()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await
    }

    async fn remove_template_session(&self, org: OrganizationId, id: TemplateSessionId, mut audit: AuditEvent) -> Result<()> {
        audit.resource_id = Some(id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query("DELETE FROM template_sessions WHERE id = $1 AND organization_id = $2")
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("template session"));
        }
        tx.commit().await
    }

    async fn tracks(&self, org: OrganizationId, program: Option<ProgramId>) -> Result<Vec<Track>> {
        self.reference("tracks", format!("{org}/{program:?}"), || async move {
            self.q()?;
            let rows = sqlx::query("SELECT id, program_id, name, delivery_mode FROM tracks WHERE organization_id = $1 ORDER BY name")
                .bind(org.to_string())
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            let mut tracks = Vec::new();
            for r in &rows {
                let t = Track {
                    id: r.parsed("id")?,
                    program_id: r.parsed("program_id")?,
                    name: r.text("name")?,
                    delivery_mode: DeliveryMode::parse(&r.text("delivery_mode")?)?,
                    template: Vec::new(),
                };
                if program.is_none_or(|p| p == t.program_id) {
                    tracks.push(t);
                }
            }
            let ids: Vec<TrackId> = tracks.iter().map(|t| t.id).collect();
            for (track, s) in self.templates_for(org, &ids).await? {
                if let Some(t) = tracks.iter_mut().find(|t| t.id == track) {
                    t.template.push(s);
                }
            }
            Ok(tracks)
        })
        .await
    }

    async fn track(&self, org: OrganizationId, id: TrackId) -> Result<Track> {
        self.tracks(org, None).await?.into_iter().find(|t| t.id == id).ok_or(DomainError::NotFound("track"))
    }

    async fn save_staff_profile(&self, org: OrganizationId, user: UserId, p: StaffProfileUpdate, mut audit: AuditEvent) -> Result<()> {
        audit.resource_id = Some(user.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(3)?;
        for (id, what) in [(Some(user), "user"), (p.supervisor_id, "supervisor")] {
            if let Some(id) = id {
                let found = sqlx::query("SELECT id FROM users WHERE id = $1 AND organization_id = $2")
                    .bind(id.to_string())
                    .bind(org.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if found.is_none() {
                    return if what == "user" {
                        Err(DomainError::NotFound("staff member"))
                    } else {
                        Err(DomainError::field("supervisor_id", "unknown_reference", "is not a staff member of this organization"))
                    };
                }
            }
        }
        if p.supervisor_id == Some(user) {
            return Err(DomainError::field("supervisor_id", "self_supervision", "a staff member cannot supervise themselves"));
        }
        sqlx::query("DELETE FROM staff_profiles WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO staff_profiles (user_id, organization_id, discipline, telehealth_trained, telehealth_years, modalities, availability, max_caseload, supervisor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.to_string())
        .bind(org.to_string())
        .bind(&p.discipline)
        .bind(p.telehealth_trained)
        .bind(p.telehealth_years as i64)
        .bind(codes(&p.modalities, Modality::code))
        .bind(p.availability.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("\n"))
        .bind(p.max_caseload as i64)
        .bind(p.supervisor_id.map(|s| s.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await
    }

    async fn add_credential(&self, org: OrganizationId, user: UserId, n: NewCredential, mut audit: AuditEvent) -> Result<Credential> {
        let c = Credential {
            id: CredentialId::new(),
            user_id: user,
            kind: n.kind,
            number: n.number,
            state: n.state,
            board: n.board,
            issued_on: n.issued_on,
            expires_on: n.expires_on,
            verification: Verification::Unverified,
            verified_by: None,
            verified_at: None,
        };
        audit.resource_id = Some(c.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(2)?;
        let found = sqlx::query("SELECT id FROM users WHERE id = $1 AND organization_id = $2")
            .bind(user.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(DomainError::NotFound("staff member"));
        }
        sqlx::query(
            "INSERT INTO credentials (id, organization_id, user_id, kind, number, state, board, issued_on, expires_on, verification) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(c.id.to_string())
        .bind(org.to_string())
        .bind(user.to_string())
        .bind(c.kind.code())
        .bind(&c.number)
        .bind(c.state.as_str())
        .bind(&c.board)
        .bind(date(c.issued_on))
        .bind(date(c.expires_on))
        .bind(c.verification.code())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(c)
    }

    async fn verify_credential(
        &self,
        org: OrganizationId,
        id: CredentialId,
        status: Verification,
        by: UserId,
        mut audit: AuditEvent,
    ) -> Result<()> {
        audit.resource_id = Some(id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query(
            "UPDATE credentials SET verification = $1, verified_by = $2, verified_at = $3 WHERE id = $4 AND organization_id = $5",
        )
        .bind(status.code())
        .bind(by.to_string())
        .bind(ts(self.now()))
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("credential"));
        }
        tx.commit().await
    }

    async fn staff_profiles(&self, org: OrganizationId) -> Result<Vec<StaffProfile>> {
        self.q_n(2)?;
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.scope, p.discipline, p.telehealth_trained, p.telehealth_years, p.modalities, p.availability, p.max_caseload, p.supervisor_id \
             FROM users u LEFT JOIN staff_profiles p ON p.user_id = u.id \
             WHERE u.organization_id = $1 AND (p.user_id IS NOT NULL OR EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id)) ORDER BY u.name",
        )
        .bind(org.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let creds = sqlx::query(
            "SELECT id, user_id, kind, number, state, board, issued_on, expires_on, verification, verified_by, verified_at \
             FROM credentials WHERE organization_id = $1 ORDER BY expires_on",
        )
        .bind(org.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let creds = creds.iter().map(credential).collect::<Result<Vec<_>>>()?;
        rows.iter()
            .map(|r| {
                let user_id: UserId = r.parsed("id")?;
                let _scope = Scope::parse(&r.text("scope")?)?;
                Ok(StaffProfile {
                    user_id,
                    name: r.text("name")?,
                    discipline: r.opt_text("discipline")?.unwrap_or_default(),
                    telehealth_trained: r.opt_flag("telehealth_trained")?.unwrap_or(false),
                    telehealth_years: r.opt_int("telehealth_years")?.unwrap_or(0) as u32,
                    modalities: parse_list(&r.opt_text("modalities")?.unwrap_or_default(), Modality::parse)?,
                    availability: WeeklyWindow::parse_lines(&r.opt_text("availability")?.unwrap_or_default())?,
                    max_caseload: r.opt_int("max_caseload")?.unwrap_or(0) as u32,
                    supervisor_id: r.opt_text("supervisor_id")?.map(|s| s.parse()).transpose()?,
                    credentials: creds.iter().filter(|c| c.user_id == user_id).cloned().collect(),
                })
            })
            .collect()
    }
}
