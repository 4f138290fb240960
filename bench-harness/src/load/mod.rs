//! `ringbench load`: an HTTP/1.1 load generator. Connections are spread
//! over pinned threads; each thread keeps its own statistics and the main
//! thread merges them at the end (and shows progress on a terminal).

mod conn;
mod plan;
mod progress;
mod report;
mod tls;
mod worker;

use crate::rt;
use crate::stats::Stats;
use crate::units::{parse_cpus, parse_duration, CpuList};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Target URL(s), `http://host:port/path` or `https://...`; `URL@WEIGHT`
    /// weights a URL. All URLs must share one scheme and host:port.
    urls: Vec<String>,
    /// Weight per URL, in order (alternative to `URL@WEIGHT`).
    #[arg(long = "weight")]
    weights: Vec<u32>,
    /// Connections in total (default 64).
    #[arg(short, long)]
    connections: Option<usize>,
    /// Threads (default: available cores; never more than connections).
    #[arg(short, long)]
    threads: Option<usize>,
    /// Pin thread i to the i-th cpu of this list (e.g. `0` or `0,1`).
    #[arg(long, value_parser = parse_cpus)]
    cpus: Option<CpuList>,
    /// Measured duration, e.g. `10s` (default 10s unless -n is given).
    #[arg(short, long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many requests (may be combined with -d as a cap).
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Run this long before measuring; nothing from it is recorded.
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Open loop: total requests per second. Latency is measured from each
    /// request's scheduled send time (coordinated-omission correction).
    #[arg(long)]
    rate: Option<f64>,
    /// Reuse connections (the default).
    #[arg(long, overrides_with = "new_conn")]
    keepalive: bool,
    /// Open a new connection for every request (sends Connection: close).
    #[arg(long, overrides_with = "keepalive")]
    new_conn: bool,
    /// Requests in flight per connection (closed loop, keep-alive only).
    #[arg(long)]
    pipeline: Option<usize>,
    /// Request method (default GET).
    #[arg(short, long)]
    method: Option<String>,
    /// Request header `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Request body from a file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// TOML file with the same settings and several `[[request]]`s.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// PEM file with the certificates to trust for `https://` URLs (a CA, or
    /// the server's own self-signed certificate). Required for https.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// No TLS session resumption: every new connection does a full handshake.
    #[arg(long)]
    no_tls_resume: bool,
    /// Per-request timeout (default 5s).
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Write every number as JSON to FILE (`-` = stdout; the summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// Write the latency percentile distribution (HdrHistogram text format, ms).
    #[arg(long, value_name = "FILE")]
    hist: Option<PathBuf>,
    /// No live progress line even on a terminal.
    #[arg(short, long)]
    quiet: bool,
    /// Print `ringbench: measure start` / `ringbench: measure end` on stderr
    /// when the measured window opens and closes (duration mode), so a
    /// supervisor such as `ringbench compare` can sample CPU counters then.
    #[arg(long, hide = true)]
    pub marks: bool,
}

/// What one worker thread hands back.
pub struct ThreadResult {
    stats: Stats,
    /// When its last connection finished (ends the run in -n mode).
    finished: Instant,
}

pub fn run(args: LoadArgs) -> Result<(), String> {
    let plan = Arc::new(plan::build(&args)?);
    let use_tty = !args.quiet && args.json.as_deref() != Some("-") && progress::stdout_is_tty();
    let live = use_tty.then(|| Arc::new(progress::Live::new(plan.threads)));
    let start = Instant::now();
    let measure_start = start + plan.warmup;
    let handles = {
        let (plan, live) = (plan.clone(), live.clone());
        rt::spawn_threads(plan.threads, &plan.cpus.clone(), move |i| {
            worker::run(plan.clone(), i, start, live.clone())
        })
    };
    let marks = args.marks.then(|| {
        spawn_marks(
            measure_start,
            plan.duration.filter(|_| plan.count.is_none()),
        )
    });
    if let Some(live) = &live {
        progress::show(live, &handles, measure_start);
    }
    let mut total = Stats::default();
    let mut finished = measure_start;
    for h in handles {
        let r = h.join().map_err(|_| "a load thread panicked")?;
        total.merge(&r.stats);
        finished = finished.max(r.finished);
    }
    // The end mark must be out before the JSON: the workers stop at the
    // same deadline, and a busy CPU may wake the mark thread last.
    if let Some(m) = marks {
        let _ = m.join();
    }
    let elapsed = match plan.duration {
        Some(d) if plan.count.is_none() => d,
        // -n (possibly capped by -d): the run ends when the last thread does.
        _ => finished.saturating_duration_since(measure_start),
    };
    report::write_all(
        &plan,
        &total,
        elapsed,
        args.json.as_deref(),
        args.hist.as_deref(),
    )
}

/// Announces the measured window on stderr at its start and (when it has a
/// fixed length) its end, from a thread that sleeps until each deadline;
/// `run` joins it before reporting.
fn spawn_marks(measure_start: Instant, duration: Option<Duration>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mark = |at: Instant, what: &str| {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "ringbench: measure {what}");
            let _ = err.flush();
        };
        mark(measure_start, "start");
        if let Some(d) = duration {
            mark(measure_start + d, "end");
        }
    })
}
