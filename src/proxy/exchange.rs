//! One request/response exchange, as three phases (the README's request
//! flow): admission decides from the head alone (`admit`), forwarding gets
//! the response head from an upstream (`forward`), relaying streams the
//! response back (`relay`). A refusal in any phase is answered by `reject`.

use std::time::Instant;

use super::admit;
use super::error::ProxyError;
use super::forward::{self, Unforwarded};
use super::head::Downstream;
use super::io::{write_vec, Inbound};
use super::relay;
use super::ClientStream;
use crate::context::CoreCtx;
use crate::http::write_error_response_with;
use crate::http::{BodyFraming, RequestHead, ResponseHead};
use crate::snapshot::Snapshot;
use crate::stats::reasons::reason_index;
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
    /// The request path with `;params` removed, when the config allows them
    /// and the path has some: what routes are matched against.
    pub match_path: Vec<u8>,
}

/// What the connection loop does after an exchange.
pub enum Next {
    KeepAlive,
    Close,
    /// A 101 was relayed: splice the client with this upstream connection.
    Tunnel(Inbound<UpstreamStream>),
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
    // A request refused before its body was read leaves the connection out
    // of sync (the next request can't be found): close after answering.
    let no_body = matches!(
        head.framing,
        BodyFraming::None | BodyFraming::ContentLength(0)
    );
    let in_sync = head.keep_alive && !ctx.draining.get() && no_body;
    let admitted = match admit::admit(ctx, snap, client, scratch, head, downstream) {
        Ok((a, None)) => Ok(a),
        Ok((a, Some(pending))) => admit::finish(ctx, a, pending).await,
        Err(e) => Err(e),
    };
    let mut admitted = match admitted {
        Ok(a) => a,
        Err(e) => return reject(ctx, client, scratch, e, in_sync).await,
    };
    let upstreamed = match forward::forward(ctx, snap, client, scratch, &mut admitted, resp).await {
        Ok(u) => u,
        Err(Unforwarded { error, keep_alive }) => {
            return reject(ctx, client, scratch, error, keep_alive).await
        }
    };
    relay::relay(ctx, snap, client, scratch, &admitted, upstreamed, resp).await
}

/// Answers the client with an error (when it can still be answered) and
/// counts it by reason.
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
