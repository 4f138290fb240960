//! One request/response exchange: route, pick an upstream, forward the head
//! and body, relay the response. The order follows DESIGN.md §4; filters
//! from later issues slot in between routing and the upstream pick.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::body::{self, Pauses, RelayError};
use super::error::{reason_index, write_error_response_with, ProxyError};
use super::head::{self, ClientFraming, Downstream, Forwarding};
use super::io::{write_vec, Inbound, IoFail};
use super::upstream::{acquire, Acquired};
use super::ClientStream;
use crate::filter::acl::IpRules;
use crate::filter::{Admission, Denial, RouteRules};
use crate::http::{
    BodyFraming, ChunkedDecoder, Method, ParseStatus, RequestHead, ResponseHead, ResponseParser,
    TargetForm, Version,
};
use crate::ratelimit::{LimitSubject, Outcome, Pending, RateHeaders};
use crate::route;
use crate::runtime::CoreCtx;
use crate::snapshot::Snapshot;
use crate::upstream::UpstreamStream;

/// Per-connection buffers reused across its requests.
pub struct Scratch {
    /// Heads (and small bodies) being written.
    pub out: Vec<u8>,
    /// The upstream path being built.
    pub path: Vec<u8>,
    /// Read buffer for upstream responses.
    pub up_buf: Vec<u8>,
    /// Re-chunking and de-chunking.
    pub extra: Vec<u8>,
    /// Identity header lines for the upstream head.
    pub inject: Vec<u8>,
}

/// What the connection loop does after an exchange.
pub enum Next {
    KeepAlive,
    Close,
    /// A 101 was relayed: splice the client with this upstream connection.
    Tunnel(Inbound<UpstreamStream>),
}

/// The request body still to come from the client after its head.
enum ReqBody {
    None,
    Len(u64),
    Chunked(ChunkedDecoder),
}

/// Everything the exchange needs once the request head bytes are consumed.
struct Prepared {
    cluster: usize,
    method: Method,
    version: Version,
    keep_alive: bool,
    expect_continue: bool,
    upgrade: bool,
    body: ReqBody,
    /// `RateLimit-*` for the response, when the route's limits ask for them.
    rate_headers: Option<RateHeaders>,
    /// A rate-limit check waiting for a Redis lease (cluster mode); boxed
    /// so requests that never wait don't carry it around.
    rate_pending: Option<Box<Pending>>,
}

pub async fn exchange<C: ClientStream>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    head: &RequestHead,
    resp: &mut ResponseHead,
    downstream: &Downstream,
) -> Next {
    ctx.stats().requests.inc();
    let has_body = !matches!(
        head.framing,
        BodyFraming::None | BodyFraming::ContentLength(0)
    );
    let keep_alive = head.keep_alive && !ctx.draining.get();
    scratch.out.clear();
    let prepared = prepare(ctx, snap, client.data(), head, scratch, downstream);
    client.consume(head.head_len);
    let prepared = match prepared {
        Ok(mut p) if p.rate_pending.is_some() => match await_lease(ctx, &mut p).await {
            Ok(()) => Ok(p),
            Err(e) => Err(e),
        },
        other => other,
    };
    match prepared {
        Ok(p) => forward(ctx, snap, client, scratch, p, resp).await,
        // Without reading the body we can't find the next request: close.
        Err(e) => reject(ctx, client, scratch, e, keep_alive && !has_body).await,
    }
}

/// Finishes a rate-limit check that needed a Redis lease: awaits it (the
/// core serves other connections meanwhile) and decides.
async fn await_lease(ctx: &CoreCtx, p: &mut Prepared) -> Result<(), ProxyError> {
    let limiter = ctx.limiter();
    let mut waiting = p.rate_pending.take().map(|b| *b);
    while let Some(mut pending) = waiting.take() {
        let reply = pending.reply().await;
        match limiter.resume(pending, reply, ctx.stats()) {
            Outcome::Pass(h) => p.rate_headers = h,
            Outcome::Limited(l) => return Err(ProxyError::RateLimited(l)),
            Outcome::Wait(next) => waiting = Some(next),
        }
    }
    Ok(())
}

