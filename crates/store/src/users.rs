//! Staff accounts, sign-in state, MFA.
use crate::audit::append;
use crate::rows::{Get, ts};
use crate::{SqlStore, db_err, unique_or};
use chrono::{DateTime, Utc};
use openiop_domain::audit::AuditEvent;
use openiop_domain::auth::{Role, Scope};
use openiop_domain::ids::{OrganizationId, UserId};
use openiop_domain::users::{LockoutPolicy, NewUser, User, UserCredentials};
use openiop_domain::{DomainError, Result};
use sqlx::any::AnyRow;

pub(crate) const USER_COLUMNS: &str = "u.id, u.organization_id, u.email, u.name, u.roles, u.scope, u.mfa_exempt, u.active, \
                                       u.totp_secret IS NOT NULL AS mfa_enrolled";

pub(crate) fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn user(r: &AnyRow) -> Result<User> {
    let roles = r.text("roles")?.split(',').filter(|s| !s.is_empty()).map(str::parse).collect::<Result<Vec<Role>>>()?;
    Ok(User {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        email: r.text("email")?,
        name: r.text("name")?,
        roles,
        scope: Scope::parse(&r.text("scope")?)?,
        mfa_enrolled: r.flag("mfa_enrolled")?,
        mfa_exempt: r.flag("mfa_exempt")?,
        active: r.flag("active")?,
    })
}

