//! Test support: a fresh, empty database on either engine.
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new database created on the
//! server named by `OPENIOP_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! Without that variable PostgreSQL tests are skipped — except under `CI=true`, where a missing
//! or unreachable PostgreSQL fails the run.
use crate::SqlStore;
use sqlx::Connection;

/// The engines a test should run on, in order.
pub fn engines() -> Vec<&'static str> {
    let mut v = vec!["sqlite"];
    if postgres_base_url().is_some() {
        v.push("postgres");
    }
    v
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The PostgreSQL server for tests, if configured (panics under CI when it is not).
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("OPENIOP_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if in_ci() => panic!("CI=true but OPENIOP_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI"),
        _ => None,
    }
}

/// A fresh database URL for `engine`; the returned guard keeps a SQLite directory alive.
pub async fn fresh_database(engine: &str) -> (String, Option<tempfile_dir::TempDir>) {
    match engine {
        "sqlite" => {
            let dir = tempfile_dir::TempDir::new();
            let url = format!("sqlite://{}/openiop.db", dir.path().display());
            (url, Some(dir))
        }
        "postgres" => {
            let base = postgres_base_url().expect("postgres tests need OPENIOP_TEST_POSTGRES_URL");
            let name = format!("openiop_t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&base)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at OPENIOP_TEST_POSTGRES_URL is unreachable: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
            let _ = conn.close().await;
            let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
            let server = rest.split('/').next().unwrap_or(rest);
            let url = format!("{scheme}://{server}/{name}");
            (url, None)
        }
        other => panic!("unknown engine {other}"),
    }
}

/// A migrated store on a fresh database.
pub async fn fresh_store(engine: &str) -> (SqlStore, Option<tempfile_dir::TempDir>) {
    let (url, guard) = fresh_database(engine).await;
    let store = SqlStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, guard)
}

/// A minimal temporary directory (removed on drop), to avoid a dependency for tests.
pub mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("openiop-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p).expect("create temp dir");
            Self(p)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs raw SQL, as someone with direct database access would (tests of tamper detection).
pub async fn raw_sql(store: &SqlStore, sql: &'static str) -> Result<(), String> {
    use sqlx::Executor;
    store.pool().execute(sql).await.map(|_| ()).map_err(|e| e.to_string())
}

/// Drops the trigger that refuses UPDATE (or DELETE) on the audit log.
pub async fn drop_audit_guard(store: &SqlStore, on: &str) -> Result<(), String> {
    let sql = match (store.engine_kind(), on) {
        (crate::Engine::Sqlite, "update") => "DROP TRIGGER audit_log_no_update",
        (crate::Engine::Sqlite, _) => "DROP TRIGGER audit_log_no_delete",
        (crate::Engine::Postgres, "update") => "DROP TRIGGER audit_log_no_update ON audit_log",
        (crate::Engine::Postgres, _) => "DROP TRIGGER audit_log_no_delete ON audit_log",
    };
    raw_sql(store, sql).await
}

/// The actors of every audit entry of one action, whatever organization (or none) it is under:
/// what an operator with database access would see.
pub async fn audit_actors(store: &SqlStore, action: &str) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT actor FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(store.pool())
        .await
        .expect("audit actors")
        .iter()
        .map(|r| r.try_get::<String, _>("actor").unwrap_or_default())
        .collect()
}
