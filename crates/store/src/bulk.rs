//! The bulk path: big transactions of multi-row `INSERT` statements for operator tools (the
//! demo data generator), and a canonical export of the clinical tables for checksums.
//!
//! This path bypasses the per-row audit of the use-case methods on purpose: it is an operator
//! tool that loads whole datasets, and its caller writes one audit entry per run instead
//! (`openiop demo` does). It checks nothing the schema does not check itself; the caller must
//! hand it consistent rows. Rows are buffered per table and flushed in [`Table`] order (parents
//! before children), so foreign keys hold at every statement on both engines.
use crate::rows::Get;
use crate::{Engine, SqlStore, db_err, sql};
use openiop_domain::Result;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// One value of a bulk row. Nulls carry their type: PostgreSQL types every bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkValue {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(bool),
}

impl From<String> for BulkValue {
    fn from(v: String) -> Self {
        BulkValue::Text(Some(v))
    }
}
impl From<&str> for BulkValue {
    fn from(v: &str) -> Self {
        BulkValue::Text(Some(v.to_string()))
    }
}
impl From<Option<String>> for BulkValue {
    fn from(v: Option<String>) -> Self {
        BulkValue::Text(v)
    }
}
impl From<i64> for BulkValue {
    fn from(v: i64) -> Self {
        BulkValue::Int(Some(v))
    }
}
impl From<Option<i64>> for BulkValue {
    fn from(v: Option<i64>) -> Self {
        BulkValue::Int(v)
    }
}
impl From<f64> for BulkValue {
    fn from(v: f64) -> Self {
        BulkValue::Real(Some(v))
    }
}
impl From<Option<f64>> for BulkValue {
    fn from(v: Option<f64>) -> Self {
        BulkValue::Real(v)
    }
}
impl From<bool> for BulkValue {
    fn from(v: bool) -> Self {
        BulkValue::Bool(v)
    }
}

macro_rules! tables {
    ($($variant:ident => $name:literal [$($col:literal),* $(,)?];)*) => {
        /// The tables the bulk path writes, in dependency order (parents first), with the
        /// columns each row supplies, in order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Table { $($variant),* }

        impl Table {
            pub const ALL: &'static [Table] = &[$(Table::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Table::$variant => $name),* }
            }

            pub fn columns(self) -> &'static [&'static str] {
                match self { $(Table::$variant => &[$($col),*]),* }
            }
        }
    };
}

