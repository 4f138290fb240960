//! Building the heads the proxy sends: the upstream request head and the
//! client response head. Unchanged header lines are copied as they arrived;
//! hop-by-hop fields are dropped and the proxy's own framing and forwarding
//! fields are added. `Content-Length` is always re-emitted as one canonical
//! line from the parsed value (`5, 5`, `005` or two equal lines become
//! `Content-Length: 5`), so both sides of the proxy see a single framing.
//! Pure functions over bytes, tested without sockets.

use std::net::IpAddr;

use crate::config::ForwardedHeaders;
use crate::filter::identity::same_field_name;
use crate::http::{
    field_name_is, write_decimal, BodyFraming, RequestHead, ResponseHead, TargetForm, Version,
};

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
    /// only the gateway may set, and consumed credentials), also when spelled
    /// with `_` for `-` (see `same_field_name`).
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
    names.iter().any(|n| same_field_name(name, n))
}

/// The X-Forwarded-* fields the gateway sets in `XForwarded` mode.
const X_FORWARDED: [&[u8]; 3] = [
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
];

/// A field that is not one the gateway sets, yet reads as one to an
/// upstream folding `_` into `-` (`X_Forwarded_For`). Called after the
/// exact names were handled, so a match here is an underscore spelling.
fn forges_forwarding(name: &[u8], headers: ForwardedHeaders) -> bool {
    matches!(headers, ForwardedHeaders::XForwarded)
        && X_FORWARDED.iter().any(|f| same_field_name(name, f))
}

/// Fields that frame the message or the connection, or that the gateway
/// sets: their underscore spellings (`Content_Length`, `Transfer_Encoding`)
/// would be framing to an upstream folding `_` into `-` — a smuggling vector
/// — so they never pass.
const MANAGED: [&[u8]; 11] = [
    b"content-length",
    b"transfer-encoding",
    b"host",
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"upgrade",
    b"expect",
    b"forwarded",
];

/// An underscore spelling of a managed or forwarding field.
fn forges_managed(name: &[u8], headers: ForwardedHeaders) -> bool {
    MANAGED.iter().any(|f| same_field_name(name, f)) || forges_forwarding(name, headers)
}

fn write_content_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    write_decimal(n, out);
    out.extend_from_slice(b"\r\n");
}

