//! Chunked bodies: whole, split in two at every point, and byte by byte;
//! data ranges concatenated must equal the decoded body, and `consumed`
//! must stop exactly at the end of the body when a next message follows.

use super::*;
use ChunkErrorKind::*;

type Decoded = Result<(Vec<u8>, usize), ChunkErrorKind>;

/// Feeds `pieces` in order; returns the data and the total bytes consumed.
fn feed_pieces(d: &mut ChunkedDecoder, pieces: &[&[u8]]) -> Decoded {
    let mut data = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        let p = d
            .feed(piece, |r| data.extend_from_slice(&piece[r]))
            .map_err(|e| e.kind)?;
        assert!(p.consumed <= piece.len());
        consumed += p.consumed;
        if p.done {
            assert!(d.is_done());
            return Ok((data, consumed));
        }
        assert_eq!(p.consumed, piece.len(), "not done but input left over");
    }
    panic!("input ended before the body did (test inputs are complete bodies or errors)");
}

fn decode_with(input: &[u8], max_body: u64, max_trailer: usize) -> Decoded {
    let new = || ChunkedDecoder::new(max_body, max_trailer);
    let whole = feed_pieces(&mut new(), &[input]);
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(
            feed_pieces(&mut new(), &[a, b]),
            whole,
            "split at {i}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed_pieces(&mut new(), &bytes), whole, "byte by byte");
    whole
}

fn decode(input: &[u8]) -> Decoded {
    decode_with(input, 0, 1024)
}

#[test]
fn valid_bodies() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (
            b"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
            b"0123456789abcdefghij",
        ),
        (b"0000000000000005\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=b\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b"5 ; a = b ; c\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\t;a\t=\t\"x\"\t;b\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=\"x y \\\" z;\\\\\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=\"\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=\"\xe9\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhe\r\nl\r\n0\r\n\r\n", b"he\r\nl"),
        (b"0\r\nFoo: bar\r\nBaz:\tq \r\n\r\n", b""),
        (b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nEmpty:\r\n\r\n", b"abc"),
    ];
    for (input, body) in cases {
        let (data, consumed) =
            decode(input).unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(input)));
        assert_eq!(data, *body, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(consumed, input.len());
    }
}

#[test]
fn stops_at_end_of_body() {
    let body = b"5\r\nhello\r\n0\r\nT: 1\r\n\r\n";
    let mut input = body.to_vec();
    input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n5\r\n");
    let (data, consumed) = decode(&input).unwrap();
    assert_eq!((data.as_slice(), consumed), (&b"hello"[..], body.len()));

    let mut d = ChunkedDecoder::new(0, 64);
    let p = d.feed(&input, |_| {}).unwrap();
    assert_eq!(
        p,
        ChunkProgress {
            consumed: body.len(),
            body_end: body.len() - b"T: 1\r\n\r\n".len(),
            done: true
        }
    );
    assert_eq!(d.data_bytes(), 5);
    // Once done, nothing more is consumed.
    assert_eq!(
        d.feed(b"xyz", |_| panic!()).unwrap(),
        ChunkProgress {
            consumed: 0,
            body_end: 0,
            done: true
        }
    );
}

