//! `ringbench origin` over real sockets, driven by a plain std client.

mod common;

use common::{connect, exchange_until_close, split_response, Origin};
use std::io::{Read, Write};

#[test]
fn default_response_is_hello_world() {
    let origin = Origin::start(&[]);
    let raw = exchange_until_close(
        origin.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Length: 13\r\n") && head.contains("Connection: close\r\n"),
        "{head}"
    );
    assert_eq!(body, b"Hello, World!");
}

#[test]
fn echo_returns_the_request_head_exactly() {
    let origin = Origin::start(&["--echo", "--header", "X-Origin:test"]);
    let request = b"GET /some/path?q=1 HTTP/1.1\r\nHost: example\r\nX-Weird-Case: MiXeD  value\r\nConnection: close\r\n\r\n";
    let (head, body) = split_response(&exchange_until_close(origin.addr, request));
    assert!(head.contains("X-Origin: test\r\n"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {}\r\n", request.len())),
        "{head}"
    );
    assert_eq!(body, request.to_vec());
}

#[test]
fn status_and_bytes_paths() {
    let origin = Origin::start(&[]);
    let raw = exchange_until_close(
        origin.addr,
        b"GET /status/418 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(
        raw.starts_with(b"HTTP/1.1 418 "),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let raw = exchange_until_close(
        origin.addr,
        b"GET /bytes/100000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = split_response(&raw);
    assert!(head.contains("Content-Length: 100000\r\n"), "{head}");
    assert_eq!(body, vec![b'x'; 100_000]);
}

#[test]
fn chunked_mode_frames_the_body() {
    let origin = Origin::start(&["--chunked", "--chunk-size", "5"]);
    let raw = exchange_until_close(
        origin.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = split_response(&raw);
    assert!(
        head.contains("Transfer-Encoding: chunked\r\n") && !head.contains("Content-Length"),
        "{head}"
    );
    assert_eq!(body, b"5\r\nHello\r\n5\r\n, Wor\r\n3\r\nld!\r\n0\r\n\r\n");
}

/// Pipelined requests on one keep-alive connection, with a chunked and a
/// Content-Length request body in between, are answered in order.
#[test]
fn keep_alive_pipelining_and_request_bodies() {
    let origin = Origin::start(&[]);
    let mut s = connect(origin.addr);
    let requests = "POST /status/201 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n\
        PUT /status/202 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz\
        GET /status/404 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    // Send in two pieces split inside a body to exercise partial reads.
    let (a, b) = requests.as_bytes().split_at(60);
    s.write_all(a).unwrap();
    s.flush().unwrap();
    s.write_all(b).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let statuses: Vec<&str> = raw
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &raw[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["201", "202", "404"], "{raw}");
}

#[test]
fn http10_closes_unless_keep_alive_requested() {
    let origin = Origin::start(&[]);
    let raw = exchange_until_close(origin.addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(split_response(&raw).0.contains("Connection: close\r\n"));
    let mut s = connect(origin.addr);
    s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.contains("Connection: keep-alive\r\n"), "{text}");
}

#[test]
fn malformed_request_gets_400() {
    let origin = Origin::start(&[]);
    let raw = exchange_until_close(origin.addr, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    assert!(
        raw.starts_with(b"HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn slow_drip_still_delivers_the_whole_response() {
    let origin = Origin::start(&["--fault", "slow-drip", "--drip-interval", "1ms"]);
    let raw = exchange_until_close(
        origin.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"Hello, World!");
}
