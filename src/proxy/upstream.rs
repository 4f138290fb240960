//! Getting a connection to an endpoint of a cluster: this core's pool first,
//! else a new connect — TCP, plus the TLS handshake for a TLS cluster — all
//! bounded by `timeouts.upstream_connect`. Failed connects are logged
//! (rate-limited per endpoint, see `upstream::connect_log`).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;
use monoio_rustls::TlsConnector;

use super::error::ProxyError;
use crate::context::CoreCtx;
use crate::snapshot::Snapshot;
use crate::tls::ClientTls;
use crate::upstream::{connect_log, UpstreamStream};

pub struct Acquired {
    pub stream: UpstreamStream,
    pub addr: SocketAddr,
    /// Came from the pool: a failure before any response byte may mean the
    /// upstream closed it while idle, which makes a retry reasonable.
    pub reused: bool,
}

/// Pooled connections idle at least this long are peeked even for requests
/// that could be retried: long idleness is when upstreams close them, and a
/// peek also catches stray bytes a retry would not.
const PEEK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// An endpoint picked for a new connection: its index and address.
pub struct Endpoint {
    pick: usize,
    addr: SocketAddr,
}

/// Picks an endpoint and takes a pooled connection to it, or says which
/// endpoint to connect to (no future: a pool hit, the common case, does
/// not wait). `retry_safe`: a failure on a stale pooled connection can be
/// recovered by re-sending the request, so a recently used connection
/// needs no peek.
pub fn from_pool(
    ctx: &CoreCtx,
    snap: &Snapshot,
    cluster_index: usize,
    retry_safe: bool,
) -> Result<Result<Acquired, Endpoint>, ProxyError> {
    let cluster = &snap.clusters[cluster_index];
    let balancers = ctx.balancers();
    let pick = balancers
        .get(cluster_index)
        .and_then(|b| b.pick(cluster.endpoints.len()))
        .ok_or(ProxyError::UpstreamConnect)?;
    let addr = cluster.endpoints[pick];
    let pooled = ctx.pool.borrow_mut().take(
        addr,
        cluster.tls.is_some(),
        Instant::now(),
        cluster.pool_idle_timeout,
        if retry_safe {
            PEEK_AFTER_IDLE
        } else {
            Duration::ZERO
        },
    );
    let Some(stream) = pooled else {
        return Ok(Err(Endpoint { pick, addr }));
    };
    ctx.stats().upstream_reused.inc();
    Ok(Ok(Acquired {
        stream,
        addr,
        reused: true,
    }))
}

/// A new connection to `endpoint` of the cluster.
pub async fn connect_new(
    ctx: &CoreCtx,
    snap: &Snapshot,
    cluster_index: usize,
    endpoint: Endpoint,
) -> Result<Acquired, ProxyError> {
    let cluster = &snap.clusters[cluster_index];
    let Endpoint { pick, addr } = endpoint;
    let timeout = snap.config.timeouts.upstream_connect.get();
    let deadline = Instant::now() + timeout;
    let connected = match &cluster.tls {
        None => connect(addr, deadline).await.map(UpstreamStream::Plain),
        Some(tls) => connect_tls(addr, tls, pick, deadline).await,
    };
    let stream = connected.map_err(|failure| {
        connect_log::connect_failed(addr, &cluster.name, &failure.describe(timeout));
        failure.error()
    })?;
    ctx.stats().upstream_connects.inc();
    Ok(Acquired {
        stream,
        addr,
        reused: false,
    })
}

/// Why a new upstream connection could not be made: what the client's
/// error response and the log line are made from.
enum ConnectFailure {
    Tcp(std::io::Error),
    Timeout,
    NoServerName,
    TlsHandshake(monoio_rustls::TlsError),
}

impl ConnectFailure {
    fn error(&self) -> ProxyError {
        match self {
            ConnectFailure::Tcp(_) => ProxyError::UpstreamConnect,
            ConnectFailure::Timeout => ProxyError::UpstreamConnectTimeout,
            ConnectFailure::NoServerName | ConnectFailure::TlsHandshake(_) => {
                ProxyError::UpstreamTls
            }
        }
    }

    fn describe(&self, timeout: Duration) -> String {
        match self {
            ConnectFailure::Tcp(e) => e.to_string(),
            ConnectFailure::Timeout => format!(
                "not connected within timeouts.upstream_connect ({} ms)",
                timeout.as_millis()
            ),
            ConnectFailure::NoServerName => "no TLS server name for this endpoint".into(),
            ConnectFailure::TlsHandshake(e) => format!("TLS handshake: {e}"),
        }
    }
}

async fn connect(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, ConnectFailure> {
    match monoio::time::timeout_at(deadline.into(), TcpStream::connect_addr(addr)).await {
        Ok(Ok(stream)) => {
            // Heads and small bodies go out in one write; don't let Nagle hold them.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(ConnectFailure::Tcp(e)),
        Err(_) => Err(ConnectFailure::Timeout),
    }
}

/// TCP connect, then the TLS handshake with SNI and verification against
/// endpoint `pick`'s name; both within the one connect deadline.
async fn connect_tls(
    addr: SocketAddr,
    tls: &ClientTls,
    pick: usize,
    deadline: Instant,
) -> Result<UpstreamStream, ConnectFailure> {
    let tcp = connect(addr, deadline).await?;
    let fd = tcp.as_raw_fd();
    let name = tls.server_name(pick).ok_or(ConnectFailure::NoServerName)?;
    let connector = TlsConnector::from(tls.config.clone());
    match monoio::time::timeout_at(deadline.into(), connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => Ok(UpstreamStream::Tls {
            stream: Box::new(stream),
            fd,
        }),
        Ok(Err(e)) => Err(ConnectFailure::TlsHandshake(e)),
        Err(_) => Err(ConnectFailure::Timeout),
    }
}
