//! A real upstream server on 127.0.0.1:0 driven by std threads, with a
//! handler per test. It records every request it receives (and every raw
//! byte), so tests can prove what did — or did not — reach the upstream.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct UpstreamRequest {
    pub method: String,
    pub path: String,
    pub version: u8,
    pub headers: Vec<(String, String)>,
    /// Kept when at most 1 MiB; larger bodies are only counted and hashed.
    pub body: Vec<u8>,
    pub body_len: u64,
    pub body_hash: u64,
    pub chunked: bool,
    /// Every byte of this request as it arrived: head, body framing, trailers.
    pub raw: Vec<u8>,
}

impl UpstreamRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The raw head, start line to the final CRLFCRLF.
    pub fn raw_head(&self) -> &[u8] {
        let end = self
            .raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(self.raw.len(), |i| i + 4);
        &self.raw[..end]
    }
    /// The raw bytes after the head (the body as framed on the wire).
    pub fn raw_body(&self) -> &[u8] {
        &self.raw[self.raw_head().len()..]
    }
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }
}

/// What the connection does after the handler answered.
pub enum After {
    KeepAlive,
    Close,
}

type Handler = dyn Fn(&UpstreamRequest, &mut TcpStream) -> After + Send + Sync;

pub struct Upstream {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<UpstreamRequest>>>,
    raw_bytes: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// FNV-1a, to compare large bodies without keeping them.
pub fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}
pub const FNV_START: u64 = 0xcbf29ce484222325;

impl Upstream {
    pub fn start(
        handler: impl Fn(&UpstreamRequest, &mut TcpStream) -> After + Send + Sync + 'static,
    ) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Upstream {
            addr,
            requests: Default::default(),
            raw_bytes: Default::default(),
            connections: Default::default(),
            stop: Default::default(),
        };
        let handler: Arc<Handler> = Arc::new(handler);
        let (requests, raw, conns, stop) = (
            up.requests.clone(),
            up.raw_bytes.clone(),
            up.connections.clone(),
            up.stop.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                conns.fetch_add(1, Ordering::SeqCst);
                let (h, r, raw) = (handler.clone(), requests.clone(), raw.clone());
                std::thread::spawn(move || serve(stream, h, r, raw));
            }
        });
        up
    }

    /// Answers every request `200` with body `hello from <path>`, keep-alive.
    pub fn hello() -> Upstream {
        Upstream::start(|req, s| {
            respond(s, 200, &[], format!("hello from {}", req.path).as_bytes());
            After::KeepAlive
        })
    }

    pub fn requests(&self) -> Vec<UpstreamRequest> {
        self.requests.lock().unwrap().clone()
    }
    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes.load(Ordering::SeqCst)
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Writes a Content-Length response.
pub fn respond(s: &mut TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    let _ = s.write_all(&bytes);
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    raw: Arc<AtomicUsize>,
    /// The bytes taken from `buf` for the request being read.
    taken: Vec<u8>,
}

impl Conn {
    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.raw.fetch_add(n, Ordering::SeqCst);
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
        }
    }

    /// Removes the first `n` buffered bytes, keeping them in `taken`.
    fn take(&mut self, n: usize) {
        self.taken.extend(self.buf.drain(..n));
    }

    fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.take(i + 2);
                return Some(line);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn take_body(&mut self, req: &mut UpstreamRequest, mut n: u64) -> Option<()> {
        while n > 0 {
            if self.buf.is_empty() && !self.fill() {
                return None;
            }
            let k = self.buf.len().min(n as usize);
            req.body_hash = fnv(req.body_hash, &self.buf[..k]);
            if req.body.len() + k <= 1 << 20 {
                req.body.extend_from_slice(&self.buf[..k]);
            }
            req.body_len += k as u64;
            self.take(k);
            n -= k as u64;
        }
        Some(())
    }

    fn read_request(&mut self) -> Option<UpstreamRequest> {
        let (mut req, len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 128];
            let mut r = httparse::Request::new(&mut headers);
            match r.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let req = UpstreamRequest {
                        method: r.method?.to_string(),
                        path: r.path?.to_string(),
                        version: r.version?,
                        headers: r
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_string(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect(),
                        body_hash: FNV_START,
                        ..Default::default()
                    };
                    break (req, len);
                }
                Ok(httparse::Status::Partial) => {
                    if !self.fill() {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        };
        self.taken.clear();
        self.take(len);
        if req
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"))
        {
            req.chunked = true;
            loop {
                let line = self.read_line()?;
                let size = u64::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
                if size == 0 {
                    while !self.read_line()?.is_empty() {}
                    break;
                }
                self.take_body(&mut req, size)?;
                if !self.read_line()?.is_empty() {
                    return None;
                }
            }
        } else if let Some(cl) = req.header("content-length") {
            let n = cl.parse().ok()?;
            self.take_body(&mut req, n)?;
        }
        req.raw = std::mem::take(&mut self.taken);
        Some(req)
    }
}

fn serve(
    stream: TcpStream,
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<UpstreamRequest>>>,
    raw: Arc<AtomicUsize>,
) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        raw,
        taken: Vec::new(),
    };
    while let Some(req) = conn.read_request() {
        requests.lock().unwrap().push(req.clone());
        if let After::Close = handler(&req, &mut conn.stream) {
            return;
        }
    }
}