/// Checks, routing and the upstream head, written into `scratch.out`.
fn prepare(
    ctx: &CoreCtx,
    snap: &Snapshot,
    buf: &[u8],
    head: &RequestHead,
    scratch: &mut Scratch,
    downstream: &Downstream,
) -> Result<Prepared, ProxyError> {
    match head.target_form {
        TargetForm::Authority => return Err(ProxyError::ConnectNotAllowed),
        // `OPTIONS *` asks about the server itself; no route has a path for it.
        TargetForm::Asterisk => return Err(ProxyError::NoRoute),
        TargetForm::Origin | TargetForm::Absolute => {}
    }
    let path: &[u8] = if head.path.is_empty() {
        b"/"
    } else {
        head.path.get(buf)
    };
    route::check_path(path).map_err(|e| ProxyError::BadPath(e.reason()))?;
    let host = head.host.map(|s| s.get(buf));
    let header = |name: &str| head.header(buf, name);
    let Some(m) = snap
        .router
        .lookup(host, path, head.method_span.get(buf), &header)
    else {
        return Err(no_route(snap, host, path, &header));
    };

    // IP rules (403), authentication (401), authorization (403); routes
    // and listeners without rules skip all of it.
    let filters = &snap.filters;
    let rules = filters.route(m.route);
    let listener_rules = filters.listener(downstream.listener);
    let mut inject: &[u8] = &[];
    let mut strip_more: &[Box<[u8]>] = &[];
    let mut admission = None;
    if filters.needed(rules, listener_rules) {
        scratch.inject.clear();
        admission = Some(admit(
            ctx,
            snap,
            rules,
            listener_rules,
            head,
            buf,
            downstream,
            &mut scratch.inject,
        )?);
        inject = &scratch.inject;
        if let Some(r) = rules {
            strip_more = &r.strip;
            if r.max_header_bytes.is_some_and(|max| head.head_len > max) {
                return Err(ProxyError::BadRequest(crate::http::ParseError {
                    kind: crate::http::ParseErrorKind::HeadersTooLarge,
                }));
            }
        }
    }
    let target = &snap.routes[m.route];

    // Rate limits (429). Routes without any pay one emptiness check.
    let mut rate_headers = None;
    let mut rate_pending = None;
    // Who authentication found, and the client address after trusted
    // proxies; without filters, the direct peer and no identity.
    let who = admission
        .as_ref()
        .and_then(|a| a.who.as_ref())
        .map(|w| w.identity());
    let consumer = who.and_then(|id| id.consumer.as_deref());
    // A consumer's own `rate_limit` applies on every route it calls.
    let own_limit = consumer.and_then(|c| snap.consumer_limits.get(c).copied());
    if !target.rate_limits.is_empty() || own_limit.is_some() {
        let mut ids: smallvec::SmallVec<[usize; 4]> = target.rate_limits.iter().copied().collect();
        ids.extend(own_limit);
        let claim = |name: &str| who.and_then(|id| id.claim(name));
        let subject = LimitSubject {
            client_ip: admission.as_ref().map_or(downstream.ip.ip, |a| a.client),
            route: m.route,
            route_name: &target.name,
            header: &header,
            consumer,
            claim: &claim,
        };
        match ctx.limiter().check(&ids, &subject, ctx.stats()) {
            Outcome::Pass(h) => rate_headers = h,
            Outcome::Limited(l) => return Err(ProxyError::RateLimited(l)),
            Outcome::Wait(p) => rate_pending = Some(Box::new(p)),
        }
    }

    let limits = &snap.config.limits;
    let max_body = rules
        .and_then(|r| r.max_body_bytes)
        .unwrap_or(limits.max_body_bytes.0);
    let body = match head.framing {
        BodyFraming::ContentLength(n) if max_body > 0 && n > max_body => {
            return Err(ProxyError::BodyTooLarge)
        }
        BodyFraming::None | BodyFraming::ContentLength(0) | BodyFraming::UntilClose => {
            ReqBody::None
        }
        BodyFraming::ContentLength(n) => ReqBody::Len(n),
        BodyFraming::Chunked => ReqBody::Chunked(ChunkedDecoder::new(
            max_body,
            limits.max_header_bytes.as_usize(),
        )),
    };
    let upgrade = head.upgrade.is_some() && snap.config.proxy.allow_upgrade;

    scratch.path.clear();
    snap.router.write_upstream_path(&m, path, &mut scratch.path);
    if let Some(q) = head.query {
        scratch.path.push(b'?');
        scratch.path.extend_from_slice(q.get(buf));
    }
    let fwd = Forwarding {
        client: &downstream.ip,
        proto: downstream.proto,
        headers: snap.config.proxy.forwarded_headers,
        add_via: snap.config.proxy.add_via,
        default_host: snap.clusters[snap.routes[m.route].cluster]
            .default_host
            .as_bytes(),
        strip: &filters.identity.strip,
        strip_more,
        inject,
    };
    head::write_request_head(&mut scratch.out, buf, head, &scratch.path, &fwd, upgrade);
    Ok(Prepared {
        cluster: snap.routes[m.route].cluster,
        method: head.method,
        version: head.version,
        keep_alive: head.keep_alive && !ctx.draining.get(),
        expect_continue: head.expect_continue,
        upgrade,
        body,
        rate_headers,
        rate_pending,
    })
}

