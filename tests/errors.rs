//! Every timeout and error status, and that one broken upstream or client
//! never stops the gateway serving everyone else.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::gateway::{config, simple_config};
use common::upstream::{respond, After};
use common::{Client, Gateway, Upstream};

const FAST_TIMEOUTS: &str =
    "[timeouts]\nclient_header = \"300ms\"\nclient_idle = \"400ms\"\nclient_body = \"300ms\"\n\
upstream_connect = \"300ms\"\nupstream_response_head = \"300ms\"\nupstream_idle = \"300ms\"\n";

fn dead_addr() -> SocketAddr {
    // Bind, learn the port, close: nothing listens there now.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn dead_upstream_gives_502_and_others_keep_being_served() {
    let live = Upstream::hello();
    let extra = format!(
        "[[cluster]]\nname = \"dead\"\nendpoints = [\"{}\"]\n\n[[route]]\nname = \"dead\"\ncluster = \"dead\"\npath_prefix = \"/dead\"\n\n\
         [[route]]\nname = \"live\"\ncluster = \"up\"\n",
        dead_addr()
    );
    let gw = Gateway::start(&config(&[live.addr], &extra));
    let mut c = Client::connect(gw.addr());
    let r = c.get("/dead/x");
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"], "upstream_connect_failed");
    assert_eq!(c.get("/live").status, 200, "same connection still served");
    assert_eq!(Client::connect(gw.addr()).get("/live").status, 200);
}

#[test]
fn upstream_connect_timeout_gives_504() {
    // A listener whose accept queue is full drops SYNs: connects hang.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    let gw = Gateway::start(&simple_config(&[addr], FAST_TIMEOUTS));
    let start = Instant::now();
    let r = Client::connect(gw.addr()).get("/");
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["error"], "upstream_connect_timeout");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn upstream_that_never_answers_gives_504() {
    let up = Upstream::start(|_req, _s| {
        std::thread::sleep(Duration::from_secs(3));
        After::Close
    });
    let gw = Gateway::start(&simple_config(&[up.addr], FAST_TIMEOUTS));
    let mut c = Client::connect(gw.addr());
    let r = c.get("/slow");
    assert_eq!(r.status, 504);
    assert_eq!(r.json()["error"], "upstream_timeout");
}

#[test]
fn upstream_stalling_mid_body_is_cut_off() {
    let up = Upstream::start(|_req, s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        std::thread::sleep(Duration::from_secs(3));
        After::Close
    });
    let gw = Gateway::start(&simple_config(&[up.addr], FAST_TIMEOUTS));
    let mut c = Client::connect(gw.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let start = Instant::now();
    let raw = c.read_to_end();
    assert!(
        raw.ends_with(b"partial"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "closed by upstream_idle, not by the upstream"
    );
}

#[test]
fn malformed_or_ambiguous_upstream_response_gives_502() {
    let up = Upstream::start(|req, s| {
        let bad: &[u8] = match req.path.as_str() {
            "/cl-te" => b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "/dup-cl" => b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "/garbage" => b"HTTP/1.1 2x0 OK\r\n\r\n",
            "/space" => b"HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 0\r\n\r\n",
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        };
        let _ = s.write_all(bad);
        After::Close
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    for path in ["/cl-te", "/dup-cl", "/garbage", "/space"] {
        let r = c.get(path);
        assert_eq!(r.status, 502, "{path}");
        assert_eq!(r.json()["error"], "upstream_bad_response", "{path}");
    }
    assert_eq!(c.get("/fine").text(), "ok");
}

#[test]
fn slow_client_head_gets_408_and_idle_client_is_closed() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], FAST_TIMEOUTS));
    let mut slow = Client::connect(gw.addr());
    slow.send(b"GET / HTTP/1.1\r\nHost:");
    let r = slow.read_response(false);
    assert_eq!(r.status, 408);
    assert!(slow.is_closed());

    let mut idle = Client::connect(gw.addr());
    assert_eq!(idle.get("/").status, 200);
    let start = Instant::now();
    assert!(idle.is_closed(), "idle keep-alive connection closed");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(up.request_count(), 1);
}