/// The decimal number in a `Content-Length` value the codec accepted: its
/// first list element (the others are equal to it).
fn first_content_length(value: &[u8]) -> Option<u64> {
    let first = value.split(|&b| b == b',').next()?.trim_ascii();
    first.iter().try_fold(0u64, |n, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// `name` is a parsed field name; `lower` only letters and `-`.
#[inline(always)]
fn name_is(name: &[u8], lower: &str) -> bool {
    field_name_is(name, lower.as_bytes())
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
        // Content-Length is written once, canonically, after the loop.
        if req.is_hop_by_hop(buf, h) || name_is(name, "expect") || name_is(name, "content-length") {
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
        // Names with `_` are rare: one scan keeps the common case cheap (a
        // plain loop: names are too short for a memchr call to pay).
        if name.contains(&b'_') && forges_managed(name, fwd.headers) {
            continue;
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
    match req.framing {
        BodyFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        BodyFraming::ContentLength(n) => write_content_length(out, n),
        BodyFraming::None | BodyFraming::UntilClose => {}
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
    // The framing's length when there is a body (even if a Connection token
    // named the field); a HEAD or 304 answer keeps the length its body
    // would have had.
    let mut content_length = match resp.framing {
        BodyFraming::ContentLength(n) => Some(n),
        _ => None,
    };
    for h in &resp.headers {
        if name_is(h.name.get(buf), "content-length") {
            if content_length.is_none() && !resp.is_hop_by_hop(buf, h) {
                content_length = first_content_length(h.value.get(buf));
            }
            continue;
        }
        if resp.is_hop_by_hop(buf, h) {
            continue;
        }
        out.extend_from_slice(h.line.get(buf));
        out.extend_from_slice(b"\r\n");
    }
    if let Some(n) = content_length {
        write_content_length(out, n);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Method, ParseStatus, RequestParser, ResponseParser};

    fn request(raw: &[u8]) -> RequestHead {
        match RequestParser::new(Default::default()).parse(raw).unwrap() {
            ParseStatus::Complete(h) => h,
            ParseStatus::Partial => panic!("partial"),
        }
    }

    /// The upstream head for `raw`, with `X-User-Id` and `X-Client-Ip` as
    /// identity headers and X-Forwarded-* on.
    fn forwarded(raw: &str) -> String {
        let req = request(raw.as_bytes());
        let client = ClientIp::new("10.0.0.9".parse().unwrap());
        let strip: Vec<Box<[u8]>> = vec![
            b"x-user-id".to_vec().into_boxed_slice(),
            b"x-client-ip".to_vec().into_boxed_slice(),
        ];
        let fwd = Forwarding {
            client: &client,
            proto: "http",
            headers: ForwardedHeaders::XForwarded,
            add_via: false,
            default_host: b"up",
            strip: &strip,
            strip_more: &[],
            inject: b"X-User-Id: u-1\r\nX-Client-Ip: 10.0.0.9\r\n",
            strip_url_overrides: true,
        };
        let mut out = Vec::new();
        write_request_head(&mut out, raw.as_bytes(), &req, b"/p", &fwd, false);
        String::from_utf8(out).unwrap()
    }

    fn response(raw: &str, method: Method) -> String {
        let resp = match ResponseParser::new(8192, 100)
            .parse(raw.as_bytes(), method)
            .unwrap()
        {
            ParseStatus::Complete(h) => h,
            ParseStatus::Partial => panic!("partial"),
        };
        let (framing, keep) = ClientFraming::choose(resp.framing, Version::Http11, true);
        let mut out = Vec::new();
        write_response_head(
            &mut out,
            raw.as_bytes(),
            &resp,
            framing,
            Version::Http11,
            keep,
            false,
        );
        String::from_utf8(out).unwrap()
    }

    const GATEWAY_FIELDS: &str = "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\n\
                                  X-Forwarded-Host: h\r\n";

    #[test]
    fn underscore_spellings_of_protected_names_are_dropped() {
        let raw = "GET / HTTP/1.1\r\nHost: h\r\nX_User_Id: admin\r\nX-User_Id: admin\r\n\
                   x_user-ID: admin\r\nX-Client_Ip: 1.2.3.4\r\nX_Forwarded_For: 6.6.6.6\r\n\
                   X-Forwarded_Proto: https\r\nx_forwarded_host: evil\r\nX_Other: kept\r\n\r\n";
        assert_eq!(
            forwarded(raw),
            format!(
                "GET /p HTTP/1.1\r\nHost: h\r\nX_Other: kept\r\n{GATEWAY_FIELDS}\
                 X-User-Id: u-1\r\nX-Client-Ip: 10.0.0.9\r\n\r\n"
            )
        );
    }

    #[test]
    fn underscore_spellings_of_framing_fields_are_dropped() {
        let raw = "POST / HTTP/1.1\r\nHost: h\r\nContent_Length: 99\r\n\
                   Transfer_Encoding: chunked\r\nX_Host: kept\r\nhost_: kept\r\n\
                   Proxy_Connection: close\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(
            forwarded(raw),
            format!(
                "POST /p HTTP/1.1\r\nHost: h\r\nX_Host: kept\r\nhost_: kept\r\n\
                 {GATEWAY_FIELDS}Content-Length: 2\r\nX-User-Id: u-1\r\n\
                 X-Client-Ip: 10.0.0.9\r\n\r\n"
            )
        );
    }

    #[test]
    fn request_content_length_goes_out_once_and_canonical() {
        for cl in [
            "Content-Length: 5, 5\r\n",
            "Content-Length: 5\r\nContent-Length: 5\r\n",
            "Content-Length: 005\r\n",
            "content-length:5 \r\n",
        ] {
            let raw = format!("POST / HTTP/1.1\r\nHost: h\r\n{cl}\r\nhello");
            assert_eq!(
                forwarded(&raw),
                format!(
                    "POST /p HTTP/1.1\r\nHost: h\r\n{GATEWAY_FIELDS}Content-Length: 5\r\n\
                     X-User-Id: u-1\r\nX-Client-Ip: 10.0.0.9\r\n\r\n"
                ),
                "{cl:?}"
            );
        }
        // A Connection token naming Content-Length cannot strip the framing.
        let raw = "POST / HTTP/1.1\r\nHost: h\r\nConnection: content-length\r\n\
                   Content-Length: 2\r\n\r\nhi";
        assert_eq!(forwarded(raw).matches("Content-Length: 2\r\n").count(), 1);
    }

    #[test]
    fn response_content_length_goes_out_once_and_canonical() {
        for cl in [
            "Content-Length: 2, 2\r\n",
            "Content-Length: 2\r\nContent-Length: 2\r\n",
            "Content-Length: 002\r\n",
        ] {
            let raw = format!("HTTP/1.1 200 OK\r\n{cl}X-A: b\r\n\r\nhi");
            assert_eq!(
                response(&raw, Method::Get),
                "HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 2\r\n\r\n",
                "{cl:?}"
            );
            // HEAD: no body, but the length it would have had, once.
            assert_eq!(
                response(&raw, Method::Head),
                "HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 2\r\n\r\n",
                "{cl:?}"
            );
        }
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            response(chunked, Method::Get),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
    }
}
