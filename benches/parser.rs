//! Head parsing: ringgate's strict parser vs httparse on the same bytes.
//!
//! Both sides produce comparable information: httparse fills a
//! `[EMPTY_HEADER; 64]` array and the bench then finds Host and
//! Content-Length (requests) or Content-Length and Connection (responses) in
//! it, as a proxy would. ringgate does more in the same call: it validates
//! Host (`host[:port]`), Content-Length / Transfer-Encoding framing, the
//! Connection tokens, the request target (bytes, percent-encoding, form) and
//! rejects bare CR/LF, control bytes and obs-fold; httparse checks only the
//! byte classes. So "as fast as httparse" is a conservative target.
//!
//! Run: `cargo bench --bench parser` (add `-- --warm-up-time 1
//! --measurement-time 3` for quick runs). Results: docs/BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ringgate::http::{
    BodyFraming, Limits, Method, ParseStatus, RequestHead, RequestParser, ResponseHead,
    ResponseParser,
};

const MINIMAL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

/// A Chrome navigation request, ~720 bytes.
const BROWSER_GET: &[u8] = b"GET /products/shoes?color=blue&size=42 HTTP/1.1\r\n\
Host: www.example-shop.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-platform: \"Windows\"\r\n\
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: https://www.example-shop.com/products/shoes\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n\
Cookie: session=8f2a1c9e4b7d; _ga=GA1.2.1234567890.1700000000\r\n\r\n";

/// A typical nginx response head, ~210 bytes.
const NGINX_200: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.25.3\r\n\
Date: Tue, 14 May 2024 09:12:44 GMT\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Content-Length: 1234\r\n\
Connection: keep-alive\r\n\
ETag: \"6643294c-4d2\"\r\n\
Vary: Accept-Encoding\r\n\r\n";

/// A request with 50 header fields (API clients behind several proxies).
fn fifty_headers() -> Vec<u8> {
    let mut s = String::from("POST /api/v2/orders/12345/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 512\r\n");
    for i in 0..48 {
        s.push_str(&format!(
            "X-Custom-Header-{i:02}: value-{i}-abcdefghijklmnop\r\n"
        ));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn ours_request(p: &mut RequestParser, head: &mut RequestHead, buf: &[u8]) -> (usize, u64) {
    match p.parse_into(buf, head) {
        Ok(ParseStatus::Complete(())) => {
            let cl = match head.framing {
                BodyFraming::ContentLength(n) => n,
                _ => 0,
            };
            (head.host.map_or(0, |h| h.len()), cl)
        }
        _ => panic!("bench input must parse"),
    }
}

fn httparse_request(buf: &[u8]) -> (usize, u64) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => panic!("bench input must parse"),
    }
    let mut host = 0;
    let mut cl = 0;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("host") {
            host = h.value.len();
        } else if h.name.eq_ignore_ascii_case("content-length") {
            cl = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    (host, cl)
}

fn ours_response(p: &mut ResponseParser, head: &mut ResponseHead, buf: &[u8]) -> (u16, u64) {
    match p.parse_into(buf, Method::Get, head) {
        Ok(ParseStatus::Complete(())) => {
            let cl = match head.framing {
                BodyFraming::ContentLength(n) => n,
                _ => 0,
            };
            (head.status, cl + u64::from(head.keep_alive))
        }
        _ => panic!("bench input must parse"),
    }
}

fn httparse_response(buf: &[u8]) -> (u16, u64) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => panic!("bench input must parse"),
    }
    let mut cl = 0;
    let mut keep_alive = true;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            cl = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        } else if h.name.eq_ignore_ascii_case("connection") {
            keep_alive = !h.value.eq_ignore_ascii_case(b"close");
        }
    }
    (resp.code.unwrap_or(0), cl + u64::from(keep_alive))
}

