//! Phase 2, forwarding: an upstream connection (this core's pool, else a
//! new connect), the request head and body, then the response head. A
//! request is re-sent on another connection only when that is safe: it is
//! idempotent, has no body, and nothing came back on a pooled connection
//! that may have gone stale.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::admit::{Admitted, ReqBody};
use super::body::{self, Pauses, RelayError, Trailers};
use super::error::ProxyError;
use super::exchange::Scratch;
use super::io::{write_vec, Inbound, IoFail};
use super::upstream::{connect_new, from_pool, Acquired};
use super::ClientStream;
use crate::context::CoreCtx;
use crate::http::{ParseStatus, ResponseHead, ResponseParser, Version};
use crate::snapshot::Snapshot;
use crate::upstream::UpstreamStream;

/// Attempts per request, the first included.
const MAX_ATTEMPTS: u32 = 3;

/// An upstream connection to `addr` on which a response head was received
/// (in `resp`; its bytes are at the front of `up`'s buffer).
pub(super) struct Upstreamed {
    pub up: Inbound<UpstreamStream>,
    pub addr: SocketAddr,
}

/// Why forwarding gave up, and whether the client connection is still in
/// sync (its whole request read), so it may be kept alive after the error.
pub(super) struct Unforwarded {
    pub error: ProxyError,
    pub keep_alive: bool,
}

/// Sends the admitted request upstream and receives the response head.
pub(super) async fn forward<C: ClientStream>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    a: &mut Admitted,
    resp: &mut ResponseHead,
) -> Result<Upstreamed, Unforwarded> {
    take_buffered_body(client, &mut scratch.out, &mut a.body).map_err(|error| Unforwarded {
        error,
        keep_alive: false,
    })?;
    let safe_to_retry = a.method.is_idempotent() && matches!(a.body, ReqBody::None);
    let mut attempts = 0;
    loop {
        attempts += 1;
        // A first attempt that could be re-sent may skip the staleness peek.
        let retry_safe = safe_to_retry && attempts == 1;
        // The pool is tried without a future: a hit, the common case, waits
        // for nothing.
        let acquired = match from_pool(ctx, snap, a.cluster, retry_safe) {
            Ok(Ok(pooled)) => Ok(pooled),
            Ok(Err(endpoint)) => connect_new(ctx, snap, a.cluster, endpoint).await,
            Err(e) => Err(e),
        };
        let Acquired {
            stream,
            addr,
            reused,
        } = acquired.map_err(|error| unforwarded(a, error))?;
        let mut up = Inbound::new(stream, std::mem::take(&mut scratch.up_buf));
        let failure = match send_and_receive(snap, client, scratch, a, &mut up, resp).await {
            Ok(()) => return Ok(Upstreamed { up, addr }),
            Err(f) => f,
        };
        scratch.up_buf = recycle(up.buf);
        match failure {
            Failure::Retryable if reused && safe_to_retry && attempts < MAX_ATTEMPTS => {
                ctx.stats().upstream_retries.inc();
            }
            Failure::Retryable => return Err(unforwarded(a, ProxyError::UpstreamIo)),
            Failure::Reject(error, in_sync) => {
                return Err(Unforwarded {
                    error,
                    keep_alive: in_sync && a.keep_alive,
                })
            }
        }
    }
}

/// An error before the body was sent: the client is in sync only if it
/// has no body bytes left to send.
fn unforwarded(a: &Admitted, error: ProxyError) -> Unforwarded {
    Unforwarded {
        error,
        keep_alive: a.keep_alive && !a.body.pending(),
    }
}

/// A buffer back from a failed exchange keeps its capacity; a lost one is replaced.
pub(super) fn recycle(mut buf: Vec<u8>) -> Vec<u8> {
    buf.clear();
    buf
}

enum Failure {
    /// Nothing came back from a connection that may have gone stale.
    Retryable,
    /// Answer the client with this error; the bool says if the client
    /// connection is still in sync (its request fully read).
    Reject(ProxyError, bool),
}

/// Appends the request body bytes already read with the head to `out`, so
/// head and small bodies leave in one write.
fn take_buffered_body<C: ClientStream>(
    client: &mut Inbound<C>,
    out: &mut Vec<u8>,
    body: &mut ReqBody,
) -> Result<(), ProxyError> {
    match body {
        ReqBody::None => {}
        ReqBody::Len(remaining) => {
            let n = client
                .buffered()
                .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
            out.extend_from_slice(&client.data()[..n]);
            client.consume(n);
            *remaining -= n as u64;
        }
        ReqBody::Chunked(dec) => {
            let consumed = body::append_chunked_request(dec, client.data(), out)
                .map_err(ProxyError::BadRequestBody)?;
            client.consume(consumed);
        }
    }
    Ok(())
}

