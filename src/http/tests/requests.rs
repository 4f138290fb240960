//! Request heads: table-driven valid and invalid inputs, each fed split at every byte.

use super::*;
use ParseErrorKind::*;

fn ok(input: &[u8]) -> RequestHead {
    ok_with(input, Limits::default())
}

fn ok_with(input: &[u8], limits: Limits) -> RequestHead {
    match parse_request_splits(input, limits) {
        Ok(ParseStatus::Complete(h)) => {
            assert_eq!(
                h.head_len,
                input.len(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            h
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn err_with(input: &[u8], limits: Limits) -> ParseErrorKind {
    match parse_request_splits(input, limits) {
        Err(e) => e.kind,
        other => panic!(
            "{:?}: expected an error, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

/// Wraps a request line and field lines into a head.
fn head(line: &str, fields: &[&str]) -> Vec<u8> {
    let mut s = format!("{line}\r\n");
    for f in fields {
        s.push_str(f);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn get(fields: &[&str]) -> Vec<u8> {
    let mut all = vec!["Host: example.com"];
    all.extend_from_slice(fields);
    head("GET / HTTP/1.1", &all)
}

#[test]
fn simple_get() {
    let buf = b"GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent:  curl/8 \r\n\r\n";
    let h = ok(buf);
    assert_eq!(h.method, Method::Get);
    assert_eq!(h.method_span.get(buf), b"GET");
    assert_eq!(h.target.get(buf), b"/index.html?a=1&b=2");
    assert_eq!(h.target_form, TargetForm::Origin);
    assert_eq!(h.path.get(buf), b"/index.html");
    assert_eq!(h.query.map(|q| q.get(buf)), Some(&b"a=1&b=2"[..]));
    assert_eq!(h.version, Version::Http11);
    assert_eq!(h.host.map(|s| s.get(buf)), Some(&b"example.com:8080"[..]));
    assert_eq!(h.headers.len(), 2);
    assert_eq!(h.headers[1].name.get(buf), b"User-Agent");
    assert_eq!(h.headers[1].value.get(buf), b"curl/8");
    assert_eq!(h.headers[1].line.get(buf), b"User-Agent:  curl/8 ");
    assert_eq!(h.header(buf, "user-agent"), Some(&b"curl/8"[..]));
    assert_eq!(h.header(buf, "accept"), None);
    assert_eq!(h.framing, BodyFraming::None);
    assert!(h.keep_alive && !h.expect_continue && h.upgrade.is_none());
}

#[test]
fn pipelined_bytes_after_head_are_ignored() {
    let mut buf = get(&["Content-Length: 3"]);
    let head_len = buf.len();
    buf.extend_from_slice(b"abcGET / HTTP/1.1\r\n\n\n\0");
    let h = match RequestParser::new(Limits::default()).parse(&buf) {
        Ok(ParseStatus::Complete(h)) => h,
        other => panic!("{other:?}"),
    };
    assert_eq!(h.head_len, head_len);
    assert_eq!(h.framing, BodyFraming::ContentLength(3));
}

#[test]
fn parser_is_reusable_after_complete_and_error() {
    let mut p = RequestParser::new(Limits::default());
    let good = get(&[]);
    assert!(matches!(p.parse(&good), Ok(ParseStatus::Complete(_))));
    assert_eq!(p.parse(b"GET / HTTP/1.1\n").unwrap_err().kind, BareLf);
    assert!(matches!(p.parse(&good[..5]), Ok(ParseStatus::Partial)));
    p.reset();
    assert!(matches!(p.parse(&good), Ok(ParseStatus::Complete(_))));
    // A buffer that shrinks (contract violation) must not panic.
    assert!(matches!(p.parse(&good[..20]), Ok(ParseStatus::Partial)));
    assert!(matches!(p.parse(&good[..3]), Ok(ParseStatus::Partial)));
}

#[test]
fn methods() {
    let cases: &[(&str, Method)] = &[
        ("GET", Method::Get),
        ("HEAD", Method::Head),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("DELETE", Method::Delete),
        ("OPTIONS", Method::Options),
        ("TRACE", Method::Trace),
        ("PATCH", Method::Patch),
        ("PROPFIND", Method::Other),
        ("get", Method::Other),
        ("M-SEARCH", Method::Other),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", Method::Other), // 32 bytes
    ];
    for (m, want) in cases {
        let buf = head(&format!("{m} / HTTP/1.1"), &["Host: a"]);
        let h = ok(&buf);
        assert_eq!(h.method, *want, "{m}");
        assert_eq!(h.method_span.get(&buf), m.as_bytes());
    }
    let idempotent = [
        Method::Get,
        Method::Head,
        Method::Put,
        Method::Delete,
        Method::Options,
        Method::Trace,
    ];
    for m in idempotent {
        assert!(m.is_idempotent());
    }
    for m in [Method::Post, Method::Patch, Method::Connect, Method::Other] {
        assert!(!m.is_idempotent());
    }
}

#[test]
fn target_forms() {
    let buf = head(
        "GET HTTP://Example.com:8080/p/q?x=1 HTTP/1.1",
        &["Host: other.example"],
    );
    let h = ok(&buf);
    assert_eq!(h.target_form, TargetForm::Absolute);
    assert_eq!(h.host.unwrap().get(&buf), b"Example.com:8080");
    assert_eq!(h.path.get(&buf), b"/p/q");
    assert_eq!(h.query.unwrap().get(&buf), b"x=1");

    let buf = head("GET https://h HTTP/1.1", &["Host: h"]);
    let h = ok(&buf);
    assert_eq!(
        (h.target_form, h.path.len(), h.query),
        (TargetForm::Absolute, 0, None)
    );

    let buf = head("GET http://h?q HTTP/1.1", &["Host: h"]);
    let h = ok(&buf);
    assert!(h.path.is_empty());
    assert_eq!(h.query.unwrap().get(&buf), b"q");

    let buf = head("OPTIONS * HTTP/1.1", &["Host: h"]);
    let h = ok(&buf);
    assert_eq!(h.target_form, TargetForm::Asterisk);
    assert_eq!(h.path.get(&buf), b"*");

    let buf = head(
        "CONNECT example.com:443 HTTP/1.1",
        &["Host: example.com:443"],
    );
    let h = ok(&buf);
    assert_eq!(
        (h.method, h.target_form),
        (Method::Connect, TargetForm::Authority)
    );
    assert_eq!(h.host.unwrap().get(&buf), b"example.com:443");
    assert!(h.path.is_empty());

    let buf = head("GET /a?b?c=%20 HTTP/1.1", &["Host: h"]);
    let h = ok(&buf);
    assert_eq!(h.path.get(&buf), b"/a");
    assert_eq!(h.query.unwrap().get(&buf), b"b?c=%20");

    let buf = head("GET /? HTTP/1.1", &["Host: h"]);
    assert_eq!(ok(&buf).query.map(|q| q.len()), Some(0));

    let buf = head("GET [::1] HTTP/1.1", &["Host: h"]);
    assert_eq!(err_with(&buf, Limits::default()), InvalidTarget);
}

#[test]
fn leading_empty_lines_are_skipped() {
    let mut buf = b"\r\n\r\n".to_vec();
    buf.extend_from_slice(&get(&[]));
    let h = ok(&buf);
    assert_eq!(h.method_span.get(&buf), b"GET");
    assert_eq!(h.method_span.start, 4);
    let mut buf = b"\r\n".repeat(5);
    buf.extend_from_slice(&get(&[]));
    assert_eq!(err_with(&buf, Limits::default()), InvalidMethod);
}

#[test]
fn framing_and_connection() {
    type Check = fn(&RequestHead, &[u8]);
    let cases: &[(Vec<u8>, Check)] = &[
        (get(&["Content-Length: 10"]), |h, _| {
            assert_eq!(h.framing, BodyFraming::ContentLength(10))
        }),
        (get(&["Content-Length: 0"]), |h, _| {
            assert_eq!(h.framing, BodyFraming::ContentLength(0))
        }),
        (
            get(&["Content-Length: 5, 5", "content-length:5"]),
            |h, _| assert_eq!(h.framing, BodyFraming::ContentLength(5)),
        ),
        (get(&["Content-Length: 18446744073709551615"]), |h, _| {
            assert_eq!(h.framing, BodyFraming::ContentLength(u64::MAX))
        }),
        (get(&["Transfer-Encoding: chunked"]), |h, _| {
            assert_eq!(h.framing, BodyFraming::Chunked)
        }),
        (get(&["Transfer-Encoding: CHUNKED"]), |h, _| {
            assert_eq!(h.framing, BodyFraming::Chunked)
        }),
        (get(&["Transfer-Encoding: , chunked ,"]), |h, _| {
            assert_eq!(h.framing, BodyFraming::Chunked)
        }),
        (get(&["Connection: close"]), |h, _| assert!(!h.keep_alive)),
        (get(&["Connection: keep-alive, CLOSE"]), |h, _| {
            assert!(!h.keep_alive)
        }),
        (head("GET / HTTP/1.0", &[]), |h, _| {
            assert!(!h.keep_alive && h.host.is_none())
        }),
        (
            head("GET / HTTP/1.0", &["Connection: Keep-Alive"]),
            |h, _| assert!(h.keep_alive),
        ),
        (get(&["Expect: 100-continue"]), |h, _| {
            assert!(h.expect_continue)
        }),
        (get(&["Expect: 100-Continue"]), |h, _| {
            assert!(h.expect_continue)
        }),
        (
            head("POST / HTTP/1.0", &["Expect: 100-continue"]),
            |h, _| assert!(!h.expect_continue),
        ),
        (
            get(&["Connection: Upgrade", "Upgrade: websocket"]),
            |h, b| assert_eq!(h.upgrade.unwrap().get(b), b"websocket"),
        ),
        (get(&["Upgrade: websocket"]), |h, _| {
            assert!(h.upgrade.is_none())
        }),
        (
            head(
                "GET / HTTP/1.0",
                &["Connection: upgrade", "Upgrade: websocket"],
            ),
            |h, _| assert!(h.upgrade.is_none()),
        ),
        (get(&["X: a\tb", "Y: caf\u{e9}", "Z:", "W: \t "]), |h, b| {
            let vals: Vec<&[u8]> = h.headers.iter().map(|x| x.value.get(b)).collect();
            assert_eq!(
                vals,
                [
                    &b"example.com"[..],
                    b"a\tb",
                    "caf\u{e9}".as_bytes(),
                    b"",
                    b""
                ]
            );
        }),
    ];
    for (buf, check) in cases {
        check(&ok(buf), buf);
    }
}

#[test]
fn hop_by_hop() {
    let buf = get(&[
        "Connection: keep-alive, X-Secret",
        "Keep-Alive: timeout=5",
        "X-Secret: 1",
        "x-secret: 2",
        "TE: trailers",
        "Trailer: x",
        "Proxy-Connection: x",
        "Proxy-Authorization: x",
        "Proxy-Authenticate: x",
        "Upgrade: x",
        "Accept: */*",
        "Content-Length: 0",
    ]);
    let h = ok(&buf);
    let hop: Vec<bool> = h.headers.iter().map(|x| h.is_hop_by_hop(&buf, x)).collect();
    let mut want = vec![false];
    want.extend([true; 10]);
    want.extend([false, false]);
    assert_eq!(hop, want);

    let buf = get(&[
        "Connection: close",
        "Close: x",
        "Transfer-Encoding: chunked",
    ]);
    let h = ok(&buf);
    let hop: Vec<bool> = h.headers.iter().map(|x| h.is_hop_by_hop(&buf, x)).collect();
    // "close" is an option, but only fields named by *other* tokens are scanned for.
    assert_eq!(hop, [false, true, false, true]);
}

#[test]
fn limits() {
    let small = Limits {
        max_request_line_bytes: 16,
        max_header_bytes: 64,
        max_headers_count: 3,
    };
    // Request line of exactly 16 bytes passes, 17 fails.
    ok_with(
        &head("GET /123 HTTP/1.1", &["Host: h"])[..],
        Limits {
            max_request_line_bytes: 17,
            ..small
        },
    );
    ok_with(&head("GET /12 HTTP/1.1", &["Host: h"]), small);
    assert_eq!(
        err_with(&head("GET /123 HTTP/1.1", &["Host: h"]), small),
        RequestLineTooLong
    );
    assert_eq!(err_with(&[b'G'; 100], small), RequestLineTooLong);
    // Headers count.
    ok_with(&head("GET / HTTP/1.1", &["Host: h", "A: 1", "B: 2"]), small);
    assert_eq!(
        err_with(
            &head("GET / HTTP/1.1", &["Host: h", "A: 1", "B: 2", "C: 3"]),
            small
        ),
        TooManyHeaders
    );
    // Head size: exactly 64 bytes passes, 65 fails, and no end at all fails too.
    let exact = head(
        "GET / HTTP/1.1",
        &["Host: h", "A: 1", &format!("B: {}", "x".repeat(26))],
    );
    assert_eq!(exact.len(), 64);
    ok_with(&exact, small);
    let over = head(
        "GET / HTTP/1.1",
        &["Host: h", "A: 1", &format!("B: {}", "x".repeat(27))],
    );
    assert_eq!(err_with(&over, small), HeadersTooLarge);
    let endless = format!("GET / HTTP/1.1\r\nHost: h\r\nA: {}", "x".repeat(100));
    assert_eq!(err_with(endless.as_bytes(), small), HeadersTooLarge);
    // When the request line limit is above the head limit, the head limit is crossed first.
    let big_line = Limits {
        max_request_line_bytes: 1000,
        max_header_bytes: 40,
        max_headers_count: 3,
    };
    assert_eq!(err_with(&[b'a'; 100], big_line), HeadersTooLarge);
    assert_eq!(
        Limits::default(),
        Limits {
            max_request_line_bytes: 8192,
            max_header_bytes: 32768,
            max_headers_count: 100
        }
    );
}

#[test]
fn invalid_requests() {
    let long_method = format!("{} / HTTP/1.1", "A".repeat(33));
    let cases: Vec<(Vec<u8>, ParseErrorKind)> = vec![
        // request line
        (head("G@T / HTTP/1.1", &["Host: h"]), InvalidMethod),
        (head(" GET / HTTP/1.1", &["Host: h"]), InvalidMethod),
        (head("GET", &["Host: h"]), InvalidMethod),
        (head(&long_method, &["Host: h"]), InvalidMethod),
        (head("GET\t/ HTTP/1.1", &["Host: h"]), InvalidMethod),
        (head("GET  / HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET / HTTP/1.1 ", &["Host: h"]), InvalidTarget),
        (head("GET /a b HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /", &["Host: h"]), InvalidVersion),
        (head("GET / http/1.1", &["Host: h"]), InvalidVersion),
        (head("GET / HTTP/1.1x", &["Host: h"]), InvalidVersion),
        (head("GET / HTTP/11", &["Host: h"]), InvalidVersion),
        (head("GET / HTTP/1.", &["Host: h"]), InvalidVersion),
        (head("GET / HTTP/1.2", &["Host: h"]), VersionNotSupported),
        (head("GET / HTTP/2.0", &["Host: h"]), VersionNotSupported),
        (head("GET / HTTP/0.9", &["Host: h"]), VersionNotSupported),
        (head("GET / HTTP/3", &["Host: h"]), VersionNotSupported),
        // targets
        (head("GET /a#b HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /\x7f HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /\u{e9} HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /\x00 HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /\x01 HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /a\rb HTTP/1.1", &["Host: h"]), BareCr),
        (head("GET /%zz HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET /%2 HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("GET * HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("OPTIONS *x HTTP/1.1", &["Host: h"]), InvalidTarget),
        (
            head("GET example.com HTTP/1.1", &["Host: h"]),
            InvalidTarget,
        ),
        (head("GET ftp://h/ HTTP/1.1", &["Host: h"]), InvalidTarget),
        (
            head("GET http://u@h/ HTTP/1.1", &["Host: h"]),
            InvalidTarget,
        ),
        (head("GET http:///x HTTP/1.1", &["Host: h"]), InvalidTarget),
        (
            head("GET http://h:x/ HTTP/1.1", &["Host: h"]),
            InvalidTarget,
        ),
        (head("CONNECT / HTTP/1.1", &["Host: h"]), InvalidTarget),
        (head("CONNECT h HTTP/1.1", &["Host: h"]), InvalidTarget),
        (
            head("CONNECT http://h:1/ HTTP/1.1", &["Host: h"]),
            InvalidTarget,
        ),
        // field lines
        (get(&["Foo : bar"]), WhitespaceBeforeColon),
        (get(&["Transfer-Encoding : chunked"]), WhitespaceBeforeColon),
        (get(&["Foo\t: bar"]), WhitespaceBeforeColon),
        (get(&["Foo Bar: x"]), InvalidHeaderName),
        (get(&[": x"]), InvalidHeaderName),
        (get(&["NoColon"]), InvalidHeaderName),
        (get(&["F\u{e9}: x"]), InvalidHeaderName),
        (get(&["F\"o: x"]), InvalidHeaderName),
        (get(&["F\x00o: x"]), ControlByte),
        (get(&["Foo: a\x00b"]), ControlByte),
        (get(&["Foo: \x01"]), ControlByte),
        (get(&["Foo: a\x7f"]), ControlByte),
        (get(&["Foo: a", " folded"]), ObsFold),
        (get(&["Foo: a", "\tfolded"]), ObsFold),
        (head("GET / HTTP/1.1", &[" Host: h"]), ObsFold),
        (get(&["Foo: a\rb"]), BareCr),
        (get(&["Foo: a\r"]), BareCr),
        (get(&["F\ro: a"]), BareCr),
        (get(&["Foo: a\nb"]), BareLf),
        (b"GET / HTTP/1.1\nHost: h\r\n\r\n".to_vec(), BareLf),
        (b"GET / HTTP/1.1\r\nHost: h\n\r\n".to_vec(), BareLf),
        (b"GET / HTTP/1.1\r\nHost: h\r\n\n".to_vec(), BareLf),
        (b"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(), BareLf),
        // Host
        (head("GET / HTTP/1.1", &[]), MissingHost),
        (head("GET / HTTP/1.1", &["Hosts: h"]), MissingHost),
        (get(&["Host: h"]), MultipleHost),
        (get(&["host: example.com"]), MultipleHost),
        (
            head("GET / HTTP/1.0", &["Host: a", "Host: b"]),
            MultipleHost,
        ),
        (head("GET / HTTP/1.1", &["Host: a b"]), InvalidHost),
        (head("GET / HTTP/1.1", &["Host: "]), InvalidHost),
        (head("GET / HTTP/1.1", &["Host: a@b"]), InvalidHost),
        (head("GET / HTTP/1.1", &["Host: a,b"]), InvalidHost),
        (head("GET / HTTP/1.1", &["Host: a:99999"]), InvalidHost),
        (head("GET / HTTP/1.1", &["Host: a/b"]), InvalidHost),
        (head("GET http://h/ HTTP/1.1", &[]), MissingHost),
        // Content-Length
        (get(&["Content-Length: +5"]), InvalidContentLength),
        (get(&["Content-Length: -1"]), InvalidContentLength),
        (get(&["Content-Length: 0x10"]), InvalidContentLength),
        (get(&["Content-Length: 1e3"]), InvalidContentLength),
        (get(&["Content-Length: 5 5"]), InvalidContentLength),
        (get(&["Content-Length: 5,"]), InvalidContentLength),
        (get(&["Content-Length:"]), InvalidContentLength),
        (
            get(&["Content-Length: 18446744073709551616"]),
            InvalidContentLength,
        ),
        (get(&["Content-Length: 5, 6"]), ConflictingContentLength),
        (
            get(&["Content-Length: 5", "Content-Length: 6"]),
            ConflictingContentLength,
        ),
        // Transfer-Encoding
        (
            get(&["Content-Length: 5", "Transfer-Encoding: chunked"]),
            ContentLengthWithTransferEncoding,
        ),
        (
            get(&["Transfer-Encoding: chunked", "Content-Length: 5"]),
            ContentLengthWithTransferEncoding,
        ),
        (get(&["Transfer-Encoding: chunked, gzip"]), ChunkedNotLast),
        (
            get(&["Transfer-Encoding: chunked, chunked"]),
            ChunkedNotLast,
        ),
        (
            get(&["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"]),
            ChunkedNotLast,
        ),
        (
            get(&["Transfer-Encoding: gzip, chunked"]),
            UnsupportedTransferEncoding,
        ),
        (
            get(&["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"]),
            UnsupportedTransferEncoding,
        ),
        (
            get(&["Transfer-Encoding: xchunked"]),
            UnsupportedTransferEncoding,
        ),
        (
            get(&["Transfer-Encoding: identity"]),
            UnsupportedTransferEncoding,
        ),
        (
            get(&["Transfer-Encoding: x-custom"]),
            UnsupportedTransferEncoding,
        ),
        (get(&["Transfer-Encoding:"]), InvalidTransferEncoding),
        (
            get(&["Transfer-Encoding: chunked;a=b"]),
            InvalidTransferEncoding,
        ),
        (
            get(&["Transfer-Encoding: \"chunked\""]),
            InvalidTransferEncoding,
        ),
        (
            head("POST / HTTP/1.0", &["Transfer-Encoding: chunked"]),
            TransferEncodingInHttp10,
        ),
        (
            head(
                "POST / HTTP/1.0",
                &["Transfer-Encoding: chunked", "Content-Length: 1"],
            ),
            TransferEncodingInHttp10,
        ),
        // Connection, Expect
        (get(&["Connection: close;x"]), InvalidConnection),
        (get(&["Connection: \"close\""]), InvalidConnection),
        (get(&["Expect: 100-continue, foo"]), ExpectationFailed),
        (get(&["Expect: foo"]), ExpectationFailed),
        (get(&["Expect:"]), ExpectationFailed),
        (
            get(&["Expect: 100-continue", "Expect: x"]),
            ExpectationFailed,
        ),
        (head("GET / HTTP/1.0", &["Expect: x"]), ExpectationFailed),
    ];
    for (buf, want) in &cases {
        assert_eq!(
            err_with(buf, Limits::default()),
            *want,
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
}

#[test]
fn error_status_and_reason() {
    let cases = [
        (InvalidMethod, 400, "invalid_method"),
        (RequestLineTooLong, 414, "request_line_too_long"),
        (HeadersTooLarge, 431, "headers_too_large"),
        (TooManyHeaders, 431, "too_many_headers"),
        (
            UnsupportedTransferEncoding,
            501,
            "unsupported_transfer_encoding",
        ),
        (VersionNotSupported, 505, "version_not_supported"),
        (ExpectationFailed, 417, "expectation_failed"),
        (WhitespaceBeforeColon, 400, "whitespace_before_colon"),
        (
            ContentLengthWithTransferEncoding,
            400,
            "content_length_with_transfer_encoding",
        ),
    ];
    for (kind, status, reason) in cases {
        let e = ParseError::from(kind);
        assert_eq!((e.status(), e.reason()), (status, reason));
        assert!(e.to_string().contains(reason));
    }
}
