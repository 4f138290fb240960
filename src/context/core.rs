//! What one core owns: its view of the config snapshot, its upstream pools and
//! balancers, its connections and buffers. Single-threaded, so `Rc`/`Cell`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use monoio_rustls::TlsAcceptor;
use rustls::server::ServerSessionMemoryCache;

use super::bufs::{BufPool, FreeList, Heads};
use super::conns::ConnRegistry;
use super::frames::FramePool;
use super::Shared;
use crate::filter::auth::cache::TokenCache;
use crate::ratelimit::CoreLimiter;
use crate::snapshot::Snapshot;
use crate::stats::CoreStats;
use crate::upstream::{Pool, RoundRobin};

/// Free read buffers a core keeps for reuse (4 MiB at the default 16 KiB).
/// Buffers are only held while a request is read or proxied, so this covers
/// the requests in flight at once on a busy core; beyond it they are freed.
const FREE_BUFFERS_PER_CORE: usize = 256;

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
    /// This core's TLS acceptors, indexed like `config.listeners`.
    tls: RefCell<Rc<[Option<CoreTls>]>>,
    /// This core's session caches by listener index; kept across reloads
    /// (while the size stays) so sessions survive a certificate reload.
    session_caches: RefCell<Vec<Option<SessionCache>>>,
    /// This core's rate limiter for the current snapshot.
    limiter: RefCell<Rc<CoreLimiter>>,
    pub pool: RefCell<Pool>,
    pub conns: Rc<ConnRegistry>,
    pub bufs: BufPool,
    /// Request and response heads, held only while a request is handled.
    pub heads: FreeList<Box<Heads>>,
    /// Blocks for requests' boxed exchange state, held only while one runs.
    pub frames: FramePool,
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
        let mut session_caches = Vec::new();
        let tls = tls_for(&snap, id, &shared, &mut session_caches);
        let limiter = limiter_for(&snap, &shared);
        CoreCtx {
            id,
            shared,
            snapshot: RefCell::new(Rc::new(snap)),
            generation: Cell::new(generation),
            balancers: RefCell::new(balancers),
            tls: RefCell::new(tls),
            session_caches: RefCell::new(session_caches),
            limiter: RefCell::new(limiter),
            pool: RefCell::new(Pool::new()),
            conns: Rc::new(ConnRegistry::default()),
            bufs: BufPool::new(buf_bytes, FREE_BUFFERS_PER_CORE),
            heads: FreeList::new(FREE_BUFFERS_PER_CORE),
            frames: FramePool::new(FREE_BUFFERS_PER_CORE),
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
        let tls = tls_for(
            &snap,
            self.id,
            &self.shared,
            &mut self.session_caches.borrow_mut(),
        );
        *self.tls.borrow_mut() = tls;
        let limiter = limiter_for(&snap, &self.shared);
        let old = std::mem::replace(&mut *self.limiter.borrow_mut(), limiter);
        old.release_all(self.stats());
        *self.snapshot.borrow_mut() = Rc::new(snap);
    }

    /// The TLS acceptor of listener `index` in the current snapshot; `None`
    /// when that listener has no TLS settings (any more).
    pub fn tls_acceptor(&self, index: usize) -> Option<CoreTls> {
        let _ = self.snapshot();
        self.tls.borrow().get(index).cloned().flatten()
    }

    /// This core's rate limiter (rebuilt when the snapshot changes; a
    /// request that awaits a Redis lease holds on to the one it started with).
    pub fn limiter(&self) -> Rc<CoreLimiter> {
        self.limiter.borrow().clone()
    }

    /// This core's balancers, one per cluster of the current snapshot.
    pub fn balancers(&self) -> Rc<[RoundRobin]> {
        self.balancers.borrow().clone()
    }

    pub fn stats(&self) -> &CoreStats {
        self.shared.stats.core(self.id)
    }
}

/// A session cache and the size it was made with.
type SessionCache = (usize, Arc<ServerSessionMemoryCache>);

/// What a core needs to terminate TLS on one listener.
#[derive(Clone)]
pub struct CoreTls {
    pub acceptor: TlsAcceptor,
    pub handshake_timeout: Duration,
}

/// This core's copies of the snapshot's TLS listener configs, each with the
/// core's own session cache (no lock shared with other cores).
fn tls_for(
    snap: &Snapshot,
    core: usize,
    shared: &Arc<Shared>,
    caches: &mut Vec<Option<SessionCache>>,
) -> Rc<[Option<CoreTls>]> {
    caches.resize(snap.listener_tls.len(), None);
    snap.listener_tls
        .iter()
        .zip(caches.iter_mut())
        .map(|(tls, cache)| {
            let Some(tls) = tls else {
                *cache = None;
                return None;
            };
            let size = tls.session_cache_size;
            if cache.as_ref().map(|(n, _)| *n) != Some(size) {
                *cache = tls.new_session_cache().map(|c| (size, c));
            }
            let shared = shared.clone();
            let on_resume = Arc::new(move || shared.stats.core(core).tls_resumed.inc());
            let cache = cache.as_ref().map(|(_, c)| c.clone());
            Some(CoreTls {
                acceptor: TlsAcceptor::from(tls.for_core(cache, on_resume)),
                handshake_timeout: tls.handshake_timeout,
            })
        })
        .collect()
}

fn limiter_for(snap: &Snapshot, shared: &Shared) -> Rc<CoreLimiter> {
    Rc::new(CoreLimiter::new(
        &snap.rate_limits,
        snap.generation,
        &shared.broker,
        shared.redis.as_ref(),
        shared.workers,
    ))
}

fn balancers_for(snap: &Snapshot, core: usize) -> Rc<[RoundRobin]> {
    snap.clusters
        .iter()
        .map(|c| RoundRobin::starting_at(core.wrapping_mul(7) % c.endpoints.len().max(1)))
        .collect()
}
