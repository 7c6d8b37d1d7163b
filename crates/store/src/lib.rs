//! OpenIOP storage: one implementation of [`openiop_domain::Store`] on SQLite and PostgreSQL.
//!
//! Queries are written once in portable SQL with `$1` placeholders and run through sqlx's
//! `Any` driver; the few statements that must differ per engine sit side by side, chosen by
//! [`Engine`]. Column types are the portable subset: UUIDs, dates and timestamps as text (one
//! fixed format each, so ordering and comparisons agree on both engines), integers as BIGINT,
//! booleans as BOOLEAN on PostgreSQL and INTEGER 0/1 on SQLite (bound as Rust `bool` on both).
#![forbid(unsafe_code)]

mod audit;
#[cfg(feature = "bulk")]
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
#[cfg(feature = "testing")]
pub mod testing;
mod users;

use chrono::{DateTime, Utc};
use openiop_domain::clock::{Clock, SystemClock};
use openiop_domain::{DomainError, Result};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
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

/// The one store, on either engine. On its own it reads and writes through the pool; the
/// copy [`openiop_domain::Store::begin`] returns runs every statement in one transaction.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) engine: Engine,
    queries: Arc<AtomicU64>,
    audit_queue: Arc<audit::AuditQueue>,
    reference_cache: Arc<cache::ReferenceCache>,
    clock: Arc<dyn Clock>,
    /// Statements left before an injected failure (negative: none). Tests only.
    fail_in: Arc<AtomicI64>,
    /// Set inside a unit of work.
    work: Option<Arc<Work>>,
}

/// A unit of work's transaction and the instant it began at.
pub(crate) struct Work {
    tx: tokio::sync::Mutex<Option<Transaction<'static, Any>>>,
    now: DateTime<Utc>,
    /// A write inside it failed part-way: it may hold half a change, so it must not commit.
    broken: std::sync::atomic::AtomicBool,
}

/// One store method's write: its own transaction on the pool, or its share of the unit of
/// work's. Dropped without [`Write::commit`] (an error part-way), its own transaction rolls
/// back; inside a unit of work, the unit is marked broken and refuses to commit.
pub(crate) struct Write<'a> {
    conn: Option<WriteConn<'a>>,
    work: Option<&'a Work>,
}

enum WriteConn<'a> {
    Own(Transaction<'static, Any>),
    Work(tokio::sync::MutexGuard<'a, Option<Transaction<'static, Any>>>),
}

impl Write<'_> {
    pub(crate) async fn commit(mut self) -> Result<()> {
        match self.conn.take() {
            Some(WriteConn::Own(tx)) => tx.commit().await.map_err(db_err),
            Some(WriteConn::Work(_)) | None => Ok(()),
        }
    }
}

impl Drop for Write<'_> {
    fn drop(&mut self) {
        if self.conn.is_some()
            && let Some(w) = self.work
        {
            w.broken.store(true, Ordering::SeqCst);
        }
    }
}

impl std::ops::Deref for Write<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            Some(WriteConn::Own(tx)) => tx,
            Some(WriteConn::Work(g)) => g.as_deref().unwrap_or_else(|| unreachable!("a unit of work's guard without its transaction")),
            None => unreachable!("a write used after its commit"),
        }
    }
}

impl std::ops::DerefMut for Write<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Some(WriteConn::Own(tx)) => tx,
            Some(WriteConn::Work(g)) => g.as_deref_mut().unwrap_or_else(|| unreachable!("a unit of work's guard without its transaction")),
            None => unreachable!("a write used after its commit"),
        }
    }
}

/// A connection for one statement (or one write's savepoint): a pooled one, or the unit of
/// work's transaction.
pub(crate) enum Conn<'a> {
    Pool(PoolConnection<Any>),
    Work(tokio::sync::MutexGuard<'a, Option<Transaction<'static, Any>>>),
}