impl SqlStore {
    pub(crate) async fn insert_user(&self, n: NewUser, mut audit: AuditEvent) -> Result<User> {
        let id = UserId::new();
        audit.resource_id = Some(id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query(
            "INSERT INTO users (id, organization_id, email, name, roles, scope, password_hash, mfa_exempt, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(n.organization_id.to_string())
        .bind(n.email.as_str())
        .bind(&n.name)
        .bind(roles_text(&n.roles))
        .bind(n.scope.to_string())
        .bind(&n.password_hash)
        .bind(n.mfa_exempt)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await;
        if let Err(e) = done {
            return Err(unique_or(e, "email_taken", "a user with this email exists"));
        }
        tx.commit().await?;
        Ok(User {
            id,
            organization_id: n.organization_id,
            email: n.email.as_str().to_string(),
            name: n.name,
            roles: n.roles,
            scope: n.scope,
            mfa_enrolled: false,
            mfa_exempt: n.mfa_exempt,
            active: true,
        })
    }

    pub(crate) async fn get_user(&self, id: UserId) -> Result<User> {
        self.q()?;
        let r = sqlx::query(crate::sql(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.as_ref().map(user).transpose()?.ok_or(DomainError::NotFound("user"))
    }

    pub(crate) async fn list_users(&self, org: OrganizationId) -> Result<Vec<User>> {
        self.q()?;
        let rows = sqlx::query(crate::sql(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.organization_id = $1 ORDER BY u.name")))
            .bind(org.to_string())
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        rows.iter().map(user).collect()
    }

    pub(crate) async fn credentials(&self, email: &str) -> Result<Option<UserCredentials>> {
        self.q()?;
        let r = sqlx::query(crate::sql(format!(
            "SELECT {USER_COLUMNS}, u.password_hash, u.totp_secret, u.totp_last_step, u.failed_logins, u.locked_until \
             FROM users u WHERE u.email = $1"
        )))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(UserCredentials {
            user: user(&r)?,
            password_hash: r.text("password_hash")?,
            totp_secret: r.opt_text("totp_secret")?,
            totp_last_step: r.int("totp_last_step")?,
            failed_logins: r.int("failed_logins")?,
            locked_until: r.opt_time("locked_until")?,
        }))
    }

    pub(crate) async fn login_failed(
        &self,
        user: Option<UserId>,
        policy: LockoutPolicy,
        now: DateTime<Utc>,
        audit: AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        let mut locked = false;
        if let Some(id) = user {
            self.q_n(2)?;
            let r = sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if r.int("failed_logins")? >= policy.max_failures {
                locked = true;
                sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                    .bind(ts(now + policy.lockout))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        tx.commit().await?;
        Ok(locked)
    }

    pub(crate) async fn count_recent(&self, action: &str, ip: Option<&str>, actor: Option<&str>, since: DateTime<Utc>) -> Result<i64> {
        let mut sql = String::from("SELECT COUNT(*) AS n FROM audit_log WHERE action = $1 AND occurred_at >= $2");
        let mut binds = vec![action.to_string(), ts(since)];
        if let Some(ip) = ip {
            binds.push(ip.to_string());
            sql.push_str(&format!(" AND source_ip = ${}", binds.len()));
        }
        if let Some(actor) = actor {
            binds.push(actor.to_string());
            sql.push_str(&format!(" AND actor = ${}", binds.len()));
        }
        self.q()?;
        let r = crate::bound(sql, &binds).fetch_one(&mut *self.conn().await?).await.map_err(db_err)?;
        r.int("n")
    }

    /// The installation's secret: `candidate` becomes it if there is none yet (the first app
    /// server to start wins; the others read it back).
    pub(crate) async fn secret(&self, candidate: &str) -> Result<String> {
        self.q_n(2)?;
        let mut tx = self.write().await?;
        let found = sqlx::query("SELECT audit_key FROM installation WHERE id = 1").fetch_optional(&mut *tx).await.map_err(db_err)?;
        let key = match found {
            Some(r) => r.text("audit_key")?,
            None => {
                sqlx::query("INSERT INTO installation (id, audit_key) VALUES (1, $1)")
                    .bind(candidate)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                candidate.to_string()
            }
        };
        tx.commit().await?;
        Ok(key)
    }

    pub(crate) async fn owner(
        &self,
        kind: openiop_domain::store::RecordKind,
        id: &str,
    ) -> Result<Option<openiop_domain::ids::OrganizationId>> {
        use openiop_domain::store::RecordKind as K;
        let table = match kind {
            K::Patient => "patients",
            K::Episode => "episodes",
            K::Referral => "referrals",
            K::Session => "sessions",
            K::Note => "session_notes",
            K::PlanVersion => "plan_versions",
            K::RiskFlag => "risk_flags",
            K::Program => "programs",
            K::Track => "tracks",
            K::Site => "sites",
            K::Room => "rooms",
            K::CalendarFeed => "calendar_feeds",
        };
        self.q()?;
        let r = sqlx::query(crate::sql(format!("SELECT organization_id FROM {table} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.map(|r| r.parsed("organization_id")).transpose()
    }

    pub(crate) async fn store_totp(&self, user: UserId, secret: &str, codes: &[String], audit: AuditEvent) -> Result<()> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q_n(2 + codes.len() as u64)?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
            .bind(secret)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await.map_err(db_err)?;
        for c in codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user.to_string())
                .bind(c)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await
    }

    pub(crate) async fn update_access(
        &self,
        user: UserId,
        roles: &[Role],
        scope: &Scope,
        active: bool,
        audits: Vec<AuditEvent>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for a in &audits {
            append(self, &mut tx, a).await?;
        }
        self.q_n(2)?;
        let done = sqlx::query("UPDATE users SET roles = $1, scope = $2, active = $3 WHERE id = $4")
            .bind(roles_text(roles))
            .bind(scope.to_string())
            .bind(active)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("user"));
        }
        // New permissions take effect at once: existing sessions end.
        sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await
    }

    pub(crate) async fn totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        self.q()?;
        let done = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(user.to_string())
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn recovery_code(&self, user: UserId, hash: &str, audit: AuditEvent) -> Result<bool> {
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(ts(self.now()))
            .bind(user.to_string())
            .bind(hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn recovery_left(&self, user: UserId) -> Result<i64> {
        self.q()?;
        let r = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.to_string())
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.int("n")
    }
}
