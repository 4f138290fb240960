//! The single-pass path (`fast`) against the incremental path: the first
//! must fire on ordinary heads (or the every-split tests would compare the
//! incremental path with itself), and `parse_into` must give the same head
//! whatever the head it fills held before.

use super::super::fast;
use super::super::scan::ScanLimits;
use super::*;

const REQUESTS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET /a/b?c=d%20e&f HTTP/1.0\r\nHost: h:8080\r\nConnection: keep-alive\r\nX-A:\t v \t\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    b"PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
    b"GET http://h/p?q HTTP/1.1\r\nHost: other\r\nConnection: upgrade, x-y\r\nUpgrade: websocket\r\nX-Y: 1\r\n\r\n",
    b"M-SEARCH /x HTTP/1.1\r\nHost: [::1]:80\r\nEmpty:\r\n\r\n",
];

const RESPONSES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 204\r\nServer: x\r\n\r\n",
    b"HTTP/1.0 200 Fine\tthanks\r\nConnection: keep-alive\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"HTTP/1.1 599 \xff\r\nX: y\r\n\r\n",
];

fn request_limits() -> ScanLimits {
    let l = Limits::default();
    ScanLimits {
        start_line_bytes: l.max_request_line_bytes,
        head_bytes: l.max_header_bytes,
        fields_count: l.max_headers_count,
        leading_empty_lines: 4,
        leading_empty_error: ParseErrorKind::InvalidMethod,
        start_line_error: ParseErrorKind::RequestLineTooLong,
    }
}

fn response_limits() -> ScanLimits {
    ScanLimits {
        start_line_bytes: 32 * 1024,
        head_bytes: 32 * 1024,
        fields_count: 100,
        leading_empty_lines: 0,
        leading_empty_error: ParseErrorKind::InvalidVersion,
        start_line_error: ParseErrorKind::HeadersTooLarge,
    }
}

/// A fresh parser fed one byte first takes the incremental path.
fn incremental_request(buf: &[u8]) -> RequestHead {
    let mut p = RequestParser::new(Limits::default());
    assert_eq!(p.parse(&buf[..1]), Ok(ParseStatus::Partial));
    match p.parse(buf) {
        Ok(ParseStatus::Complete(h)) => h,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

#[test]
fn fast_path_fires_and_agrees_on_requests() {
    for buf in REQUESTS {
        let mut head = RequestHead::default();
        assert!(
            fast::request(buf, &request_limits(), &mut head).is_some(),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
        assert_eq!(head, incremental_request(buf));
        assert_eq!(
            parse_request_splits(buf, Limits::default()),
            Ok(ParseStatus::Complete(head))
        );
    }
}

#[test]
fn fast_path_fires_and_agrees_on_responses() {
    for buf in RESPONSES {
        let mut head = ResponseHead::default();
        assert!(
            fast::response(buf, &response_limits(), Method::Get, &mut head).is_some(),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
        assert_eq!(
            parse_response_splits(buf, Method::Get, 32 * 1024),
            Ok(ParseStatus::Complete(head))
        );
    }
}

/// The fast path declines what it does not fully accept; the parser's
/// answer then comes from the incremental path.
#[test]
fn fast_path_declines_unusual_or_invalid_heads() {
    let declined: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r",
        b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX : b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
        b"GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: \x7f\r\n\r\n",
    ];
    for buf in declined {
        let mut head = RequestHead::default();
        assert!(
            fast::request(buf, &request_limits(), &mut head).is_none(),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
    let mut tight = request_limits();
    tight.fields_count = 1;
    let two = b"GET / HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n";
    assert!(fast::request(two, &tight, &mut RequestHead::default()).is_none());
    tight = request_limits();
    tight.head_bytes = two.len() - 1;
    assert!(fast::request(two, &tight, &mut RequestHead::default()).is_none());
    tight = request_limits();
    tight.start_line_bytes = 13;
    assert!(fast::request(two, &tight, &mut RequestHead::default()).is_none());
    tight.start_line_bytes = 14;
    assert!(fast::request(two, &tight, &mut RequestHead::default()).is_some());
}

/// `parse_into` overwrites every field of a head that held another request,
/// on both paths.
#[test]
fn parse_into_reuses_a_dirty_head() {
    for prev in REQUESTS {
        for buf in REQUESTS {
            let want = incremental_request(buf);
            let mut p = RequestParser::new(Limits::default());
            let mut head = incremental_request(prev);
            assert_eq!(p.parse_into(buf, &mut head), Ok(ParseStatus::Complete(())));
            assert_eq!(head, want);
            let mut head = incremental_request(prev);
            assert_eq!(p.parse_into(&buf[..2], &mut head), Ok(ParseStatus::Partial));
            assert_eq!(p.parse_into(buf, &mut head), Ok(ParseStatus::Complete(())));
            assert_eq!(head, want);
        }
    }
    for prev in RESPONSES {
        for buf in RESPONSES {
            let mut p = ResponseParser::new(32 * 1024, 100);
            let want = match p.parse(buf, Method::Get) {
                Ok(ParseStatus::Complete(h)) => h,
                other => panic!("{other:?}"),
            };
            let mut head = match p.parse(prev, Method::Get) {
                Ok(ParseStatus::Complete(h)) => h,
                other => panic!("{other:?}"),
            };
            assert_eq!(
                p.parse_into(buf, Method::Get, &mut head),
                Ok(ParseStatus::Complete(()))
            );
            assert_eq!(head, want);
            assert_eq!(
                p.parse_into(&buf[..2], Method::Get, &mut head),
                Ok(ParseStatus::Partial)
            );
            assert_eq!(
                p.parse_into(buf, Method::Get, &mut head),
                Ok(ParseStatus::Complete(()))
            );
            assert_eq!(head, want);
        }
    }
}

/// Shapes the one-pass field line search and the vector Host check treat
/// apart: names longer than 16 bytes, names with other tchars, a control
/// byte or HTAB right after the ':' in the same 16 bytes, values that end
/// in the last < 16 bytes of the buffer, Host values with ports, odd bytes
/// or at the very end. Each fires on the fast path and gives what the
/// incremental path gives.
#[test]
fn fast_path_agrees_on_field_line_and_host_shapes() {
    let fired: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nhost:a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a:1\r\nX:\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a.b-c.D:65535\r\nX:\t\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: under_score.example:80\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a%41b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a-very-long-host-name.with.many.labels.example.org:8443\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Custom-Header-Long-Name: v\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Custom-Header-Lon: v\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nX_Under.Score~Name: v\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: \tb\t c\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nA:\tb\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nA-Long-Name-0123: x\tvalue with a tab, longer than sixteen\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
        b"GET /a HTTP/1.0\r\n\r\n",
        b"GET http://h:81/p HTTP/1.1\r\nHost: h\r\n\r\n",
    ];
    for buf in fired {
        let mut head = RequestHead::default();
        assert!(
            fast::request(buf, &request_limits(), &mut head).is_some(),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
        assert_eq!(head, incremental_request(buf));
        assert_eq!(
            parse_request_splits(buf, Limits::default()),
            Ok(ParseStatus::Complete(head))
        );
    }
    let declined: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a,b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
        b"GET / HTTP/1.1\r\nA:\x01b\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nA:b\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Custom-Header-Long-Name : v\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Custom-Header-Long\x01Name: v\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\n: v\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\rHost: h\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n",
    ];
    for buf in declined {
        let mut head = RequestHead::default();
        assert!(
            fast::request(buf, &request_limits(), &mut head).is_none(),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
        // The incremental path owns the answer; splitting must not change it.
        let _ = parse_request_splits(buf, Limits::default());
    }
}
