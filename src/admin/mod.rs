//! The admin listener: `GET /metrics` (Prometheus text) and `GET /healthz`.
//!
//! It runs on a thread of its own with blocking std sockets, one connection
//! at a time: admin traffic is a scrape every few seconds, and keeping it
//! off the workers means a slow scraper can never delay a proxied request.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::context::Shared;
use crate::http::write_error_response;
use crate::http::{Limits, ParseStatus, RequestParser};
use crate::stats::prometheus;
use crate::stats::reasons::REJECT_REASONS;

/// A running admin listener; `stop` ends its thread.
pub struct Admin {
    addr: SocketAddr,
    thread: JoinHandle<()>,
}

impl Admin {
    /// Binds `addr` and serves it until `shared.shutdown` fires.
    pub fn start(addr: SocketAddr, shared: Arc<Shared>) -> io::Result<Admin> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let thread = std::thread::Builder::new()
            .name("ringgate-admin".into())
            .spawn(move || serve(listener, shared))?;
        Ok(Admin { addr, thread })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Wakes the accept with a connection of our own so the thread sees the
    /// shutdown flag, then joins it.
    pub fn stop(self) {
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = self.thread.join();
    }
}

fn serve(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutdown.is_triggered() {
            break;
        }
        if let Ok(stream) = stream {
            let _ = handle(stream, &shared);
        }
    }
}

fn handle(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    let mut parser = RequestParser::new(Limits::default());
    let path = loop {
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Ok(());
        }
        len += n;
        match parser.parse(&buf[..len]) {
            Ok(ParseStatus::Complete(head)) => break head.path.get(&buf[..len]).to_vec(),
            Ok(ParseStatus::Partial) if len < buf.len() => continue,
            _ => return respond_error(&mut stream, 400, "bad_request"),
        }
    };
    match path.as_slice() {
        b"/metrics" => {
            let snap = shared.snapshot.load();
            let body = prometheus::render(
                &shared.stats,
                &prometheus::Info {
                    config_generation: snap.generation,
                    reject_reasons: REJECT_REASONS,
                    client_connections_max: shared.fd_budget.cap(),
                },
            );
            respond(&mut stream, "text/plain; version=0.0.4", body.as_bytes())
        }
        b"/healthz" => respond(&mut stream, "text/plain", b"ok\n"),
        _ => respond_error(&mut stream, 404, "not_found"),
    }
}

fn respond(stream: &mut TcpStream, content_type: &str, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}

fn respond_error(stream: &mut TcpStream, status: u16, reason: &str) -> io::Result<()> {
    let mut out = Vec::new();
    write_error_response(&mut out, status, reason, false);
    stream.write_all(&out)
}
