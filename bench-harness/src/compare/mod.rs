//! `ringbench compare`: ringgate against nginx and haproxy on the same
//! machine, the method of docs/BENCHMARKS.md (ringgate vs nginx vs
//! haproxy). Origin and load generator on one CPU, the proxy under test
//! with one worker on another; per scenario and proxy, several repetitions
//! of warmup + measured window; the figure of merit is the proxy process
//! tree's CPU µs per request.

pub mod cert;
pub mod child;
pub mod confgen;
pub mod measure;
pub mod output;
pub mod probe;
pub mod procstat;
pub mod proxy;
pub mod scenario;
pub mod summary;
pub mod svg;
pub mod table;

use crate::units::parse_duration;
use proxy::{OriginKind, ProxyKind};
use scenario::Scenario;
use std::path::PathBuf;
use std::time::Duration;
use summary::{ProxyResult, ScenarioResult};

#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// Proxies to compare, in table order.
    #[arg(long, value_delimiter = ',', default_value = "ringgate,nginx,haproxy")]
    proxies: Vec<ProxyKind>,
    /// The upstream: nginx (`return 200`, static files) or `ringbench origin`.
    #[arg(long, value_enum, default_value = "nginx")]
    origin: OriginKind,
    /// Scenarios to run (default: all; see --list).
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// CPU of the proxy under test (one worker).
    #[arg(long, default_value_t = 1)]
    proxy_cpu: usize,
    /// CPU of the load generator and the origin.
    #[arg(long, default_value_t = 0)]
    load_cpu: usize,
    /// Measured window of each repetition.
    #[arg(long, value_parser = parse_duration, default_value = "8s")]
    duration: Duration,
    /// Warmup before each measured window (connections stay open across it).
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    warmup: Duration,
    /// Repetitions per proxy and scenario; the table shows the median.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// The ringgate binary (default: `ringgate` next to this ringbench).
    #[arg(long)]
    ringgate: Option<PathBuf>,
    /// The nginx binary.
    #[arg(long, default_value = "nginx")]
    nginx: String,
    /// The haproxy binary.
    #[arg(long, default_value = "haproxy")]
    haproxy: String,
    /// JSON results file (`-` = stdout; the tables then go to stderr).
    /// Default: bench-results/compare-<UTC timestamp>.json in the repository.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// SVG chart file (default: next to the JSON file, same name; none when
    /// the JSON goes to stdout).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Also print the tables as Markdown (for docs/BENCHMARKS.md).
    #[arg(long)]
    markdown: bool,
}

/// Everything the steps need, resolved once.
pub struct Settings {
    pub proxy_cpu: usize,
    pub load_cpu: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub reps: usize,
    pub origin: OriginKind,
    pub self_exe: PathBuf,
    pub ringgate: PathBuf,
    pub nginx: String,
    pub haproxy: String,
    /// Scratch directory for configs, logs and bodies; removed at the end.
    pub dir: PathBuf,
    /// The self-signed certificate, made when an HTTPS scenario runs.
    pub tls: Option<confgen::TlsFiles>,
    /// The jwt-auth scenario's bearer token, made when it runs.
    pub jwt: Option<String>,
}

pub fn run(args: CompareArgs) -> Result<(), String> {
    if args.list {
        for s in scenario::SCENARIOS {
            println!("{:<16} {}", s.name, s.about);
        }
        return Ok(());
    }
    let scenarios = scenario::select(args.scenarios.as_deref())?;
    if args.reps == 0 || args.duration.is_zero() || args.proxies.is_empty() {
        return Err("--reps, --duration and --proxies must not be zero or empty".into());
    }
    child::install_signal_handlers();
    child::raise_nofile_limit();
    let scratch = output::Scratch::new()?;
    let mut settings = settings(&args, scratch.path.clone())?;
    if scenarios.iter().any(|s| s.tls) {
        settings.tls = Some(cert::write(&settings.dir)?);
    }
    if scenarios.iter().any(|s| s.jwt) {
        settings.jwt = Some(cert::jwt_token()?);
    }
    let started = output::utc_timestamp();
    let results = run_all(&settings, &args.proxies, &scenarios)?;
    output::write_all(&args, &settings, &started, &results)
}

fn settings(args: &CompareArgs, dir: PathBuf) -> Result<Settings, String> {
    let self_exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let ringgate = args
        .ringgate
        .clone()
        .unwrap_or_else(|| self_exe.with_file_name("ringgate"));
    Ok(Settings {
        proxy_cpu: args.proxy_cpu,
        load_cpu: args.load_cpu,
        duration: args.duration,
        warmup: args.warmup,
        reps: args.reps,
        origin: args.origin,
        self_exe,
        ringgate,
        nginx: args.nginx.clone(),
        haproxy: args.haproxy.clone(),
        dir,
        tls: None,
        jwt: None,
    })
}

/// Every scenario × proxy; a proxy that fails is reported and skipped.
fn run_all(
    s: &Settings,
    proxies: &[ProxyKind],
    scenarios: &[&Scenario],
) -> Result<Vec<ScenarioResult>, String> {
    eprintln!(
        "ringbench compare: starting the {} origin on cpu {}",
        s.origin.name(),
        s.load_cpu
    );
    let origin = proxy::start_origin(s, scenarios)?;
    let mut all = Vec::new();
    for sc in scenarios {
        measure::write_body(s, sc)?;
        let mut res = ScenarioResult {
            scenario: sc.name.into(),
            about: sc.about.into(),
            results: Vec::new(),
            baseline: None,
        };
        for &kind in proxies.iter().filter(|&&k| sc.runs_on(k)) {
            child::check_interrupted()?;
            res.results.push(run_proxy(s, sc, kind, &origin));
        }
        if res.results.is_empty() {
            eprintln!(
                "ringbench compare: {}: skipped (runs only on {:?})",
                sc.name, sc.only
            );
            continue;
        }
        res.compute_ratios();
        if let Some(base) = sc
            .baseline
            .and_then(|b| all.iter().find(|r: &&ScenarioResult| r.scenario == b))
        {
            res.compute_baseline(base);
        }
        eprint!("{}", table::text(&res));
        all.push(res);
    }
    Ok(all)
}

/// All repetitions of one proxy in one scenario, on a freshly started proxy.
fn run_proxy(s: &Settings, sc: &Scenario, kind: ProxyKind, origin: &proxy::Running) -> ProxyResult {
    let name = kind.name();
    let running = match proxy::start_proxy(kind, s, sc, origin.addr.port()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ringbench compare: {name} did not start: {e}");
            return ProxyResult::new(name, Vec::new(), Some(e));
        }
    };
    let mut done = Vec::new();
    let mut error = None;
    for i in 1..=s.reps {
        eprintln!(
            "ringbench compare: {} / {name}: rep {i}/{} ({:?} warmup + {:?})",
            sc.name, s.reps, s.warmup, s.duration
        );
        let pids = measure::Pids {
            proxy: running.child.pid(),
            origin: origin.child.pid(),
        };
        match measure::run_rep(s, sc, running.addr, pids) {
            Ok(rep) => done.push(rep),
            Err(e) => {
                eprintln!("ringbench compare: {name}: {e}");
                error = Some(e);
                break;
            }
        }
    }
    ProxyResult::new(name, done, error)
}
