//! A blocking HTTP/1.1 test client that reads exactly one response at a time
//! (so keep-alive and pipelining can be checked), with a read timeout so a
//! hung gateway fails the test instead of hanging it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The head exactly as received, status line to the final CRLFCRLF.
    pub head_raw: Vec<u8>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// How many field lines named `name` (any case) the raw head has.
    pub fn header_count(&self, name: &str) -> usize {
        head_lines(&self.head_raw)
            .filter(|l| field_name(l).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes())))
            .count()
    }
    /// The raw field lines named `name` (any case), without CRLF.
    pub fn header_lines(&self, name: &str) -> Vec<String> {
        head_lines(&self.head_raw)
            .filter(|l| field_name(l).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes())))
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// The lines of a raw head after the start line (the empty line excluded).
pub fn head_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip(1)
        .filter(|l| !l.is_empty())
}

/// The name of a raw field line (before its ':').
pub fn field_name(line: &[u8]) -> Option<&[u8]> {
    line.iter().position(|&b| b == b':').map(|i| &line[..i])
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a request and reads its response.
    pub fn request(&mut self, raw: &[u8]) -> Response {
        self.send(raw);
        self.read_response(raw.starts_with(b"HEAD "))
    }

    /// Shorthand for a GET with a Host header.
    pub fn get(&mut self, path: &str) -> Response {
        self.request(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
    }

    fn fill(&mut self) -> usize {
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                n
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Reads one response; `head_request` says the body is absent whatever the framing.
    pub fn read_response(&mut self, head_request: bool) -> Response {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf).expect("valid response head") {
                httparse::Status::Complete(len) => {
                    let status = resp.code.unwrap();
                    let headers: Vec<(String, String)> = resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let head_raw: Vec<u8> = self.buf.drain(..len).collect();
                    let mut r = Response {
                        status,
                        headers,
                        head_raw,
                        body: Vec::new(),
                    };
                    if (100..200).contains(&status) && status != 101 {
                        return r;
                    }
                    if !(head_request || status == 204 || status == 304 || status == 101) {
                        r.body = self.read_body(&r);
                    }
                    return r;
                }
                httparse::Status::Partial => {
                    assert!(
                        self.fill() > 0,
                        "connection closed before a full response head"
                    );
                }
            }
        }
    }

    fn read_body(&mut self, r: &Response) -> Vec<u8> {
        if let Some(cl) = r.header("content-length") {
            let n: usize = cl.parse().unwrap();
            while self.buf.len() < n {
                assert!(self.fill() > 0, "closed mid-body");
            }
            return self.buf.drain(..n).collect();
        }
        if r.header("transfer-encoding")
            .is_some_and(|te| te.contains("chunked"))
        {
            return self.read_chunked();
        }
        while self.fill() > 0 {}
        std::mem::take(&mut self.buf)
    }

    fn read_line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return line;
            }
            assert!(self.fill() > 0, "closed mid-chunk");
        }
    }

    fn read_chunked(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line();
            let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
            if size == 0 {
                // Trailers, then the empty line.
                while !self.read_line().is_empty() {}
                return body;
            }
            while self.buf.len() < size + 2 {
                assert!(self.fill() > 0, "closed mid-chunk");
            }
            body.extend(self.buf.drain(..size));
            assert_eq!(&self.buf[..2], b"\r\n");
            self.buf.drain(..2);
        }
    }

    /// True when the peer closes the connection (EOF or reset) with no further bytes.
    pub fn is_closed(&mut self) -> bool {
        self.buf.is_empty() && self.fill() == 0
    }

    /// Bytes read past the last response (e.g. tunnel data right after a 101).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Everything until the peer closes.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill() > 0 {}
        std::mem::take(&mut self.buf)
    }
}

/// Sends raw bytes on a new connection and returns the first response.
pub fn one_shot(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut c = Client::connect(addr);
    c.request(raw)
}
