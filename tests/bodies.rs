//! Body framing both ways: Content-Length (one canonical line whatever the
//! sender wrote), chunked (verbatim with extensions; request trailers
//! dropped, response trailers kept), read-until-close upstreams, and
//! 100 MiB streams that must pass through in constant memory.

mod common;

use std::io::{Read, Write};

use common::gateway::simple_config;
use common::upstream::{fnv, respond, After, FNV_START};
use common::{Client, Gateway, Upstream};

#[test]
fn chunked_request_body_is_forwarded_chunked_and_intact() {
    let up = Upstream::start(|req, s| {
        respond(
            s,
            200,
            &[],
            format!("{}:{}", req.chunked, String::from_utf8_lossy(&req.body)).as_bytes(),
        );
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.request(
        b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1\r\nhello\r\n1;name=\"quoted value\"\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert_eq!(r.text(), "true:hello world");
    // Chunks and extensions as sent; the trailer section emptied.
    assert_eq!(
        String::from_utf8_lossy(up.requests()[0].raw_body()),
        "5;ext=1\r\nhello\r\n1;name=\"quoted value\"\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
    );
    // The connection is in sync afterwards.
    assert_eq!(
        c.request(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n").status,
        200
    );
}

#[test]
fn chunked_response_reaches_http11_verbatim_and_http10_decoded() {
    let up = Upstream::start(|_req, s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nTrailer-A: 1\r\n\r\n");
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.get("/x");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "abcdefg");
    assert_eq!(
        c.get("/y").text(),
        "abcdefg",
        "keep-alive after a chunked response"
    );

    let mut c10 = Client::connect(gw.addr());
    c10.send(b"GET /z HTTP/1.0\r\n\r\n");
    let raw = c10.read_to_end();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "{head}"
    );
    assert_eq!(body, "abcdefg");
}

#[test]
fn read_until_close_response_is_rechunked_for_http11() {
    let up = Upstream::start(|_req, s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstreamed until close");
        After::Close
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.get("/");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "streamed until close");
    assert_eq!(
        c.get("/again").text(),
        "streamed until close",
        "client kept alive"
    );
}

/// The gateway's peak resident memory, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

const HUNDRED_MIB: u64 = 100 << 20;

#[test]
fn hundred_mib_upload_and_download_stream_in_flat_memory() {
    let up = Upstream::start(|req, s| {
        if req.method == "POST" {
            respond(
                s,
                200,
                &[],
                format!("{} {:x}", req.body_len, req.body_hash).as_bytes(),
            );
        } else {
            let _ = s.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {HUNDRED_MIB}\r\n\r\n").as_bytes(),
            );
            let block = vec![b'd'; 1 << 16];
            for _ in 0..(HUNDRED_MIB >> 16) {
                if s.write_all(&block).is_err() {
                    return After::Close;
                }
            }
        }
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(
        &[up.addr],
        "[limits]\nmax_body_bytes = \"200MiB\"\n",
    ));
    let mut c = Client::connect(gw.addr());

    // Upload, chunked, 1 MiB per chunk.
    c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let block = vec![b'u'; 1 << 20];
    let mut hash = FNV_START;
    for _ in 0..100 {
        c.send(b"100000\r\n");
        c.send(&block);
        c.send(b"\r\n");
        hash = fnv(hash, &block);
    }
    c.send(b"0\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.text(), format!("{HUNDRED_MIB} {hash:x}"));

    // Download, counted as it streams.
    c.send(b"GET /down HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        c.stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"));
    let mut left = HUNDRED_MIB;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = c.stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed with {left} bytes left");
        assert!(buf[..n].iter().all(|&b| b == b'd'));
        left -= n as u64;
    }
    let peak = peak_rss_kib(gw.child.id());
    assert!(
        peak < 64 * 1024,
        "gateway peak RSS {peak} KiB: bodies were buffered"
    );
}

#[test]
fn content_length_request_body_streams_and_connection_stays_in_sync() {
    let up = Upstream::start(|req, s| {
        respond(s, 200, &[], &req.body);
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let body = vec![b'z'; 300_000];
    c.send(
        format!(
            "PUT /b HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    // Trickle it in pieces, pipelining the next request right behind it.
    for piece in body.chunks(70_001) {
        c.send(piece);
    }
    c.send(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response(false).body, body);
    assert_eq!(c.read_response(false).status, 200);
}

/// The `Content-Length` field lines of a raw head.
fn content_length_lines(head: &[u8]) -> Vec<String> {
    common::client::head_lines(head)
        .filter(|l| {
            common::client::field_name(l).is_some_and(|n| n.eq_ignore_ascii_case(b"content-length"))
        })
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

/// A list-valued, repeated or zero-padded Content-Length reaches the
/// upstream as exactly one `Content-Length: 5` line, and the body intact.
#[test]
fn request_content_length_is_forwarded_as_one_canonical_line() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let variants = [
        "Content-Length: 5, 5\r\n",
        "Content-Length: 5\r\nContent-Length: 5\r\n",
        "Content-Length: 005\r\n",
        "content-length:5\r\n",
    ];
    for cl in variants {
        let r = c.request(format!("POST /cl HTTP/1.1\r\nHost: t\r\n{cl}\r\nhello").as_bytes());
        assert_eq!(r.status, 200, "{cl:?}");
    }
    let reqs = up.requests();
    assert_eq!(reqs.len(), variants.len());
    for (req, cl) in reqs.iter().zip(variants) {
        assert_eq!(
            content_length_lines(req.raw_head()),
            ["Content-Length: 5"],
            "{cl:?}"
        );
        assert_eq!(req.raw_body(), b"hello", "{cl:?}");
    }
}

/// An upstream's `Content-Length: 2, 2` (or two equal lines, or `002`)
/// reaches the client as one `Content-Length: 2`; HEAD answers too.
#[test]
fn response_content_length_is_relayed_as_one_canonical_line() {
    let up = Upstream::start(|req, s| {
        let cl = match req.path.as_str() {
            "/list" => "Content-Length: 2, 2\r\n",
            "/twice" => "Content-Length: 2\r\nContent-Length: 2\r\n",
            _ => "Content-Length: 002\r\n",
        };
        let body = if req.method == "HEAD" { "" } else { "ok" };
        let _ = s.write_all(format!("HTTP/1.1 200 OK\r\n{cl}\r\n{body}").as_bytes());
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    for path in ["/list", "/twice", "/padded"] {
        let r = c.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            content_length_lines(&r.head_raw),
            ["Content-Length: 2"],
            "{path}"
        );
        assert_eq!(r.text(), "ok");
        let r = c.request(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_eq!(
            content_length_lines(&r.head_raw),
            ["Content-Length: 2"],
            "HEAD {path}"
        );
    }
    // The connection stayed in sync through all of it.
    assert_eq!(c.get("/padded").text(), "ok");
}
