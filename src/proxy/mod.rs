//! The per-connection state machine: the keep-alive loop reading request
//! heads, one exchange per request (pipelined requests are answered in order
//! because they are handled one after the other), error answers, and
//! upgrades. Errors map to statuses in one place: `error`.

mod admit;
mod body;
pub mod error;
mod exchange;
mod forward;
pub mod head;
mod io;
mod relay;
#[cfg(test)]
mod scripted;
#[cfg(test)]
mod tests;
mod tunnel;
mod upstream;

use std::future::Future;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Instant;

use monoio::io::{AsyncReadRent, AsyncWriteRent, Split};
use monoio::net::TcpStream;
use monoio_rustls::ServerTlsStream;

use self::error::ProxyError;
use self::exchange::{Next, Scratch};
use self::io::{Inbound, IoFail};
use crate::context::bufs::Heads;
use crate::context::conns::ConnSlot;
use crate::context::{CoreCtx, ListenerInfo};
use crate::http::{Limits, ParseError, ParseErrorKind, ParseStatus, RequestHead, RequestParser};
use crate::snapshot::Snapshot;

/// What a client connection can be: plain TCP, or TLS over it. `Split` so
/// an upgraded connection can be read and written at once.
pub trait ClientStream: AsyncReadRent + AsyncWriteRent + Split + 'static {}
impl<T: AsyncReadRent + AsyncWriteRent + Split + 'static> ClientStream for T {}

/// A client stream that may tell when it has bytes to read without a read
/// (and its buffer) in flight, so an idle keep-alive connection need not
/// hold a read buffer.
pub trait WaitReadable {
    /// `None` when this stream cannot tell: the caller reads with a buffer.
    fn readable(&self) -> Option<impl Future<Output = std::io::Result<()>> + '_>;
}

impl WaitReadable for TcpStream {
    fn readable(&self) -> Option<impl Future<Output = std::io::Result<()>> + '_> {
        // Not relaxed: on the epoll driver a stale readiness would leave the
        // connection holding a buffer in a read that waits after all.
        Some(TcpStream::readable(self, false))
    }
}

impl WaitReadable for ServerTlsStream<TcpStream> {
    /// rustls may hold decrypted bytes the socket no longer shows, and keeps
    /// its own record buffers anyway.
    fn readable(&self) -> Option<impl Future<Output = std::io::Result<()>> + '_> {
        None::<std::future::Ready<std::io::Result<()>>>
    }
}

/// Serves one client connection until it closes, errs, idles out or the
/// core drains. `fd` is the underlying socket (draining shuts it down).
pub async fn serve<C: ClientStream + WaitReadable>(
    ctx: Rc<CoreCtx>,
    stream: C,
    fd: RawFd,
    peer: SocketAddr,
    listener: Rc<ListenerInfo>,
) {
    let guard = ctx.conns.register(fd);
    let stats = ctx.stats();
    stats.connections_accepted.inc();
    stats.connections_active.set(ctx.conns.len() as u64);
    // Read buffers are taken from the core's pool when a request comes
    // (see `park`); the small Vecs grow on first use.
    let mut client = Inbound::new(stream, Vec::new());
    let mut scratch = Scratch {
        out: Vec::new(),
        path: Vec::new(),
        up_buf: Vec::new(),
        extra: Vec::new(),
        inject: Vec::new(),
        match_path: Vec::new(),
    };
    let mut snap = ctx.snapshot();
    let mut parser = RequestParser::new(limits_of(&snap));
    let mut heads = None;
    let mut tunnel = None;
    let downstream = head::Downstream {
        ip: head::ClientIp::new(peer.ip()),
        proto: if listener.tls { "https" } else { "http" },
        listener: listener.index,
    };
    // The scheme the client used to reach us, for X-Forwarded-Proto / Forwarded.
    loop {
        if ctx.draining.get() && client.buffered() == 0 {
            break;
        }
        let current = ctx.snapshot();
        if !Rc::ptr_eq(&current, &snap) {
            snap = current;
            parser = RequestParser::new(limits_of(&snap));
        }
        // Whether the stream just reported bytes to read (see `park`).
        let ready = if client.buffered() > 0 {
            false
        } else {
            let parked = park(
                &ctx,
                &snap,
                &mut client,
                &mut scratch,
                &mut heads,
                &guard.slot,
            );
            match parked.await {
                Some(ready) => ready,
                None => break,
            }
        };
        let Heads { req: head, resp } =
            &mut **heads.get_or_insert_with(|| ctx.heads.take().unwrap_or_default());
        match read_head(&snap, &mut client, &mut parser, &guard.slot, head, ready).await {
            Ok(true) => {
                if scratch.up_buf.capacity() == 0 {
                    scratch.up_buf = ctx.bufs.get();
                }
            }
            Ok(false) => break,
            Err(e) => {
                // After a bad head the stream can't be trusted: answer, close.
                Box::pin(exchange::reject(&ctx, &mut client, &mut scratch, e, false)).await;
                break;
            }
        };
        // Boxed: an exchange's state is most of a connection task's size,
        // and an idle connection should not carry it. The block comes from
        // the core's pool and goes back when the exchange ends.
        let next = ctx
            .frames
            .pin(exchange::exchange(
                &ctx,
                &snap,
                &mut client,
                &mut scratch,
                head,
                resp,
                &downstream,
            ))
            .await;
        match next {
            Next::KeepAlive => continue,
            Next::Close => break,
            Next::Tunnel(up) => {
                tunnel = Some(up);
                break;
            }
        }
    }
    ctx.bufs.put(mem::take(&mut scratch.up_buf));
    if let Some(h) = heads {
        ctx.heads.put(h);
    }
    match tunnel {
        Some(up) => {
            let idle = snap.config.timeouts.upstream_idle.get();
            Box::pin(tunnel::run(client, up, idle)).await
        }
        None => ctx.bufs.put(client.buf),
    }
    drop(guard);
    ctx.stats().connections_active.set(ctx.conns.len() as u64);
}

