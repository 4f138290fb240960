//! Integration-test support: the real `ringgate` binary started on port 0,
//! real upstream sockets driven by std threads, and a small HTTP/1.1 client
//! that reads exactly one response at a time.
#![allow(dead_code)]

pub mod client;
pub mod gateway;
pub mod redis;
pub mod tls;
pub mod upstream;

pub use client::Client;
pub use gateway::Gateway;
pub use upstream::Upstream;

use std::time::{Duration, Instant};

/// Waits for `cond` with a deadline instead of sleeping a guessed time.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
