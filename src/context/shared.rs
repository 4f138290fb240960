//! What the cores share, and nothing else: see docs/ARCHITECTURE.md,
//! "Threads and shared state". Nothing here is touched per request except
//! the generation (one relaxed load) and the stats slots of the core itself.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::fds::FdBudget;
use super::shutdown::Shutdown;
use crate::ratelimit::broker::Broker;
use crate::ratelimit::redis::RedisLink;
use crate::snapshot::Snapshot;
use crate::stats::Stats;

/// What the cores share (docs/ARCHITECTURE.md, threads and shared state): the config snapshot, stats slots,
/// the rate-limit budgets cores lease from, and the shutdown signal.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    /// Mirrors `snapshot.generation` so cores notice a reload with one load.
    pub generation: AtomicU64,
    pub stats: Stats,
    pub shutdown: Shutdown,
    /// Instance-wide rate-limit budgets (locked once per lease, never per request).
    pub broker: Broker,
    /// The Redis limiter thread, when `[redis]` has an address (started
    /// once; `[redis]` changes need a restart).
    pub redis: Option<Arc<RedisLink>>,
    /// Worker count: cores sharing each instance budget.
    pub workers: usize,
    /// Client connections across all workers against the descriptor limit.
    pub fd_budget: FdBudget,
}
