//! Free ports and "does it answer 200?" checks over plain std sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port the OS says is free now. Someone could take it before the proxy
/// binds it; the proxy then fails to start and says so.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// One `GET path` with `Connection: close`; Ok when the status is 200.
pub fn get_ok(addr: SocketAddr, path: &str) -> Result<(), String> {
    let timeout = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
    let line = resp.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else if line.is_empty() {
        Err("empty response".into())
    } else {
        Err(format!("answered `{line}`"))
    }
}

/// Retries [`get_ok`] until it succeeds, `alive()` turns false, or `limit`
/// passes; returns the last error.
pub fn wait_ok(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    mut alive: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let err = match get_ok(addr, path) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !alive() {
            return Err(format!("exited ({err})"));
        }
        if Instant::now() > deadline {
            return Err(format!("GET {path} on {addr} never answered 200: {err}"));
        }
        // Startup has no event to wait on from outside; poll with a deadline.
        std::thread::sleep(Duration::from_millis(20));
    }
}
