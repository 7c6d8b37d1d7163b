//! OpenIOP storage: one implementation of [`openiop_domain::Store`] on SQLite and PostgreSQL.
//!
//! Queries are written once in portable SQL with `$1` placeholders and run through sqlx's
//! `Any` driver; the few statements that must differ per engine sit side by side, chosen by
//! [`Engine`]. Column types are the portable subset: UUIDs, dates and timestamps as text (one
//! fixed format each, so ordering and comparisons agree on both engines), integers as BIGINT,
//! booleans as BOOLEAN on PostgreSQL and INTEGER 0/1 on SQLite (bound as Rust `bool` on both).
#![forbid(unsafe_code)]

mod audit;
pub mod bulk;
mod cache;
mod measurement;
mod patients;
mod plans;
mod programs;
mod rows;
mod schedule;
mod sessions;
mod tenancy;
pub mod testing;
mod users;

use openiop_domain::{DomainError, Result};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(DomainError::field("database_url", "unsupported_database", "use sqlite://PATH or postgres://…"))
        }
    }
}

/// The one store, on either engine.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) engine: Engine,
    queries: Arc<AtomicU64>,
    audit_queue: Arc<audit::AuditQueue>,
    reference_cache: Arc<cache::ReferenceCache>,
}

/// Maps a storage error to the domain's opaque internal error (details go to the log only).
pub(crate) fn db_err(e: sqlx::Error) -> DomainError {
    tracing::error!(error = %e, "database error");
    DomainError::Internal(format!("database: {e}"))
}

impl SqlStore {
    /// Connects, creating a SQLite file if absent, and applies the engine's pragmas.
    pub async fn connect(url: &str) -> Result<Self> {
        install_default_drivers();
        let engine = Engine::from_url(url)?;
        let (url, max) = match engine {
            Engine::Sqlite => {
                let sep = if url.contains('?') { '&' } else { '?' };
                let with_mode = if url.contains("mode=") { url.to_string() } else { format!("{url}{sep}mode=rwc") };
                (with_mode, 8)
            }
            Engine::Postgres => (url.to_string(), 16),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL for concurrent readers, FULL sync for durability of clinical data,
                        // foreign keys enforced, and a wait instead of an error under write load.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // A 16 MB page cache per connection (SQLite's default is 2 MB): a
                        // report's index pages stay in memory between statements.
                        conn.execute("PRAGMA cache_size = -16384").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(db_err)?;
        Ok(Self { pool, engine, queries: Arc::new(AtomicU64::new(0)), audit_queue: Arc::default(), reference_cache: Arc::default() })
    }

    /// Applies the engine's migrations (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.pool).await.map_err(|e| DomainError::Internal(format!("migration: {e}")))?;
        if self.engine == Engine::Sqlite {
            // Statistics for SQLite's planner: without them it guesses that `organization_id = ?`
            // is selective and scans an organization's rows instead of looking ids up. A database
            // without any are analyzed once (sampled); later starts only let SQLite refresh
            // what has grown (`PRAGMA optimize`, cheap). PostgreSQL's autovacuum keeps its own.
            self.q();
            let analyzed = sqlx::query("SELECT COUNT(*) AS n FROM sqlite_stat1").fetch_one(&self.pool).await.is_ok_and(|r| {
                use sqlx::Row;
                r.try_get::<i64, _>("n").is_ok_and(|n| n > 0)
            });
            let statement =
                if analyzed { "PRAGMA analysis_limit = 1000; PRAGMA optimize;" } else { "PRAGMA analysis_limit = 1000; ANALYZE;" };
            self.q();
            sqlx::raw_sql(statement).execute(&self.pool).await.map_err(db_err)?;
        }
        Ok(())
    }

