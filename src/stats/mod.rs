//! Per-core counters and their aggregation.
//!
//! Each core owns one `CoreStats` slot and is its only writer, so an
//! increment is a relaxed load plus a relaxed store — no atomic
//! read-modify-write, no shared cache line on the request path. Readers (the
//! control thread, `/metrics`) sum the slots; a sum may lag by an increment.

pub mod prometheus;
pub mod reasons;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A counter written by one thread and read by any.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }
    #[inline]
    pub fn add(&self, n: u64) {
        // Single writer: load+store is exact without a locked instruction.
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }
    #[inline]
    pub fn set(&self, n: u64) {
        self.0.store(n, Relaxed);
    }
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// How many distinct reasons a request can be rejected for (see
/// `proxy::error::REJECT_REASONS`).
pub const MAX_REASONS: usize = 96;

/// One core's counters. Aligned to a cache line pair so two cores' slots never
/// share a line (adjacent-line prefetch makes 128 the safe figure on x86_64).
#[repr(align(128))]
#[derive(Debug)]
pub struct CoreStats {
    pub connections_accepted: Counter,
    pub connections_refused: Counter,
    /// Client connections closed at once to keep the upstream descriptor reserve.
    pub connections_refused_fd: Counter,
    /// Connection tasks that panicked; the panic closed that connection only.
    pub connection_panics: Counter,
    pub connections_active: Counter,
    pub requests: Counter,
    /// Responses sent to clients by status class: index 1..=5 for 1xx..5xx.
    pub responses_by_class: [Counter; 6],
    /// Requests answered by the gateway itself with an error, by reason index.
    pub rejected: [Counter; MAX_REASONS],
    pub upstream_connects: Counter,
    pub upstream_reused: Counter,
    pub upstream_retries: Counter,
    pub upgrades: Counter,
    /// TLS handshakes completed on TLS listeners.
    pub tls_handshakes: Counter,
    /// TLS handshakes that failed or timed out (the connection was closed).
    pub tls_handshake_failures: Counter,
    /// TLS handshakes that resumed a session (ticket or session cache).
    pub tls_resumed: Counter,
    /// Rate limiting: keys this core tracks now (a gauge, at most the sum
    /// of its limits' `max_keys`).
    pub ratelimit_keys: Counter,
    /// Requests that passed / were refused by a rate limit.
    pub ratelimit_passed: Counter,
    pub ratelimit_limited: Counter,
    /// Leases taken from the instance budget or Redis, and given back.
    pub ratelimit_leases: Counter,
    pub ratelimit_returns: Counter,
    /// Decisions made by `on_redis_error` because Redis could not be asked.
    pub ratelimit_fallbacks: Counter,
}

impl Default for CoreStats {
    fn default() -> Self {
        CoreStats {
            connections_accepted: Counter::default(),
            connections_refused: Counter::default(),
            connections_refused_fd: Counter::default(),
            connection_panics: Counter::default(),
            connections_active: Counter::default(),
            requests: Counter::default(),
            responses_by_class: Default::default(),
            rejected: std::array::from_fn(|_| Counter::default()),
            upstream_connects: Counter::default(),
            upstream_reused: Counter::default(),
            upstream_retries: Counter::default(),
            upgrades: Counter::default(),
            tls_handshakes: Counter::default(),
            tls_handshake_failures: Counter::default(),
            tls_resumed: Counter::default(),
            ratelimit_keys: Counter::default(),
            ratelimit_passed: Counter::default(),
            ratelimit_limited: Counter::default(),
            ratelimit_leases: Counter::default(),
            ratelimit_returns: Counter::default(),
            ratelimit_fallbacks: Counter::default(),
        }
    }
}

impl CoreStats {
    #[inline]
    pub fn response(&self, status: u16) {
        let class = usize::from(status / 100).min(5);
        self.responses_by_class[class].inc();
    }
}

/// The Redis limiter thread's counters; that thread is their only writer.
#[derive(Debug, Default)]
pub struct LimiterStats {
    /// 1 while Redis answers, 0 while rate limits use `on_redis_error`.
    pub redis_up: Counter,
    /// Round trips (pipelined batches of lease and refund scripts).
    pub redis_calls: Counter,
    /// Failed connects and calls.
    pub redis_errors: Counter,
    /// Times Redis came back after being unreachable.
    pub redis_recoveries: Counter,
}

/// All cores' slots; shared read-only by `Arc`, written per slot by its core.
#[derive(Debug)]
pub struct Stats {
    cores: Vec<CoreStats>,
    /// Set when a limit uses Redis.
    pub limiter: std::sync::Arc<LimiterStats>,
}

impl Stats {
    pub fn new(cores: usize) -> Self {
        Stats {
            cores: (0..cores).map(|_| CoreStats::default()).collect(),
            limiter: Default::default(),
        }
    }

    pub fn core(&self, id: usize) -> &CoreStats {
        &self.cores[id]
    }

    pub fn cores(&self) -> &[CoreStats] {
        &self.cores
    }

    /// Sums one counter over all cores.
    pub fn sum(&self, field: impl Fn(&CoreStats) -> &Counter) -> u64 {
        self.cores.iter().map(|c| field(c).get()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_over_cores() {
        let s = Stats::new(3);
        s.core(0).requests.add(2);
        s.core(2).requests.inc();
        s.core(1).response(404);
        s.core(1).response(200);
        s.core(0).response(502);
        assert_eq!(s.sum(|c| &c.requests), 3);
        assert_eq!(s.sum(|c| &c.responses_by_class[4]), 1);
        assert_eq!(s.sum(|c| &c.responses_by_class[5]), 1);
        assert!(std::mem::align_of::<CoreStats>() >= 128);
    }
}
