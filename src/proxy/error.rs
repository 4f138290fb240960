//! Everything that can end an exchange early, and the one mapping from those
//! errors to what the client gets: a status with a small JSON body, or (when
//! response bytes already went out) a closed connection.

use std::fmt;

use crate::filter::auth::AuthError;
use crate::filter::Denial;
use crate::http::{ChunkError, ParseError};
use crate::ratelimit::Limited;

/// Which side of the proxy an I/O failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Upstream,
}

#[derive(Debug)]
pub enum ProxyError {
    /// The request head was malformed or over a limit.
    BadRequest(ParseError),
    /// The request body's chunked framing was malformed or too large.
    BadRequestBody(ChunkError),
    /// The path is ambiguous to upstreams (see `route::check_path`).
    BadPath(&'static str),
    /// CONNECT: ringgate is a reverse proxy, not a forward one.
    ConnectNotAllowed,
    NoRoute,
    BodyTooLarge,
    /// The client was too slow sending its head or body.
    ClientTimeout,
    /// The client went away or broke the connection mid-exchange.
    ClientIo,
    UpstreamConnect,
    UpstreamConnectTimeout,
    /// The TLS handshake with the upstream failed: its certificate did not
    /// verify, or it does not speak TLS.
    UpstreamTls,
    /// The upstream's response head was malformed or ambiguous.
    UpstreamProtocol(&'static str),
    /// The upstream closed or failed before a complete response head.
    UpstreamIo,
    UpstreamTimeout,
    /// The upstream broke off a response body already being relayed.
    UpstreamBodyBroken,
    /// A 101 the request did not ask for, or an upgrade the config forbids.
    UpgradeRefused,
    /// Over a rate limit (429), or Redis unreachable with
    /// `on_redis_error = "deny"` (503); carries the response headers.
    RateLimited(Limited),
    /// 401: no credentials, or credentials that were rejected (the reason
    /// says which: `missing_credentials`, `invalid_token`, `token_expired`, ...).
    Unauthorized(&'static str),
    /// 400: the request carries the credential the route checks more than
    /// once (RFC 6750 §3.1 `invalid_request`): which copy is the caller?
    DuplicateCredentials,
    /// 403: `ip_denied`, `insufficient_scope`, `insufficient_role`.
    Forbidden(&'static str),
    /// 405: the path is served, but not for this method; the `Allow` value.
    MethodNotAllowed(String),
}

impl ProxyError {
    /// The status to answer with, or `None` when the only right answer is to
    /// close the connection (the client is gone or out of sync).
    pub fn status(&self) -> Option<u16> {
        use ProxyError::*;
        Some(match self {
            BadRequest(e) => e.status(),
            BadRequestBody(e) => e.status(),
            BadPath(_) | DuplicateCredentials => 400,
            ConnectNotAllowed => 405,
            NoRoute => 404,
            BodyTooLarge => 413,
            ClientTimeout => 408,
            UpstreamConnect | UpstreamTls | UpstreamProtocol(_) | UpstreamIo | UpgradeRefused => {
                502
            }
            UpstreamConnectTimeout | UpstreamTimeout => 504,
            RateLimited(l) => l.status(),
            Unauthorized(_) => 401,
            Forbidden(_) => 403,
            MethodNotAllowed(_) => 405,
            ClientIo | UpstreamBodyBroken => return None,
        })
    }

    /// Appends the extra header lines this error's response carries:
    /// `WWW-Authenticate` for 401, duplicate-credential 400s and scope/role
    /// 403s (RFC 6750 §3), `Allow` for 405, `Retry-After` (and `RateLimit-*`)
    /// for 429/503.
    pub fn write_extra_headers(&self, out: &mut Vec<u8>) {
        use ProxyError::*;
        match self {
            Unauthorized("missing_credentials") => {
                out.extend_from_slice(b"WWW-Authenticate: Bearer realm=\"ringgate\"\r\n")
            }
            Unauthorized(_) => out.extend_from_slice(
                b"WWW-Authenticate: Bearer realm=\"ringgate\", error=\"invalid_token\"\r\n",
            ),
            DuplicateCredentials => out.extend_from_slice(
                b"WWW-Authenticate: Bearer realm=\"ringgate\", error=\"invalid_request\"\r\n",
            ),
            Forbidden("insufficient_scope" | "insufficient_role") => out.extend_from_slice(
                b"WWW-Authenticate: Bearer realm=\"ringgate\", error=\"insufficient_scope\"\r\n",
            ),
            MethodNotAllowed(allow) => {
                out.extend_from_slice(b"Allow: ");
                out.extend_from_slice(allow.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            RateLimited(l) => l.write_headers(out),
            _ => {}
        }
    }

    /// A short machine-readable reason: the JSON `error` field and a metric label.
    pub fn reason(&self) -> &'static str {
        use ProxyError::*;
        match self {
            BadRequest(e) => e.reason(),
            BadRequestBody(e) => e.reason(),
            BadPath(r) => r,
            ConnectNotAllowed => "connect_not_allowed",
            NoRoute => "no_route",
            BodyTooLarge => "body_too_large",
            ClientTimeout => "client_timeout",
            ClientIo => "client_io",
            UpstreamConnect => "upstream_connect_failed",
            UpstreamConnectTimeout => "upstream_connect_timeout",
            UpstreamTls => "upstream_tls_failed",
            UpstreamProtocol(r) => r,
            UpstreamIo => "upstream_closed",
            UpstreamTimeout => "upstream_timeout",
            UpstreamBodyBroken => "upstream_body_broken",
            UpgradeRefused => "upgrade_refused",
            RateLimited(l) => l.reason(),
            Unauthorized(r) | Forbidden(r) => r,
            DuplicateCredentials => AuthError::DuplicateCredentials.reason(),
            MethodNotAllowed(_) => "method_not_allowed",
        }
    }
}

impl From<Denial> for ProxyError {
    fn from(d: Denial) -> ProxyError {
        match d {
            Denial::Unauthenticated(AuthError::DuplicateCredentials) => {
                ProxyError::DuplicateCredentials
            }
            Denial::Unauthenticated(e) => ProxyError::Unauthorized(e.reason()),
            Denial::Forbidden(r) => ProxyError::Forbidden(r),
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{write_error_response, write_error_response_with};
    use crate::http::{ChunkErrorKind, ParseErrorKind};
    use crate::ratelimit::RateHeaders;
    use crate::stats::reasons::{reason_index, REJECT_REASONS};

    /// The response `reject` writes for `e`, as the client receives it.
    fn rendered(e: &ProxyError) -> Vec<u8> {
        let mut extra = Vec::new();
        e.write_extra_headers(&mut extra);
        let mut out = Vec::new();
        let status = e.status().expect("an answered error");
        write_error_response_with(&mut out, status, e.reason(), false, &extra);
        out
    }

    /// The field lines of a response head, split at the first ':'; panics
    /// on a head that is not CRLF-terminated lines.
    fn field_lines(response: &[u8]) -> Vec<(String, String)> {
        let text = std::str::from_utf8(response).unwrap();
        let (head, _) = text.split_once("\r\n\r\n").expect("complete head");
        head.split("\r\n")
            .skip(1)
            .map(|line| {
                let (n, v) = line.split_once(':').expect("field line");
                (n.to_ascii_lowercase(), v.trim().to_string())
            })
            .collect()
    }

    fn count(fields: &[(String, String)], name: &str) -> usize {
        fields.iter().filter(|(n, _)| n == name).count()
    }

    fn limited(unavailable: bool) -> Limited {
        Limited {
            unavailable,
            retry_after_secs: 3,
            headers: Some(RateHeaders {
                limit: 10,
                remaining: 0,
                reset_secs: 3,
            }),
        }
    }

    /// One of every variant (with each extra-header case); the exhaustive
    /// match fails to compile when a variant is added and not listed here.
    fn every_variant() -> Vec<ProxyError> {
        use ProxyError::*;
        let all = vec![
            BadRequest(ParseErrorKind::MultipleHost.into()),
            BadRequestBody(ChunkError {
                kind: ChunkErrorKind::InvalidTrailer,
            }),
            BadPath("dot_segment"),
            ConnectNotAllowed,
            NoRoute,
            BodyTooLarge,
            ClientTimeout,
            ClientIo,
            UpstreamConnect,
            UpstreamConnectTimeout,
            UpstreamTls,
            UpstreamProtocol("upstream_bad_response"),
            UpstreamIo,
            UpstreamTimeout,
            UpstreamBodyBroken,
            UpgradeRefused,
            RateLimited(limited(false)),
            RateLimited(limited(true)),
            RateLimited(Limited {
                headers: None,
                ..limited(false)
            }),
            Unauthorized("missing_credentials"),
            Unauthorized("token_expired"),
            DuplicateCredentials,
            Forbidden("insufficient_scope"),
            Forbidden("ip_denied"),
            MethodNotAllowed("GET, HEAD".into()),
        ];
        for e in &all {
            match e {
                BadRequest(_)
                | BadRequestBody(_)
                | BadPath(_)
                | ConnectNotAllowed
                | NoRoute
                | BodyTooLarge
                | ClientTimeout
                | ClientIo
                | UpstreamConnect
                | UpstreamConnectTimeout
                | UpstreamTls
                | UpstreamProtocol(_)
                | UpstreamIo
                | UpstreamTimeout
                | UpstreamBodyBroken
                | UpgradeRefused
                | RateLimited(_)
                | Unauthorized(_)
                | DuplicateCredentials
                | Forbidden(_)
                | MethodNotAllowed(_) => {}
            }
        }
        all
    }

    #[test]
    fn no_error_response_repeats_a_header() {
        for e in every_variant() {
            if e.status().is_none() {
                continue;
            }
            let out = rendered(&e);
            let fields = field_lines(&out);
            for (name, _) in &fields {
                assert_eq!(
                    count(&fields, name),
                    1,
                    "{name} repeated in the {e:?} response:\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
            assert_eq!(count(&fields, "content-length"), 1, "{e:?}");
            assert_eq!(count(&fields, "connection"), 1, "{e:?}");
        }
    }

    #[test]
    fn each_extra_header_appears_exactly_once_where_it_belongs() {
        for e in every_variant() {
            let Some(status) = e.status() else { continue };
            let fields = field_lines(&rendered(&e));
            let challenge = matches!(
                e,
                ProxyError::Unauthorized(_)
                    | ProxyError::DuplicateCredentials
                    | ProxyError::Forbidden("insufficient_scope")
            );
            let rate_headers = matches!(&e, ProxyError::RateLimited(l) if l.headers.is_some());
            assert_eq!(
                count(&fields, "www-authenticate"),
                usize::from(challenge),
                "{e:?}"
            );
            assert_eq!(
                count(&fields, "allow"),
                usize::from(status == 405 && !matches!(e, ProxyError::ConnectNotAllowed)),
                "{e:?}"
            );
            assert_eq!(
                count(&fields, "retry-after"),
                usize::from(matches!(e, ProxyError::RateLimited(_))),
                "{e:?}"
            );
            for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
                assert_eq!(
                    count(&fields, name),
                    usize::from(rate_headers),
                    "{name} {e:?}"
                );
            }
        }
    }

    #[test]
    fn error_response_is_complete_json() {
        let mut out = Vec::new();
        write_error_response(&mut out, 404, "no_route", true);
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(!head.contains("Connection: close"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "no_route");
        assert_eq!(v["status"], 404);
    }

    #[test]
    fn close_is_announced_and_reasons_escaped() {
        let mut out = Vec::new();
        write_error_response(&mut out, 400, "a\"b\\c", false);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Connection: close\r\n"));
        let body = text.split_once("\r\n\r\n").unwrap().1;
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "a\"b\\c");
    }

    #[test]
    fn every_parser_reason_has_its_own_counter() {
        for kind in crate::http::ParseErrorKind::ALL {
            if kind == crate::http::ParseErrorKind::InvalidStatus {
                continue; // a response error: the client gets 502 upstream_bad_response
            }
            assert_ne!(reason_index(kind.reason()), 0, "{kind:?}");
        }
    }

    #[test]
    fn every_path_reason_has_its_own_counter() {
        for e in crate::route::PathError::ALL {
            assert_ne!(reason_index(e.reason()), 0, "{e:?}");
        }
    }

    #[test]
    fn rate_limited_is_429_with_retry_after_and_counted() {
        let l = Limited {
            unavailable: false,
            retry_after_secs: 3,
            headers: Some(crate::ratelimit::RateHeaders {
                limit: 10,
                remaining: 0,
                reset_secs: 3,
            }),
        };
        let e = ProxyError::RateLimited(l);
        assert_eq!(e.status(), Some(429));
        assert_ne!(reason_index(e.reason()), 0);
        let mut extra = Vec::new();
        l.write_headers(&mut extra);
        let mut out = Vec::new();
        write_error_response_with(&mut out, 429, e.reason(), true, &extra);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n\
             Content-Length: 37\r\nRetry-After: 3\r\nRateLimit-Limit: 10\r\n\
             RateLimit-Remaining: 0\r\nRateLimit-Reset: 3"
        );
        let body = text.split_once("\r\n\r\n").unwrap().1;
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "rate_limited");
        let unavailable = ProxyError::RateLimited(Limited {
            unavailable: true,
            ..l
        });
        assert_eq!(unavailable.status(), Some(503));
        assert_ne!(reason_index(unavailable.reason()), 0);
    }

    #[test]
    fn auth_errors_carry_their_challenge() {
        let render = |e: ProxyError| {
            let mut extra = Vec::new();
            e.write_extra_headers(&mut extra);
            let mut out = Vec::new();
            write_error_response_with(&mut out, e.status().unwrap(), e.reason(), true, &extra);
            assert_ne!(reason_index(e.reason()), 0, "{e}");
            String::from_utf8(out).unwrap()
        };
        let missing = render(ProxyError::Unauthorized("missing_credentials"));
        assert!(
            missing.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
            "{missing}"
        );
        let (head, _) = missing.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
             Content-Length: 44\r\nWWW-Authenticate: Bearer realm=\"ringgate\""
        );
        let bad = render(ProxyError::Unauthorized("token_expired"));
        assert!(bad.contains("error=\"invalid_token\""), "{bad}");
        let scope = render(ProxyError::Forbidden("insufficient_scope"));
        assert!(scope.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(scope.contains("error=\"insufficient_scope\""));
        let ip = render(ProxyError::Forbidden("ip_denied"));
        assert!(!ip.contains("WWW-Authenticate"));
        let body = ip.split_once("\r\n\r\n").unwrap().1;
        assert_eq!(body, "{\"error\":\"ip_denied\",\"status\":403}");
        let m = render(ProxyError::MethodNotAllowed("GET, HEAD".into()));
        let allow: Vec<&str> = m.lines().filter(|l| l.starts_with("Allow:")).collect();
        assert_eq!(allow, ["Allow: GET, HEAD"], "{m}");
        for e in crate::filter::auth::AuthError::ALL {
            assert_ne!(reason_index(e.reason()), 0, "{e:?}");
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(ProxyError::NoRoute.status(), Some(404));
        assert_eq!(ProxyError::UpstreamTimeout.status(), Some(504));
        assert_eq!(ProxyError::UpstreamConnect.status(), Some(502));
        assert_eq!(ProxyError::ClientIo.status(), None);
        assert_eq!(reason_index("no_route"), 1);
        assert_eq!(reason_index("unheard_of"), 0);
        assert!(REJECT_REASONS.len() <= crate::stats::MAX_REASONS);
        let mut sorted = REJECT_REASONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), REJECT_REASONS.len(), "duplicate reason label");
    }
}
