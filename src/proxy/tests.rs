//! The request phases driven through `serve` by a scripted client
//! (`scripted::Scripted`): admission's answers need no upstream at all;
//! forwarding and relaying talk to a loopback upstream that records what it
//! received. Responses are checked byte for byte.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;

use super::scripted::Scripted;
use super::serve;
use crate::config::Draft;
use crate::context::fds::FdBudget;
use crate::context::shutdown::Shutdown;
use crate::context::{CoreCtx, ListenerInfo, Shared};
use crate::ratelimit::broker::Broker;
use crate::snapshot::Snapshot;
use crate::stats::Stats;

const CLUSTER: &str = r#"
[[listener]]
name = "main"
address = "127.0.0.1:0"

[[cluster]]
name = "up"
endpoints = ["UPSTREAM"]
"#;

const ROUTES: &str = r#"
[[auth_policy]]
name = "keys"
api_key = { header = "X-API-Key" }

[[route]]
name = "orders"
cluster = "up"
path_prefix = "/orders"
methods = ["GET", "POST"]
max_body_bytes = "10B"

[[route]]
name = "admin"
cluster = "up"
path_prefix = "/admin"
auth = "keys"

[[rate_limit]]
name = "two"
key = ["route"]
algorithm = "fixed_window"
requests = 2
per = "60s"

[[route]]
name = "limited"
cluster = "up"
path_prefix = "/limited"
rate_limits = ["two"]
"#;

fn core_for(upstream: SocketAddr, extra: &str) -> Rc<CoreCtx> {
    let toml = CLUSTER.replace("UPSTREAM", &upstream.to_string()) + ROUTES + extra;
    let snapshot = Draft::parse(&toml)
        .and_then(|d| d.finish(|config| Snapshot::build(config, 1)))
        .expect("test config builds");
    let shared = Arc::new(Shared {
        generation: AtomicU64::new(snapshot.generation),
        snapshot: ArcSwap::from_pointee(snapshot),
        stats: Stats::new(1),
        shutdown: Shutdown::default(),
        broker: Broker::default(),
        redis: None,
        workers: 1,
        fd_budget: FdBudget::new(1024),
    });
    Rc::new(CoreCtx::new(0, shared))
}

fn listener() -> Rc<ListenerInfo> {
    Rc::new(ListenerInfo {
        name: "main".into(),
        addr: "127.0.0.1:8080".parse().unwrap(),
        index: 0,
        tls: false,
    })
}

/// Runs one client connection that sends `chunks` (one per read, then
/// closes) and returns everything the gateway wrote back.
fn converse<I: IntoIterator<Item = Vec<u8>>>(ctx: &Rc<CoreCtx>, chunks: I) -> String {
    let (stream, written) = Scripted::new(chunks);
    let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .expect("runtime");
    let peer: SocketAddr = "192.0.2.7:4321".parse().unwrap();
    rt.block_on(serve(ctx.clone(), stream, -1, peer, listener()));
    let out = written.borrow().clone();
    String::from_utf8(out).expect("responses are ASCII here")
}

fn whole(request: &str) -> Vec<Vec<u8>> {
    vec![request.as_bytes().to_vec()]
}

/// Every response in `out`, split at each status line.
fn responses(out: &str) -> Vec<&str> {
    out.match_indices("HTTP/1.1 ")
        .map(|(i, _)| i)
        .chain([out.len()])
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| &out[w[0]..w[1]])
        .collect()
}

fn status(response: &str) -> u16 {
    response[9..12].parse().expect("status code")
}

