//! Failed upstream connects, reported on stderr: a dead endpoint under load
//! fails every request, so each endpoint gets at most one line per
//! `REPORT_INTERVAL` across all cores, which says how many failures it
//! stands for. Only the failure path takes the lock.

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shortest time between two reports about one endpoint.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(10);

struct Reported {
    addr: SocketAddr,
    last_report: Instant,
    /// Failures since `last_report` that got no line of their own.
    unreported: u64,
}

/// One entry per endpoint that failed recently (a handful; a linear scan).
static REPORTED: Mutex<Vec<Reported>> = Mutex::new(Vec::new());

/// Records a failed connect to `addr` of cluster `cluster`; prints a line
/// unless this endpoint was reported less than `REPORT_INTERVAL` ago.
pub fn connect_failed(addr: SocketAddr, cluster: &str, error: &dyn Display) {
    let verdict = {
        let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
        record(&mut reported, addr, Instant::now())
    };
    let Some(earlier) = verdict else { return };
    let mut line =
        format!("ringgate: upstream {addr} (cluster {cluster}): connect failed: {error}");
    if earlier > 0 {
        line.push_str(&format!(
            " ({earlier} more failure(s) since the last report)"
        ));
    }
    eprintln!("{line}");
}

/// Counts a failure of `addr` at `now`: `Some(n)` when it is to be reported
/// (with `n` unreported failures before it), `None` when it is counted only.
fn record(reported: &mut Vec<Reported>, addr: SocketAddr, now: Instant) -> Option<u64> {
    if let Some(r) = reported.iter_mut().find(|r| r.addr == addr) {
        if now.saturating_duration_since(r.last_report) < REPORT_INTERVAL {
            r.unreported += 1;
            return None;
        }
        let earlier = r.unreported;
        r.last_report = now;
        r.unreported = 0;
        return Some(earlier);
    }
    // Endpoints that recovered (nothing left to tell) are forgotten, so
    // addresses removed by reloads do not accumulate.
    reported.retain(|r| {
        r.unreported > 0 || now.saturating_duration_since(r.last_report) < REPORT_INTERVAL
    });
    reported.push(Reported {
        addr,
        last_report: now,
        unreported: 0,
    });
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_report_per_endpoint_per_interval_counting_the_rest() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let t0 = Instant::now();
        let mut reported = Vec::new();
        assert_eq!(record(&mut reported, a, t0), Some(0));
        assert_eq!(record(&mut reported, a, t0 + Duration::from_secs(1)), None);
        assert_eq!(
            record(&mut reported, b, t0 + Duration::from_secs(1)),
            Some(0)
        );
        assert_eq!(record(&mut reported, a, t0 + Duration::from_secs(2)), None);
        assert_eq!(record(&mut reported, a, t0 + REPORT_INTERVAL), Some(2));
        assert_eq!(record(&mut reported, a, t0 + REPORT_INTERVAL), None);
    }

    #[test]
    fn quiet_endpoints_are_forgotten() {
        let t0 = Instant::now();
        let mut reported = Vec::new();
        for port in 1..=3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            record(&mut reported, addr, t0);
        }
        let later = t0 + REPORT_INTERVAL;
        record(&mut reported, "127.0.0.1:9".parse().unwrap(), later);
        assert_eq!(reported.len(), 1);
    }
}