tables! {
    Organizations => "organizations" ["id", "name", "slug", "is_demo", "created_at", "video_base_url"];
    Sites => "sites" ["id", "organization_id", "name", "line1", "city", "state", "postal_code", "time_zone", "created_at"];
    Users => "users" ["id", "organization_id", "email", "name", "roles", "scope", "password_hash", "mfa_exempt", "created_at"];
    ServiceTypes => "service_types" ["id", "organization_id", "code", "name", "default_minutes", "counts_toward_hours", "is_group", "family_allowed", "billing_codes", "permitted"];
    Rooms => "rooms" ["id", "organization_id", "site_id", "name", "kind", "capacity", "notes"];
    Programs => "programs" ["id", "organization_id", "site_id", "name", "slug", "condition_focus", "population", "level_edition", "level_code", "weekly_hours", "expected_days_min", "expected_days_max", "delivery_modes", "plan_review_days", "group_cap", "created_at"];
    Tracks => "tracks" ["id", "organization_id", "program_id", "name", "delivery_mode"];
    TemplateSessions => "template_sessions" ["id", "organization_id", "track_id", "service_type_id", "weekday", "start_time", "minutes", "room_id", "is_virtual", "leader_id", "topic", "modality"];
    StaffProfiles => "staff_profiles" ["user_id", "organization_id", "discipline", "telehealth_trained", "telehealth_years", "modalities", "availability", "max_caseload", "supervisor_id"];
    Credentials => "credentials" ["id", "organization_id", "user_id", "kind", "number", "state", "board", "issued_on", "expires_on", "verification", "verified_by", "verified_at"];
    OrgCounters => "org_counters" ["organization_id", "name", "value"];
    Patients => "patients" ["id", "organization_id", "site_id", "mrn", "legal_first", "legal_last", "preferred_name", "date_of_birth", "details", "created_at"];
    Collaterals => "collaterals" ["id", "organization_id", "patient_id", "name", "relationship", "phone", "email"];
    Coverages => "coverages" ["id", "organization_id", "patient_id", "payer", "member_id", "group_number", "position"];
    Referrals => "referrals" ["id", "organization_id", "site_id", "program_id", "source", "contact", "reason", "urgency", "status", "status_reason", "from_level_edition", "from_level_code", "patient", "patient_id", "received_on", "created_at"];
    Episodes => "episodes" ["id", "organization_id", "patient_id", "program_id", "site_id", "track_id", "admitted_on", "primary_clinician_id", "status", "reassessment_due", "plan_review_due", "discharged_on", "discharge", "referral_id", "created_at"];
    Diagnoses => "diagnoses" ["id", "organization_id", "episode_id", "code", "description", "is_primary", "position"];
    LevelSpans => "level_spans" ["id", "organization_id", "episode_id", "line", "level_edition", "level_code", "from_date", "to_date", "reason", "created_at"];
    Consents => "consents" ["id", "organization_id", "patient_id", "recipients", "purpose", "information", "expires_on", "expiry_event", "signed_by", "signed_on", "collateral_id", "revoked_on", "revoked_by", "revocation_note", "created_at", "discloser", "information_amount", "signature_method", "revocation_explained", "refusal_consequences_explained", "redisclosure_notice_given"];
    Closures => "closures" ["id", "organization_id", "site_id", "closed_on", "reason"];
    Sessions => "sessions" ["id", "organization_id", "site_id", "program_id", "track_id", "template_id", "service_type_id", "starts_at", "ends_at", "local_date", "room_id", "is_virtual", "virtual_token", "capacity", "topic", "modality", "status", "cancel_reason", "created_at"];
    SessionLeaders => "session_leaders" ["session_id", "user_id"];
    SessionParticipants => "session_participants" ["session_id", "patient_id"];
    Attendance => "attendance" ["organization_id", "session_id", "patient_id", "version", "status", "minutes", "mode", "recorded_by", "recorded_at", "note"];
    MeasurementCadences => "measurement_cadences" ["id", "organization_id", "program_id", "instrument", "every_days", "follow_up", "created_at"];
    MeasurementResults => "measurement_results" ["id", "organization_id", "patient_id", "episode_id", "program_id", "instrument", "instrument_name", "loinc", "total_loinc", "administered_on", "context", "follow_up_days", "source", "entered_by", "total", "band", "responses", "score", "recorded_at"];
    RiskFlags => "risk_flags" ["id", "organization_id", "patient_id", "episode_id", "result_id", "code", "level", "instrument", "items", "action", "raised_at", "cleared_at", "cleared_by", "assessment_id"];
    ClinicalTasks => "clinical_tasks" ["id", "organization_id", "patient_id", "episode_id", "risk_flag_id", "assigned_to", "owner_kind", "urgency", "title", "due_at", "created_at", "completed_at"];
    RiskFlagEvents => "risk_flag_events" ["id", "organization_id", "risk_flag_id", "result_id", "instrument", "level", "items", "recorded_at"];
    RiskAssessments => "risk_assessments" ["id", "organization_id", "risk_flag_id", "patient_id", "assessed_by", "assessed_by_name", "assessed_at", "risk_level", "findings", "disposition", "safety_plan_reviewed"];
    SafetyPlans => "safety_plans" ["id", "organization_id", "episode_id", "patient_id", "version", "sections", "recorded_by", "recorded_by_name", "recorded_at"];
    PlanVersions => "plan_versions" ["id", "organization_id", "episode_id", "patient_id", "version", "content", "reason", "planned_discharge_on", "author_id", "created_at", "clinician_name", "clinician_id", "clinician_signed_at", "supervisor_required", "supervisor_id", "supervisor_name", "supervisor_signed_at", "patient_ack_name", "patient_ack_at"];
    SessionNotes => "session_notes" ["id", "organization_id", "session_id", "patient_id", "episode_id", "kind", "format", "body", "attendance_only", "author_id", "created_at", "updated_at", "due_at", "signed_by", "signed_at", "cosign_required", "cosigner_id", "cosigned_at"];
    NoteObjectives => "note_objectives" ["note_id", "objective_id"];
}

/// Columns left out of the canonical export: secrets, which are salted at random.
const NOT_EXPORTED: &[(&str, &str)] = &[("users", "password_hash")];

/// Values per statement (literals; see [`BulkLoad::write`]).
const MAX_LITERALS: usize = 30_000;
const MAX_ROWS: usize = 1_000;

/// One open bulk load: a transaction plus a buffer of rows per table.
pub struct BulkLoad {
    store: SqlStore,
    tx: Transaction<'static, Any>,
    buffers: Vec<Vec<BulkValue>>,
    rows: u64,
    /// Write nothing before `commit`.
    deferred: bool,
}

