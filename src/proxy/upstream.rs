//! Getting a connection to an endpoint of a cluster: this core's pool first,
//! else a new connect bounded by `timeouts.upstream_connect`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;

use super::error::ProxyError;
use crate::config::Snapshot;
use crate::runtime::CoreCtx;

pub struct Acquired {
    pub stream: TcpStream,
    pub addr: SocketAddr,
    /// Came from the pool: a failure before any response byte may mean the
    /// upstream closed it while idle, which makes a retry reasonable.
    pub reused: bool,
}

/// Pooled connections idle at least this long are peeked even for requests
/// that could be retried: long idleness is when upstreams close them, and a
/// peek also catches stray bytes a retry would not.
const PEEK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// `retry_safe`: a failure on a stale pooled connection can be recovered by
/// re-sending the request, so a recently used connection needs no peek.
pub async fn acquire(
    ctx: &CoreCtx,
    snap: &Snapshot,
    cluster_index: usize,
    retry_safe: bool,
) -> Result<Acquired, ProxyError> {
    let cluster = &snap.clusters[cluster_index];
    let balancers = ctx.balancers();
    let pick = balancers
        .get(cluster_index)
        .and_then(|b| b.pick(cluster.endpoints.len()))
        .ok_or(ProxyError::UpstreamConnect)?;
    let addr = cluster.endpoints[pick];
    let pooled = ctx.pool.borrow_mut().take(
        addr,
        Instant::now(),
        cluster.pool_idle_timeout,
        if retry_safe {
            PEEK_AFTER_IDLE
        } else {
            Duration::ZERO
        },
    );
    if let Some(stream) = pooled {
        ctx.stats().upstream_reused.inc();
        return Ok(Acquired {
            stream,
            addr,
            reused: true,
        });
    }
    let stream = connect(addr, snap.config.timeouts.upstream_connect.get()).await?;
    ctx.stats().upstream_connects.inc();
    Ok(Acquired {
        stream,
        addr,
        reused: false,
    })
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, ProxyError> {
    match monoio::time::timeout(timeout, TcpStream::connect_addr(addr)).await {
        Ok(Ok(stream)) => {
            // Heads and small bodies go out in one write; don't let Nagle hold them.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(_)) => Err(ProxyError::UpstreamConnect),
        Err(_) => Err(ProxyError::UpstreamConnectTimeout),
    }
}
