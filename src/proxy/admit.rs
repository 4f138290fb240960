//! Phase 1, admission: everything decided from the request head alone,
//! before an upstream is involved. In order: target form and path safety
//! (400), route (404, or 405 with `Allow`), IP rules (403), authentication
//! (401), authorization (403), the route's header limit (431), rate limits
//! (429) and the body limit (413). An admitted request leaves its upstream
//! head in `scratch.out`.

use super::error::ProxyError;
use super::exchange::Scratch;
use super::head::{self, Downstream, Forwarding};
use super::io::Inbound;
use super::ClientStream;
use crate::context::CoreCtx;
use crate::filter::limit::{self, RateRequest};
use crate::filter::{Admission, RouteRules};
use crate::http::{
    BodyFraming, ChunkedDecoder, Method, ParseError, ParseErrorKind, RequestHead, TargetForm,
    Version,
};
use crate::ratelimit::{Outcome, Pending, RateHeaders};
use crate::route::{self, RouteMatch};
use crate::snapshot::Snapshot;

/// The request body still to come from the client after its head.
pub(super) enum ReqBody {
    None,
    Len(u64),
    Chunked(ChunkedDecoder),
}

impl ReqBody {
    /// Whether body bytes are still to be read from the client.
    pub(super) fn pending(&self) -> bool {
        match self {
            ReqBody::None => false,
            ReqBody::Len(n) => *n > 0,
            ReqBody::Chunked(dec) => !dec.is_done(),
        }
    }
}

/// A request that passed admission: what forwarding and relaying need.
pub(super) struct Admitted {
    pub cluster: usize,
    pub method: Method,
    pub version: Version,
    pub keep_alive: bool,
    pub expect_continue: bool,
    pub upgrade: bool,
    pub body: ReqBody,
    /// `RateLimit-*` for the response, when the route's limits ask for them.
    pub rate_headers: Option<RateHeaders>,
}

/// Runs admission and consumes the head's bytes from the client buffer. A
/// rate-limit check that needs a Redis lease comes back pending: the
/// caller awaits it with `finish` (not a future of its own here, so the
/// common request that never waits goes through no extra state machine).
pub(super) fn admit<C: ClientStream>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    head: &RequestHead,
    downstream: &Downstream,
) -> Result<(Admitted, Waiting), ProxyError> {
    scratch.out.clear();
    let decided = decide(ctx, snap, client.data(), head, scratch, downstream);
    client.consume(head.head_len);
    decided
}

/// Waits for the Redis lease a rate-limit check asked for.
pub(super) async fn finish(
    ctx: &CoreCtx,
    mut admitted: Admitted,
    pending: Box<Pending>,
) -> Result<Admitted, ProxyError> {
    admitted.rate_headers = await_lease(ctx, *pending).await?;
    Ok(admitted)
}

/// Finishes a rate-limit check that needed a Redis lease.
async fn await_lease(ctx: &CoreCtx, first: Pending) -> Result<Option<RateHeaders>, ProxyError> {
    let limiter = ctx.limiter();
    let mut pending = first;
    loop {
        let reply = pending.reply().await;
        match limiter.resume(pending, reply, ctx.stats()) {
            Outcome::Pass(h) => return Ok(h),
            Outcome::Limited(l) => return Err(ProxyError::RateLimited(l)),
            Outcome::Wait(next) => pending = next,
        }
    }
}

/// A rate-limit check waiting for a Redis lease; boxed so requests that
/// never wait don't carry it around.
pub(super) type Waiting = Option<Box<Pending>>;

/// Every check of the phase, then the upstream head into `scratch.out`.
fn decide(
    ctx: &CoreCtx,
    snap: &Snapshot,
    buf: &[u8],
    head: &RequestHead,
    scratch: &mut Scratch,
    downstream: &Downstream,
) -> Result<(Admitted, Waiting), ProxyError> {
    let path = checked_path(snap, head, buf)?;
    let match_path = params_removed(path, &mut scratch.match_path);
    let host = head.host.map(|s| s.get(buf));
    let header = |name: &str| head.header(buf, name);
    let Some(m) = snap
        .router
        .lookup(host, match_path, head.method_span.get(buf), &header)
    else {
        return Err(no_route(snap, host, match_path, &header));
    };
    let rules = snap.filters.route(m.route);
    scratch.inject.clear();
    let admission = run_filters(ctx, snap, rules, head, buf, downstream, &mut scratch.inject)?;
    if !limit::head_within_limit(rules, head.head_len) {
        return Err(ProxyError::BadRequest(ParseError {
            kind: ParseErrorKind::HeadersTooLarge,
        }));
    }
    let target = &snap.routes[m.route];
    let rate = RateRequest {
        route: m.route,
        route_name: &target.name,
        route_limits: &target.rate_limits,
        admission: admission.as_ref(),
        peer: downstream.ip.ip,
        header: &header,
    };
    let (rate_headers, pending) = rate_outcome(ctx, snap, &rate)?;
    let body = request_body(snap, rules, head)?;
    let upgrade = head.upgrade.is_some() && snap.config.proxy.allow_upgrade;
    write_upstream_head(
        snap, &m, path, head, buf, downstream, rules, scratch, upgrade,
    );
    let admitted = Admitted {
        cluster: target.cluster,
        method: head.method,
        version: head.version,
        keep_alive: head.keep_alive && !ctx.draining.get(),
        expect_continue: head.expect_continue,
        upgrade,
        body,
        rate_headers,
    };
    Ok((admitted, pending))
}