/// Sends the head and body, then reads the response head into `resp`.
async fn send_and_receive<C: ClientStream>(
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    a: &mut Admitted,
    up: &mut Inbound<UpstreamStream>,
    resp: &mut ResponseHead,
) -> Result<(), Failure> {
    let t = &snap.config.timeouts;
    let client_pause = t.client_body.get();
    let upstream_pause = t.upstream_idle.get();
    // The body steps are awaited only when there is a body: a future per
    // step costs the common bodiless request more than the check.
    if a.expect_continue {
        send_continue(client, scratch, a, client_pause).await?;
    }
    // Keep `out` intact until a response arrives: a retry re-sends it.
    let mut head = std::mem::take(&mut scratch.out);
    let sent = write_vec(&mut up.stream, &mut head, Instant::now() + upstream_pause).await;
    scratch.out = head;
    if sent.is_err() {
        return Err(Failure::Retryable);
    }
    let pauses = Pauses {
        read: client_pause,
        write: upstream_pause,
    };
    let stream_bytes = snap.config.limits.stream_buffer_bytes.as_usize();
    if a.body.pending() {
        send_body(client, up, &mut a.body, pauses, stream_bytes).await?;
    }
    receive_head(snap, a, up, resp).await
}

/// Tells a client waiting on `Expect: 100-continue` to send its body, now
/// that an upstream is ready to take it.
async fn send_continue<C: ClientStream>(
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    a: &mut Admitted,
    client_pause: Duration,
) -> Result<(), Failure> {
    if !(a.expect_continue && a.body.pending() && a.version == Version::Http11) {
        return Ok(());
    }
    let mut cont = std::mem::take(&mut scratch.extra);
    cont.clear();
    cont.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
    let sent = write_vec(&mut client.stream, &mut cont, Instant::now() + client_pause).await;
    scratch.extra = cont;
    sent.map_err(|_| Failure::Reject(ProxyError::ClientIo, false))?;
    a.expect_continue = false;
    Ok(())
}

/// Reads the response head, skipping 1xx interim responses other than 101.
async fn receive_head(
    snap: &Snapshot,
    a: &Admitted,
    up: &mut Inbound<UpstreamStream>,
    resp: &mut ResponseHead,
) -> Result<(), Failure> {
    let bad_response =
        || Failure::Reject(ProxyError::UpstreamProtocol("upstream_bad_response"), true);
    let deadline = Instant::now() + snap.config.timeouts.upstream_response_head.get();
    let limits = &snap.config.limits;
    let max_head_bytes = limits.max_response_header_bytes.as_usize();
    let mut parser = ResponseParser::new(max_head_bytes, limits.max_headers_count);
    loop {
        if up.buffered() > 0 {
            match parser.parse_into(up.data(), a.method, resp) {
                Ok(ParseStatus::Complete(()))
                    if (100..200).contains(&resp.status) && resp.status != 101 =>
                {
                    up.consume(resp.head_len);
                    parser.reset();
                    continue;
                }
                Ok(ParseStatus::Complete(())) => return Ok(()),
                Ok(ParseStatus::Partial) => {}
                Err(_) => return Err(bad_response()),
            }
        }
        match up.fill(deadline).await {
            Ok(_) => {}
            Err(IoFail::Eof | IoFail::Io) if up.buffered() == 0 => return Err(Failure::Retryable),
            Err(IoFail::Timeout) => return Err(Failure::Reject(ProxyError::UpstreamTimeout, true)),
            Err(IoFail::Full) if up.grow(max_head_bytes) => {}
            Err(IoFail::Full) => return Err(bad_response()),
            Err(_) => return Err(Failure::Reject(ProxyError::UpstreamIo, true)),
        }
    }
}

async fn send_body<C: ClientStream>(
    client: &mut Inbound<C>,
    up: &mut Inbound<UpstreamStream>,
    body: &mut ReqBody,
    pauses: Pauses,
    stream_bytes: usize,
) -> Result<(), Failure> {
    // What is left did not come with the head: stream it in large reads.
    if body.pending() {
        client.grow_to(stream_bytes);
    }
    let res = match body {
        ReqBody::None | ReqBody::Len(0) => return Ok(()),
        ReqBody::Len(n) => body::relay_len(client, &mut up.stream, *n, pauses).await,
        ReqBody::Chunked(dec) if dec.is_done() => return Ok(()),
        ReqBody::Chunked(dec) => {
            body::relay_chunked(client, &mut up.stream, dec, Trailers::Drop, pauses).await
        }
    };
    *body = ReqBody::None;
    res.map_err(|e| match e {
        RelayError::Read(IoFail::Timeout) => Failure::Reject(ProxyError::ClientTimeout, false),
        RelayError::Read(_) => Failure::Reject(ProxyError::ClientIo, false),
        RelayError::Framing(f) => Failure::Reject(ProxyError::BadRequestBody(f), false),
        RelayError::Write(IoFail::Timeout) => Failure::Reject(ProxyError::UpstreamTimeout, false),
        RelayError::Write(_) => Failure::Reject(ProxyError::UpstreamIo, false),
    })
}
