//! Rate limiting that is exact across cores and instances (docs/ARCHITECTURE.md).
//!
//! - [`algo`]: token bucket, GCRA, fixed and sliding window as pure code.
//! - [`key`]: what a limit counts by, and the bounded per-core key table.
//! - [`broker`]: the instance-wide budget that cores lease batches from
//!   (the only place with a lock, taken once per lease).
//! - [`redis`]: the budget shared by several instances, in Redis, leased
//!   the same way by a dedicated thread speaking RESP.
//! - [`core`]: one core's limiter — the per-request check, no lock, no
//!   atomic read-modify-write.
//!
//! Each core decides from its own bucket: a lease is a batch of admissions
//! already taken from the shared budget, so a request that finds tokens in
//! its core's lease passes with a hash lookup and a decrement. When the
//! lease is spent, the core takes another one; lease sizes shrink as the
//! budget runs out, and unused leases are given back when they expire, so
//! the total admitted stays within a token or two of the limit per core.
//! See docs/RATELIMIT.md for the design and measured accuracy.

pub mod algo;
pub mod broker;
pub mod core;
mod oneshot;
pub mod redis;
mod resp;

use std::sync::Arc;

pub use self::algo::{Algorithm, Rule};
pub use self::core::{CoreLimiter, Limited, Outcome, Pending, RateHeaders};
pub use self::key::{KeyPart, LimitSubject, MissingKey};

pub mod key;

/// Where a limit's budget is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each core enforces a fixed share (limit / workers); no coordination.
    Local,
    /// One budget for the instance (memory) or for every instance (redis).
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
}

/// What a Redis-backed limit does while Redis can't be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnRedisError {
    /// Each core enforces its share of the limit alone (as `mode = "local"`).
    #[default]
    Local,
    /// Let every request through.
    Allow,
    /// Refuse every request with 503 `rate_limit_unavailable`.
    Deny,
}

/// One `[[rate_limit]]`, validated, as the cores use it.
#[derive(Debug, Clone)]
pub struct LimitSpec {
    pub name: Arc<str>,
    pub key: Vec<KeyPart>,
    pub on_missing_key: MissingKey,
    pub rule: Rule,
    pub mode: Mode,
    pub backend: Backend,
    pub max_keys: usize,
    pub headers: bool,
    /// The most admissions one lease takes.
    pub lease_size: u64,
    /// How long a lease may be held before its unused part is given back.
    pub lease_ttl_ns: u64,
}

impl LimitSpec {
    /// How long an idle key's state matters: until its budget is whole
    /// again (a sliding window remembers the previous window too). Keys
    /// idle for longer are forgotten (after one to two times this).
    pub fn idle_ns(&self) -> u64 {
        let r = &self.rule;
        let refill = u128::from(r.burst) * u128::from(r.period_ns) / u128::from(r.limit.max(1));
        let windows = if r.algorithm == Algorithm::SlidingWindow {
            2
        } else {
            1
        };
        (r.period_ns.saturating_mul(windows))
            .max(u64::try_from(refill).unwrap_or(u64::MAX))
            .max(self.lease_ttl_ns)
            .max(1_000_000_000)
    }
}

/// `[redis]`, as the limiter thread uses it.
#[derive(Debug, Clone)]
pub struct RedisSpec {
    pub address: String,
    pub key_prefix: String,
    pub connect_timeout: std::time::Duration,
    pub command_timeout: std::time::Duration,
    pub retry_interval: std::time::Duration,
    pub on_error: OnRedisError,
}
