//! Per-thread measurement state of the load generator. Each thread owns one
//! [`Stats`] and nothing is shared while the test runs; threads' stats are
//! merged once at the end.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// Latencies are recorded in microseconds, 1 µs .. 60 s, 3 significant figures.
pub const HIST_MAX_US: u64 = 60_000_000;
const HIST_SIGFIG: u8 = 3;
/// Status codes index this array directly: no hashing on the hot path.
const STATUS_SLOTS: usize = 1000;

pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants known to be valid, so this cannot fail.
    Histogram::new_with_bounds(1, HIST_MAX_US, HIST_SIGFIG).expect("valid histogram bounds")
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Errors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
    /// Responses the framer could not understand (counted as read errors by wrk).
    pub parse: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.parse
    }

    fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.read += o.read;
        self.write += o.write;
        self.timeout += o.timeout;
        self.parse += o.parse;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Connect,
    Read,
    Write,
    Timeout,
    Parse,
}

pub struct Stats {
    pub latency: Histogram<u64>,
    pub status: Box<[u64; STATUS_SLOTS]>,
    pub errors: Errors,
    /// Completed responses (any status).
    pub requests: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Latencies since the last progress report (only with a live display).
    pub interval: Option<Histogram<u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: new_histogram(),
            status: Box::new([0; STATUS_SLOTS]),
            errors: Errors::default(),
            requests: 0,
            bytes_read: 0,
            bytes_written: 0,
            interval: None,
        }
    }
}

impl Stats {
    pub fn record(&mut self, status: u16, latency: Duration) {
        self.requests += 1;
        self.status[(status as usize).min(STATUS_SLOTS - 1)] += 1;
        let us = duration_us(latency);
        self.latency.saturating_record(us);
        if let Some(h) = &mut self.interval {
            h.saturating_record(us);
        }
    }

    pub fn error(&mut self, kind: ErrorKind) {
        let e = &mut self.errors;
        match kind {
            ErrorKind::Connect => e.connect += 1,
            ErrorKind::Read => e.read += 1,
            ErrorKind::Write => e.write += 1,
            ErrorKind::Timeout => e.timeout += 1,
            ErrorKind::Parse => e.parse += 1,
        }
    }

    pub fn merge(&mut self, o: &Stats) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&o.latency);
        for (a, b) in self.status.iter_mut().zip(o.status.iter()) {
            *a += b;
        }
        self.errors.add(&o.errors);
        self.requests += o.requests;
        self.bytes_read += o.bytes_read;
        self.bytes_written += o.bytes_written;
    }

    /// Counts per class: index 0 = 1xx .. 4 = 5xx (anything else lands in 5xx).
    pub fn classes(&self) -> [u64; 5] {
        let mut c = [0; 5];
        for (code, n) in self.codes() {
            c[((code / 100).clamp(1, 5) - 1) as usize] += n;
        }
        c
    }

    /// Exact status codes seen, ascending.
    pub fn codes(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c as u16, *n))
    }
}

pub fn duration_us(d: Duration) -> u64 {
    d.as_micros().min(HIST_MAX_US as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_merge() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        a.record(200, Duration::from_micros(100));
        b.record(200, Duration::from_micros(300));
        b.record(503, Duration::from_secs(3600));
        b.error(ErrorKind::Timeout);
        a.merge(&b);
        assert_eq!(a.requests, 3);
        assert_eq!(a.classes(), [0, 2, 0, 0, 1]);
        assert_eq!(a.codes().collect::<Vec<_>>(), vec![(200, 2), (503, 1)]);
        assert_eq!(a.errors.total(), 1);
        assert!(a.latency.max() >= HIST_MAX_US * 999 / 1000);
    }
}
