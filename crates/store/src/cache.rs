//! A cache of what a server reads on every request (a merchant's allowed IPs, an API key with
//! its merchant's status and plan), kept until a change to it is heard (see [`crate::changes`]):
//! this server's writes are forgotten as they commit, other servers' when their notification
//! arrives (on SQLite, another process's commits are checked for before each look). While
//! other servers are not being heard (the listener is reconnecting or has not
//! started), an entry is trusted for [`UNHEARD_TTL`] only, the bound that polling used to give.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use punchcard_domain::MerchantId;

use crate::changes::{Change, Changes, Topic};
use crate::{Db, StoreError};

/// How long an entry is trusted while other servers' changes are not being heard.
pub const UNHEARD_TTL: Duration = Duration::from_secs(1);
/// The longest an entry is kept even while changes are heard, bounding the cost of any
/// invalidation that goes missing.
pub const MAX_AGE: Duration = Duration::from_secs(300);
/// Past this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;

/// Values of type `V` under keys `K`, each belonging to a merchant, forgotten when a topic this
/// cache watches names that merchant.
pub struct Cache<K, V> {
    db: Db,
    inner: Mutex<Inner<K, V>>,
    /// Whether a topic concerns what this cache holds.
    watches: fn(&Topic) -> bool,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    changes: Changes,
    /// Moves on every invalidation: a value read before it moved is not kept.
    generation: u64,
}

struct Entry<V> {
    merchant_id: MerchantId,
    at: Instant,
    value: V,
}

impl<K, V> std::fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Cache")
            .field("entries", &inner.entries.len())
            .field("generation", &inner.generation)
            .finish()
    }
}

impl<K, V> Inner<K, V> {
    /// Applies the changes heard since the last look.
    fn catch_up(&mut self, watches: fn(&Topic) -> bool) {
        while let Some(change) = self.changes.try_next() {
            match change {
                Change::Topic(topic) if watches(&topic) => self.forget(topic.merchant_id()),
                Change::Topic(_) => {}
                Change::Everything => {
                    self.entries.clear();
                    self.generation += 1;
                }
            }
        }
    }

    fn forget(&mut self, merchant_id: &MerchantId) {
        self.entries.retain(|_, e| &e.merchant_id != merchant_id);
        self.generation += 1;
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    pub fn new(db: &Db, watches: fn(&Topic) -> bool) -> Self {
        Self {
            db: db.clone(),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                changes: db.subscribe_changes(),
                generation: 0,
            }),
            watches,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.catch_up(self.watches);
        inner
    }

    /// The value under `key`, read with `load` when it is not cached (or no longer trusted).
    /// `load` answers the value with its merchant, or `None` (not cached: nothing to forget
    /// it by).
    pub async fn get_or_load<E, F, Fut>(&self, key: &K, load: F) -> Result<Option<V>, E>
    where
        E: From<StoreError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<(MerchantId, V)>, E>>,
    {
        self.db.catch_up_changes().await?;
        let (cached, generation) = {
            let inner = self.lock();
            let ttl = if inner.changes.live() {
                MAX_AGE
            } else {
                UNHEARD_TTL
            };
            let cached = inner
                .entries
                .get(key)
                .filter(|e| e.at.elapsed() < ttl)
                .map(|e| e.value.clone());
            (cached, inner.generation)
        };
        if let Some(value) = cached {
            return Ok(Some(value));
        }
        let Some((merchant_id, value)) = load().await? else {
            return Ok(None);
        };
        let mut inner = self.lock();
        // A change heard while reading may not be in what was read: keep nothing.
        if inner.generation == generation {
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
            inner.entries.insert(
                key.clone(),
                Entry {
                    merchant_id,
                    at: Instant::now(),
                    value: value.clone(),
                },
            );
        }
        Ok(Some(value))
    }

    /// Forgets what the cache holds of a merchant.
    pub fn forget(&self, merchant_id: &MerchantId) {
        self.lock().forget(merchant_id);
    }
}
