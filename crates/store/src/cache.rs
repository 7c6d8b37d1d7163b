//! A short-lived, per-process cache of an organization's reference data: sites, rooms, service
//! types, programs and tracks, which nearly every page reads and staff change rarely.
//!
//! Any write through this store empties it (every write transaction starts with
//! `audit::append`, which moves the generation on; a unit of work empties it again after it
//! commits, and bulk loads when they commit), so a process sees its own writes at once. Inside
//! a unit of work it is not used at all. Several app servers on one database behave as one: a
//! trigger on every reference table moves `reference_revision` in the changing transaction, and
//! a cached copy is used only while the revision it was loaded at is still the database's (one
//! primary-key read), so another server's committed change is seen by the next request. No
//! patient data is cached.
use crate::SqlStore;
use openiop_domain::Result;
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

struct Entry {
    /// The database's reference revision when the value was read (read before the value).
    revision: i64,
    generation: u64,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub(crate) struct ReferenceCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<(&'static str, String), Entry>>,
}

impl ReferenceCache {
    /// Forgets everything (a write happened or is about to commit).
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl SqlStore {
    /// The cached value of `kind` for `key`, or `load`'s, remembered if no write moved the
    /// generation while it loaded.
    pub(crate) async fn reference<T, F, Fut>(&self, kind: &'static str, key: String, load: F) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if self.in_work() {
            // A unit of work checks rules against what its own transaction sees, never a copy.
            return load().await;
        }
        let cache = &self.reference_cache;
        let generation = cache.generation.load(Ordering::SeqCst);
        // Read first: a change committed after this read moves the revision past it, so a value
        // read below can only be as new as or newer than the revision it is kept with.
        let revision = self.reference_revision().await?;
        let hit = {
            let entries = cache.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries
                .get(&(kind, key.clone()))
                .filter(|e| e.generation == generation && e.revision == revision)
                .and_then(|e| e.value.downcast_ref::<T>().cloned())
        };
        if let Some(v) = hit {
            return Ok(v);
        }
        let v = load().await?;
        if cache.generation.load(Ordering::SeqCst) == generation {
            let entry = Entry { revision, generation, value: Arc::new(v.clone()) };
            cache.entries.lock().unwrap_or_else(|p| p.into_inner()).insert((kind, key), entry);
        }
        Ok(v)
    }

    /// The database's reference revision (moved by a trigger on every reference table).
    async fn reference_revision(&self) -> Result<i64> {
        use sqlx::Row;
        self.q()?;
        let row = sqlx::query("SELECT revision FROM reference_revision WHERE id = 1")
            .fetch_one(&mut *self.conn().await?)
            .await
            .map_err(crate::db_err)?;
        row.try_get::<i64, _>(0).map_err(crate::db_err)
    }
}
