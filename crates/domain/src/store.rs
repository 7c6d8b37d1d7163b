//! The storage contract. Coarse: one method per use case, each one transaction, each write
//! carrying the audit event that records it (written in the same transaction).
use crate::Result;
use crate::audit::{AuditEntry, AuditEvent, ChainVerdict};
use crate::ids::{OrganizationId, SiteId, TokenId, UserId};
use crate::tenancy::{NewSite, Organization, Site, Slug};
use crate::users::{ApiToken, LockoutPolicy, NewUser, StaffSession, User, UserCredentials};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// Filters of the auditor's search page.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Matches the actor's email (exact, case-insensitive) or user id.
    pub user: Option<String>,
    /// Also matches this actor (the keyed hash a failed sign-in with an unknown email is
    /// recorded under, so an auditor can still find attempts at an address).
    pub actor_alias: Option<String>,
    /// Only entries about patients at these sites or in these programs (a site-scoped auditor).
    pub units: Option<(Vec<SiteId>, Vec<crate::ids::ProgramId>)>,
    pub patient_id: Option<String>,
    pub from: Option<NaiveDate>,
    /// Inclusive last day.
    pub to: Option<NaiveDate>,
    pub action: Option<String>,
    pub limit: i64,
}

/// Kinds of records a request may name by id (to tell "not found" from "another organization's",
/// which both answer 404 but only the second is a denial worth auditing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Patient,
    Episode,
    Referral,
    Session,
    Note,
    PlanVersion,
    RiskFlag,
    Program,
    Track,
    Site,
    Room,
    CalendarFeed,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Patient => "patient",
            RecordKind::Episode => "episode",
            RecordKind::Referral => "referral",
            RecordKind::Session => "session",
            RecordKind::Note => "session_note",
            RecordKind::PlanVersion => "treatment_plan_version",
            RecordKind::RiskFlag => "risk_flag",
            RecordKind::Program => "program",
            RecordKind::Track => "track",
            RecordKind::Site => "site",
            RecordKind::Room => "room",
            RecordKind::CalendarFeed => "calendar_feed",
        }
    }
}

/// Everything the store holds, readable and writable the same way on the database's pool and
/// inside a [`UnitOfWork`].
pub trait Records:
    crate::programs::ProgramStore
    + crate::patients::PatientStore
    + crate::measurement::care::MeasurementStore
    + crate::schedule::ScheduleStore
    + crate::plans::PlanStore
    + crate::notes::NoteStore
    + AccountStore
    + Send
    + Sync
{
}

impl<T> Records for T where
    T: crate::programs::ProgramStore
        + crate::patients::PatientStore
        + crate::measurement::care::MeasurementStore
        + crate::schedule::ScheduleStore
        + crate::plans::PlanStore
        + crate::notes::NoteStore
        + AccountStore
        + Send
        + Sync
{
}

/// The database. Reads made on it directly each see the latest committed state; a use case
/// that changes anything opens a [`UnitOfWork`] and does all its reads, checks and writes in it.
#[async_trait]
pub trait Store: Records + 'static {
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;
    /// Number of SQL statements this store has sent (for query-count tests and benchmarks).
    fn query_count(&self) -> u64;
    /// Begins a unit of work at the instant `now` (the time every row it writes carries).
    ///
    /// It is one database transaction that holds the write lock from its first statement
    /// (SQLite `BEGIN IMMEDIATE`; on PostgreSQL a lock on the audit chain's head, which every
    /// write takes anyway), so whatever it reads to check a rule (a room's other bookings, a
    /// patient's open episode) cannot change before it commits. Dropped without
    /// [`UnitOfWork::commit`], it rolls back: nothing of the change and none of its audit rows
    /// remain.
    async fn begin(&self, now: DateTime<Utc>) -> Result<Box<dyn UnitOfWork>>;
    /// Checks the audit log's hash chain end to end.
    async fn audit_verify(&self) -> Result<ChainVerdict>;
}

/// One use case's change: its reads, its writes and their audit entries, committed together
/// or not at all.
#[async_trait]
pub trait UnitOfWork: Records {
    /// The instant the unit of work began at.
    fn now(&self) -> DateTime<Utc>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Organizations, sites, staff accounts, sign-in sessions, API tokens and the audit log.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // Tenancy
    async fn create_organization(&self, name: &str, slug: &Slug, is_demo: bool, audit: AuditEvent) -> Result<Organization>;
    async fn organization(&self, id: OrganizationId) -> Result<Organization>;
    async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>>;
    async fn organizations(&self) -> Result<Vec<Organization>>;
    async fn create_site(&self, org: OrganizationId, site: NewSite, audit: AuditEvent) -> Result<Site>;
    async fn sites(&self, org: OrganizationId) -> Result<Vec<Site>>;
    async fn site(&self, org: OrganizationId, id: SiteId) -> Result<Site>;

