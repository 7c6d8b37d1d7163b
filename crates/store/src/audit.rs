//! The hash-chained, append-only audit log.
use crate::rows::{Get, ts};
use crate::{SqlStore, db_err};

use openiop_domain::audit::{AuditEntry, AuditEvent, ChainVerdict, ChainVerifier, entry_hash};
use openiop_domain::ids::OrganizationId;
use openiop_domain::store::AuditFilter;
use openiop_domain::{DomainError, Result};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Appends one entry inside the caller's transaction.
///
/// The first statement is an UPDATE of the chain head: it takes the write lock at once (SQLite)
/// or a row lock (PostgreSQL), so concurrent writers, even on several app servers, extend the
/// chain one at a time. Call it first in a write transaction.
pub(crate) async fn append(store: &SqlStore, conn: &mut AnyConnection, e: &AuditEvent) -> Result<()> {
    // A write follows: cached reference data may be about to change.
    store.reference_cache.invalidate();
    extend_chain(store, conn, std::slice::from_ref(e)).await
}

/// Extends the chain by `events` on `conn`: the head moves once by their number (taking the
/// write lock first, see [`append`]), the entries go in with multi-row inserts, and the head
/// takes the last hash.
async fn extend_chain(store: &SqlStore, conn: &mut AnyConnection, events: &[AuditEvent]) -> Result<()> {
    store.q()?;
    let head: AnyRow = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(events.len() as i64)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut seq = head.int("seq")? - events.len() as i64;
    let mut prev = head.text("hash")?;
    let at = ts(store.now());
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        seq += 1;
        let hash = entry_hash(seq, &at, e, &prev);
        rows.push((seq, e, std::mem::replace(&mut prev, hash.clone()), hash));
    }
    for chunk in rows.chunks(BATCH_ROWS) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", (1..=16).map(|c| format!("${}", i * 16 + c)).collect::<Vec<_>>().join(", ")))
            .collect();
        let mut q = sqlx::query(crate::sql(format!(
            "INSERT INTO audit_log (seq, occurred_at, organization_id, user_id, actor, role, patient_id, action, \
             resource_type, resource_id, outcome, source_ip, request_id, detail, prev_hash, hash) VALUES {}",
            values.join(", ")
        )));
        for (seq, e, prev, hash) in chunk {
            q = q
                .bind(*seq)
                .bind(at.clone())
                .bind(e.organization_id.map(|o| o.to_string()))
                .bind(e.user_id.map(|u| u.to_string()))
                .bind(e.actor.clone())
                .bind(e.role.clone())
                .bind(e.patient_id.clone())
                .bind(e.action.clone())
                .bind(e.resource_type.clone())
                .bind(e.resource_id.clone())
                .bind(e.outcome.clone())
                .bind(e.source_ip.clone())
                .bind(e.request_id.clone())
                .bind(e.detail.clone())
                .bind(prev.clone())
                .bind(hash.clone());
        }
        store.q()?;
        q.execute(&mut *conn).await.map_err(db_err)?;
    }
    store.q()?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&prev).execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

fn entry(r: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.int("seq")?,
        occurred_at: r.time("occurred_at")?,
        event: AuditEvent {
            organization_id: r.opt_text("organization_id")?.map(|s| s.parse()).transpose()?,
            user_id: r.opt_text("user_id")?.map(|s| s.parse()).transpose()?,
            actor: r.text("actor")?,
            role: r.text("role")?,
            patient_id: r.opt_text("patient_id")?,
            action: r.text("action")?,
            resource_type: r.text("resource_type")?,
            resource_id: r.opt_text("resource_id")?,
            outcome: r.text("outcome")?,
            source_ip: r.text("source_ip")?,
            request_id: r.text("request_id")?,
            detail: r.text("detail")?,
        },
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
    })
}

const COLUMNS: &str = "seq, occurred_at, organization_id, user_id, actor, role, patient_id, action, resource_type, \
                       resource_id, outcome, source_ip, request_id, detail, prev_hash, hash";

/// Audit entries written outside a caller's transaction (reads of patient data, sign-ins) are
/// group-committed: each request queues its entry and waits; whoever holds the writer lock
/// writes everything queued so far in one transaction (one chain-head update, multi-row inserts,
/// one commit), so concurrent reads share a commit instead of queueing one commit each on the
/// database's write lock. A request returns only after its own entry is committed, and a batch
/// runs to its end in its own task even if the request that started it goes away.
/// An entry waiting for its batch, with where to tell its request how the commit went.
type Waiting = (AuditEvent, oneshot::Sender<std::result::Result<(), String>>);

