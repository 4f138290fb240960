//! One repetition: `ringbench load` pinned to the load CPU drives the proxy;
//! the proxy tree's CPU time is sampled when the load generator announces
//! the start and the end of its measured window (`--marks`), so warmup and
//! process startup are outside it.

use super::child::{Guarded, Stream};
use super::procstat::{system_busy_s, tree_cpu_s, tree_runq_wait_s};
use super::scenario::Scenario;
use super::Settings;
use serde::Serialize;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// Slack on top of the expected times before a wait gives up.
const SLACK: Duration = Duration::from_secs(15);

/// What one repetition measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rep {
    /// Completed responses in the measured window (any status).
    pub requests: u64,
    pub requests_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p99_9_us: f64,
    /// Proxy process tree CPU seconds over the measured window.
    pub cpu_s: f64,
    /// `cpu_s` in µs divided by `requests`.
    pub cpu_us_per_req: f64,
    /// Transport errors plus non-2xx responses.
    pub errors: u64,
    /// `errors / (requests + transport errors)`.
    pub error_rate: f64,
    /// Busy CPU time of everything else on the machine during the window
    /// (all CPUs' user+system minus proxy, origin and load generator), in
    /// % of one CPU. High values mean someone else disturbed the run.
    pub other_cpu_pct: f64,
    /// Time the proxy's threads were runnable but waited for their CPU
    /// (run-queue wait from /proc/PID/task/TID/schedstat), in % of the
    /// window. High values mean other work on the proxy CPU starved it.
    pub proxy_wait_pct: f64,
}

/// CPU counters read at one edge of the measured window.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: std::time::Instant,
    proxy_s: f64,
    /// Run-queue wait of the proxy tree.
    proxy_wait_s: f64,
    /// Origin and load generator trees.
    ours_s: f64,
    system_s: f64,
}

impl Sample {
    fn take(proxy: u32, others: &[u32]) -> Sample {
        Sample {
            at: std::time::Instant::now(),
            proxy_s: tree_cpu_s(proxy),
            proxy_wait_s: tree_runq_wait_s(proxy),
            ours_s: others.iter().map(|&p| tree_cpu_s(p)).sum(),
            system_s: system_busy_s(),
        }
    }

    /// Foreign CPU between two samples, in % of one CPU.
    fn other_pct(&self, later: &Sample) -> f64 {
        let window = later.at.duration_since(self.at).as_secs_f64().max(1e-3);
        let ours = (later.proxy_s - self.proxy_s) + (later.ours_s - self.ours_s);
        ((later.system_s - self.system_s - ours) / window * 100.0).max(0.0)
    }

    /// The proxy's run-queue wait between two samples, in % of the window.
    fn proxy_wait_pct(&self, later: &Sample) -> f64 {
        let window = later.at.duration_since(self.at).as_secs_f64().max(1e-3);
        ((later.proxy_wait_s - self.proxy_wait_s) / window * 100.0).max(0.0)
    }
}

/// Builds a [`Rep`] from `ringbench load --json` output and the CPU seconds.
pub fn rep_from_json(doc: &Value, cpu_s: f64) -> Result<Rep, String> {
    let num = |path: &[&str]| -> f64 {
        path.iter()
            .try_fold(doc, |v, k| v.get(k))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let requests = doc
        .get("requests")
        .and_then(Value::as_u64)
        .ok_or("load JSON has no `requests`")?;
    let transport = num(&["errors", "total"]) as u64;
    let non_2xx = ["1xx", "3xx", "4xx", "5xx"]
        .iter()
        .map(|c| num(&["status", c]) as u64)
        .sum::<u64>();
    let attempts = requests + transport;
    Ok(Rep {
        requests,
        requests_per_s: num(&["requests_per_s"]),
        p50_us: num(&["latency_us", "p50"]),
        p99_us: num(&["latency_us", "p99"]),
        p99_9_us: num(&["latency_us", "p99_9"]),
        cpu_s,
        cpu_us_per_req: if requests > 0 {
            cpu_s * 1e6 / requests as f64
        } else {
            0.0
        },
        errors: transport + non_2xx,
        error_rate: if attempts > 0 {
            (transport + non_2xx) as f64 / attempts as f64
        } else {
            1.0
        },
        other_cpu_pct: 0.0,
        proxy_wait_pct: 0.0,
    })
}

/// `ringbench load` arguments for one repetition against `addr`.
pub fn load_args(s: &Settings, sc: &Scenario, addr: SocketAddr) -> Vec<String> {
    let mut args: Vec<String> = ["load", "-q", "--marks", "--json", "-", "-t", "1"]
        .map(String::from)
        .to_vec();
    args.extend(["--cpus".into(), s.load_cpu.to_string()]);
    args.extend(["-d".into(), format!("{}ms", s.duration.as_millis())]);
    args.extend(["--warmup".into(), format!("{}ms", s.warmup.as_millis())]);
    args.extend(sc.load_args.iter().map(|a| a.to_string()));
    if sc.body_bytes.is_some() {
        args.push("--body-file".into());
        args.push(body_file(s, sc).display().to_string());
    }
    if sc.jwt {
        if let Some(token) = &s.jwt {
            args.push("-H".into());
            args.push(format!("Authorization: Bearer {token}"));
        }
    }
    match (&s.tls, sc.tls) {
        (Some(files), true) => {
            args.push("--cacert".into());
            args.push(files.cert.display().to_string());
            args.push(format!("https://{addr}{}", sc.path));
        }
        _ => args.push(format!("http://{addr}{}", sc.path)),
    }
    args
}

/// Where a scenario's request body lives (written by [`write_body`]).
fn body_file(s: &Settings, sc: &Scenario) -> std::path::PathBuf {
    s.dir.join(format!("body-{}", sc.name))
}

pub fn write_body(s: &Settings, sc: &Scenario) -> Result<(), String> {
    match sc.body_bytes {
        Some(n) => std::fs::write(body_file(s, sc), vec![b'x'; n])
            .map_err(|e| format!("request body file: {e}")),
        None => Ok(()),
    }
}

/// The processes of one repetition whose CPU time is accounted.
#[derive(Debug, Clone, Copy)]
pub struct Pids {
    pub proxy: u32,
    pub origin: u32,
}

/// Runs the load generator once against `addr`, sampling the proxy's
/// process tree (and, for the noise check, everything else) around the
/// measured window.
pub fn run_rep(s: &Settings, sc: &Scenario, addr: SocketAddr, pids: Pids) -> Result<Rep, String> {
    let mut cmd = Command::new(&s.self_exe);
    cmd.args(load_args(s, sc, addr));
    let mut load = Guarded::spawn("ringbench load", cmd, Some(s.load_cpu), None)?;
    let mark = |what: &'static str| {
        move |l: &str| (l == format!("ringbench: measure {what}")).then_some(())
    };
    let others = [pids.origin, load.pid()];
    load.wait_line(Stream::Stderr, s.warmup + SLACK, mark("start"))?;
    let before = Sample::take(pids.proxy, &others);
    load.wait_line(Stream::Stderr, s.duration + SLACK, mark("end"))?;
    let after = Sample::take(pids.proxy, &others);
    let (ok, stdout) = load.wait_output(SLACK)?;
    if !ok {
        return Err(load.failure("failed"));
    }
    let doc: Value = serde_json::from_str(&stdout).map_err(|e| format!("load JSON: {e}"))?;
    let mut rep = rep_from_json(&doc, after.proxy_s - before.proxy_s)?;
    rep.other_cpu_pct = before.other_pct(&after);
    rep.proxy_wait_pct = before.proxy_wait_pct(&after);
    Ok(rep)
}