    // Staff accounts
    async fn create_user(&self, user: NewUser, audit: AuditEvent) -> Result<User>;
    async fn user(&self, id: UserId) -> Result<User>;
    async fn users(&self, org: OrganizationId) -> Result<Vec<User>>;
    async fn user_credentials(&self, email: &str) -> Result<Option<UserCredentials>>;
    /// Changes a user's roles, scope or active flag; ends their sessions; one audit entry per change.
    async fn update_user_access(
        &self,
        user: UserId,
        roles: &[crate::auth::Role],
        scope: &crate::auth::Scope,
        active: bool,
        audits: Vec<AuditEvent>,
    ) -> Result<()>;
    /// Counts a failed sign-in, locks the account when the policy says so, and audits it.
    /// Returns whether the account is now locked.
    async fn record_login_failure(
        &self,
        user: Option<UserId>,
        policy: LockoutPolicy,
        now: DateTime<Utc>,
        audit: AuditEvent,
    ) -> Result<bool>;
    /// Audit entries of one action since a time, from one address and/or by one actor
    /// (throttling and lockout shared by every app server through the log).
    async fn recent_events(&self, action: &str, source_ip: Option<&str>, actor: Option<&str>, since: DateTime<Utc>) -> Result<i64>;
    /// The installation's secret (made from `candidate` the first time it is asked for, then
    /// always the same for every app server): the key of the audit log's keyed hashes.
    async fn installation_secret(&self, candidate: &str) -> Result<String>;
    /// The organization a record of this kind and id belongs to, whichever it is.
    async fn owner_of(&self, kind: RecordKind, id: &str) -> Result<Option<OrganizationId>>;
    /// Clears the failure count, replaces the pre-MFA session (if any) by the new one and audits
    /// the sign-in, in one transaction.
    async fn record_login_success(&self, user: UserId, replacing: Option<&str>, session: &StaffSession, audit: AuditEvent) -> Result<()>;
    /// Stores a confirmed TOTP secret and the hashes of fresh recovery codes.
    async fn enroll_totp(&self, user: UserId, secret: &str, recovery_code_hashes: &[String], audit: AuditEvent) -> Result<()>;
    /// Accepts a TOTP time step only if it is newer than the last one used (no replay).
    async fn advance_totp_step(&self, user: UserId, step: i64) -> Result<bool>;
    /// Marks a recovery code used; false if it does not exist or was used before.
    async fn use_recovery_code(&self, user: UserId, code_hash: &str, audit: AuditEvent) -> Result<bool>;
    async fn unused_recovery_codes(&self, user: UserId) -> Result<i64>;

    // Sessions
    async fn session(&self, id_hash: &str) -> Result<Option<StaffSession>>;
    /// The session with its user and whether the organization is the demo, in one read.
    async fn session_user(&self, id_hash: &str) -> Result<Option<(StaffSession, User, bool)>>;
    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()>;
    async fn set_pending_totp(&self, id_hash: &str, secret: Option<&str>) -> Result<()>;
    /// Replaces one session by another (a new id at each privilege change), in one transaction.
    async fn rotate_session(&self, old_id_hash: &str, new: &StaffSession, audit: Option<AuditEvent>) -> Result<()>;
    async fn end_session(&self, id_hash: &str, audit: Option<AuditEvent>) -> Result<()>;
    async fn end_expired_sessions(&self, idle_before: DateTime<Utc>, created_before: DateTime<Utc>) -> Result<u64>;

    // Personal API tokens
    async fn create_token(&self, user: UserId, name: &str, token_hash: &str, audit: AuditEvent) -> Result<ApiToken>;
    async fn token_owner(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>>;
    async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>>;
    async fn revoke_token(&self, user: UserId, id: TokenId, audit: AuditEvent) -> Result<()>;

    // Audit log
    /// Appends an entry: inside a unit of work, in its transaction; on the pool, group-committed
    /// with other requests' entries (reads of patient data, sign-ins, denials).
    async fn audit(&self, event: AuditEvent) -> Result<()>;
    async fn audit_search(&self, org: OrganizationId, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}
