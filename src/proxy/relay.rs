//! Phase 3, relaying: the response head for the client (hop-by-hop fields
//! dropped, framing chosen for the client's HTTP version, `RateLimit-*`
//! added), then the body streamed through, then the upstream connection
//! back to this core's pool when it is clean. A 101 hands both connections
//! to a tunnel instead.

use std::time::Instant;

use super::admit::Admitted;
use super::body::{self, Pauses, RelayError, Trailers};
use super::error::ProxyError;
use super::exchange::{reject, Next, Scratch};
use super::forward::{recycle, Upstreamed};
use super::head::{self, ClientFraming};
use super::io::{write_vec, Inbound};
use super::ClientStream;
use crate::context::CoreCtx;
use crate::http::{BodyFraming, ChunkedDecoder, ResponseHead};
use crate::snapshot::Snapshot;
use crate::upstream::UpstreamStream;

pub(super) async fn relay<C: ClientStream>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    a: &Admitted,
    response: Upstreamed,
    resp: &ResponseHead,
) -> Next {
    let Upstreamed { mut up, addr } = response;
    if resp.status == 101 && !a.upgrade {
        scratch.up_buf = recycle(up.buf);
        return reject(ctx, client, scratch, ProxyError::UpgradeRefused, false).await;
    }
    // A drain that began while this request was in flight ends the connection.
    let want_keep_alive = a.keep_alive && !ctx.draining.get();
    let (framing, keep_alive) = ClientFraming::choose(resp.framing, a.version, want_keep_alive);
    write_client_head(snap, scratch, a, &mut up, resp, framing, keep_alive);
    ctx.stats().response(resp.status);
    let client_pause = snap.config.timeouts.client_body.get();
    let deadline = Instant::now() + client_pause;
    if resp.status == 101 {
        // The tunnel takes over both connections and their buffered bytes.
        return match write_vec(&mut client.stream, &mut scratch.out, deadline).await {
            Ok(()) => {
                ctx.stats().upgrades.inc();
                Next::Tunnel(up)
            }
            Err(_) => Next::Close,
        };
    }
    // Small Content-Length bodies already read leave with the head in one write.
    let remaining = take_buffered_body(&mut up, resp, &mut scratch.out);
    if write_vec(&mut client.stream, &mut scratch.out, deadline)
        .await
        .is_err()
    {
        scratch.up_buf = recycle(up.buf);
        return Next::Close;
    }
    // A body that went out with the head (or none) needs no relay at all.
    let sent_whole = remaining == 0
        && matches!(
            resp.framing,
            BodyFraming::ContentLength(_) | BodyFraming::None
        );
    let relayed = if sent_whole {
        Ok(())
    } else {
        relay_body(snap, client, scratch, &mut up, resp, framing, remaining).await
    };
    let reusable = relayed.is_ok()
        && resp.keep_alive
        && resp.framing != BodyFraming::UntilClose
        && up.buffered() == 0;
    let Inbound { stream, buf, .. } = up;
    scratch.up_buf = recycle(buf);
    if reusable {
        let cluster = &snap.clusters[a.cluster];
        ctx.pool
            .borrow_mut()
            .put(addr, stream, Instant::now(), cluster.max_idle_per_endpoint);
    }
    if relayed.is_ok() && keep_alive {
        Next::KeepAlive
    } else {
        Next::Close
    }
}

/// The client's response head into `scratch.out`; consumes the upstream's.
fn write_client_head(
    snap: &Snapshot,
    scratch: &mut Scratch,
    a: &Admitted,
    up: &mut Inbound<UpstreamStream>,
    resp: &ResponseHead,
    framing: ClientFraming,
    keep_alive: bool,
) {
    scratch.out.clear();
    head::write_response_head(
        &mut scratch.out,
        up.data(),
        resp,
        framing,
        a.version,
        keep_alive,
        snap.config.proxy.add_via,
    );
    if let Some(h) = a.rate_headers {
        head::append_fields(&mut scratch.out, |out| h.write(out));
    }
    up.consume(resp.head_len);
}

/// Moves the Content-Length body bytes already read into `out`; returns
/// how many are still to come.
fn take_buffered_body(
    up: &mut Inbound<UpstreamStream>,
    resp: &ResponseHead,
    out: &mut Vec<u8>,
) -> u64 {
    let BodyFraming::ContentLength(len) = resp.framing else {
        return 0;
    };
    let n = up
        .buffered()
        .min(usize::try_from(len).unwrap_or(usize::MAX));
    out.extend_from_slice(&up.data()[..n]);
    up.consume(n);
    len - n as u64
}

/// Streams the rest of the body in the framing chosen for the client.
async fn relay_body<C: ClientStream>(
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    up: &mut Inbound<UpstreamStream>,
    resp: &ResponseHead,
    framing: ClientFraming,
    remaining: u64,
) -> Result<(), RelayError> {
    let limits = &snap.config.limits;
    let pauses = Pauses {
        read: snap.config.timeouts.upstream_idle.get(),
        write: snap.config.timeouts.client_body.get(),
    };
    let max_trailer = limits.max_response_header_bytes.as_usize();
    // A body larger than the buffer, or of unknown length, streams through
    // fewer and larger reads.
    let large = match resp.framing {
        BodyFraming::ContentLength(_) => remaining > up.buf.capacity() as u64,
        BodyFraming::Chunked | BodyFraming::UntilClose => true,
        BodyFraming::None => false,
    };
    if large {
        up.grow_to(limits.stream_buffer_bytes.as_usize());
    }
    let to = &mut client.stream;
    match (resp.framing, framing) {
        (BodyFraming::ContentLength(_), _) => body::relay_len(up, to, remaining, pauses).await,
        (BodyFraming::Chunked, ClientFraming::Dechunk) => {
            let mut dec = ChunkedDecoder::new(0, max_trailer);
            body::relay_dechunked(up, to, &mut dec, &mut scratch.extra, pauses).await
        }
        (BodyFraming::Chunked, _) => {
            let mut dec = ChunkedDecoder::new(0, max_trailer);
            body::relay_chunked(up, to, &mut dec, Trailers::Keep, pauses).await
        }
        (BodyFraming::UntilClose, f) => {
            let rechunk = f == ClientFraming::Rechunk;
            body::relay_until_close(up, to, rechunk, &mut scratch.extra, pauses).await
        }
        (BodyFraming::None, _) => Ok(()),
    }
}
