//! Building the heads the proxy sends: the upstream request head and the
//! client response head. Unchanged header lines are copied as they arrived;
//! hop-by-hop fields are dropped and the proxy's own framing and forwarding
//! fields are added. Pure functions over bytes, tested without sockets.

use std::net::IpAddr;

use crate::config::ForwardedHeaders;
use crate::http::{write_decimal, BodyFraming, RequestHead, ResponseHead, TargetForm, Version};

/// The client's address as it goes into forwarding headers, formatted once
/// per connection rather than once per request.
pub struct ClientIp {
    pub ip: IpAddr,
    text: String,
    v6: bool,
}

impl ClientIp {
    pub fn new(ip: IpAddr) -> Self {
        ClientIp {
            ip,
            text: ip.to_string(),
            v6: ip.is_ipv6(),
        }
    }
}

/// Facts about the client connection that every request on it shares.
pub struct Downstream {
    pub ip: ClientIp,
    /// "http" or "https": the scheme the client used to reach us.
    pub proto: &'static str,
    /// Index of the listener that accepted the connection (its IP rules).
    pub listener: usize,
}

/// Adds header lines (each ending in CRLF) to a complete head in `out`,
/// before its final empty line; e.g. `RateLimit-*` on a response head.
pub fn append_fields(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    if out.ends_with(b"\r\n\r\n") {
        out.truncate(out.len() - 2);
        write(out);
        out.extend_from_slice(b"\r\n");
    }
}

/// What the proxy adds to a forwarded request.
pub struct Forwarding<'a> {
    pub client: &'a ClientIp,
    /// "http" or "https": the scheme the client used to reach us.
    pub proto: &'static str,
    pub headers: ForwardedHeaders,
    pub add_via: bool,
    /// Sent as `Host` when the request has none (HTTP/1.0 allows that; the
    /// HTTP/1.1 request we send upstream does not).
    pub default_host: &'a [u8],
    /// Lower-case names of incoming headers to drop (identity headers, which
    /// only the gateway may set, and consumed credentials).
    pub strip: &'a [Box<[u8]>],
    pub strip_more: &'a [Box<[u8]>],
    /// Complete header lines (CRLF-terminated) to add: the verified identity.
    pub inject: &'a [u8],
    /// Drop `X-Original-URL` / `X-Rewrite-URL`: frameworks that honour them
    /// (Symfony, IIS rewrite) route on their value, not on the path the
    /// gateway authorized.
    pub strip_url_overrides: bool,
}

fn is_url_override(name: &[u8]) -> bool {
    name_is(name, "x-original-url") || name_is(name, "x-rewrite-url")
}

fn listed(name: &[u8], names: &[Box<[u8]>]) -> bool {
    names.iter().any(|n| name.eq_ignore_ascii_case(n))
}

fn name_is(name: &[u8], lower: &str) -> bool {
    name.eq_ignore_ascii_case(lower.as_bytes())
}

/// Appends the upstream request head for `req` (whose bytes are `buf`).
/// `target` is the path (+ query) to send; `upgrade` keeps the Upgrade
/// handshake fields for a tunnel the config allows.
pub fn write_request_head(
    out: &mut Vec<u8>,
    buf: &[u8],
    req: &RequestHead,
    target: &[u8],
    fwd: &Forwarding,
    upgrade: bool,
) {
    out.extend_from_slice(req.method_span.get(buf));
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\n");

    let absolute = req.target_form == TargetForm::Absolute;
    let mut prior_xff: Option<&[u8]> = None;
    let mut more_xff: Vec<&[u8]> = Vec::new();
    let mut prior_forwarded: Vec<&[u8]> = Vec::new();
    for h in &req.headers {
        let name = h.name.get(buf);
        if req.is_hop_by_hop(buf, h) || name_is(name, "expect") {
            continue;
        }
        if fwd.strip_url_overrides && is_url_override(name) {
            continue;
        }
        if (!fwd.strip.is_empty() || !fwd.strip_more.is_empty())
            && (listed(name, fwd.strip) || listed(name, fwd.strip_more))
        {
            continue;
        }
        match fwd.headers {
            ForwardedHeaders::XForwarded if name_is(name, "x-forwarded-for") => {
                // Several X-Forwarded-For lines are one comma list (RFC 9110 §5.3).
                match prior_xff {
                    None => prior_xff = Some(h.value.get(buf)),
                    Some(_) => more_xff.push(h.value.get(buf)),
                }
                continue;
            }
            // Proto and host are facts about this hop: a client's own claim is dropped.
            ForwardedHeaders::XForwarded
                if name_is(name, "x-forwarded-proto") || name_is(name, "x-forwarded-host") =>
            {
                continue
            }
            ForwardedHeaders::Forwarded if name_is(name, "forwarded") => {
                prior_forwarded.push(h.value.get(buf));
                continue;
            }
            _ => {}
        }
        // absolute-form: the target's authority replaces Host (RFC 9112 §3.2.2).
        if absolute && name_is(name, "host") {
            continue;
        }
        out.extend_from_slice(h.line.get(buf));
        out.extend_from_slice(b"\r\n");
    }
    let host = req.host.map(|s| s.get(buf));
    match host {
        Some(host) if absolute => {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(host);
            out.extend_from_slice(b"\r\n");
        }
        Some(_) => {}
        None => {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(fwd.default_host);
            out.extend_from_slice(b"\r\n");
        }
    }
    write_forwarding(out, fwd, host, prior_xff, &more_xff, &prior_forwarded);
    if req.framing == BodyFraming::Chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    if upgrade {
        if let Some(proto) = req.upgrade {
            out.extend_from_slice(b"Connection: upgrade\r\nUpgrade: ");
            out.extend_from_slice(proto.get(buf));
            out.extend_from_slice(b"\r\n");
        }
    }
    if fwd.add_via {
        out.extend_from_slice(b"Via: 1.1 ringgate\r\n");
    }
    out.extend_from_slice(fwd.inject);
    out.extend_from_slice(b"\r\n");
}

