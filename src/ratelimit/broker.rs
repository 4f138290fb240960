//! The instance-wide budget cores lease from (`mode = "global"`,
//! `backend = "memory"`). Each limit has its own table behind its own
//! mutex; a core takes that lock once per lease (a batch of admissions) and
//! once per returned lease, never per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::algo::{lease_size, Rule, State, Take};
use super::key::KeyTable;
use super::LimitSpec;

/// A lease as a core receives it, from the broker or from Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub granted: u64,
    /// Left in the shared budget after this grant.
    pub remaining: u64,
    pub reset_ns: u64,
    pub retry_ns: u64,
    /// The window the grant belongs to (windowed algorithms), in the
    /// budget's own clock; handed back with a refund.
    pub window: u64,
    /// How long the grant stays valid (to its window's end); 0 = no bound.
    pub valid_for_ns: u64,
}

impl Grant {
    pub fn from_take(t: Take, now: u64) -> Grant {
        Grant {
            granted: t.granted,
            remaining: t.remaining,
            reset_ns: t.reset_ns,
            retry_ns: t.retry_ns,
            window: t.window,
            valid_for_ns: if t.valid_until == u64::MAX {
                0
            } else {
                t.valid_until.saturating_sub(now)
            },
        }
    }
}

/// All limits' instance-wide budgets. Lives in `context::Shared` and
/// survives reloads: a limit keeps its budget while its rule is unchanged.
pub struct Broker {
    /// The clock every core measures `now` against (windows align to it).
    pub epoch: Instant,
    tables: Mutex<HashMap<Arc<str>, Arc<BrokerTable>>>,
}

impl Default for Broker {
    fn default() -> Self {
        Broker {
            epoch: Instant::now(),
            tables: Mutex::default(),
        }
    }
}

impl Broker {
    /// The budget table of `spec` (once per core per snapshot, not per request).
    pub fn table(&self, spec: &LimitSpec) -> Arc<BrokerTable> {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tables.get(&spec.name) {
            if t.rule == spec.rule && t.max_keys == spec.max_keys {
                return t.clone();
            }
        }
        let t = Arc::new(BrokerTable {
            rule: spec.rule,
            max_keys: spec.max_keys,
            keys: Mutex::new(KeyTable::new(spec.max_keys)),
        });
        tables.insert(spec.name.clone(), t.clone());
        t
    }
}

/// One limit's budgets, one per key, bounded by `max_keys` like a core's.
pub struct BrokerTable {
    rule: Rule,
    max_keys: usize,
    keys: Mutex<KeyTable<State>>,
}

impl BrokerTable {
    /// Leases up to `max` admissions of `key` to a core: a share of what is
    /// left (see `algo::lease_size`), at least 1 when anything is left.
    pub fn lease(&self, key: u64, now: u64, max: u64, takers: u64) -> Grant {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let state = keys.entry(key, State::default, |_, _| {});
        let available = self.rule.take(state, now, 0).remaining;
        let want = lease_size(available, takers, max);
        Grant::from_take(self.rule.take(state, now, want), now)
    }

    /// Gives back `n` unused admissions of a lease taken in `window`.
    pub fn refund(&self, key: u64, now: u64, n: u64, window: u64) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = keys.get_mut(key) {
            self.rule.refund(state, now, n, window);
        }
    }

    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::algo::Algorithm;
    use crate::ratelimit::{Backend, KeyPart, MissingKey, Mode};

    fn spec(algorithm: Algorithm, limit: u64) -> LimitSpec {
        LimitSpec {
            name: "t".into(),
            key: vec![KeyPart::ClientIp],
            on_missing_key: MissingKey::ClientIp,
            rule: Rule {
                algorithm,
                limit,
                period_ns: 2_000_000_000,
                burst: limit,
            },
            mode: Mode::Global,
            backend: Backend::Memory,
            max_keys: 100,
            headers: true,
            lease_size: 50,
            lease_ttl_ns: 100_000_000,
        }
    }

    #[test]
    fn leases_shrink_and_never_exceed_the_budget() {
        let b = Broker::default();
        let t = b.table(&spec(Algorithm::FixedWindow, 200));
        let mut sizes = Vec::new();
        let mut total = 0;
        loop {
            let g = t.lease(7, 1, 50, 2);
            if g.granted == 0 {
                break;
            }
            sizes.push(g.granted);
            total += g.granted;
        }
        assert_eq!(total, 200);
        assert_eq!(sizes[0], 50);
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        assert_eq!(*sizes.last().unwrap(), 1);
        // A refund makes room again, in the same window only.
        t.refund(7, 2, 3, 0);
        assert_eq!(t.lease(7, 3, 50, 2).granted, 1);
        assert!(Arc::ptr_eq(
            &t,
            &b.table(&spec(Algorithm::FixedWindow, 200))
        ));
        assert!(!Arc::ptr_eq(
            &t,
            &b.table(&spec(Algorithm::FixedWindow, 100))
        ));
    }
}