impl std::ops::Deref for Conn<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pool(c) => c,
            // `conn` hands out a guard only while the transaction is there.
            Conn::Work(g) => g.as_deref().unwrap_or_else(|| unreachable!("a unit of work's guard without its transaction")),
        }
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pool(c) => c,
            Conn::Work(g) => g.as_deref_mut().unwrap_or_else(|| unreachable!("a unit of work's guard without its transaction")),
        }
    }
}

/// Maps a storage error to the domain's opaque internal error (details go to the log only).
pub(crate) fn db_err(e: sqlx::Error) -> DomainError {
    // PostgreSQL's exclusion constraints (0014) refuse a double booking the rules did not see.
    if let sqlx::Error::Database(d) = &e
        && d.code().as_deref() == Some("23P01")
    {
        tracing::warn!(constraint = d.constraint().unwrap_or_default(), "double booking refused by the database");
        let what = match d.constraint() {
            Some("sessions_room_booked_once") => "The room",
            Some("session_leaders_booked_once") => "A leader",
            _ => "A participant",
        };
        return DomainError::conflict("schedule_conflict", format!("{what} is already booked at that time"));
    }
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
        Ok(Self {
            pool,
            engine,
            queries: Arc::new(AtomicU64::new(0)),
            audit_queue: Arc::default(),
            reference_cache: Arc::default(),
            clock: Arc::new(SystemClock),
            fail_in: Arc::new(AtomicI64::new(-1)),
            work: None,
        })
    }

    /// The same store reading the time from `clock` (the application's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Now: the unit of work's instant inside one, else the clock's.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match &self.work {
            Some(w) => w.now,
            None => self.clock.now(),
        }
    }

    pub(crate) fn in_work(&self) -> bool {
        self.work.is_some()
    }

    /// A connection for the next statement: the unit of work's transaction inside one, else a
    /// pooled connection. A unit of work runs one statement at a time; a second one asked for
    /// while the first holds the transaction is a bug, reported instead of waiting forever.
    pub(crate) async fn conn(&self) -> Result<Conn<'_>> {
        match &self.work {
            None => Ok(Conn::Pool(self.pool.acquire().await.map_err(db_err)?)),
            Some(w) => {
                let guard = w.tx.try_lock().map_err(|_| DomainError::internal("a unit of work was asked for two statements at once"))?;
                if guard.is_none() {
                    return Err(DomainError::internal("the unit of work has already ended"));
                }
                Ok(Conn::Work(guard))
            }
        }
    }

    /// Starts one store method's write (see [`Write`]).
    pub(crate) async fn write(&self) -> Result<Write<'_>> {
        match &self.work {
            None => {
                self.q()?;
                let tx = self.pool.begin().await.map_err(db_err)?;
                Ok(Write { conn: Some(WriteConn::Own(tx)), work: None })
            }
            Some(w) => {
                let guard = w.tx.try_lock().map_err(|_| DomainError::internal("a unit of work was asked for two statements at once"))?;
                if guard.is_none() {
                    return Err(DomainError::internal("the unit of work has already ended"));
                }
                Ok(Write { conn: Some(WriteConn::Work(guard)), work: Some(w) })
            }
        }
    }

    /// Starts a unit of work (see [`openiop_domain::Store::begin`]).
    async fn begin_work(&self, now: DateTime<Utc>) -> Result<SqlStore> {
        self.q()?;
        let mut tx = match self.engine {
            // The write lock from the first statement: checks read inside see what will commit.
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?,
            Engine::Postgres => self.pool.begin().await.map_err(db_err)?,
        };
        if self.engine == Engine::Postgres {
            // Every write extends the audit chain and so locks its head; taking that lock first
            // serializes units of work as SQLite's write lock does, before they read anything.
            self.q()?;
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE").fetch_one(&mut *tx).await.map_err(db_err)?;
        }
        let work = Work { tx: tokio::sync::Mutex::new(Some(tx)), now, broken: Default::default() };
        Ok(SqlStore { work: Some(Arc::new(work)), ..self.clone() })
    }

    async fn commit_work(&self) -> Result<()> {
        let Some(w) = &self.work else { return Err(DomainError::internal("commit outside a unit of work")) };
        let tx = w.tx.lock().await.take().ok_or_else(|| DomainError::internal("the unit of work has already ended"))?;
        if w.broken.load(Ordering::SeqCst) {
            // Dropping the transaction rolls it back.
            return Err(DomainError::internal("a write failed part-way through the unit of work; nothing of it was kept"));
        }
        self.q()?;
        tx.commit().await.map_err(db_err)?;
        // What it changed is visible now: cached reference data may be stale.
        self.reference_cache.invalidate();
        Ok(())
    }

    /// Lets `n` more statements through, then fails the next as if the database had gone away
    /// (tests of atomicity: whatever a use case wrote before it must vanish with it).
    pub fn fail_after_statements(&self, n: i64) {
        self.fail_in.store(n, Ordering::SeqCst);
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
            self.q()?;
            let analyzed = sqlx::query("SELECT COUNT(*) AS n FROM sqlite_stat1").fetch_one(&self.pool).await.is_ok_and(|r| {
                use sqlx::Row;
                r.try_get::<i64, _>("n").is_ok_and(|n| n > 0)
            });
            let statement =
                if analyzed { "PRAGMA analysis_limit = 1000; PRAGMA optimize;" } else { "PRAGMA analysis_limit = 1000; ANALYZE;" };
            self.q()?;
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

    /// Counts one statement about to be sent (see [`openiop_domain::Store::query_count`]), or
    /// fails it when a test asked for a failure here.
    pub(crate) fn q(&self) -> Result<()> {
        self.q_n(1)
    }

    pub(crate) fn q_n(&self, n: u64) -> Result<()> {
        self.queries.fetch_add(n, Ordering::Relaxed);
        let left = self.fail_in.load(Ordering::SeqCst);
        if left >= 0 {
            if left < n as i64 {
                self.fail_in.store(-1, Ordering::SeqCst);
                return Err(DomainError::internal("injected failure: the database went away"));
            }
            self.fail_in.fetch_sub(n as i64, Ordering::SeqCst);
        }
        Ok(())
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
    use openiop_domain::store::{AccountStore, UnitOfWork};
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
            self.q()?;
            sqlx::query("SELECT 1").execute(&mut *self.conn().await?).await.map_err(super::db_err)?;
            Ok(())
        }
        fn query_count(&self) -> u64 {
            self.queries()
        }
        async fn begin(&self, now: DateTime<Utc>) -> Result<Box<dyn UnitOfWork>> {
            Ok(Box::new(self.begin_work(now).await?))
        }
        async fn audit_verify(&self) -> Result<ChainVerdict> {
            self.verify_chain().await
        }
    }

    #[async_trait]
    impl UnitOfWork for SqlStore {
        fn now(&self) -> DateTime<Utc> {
            SqlStore::now(self)
        }
        async fn commit(self: Box<Self>) -> Result<()> {
            self.commit_work().await
        }
    }

    #[async_trait]
    impl AccountStore for SqlStore {
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
        async fn recent_events(&self, action: &str, source_ip: Option<&str>, actor: Option<&str>, since: DateTime<Utc>) -> Result<i64> {
            self.count_recent(action, source_ip, actor, since).await
        }
        async fn installation_secret(&self, candidate: &str) -> Result<String> {
            self.secret(candidate).await
        }
        async fn owner_of(&self, kind: openiop_domain::store::RecordKind, id: &str) -> Result<Option<OrganizationId>> {
            self.owner(kind, id).await
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
    }
}

/// A unique-constraint violation as the domain's conflict `code`; anything else as [`db_err`].
pub(crate) fn unique_or(e: sqlx::Error, code: &'static str, message: &str) -> DomainError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => DomainError::conflict(code, message),
        _ => db_err(e),
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
