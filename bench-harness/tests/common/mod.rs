//! Helpers for the integration tests: start `ringbench origin` on port 0,
//! talk to it with plain std sockets, and run `ringbench load`. Every wait
//! has a deadline so a broken build fails instead of hanging.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ringbench");
const STARTUP: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A running origin; killed on drop. It also exits by itself when the test
/// process dies, because it watches its stdin (`--exit-on-stdin-close`).
pub struct Origin {
    child: Child,
    pub addr: SocketAddr,
}

impl Origin {
    pub fn start(args: &[&str]) -> Origin {
        let mut child = Command::new(BIN)
            .args(["origin", "--listen", "127.0.0.1:0", "--exit-on-stdin-close"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn ringbench origin");
        let stdout = child.stdout.take().expect("origin stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(STARTUP)
            .expect("origin did not print `listening on`");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening line")
            .parse()
            .expect("address");
        Origin { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect to origin");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Sends raw bytes and reads until the server closes the connection.
pub fn exchange_until_close(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read until close");
    out
}

/// Splits a response into (head, body) at the blank line.
pub fn split_response(raw: &[u8]) -> (String, Vec<u8>) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete head")
        + 4;
    (
        String::from_utf8(raw[..at].to_vec()).unwrap(),
        raw[at..].to_vec(),
    )
}

/// Runs `ringbench load ... --json -` and returns the parsed JSON.
pub fn load_json(args: &[&str], limit: Duration) -> serde_json::Value {
    let child = Command::new(BIN)
        .arg("load")
        .args(args)
        .args(["--json", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringbench load");
    let output = wait_with_deadline(child, limit);
    assert!(
        output.status.success(),
        "load failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("load printed JSON")
}

fn wait_with_deadline(mut child: Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait for load").is_some() {
            return child.wait_with_output().expect("load output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ringbench load did not finish within {limit:?}");
        }
        // Polling a child's exit with a deadline; nothing else to wait on in std.
        std::thread::sleep(Duration::from_millis(10));
    }
}
