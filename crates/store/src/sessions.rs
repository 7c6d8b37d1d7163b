//! Staff sessions and personal API tokens.
use crate::audit::append;
use crate::rows::{Get, ts};
use crate::users::{USER_COLUMNS, user};
use crate::{SqlStore, db_err};
use chrono::{DateTime, Utc};
use openiop_domain::audit::AuditEvent;
use openiop_domain::ids::{TokenId, UserId};
use openiop_domain::users::{ApiToken, SessionStage, StaffSession, User};
use openiop_domain::{DomainError, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

pub(crate) async fn insert_session(store: &SqlStore, conn: &mut AnyConnection, s: &StaffSession) -> Result<()> {
    store.q()?;
    sqlx::query(
        "INSERT INTO staff_sessions (id_hash, user_id, stage, csrf_token, created_at, last_seen_at, pending_totp_secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&s.id_hash)
    .bind(s.user_id.to_string())
    .bind(s.stage.as_str())
    .bind(&s.csrf_token)
    .bind(ts(s.created_at))
    .bind(ts(s.last_seen_at))
    .bind(s.pending_totp_secret.clone())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn session(r: &AnyRow) -> Result<StaffSession> {
    Ok(StaffSession {
        id_hash: r.text("id_hash")?,
        user_id: r.parsed("user_id")?,
        stage: SessionStage::parse(&r.text("stage")?),
        csrf_token: r.text("csrf_token")?,
        created_at: r.time("created_at")?,
        last_seen_at: r.time("last_seen_at")?,
        pending_totp_secret: r.opt_text("pending_totp_secret")?,
    })
}

fn token(r: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.parsed("token_id")?,
        user_id: r.parsed("token_user_id")?,
        name: r.text("token_name")?,
        created_at: r.time("token_created_at")?,
        last_used_at: r.opt_time("token_last_used_at")?,
        revoked_at: r.opt_time("token_revoked_at")?,
    })
}

const TOKEN_COLUMNS: &str = "t.id AS token_id, t.user_id AS token_user_id, t.name AS token_name, t.created_at AS token_created_at, \
                             t.last_used_at AS token_last_used_at, t.revoked_at AS token_revoked_at";

impl SqlStore {
    /// Starts a signed-in session: the failure count is cleared and the pre-MFA session (if
    /// any) replaced, in one transaction.
    pub(crate) async fn login_succeeded(&self, user: UserId, replacing: Option<&str>, s: &StaffSession, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(old) = replacing {
            self.q()?;
            sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1").bind(old).execute(&mut *tx).await.map_err(db_err)?;
        }
        insert_session(self, &mut tx, s).await?;
        tx.commit().await
    }

    pub(crate) async fn get_session(&self, id_hash: &str) -> Result<Option<StaffSession>> {
        self.q()?;
        let r = sqlx::query(
            "SELECT id_hash, user_id, stage, csrf_token, created_at, last_seen_at, pending_totp_secret FROM staff_sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        r.as_ref().map(session).transpose()
    }

    /// A session with its user and whether the user's organization is the demo: one statement
    /// for what every signed-in page needs first.
    pub(crate) async fn get_session_user(&self, id_hash: &str) -> Result<Option<(StaffSession, User, bool)>> {
        self.q()?;
        let r = sqlx::query(crate::sql(format!(
            "SELECT s.id_hash, s.user_id, s.stage, s.csrf_token, s.created_at, s.last_seen_at, s.pending_totp_secret, {USER_COLUMNS}, \
             o.is_demo FROM staff_sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.organization_id \
             WHERE s.id_hash = $1"
        )))
        .bind(id_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some((session(&r)?, user(&r)?, r.flag("is_demo")?)))
    }

    pub(crate) async fn touch(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.q()?;
        sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(ts(now))
            .bind(id_hash)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn pending_totp(&self, id_hash: &str, secret: Option<&str>) -> Result<()> {
        self.q()?;
        sqlx::query("UPDATE staff_sessions SET pending_totp_secret = $1 WHERE id_hash = $2")
            .bind(secret.map(str::to_string))
            .bind(id_hash)
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn rotate(&self, old: &str, new: &StaffSession, audit: Option<AuditEvent>) -> Result<()> {
        let mut tx = self.write().await?;
        if let Some(a) = &audit {
            append(self, &mut tx, a).await?;
        }
        self.q()?;
        sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1").bind(old).execute(&mut *tx).await.map_err(db_err)?;
        insert_session(self, &mut tx, new).await?;
        tx.commit().await
    }

    pub(crate) async fn end(&self, id_hash: &str, audit: Option<AuditEvent>) -> Result<()> {
        let mut tx = self.write().await?;
        if let Some(a) = &audit {
            append(self, &mut tx, a).await?;
        }
        self.q()?;
        sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1").bind(id_hash).execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await
    }

    pub(crate) async fn end_expired(&self, idle_before: DateTime<Utc>, created_before: DateTime<Utc>) -> Result<u64> {
        self.q()?;
        let done = sqlx::query("DELETE FROM staff_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(ts(idle_before))
            .bind(ts(created_before))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn insert_token(&self, user: UserId, name: &str, hash: &str, mut audit: AuditEvent) -> Result<ApiToken> {
        let t = ApiToken {
            id: TokenId::new(),
            user_id: user,
            name: name.to_string(),
            created_at: self.now(),
            last_used_at: None,
            revoked_at: None,
        };
        audit.resource_id = Some(t.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(t.id.to_string())
            .bind(user.to_string())
            .bind(name)
            .bind(hash)
            .bind(ts(t.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await?;
        Ok(t)
    }

    pub(crate) async fn token_user(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>> {
        self.q()?;
        let r = sqlx::query(crate::sql(format!(
            "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = $2"
        )))
        .bind(hash)
        .bind(true)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let Some(r) = r else { return Ok(None) };
        let t = token(&r)?;
        // Last use is recorded at most once a minute, to keep reads cheap.
        if t.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            self.q()?;
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ts(now))
                .bind(t.id.to_string())
                .execute(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
        }
        Ok(Some((t, user(&r)?)))
    }

    pub(crate) async fn list_tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        self.q()?;
        let rows =
            sqlx::query(crate::sql(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.created_at DESC")))
                .bind(user.to_string())
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
        rows.iter().map(token).collect()
    }

    pub(crate) async fn revoke(&self, user: UserId, id: TokenId, audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(ts(self.now()))
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("token"));
        }
        tx.commit().await
    }
}