fn write_forwarding(
    out: &mut Vec<u8>,
    fwd: &Forwarding,
    host: Option<&[u8]>,
    prior_xff: Option<&[u8]>,
    more_xff: &[&[u8]],
    prior_forwarded: &[&[u8]],
) {
    match fwd.headers {
        ForwardedHeaders::None => {}
        ForwardedHeaders::XForwarded => {
            out.extend_from_slice(b"X-Forwarded-For: ");
            for v in prior_xff.iter().chain(more_xff) {
                out.extend_from_slice(v);
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(fwd.client.text.as_bytes());
            out.extend_from_slice(b"\r\nX-Forwarded-Proto: ");
            out.extend_from_slice(fwd.proto.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let Some(host) = host {
                out.extend_from_slice(b"X-Forwarded-Host: ");
                out.extend_from_slice(host);
                out.extend_from_slice(b"\r\n");
            }
        }
        ForwardedHeaders::Forwarded => {
            out.extend_from_slice(b"Forwarded: ");
            for v in prior_forwarded {
                out.extend_from_slice(v);
                out.extend_from_slice(b", ");
            }
            // RFC 7239 §6: IPv6 nodes are quoted and bracketed.
            if fwd.client.v6 {
                out.extend_from_slice(b"for=\"[");
                out.extend_from_slice(fwd.client.text.as_bytes());
                out.extend_from_slice(b"]\"");
            } else {
                out.extend_from_slice(b"for=");
                out.extend_from_slice(fwd.client.text.as_bytes());
            }
            out.extend_from_slice(b";proto=");
            out.extend_from_slice(fwd.proto.as_bytes());
            // A host value with a port or IPv6 brackets needs quoting.
            if let Some(host) = host {
                out.extend_from_slice(b";host=\"");
                out.extend_from_slice(host);
                out.push(b'"');
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// How the response body goes to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFraming {
    /// As the upstream framed it: Content-Length, or no body.
    AsIs,
    /// Upstream chunked, forwarded verbatim (validated) to an HTTP/1.1 client.
    Chunked,
    /// Read-until-close upstream body, re-encoded as chunks for HTTP/1.1.
    Rechunk,
    /// Chunked upstream body decoded for an HTTP/1.0 client (then close).
    Dechunk,
    /// Read-until-close passed through raw to an HTTP/1.0 client (then close).
    Raw,
}

impl ClientFraming {
    /// Picks the client framing for a response; the bool says whether the
    /// client connection can stay open afterwards.
    pub fn choose(resp: BodyFraming, client: Version, keep_alive: bool) -> (ClientFraming, bool) {
        match (resp, client) {
            (BodyFraming::None | BodyFraming::ContentLength(_), _) => {
                (ClientFraming::AsIs, keep_alive)
            }
            (BodyFraming::Chunked, Version::Http11) => (ClientFraming::Chunked, keep_alive),
            (BodyFraming::Chunked, Version::Http10) => (ClientFraming::Dechunk, false),
            (BodyFraming::UntilClose, Version::Http11) => (ClientFraming::Rechunk, keep_alive),
            (BodyFraming::UntilClose, Version::Http10) => (ClientFraming::Raw, false),
        }
    }
}

/// Appends the client response head for `resp` (whose bytes are `buf`).
pub fn write_response_head(
    out: &mut Vec<u8>,
    buf: &[u8],
    resp: &ResponseHead,
    framing: ClientFraming,
    client_version: Version,
    keep_alive: bool,
    add_via: bool,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    write_decimal(u64::from(resp.status), out);
    out.push(b' ');
    out.extend_from_slice(resp.reason.get(buf));
    out.extend_from_slice(b"\r\n");
    for h in &resp.headers {
        if resp.is_hop_by_hop(buf, h) {
            continue;
        }
        out.extend_from_slice(h.line.get(buf));
        out.extend_from_slice(b"\r\n");
    }
    if resp.status == 101 {
        if let Some(proto) = resp.header(buf, "upgrade") {
            out.extend_from_slice(b"Connection: upgrade\r\nUpgrade: ");
            out.extend_from_slice(proto);
            out.extend_from_slice(b"\r\n");
        }
    } else if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if client_version == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    if matches!(framing, ClientFraming::Chunked | ClientFraming::Rechunk) {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    if add_via {
        out.extend_from_slice(b"Via: 1.1 ringgate\r\n");
    }
    out.extend_from_slice(b"\r\n");
}
