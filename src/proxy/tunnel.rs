//! Upgraded connections (WebSocket and friends): after a relayed 101 the two
//! sockets are spliced, bytes flow both ways until both sides are done. A
//! side that goes quiet for `timeouts.upstream_idle` ends the tunnel.

use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, Splitable};

use super::io::Inbound;
use super::ClientStream;
use crate::upstream::UpstreamStream;

/// Runs the tunnel; both inbound buffers may already hold bytes for the other
/// side (sent right after the handshake).
pub async fn run<C: ClientStream>(
    mut client: Inbound<C>,
    mut upstream: Inbound<UpstreamStream>,
    idle: Duration,
) {
    let deadline = Instant::now() + idle;
    // Bytes that came with the handshake go first, straight from the buffers.
    if client.buffered() > 0 {
        let (start, end) = (client.pos, client.buf.len());
        if client
            .write_own_to(&mut upstream.stream, start, end, deadline)
            .await
            .is_err()
        {
            return;
        }
    }
    if upstream.buffered() > 0 {
        let (start, end) = (upstream.pos, upstream.buf.len());
        if upstream
            .write_own_to(&mut client.stream, start, end, deadline)
            .await
            .is_err()
        {
            return;
        }
    }
    let mut up_buf = upstream.buf;
    up_buf.clear();
    let mut client_buf = client.buf;
    client_buf.clear();
    // Split each side into its concrete stream type: both plain TCP and
    // TLS streams are `Split`, the enum around them needn't be.
    match upstream.stream {
        UpstreamStream::Plain(up) => splice(client.stream, up, client_buf, up_buf, idle).await,
        // Two halves of one TLS session; the connection's `Contained`
        // (see the worker's accept loop) keeps a panic in them to this tunnel.
        UpstreamStream::Tls { stream, .. } => {
            splice(client.stream, *stream, client_buf, up_buf, idle).await
        }
    }
}

async fn splice<C: ClientStream, U: ClientStream>(
    client: C,
    upstream: U,
    client_buf: Vec<u8>,
    up_buf: Vec<u8>,
    idle: Duration,
) {
    let (client_r, client_w) = client.into_split();
    let (up_r, up_w) = upstream.into_split();
    let to_upstream = pipe(client_r, up_w, client_buf, idle);
    let to_client = pipe(up_r, client_w, up_buf, idle);
    monoio::join!(to_upstream, to_client);
}

/// Copies one direction until EOF, error or an idle timeout, then half-closes
/// the destination so its peer sees the end and, in turn, ends the other
/// direction.
async fn pipe<R: AsyncReadRent, W: AsyncWriteRent>(
    mut src: R,
    mut dst: W,
    mut buf: Vec<u8>,
    idle: Duration,
) {
    let cap = buf.capacity().max(4096);
    loop {
        buf.clear();
        buf.reserve(cap);
        let (res, b) = match monoio::time::timeout(idle, src.read(buf)).await {
            Ok(r) => r,
            Err(_) => break,
        };
        buf = b;
        match res {
            Ok(n) if n > 0 => {}
            _ => break,
        }
        let (res, b) = match monoio::time::timeout(idle, dst.write_all(buf)).await {
            Ok(r) => r,
            Err(_) => break,
        };
        buf = b;
        if res.is_err() {
            break;
        }
    }
    let _ = dst.shutdown().await;
}