#[test]
fn slow_request_body_gets_408() {
    let up = Upstream::start(|_r, s| {
        respond(s, 200, &[], b"never");
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], FAST_TIMEOUTS));
    let mut c = Client::connect(gw.addr());
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    let r = c.read_response(false);
    assert_eq!(r.status, 408);
    assert!(c.is_closed());
}

#[test]
fn limits_give_413_414_431_and_version_and_coding_errors() {
    let up = Upstream::hello();
    let limits = "[limits]\nmax_request_line_bytes = \"1KiB\"\nmax_header_bytes = \"4KiB\"\nmax_headers_count = 20\nmax_body_bytes = \"1KiB\"\n";
    let gw = Gateway::start(&simple_config(&[up.addr], limits));
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(2000));
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(5000)
    );
    let many: String = (0..30).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many_headers = format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (long_target.into_bytes(), 414),
        (big_header.into_bytes(), 431),
        (many_headers.into_bytes(), 431),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n".to_vec(),
            413,
        ),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), 505),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            501,
        ),
        (
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec(),
            405,
        ),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET /a/../admin HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
    ];
    for (raw, status) in cases {
        let r = Client::connect(gw.addr()).request(&raw);
        assert_eq!(
            r.status,
            status,
            "{}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)])
        );
        assert_eq!(r.json()["status"], status);
    }
    // A chunked body over the limit is cut off as it streams.
    let mut c = Client::connect(gw.addr());
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(format!("800\r\n{}\r\n", "c".repeat(0x800)).as_bytes());
    assert_eq!(c.read_response(false).status, 413);
    assert_eq!(up.request_count(), 0, "none of these reached the upstream");
}

/// Asserts that no field name appears on two lines of `r`'s raw head, and
/// returns the head as text for the caller's exact checks.
fn assert_no_repeated_field(r: &common::client::Response) -> String {
    let head = String::from_utf8_lossy(&r.head_raw).into_owned();
    let names: Vec<String> = common::client::head_lines(&r.head_raw)
        .filter_map(common::client::field_name)
        .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
        .collect();
    for name in &names {
        assert_eq!(r.header_count(name), 1, "{name} repeated in:\n{head}");
    }
    head
}

/// 401, 405 and 429 over a real socket: each extra header (`WWW-Authenticate`,
/// `Allow`, `Retry-After`, `RateLimit-*`) is on exactly one line.
#[test]
fn error_responses_send_each_extra_header_once() {
    let up = Upstream::hello();
    let gw = Gateway::start(&config(
        &[up.addr],
        r#"
[[auth_policy]]
name = "keys"
api_key = { header = "X-API-Key" }

[[rate_limit]]
name = "one"
algorithm = "fixed_window"
requests = 1
per = "60s"

[[route]]
name = "keyed"
cluster = "up"
path_prefix = "/keyed"
auth = "keys"

[[route]]
name = "ro"
cluster = "up"
path_prefix = "/ro"
methods = ["GET"]

[[route]]
name = "limited"
cluster = "up"
path_prefix = "/limited"
rate_limits = ["one"]
"#,
    ));
    let mut c = Client::connect(gw.addr());

    let r = c.get("/keyed");
    assert_eq!(r.status, 401);
    assert_no_repeated_field(&r);
    assert_eq!(
        r.header_lines("www-authenticate"),
        ["WWW-Authenticate: Bearer realm=\"ringgate\""]
    );

    let r = c.request(b"DELETE /ro HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_no_repeated_field(&r);
    assert_eq!(r.header_lines("allow"), ["Allow: GET"]);

    assert_eq!(c.get("/limited").status, 200);
    let r = c.get("/limited");
    assert_eq!(r.status, 429);
    assert_no_repeated_field(&r);
    for name in [
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    ] {
        assert_eq!(r.header_count(name), 1, "{name}");
    }
    assert_eq!(
        r.header_lines("ratelimit-remaining"),
        ["RateLimit-Remaining: 0"]
    );
    assert_eq!(up.request_count(), 1);
}
