//! One worker: a thread pinned to its core, running a monoio runtime with
//! its own listeners, pools and connections until shutdown and drain.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use monoio::net::{TcpListener, TcpStream};

use super::contain::Contained;
use super::Shared;
use crate::context::CoreCtx;
use crate::context::ListenerInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    IoUring,
    Legacy,
}

pub struct WorkerSpec {
    pub id: usize,
    pub cpu: Option<usize>,
    pub driver: Driver,
    pub uring_entries: u32,
    pub listeners: Vec<(ListenerInfo, std::net::TcpListener)>,
}

/// Body of a worker thread; returns when the worker has drained.
pub fn run(spec: WorkerSpec, shared: Arc<Shared>) -> io::Result<()> {
    if let Some(cpu) = spec.cpu {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
            eprintln!(
                "ringgate: warning: worker {} could not be pinned to CPU {cpu}",
                spec.id
            );
        }
    }
    match spec.driver {
        Driver::IoUring => uring_runtime(spec.uring_entries, true)
            .or_else(|_| uring_runtime(spec.uring_entries, false))?
            .block_on(main(spec.id, spec.listeners, shared)),
        Driver::Legacy => monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()?
            .block_on(main(spec.id, spec.listeners, shared)),
    }
}

type UringRuntime = monoio::Runtime<monoio::time::TimeDriver<monoio::IoUringDriver>>;

/// Builds this worker's ring. With `tuned`, the ring is single-issuer with
/// deferred, cooperative task work: completions are processed when the
/// worker enters the kernel anyway instead of interrupting it, which is
/// exactly a thread-per-core loop's pattern (kernel 6.1+; older kernels
/// refuse the flags and get a plain ring).
fn uring_runtime(entries: u32, tuned: bool) -> io::Result<UringRuntime> {
    let mut urb = io_uring::IoUring::builder();
    if tuned {
        urb.setup_coop_taskrun()
            .setup_single_issuer()
            .setup_defer_taskrun();
    }
    monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(entries)
        .uring_builder(urb)
        .enable_timer()
        .build()
}

async fn main(
    id: usize,
    listeners: Vec<(ListenerInfo, std::net::TcpListener)>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let ctx = Rc::new(CoreCtx::new(id, shared.clone()));
    let mut accepts = Vec::with_capacity(listeners.len());
    for (info, std_listener) in listeners {
        let listener = TcpListener::from_std(std_listener)?;
        accepts.push(monoio::spawn(accept_loop(
            ctx.clone(),
            listener,
            Rc::new(info),
        )));
    }
    monoio::spawn(sweep_pool(ctx.clone()));
    monoio::spawn(sweep_limits(ctx.clone()));
    shared.shutdown.wait().await;
    for a in accepts {
        a.await;
    }
    drain(&ctx).await;
    Ok(())
}