/// The filters of DESIGN.md §4 for one request; identity header lines for
/// the upstream go to `inject`. The admission (who, from which address)
/// feeds the rate limits' consumer, claim and client-IP keys.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn admit<'s>(
    ctx: &'s CoreCtx,
    snap: &'s Snapshot,
    rules: Option<&'s RouteRules>,
    listener_rules: Option<&IpRules>,
    head: &RequestHead,
    buf: &[u8],
    downstream: &Downstream,
    inject: &mut Vec<u8>,
) -> Result<Admission<'s>, ProxyError> {
    let filters = &snap.filters;
    let admission = filters
        .admit(
            rules,
            listener_rules,
            head,
            buf,
            downstream.ip.ip,
            &ctx.tokens,
            snap.generation,
        )
        .map_err(|d| match d {
            Denial::Unauthenticated(e) => ProxyError::Unauthorized(e.reason()),
            Denial::Forbidden(r) => ProxyError::Forbidden(r),
        })?;
    admission.write_headers(filters, inject);
    Ok(admission)
}

/// 404, or 405 with `Allow` when the same request with another method
/// would have matched a route (error path only: one lookup per method
/// that some route lists).
#[cold]
fn no_route<'a>(
    snap: &Snapshot,
    host: Option<&[u8]>,
    path: &'a [u8],
    header: &dyn Fn(&str) -> Option<&'a [u8]>,
) -> ProxyError {
    let allowed: Vec<&str> = snap
        .route_methods
        .iter()
        .filter(|m| {
            snap.router
                .lookup(host, path, m.as_bytes(), header)
                .is_some()
        })
        .map(String::as_str)
        .collect();
    if allowed.is_empty() {
        ProxyError::NoRoute
    } else {
        ProxyError::MethodNotAllowed(allowed.join(", "))
    }
}

/// Answers the client with an error (when it can still be answered).
pub(super) async fn reject<C: ClientStream>(
    ctx: &CoreCtx,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    err: ProxyError,
    keep_alive: bool,
) -> Next {
    let stats = ctx.stats();
    stats.rejected[reason_index(err.reason())].inc();
    let Some(status) = err.status() else {
        return Next::Close;
    };
    stats.response(status);
    scratch.out.clear();
    scratch.extra.clear();
    err.write_extra_headers(&mut scratch.extra);
    write_error_response_with(
        &mut scratch.out,
        status,
        err.reason(),
        keep_alive,
        &scratch.extra,
    );
    let deadline = Instant::now() + ctx.snapshot().config.timeouts.client_body.get();
    match write_vec(&mut client.stream, &mut scratch.out, deadline).await {
        Ok(()) if keep_alive => Next::KeepAlive,
        _ => Next::Close,
    }
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
            let progress = dec
                .feed(client.data(), |_| {})
                .map_err(ProxyError::BadRequestBody)?;
            out.extend_from_slice(&client.data()[..progress.consumed]);
            client.consume(progress.consumed);
        }
    }
    Ok(())
}

fn body_pending(body: &ReqBody) -> bool {
    match body {
        ReqBody::None => false,
        ReqBody::Len(n) => *n > 0,
        ReqBody::Chunked(dec) => !dec.is_done(),
    }
}

async fn forward<C: ClientStream>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    mut p: Prepared,
    resp: &mut ResponseHead,
) -> Next {
    if let Err(e) = take_buffered_body(client, &mut scratch.out, &mut p.body) {
        return reject(ctx, client, scratch, e, false).await;
    }
    let safe_to_retry = p.method.is_idempotent() && matches!(p.body, ReqBody::None);
    let mut attempts = 0;
    let response = loop {
        attempts += 1;
        let Acquired {
            stream,
            addr,
            reused,
        } = match acquire(ctx, snap, p.cluster, safe_to_retry && attempts == 1).await {
            Ok(a) => a,
            Err(e) => {
                return reject(
                    ctx,
                    client,
                    scratch,
                    e,
                    p.keep_alive && !body_pending(&p.body),
                )
                .await
            }
        };
        let mut up = Inbound::new(stream, std::mem::take(&mut scratch.up_buf));
        match send_and_receive(snap, client, scratch, &mut p, &mut up, resp).await {
            Ok(()) => break Upstreamed { up, addr },
            Err(Failure::Retryable) if reused && safe_to_retry && attempts < 3 => {
                ctx.stats().upstream_retries.inc();
                scratch.up_buf = recycle(up.buf);
            }
            Err(Failure::Retryable) => {
                scratch.up_buf = recycle(up.buf);
                return reject(
                    ctx,
                    client,
                    scratch,
                    ProxyError::UpstreamIo,
                    p.keep_alive && !body_pending(&p.body),
                )
                .await;
            }
            Err(Failure::Reject(e, keep)) => {
                scratch.up_buf = recycle(up.buf);
                return reject(ctx, client, scratch, e, keep && p.keep_alive).await;
            }
        }
    };
    relay_response(ctx, snap, client, scratch, &p, response, resp).await
}

