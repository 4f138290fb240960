//! What one core owns: its view of the config snapshot, its upstream pools and
//! balancers, its connections and buffers. Single-threaded, so `Rc`/`Cell`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::bufs::BufPool;
use super::conns::ConnRegistry;
use super::Shared;
use crate::config::Snapshot;
use crate::filter::auth::cache::TokenCache;
use crate::stats::CoreStats;
use crate::upstream::{Pool, RoundRobin};

pub struct CoreCtx {
    pub id: usize,
    pub shared: Arc<Shared>,
    /// `Rc` around the shared `Arc` on purpose: handing the snapshot to a
    /// request clones the `Rc` (a plain increment), never the `Arc` (an
    /// atomic RMW on a cache line every core touches).
    #[allow(clippy::redundant_allocation)]
    snapshot: RefCell<Rc<Arc<Snapshot>>>,
    generation: Cell<u64>,
    balancers: RefCell<Rc<[RoundRobin]>>,
    pub pool: RefCell<Pool>,
    pub conns: Rc<ConnRegistry>,
    pub bufs: BufPool,
    pub draining: Cell<bool>,
    /// Verified JWTs of this core; follows the snapshot generation itself.
    pub tokens: RefCell<TokenCache>,
}

impl CoreCtx {
    pub fn new(id: usize, shared: Arc<Shared>) -> Self {
        let snap = shared.snapshot.load_full();
        let generation = snap.generation;
        let buf_bytes = snap.config.limits.buffer_bytes.as_usize();
        let balancers = balancers_for(&snap, id);
        CoreCtx {
            id,
            shared,
            snapshot: RefCell::new(Rc::new(snap)),
            generation: Cell::new(generation),
            balancers: RefCell::new(balancers),
            pool: RefCell::new(Pool::new()),
            conns: Rc::new(ConnRegistry::default()),
            bufs: BufPool::new(buf_bytes, 1024),
            draining: Cell::new(false),
            tokens: RefCell::new(TokenCache::new(0)),
        }
    }

    /// The current snapshot. One relaxed atomic load per call; the shared
    /// `Arc` is only touched (once per core) when a reload published a new one.
    #[allow(clippy::redundant_allocation)]
    pub fn snapshot(&self) -> Rc<Arc<Snapshot>> {
        if self.shared.generation.load(Ordering::Acquire) != self.generation.get() {
            self.refresh();
        }
        self.snapshot.borrow().clone()
    }

    #[cold]
    fn refresh(&self) {
        let snap = self.shared.snapshot.load_full();
        self.generation.set(snap.generation);
        *self.balancers.borrow_mut() = balancers_for(&snap, self.id);
        *self.snapshot.borrow_mut() = Rc::new(snap);
    }

    /// This core's balancers, one per cluster of the current snapshot.
    pub fn balancers(&self) -> Rc<[RoundRobin]> {
        self.balancers.borrow().clone()
    }

    pub fn stats(&self) -> &CoreStats {
        self.shared.stats.core(self.id)
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }
}

fn balancers_for(snap: &Snapshot, core: usize) -> Rc<[RoundRobin]> {
    snap.clusters
        .iter()
        .map(|c| RoundRobin::starting_at(core.wrapping_mul(7) % c.endpoints.len().max(1)))
        .collect()
}