/// How many header lines named `name` (any case) the response has.
fn count(response: &str, name: &str) -> usize {
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .skip(1)
        .filter(|l| {
            l.split(':')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .count()
}

/// An address nothing listens on: admission answers before any connect.
fn no_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[test]
fn admission_answers_404_and_keeps_the_connection_for_the_next_request() {
    let ctx = core_for(no_upstream(), "");
    let req = "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n";
    let out = converse(&ctx, whole(&format!("{req}{req}")));
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    for r in rs {
        assert_eq!(status(r), 404, "{r}");
        assert!(r.ends_with(r#"{"error":"no_route","status":404}"#), "{r}");
        assert_eq!(count(r, "content-length"), 1, "{r}");
    }
}

#[test]
fn admission_answers_405_with_one_allow_header() {
    let ctx = core_for(no_upstream(), "");
    let out = converse(&ctx, whole("DELETE /orders/1 HTTP/1.1\r\nHost: t\r\n\r\n"));
    let rs = responses(&out);
    assert_eq!(rs.len(), 1, "{out}");
    assert_eq!(status(rs[0]), 405);
    assert!(rs[0].contains("\r\nAllow: GET, POST\r\n"), "{out}");
}

#[test]
fn admission_refuses_a_protected_route_without_a_key_and_a_body_over_the_limit() {
    let ctx = core_for(no_upstream(), "");
    let out = converse(&ctx, whole("GET /admin/x HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(status(responses(&out)[0]), 401, "{out}");
    let big = "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n01234567890";
    let out = converse(&ctx, whole(big));
    let rs = responses(&out);
    assert_eq!(rs.len(), 1, "{out}");
    assert_eq!(status(rs[0]), 413, "{out}");
    // The body was not read: the connection can't be trusted any more.
    assert_eq!(count(rs[0], "connection"), 1, "{out}");
    assert!(rs[0].contains("\r\nConnection: close\r\n"), "{out}");
}

#[test]
fn admission_answers_a_head_split_at_every_byte_the_same() {
    let ctx = core_for(no_upstream(), "");
    let req = "GET /a/../admin HTTP/1.1\r\nHost: t\r\n\r\n";
    let expected = converse(&ctx, whole(req));
    assert_eq!(status(&expected), 400, "{expected}");
    for split in 1..req.len() {
        let (a, b) = req.split_at(split);
        let got = converse(&ctx, [a.as_bytes().to_vec(), b.as_bytes().to_vec()]);
        assert_eq!(got, expected, "split at {split}");
    }
    let bytewise = converse(&ctx, req.bytes().map(|b| vec![b]));
    assert_eq!(bytewise, expected);
}

#[test]
fn the_third_request_over_a_limit_of_two_gets_429() {
    let ctx = core_for(no_upstream(), "");
    let req = "GET /limited HTTP/1.1\r\nHost: t\r\n\r\n";
    // Without an upstream the first two pass admission and fail to connect.
    let out = converse(&ctx, whole(&req.repeat(3)));
    let codes: Vec<u16> = responses(&out).into_iter().map(status).collect();
    assert_eq!(codes, [502, 502, 429], "{out}");
    let r429 = responses(&out)[2];
    assert_eq!(count(r429, "retry-after"), 1, "{r429}");
}

/// A loopback upstream that answers `responses` in turn on one connection
/// and hands back every byte it received.
fn upstream(responses: Vec<&'static str>) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        for r in responses {
            let seen = count_heads(&got);
            while count_heads(&got) == seen {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "gateway closed early");
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(r.as_bytes()).unwrap();
        }
        got
    });
    (addr, handle)
}

fn count_heads(bytes: &[u8]) -> usize {
    bytes.windows(4).filter(|w| w == b"\r\n\r\n").count()
}

#[test]
fn forwarding_and_relaying_go_through_a_real_upstream() {
    let (addr, up) = upstream(vec![
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ]);
    let ctx = core_for(addr, "");
    let out = converse(
        &ctx,
        whole(
            "GET /orders/1 HTTP/1.1\r\nHost: t\r\nConnection: x-drop\r\nX-Drop: 1\r\n\r\n\
             GET /orders/2 HTTP/1.1\r\nHost: t\r\n\r\n",
        ),
    );
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    assert!(rs[0].ends_with("\r\n\r\nhi"), "{out}");
    assert_eq!(count(rs[0], "content-length"), 1);
    assert!(rs[1].ends_with("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "{out}");
    let received = String::from_utf8(up.join().unwrap()).unwrap();
    // Both requests on one pooled connection, hop-by-hop fields removed.
    assert_eq!(received.matches("GET /orders/").count(), 2, "{received}");
    assert!(
        !received.to_ascii_lowercase().contains("x-drop"),
        "{received}"
    );
    assert_eq!(
        received.matches("X-Forwarded-For: 192.0.2.7\r\n").count(),
        2,
        "{received}"
    );
}