#[derive(Default)]
pub(crate) struct AuditQueue {
    pending: std::sync::Mutex<Vec<Waiting>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// Rows per multi-row INSERT of a batch (16 columns each: 256 parameters).
const BATCH_ROWS: usize = 16;

impl SqlStore {
    pub(crate) async fn audit_one(&self, e: AuditEvent) -> Result<()> {
        if self.in_work() {
            // Inside a unit of work the entry commits (or vanishes) with the change.
            let mut conn = self.conn().await?;
            return extend_chain(self, &mut conn, std::slice::from_ref(&e)).await;
        }
        let (tx, rx) = oneshot::channel();
        self.audit_queue.pending.lock().unwrap_or_else(|p| p.into_inner()).push((e, tx));
        let guard = self.audit_queue.writer.clone().lock_owned().await;
        let batch = std::mem::take(&mut *self.audit_queue.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            // An earlier writer took this entry with its batch.
            drop(guard);
        } else {
            let store = self.clone();
            let task = tokio::spawn(async move {
                let _guard = guard;
                let (events, replies): (Vec<AuditEvent>, Vec<_>) = batch.into_iter().unzip();
                let outcome = store.append_batch(&events).await.map_err(|e| e.to_string());
                for reply in replies {
                    let _ = reply.send(outcome.clone());
                }
            });
            let _ = task.await;
        }
        match rx.await {
            Ok(outcome) => outcome.map_err(DomainError::Internal),
            Err(_) => Err(DomainError::internal("the audit writer stopped before committing the entry")),
        }
    }

    /// Appends entries in one transaction: the chain head moves once by their number.
    async fn append_batch(&self, events: &[AuditEvent]) -> Result<()> {
        let mut tx = self.write().await?;
        extend_chain(self, &mut tx, events).await?;
        tx.commit().await
    }

    pub(crate) async fn search_audit(&self, org: OrganizationId, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        // An organization's log only: entries without one (sign-in attempts at unknown
        // accounts, rejected tokens) belong to no organization's auditors.
        let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE organization_id = $1");
        let mut binds: Vec<String> = vec![org.to_string()];
        let mut add = |clause: &str, value: String| {
            binds.push(value);
            sql.push_str(&clause.replace("$?", &format!("${}", binds.len())));
        };
        if let Some(u) = f.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            match &f.actor_alias {
                Some(alias) => {
                    add(" AND (actor = $? OR user_id = $?", u.to_lowercase());
                    add(" OR actor = $?)", alias.clone());
                }
                None => add(" AND (actor = $? OR user_id = $?)", u.to_lowercase()),
            }
        }
        if let Some(p) = f.patient_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            add(" AND patient_id = $?", p.to_string());
        }
        if let Some(a) = f.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            add(" AND action = $?", a.to_string());
        }
        if let Some(d) = f.from {
            add(" AND occurred_at >= $?", format!("{}T00:00:00", d.format("%Y-%m-%d")));
        }
        if let Some(d) = f.to {
            let next = d.succ_opt().unwrap_or(d);
            add(" AND occurred_at < $?", format!("{}T00:00:00", next.format("%Y-%m-%d")));
        }
        if let Some((sites, programs)) = &f.units {
            // A site-scoped auditor: entries about patients of their sites or programs only.
            let list = |ids: Vec<String>, binds: &mut Vec<String>| -> String {
                if ids.is_empty() {
                    return "NULL".into();
                }
                ids.into_iter()
                    .map(|v| {
                        binds.push(v);
                        format!("${}", binds.len())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let s1 = list(sites.iter().map(|x| x.to_string()).collect(), &mut binds);
            let s2 = list(sites.iter().map(|x| x.to_string()).collect(), &mut binds);
            let p1 = list(programs.iter().map(|x| x.to_string()).collect(), &mut binds);
            sql.push_str(&format!(
                " AND patient_id IN (SELECT p.id FROM patients p WHERE p.organization_id = $1 AND p.site_id IN ({s1}) \
                 UNION SELECT e.patient_id FROM episodes e WHERE e.organization_id = $1 AND (e.site_id IN ({s2}) OR e.program_id IN ({p1})))"
            ));
        }
        let limit = if f.limit <= 0 { 200 } else { f.limit.min(1000) };
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.clone());
        }
        self.q()?;
        let rows = q.fetch_all(&mut *self.conn().await?).await.map_err(db_err)?;
        rows.iter().map(entry).collect()
    }

    pub(crate) async fn verify_chain(&self) -> Result<ChainVerdict> {
        let mut verifier = ChainVerifier::default();
        let mut after = 0i64;
        loop {
            self.q()?;
            let rows = sqlx::query(crate::sql(format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000")))
                .bind(after)
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let e = entry(r)?;
                after = e.seq;
                verifier.check(&e);
            }
        }
        self.q()?;
        let head =
            sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *self.conn().await?).await.map_err(db_err)?;
        Ok(verifier.finish(head.int("seq")?, &head.text("hash")?))
    }
}
