//! The gateway's own responses: a status line, a small JSON body naming
//! the reason, and the framing. Used by the proxy for refusals and by the
//! admin listener.

/// Appends a complete error response: status line, JSON body, and
/// `Connection: close` unless the connection is to be kept.
pub fn write_error_response(out: &mut Vec<u8>, status: u16, reason: &str, keep_alive: bool) {
    write_error_response_with(out, status, reason, keep_alive, &[]);
}

/// `write_error_response` with extra header lines (each ending in CRLF),
/// e.g. `Retry-After` and `RateLimit-*` on a 429, `WWW-Authenticate` on a 401.
pub fn write_error_response_with(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    keep_alive: bool,
    extra_headers: &[u8],
) {
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(b"{\"error\":\"");
    // Reasons are our own snake_case labels; escape anyway so this can never
    // emit invalid JSON if one ever carries a quote or backslash.
    for &b in reason.as_bytes() {
        match b {
            b'"' | b'\\' => body.extend_from_slice(&[b'\\', b]),
            0x20..=0x7e => body.push(b),
            _ => body.push(b'?'),
        }
    }
    body.extend_from_slice(b"\",\"status\":");
    super::write_decimal(u64::from(status), &mut body);
    body.push(b'}');

    out.extend_from_slice(b"HTTP/1.1 ");
    super::write_decimal(u64::from(status), out);
    out.push(b' ');
    out.extend_from_slice(status_text(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
    super::write_decimal(body.len() as u64, out);
    if !keep_alive {
        out.extend_from_slice(b"\r\nConnection: close");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(extra_headers);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
}

pub fn status_text(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}
