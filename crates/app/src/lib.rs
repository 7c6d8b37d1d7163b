//! The application's use cases: who may do what (role and scope), the clinical rule from the
//! domain, the audit entry, and the store, in one unit of work each. The web crate's API
//! handlers and pages both call these and do nothing else but HTTP.
//!
//! A use case that changes anything runs in [`App::write`]: one transaction, holding the
//! database's write lock from its first statement, in which it reads what its rules need,
//! checks them, writes the change and its audit entries, and commits — or, on any error, leaves
//! nothing behind. Reads run in [`App::read`]. Denied accesses are recorded after the unit of
//! work ends, so that the refusal is kept even though the change is not.
#![forbid(unsafe_code)]

/// Runs `body` (an async expression over the unit of work `w`) in a read unit of work.
macro_rules! reading {
    ($app:expr, |$w:ident| $body:expr) => {{
        let $w = $app.read();
        let outcome: $crate::Result<_> = async { $body }.await;
        $w.end(outcome).await
    }};
}

/// Runs `body` in a write unit of work: committed if it succeeds, nothing kept if it fails.
macro_rules! writing {
    ($app:expr, |$w:ident| $body:expr) => {{
        let $w = $app.write().await?;
        let outcome: $crate::Result<_> = async { $body }.await;
        $w.end(outcome).await
    }};
}

pub mod accounts;
pub mod audit;
pub mod documentation;
pub mod measurement;
pub mod operator;
pub mod optimizer;
pub mod patients;
pub mod programs;
pub mod schedule;
pub mod security;
pub mod sites;

use chrono::{DateTime, NaiveDate, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent, Outcome};
use openiop_domain::auth::{Action, Ctx};
use openiop_domain::clock::Clock;
use openiop_domain::ids::{OrganizationId, SiteId};
use openiop_domain::store::RecordKind;
use openiop_domain::users::{LockoutPolicy, SessionPolicy};
pub use openiop_domain::{DomainError, Result};
use openiop_domain::{Records, Store, UnitOfWork};
use std::sync::{Arc, Mutex};

/// What holds for every site of the organization at once (its settings, its instrument library)
/// is changed only by staff whose scope is the whole organization: one site's director would be
/// changing the other sites' too (403 otherwise).
pub(crate) fn require_organization_wide(ctx: &Ctx, action: Action) -> Result<()> {
    ctx.actor.require(action)?;
    if ctx.actor.scope == openiop_domain::auth::Scope::Organization { Ok(()) } else { Err(DomainError::Forbidden) }
}

/// The system clock, shifted by `OPENIOP_CLOCK_OFFSET_DAYS` days when that is set (to run the
/// whole suite "a year ahead" and show that nothing depends on today's date).
pub fn system_clock() -> Arc<dyn Clock> {
    match std::env::var("OPENIOP_CLOCK_OFFSET_DAYS").ok().and_then(|d| d.trim().parse::<i64>().ok()) {
        Some(days) if days != 0 => Arc::new(openiop_domain::clock::OffsetClock(chrono::Duration::days(days))),
        _ => Arc::new(openiop_domain::clock::SystemClock),
    }
}

/// Settings the use cases follow (from the command line or the environment).
#[derive(Debug, Clone)]
pub struct Settings {
    pub session: SessionPolicy,
    pub lockout: LockoutPolicy,
    /// Failed sign-ins allowed from one address per window before it is throttled.
    pub ip_failures_per_window: i64,
    pub ip_window: chrono::Duration,
    /// The installation's key for keyed hashes in the audit log (see [`App::with_installation_secret`]).
    pub audit_key: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session: SessionPolicy::default(),
            lockout: LockoutPolicy::default(),
            ip_failures_per_window: 30,
            ip_window: chrono::Duration::minutes(15),
            audit_key: String::new(),
        }
    }
}

/// The application: the store, the clock and the settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self { store, clock, settings: Arc::new(settings) }
    }

    /// Reads (or, on the very first start, makes) the installation's secret, shared by every
    /// app server through the database, into the settings.
    pub async fn with_installation_secret(mut self) -> Result<Self> {
        let candidate = security::random_token()?;
        let key = self.store.installation_secret(&candidate).await?;
        Arc::make_mut(&mut self.settings).audit_key = key;
        Ok(self)
    }

    /// The current instant, from the one clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        self.store.engine()
    }

    /// Statements sent so far (metrics and query-count tests).
    pub fn query_count(&self) -> u64 {
        self.store.query_count()
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// A read-only unit of work: each read sees the latest committed state; audit entries of
    /// what was read are group-committed with other requests'.
    pub fn read(&self) -> Work<'_> {
        Work { app: self, db: Db::Pool(self.store.clone()), now: self.now(), denials: Mutex::default() }
    }

    /// A unit of work that changes data (see the crate's documentation).
    pub async fn write(&self) -> Result<Work<'_>> {
        let now = self.now();
        let tx = self.store.begin(now).await?;
        Ok(Work { app: self, db: Db::Tx(tx), now, denials: Mutex::default() })
    }
}

