//! Response heads: framing per RFC 9112 §6.3 and status-line rules,
//! each fed split at every byte.

use super::*;
use ParseErrorKind::*;

fn resp(line: &str, fields: &[&str]) -> Vec<u8> {
    let mut s = format!("{line}\r\n");
    for f in fields {
        s.push_str(f);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn ok(input: &[u8], method: Method) -> ResponseHead {
    match parse_response_splits(input, method, 32 * 1024) {
        Ok(ParseStatus::Complete(h)) => {
            assert_eq!(h.head_len, input.len());
            h
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn err(input: &[u8], method: Method) -> ParseErrorKind {
    match parse_response_splits(input, method, 32 * 1024) {
        Err(e) => e.kind,
        other => panic!(
            "{:?}: expected an error, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn status_line() {
    let buf = resp(
        "HTTP/1.1 404 Not Found",
        &["Content-Length: 0", "Server: x"],
    );
    let h = ok(&buf, Method::Get);
    assert_eq!((h.version, h.status), (Version::Http11, 404));
    assert_eq!(h.reason.get(&buf), b"Not Found");
    assert_eq!(h.header(&buf, "server"), Some(&b"x"[..]));
    assert_eq!(h.framing, BodyFraming::ContentLength(0));
    assert!(h.keep_alive);

    let buf = resp("HTTP/1.1 200", &["Content-Length: 2"]);
    let h = ok(&buf, Method::Get);
    assert_eq!((h.status, h.reason.len()), (200, 0));
    let buf = resp("HTTP/1.0 200 ", &["Content-Length: 2"]);
    let h = ok(&buf, Method::Get);
    assert_eq!(
        (h.version, h.reason.len(), h.keep_alive),
        (Version::Http10, 0, false)
    );
    let buf = resp("HTTP/1.1 599 x\ty \u{e9}", &[]);
    assert_eq!(
        ok(&buf, Method::Get).reason.get(&buf),
        "x\ty \u{e9}".as_bytes()
    );
}

#[test]
fn framing() {
    use BodyFraming::*;
    let cases: &[(&str, &[&str], Method, BodyFraming, bool)] = &[
        (
            "HTTP/1.1 200 OK",
            &["Content-Length: 5"],
            Method::Get,
            ContentLength(5),
            true,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Content-Length: 5, 5"],
            Method::Get,
            ContentLength(5),
            true,
        ),
        ("HTTP/1.1 200 OK", &[], Method::Get, UntilClose, false),
        (
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: chunked"],
            Method::Get,
            Chunked,
            true,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: gzip, chunked"],
            Method::Get,
            Chunked,
            true,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: chunked, gzip"],
            Method::Get,
            UntilClose,
            false,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: gzip"],
            Method::Get,
            UntilClose,
            false,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Content-Length: 5"],
            Method::Head,
            None,
            true,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: chunked"],
            Method::Head,
            None,
            true,
        ),
        (
            "HTTP/1.1 204 No Content",
            &["Content-Length: 5"],
            Method::Get,
            None,
            true,
        ),
        (
            "HTTP/1.1 304 Not Modified",
            &["Content-Length: 5"],
            Method::Get,
            None,
            true,
        ),
        ("HTTP/1.1 100 Continue", &[], Method::Post, None, true),
        (
            "HTTP/1.1 101 Switching Protocols",
            &["Connection: upgrade", "Upgrade: websocket"],
            Method::Get,
            None,
            true,
        ),
        (
            "HTTP/1.1 200 Connection Established",
            &[],
            Method::Connect,
            None,
            true,
        ),
        (
            "HTTP/1.1 407 Auth",
            &["Content-Length: 3"],
            Method::Connect,
            ContentLength(3),
            true,
        ),
        (
            "HTTP/1.1 200 OK",
            &["Content-Length: 5", "Connection: close"],
            Method::Get,
            ContentLength(5),
            false,
        ),
        (
            "HTTP/1.0 200 OK",
            &["Content-Length: 5"],
            Method::Get,
            ContentLength(5),
            false,
        ),
        (
            "HTTP/1.0 200 OK",
            &["Content-Length: 5", "Connection: keep-alive"],
            Method::Get,
            ContentLength(5),
            true,
        ),
        (
            "HTTP/1.0 200 OK",
            &["Connection: keep-alive"],
            Method::Get,
            UntilClose,
            false,
        ),
    ];
    for (line, fields, method, framing, keep_alive) in cases {
        let buf = resp(line, fields);
        let h = ok(&buf, *method);
        assert_eq!(
            (h.framing, h.keep_alive),
            (*framing, *keep_alive),
            "{line} {fields:?} {method:?}"
        );
    }
}

#[test]
fn hop_by_hop_shared_with_requests() {
    let buf = resp(
        "HTTP/1.1 200 OK",
        &[
            "Connection: x-a",
            "X-A: 1",
            "X-B: 2",
            "Transfer-Encoding: chunked",
        ],
    );
    let h = ok(&buf, Method::Get);
    let hop: Vec<bool> = h.headers.iter().map(|x| h.is_hop_by_hop(&buf, x)).collect();
    assert_eq!(hop, [true, true, false, true]);
}

#[test]
fn invalid_responses() {
    let cases: Vec<(Vec<u8>, ParseErrorKind)> = vec![
        (resp("HTTP/1.1 099 x", &[]), InvalidStatus),
        (resp("HTTP/1.1 600 x", &[]), InvalidStatus),
        (resp("HTTP/1.1 2000 OK", &[]), InvalidStatus),
        (resp("HTTP/1.1 20 OK", &[]), InvalidStatus),
        (resp("HTTP/1.1 abc OK", &[]), InvalidStatus),
        (resp("HTTP/1.1  200 OK", &[]), InvalidStatus),
        (resp("HTTP/1.1 ", &[]), InvalidStatus),
        (resp("HTTP/1.1", &[]), InvalidVersion),
        (resp("http/1.1 200 OK", &[]), InvalidVersion),
        (resp("HTTP/2 200 OK", &[]), VersionNotSupported),
        (resp("HTTP/1.1 200 O\x01K", &[]), ControlByte),
        (resp("HTTP/1.1 200 O\rK", &[]), BareCr),
        (b"\r\nHTTP/1.1 200 OK\r\n\r\n".to_vec(), InvalidVersion),
        (b"HTTP/1.1 200 OK\n\r\n".to_vec(), BareLf),
        (
            resp(
                "HTTP/1.1 200 OK",
                &["Content-Length: 1", "Transfer-Encoding: chunked"],
            ),
            ContentLengthWithTransferEncoding,
        ),
        (
            resp(
                "HTTP/1.1 204 OK",
                &["Content-Length: 1", "Transfer-Encoding: chunked"],
            ),
            ContentLengthWithTransferEncoding,
        ),
        (
            resp(
                "HTTP/1.1 200 OK",
                &["Content-Length: 1", "Content-Length: 2"],
            ),
            ConflictingContentLength,
        ),
        (
            resp("HTTP/1.1 200 OK", &["Content-Length: +1"]),
            InvalidContentLength,
        ),
        (
            resp("HTTP/1.0 200 OK", &["Transfer-Encoding: chunked"]),
            TransferEncodingInHttp10,
        ),
        (
            resp("HTTP/1.1 200 OK", &["Transfer-Encoding: chunked, chunked"]),
            ChunkedNotLast,
        ),
        (
            resp("HTTP/1.1 200 OK", &["Transfer-Encoding: chunked;q=1"]),
            InvalidTransferEncoding,
        ),
        (resp("HTTP/1.1 200 OK", &["Foo : x"]), WhitespaceBeforeColon),
        (resp("HTTP/1.1 200 OK", &["Foo: x", " y"]), ObsFold),
        (resp("HTTP/1.1 200 OK", &["Foo: \x00"]), ControlByte),
    ];
    for (buf, want) in &cases {
        assert_eq!(
            err(buf, Method::Get),
            *want,
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
}

#[test]
fn limits() {
    let big = resp("HTTP/1.1 200 OK", &[&format!("X: {}", "y".repeat(100))]);
    assert_eq!(
        parse_response_splits(&big, Method::Get, 64)
            .unwrap_err()
            .kind,
        HeadersTooLarge
    );
    assert_eq!(
        parse_response_splits(&[b'H'; 100], Method::Get, 64)
            .unwrap_err()
            .kind,
        HeadersTooLarge
    );
    let many = resp("HTTP/1.1 200 OK", &["A: 1", "B: 2", "C: 3"]);
    let mut p = ResponseParser::new(1024, 2);
    assert_eq!(
        p.parse(&many, Method::Get).unwrap_err().kind,
        TooManyHeaders
    );
}
