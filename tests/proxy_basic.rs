//! Forwarding basics over real sockets: keep-alive, pipelining, routing,
//! forwarded and hop-by-hop headers, HTTP/1.0, HEAD, 100-continue.

mod common;

use common::gateway::{config, simple_config};
use common::upstream::{respond, After};
use common::{Client, Gateway, Upstream};

#[test]
fn keep_alive_reuses_client_and_upstream_connections() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    for i in 0..20 {
        let r = c.get(&format!("/n/{i}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("hello from /n/{i}"));
        assert_eq!(
            r.header("connection"),
            None,
            "1.1 keep-alive needs no Connection header"
        );
    }
    assert_eq!(up.request_count(), 20);
    assert!(
        up.connections() <= 2,
        "upstream connections pooled, got {}",
        up.connections()
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let up = Upstream::start(|req, s| {
        // Answer the first request slowest, to prove ordering is kept.
        if req.path == "/p/0" {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        respond(s, 200, &[], req.path.as_bytes());
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let mut batch = Vec::new();
    for i in 0..10 {
        batch.extend_from_slice(format!("GET /p/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    c.send(&batch);
    for i in 0..10 {
        let r = c.read_response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("/p/{i}"));
    }
}

#[test]
fn routes_by_host_path_method_and_header_with_rewrites() {
    let a = Upstream::start(|req, s| {
        respond(
            s,
            200,
            &[],
            format!("a {} {}", req.method, req.path).as_bytes(),
        );
        After::KeepAlive
    });
    let b = Upstream::start(|req, s| {
        respond(
            s,
            200,
            &[],
            format!("b {} {}", req.method, req.path).as_bytes(),
        );
        After::KeepAlive
    });
    let extra = format!(
        r#"
[[cluster]]
name = "b"
endpoints = ["{}"]

[[route]]
name = "api"
cluster = "b"
hosts = ["api.example.com"]
path_prefix = "/api"
strip_prefix = true

[[route]]
name = "users"
cluster = "b"
path_template = "/users/{{id}}"
methods = ["GET"]
rewrite = "/internal/users/{{id}}"

[[route]]
name = "canary"
cluster = "b"
path_prefix = "/"
headers = [{{ name = "x-canary", value = "1" }}]

[[route]]
name = "wild"
cluster = "b"
hosts = ["*.example.org"]
path_exact = "/only"
rewrite = "/rewritten"

[[route]]
name = "fallback"
cluster = "up"
"#,
        b.addr
    );
    let gw = Gateway::start(&config(&[a.addr], &extra));
    let mut c = Client::connect(gw.addr());
    let get = |c: &mut Client, host: &str, path: &str, extra: &str| {
        c.request(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").as_bytes())
            .text()
    };
    assert_eq!(
        get(&mut c, "api.example.com", "/api/v1/x?q=1", ""),
        "b GET /v1/x?q=1"
    );
    assert_eq!(get(&mut c, "API.Example.com:8080", "/api", ""), "b GET /");
    assert_eq!(get(&mut c, "other", "/api/v1", ""), "a GET /api/v1");
    assert_eq!(
        get(&mut c, "x", "/users/42", ""),
        "b GET /internal/users/42"
    );
    assert_eq!(
        get(&mut c, "x", "/users/42/more", ""),
        "a GET /users/42/more"
    );
    assert_eq!(
        get(&mut c, "x", "/anything", "X-Canary: 1\r\n"),
        "b GET /anything"
    );
    assert_eq!(
        get(&mut c, "a.b.example.org", "/only", ""),
        "b GET /rewritten"
    );
    assert_eq!(get(&mut c, "example.org", "/only", ""), "a GET /only");
    let post = c.request(b"POST /users/42 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(post.text(), "a POST /users/42", "method set excludes POST");
}

#[test]
fn unmatched_request_gets_404_json_and_connection_stays_open() {
    let up = Upstream::hello();
    let cfg = config(
        &[up.addr],
        "[[route]]\nname = \"only\"\ncluster = \"up\"\npath_exact = \"/here\"\n",
    );
    let gw = Gateway::start(&cfg);
    let mut c = Client::connect(gw.addr());
    let r = c.get("/elsewhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["status"], 404);
    assert_eq!(c.get("/here").status, 200, "keep-alive after a 404");
    assert_eq!(up.request_count(), 1);
}

#[test]
fn forwarded_headers_added_and_hop_by_hop_removed() {
    let up = Upstream::start(|_req, s| {
        respond(
            s,
            200,
            &[
                ("Connection", "keep-alive, X-Secret-Hop"),
                ("Keep-Alive", "timeout=5"),
                ("X-Secret-Hop", "1"),
                ("X-Kept", "yes"),
            ],
            b"ok",
        );
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.request(
        b"GET /h HTTP/1.1\r\nHost: front.example\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\n\
          Keep-Alive: 300\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-Forwarded-For: 10.9.8.7\r\n\
          X-Forwarded-Proto: gopher\r\nX-Custom: kept\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-kept"), Some("yes"));
    for hop in ["keep-alive", "x-secret-hop"] {
        assert_eq!(r.header(hop), None, "response hop-by-hop {hop} leaked");
    }
    let req = &up.requests()[0];
    assert_eq!(req.header("x-custom"), Some("kept"));
    assert_eq!(req.header("host"), Some("front.example"));
    for hop in [
        "connection",
        "x-drop-me",
        "keep-alive",
        "te",
        "proxy-authorization",
    ] {
        assert_eq!(req.header(hop), None, "request hop-by-hop {hop} leaked");
    }
    assert_eq!(req.header("x-forwarded-for"), Some("10.9.8.7, 127.0.0.1"));
    assert_eq!(req.header_count("x-forwarded-for"), 1);
    assert_eq!(req.header("x-forwarded-proto"), Some("http"));
    assert_eq!(req.header("x-forwarded-host"), Some("front.example"));
}

#[test]
fn rfc7239_forwarded_and_none_modes() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(
        &[up.addr],
        "[proxy]\nforwarded_headers = \"forwarded\"\nadd_via = true\n",
    ));
    let r = Client::connect(gw.addr())
        .request(b"GET / HTTP/1.1\r\nHost: h:81\r\nForwarded: for=1.2.3.4\r\n\r\n");
    assert_eq!(r.header("via"), Some("1.1 ringgate"));
    let req = &up.requests()[0];
    assert_eq!(
        req.header("forwarded"),
        Some("for=1.2.3.4, for=127.0.0.1;proto=http;host=\"h:81\"")
    );
    assert_eq!(req.header("x-forwarded-for"), None);

    let up2 = Upstream::hello();
    let gw2 = Gateway::start(&simple_config(
        &[up2.addr],
        "[proxy]\nforwarded_headers = \"none\"\n",
    ));
    Client::connect(gw2.addr()).get("/");
    let req = &up2.requests()[0];
    assert_eq!(req.header("x-forwarded-for"), None);
    assert_eq!(req.header("forwarded"), None);
}

#[test]
fn http10_clients_get_close_by_default_and_keep_alive_on_request() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.request(b"GET /a HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());

    let mut c = Client::connect(gw.addr());
    let r = c.request(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.header("connection"), Some("keep-alive"));
    assert_eq!(
        c.request(b"GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .text(),
        "hello from /c"
    );
    // The upstream always gets HTTP/1.1, so always a Host: the endpoint's
    // when the 1.0 client sent none.
    assert!(up.requests().iter().all(|r| r.version == 1));
    assert_eq!(
        up.requests()[0].header("host"),
        Some(up.addr.to_string().as_str())
    );
    assert_eq!(up.requests()[0].header_count("host"), 1);
}

#[test]
fn connection_close_from_client_closes_after_response() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.request(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
}

#[test]
fn head_204_and_304_have_no_body() {
    let up = Upstream::start(|req, s| {
        use std::io::Write;
        let _ = match req.path.as_str() {
            "/204" => s.write_all(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
            "/304" => s.write_all(b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
            _ => s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
                .and_then(|_| {
                    if req.method != "HEAD" {
                        s.write_all(b"hello")
                    } else {
                        Ok(())
                    }
                }),
        };
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.request(b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some("5"),
        "HEAD keeps the length"
    );
    assert_eq!(c.get("/204").status, 204);
    assert_eq!(c.get("/304").status, 304);
    // If any of those leaked body bytes, this response would be garbled.
    assert_eq!(c.get("/x").text(), "hello");
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let up = Upstream::start(|req, s| {
        respond(s, 200, &[], format!("got {}", req.body_len).as_bytes());
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = c.read_response(false);
    assert_eq!(interim.status, 100);
    c.send(b"hello");
    let r = c.read_response(false);
    assert_eq!(r.text(), "got 5");
    assert_eq!(
        up.requests()[0].header("expect"),
        None,
        "Expect is handled at the edge"
    );
}

#[test]
fn stale_pooled_connection_is_retried_for_idempotent_requests() {
    // The upstream closes every connection after answering, without saying so.
    let up = Upstream::start(|req, s| {
        respond(s, 200, &[], req.path.as_bytes());
        After::Close
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    for i in 0..10 {
        let r = c.get(&format!("/r{i}"));
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.text(), format!("/r{i}"));
    }
}

#[test]
fn absolute_form_target_uses_its_authority_as_host() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let r = Client::connect(gw.addr())
        .request(b"GET http://abs.example/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(r.status, 200);
    let req = &up.requests()[0];
    assert_eq!(req.path, "/p?q=1");
    assert_eq!(req.header("host"), Some("abs.example"));
    assert_eq!(req.header_count("host"), 1);
}

/// An upstream that answers only the first request of each connection and
/// drops the connection, unanswered, on the second: the race a keep-alive
/// timeout creates in production.
fn one_answer_per_connection() -> Upstream {
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    Upstream::start(move |req, s| {
        let peer = s.peer_addr().unwrap();
        if !seen.lock().unwrap().insert(peer) {
            return After::Close;
        }
        respond(s, 200, &[], req.path.as_bytes());
        After::KeepAlive
    })
}

#[test]
fn request_lost_on_a_reused_connection_is_resent_when_safe() {
    let up = one_answer_per_connection();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    for i in 0..6 {
        let r = c.get(&format!("/g{i}"));
        assert_eq!((r.status, r.text()), (200, format!("/g{i}")), "GET {i}");
    }
    // Each GET after the first on a core hit a dead pooled connection first.
    assert!(up.request_count() > 6, "the retry path was never taken");
}

#[test]
fn request_with_body_is_not_resent() {
    let up = one_answer_per_connection();
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let first = c.request(b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(first.status, 200);
    // Same core (same client connection), so the pooled connection is reused.
    let second = c.request(b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\ny");
    assert_eq!(second.status, 502, "a POST must not be replayed");
    let posts_b = up.requests().iter().filter(|r| r.path == "/b").count();
    assert_eq!(posts_b, 1, "the POST reached the upstream exactly once");
}

#[test]
fn heads_larger_than_the_buffer_grow_it_up_to_their_limit() {
    let big = "v".repeat(20_000);
    let reply = big.clone();
    let up = Upstream::start(move |req, s| {
        let len = req.header("x-big").map_or(0, str::len);
        respond(s, 200, &[("X-Reply", &reply)], len.to_string().as_bytes());
        After::KeepAlive
    });
    // 4KiB buffers; heads may be up to 32KiB (requests) and 64KiB (responses).
    let gw = Gateway::start(&simple_config(
        &[up.addr],
        "[limits]\nbuffer_bytes = \"4KiB\"\n",
    ));
    let mut c = Client::connect(gw.addr());
    let r = c.request(format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "20000");
    assert_eq!(r.header("x-reply").map(str::len), Some(20_000));
    let too_big = "w".repeat(40_000);
    let r = c.request(format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {too_big}\r\n\r\n").as_bytes());
    assert_eq!(r.status, 431);
}
