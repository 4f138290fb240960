//! Repetitions → median with min–max, per proxy per scenario, and the
//! ratios to nginx and to ringgate-base measured in the same run.

use super::measure::Rep;
use super::proxy::ProxyKind;
use serde::Serialize;

/// Error rate above which a result is flagged: its numbers describe a
/// proxy that failed requests, not one that served them.
pub const MAX_ERROR_RATE: f64 = 0.01;
/// Foreign CPU use (in % of one CPU) above which a result is noted as
/// disturbed: on 2 cores, other work competes with the measured processes.
pub const MAX_OTHER_CPU_PCT: f64 = 10.0;
/// Run-queue wait of the proxy (in % of the window) above which a result
/// is noted as starved: the proxy wanted its CPU and something else had it.
pub const MAX_PROXY_WAIT_PCT: f64 = 5.0;

/// Median with the range it came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Median (mean of the middle two for an even count), min and max;
/// `None` for no values. NaNs sort last and are not expected.
pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        median,
        min: v[0],
        max: v[n - 1],
    })
}

/// One proxy in one scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProxyResult {
    pub proxy: String,
    pub reps: Vec<Rep>,
    /// Why it has no (or fewer) repetitions: failed to start, load failed.
    pub error: Option<String>,
    pub requests_per_s: Spread,
    pub cpu_us_per_req: Spread,
    pub p50_us: Spread,
    pub p99_us: Spread,
    pub p99_9_us: Spread,
    /// Worst repetition.
    pub error_rate: f64,
    /// Error rate above [`MAX_ERROR_RATE`].
    pub flagged: bool,
    /// Worst repetition's foreign CPU use, % of one CPU.
    pub other_cpu_pct: f64,
    /// Worst repetition's proxy run-queue wait, % of the window.
    pub proxy_wait_pct: f64,
    /// Median req/s and CPU µs/req divided by nginx's (same scenario).
    pub rps_vs_nginx: Option<f64>,
    pub cpu_vs_nginx: Option<f64>,
    /// Median req/s and CPU µs/req divided by ringgate-base's (same
    /// scenario): the regression check of a ringgate change.
    pub rps_vs_base: Option<f64>,
    pub cpu_vs_base: Option<f64>,
    /// Median req/s and CPU µs/req divided by this proxy's own in the
    /// scenario's baseline (e.g. small-get), same run.
    pub rps_vs_baseline: Option<f64>,
    pub cpu_vs_baseline: Option<f64>,
}

impl ProxyResult {
    pub fn new(proxy: &str, reps: Vec<Rep>, error: Option<String>) -> ProxyResult {
        let col = |f: fn(&Rep) -> f64| {
            spread(&reps.iter().map(f).collect::<Vec<_>>()).unwrap_or_default()
        };
        let error_rate = reps.iter().map(|r| r.error_rate).fold(0.0, f64::max);
        let other_cpu_pct = reps.iter().map(|r| r.other_cpu_pct).fold(0.0, f64::max);
        let proxy_wait_pct = reps.iter().map(|r| r.proxy_wait_pct).fold(0.0, f64::max);
        ProxyResult {
            proxy: proxy.to_string(),
            requests_per_s: col(|r| r.requests_per_s),
            cpu_us_per_req: col(|r| r.cpu_us_per_req),
            p50_us: col(|r| r.p50_us),
            p99_us: col(|r| r.p99_us),
            p99_9_us: col(|r| r.p99_9_us),
            error_rate,
            flagged: error_rate > MAX_ERROR_RATE,
            other_cpu_pct,
            proxy_wait_pct,
            reps,
            error,
            rps_vs_nginx: None,
            cpu_vs_nginx: None,
            rps_vs_base: None,
            cpu_vs_base: None,
            rps_vs_baseline: None,
            cpu_vs_baseline: None,
        }
    }

    pub fn has_data(&self) -> bool {
        !self.reps.is_empty()
    }

    /// This result's median req/s and CPU µs/req divided by the reference
    /// medians `(req/s, CPU µs/req)`; `None` where the reference is zero.
    fn ratios_to(&self, (rps, cpu): (f64, f64)) -> (Option<f64>, Option<f64>) {
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        (
            ratio(self.requests_per_s.median, rps),
            ratio(self.cpu_us_per_req.median, cpu),
        )
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub about: String,
    pub results: Vec<ProxyResult>,
    /// The scenario the `*_vs_baseline` ratios compare with.
    pub baseline: Option<String>,
}

impl ScenarioResult {
    /// Fills in the ratios to nginx and to ringgate-base, for each of
    /// them that has numbers.
    pub fn compute_ratios(&mut self) {
        if let Some(nginx) = self.medians_of(ProxyKind::Nginx) {
            for r in self.results.iter_mut().filter(|r| r.has_data()) {
                (r.rps_vs_nginx, r.cpu_vs_nginx) = r.ratios_to(nginx);
            }
        }
        if let Some(base) = self.medians_of(ProxyKind::RinggateBase) {
            for r in self.results.iter_mut().filter(|r| r.has_data()) {
                (r.rps_vs_base, r.cpu_vs_base) = r.ratios_to(base);
            }
        }
    }

    /// `kind`'s median req/s and CPU µs/req, when it has data.
    fn medians_of(&self, kind: ProxyKind) -> Option<(f64, f64)> {
        self.results
            .iter()
            .find(|r| r.proxy == kind.name() && r.has_data())
            .map(|r| (r.requests_per_s.median, r.cpu_us_per_req.median))
    }

    /// Fills in each proxy's ratios to its own result in `base`.
    pub fn compute_baseline(&mut self, base: &ScenarioResult) {
        self.baseline = Some(base.scenario.clone());
        for r in self.results.iter_mut().filter(|r| r.has_data()) {
            let Some(b) = base
                .results
                .iter()
                .find(|b| b.proxy == r.proxy && b.has_data())
            else {
                continue;
            };
            (r.rps_vs_baseline, r.cpu_vs_baseline) =
                r.ratios_to((b.requests_per_s.median, b.cpu_us_per_req.median));
        }
    }
}