impl SqlStore {
    /// Starts a bulk load in one transaction (see the module comment: no per-row audit).
    pub async fn bulk_load(&self) -> Result<BulkLoad> {
        self.q()?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if self.engine == Engine::Sqlite {
            // Index pages of big tables stay in memory while loading (256 MB at most).
            self.q()?;
            sqlx::query("PRAGMA cache_size = -262144").execute(&mut *tx).await.map_err(db_err)?;
        } else {
            // The load's commit need not wait for its WAL flush: a crash can lose the last
            // loads, never half of one (the generator is rerun into a fresh database anyway).
            self.q()?;
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await.map_err(db_err)?;
            // Foreign keys: checking each row against its parents is most of a load's time on
            // PostgreSQL (six times the insert itself for attendance). The rows come from the
            // generator, whose output loads with foreign keys enforced on SQLite and which the
            // tests check on both engines (`foreign_key_violations`); a superuser loads them
            // with the checks off for this transaction only (what `pg_restore --disable-triggers`
            // does); anyone else loads them checked.
            self.q()?;
            let superuser: bool = sqlx::query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .map(|r| r.flag("rolsuper"))
                .transpose()?
                .unwrap_or(false);
            if superuser {
                self.q()?;
                sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.map_err(db_err)?;
            }
        }
        Ok(BulkLoad { store: self.clone(), tx, buffers: vec![Vec::new(); Table::ALL.len()], rows: 0, deferred: false })
    }

    /// A bulk load that keeps every row in memory until [`BulkLoad::commit`] (one site of the
    /// generator at a time), so rows can be made while an earlier load is being written.
    pub async fn bulk_load_deferred(&self) -> Result<BulkLoad> {
        let mut load = self.bulk_load().await?;
        load.deferred = true;
        Ok(load)
    }