/// A buffer back from a failed exchange keeps its capacity; a lost one is replaced.
fn recycle(mut buf: Vec<u8>) -> Vec<u8> {
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

/// Sends the head and body, then reads the response head into `resp`
/// (skipping 1xx interim responses other than 101).
async fn send_and_receive<C: ClientStream>(
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    p: &mut Prepared,
    up: &mut Inbound<UpstreamStream>,
    resp: &mut ResponseHead,
) -> Result<(), Failure> {
    let t = &snap.config.timeouts;
    let client_pause = t.client_body.get();
    let upstream_pause = t.upstream_idle.get();
    // Tell a client waiting on `Expect: 100-continue` to send its body, now
    // that an upstream is ready to take it.
    if p.expect_continue && body_pending(&p.body) && p.version == Version::Http11 {
        let mut cont = std::mem::take(&mut scratch.extra);
        cont.clear();
        cont.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        let sent = write_vec(&mut client.stream, &mut cont, Instant::now() + client_pause).await;
        scratch.extra = cont;
        sent.map_err(|_| Failure::Reject(ProxyError::ClientIo, false))?;
        p.expect_continue = false;
    }
    // Keep `out` intact until a response arrives: a retry re-sends it.
    let mut head = std::mem::take(&mut scratch.out);
    let sent = write_vec(&mut up.stream, &mut head, Instant::now() + upstream_pause).await;
    if sent.is_err() {
        scratch.out = head;
        return Err(Failure::Retryable);
    }
    scratch.out = head;
    let stream_bytes = snap.config.limits.stream_buffer_bytes.as_usize();
    send_body(
        client,
        up,
        &mut p.body,
        client_pause,
        upstream_pause,
        stream_bytes,
    )
    .await?;
    let deadline = Instant::now() + t.upstream_response_head.get();
    let limits = &snap.config.limits;
    let mut parser = ResponseParser::new(
        limits.max_response_header_bytes.as_usize(),
        limits.max_headers_count,
    );
    loop {
        if up.buffered() > 0 {
            match parser.parse_into(up.data(), p.method, resp) {
                Ok(ParseStatus::Complete(()))
                    if (100..200).contains(&resp.status) && resp.status != 101 =>
                {
                    up.consume(resp.head_len);
                    parser.reset();
                    continue;
                }
                Ok(ParseStatus::Complete(())) => return Ok(()),
                Ok(ParseStatus::Partial) => {}
                Err(_) => {
                    return Err(Failure::Reject(
                        ProxyError::UpstreamProtocol("upstream_bad_response"),
                        true,
                    ))
                }
            }
        }
        match up.fill(deadline).await {
            Ok(_) => {}
            Err(IoFail::Eof | IoFail::Io) if up.buffered() == 0 => return Err(Failure::Retryable),
            Err(IoFail::Timeout) => return Err(Failure::Reject(ProxyError::UpstreamTimeout, true)),
            Err(IoFail::Full) if up.grow(limits.max_response_header_bytes.as_usize()) => {}
            Err(IoFail::Full) => {
                return Err(Failure::Reject(
                    ProxyError::UpstreamProtocol("upstream_bad_response"),
                    true,
                ))
            }
            Err(_) => return Err(Failure::Reject(ProxyError::UpstreamIo, true)),
        }
    }
}

async fn send_body<C: ClientStream>(
    client: &mut Inbound<C>,
    up: &mut Inbound<UpstreamStream>,
    body: &mut ReqBody,
    client_pause: Duration,
    upstream_pause: Duration,
    stream_bytes: usize,
) -> Result<(), Failure> {
    let pauses = Pauses {
        read: client_pause,
        write: upstream_pause,
    };
    // What is left did not come with the head: stream it in large reads.
    if body_pending(body) {
        client.grow_to(stream_bytes);
    }
    let res = match body {
        ReqBody::None => return Ok(()),
        ReqBody::Len(0) => return Ok(()),
        ReqBody::Len(n) => body::relay_len(client, &mut up.stream, *n, pauses).await,
        ReqBody::Chunked(dec) if dec.is_done() => return Ok(()),
        ReqBody::Chunked(dec) => body::relay_chunked(client, &mut up.stream, dec, pauses).await,
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

/// An upstream connection to `addr` on which a response head was received.
struct Upstreamed {
    up: Inbound<UpstreamStream>,
    addr: SocketAddr,
}

async fn relay_response<C: ClientStream>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    p: &Prepared,
    response: Upstreamed,
    resp: &ResponseHead,
) -> Next {
    let Upstreamed { mut up, addr } = response;
    if resp.status == 101 && !p.upgrade {
        scratch.up_buf = recycle(up.buf);
        return reject(ctx, client, scratch, ProxyError::UpgradeRefused, false).await;
    }
    // A drain that began while this request was in flight ends the connection.
    let want_keep_alive = p.keep_alive && !ctx.draining.get();
    let (framing, keep_alive) = ClientFraming::choose(resp.framing, p.version, want_keep_alive);
    scratch.out.clear();
    head::write_response_head(
        &mut scratch.out,
        up.data(),
        resp,
        framing,
        p.version,
        keep_alive,
        snap.config.proxy.add_via,
    );
    if let Some(h) = p.rate_headers {
        head::append_fields(&mut scratch.out, |out| h.write(out));
    }
    up.consume(resp.head_len);
    ctx.stats().response(resp.status);
    let client_pause = snap.config.timeouts.client_body.get();
    if resp.status == 101 {
        // The tunnel takes over both connections and their buffered bytes.
        return match write_vec(
            &mut client.stream,
            &mut scratch.out,
            Instant::now() + client_pause,
        )
        .await
        {
            Ok(()) => {
                ctx.stats().upgrades.inc();
                Next::Tunnel(up)
            }
            Err(_) => Next::Close,
        };
    }
    // Small Content-Length bodies already read leave with the head in one write.
    let mut remaining = match resp.framing {
        BodyFraming::ContentLength(n) => n,
        _ => 0,
    };
    if remaining > 0 {
        let n = up
            .buffered()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        scratch.out.extend_from_slice(&up.data()[..n]);
        up.consume(n);
        remaining -= n as u64;
    }
    if write_vec(
        &mut client.stream,
        &mut scratch.out,
        Instant::now() + client_pause,
    )
    .await
    .is_err()
    {
        scratch.up_buf = recycle(up.buf);
        return Next::Close;
    }
    let pauses = Pauses {
        read: snap.config.timeouts.upstream_idle.get(),
        write: client_pause,
    };
    let max_trailer = snap.config.limits.max_response_header_bytes.as_usize();
    // A body larger than the buffer, or of unknown length, streams through
    // fewer and larger reads.
    let large = match resp.framing {
        BodyFraming::ContentLength(_) => remaining > up.buf.capacity() as u64,
        BodyFraming::Chunked | BodyFraming::UntilClose => true,
        BodyFraming::None => false,
    };
    if large {
        up.grow_to(snap.config.limits.stream_buffer_bytes.as_usize());
    }
    let relayed = match (resp.framing, framing) {
        (BodyFraming::ContentLength(_), _) => {
            body::relay_len(&mut up, &mut client.stream, remaining, pauses).await
        }
        (BodyFraming::Chunked, ClientFraming::Dechunk) => {
            let mut dec = ChunkedDecoder::new(0, max_trailer);
            body::relay_dechunked(
                &mut up,
                &mut client.stream,
                &mut dec,
                &mut scratch.extra,
                pauses,
            )
            .await
        }
        (BodyFraming::Chunked, _) => {
            let mut dec = ChunkedDecoder::new(0, max_trailer);
            body::relay_chunked(&mut up, &mut client.stream, &mut dec, pauses).await
        }
        (BodyFraming::UntilClose, f) => {
            let rechunk = f == ClientFraming::Rechunk;
            body::relay_until_close(
                &mut up,
                &mut client.stream,
                rechunk,
                &mut scratch.extra,
                pauses,
            )
            .await
        }
        (BodyFraming::None, _) => Ok(()),
    };
    let reusable = relayed.is_ok()
        && resp.keep_alive
        && resp.framing != BodyFraming::UntilClose
        && up.buffered() == 0;
    let Inbound { stream, buf, .. } = up;
    scratch.up_buf = recycle(buf);
    if reusable {
        let cluster = &snap.clusters[p.cluster];
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