    pub fn engine_kind(&self) -> Engine {
        self.engine
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Counts one statement sent (see [`openiop_domain::Store::query_count`]).
    pub(crate) fn q(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn q_n(&self, n: u64) {
        self.queries.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

mod store_impl {
    use super::SqlStore;
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use openiop_domain::audit::{AuditEntry, AuditEvent, ChainVerdict};
    use openiop_domain::ids::{OrganizationId, SiteId, TokenId, UserId};
    use openiop_domain::store::AuditFilter;
    use openiop_domain::tenancy::{NewSite, Organization, Site, Slug};
    use openiop_domain::users::{ApiToken, LockoutPolicy, NewUser, StaffSession, User, UserCredentials};
    use openiop_domain::{Result, Store};

    #[async_trait]
    impl Store for SqlStore {
        fn engine(&self) -> &'static str {
            match self.engine {
                super::Engine::Sqlite => "sqlite",
                super::Engine::Postgres => "postgres",
            }
        }
        async fn ping(&self) -> Result<()> {
            self.q();
            sqlx::query("SELECT 1").execute(&self.pool).await.map_err(super::db_err)?;
            Ok(())
        }
        fn query_count(&self) -> u64 {
            self.queries()
        }
        async fn create_organization(&self, name: &str, slug: &Slug, is_demo: bool, audit: AuditEvent) -> Result<Organization> {
            self.insert_organization(name, slug, is_demo, audit).await
        }
        async fn organization(&self, id: OrganizationId) -> Result<Organization> {
            self.get_organization(id).await
        }
        async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>> {
            self.find_organization(slug).await
        }
        async fn organizations(&self) -> Result<Vec<Organization>> {
            self.list_organizations().await
        }
        async fn create_site(&self, org: OrganizationId, site: NewSite, audit: AuditEvent) -> Result<Site> {
            self.insert_site(org, site, audit).await
        }
        async fn sites(&self, org: OrganizationId) -> Result<Vec<Site>> {
            self.list_sites(org).await
        }
        async fn site(&self, org: OrganizationId, id: SiteId) -> Result<Site> {
            self.get_site(org, id).await
        }
        async fn create_user(&self, user: NewUser, audit: AuditEvent) -> Result<User> {
            self.insert_user(user, audit).await
        }
        async fn user(&self, id: UserId) -> Result<User> {
            self.get_user(id).await
        }
        async fn users(&self, org: OrganizationId) -> Result<Vec<User>> {
            self.list_users(org).await
        }
        async fn user_credentials(&self, email: &str) -> Result<Option<UserCredentials>> {
            self.credentials(email).await
        }
        async fn update_user_access(
            &self,
            user: UserId,
            roles: &[openiop_domain::auth::Role],
            scope: &openiop_domain::auth::Scope,
            active: bool,
            audits: Vec<AuditEvent>,
        ) -> Result<()> {
            self.update_access(user, roles, scope, active, audits).await
        }
        async fn record_login_failure(
            &self,
            user: Option<UserId>,
            policy: LockoutPolicy,
            now: DateTime<Utc>,
            audit: AuditEvent,
        ) -> Result<bool> {
            self.login_failed(user, policy, now, audit).await
        }
        async fn login_failures_from(&self, source_ip: &str, since: DateTime<Utc>) -> Result<i64> {
            self.failures_from(source_ip, since).await
        }
        async fn record_login_success(
            &self,
            user: UserId,
            replacing: Option<&str>,
            session: &StaffSession,
            audit: AuditEvent,
        ) -> Result<()> {
            self.login_succeeded(user, replacing, session, audit).await
        }
        async fn enroll_totp(&self, user: UserId, secret: &str, recovery_code_hashes: &[String], audit: AuditEvent) -> Result<()> {
            self.store_totp(user, secret, recovery_code_hashes, audit).await
        }
        async fn advance_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
            self.totp_step(user, step).await
        }
        async fn use_recovery_code(&self, user: UserId, code_hash: &str, audit: AuditEvent) -> Result<bool> {
            self.recovery_code(user, code_hash, audit).await
        }
        async fn unused_recovery_codes(&self, user: UserId) -> Result<i64> {
            self.recovery_left(user).await
        }
        async fn session(&self, id_hash: &str) -> Result<Option<StaffSession>> {
            self.get_session(id_hash).await
        }
        async fn session_user(&self, id_hash: &str) -> Result<Option<(StaffSession, User, bool)>> {
            self.get_session_user(id_hash).await
        }
        async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()> {
            self.touch(id_hash, now).await
        }
        async fn set_pending_totp(&self, id_hash: &str, secret: Option<&str>) -> Result<()> {
            self.pending_totp(id_hash, secret).await
        }
        async fn rotate_session(&self, old_id_hash: &str, new: &StaffSession, audit: Option<AuditEvent>) -> Result<()> {
            self.rotate(old_id_hash, new, audit).await
        }
        async fn end_session(&self, id_hash: &str, audit: Option<AuditEvent>) -> Result<()> {
            self.end(id_hash, audit).await
        }
        async fn end_expired_sessions(&self, idle_before: DateTime<Utc>, created_before: DateTime<Utc>) -> Result<u64> {
            self.end_expired(idle_before, created_before).await
        }
        async fn create_token(&self, user: UserId, name: &str, token_hash: &str, audit: AuditEvent) -> Result<ApiToken> {
            self.insert_token(user, name, token_hash, audit).await
        }
        async fn token_owner(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>> {
            self.token_user(token_hash, now).await
        }
        async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
            self.list_tokens(user).await
        }
        async fn revoke_token(&self, user: UserId, id: TokenId, audit: AuditEvent) -> Result<()> {
            self.revoke(user, id, audit).await
        }
        async fn audit(&self, event: AuditEvent) -> Result<()> {
            self.audit_one(event).await
        }
        async fn audit_search(&self, org: OrganizationId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
            self.search_audit(org, filter).await
        }
        async fn audit_verify(&self) -> Result<ChainVerdict> {
            self.verify_chain().await
        }
    }
}

/// Marks SQL composed only from this crate's constant fragments (column lists, numbered
/// placeholders, allow-listed sort keys) as safe; values are always bound, never formatted in.
pub(crate) fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(s)
}

/// A statement composed as [`sql`] describes, with its text values bound in order ($1, $2, …).
pub(crate) fn bound(q: String, binds: &[String]) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(sql(q));
    for b in binds {
        query = query.bind(b.clone());
    }
    query
}
