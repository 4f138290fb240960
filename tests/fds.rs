//! The file descriptor reserve: at the descriptor limit, client connections
//! are refused (and counted) before they take the descriptors that the
//! admitted requests need for their upstream connections.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::gateway::simple_config;
use common::{Gateway, Upstream};

const NOFILE: u32 = 256;
/// More clients than the gateway has descriptors.
const CLIENTS: usize = 300;

/// The status of the one response on `c`, or `None` when the gateway closed
/// the connection without one.
fn status_of(c: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let line = std::str::from_utf8(&buf).ok()?.lines().next()?;
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[test]
fn clients_beyond_the_reserve_are_refused_and_admitted_ones_reach_the_upstream() {
    // Each response waits a little so the admitted requests are in flight
    // together and need as many upstream connections at once.
    let up = Upstream::start(|req, s| {
        std::thread::sleep(Duration::from_millis(200));
        common::upstream::respond(s, 200, &[], req.path.as_bytes());
        common::upstream::After::Close
    });
    let toml = simple_config(&[up.addr], "[admin]\naddress = \"127.0.0.1:0\"\n")
        .replace("workers = 2", "workers = 1");
    let gw = Gateway::start_with_nofile(&toml, NOFILE);
    let cap = gw.metric("ringgate_client_connections_max") as usize;
    assert!(cap > 0 && cap < CLIENTS, "cap {cap}");
    let mut clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            let c = TcpStream::connect(gw.addr()).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            c
        })
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        // A refused connection may already be closed: the write can fail.
        let _ = c.write_all(format!("GET /c/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    let mut ok = 0;
    let mut refused = 0;
    let mut other = Vec::new();
    for c in &mut clients {
        match status_of(c) {
            Some(200) => ok += 1,
            None => refused += 1,
            Some(s) => other.push(s),
        }
    }
    assert_eq!(
        other,
        Vec::<u16>::new(),
        "no 502s: upstream connects found descriptors"
    );
    assert_eq!(ok, cap, "every admitted client was answered");
    assert_eq!(refused, CLIENTS - cap);
    assert_eq!(
        gw.metric("ringgate_connections_refused_total{reason=\"fd_reserve\"}"),
        (CLIENTS - cap) as u64
    );
    assert_eq!(
        gw.metric("ringgate_connections_refused_total{reason=\"max_connections_per_core\"}"),
        0
    );
}
