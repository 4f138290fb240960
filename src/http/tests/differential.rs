//! Property tests: agreement with httparse on generated valid heads, split
//! invariance on generated and mutated heads, and no panics on garbage.

use super::*;
use proptest::prelude::*;

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("PUT".to_string()),
        Just("DELETE".to_string()),
        Just("PATCH".to_string()),
        Just("HEAD".to_string()),
        Just("OPTIONS".to_string()),
        "[A-Za-z0-9!#$&'*+.^_`|~-]{1,12}",
    ]
}

/// Origin-form targets from pchar minus '%' (httparse does not check
/// percent-encoding, we do), plus an optional query.
fn target() -> impl Strategy<Value = String> {
    "/[A-Za-z0-9/._~!$&'()*+,;=:@-]{0,40}(\\?[A-Za-z0-9=&/?._~-]{0,20})?"
}

/// Names prefixed with "x-" so none is a field with framing semantics.
fn field() -> impl Strategy<Value = (String, String)> {
    (
        "x-[A-Za-z0-9!#$%&'*+.^_`|~-]{0,18}",
        "([\\x21-\\x7e]([\\x20-\\x7e]{0,38}[\\x21-\\x7e])?)?",
    )
}

fn request(
    max_fields: usize,
) -> impl Strategy<Value = (String, String, u8, Vec<(String, String)>)> {
    (
        method(),
        target(),
        0u8..2,
        proptest::collection::vec(field(), 0..max_fields),
    )
}

fn render(m: &str, t: &str, minor: u8, fields: &[(String, String)]) -> Vec<u8> {
    let mut s = format!("{m} {t} HTTP/1.{minor}\r\nHost: example.com\r\n");
    for (n, v) in fields {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn complete(buf: &[u8]) -> RequestHead {
    match RequestParser::new(Limits::default()).parse(buf) {
        Ok(ParseStatus::Complete(h)) => h,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

/// What an accepted head guarantees, checked byte by byte (an oracle for
/// the scanner's "clean head" shortcut, which skips re-validating values).
fn assert_fields_valid(buf: &[u8], headers: &[Header]) {
    for h in headers {
        let name = h.name.get(buf);
        assert!(!name.is_empty());
        assert!(name
            .iter()
            .all(|&b| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b)));
        let line = h.line.get(buf);
        assert!(
            line.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
            "{line:?}"
        );
        let value = h.value.get(buf);
        assert!(!value.starts_with(b" ") && !value.ends_with(b" ") && !value.starts_with(b"\t"));
    }
}

proptest! {
    #[test]
    fn agrees_with_httparse((m, t, minor, fields) in request(41)) {
        let buf = render(&m, &t, minor, &fields);
        let h = complete(&buf);
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Request::new(&mut slots);
        let len = match r.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => len,
            other => panic!("httparse: {other:?}"),
        };
        prop_assert_eq!(h.head_len, len);
        prop_assert_eq!(h.method_span.get(&buf), r.method.unwrap().as_bytes());
        prop_assert_eq!(h.target.get(&buf), r.path.unwrap().as_bytes());
        prop_assert_eq!(h.version == Version::Http11, r.version == Some(1));
        prop_assert_eq!(h.headers.len(), r.headers.len());
        for (ours, theirs) in h.headers.iter().zip(r.headers.iter()) {
            prop_assert_eq!(ours.name.get(&buf), theirs.name.as_bytes());
            prop_assert_eq!(ours.value.get(&buf), theirs.value);
        }
        let path = t.split('?').next().unwrap();
        prop_assert_eq!(h.path.get(&buf), path.as_bytes());
    }

    #[test]
    fn valid_heads_are_split_invariant((m, t, minor, fields) in request(6)) {
        let buf = render(&m, &t, minor, &fields);
        prop_assert!(matches!(parse_request_splits(&buf, Limits::default()), Ok(ParseStatus::Complete(_))));
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Corrupting bytes of a valid head must give an error or a head, never a
    /// panic, and the same answer however the input is split.
    #[test]
    fn mutated_heads_are_split_invariant(
        (m, t, minor, fields) in request(6),
        edits in proptest::collection::vec((any::<usize>(), prop_oneof![
            Just(b'\r'), Just(b'\n'), Just(b' '), Just(b'\t'), Just(b':'), Just(0u8), any::<u8>()
        ]), 1..4),
    ) {
        let mut buf = render(&m, &t, minor, &fields);
        for (at, b) in edits {
            let i = at % buf.len();
            buf[i] = b;
        }
        let small = Limits { max_request_line_bytes: 40, max_header_bytes: 200, max_headers_count: 4 };
        let _ = parse_request_splits(&buf, small);
        if let Ok(ParseStatus::Complete(h)) = parse_request_splits(&buf, Limits::default()) {
            assert_fields_valid(&buf, &h.headers);
        }
        if let Ok(ParseStatus::Complete(h)) = parse_response_splits(&buf, Method::Get, 200) {
            assert_fields_valid(&buf, &h.headers);
        }
    }

}

proptest! {
    #[test]
    fn garbage_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = RequestParser::new(Limits::default()).parse(&buf);
        let _ = ResponseParser::new(32 * 1024, 100).parse(&buf, Method::Get);
        let mut d = ChunkedDecoder::new(1 << 20, 256);
        if let Ok(p) = d.feed(&buf, |r| assert!(r.end <= buf.len())) {
            prop_assert!(p.consumed <= buf.len());
        }
    }

    #[test]
    fn garbage_with_http_shape_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just(&b"\r\n"[..]), Just(&b"GET / HTTP/1.1"[..]), Just(&b"HTTP/1.1 200 OK"[..]),
            Just(&b"Host: a"[..]), Just(&b"Content-Length: 5"[..]), Just(&b"Transfer-Encoding: chunked"[..]),
            Just(&b":"[..]), Just(&b" "[..]), Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"0\r\n"[..]),
            Just(&b";a=\"b\""[..]), Just(&b"5"[..]), Just(&b"hello"[..]),
        ], 0..40)
    ) {
        let buf = parts.concat();
        let _ = parse_request_splits(&buf, Limits::default());
        let _ = ResponseParser::new(1024, 10).parse(&buf, Method::Head);
        let mut d = ChunkedDecoder::new(0, 64);
        let _ = d.feed(&buf, |_| {});
    }

    /// Encoded random chunks decode to the same bytes under any two-way split.
    #[test]
    fn chunked_round_trip(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..6),
        ext in prop_oneof![Just(""), Just(";a"), Just(" ; a = \"q\\\"x\" ; b=c")],
        split in any::<usize>(),
    ) {
        let mut enc = Vec::new();
        for c in &chunks {
            enc.extend_from_slice(format!("{:X}{ext}\r\n", c.len()).as_bytes());
            enc.extend_from_slice(c);
            enc.extend_from_slice(b"\r\n");
        }
        enc.extend_from_slice(b"0\r\nX: y\r\n\r\nNEXT");
        let split = split % (enc.len() + 1);
        let (a, b) = enc.split_at(split);
        let mut d = ChunkedDecoder::new(0, 64);
        let mut data = Vec::new();
        let p1 = d.feed(a, |r| data.extend_from_slice(&a[r])).unwrap();
        let consumed = if p1.done {
            p1.consumed
        } else {
            a.len() + d.feed(b, |r| data.extend_from_slice(&b[r])).unwrap().consumed
        };
        prop_assert!(d.is_done());
        prop_assert_eq!(consumed, enc.len() - 4);
        prop_assert_eq!(data, chunks.concat());
    }
}