/// The request path, refused when an upstream could read it otherwise
/// (the path policy: `[proxy] allow_path_params`, `allow_ambiguous_escapes`).
fn checked_path<'b>(
    snap: &Snapshot,
    head: &RequestHead,
    buf: &'b [u8],
) -> Result<&'b [u8], ProxyError> {
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
    let proxy = &snap.config.proxy;
    let policy = route::PathPolicy {
        allow_path_params: proxy.allow_path_params,
        allow_ambiguous_escapes: proxy.allow_ambiguous_escapes,
    };
    route::check_path(path, policy).map_err(|e| ProxyError::BadPath(e.reason()))?;
    Ok(path)
}

/// `check_path` let a `;` through only if params are allowed: routes match
/// the path without them, as Tomcat/Spring will act on it.
fn params_removed<'p>(path: &'p [u8], scratch: &'p mut Vec<u8>) -> &'p [u8] {
    // Paths are short: a plain loop beats a memchr call.
    if !path.contains(&b';') {
        return path;
    }
    scratch.clear();
    route::strip_path_params(path, scratch);
    scratch
}

/// IP rules (403), authentication (401), authorization (403); routes and
/// listeners without rules skip all of it. Identity header lines for the
/// upstream go to `inject`.
#[inline(never)]
fn run_filters<'s>(
    ctx: &'s CoreCtx,
    snap: &'s Snapshot,
    rules: Option<&'s RouteRules>,
    head: &RequestHead,
    buf: &[u8],
    downstream: &Downstream,
    inject: &mut Vec<u8>,
) -> Result<Option<Admission<'s>>, ProxyError> {
    let filters = &snap.filters;
    let listener_rules = filters.listener(downstream.listener);
    if !filters.needed(rules, listener_rules) {
        return Ok(None);
    }
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
        .map_err(ProxyError::from)?;
    admission.write_headers(filters, inject);
    Ok(Some(admission))
}

/// The rate limits' verdict (429), or a lease to wait for.
fn rate_outcome(
    ctx: &CoreCtx,
    snap: &Snapshot,
    req: &RateRequest,
) -> Result<(Option<RateHeaders>, Waiting), ProxyError> {
    let checked = limit::check_rates(req, &snap.consumer_limits, || ctx.limiter(), ctx.stats());
    match checked {
        None => Ok((None, None)),
        Some(Outcome::Pass(h)) => Ok((h, None)),
        Some(Outcome::Limited(l)) => Err(ProxyError::RateLimited(l)),
        Some(Outcome::Wait(p)) => Ok((None, Some(Box::new(p)))),
    }
}

/// The body to come, refused (413) when its declared length is over the
/// limit; a chunked body is held to the limit as it streams.
fn request_body(
    snap: &Snapshot,
    rules: Option<&RouteRules>,
    head: &RequestHead,
) -> Result<ReqBody, ProxyError> {
    let limits = &snap.config.limits;
    let max_body = limit::max_body_bytes(rules, limits.max_body_bytes.0);
    Ok(match head.framing {
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
    })
}

/// The rewritten path (+ query), then the upstream head, into `scratch`.
#[allow(clippy::too_many_arguments)]
fn write_upstream_head(
    snap: &Snapshot,
    m: &RouteMatch,
    path: &[u8],
    head: &RequestHead,
    buf: &[u8],
    downstream: &Downstream,
    rules: Option<&RouteRules>,
    scratch: &mut Scratch,
    upgrade: bool,
) {
    scratch.path.clear();
    snap.router.write_upstream_path(m, path, &mut scratch.path);
    if let Some(q) = head.query {
        scratch.path.push(b'?');
        scratch.path.extend_from_slice(q.get(buf));
    }
    let filters = &snap.filters;
    let fwd = Forwarding {
        client: &downstream.ip,
        proto: downstream.proto,
        headers: snap.config.proxy.forwarded_headers,
        add_via: snap.config.proxy.add_via,
        default_host: snap.clusters[snap.routes[m.route].cluster]
            .default_host
            .as_bytes(),
        strip: &filters.identity.strip,
        strip_more: rules.map_or(&[], |r| &r.strip),
        inject: &scratch.inject,
        strip_url_overrides: !snap.config.proxy.forward_url_override_headers,
    };
    head::write_request_head(&mut scratch.out, buf, head, &scratch.path, &fwd, upgrade);
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
