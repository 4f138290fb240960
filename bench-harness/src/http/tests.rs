use super::*;

/// Feeds `input` to a fresh decoder in two pieces, split at every byte.
fn chunked_end_at_every_split(input: &[u8]) -> Vec<Result<usize, FrameError>> {
    (0..=input.len())
        .map(|split| {
            let mut dec = ChunkedDecoder::default();
            let (a, done) = dec.feed(&input[..split])?;
            if done {
                return Ok(a);
            }
            let (b, done) = dec.feed(&input[split..])?;
            assert!(done, "split {split}: not done");
            Ok(split + b)
        })
        .collect()
}

#[test]
fn chunked_whole_and_split() {
    let body = b"5\r\nhello\r\n1;ext=1\r\n!\r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
    for r in chunked_end_at_every_split(body) {
        assert_eq!(r, Ok(body.len() - 4));
    }
}

#[test]
fn chunked_trailers() {
    let body = b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n";
    for r in chunked_end_at_every_split(body) {
        assert_eq!(r, Ok(body.len()));
    }
}

#[test]
fn chunked_rejects_garbage() {
    for bad in [
        &b"g\r\n"[..],
        b"\r\n",
        b"5\r\nhelloXX",
        b"5\n",
        b"fffffffffffffffff\r\n",
    ] {
        assert_eq!(
            ChunkedDecoder::default().feed(bad),
            Err(FrameError::BadChunk),
            "{bad:?}"
        );
    }
}

#[test]
fn request_head_basic() {
    let buf = b"POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET";
    let h = parse_request_head(buf).unwrap().unwrap();
    assert_eq!(&buf[h.path.clone()], b"/a/b?x=1");
    assert_eq!(h.head_len, buf.len() - 8);
    assert_eq!(h.body, Some(Body::Length(5)));
    assert!(h.keep_alive && !h.http10 && !h.is_head_method);
}

#[test]
fn request_head_partial_at_every_split() {
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    for split in 0..buf.len() {
        assert_eq!(parse_request_head(&buf[..split]), Ok(None), "split {split}");
    }
    assert!(parse_request_head(buf).unwrap().is_some());
}

#[test]
fn request_connection_semantics() {
    let h = parse_request_head(b"GET / HTTP/1.0\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(!h.keep_alive && h.http10);
    let h = parse_request_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(h.keep_alive && h.http10);
    let h = parse_request_head(b"HEAD / HTTP/1.1\r\nConnection: TE, close\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(!h.keep_alive && h.is_head_method);
}

#[test]
fn request_rejects_ambiguous_framing() {
    let both = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(parse_request_head(both), Err(FrameError::BadHead));
    let dup = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
    assert_eq!(parse_request_head(dup), Err(FrameError::BadHead));
    let gzip = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_eq!(parse_request_head(gzip), Err(FrameError::BadHead));
    assert_eq!(
        parse_request_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        Err(FrameError::BadHead)
    );
}

#[test]
fn response_head_variants() {
    let h = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", false)
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.status, h.body, h.close),
        (200, Some(Body::Length(13)), false)
    );
    let h = parse_response_head(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        false,
    )
    .unwrap()
    .unwrap();
    assert_eq!(h.body, Some(Body::Chunked));
    let h = parse_response_head(b"HTTP/1.0 404 Not Found\r\n\r\n", false)
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.status, h.body, h.close),
        (404, Some(Body::UntilClose), true)
    );
    let h = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true)
        .unwrap()
        .unwrap();
    assert_eq!(h.body, None);
    let h = parse_response_head(b"HTTP/1.1 204\r\nConnection: close\r\n\r\n", false)
        .unwrap()
        .unwrap();
    assert_eq!((h.status, h.body, h.close), (204, None, true));
    assert_eq!(
        parse_response_head(b"HTTP/2 200\r\n\r\n", false),
        Err(FrameError::BadHead)
    );
    assert_eq!(
        parse_response_head(b"HTTP/1.1 2x0 OK\r\n\r\n", false),
        Err(FrameError::BadHead)
    );
}

/// A pipelined stream of differently framed responses, delivered in two
/// pieces split at every byte, must yield the same statuses.
#[test]
fn framer_pipelined_at_every_split() {
    let stream: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
        HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
        HTTP/1.1 503 Busy\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
    let want = vec![(200, false), (404, false), (200, false), (503, true)];
    for split in 0..=stream.len() {
        assert_eq!(
            frame_all(&[&stream[..split], &stream[split..]]),
            want,
            "split {split}"
        );
    }
}

/// Drives a framer like the load generator does: keep unconsumed bytes,
/// append the next read, step again.
fn frame_all(pieces: &[&[u8]]) -> Vec<(u16, bool)> {
    let mut framer = ResponseFramer::default();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match framer.step(&buf, false).unwrap() {
                Step::Done {
                    consumed,
                    status,
                    close,
                } => {
                    buf.drain(..consumed);
                    out.push((status, close));
                }
                Step::NeedMore { consumed } => {
                    buf.drain(..consumed);
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn framer_until_close() {
    let mut f = ResponseFramer::default();
    let step = f.step(b"HTTP/1.0 200 OK\r\n\r\nsome body", false).unwrap();
    assert_eq!(step, Step::NeedMore { consumed: 28 });
    assert_eq!(f.eof(), Some(200));
    assert_eq!(f.eof(), None, "a second EOF is a cut, not a response");
}
