//! This core's idle keep-alive connections to upstream endpoints.
//!
//! LIFO reuse (the most recently used socket is the warmest and the least
//! likely to have been closed by the upstream's keep-alive timer); the oldest
//! is evicted first when an endpoint's idle list is full.
//!
//! A connection taken from the pool can be peeked first (one non-blocking
//! `recv(MSG_PEEK)`), so one the upstream closed or wrote stray bytes to
//! while idle is dropped instead of failing the request. The peek is a
//! syscall — more than the rest of a keep-alive exchange costs in syscalls
//! under io_uring — so callers ask for it only when it pays (see `take`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ahash::AHashMap;

use super::UpstreamStream;
use crate::sys::{self, Peek};

struct Idle {
    stream: UpstreamStream,
    since: Instant,
}

/// Plain and TLS connections to one address are kept apart: a TLS cluster
/// must never be handed a plain connection, nor the reverse.
type Key = (SocketAddr, bool);

#[derive(Default)]
pub struct Pool {
    idle: AHashMap<Key, VecDeque<Idle>>,
}

impl Pool {
    pub fn new() -> Self {
        Pool::default()
    }

    /// An idle connection to `addr` (TLS or not) younger than `max_idle`,
    /// if there is one. Connections idle for `peek_after` or longer are
    /// peeked and skipped when the upstream closed them or sent stray bytes
    /// (for TLS, any record: a close_notify alert or a late ticket).
    pub fn take(
        &mut self,
        addr: SocketAddr,
        tls: bool,
        now: Instant,
        max_idle: Duration,
        peek_after: Duration,
    ) -> Option<UpstreamStream> {
        let list = self.idle.get_mut(&(addr, tls))?;
        while let Some(idle) = list.pop_back() {
            let idle_for = now.saturating_duration_since(idle.since);
            if idle_for >= max_idle {
                // Everything below the newest is older still.
                list.clear();
                return None;
            }
            if idle_for < peek_after || sys::peek(idle.stream.as_raw_fd()) == Peek::Empty {
                return Some(idle.stream);
            }
        }
        None
    }

    /// Parks a connection whose last exchange ended cleanly.
    pub fn put(
        &mut self,
        addr: SocketAddr,
        stream: UpstreamStream,
        now: Instant,
        max_per_endpoint: usize,
    ) {
        if max_per_endpoint == 0 {
            return;
        }
        let list = self.idle.entry((addr, stream.is_tls())).or_default();
        if list.len() >= max_per_endpoint {
            list.pop_front();
        }
        list.push_back(Idle { stream, since: now });
    }

    /// Closes connections idle for `max_idle` or longer; called periodically so
    /// idle sockets don't outlive their timeout when no request comes.
    pub fn evict_expired(&mut self, now: Instant, max_idle: impl Fn(SocketAddr) -> Duration) {
        self.idle.retain(|(addr, _), list| {
            let limit = max_idle(*addr);
            while list
                .front()
                .is_some_and(|i| now.saturating_duration_since(i.since) >= limit)
            {
                list.pop_front();
            }
            !list.is_empty()
        });
    }

    pub fn idle_count(&self) -> usize {
        self.idle.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use monoio::net::TcpStream;
    use std::net::TcpListener;

    fn pair(l: &TcpListener) -> (UpstreamStream, std::net::TcpStream) {
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (UpstreamStream::Plain(TcpStream::from_std(c).unwrap()), s)
    }

    fn rt() -> monoio::Runtime<monoio::LegacyDriver> {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()
            .unwrap()
    }

    #[test]
    fn lifo_reuse_and_bounded_idle_list() {
        rt().block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let mut pool = Pool::new();
            let now = Instant::now();
            let mut servers = Vec::new();
            let mut fds = Vec::new();
            for _ in 0..3 {
                let (c, s) = pair(&l);
                fds.push(c.as_raw_fd());
                servers.push(s);
                pool.put(addr, c, now, 2);
            }
            assert_eq!(pool.idle_count(), 2, "oldest evicted at the cap");
            let a = pool
                .take(addr, false, now, Duration::from_secs(1), Duration::ZERO)
                .unwrap();
            assert_eq!(a.as_raw_fd(), fds[2], "most recent first");
        });
    }

    #[test]
    fn closed_and_expired_connections_are_not_reused() {
        rt().block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let mut pool = Pool::new();
            let t0 = Instant::now();
            let (c, s) = pair(&l);
            let fd = c.as_raw_fd();
            pool.put(addr, c, t0, 8);
            drop(s);
            // The FIN reaches our socket asynchronously: wait on the condition.
            let deadline = Instant::now() + Duration::from_secs(5);
            while sys::peek(fd) != Peek::Closed {
                assert!(Instant::now() < deadline, "FIN never arrived");
                std::thread::yield_now();
            }
            // Idle for less than `peek_after`: handed out unchecked (the
            // caller can retry); otherwise the peek sees the close.
            let unchecked = pool.take(
                addr,
                false,
                t0,
                Duration::from_secs(60),
                Duration::from_secs(1),
            );
            assert!(unchecked.is_some());
            pool.put(addr, unchecked.unwrap(), t0, 8);
            assert!(pool
                .take(addr, false, t0, Duration::from_secs(60), Duration::ZERO)
                .is_none());
            let (c2, _s2) = pair(&l);
            pool.put(addr, c2, t0, 8);
            assert!(pool
                .take(
                    addr,
                    false,
                    t0 + Duration::from_secs(2),
                    Duration::from_secs(1),
                    Duration::ZERO
                )
                .is_none());
            let (c3, _s3) = pair(&l);
            pool.put(addr, c3, t0, 8);
            pool.evict_expired(t0 + Duration::from_secs(5), |_| Duration::from_secs(1));
            assert_eq!(pool.idle_count(), 0);
        });
    }
}
