//! Request-smuggling shapes: each is answered 400 (or 501) and not one byte
//! of it reaches the upstream, whole or split.

mod common;

use common::gateway::simple_config;
use common::{Client, Gateway, Upstream};

const SHAPES: &[(&str, &[u8])] = &[
    ("CL+TE", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE+CL", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"),
    ("duplicate differing CL", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
    ("CL list differing", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4, 5\r\n\r\nabcde"),
    ("CL with sign", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +4\r\n\r\nabcd"),
    ("CL hex", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x4\r\n\r\nabcd"),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
    ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\na\r\n0\r\n\r\n"),
    ("negative chunk size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\na\r\n0\r\n\r\n"),
    ("chunk data too long", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n"),
    ("space before colon", b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n"),
    ("tab before colon", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length\t: 0\r\n\r\n"),
    ("bare LF line ending", b"GET / HTTP/1.1\nHost: t\n\n"),
    ("bare LF in header", b"GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n"),
    ("bare CR in header", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"),
    ("NUL in header", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"),
    ("TE not chunked last", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
    ("TE xchunked", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("space in target", b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("double space", b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("lowercase version", b"GET / http/1.1\r\nHost: t\r\n\r\n"),
    ("header name with space", b"GET / HTTP/1.1\r\nHost: t\r\nX A: b\r\n\r\n"),
];

fn expect_rejected(gw: &Gateway, up: &Upstream, name: &str, raw: &[u8]) {
    let r = Client::connect(gw.addr()).request(raw);
    assert!(matches!(r.status, 400 | 501), "{name}: got {}", r.status);
    assert_eq!(
        r.header("connection"),
        Some("close"),
        "{name}: must close after a bad request"
    );
    assert_eq!(up.raw_bytes(), 0, "{name}: bytes reached the upstream");
}

#[test]
fn smuggling_shapes_never_reach_the_upstream() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    for (name, raw) in SHAPES {
        expect_rejected(&gw, &up, name, raw);
    }
}

/// Shapes whose fault is in the chunked body, not the head.
const BODY_FAULTS: &[&str] = &[
    "bad chunk size",
    "chunk size overflow",
    "negative chunk size",
    "chunk data too long",
];

#[test]
fn smuggling_shapes_split_across_writes_are_rejected_too() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    for (name, raw) in SHAPES {
        // Split at a few points, including inside the offending bytes.
        for split in [1, raw.len() / 3, raw.len() / 2, raw.len() - 1] {
            let before = up.raw_bytes();
            let mut c = Client::connect(gw.addr());
            c.send(&raw[..split]);
            c.stream.flush_hint();
            c.send(&raw[split..]);
            let r = c.read_response(false);
            assert!(
                matches!(r.status, 400 | 501),
                "{name} split at {split}: got {}",
                r.status
            );
            if !BODY_FAULTS.contains(name) {
                assert_eq!(
                    up.raw_bytes(),
                    before,
                    "{name} split at {split}: bytes reached the upstream"
                );
            }
        }
    }
    // A chunked body is streamed, so when its head arrived alone the upstream
    // may have seen the head and the valid chunks before the fault — but
    // never the faulty bytes, and never a complete request: the upstream
    // connection is dropped at the fault.
    assert_eq!(up.request_count(), 0);
}

#[test]
fn a_valid_request_after_a_smuggling_attempt_on_a_new_connection_works() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    expect_rejected(&gw, &up, "CL+TE", SHAPES[0].1);
    assert_eq!(Client::connect(gw.addr()).get("/ok").status, 200);
    assert_eq!(up.request_count(), 1);
}

trait FlushHint {
    fn flush_hint(&self);
}
impl FlushHint for std::net::TcpStream {
    /// Lets the first piece travel alone (TCP_NODELAY is set) so the gateway
    /// sees the split; the assertions hold whether or not it does.
    fn flush_hint(&self) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn each_rejection_is_counted_by_reason_in_metrics() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(
        &[up.addr],
        "[admin]\naddress = \"127.0.0.1:0\"\n",
    ));
    expect_rejected(&gw, &up, "CL+TE", SHAPES[0].1);
    expect_rejected(
        &gw,
        &up,
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n",
    );
    expect_rejected(
        &gw,
        &up,
        "obs-fold again",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-B: b\r\n\tc\r\n\r\n",
    );
    assert_eq!(
        gw.metric("ringgate_rejected_total{reason=\"content_length_with_transfer_encoding\"}"),
        1
    );
    assert_eq!(gw.metric("ringgate_rejected_total{reason=\"obs_fold\"}"), 2);
    assert_eq!(gw.metric("ringgate_responses_total{class=\"4xx\"}"), 3);
    assert_eq!(gw.metric("ringgate_rejected_total{reason=\"other\"}"), 0);
    assert_eq!(Client::connect(gw.addr()).get("/fine").status, 200);
    assert_eq!(
        gw.metric("ringgate_requests_total"),
        1,
        "only parsed heads count as requests"
    );
    assert_eq!(gw.metric("ringgate_responses_total{class=\"2xx\"}"), 1);
}
