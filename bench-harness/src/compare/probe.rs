//! Free ports and "does it answer 200?" checks over plain std sockets
//! (or blocking rustls over them, for the HTTPS scenarios).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a probe talks to the server besides plain `GET path`.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// Speak TLS with this config (verifying the server as its address).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Extra request headers, `Name: value`.
    pub headers: Vec<String>,
}

/// A client config trusting only the PEM certificate(s) in `cacert`.
pub fn tls_config(cacert: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cacert).map_err(|e| e.to_string())? {
        roots
            .add(c.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    Ok(Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

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
    get_ok_with(addr, path, &Opts::default())
}

/// [`get_ok`] with TLS and/or extra headers.
pub fn get_ok_with(addr: SocketAddr, path: &str, opts: &Opts) -> Result<(), String> {
    let timeout = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let extra: String = opts.headers.iter().map(|h| format!("{h}\r\n")).collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    let resp = match &opts.tls {
        None => exchange(&mut s, &req)?,
        Some(config) => {
            let name = ServerName::from(addr.ip());
            let conn =
                rustls::ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
            exchange(&mut rustls::StreamOwned::new(conn, s), &req)?
        }
    };
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

/// Sends `req`, reads until the server closes. A TLS peer that closes
/// without close_notify still gave us the response.
fn exchange(s: &mut (impl Read + Write), req: &str) -> Result<Vec<u8>, String> {
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    match s.read_to_end(&mut resp) {
        Ok(_) => Ok(resp),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !resp.is_empty() => Ok(resp),
        Err(e) => Err(e.to_string()),
    }
}

/// Retries [`get_ok`] until it succeeds, `alive()` turns false, or `limit`
/// passes; returns the last error.
pub fn wait_ok(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    alive: impl FnMut() -> bool,
) -> Result<(), String> {
    wait_ok_with(addr, path, &Opts::default(), limit, alive)
}

/// [`wait_ok`] with TLS and/or extra headers.
pub fn wait_ok_with(
    addr: SocketAddr,
    path: &str,
    opts: &Opts,
    limit: Duration,
    mut alive: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let err = match get_ok_with(addr, path, opts) {
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
