//! The live progress line. Workers publish a few times per second into
//! their own slot; the main thread prints once per second.

use crate::stats::{new_histogram, Stats};
use crate::units::fmt_us;
use hdrhistogram::Histogram;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// True when stdout is a terminal (isatty(1); std's wrapper needs no unsafe).
pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

struct Published {
    requests: u64,
    errors: u64,
    /// Latencies since the main thread last looked.
    hist: Histogram<u64>,
}

pub struct Live {
    slots: Vec<Mutex<Published>>,
}

impl Live {
    pub fn new(threads: usize) -> Live {
        let slots = (0..threads)
            .map(|_| {
                Mutex::new(Published {
                    requests: 0,
                    errors: 0,
                    hist: new_histogram(),
                })
            })
            .collect();
        Live { slots }
    }

    /// Called by worker `i` (a few times per second, never per request).
    pub fn publish(&self, i: usize, stats: &mut Stats) {
        let Ok(mut p) = self.slots[i].lock() else {
            return;
        };
        p.requests = stats.requests;
        p.errors = stats.errors.total();
        if let Some(h) = &mut stats.interval {
            let _ = p.hist.add(&*h);
            h.reset();
        }
    }

    /// Totals so far and the latencies since the previous call.
    fn collect(&self, hist: &mut Histogram<u64>) -> (u64, u64) {
        hist.reset();
        let (mut requests, mut errors) = (0, 0);
        for slot in &self.slots {
            if let Ok(mut p) = slot.lock() {
                requests += p.requests;
                errors += p.errors;
                let _ = hist.add(&p.hist);
                p.hist.reset();
            }
        }
        (requests, errors)
    }
}

/// Prints one line per second until every worker has finished.
pub fn show<T>(live: &Live, workers: &[JoinHandle<T>], measure_start: Instant) {
    let mut hist = new_histogram();
    let mut last = (Instant::now(), 0u64);
    let mut out = std::io::stdout();
    while !workers.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
        let now = Instant::now();
        if now.duration_since(last.0) < Duration::from_secs(1) {
            continue;
        }
        let (requests, errors) = live.collect(&mut hist);
        let rps = (requests - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        let line = if now < measure_start || requests == 0 {
            format!(
                "warming up, {:.0}s left",
                (measure_start - now).as_secs_f64().ceil()
            )
        } else {
            let p99 = if hist.is_empty() {
                "-".into()
            } else {
                fmt_us(hist.value_at_quantile(0.99) as f64)
            };
            let t = now.duration_since(measure_start).as_secs();
            format!("{t:>4}s {rps:>11.0} req/s   p99 {p99:>9}   errors {errors}")
        };
        let _ = write!(out, "\r{line}\x1b[K");
        let _ = out.flush();
        last = (now, requests);
    }
    let _ = write!(out, "\r\x1b[K");
    let _ = out.flush();
}