#[test]
fn invalid_bodies() {
    let cases: &[(&[u8], ChunkErrorKind)] = &[
        (b"\r\n", InvalidSize),
        (b"0x10\r\n", InvalidSize),
        (b"-5\r\n", InvalidSize),
        (b"+5\r\n", InvalidSize),
        (b" 5\r\n", InvalidSize),
        (b"5 \r\nhello\r\n0\r\n\r\n", InvalidSize),
        (b"5 x\r\n", InvalidSize),
        (b"g\r\n", InvalidSize),
        (b"5\n", BareLf),
        (b"\n", BareLf),
        (b"5;a\n", BareLf),
        (b"5\rx", BareCr),
        (b"ffffffffffffffffff\r\n", SizeOverflow),
        (b"00000000000000005\r\n", SizeOverflow),
        (b"5;\r\n", InvalidExtension),
        (b"5;=b\r\n", InvalidExtension),
        (b"5;a=\r\n", InvalidExtension),
        (b"5;a b\r\n", InvalidExtension),
        (b"5;a=b \r\n", InvalidExtension),
        (b"5;a \r\n", InvalidExtension),
        (b"5;a=\"x\"y\r\n", InvalidExtension),
        (b"5;a=\"x\r\n", InvalidExtension),
        (b"5;a=\"x\x00\"\r\n", InvalidExtension),
        (b"5;a=b=c\r\n", InvalidExtension),
        (b"5;a@b\r\n", InvalidExtension),
        (b"5\r\nhelloX", MissingCrlf),
        (b"5\r\nhello\rX", MissingCrlf),
        (b"5\r\nhello\n", MissingCrlf),
        (b"5\r\nhello\r\r\n", MissingCrlf),
        (b"0\r\nFoo : bar\r\n\r\n", InvalidTrailer),
        (b"0\r\n folded\r\n\r\n", InvalidTrailer),
        (b"0\r\nFoo: a\x00\r\n\r\n", InvalidTrailer),
        (b"0\r\n: a\r\n\r\n", InvalidTrailer),
        (b"0\r\nFoo\r\n\r\n", InvalidTrailer),
        (b"0\r\nFoo: a\nb\r\n\r\n", BareLf),
        (b"0\r\n\n", BareLf),
        (b"0\r\nFoo: a\rb\r\n\r\n", BareCr),
        (b"0\r\n\rx", BareCr),
    ];
    for (input, want) in cases {
        assert_eq!(
            decode(input),
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn body_and_trailer_limits() {
    let two = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    assert_eq!(decode_with(two, 11, 0).unwrap().0, b"hello world");
    assert_eq!(decode_with(two, 10, 0), Err(BodyTooLarge));
    // The budget is checked when the size is known, before any of its data.
    let mut d = ChunkedDecoder::new(4, 0);
    assert_eq!(
        d.feed(b"5\r\n", |_| panic!("no data")).unwrap_err().kind,
        BodyTooLarge
    );
    // Sizes that overflow the running total with no limit set.
    let huge = b"ffffffffffffffff\r\n";
    let mut d = ChunkedDecoder::new(0, 0);
    assert_eq!(
        d.feed(huge, |_| {}).unwrap(),
        ChunkProgress {
            consumed: huge.len(),
            body_end: huge.len(),
            done: false
        }
    );
    let mut d = ChunkedDecoder::new(0, 0);
    let mut input = b"1\r\nx\r\n".to_vec();
    input.extend_from_slice(huge);
    assert_eq!(d.feed(&input, |_| {}).unwrap_err().kind, BodyTooLarge);

    let trailer = b"0\r\nAb: c\r\n\r\n"; // the field line with its CRLF is 7 bytes
    assert!(decode_with(trailer, 0, 7).is_ok());
    assert_eq!(decode_with(trailer, 0, 6), Err(TrailerTooLarge));
    assert!(decode_with(b"0\r\n\r\n", 0, 0).is_ok());

    let long_ext = format!("1;{}\r\nx\r\n0\r\n\r\n", "a".repeat(5000));
    assert_eq!(decode(long_ext.as_bytes()), Err(ExtensionTooLong));
}

#[test]
fn errors_are_sticky_and_have_status() {
    let mut d = ChunkedDecoder::new(0, 0);
    assert_eq!(d.feed(b"x", |_| {}).unwrap_err().kind, InvalidSize);
    assert_eq!(
        d.feed(b"5\r\nhello\r\n", |_| panic!()).unwrap_err().kind,
        InvalidSize
    );
    assert!(!d.is_done());
    let e = ChunkError { kind: BodyTooLarge };
    assert_eq!((e.status(), e.reason()), (413, "body_too_large"));
    let e = ChunkError { kind: SizeOverflow };
    assert_eq!((e.status(), e.reason()), (400, "chunk_size_overflow"));
}

#[test]
fn encoder_round_trip() {
    let mut out = Vec::new();
    for piece in [&b"hello"[..], &[b'x'; 300][..]] {
        write_chunk_header(piece.len(), &mut out);
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(LAST_CHUNK);
    let (data, consumed) = decode(&out).unwrap();
    assert_eq!(data.len(), 305);
    assert_eq!(consumed, out.len());
}

/// `body_end` marks where the trailer section starts under every split of
/// the input, so a relay can drop the trailers wherever reads end.
#[test]
fn body_end_stops_before_the_trailer_section_at_every_split() {
    let body = b"3;x=1\r\nabc\r\n0;e\r\nX-User-Id: admin\r\nB: 2\r\n\r\n";
    let trailer_at = body.len() - b"X-User-Id: admin\r\nB: 2\r\n\r\n".len();
    for split in 0..=body.len() {
        let mut d = ChunkedDecoder::new(0, 1024);
        let mut kept = Vec::new();
        for part in [&body[..split], &body[split..]] {
            let p = d.feed(part, |_| {}).unwrap();
            assert_eq!(p.consumed, part.len());
            kept.extend_from_slice(&part[..p.body_end]);
        }
        assert!(d.is_done() && d.has_trailer_fields(), "split {split}");
        assert_eq!(kept, &body[..trailer_at], "split {split}");
    }
    let mut d = ChunkedDecoder::new(0, 1024);
    let bare = b"1\r\nz\r\n0\r\n\r\n";
    let p = d.feed(bare, |_| {}).unwrap();
    assert_eq!((p.body_end, p.consumed), (bare.len() - 2, bare.len()));
    assert!(!d.has_trailer_fields());
}