    /// Rows whose foreign key names no parent, as `table.column -> parent: count` lines (empty
    /// when the database is consistent). SQLite reports them itself; on PostgreSQL every
    /// single-column foreign key of the schema is checked with an anti-join.
    pub async fn foreign_key_violations(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if self.engine == Engine::Sqlite {
            self.q()?;
            for r in sqlx::query("PRAGMA foreign_key_check").fetch_all(&self.pool).await.map_err(db_err)? {
                out.push(format!("{} -> {}: 1", r.text("table")?, r.text("parent")?));
            }
            return Ok(out);
        }
        self.q()?;
        let fks = sqlx::query(
            "SELECT c.conrelid::regclass::text AS child, a.attname::text AS col, c.confrelid::regclass::text AS parent, \
             f.attname::text AS pcol FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1] \
             WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1 AND c.connamespace = 'public'::regnamespace",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        for fk in &fks {
            let (child, col, parent, pcol) = (fk.text("child")?, fk.text("col")?, fk.text("parent")?, fk.text("pcol")?);
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            // Identifiers come from the catalog of our own schema, quoted; there are no values.
            self.q()?;
            let n: i64 = sqlx::query(sql(format!(
                "SELECT COUNT(*) AS n FROM {} c WHERE c.{} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.{} = c.{})",
                quote(&child),
                quote(&col),
                quote(&parent),
                quote(&pcol),
                quote(&col)
            )))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?
            .int("n")?;
            if n > 0 {
                out.push(format!("{child}.{col} -> {parent}: {n}"));
            }
        }
        Ok(out)
    }

    /// Refreshes the query planner's statistics (after a bulk load).
    pub async fn analyze(&self) -> Result<()> {
        self.q()?;
        let statement = match self.engine {
            Engine::Sqlite => "PRAGMA analysis_limit = 1000; ANALYZE;",
            Engine::Postgres => "ANALYZE",
        };
        sqlx::raw_sql(statement).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    /// Every row of the bulk tables as text lines (`table<TAB>col=value<TAB>…`), sorted bytewise:
    /// equal databases give equal lines on the same engine. Passwords hashes are left out.
    pub async fn canonical_export(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for table in Table::ALL {
            let cols: Vec<&str> = table.columns().iter().copied().filter(|c| !NOT_EXPORTED.contains(&(table.name(), *c))).collect();
            let select = cols.iter().map(|c| format!("CAST({c} AS TEXT) AS {c}")).collect::<Vec<_>>().join(", ");
            self.q()?;
            let rows: Vec<AnyRow> =
                sqlx::query(sql(format!("SELECT {select} FROM {}", table.name()))).fetch_all(&self.pool).await.map_err(db_err)?;
            for r in rows {
                let mut line = String::from(table.name());
                for c in &cols {
                    let v: Option<String> = r.try_get(*c).map_err(db_err)?;
                    line.push('\t');
                    line.push_str(c);
                    line.push('=');
                    match v {
                        Some(v) => line.push_str(&v.replace(['\t', '\n'], " ")),
                        None => line.push_str("\\N"),
                    }
                }
                out.push(line);
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// An SQL literal, the same on both engines but for booleans (PostgreSQL `TRUE`/`FALSE`,
/// SQLite integers): strings in single quotes with the quote doubled (standard-conforming
/// strings on PostgreSQL; SQLite has no backslash escapes), NUL dropped (PostgreSQL text cannot
/// hold it), non-finite reals as NULL.
fn literal(out: &mut String, v: &BulkValue, engine: Engine) {
    match v {
        BulkValue::Text(Some(t)) => {
            out.push('\'');
            for ch in t.chars() {
                match ch {
                    '\'' => out.push_str("''"),
                    '\0' => {}
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        BulkValue::Int(Some(i)) => out.push_str(&i.to_string()),
        BulkValue::Real(Some(f)) if f.is_finite() => out.push_str(&format!("{f:?}")),
        BulkValue::Bool(b) => out.push_str(match (engine, *b) {
            (Engine::Postgres, true) => "TRUE",
            (Engine::Postgres, false) => "FALSE",
            (Engine::Sqlite, true) => "1",
            (Engine::Sqlite, false) => "0",
        }),
        _ => out.push_str("NULL"),
    }
}

impl BulkLoad {
    fn per_statement(&self, table: Table) -> usize {
        (MAX_LITERALS / table.columns().len()).clamp(1, MAX_ROWS)
    }

    /// Adds one row (values in [`Table::columns`] order); flushes when the buffer is full.
    pub async fn push(&mut self, table: Table, row: Vec<BulkValue>) -> Result<()> {
        if row.len() != table.columns().len() {
            return Err(openiop_domain::DomainError::internal(format!(
                "bulk row for {} has {} values, expected {}",
                table.name(),
                row.len(),
                table.columns().len()
            )));
        }
        let i = table as usize;
        self.buffers[i].extend(row);
        if !self.deferred && self.buffers[i].len() / table.columns().len() >= self.per_statement(table) {
            self.flush_through(table).await?;
        }
        Ok(())
    }

    /// Writes every buffered row of this table and of the tables it may refer to.
    async fn flush_through(&mut self, last: Table) -> Result<()> {
        for t in Table::ALL.iter().copied().filter(|t| *t <= last) {
            let values = std::mem::take(&mut self.buffers[t as usize]);
            let width = t.columns().len();
            for chunk in values.chunks(self.per_statement(t) * width) {
                self.write(t, chunk).await?;
            }
        }
        Ok(())
    }

    async fn write(&mut self, table: Table, values: &[BulkValue]) -> Result<()> {
        let width = table.columns().len();
        let n = values.len() / width;
        if n == 0 {
            return Ok(());
        }
        // Literals in one unprepared statement on both engines. Bound parameters cost more
        // than the rows here: PostgreSQL prepares and describes each wide statement, and sqlx
        // finds each SQLite parameter by name with a linear scan (quadratic in the width).
        let engine = self.store.engine;
        let mut text = format!("INSERT INTO {} ({}) VALUES ", table.name(), table.columns().join(", "));
        for (r, row) in values.chunks(width).enumerate() {
            text.push_str(if r == 0 { "(" } else { ", (" });
            for (c, v) in row.iter().enumerate() {
                if c > 0 {
                    text.push_str(", ");
                }
                literal(&mut text, v, engine);
            }
            text.push(')');
        }
        self.store.q()?;
        sqlx::raw_sql(sql(text)).execute(&mut *self.tx).await.map_err(db_err)?;
        self.rows += n as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes every buffer and commits.
    pub async fn commit(mut self) -> Result<u64> {
        if let Some(last) = Table::ALL.last() {
            self.flush_through(*last).await?;
        }
        if self.store.engine == Engine::Postgres {
            // Loaded with triggers off (a superuser's load): leaders and participants take their
            // sessions' times now, and the exclusion constraints check every row as it does.
            for table in ["session_leaders", "session_participants"] {
                self.store.q()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} x SET starts_at = s.starts_at, ends_at = s.ends_at, live = s.status <> 'cancelled' \
                     FROM sessions s WHERE s.id = x.session_id AND x.starts_at IS NULL"
                )))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
            }
        }
        // Other app servers drop their cached reference data (the triggers may have been off).
        self.store.q()?;
        sqlx::query("UPDATE reference_revision SET revision = revision + 1 WHERE id = 1").execute(&mut *self.tx).await.map_err(db_err)?;
        self.store.q()?;
        self.tx.commit().await.map_err(db_err)?;
        self.store.reference_cache.invalidate();
        Ok(self.rows)
    }

    pub fn engine(&self) -> Engine {
        self.store.engine
    }
}