/// Between requests, with nothing buffered: gives the connection's read
/// buffers (and, where the stream can tell readiness, its heads) back to
/// the core's pools and waits up to `client_idle` for the next request
/// holding none of them (an idle keep-alive connection then costs no buffer
/// memory). Then takes a client buffer for the read. `Some(true)`: the
/// stream reported bytes (or its end) to read; `Some(false)`: it can't
/// tell; `None`: the connection ended while idle (closed, idled out, or
/// shut down by a drain).
async fn park<C: ClientStream + WaitReadable>(
    ctx: &CoreCtx,
    snap: &Snapshot,
    client: &mut Inbound<C>,
    scratch: &mut Scratch,
    heads: &mut Option<Box<Heads>>,
    slot: &ConnSlot,
) -> Option<bool> {
    ctx.bufs.put(mem::take(&mut scratch.up_buf));
    let mut ready = false;
    if let Some(readable) = client.stream.readable() {
        ctx.bufs.put(mem::take(&mut client.buf));
        if let Some(h) = heads.take() {
            ctx.heads.put(h);
        }
        client.pos = 0;
        let deadline = Instant::now() + snap.config.timeouts.client_idle.get();
        slot.set_idle(true);
        let waited = monoio::time::timeout_at(deadline.into(), readable).await;
        slot.set_idle(false);
        if !matches!(waited, Ok(Ok(()))) {
            return None;
        }
        ready = true;
    }
    if client.buf.capacity() == 0 {
        client.buf = ctx.bufs.get();
    }
    Some(ready)
}

fn limits_of(snap: &Snapshot) -> Limits {
    let l = &snap.config.limits;
    Limits {
        max_request_line_bytes: l.max_request_line_bytes.as_usize(),
        max_header_bytes: l.max_header_bytes.as_usize(),
        max_headers_count: l.max_headers_count,
    }
}

/// Reads until a whole request head is parsed into `head` (`Ok(true)`).
/// `Ok(false)` is a clean end: the client closed, or stayed idle past
/// `client_idle`, between requests. `ready`: the stream just reported bytes
/// to read, so the first read needs no deadline.
async fn read_head<C: ClientStream>(
    snap: &Snapshot,
    client: &mut Inbound<C>,
    parser: &mut RequestParser,
    slot: &ConnSlot,
    head: &mut RequestHead,
    ready: bool,
) -> Result<bool, ProxyError> {
    parser.reset();
    let t = &snap.config.timeouts;
    let mut started = client.buffered() > 0;
    // A ready read has no deadline; the first one is set after it.
    let mut deadline = if ready {
        None
    } else if started {
        Some(Instant::now() + t.client_header.get())
    } else {
        Some(Instant::now() + t.client_idle.get())
    };
    loop {
        if started {
            match parser.parse_into(client.data(), head) {
                Ok(ParseStatus::Complete(())) => return Ok(true),
                Ok(ParseStatus::Partial) => {}
                Err(e) => return Err(ProxyError::BadRequest(e)),
            }
        }
        let filled = match deadline {
            None => client.fill_ready().await,
            Some(deadline) => {
                slot.set_idle(!started);
                let filled = client.fill(deadline).await;
                slot.set_idle(false);
                filled
            }
        };
        match filled {
            Ok(_) if !started => {
                started = true;
                deadline = Some(Instant::now() + t.client_header.get());
            }
            Ok(_) => {}
            Err(IoFail::Eof | IoFail::Io) if !started => return Ok(false),
            Err(IoFail::Timeout) if !started => return Ok(false),
            Err(IoFail::Timeout) => return Err(ProxyError::ClientTimeout),
            // A head bigger than the buffer grows it up to the head limit; the
            // parser answers 431/414 once the limit itself is passed.
            Err(IoFail::Full) if client.grow(snap.config.limits.max_header_bytes.as_usize()) => {}
            Err(IoFail::Full) => {
                return Err(ProxyError::BadRequest(ParseError {
                    kind: ParseErrorKind::HeadersTooLarge,
                }))
            }
            Err(_) => return Err(ProxyError::ClientIo),
        }
    }
}