async fn accept_loop(ctx: Rc<CoreCtx>, listener: TcpListener, info: Rc<ListenerInfo>) {
    let shared = ctx.shared.clone();
    let mut stop = std::pin::pin!(shared.shutdown.wait());
    loop {
        monoio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => admit(&ctx, stream, peer, &info),
                Err(e) => {
                    // EMFILE/ENFILE and friends: back off instead of spinning
                    // (the connection waits in the listen backlog).
                    eprintln!("ringgate: accept on {} failed: {e}", info.addr);
                    monoio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Starts serving an accepted connection, or closes it at once (counted)
/// when this core is full or the process's descriptors are down to the
/// reserve kept for upstream connections.
fn admit(ctx: &Rc<CoreCtx>, stream: TcpStream, peer: SocketAddr, info: &Rc<ListenerInfo>) {
    let max = ctx.snapshot().config.server.max_connections_per_core;
    if ctx.conns.len() >= max {
        ctx.stats().connections_refused.inc();
        return;
    }
    let Some(permit) = ClientPermit::take(ctx) else {
        ctx.stats().connections_refused_fd.inc();
        return;
    };
    // Heads and small bodies go out in one write; don't let Nagle hold them.
    let _ = stream.set_nodelay(true);
    let fd = stream.as_raw_fd();
    let panicked = {
        let ctx = ctx.clone();
        move || {
            ctx.stats().connection_panics.inc();
            ctx.stats().connections_active.set(ctx.conns.len() as u64);
        }
    };
    let (ctx, info) = (ctx.clone(), info.clone());
    if info.tls {
        monoio::spawn(Contained::new(
            async move {
                serve_tls(ctx, stream, fd, peer, info).await;
                drop(permit);
            },
            panicked,
        ));
    } else {
        monoio::spawn(Contained::new(
            async move {
                crate::proxy::serve(ctx, stream, fd, peer, info).await;
                drop(permit);
            },
            panicked,
        ));
    }
}

/// One client connection counted against the process-wide cap; released
/// when dropped, after the connection's socket is closed.
struct ClientPermit {
    ctx: Rc<CoreCtx>,
}

impl ClientPermit {
    fn take(ctx: &Rc<CoreCtx>) -> Option<ClientPermit> {
        ctx.shared
            .fd_budget
            .try_admit()
            .then(|| ClientPermit { ctx: ctx.clone() })
    }
}

impl Drop for ClientPermit {
    fn drop(&mut self) {
        self.ctx.shared.fd_budget.release();
    }
}

/// A TLS connection: the handshake (bounded by the listener's
/// `handshake_timeout`), then the same proxy loop as plain TCP. A failed or
/// timed-out handshake closes the connection and is counted.
async fn serve_tls(
    ctx: Rc<CoreCtx>,
    stream: TcpStream,
    fd: RawFd,
    peer: SocketAddr,
    info: Rc<ListenerInfo>,
) {
    let Some(tls) = ctx.tls_acceptor(info.index) else {
        // A reload took this listener's TLS settings away; serving it in
        // plain text would surprise both sides. Restart to change it.
        ctx.stats().tls_handshake_failures.inc();
        return;
    };
    // Registered while handshaking, so the handshake counts against
    // max_connections_per_core and a drain closes it (idle: no request yet).
    let guard = ctx.conns.register(fd);
    guard.slot.set_idle(true);
    let accepted = monoio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(stream)).await;
    drop(guard);
    match accepted {
        Ok(Ok(stream)) => {
            ctx.stats().tls_handshakes.inc();
            crate::proxy::serve(ctx, stream, fd, peer, info).await;
        }
        Ok(Err(_)) | Err(_) => ctx.stats().tls_handshake_failures.inc(),
    }
}

/// Stops keep-alive connections at once, lets busy ones finish their current
/// request, and gives up on stragglers after `server.drain_timeout`.
async fn drain(ctx: &CoreCtx) {
    ctx.draining.set(true);
    ctx.conns.close_idle();
    let limit = ctx.snapshot().config.server.drain_timeout.get();
    if monoio::time::timeout(limit, ctx.conns.wait_empty())
        .await
        .is_err()
    {
        eprintln!(
            "ringgate: worker {}: drain timeout, closing {} connection(s)",
            ctx.id,
            ctx.conns.len()
        );
    }
}

/// Closes pooled upstream connections that outlived their idle timeout even
/// when no request comes to find them.
async fn sweep_pool(ctx: Rc<CoreCtx>) {
    let mut trims_left = 0u32;
    loop {
        monoio::time::sleep(Duration::from_secs(1)).await;
        let snap = ctx.snapshot();
        let timeout_of = |addr| {
            snap.clusters
                .iter()
                .find(|c| c.endpoints.contains(&addr))
                .map_or(Duration::ZERO, |c| c.pool_idle_timeout)
        };
        ctx.pool
            .borrow_mut()
            .evict_expired(std::time::Instant::now(), timeout_of);
        drop(snap);
        release_after_burst(&ctx, &mut trims_left);
    }
}

/// Connections closed since the last sweep that make returning memory to
/// the OS worth its cost (a walk of the allocator's arenas).
const BURST_CLOSED_MIN: usize = 256;

/// Sweeps that return memory after a burst: some is freed a little later
/// than the connections close (the runtime compacts its I/O operation
/// table in batches), so the sweeps after the burst trim again.
const TRIMS_PER_BURST: u32 = 3;

/// After many connections closed, frees most pooled buffers and gives the
/// freed heap back to the OS; otherwise the memory of a burst would stay
/// resident for the life of the process.
fn release_after_burst(ctx: &CoreCtx, trims_left: &mut u32) {
    let peak = ctx.conns.take_peak();
    if peak.saturating_sub(ctx.conns.len()) >= BURST_CLOSED_MIN {
        *trims_left = TRIMS_PER_BURST;
        ctx.bufs.shrink_to(ctx.bufs.max_free() / 4);
        ctx.heads.shrink_to(ctx.heads.max_free() / 4);
        ctx.frames.shrink_to(ctx.frames.max_free() / 4);
    }
    if *trims_left > 0 {
        *trims_left -= 1;
        crate::sys::trim_heap();
    }
}

/// Gives back expired rate-limit leases (so an idle core strands no
/// budget), forgets idle keys and updates the keys gauge.
async fn sweep_limits(ctx: Rc<CoreCtx>) {
    loop {
        let snap = ctx.snapshot();
        let every = snap
            .rate_limits
            .iter()
            .map(|l| Duration::from_nanos(l.lease_ttl_ns / 2))
            .min()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        drop(snap);
        monoio::time::sleep(every).await;
        let limiter = ctx.limiter();
        if !limiter.is_empty() {
            limiter.sweep(ctx.stats());
        }
    }
}