enum Db {
    Pool(Arc<dyn Store>),
    Tx(Box<dyn UnitOfWork>),
}

/// One use case's access to the store (see [`App::read`] and [`App::write`]).
pub struct Work<'a> {
    app: &'a App,
    db: Db,
    now: DateTime<Utc>,
    denials: Mutex<Vec<AuditEvent>>,
}

impl Work<'_> {
    /// The store, as this unit of work sees it.
    pub fn db(&self) -> &dyn Records {
        match &self.db {
            Db::Pool(s) => s.as_ref(),
            Db::Tx(t) => t.as_ref(),
        }
    }

    /// The instant the use case runs at (one value for all it writes).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn app(&self) -> &App {
        self.app
    }

    /// Today at a site, in its time zone.
    pub async fn today_at(&self, org: OrganizationId, site: SiteId) -> Result<NaiveDate> {
        let site = self.db().site(org, site).await?;
        Ok(openiop_domain::clock::local_date(self.now, site.time_zone.0))
    }

    /// Records a refused access; it is written when the unit of work ends, whatever its outcome.
    pub fn deny(&self, event: AuditEvent) {
        self.denials.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }

    /// Records that the caller was refused `kind` `id` (out of scope, or another organization's),
    /// after the unit of work ends.
    pub fn refuse(&self, ctx: &Ctx, action: Action, kind: RecordKind, id: &str, patient: Option<String>, why: &str) {
        let mut ev = AuditEvent::by(ctx, ctx.actor.acting_role(action), AuditAction::AccessDenied, kind.as_str(), Some(id.to_string()))
            .outcome(Outcome::Denied)
            .detail(why);
        ev.patient_id = patient;
        self.deny(ev);
    }

    /// Passes a lookup by id through, and when it found nothing in the caller's organization
    /// checks whether the record is another organization's: that is a denial (audited), though
    /// the answer stays the same 404 as for a record that does not exist.
    pub async fn found<T>(&self, ctx: &Ctx, action: Action, kind: RecordKind, id: &str, lookup: Result<T>) -> Result<T> {
        if let Err(DomainError::NotFound(_)) = &lookup
            && let Some(owner) = self.db().owner_of(kind, id).await?
            && owner != ctx.org()
        {
            self.refuse(ctx, action, kind, id, None, "other_organization");
        }
        lookup
    }

    /// A record named in a request's body (a program, a track, a site) that the caller may use
    /// for `action`: one of another organization, out of their scope or that does not exist all
    /// answer the same field error, so the answer does not tell them apart.
    pub async fn referenced_program(
        &self,
        ctx: &Ctx,
        action: Action,
        id: openiop_domain::ids::ProgramId,
    ) -> Result<openiop_domain::programs::Program> {
        let unknown = || DomainError::field("program_id", "unknown_reference", "is not a program you can use");
        let p = self
            .found(ctx, action, RecordKind::Program, &id.to_string(), self.db().program(ctx.org(), id).await)
            .await
            .map_err(|_| unknown())?;
        if !ctx.actor.scope.covers(Some(p.site_id), Some(p.id)) {
            self.refuse(ctx, action, RecordKind::Program, &id.to_string(), None, "out_of_scope");
            return Err(unknown());
        }
        Ok(p)
    }

    /// Ends the unit of work with the use case's outcome: a success commits (and a failed commit
    /// is the outcome), a failure rolls everything back. Refusals are recorded either way.
    pub async fn end<T>(self, outcome: Result<T>) -> Result<T> {
        let Work { app, db, denials, .. } = self;
        let outcome = match (db, outcome) {
            (Db::Tx(tx), Ok(v)) => tx.commit().await.map(|()| v),
            (Db::Tx(tx), Err(e)) => {
                drop(tx);
                Err(e)
            }
            (Db::Pool(_), outcome) => outcome,
        };
        for event in denials.into_inner().unwrap_or_else(|p| p.into_inner()) {
            if let Err(e) = app.store.audit(event).await {
                tracing::error!(error = %e, "a refused access could not be audited");
                return Err(DomainError::internal("the audit log could not record a refused access"));
            }
        }
        outcome
    }
}