fn requests(c: &mut Criterion) {
    let fifty = fifty_headers();
    let inputs: [(&str, &[u8]); 3] = [
        ("minimal_get", MINIMAL_GET),
        ("browser_get", BROWSER_GET),
        ("fifty_headers", &fifty),
    ];
    let mut g = c.benchmark_group("request");
    for (name, buf) in inputs {
        // Same answer from both, so the work is comparable.
        let mut p = RequestParser::new(Limits::default());
        let mut head = RequestHead::default();
        assert_eq!(ours_request(&mut p, &mut head, buf), httparse_request(buf));
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_with_input(BenchmarkId::new("ringgate", name), buf, |b, buf| {
            b.iter(|| ours_request(&mut p, &mut head, black_box(buf)))
        });
        g.bench_with_input(BenchmarkId::new("httparse", name), buf, |b, buf| {
            b.iter(|| httparse_request(black_box(buf)))
        });
    }
    g.finish();
}

fn responses(c: &mut Criterion) {
    let mut g = c.benchmark_group("response");
    let buf = NGINX_200;
    let mut p = ResponseParser::new(64 * 1024, 100);
    let mut head = ResponseHead::default();
    assert_eq!(
        ours_response(&mut p, &mut head, buf),
        httparse_response(buf)
    );
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_with_input(BenchmarkId::new("ringgate", "nginx_200"), buf, |b, buf| {
        b.iter(|| ours_response(&mut p, &mut head, black_box(buf)))
    });
    g.bench_with_input(BenchmarkId::new("httparse", "nginx_200"), buf, |b, buf| {
        b.iter(|| httparse_response(black_box(buf)))
    });
    g.finish();
}

/// Instruction counting: `PARSER_COUNT=<input>:<ringgate|httparse>:<n>`
/// runs one parser `n` times on one input and exits, for callgrind
/// (`valgrind --tool=callgrind <bench binary>`): the instructions per parse
/// are `(Ir at n = 10,001 − Ir at n = 1) / 10,000`, exact and reproducible
/// where wall clock is not. See docs/BENCHMARKS.md.
fn count(spec: &str) {
    let mut parts = spec.split(':');
    let (Some(input), Some(side), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("PARSER_COUNT=<input>:<ringgate|httparse>:<n>, got {spec:?}");
    };
    let n: u64 = n.parse().expect("PARSER_COUNT: n is a number");
    let fifty = fifty_headers();
    let buf: &[u8] = match input {
        "minimal_get" => MINIMAL_GET,
        "browser_get" => BROWSER_GET,
        "fifty_headers" => &fifty,
        "nginx_200" => NGINX_200,
        _ => panic!("PARSER_COUNT: unknown input {input:?}"),
    };
    let response = input == "nginx_200";
    let mut sum = 0u64;
    match (side, response) {
        ("ringgate", false) => {
            let mut p = RequestParser::new(Limits::default());
            let mut head = RequestHead::default();
            for _ in 0..n {
                let (h, cl) = ours_request(&mut p, &mut head, black_box(buf));
                sum = sum.wrapping_add(h as u64 + cl);
            }
        }
        ("httparse", false) => {
            for _ in 0..n {
                let (h, cl) = httparse_request(black_box(buf));
                sum = sum.wrapping_add(h as u64 + cl);
            }
        }
        ("ringgate", true) => {
            let mut p = ResponseParser::new(64 * 1024, 100);
            let mut head = ResponseHead::default();
            for _ in 0..n {
                let (s, cl) = ours_response(&mut p, &mut head, black_box(buf));
                sum = sum.wrapping_add(u64::from(s) + cl);
            }
        }
        ("httparse", true) => {
            for _ in 0..n {
                let (s, cl) = httparse_response(black_box(buf));
                sum = sum.wrapping_add(u64::from(s) + cl);
            }
        }
        _ => panic!("PARSER_COUNT: side is ringgate or httparse, got {side:?}"),
    }
    black_box(sum);
}

criterion_group!(benches, requests, responses);

fn main() {
    if let Ok(spec) = std::env::var("PARSER_COUNT") {
        count(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
