//! `ringbench compare`: ringgate against nginx and haproxy (and an older
//! ringgate build, `ringgate-base`) on the same machine, the method of
//! docs/BENCHMARKS.md. Origin and load generator on one CPU, the proxies
//! under test with one worker each on another; per scenario, several
//! repetitions of warmup + measured window, interleaved across the proxies
//! (rep 1 of each, then rep 2 of each, ...) so slow drifts of the machine
//! hit all of them alike; the figure of merit is the proxy process tree's
//! CPU µs per request.

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
use measure::Rep;
use proxy::{OriginKind, ProxyKind};
use scenario::Scenario;
use std::path::PathBuf;
use std::time::Duration;
use summary::{ProxyResult, ScenarioResult};

/// `--proxies` without `--ringgate-base`.
const DEFAULT_PROXIES: &[ProxyKind] = &[ProxyKind::Ringgate, ProxyKind::Nginx, ProxyKind::Haproxy];
/// `--proxies` with `--ringgate-base`.
const DEFAULT_PROXIES_WITH_BASE: &[ProxyKind] = &[
    ProxyKind::Ringgate,
    ProxyKind::RinggateBase,
    ProxyKind::Nginx,
    ProxyKind::Haproxy,
];

#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// Proxies to compare, in table order (default: ringgate,nginx,haproxy;
    /// with --ringgate-base: ringgate,ringgate-base,nginx,haproxy).
    #[arg(long, value_delimiter = ',')]
    proxies: Option<Vec<ProxyKind>>,
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
    /// An older ringgate binary, run as the `ringgate-base` proxy with the
    /// same configs as ringgate; every row gets ratios to it.
    #[arg(long, value_name = "PATH")]
    ringgate_base: Option<PathBuf>,
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

impl CompareArgs {
    /// The proxies to run, in table order: `--proxies` as given, or the
    /// default. Rejects an empty list, a proxy listed twice (its scratch
    /// directory is named after it, and a scenario's proxies all run at
    /// once) and ringgate-base without a binary for it.
    pub fn proxies(&self) -> Result<Vec<ProxyKind>, String> {
        let has_base = self.ringgate_base.is_some();
        let list = match &self.proxies {
            Some(given) => given.clone(),
            None if has_base => DEFAULT_PROXIES_WITH_BASE.to_vec(),
            None => DEFAULT_PROXIES.to_vec(),
        };
        if list.is_empty() {
            return Err("--proxies must not be empty".into());
        }
        for (i, kind) in list.iter().enumerate() {
            if list[..i].contains(kind) {
                return Err(format!("--proxies lists `{}` twice", kind.name()));
            }
        }
        if list.contains(&ProxyKind::RinggateBase) && !has_base {
            return Err(
                "--proxies lists `ringgate-base`, which needs --ringgate-base PATH \
                 (the older ringgate binary to compare with)"
                    .into(),
            );
        }
        Ok(list)
    }

    /// `--ringgate-base` given, but ringgate-base left out of an explicit
    /// `--proxies`: the binary would go unused.
    fn base_unused(&self, proxies: &[ProxyKind]) -> bool {
        self.ringgate_base.is_some() && !proxies.contains(&ProxyKind::RinggateBase)
    }
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
    /// The older ringgate run as `ringgate-base`, if any.
    pub ringgate_base: Option<PathBuf>,
    /// The proxies of every scenario, in table order.
    pub proxies: Vec<ProxyKind>,
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
    let proxies = checked_proxies(&args)?;
    child::install_signal_handlers();
    child::raise_nofile_limit();
    let scratch = output::Scratch::new()?;
    let mut settings = settings(&args, proxies, scratch.path.clone())?;
    if scenarios.iter().any(|s| s.tls) {
        settings.tls = Some(cert::write(&settings.dir)?);
    }
    if scenarios.iter().any(|s| s.jwt) {
        settings.jwt = Some(cert::jwt_token()?);
    }
    let started = output::utc_timestamp();
    let results = run_all(&settings, &scenarios)?;
    output::write_all(&args, &settings, &started, &results)
}

/// The proxies to run, after the checks that must pass before anything
/// starts: a typo in `--ringgate-base` should not cost a whole run.
fn checked_proxies(args: &CompareArgs) -> Result<Vec<ProxyKind>, String> {
    let proxies = args.proxies()?;
    if args.reps == 0 || args.duration.is_zero() {
        return Err("--reps and --duration must not be zero".into());
    }
    if let Some(base) = args.ringgate_base.as_ref().filter(|p| !p.is_file()) {
        return Err(format!("--ringgate-base {}: no such file", base.display()));
    }
    if args.base_unused(&proxies) {
        eprintln!("ringbench compare: --ringgate-base is unused: --proxies has no ringgate-base");
    }
    Ok(proxies)
}

fn settings(args: &CompareArgs, proxies: Vec<ProxyKind>, dir: PathBuf) -> Result<Settings, String> {
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
        ringgate_base: args.ringgate_base.clone(),
        proxies,
        nginx: args.nginx.clone(),
        haproxy: args.haproxy.clone(),
        dir,
        tls: None,
        jwt: None,
    })
}

/// Every scenario × proxy; a proxy that fails is reported and skipped.
fn run_all(s: &Settings, scenarios: &[&Scenario]) -> Result<Vec<ScenarioResult>, String> {
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
            results: run_scenario(s, sc, &origin)?,
            baseline: None,
        };
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

/// One scenario: every proxy that runs it is started first (all pinned to
/// the proxy CPU, idle while another is measured), then the repetitions
/// are interleaved — rep 1 of each proxy in table order, then rep 2 of
/// each, ... — so a slow drift of the machine (thermal, other jobs) hits
/// all proxies alike instead of the ones measured last.
fn run_scenario(
    s: &Settings,
    sc: &Scenario,
    origin: &proxy::Running,
) -> Result<Vec<ProxyResult>, String> {
    let mut contenders = Vec::new();
    for &kind in s.proxies.iter().filter(|&&k| sc.runs_on(k)) {
        child::check_interrupted()?;
        contenders.push(Contender::start(s, sc, kind, origin));
    }
    for i in 1..=s.reps {
        for c in &mut contenders {
            child::check_interrupted()?;
            c.run_rep(s, sc, origin, i);
        }
    }
    Ok(contenders.into_iter().map(Contender::finish).collect())
}

/// One proxy in one scenario while its repetitions run.
struct Contender {
    kind: ProxyKind,
    /// The started proxy; `None` once it failed to start or failed a
    /// repetition (it is stopped then, and skipped from there on).
    running: Option<proxy::Running>,
    reps: Vec<Rep>,
    error: Option<String>,
}

impl Contender {
    /// Starts the proxy; a failure is recorded, not returned, so the other
    /// proxies still run.
    fn start(s: &Settings, sc: &Scenario, kind: ProxyKind, origin: &proxy::Running) -> Contender {
        let (running, error) = match proxy::start_proxy(kind, s, sc, origin.addr.port()) {
            Ok(r) => (Some(r), None),
            Err(e) => {
                eprintln!("ringbench compare: {} did not start: {e}", kind.name());
                (None, Some(e))
            }
        };
        Contender {
            kind,
            running,
            reps: Vec::new(),
            error,
        }
    }

    /// Repetition `i` against the running proxy, if it still runs.
    fn run_rep(&mut self, s: &Settings, sc: &Scenario, origin: &proxy::Running, i: usize) {
        let Some(running) = &self.running else {
            return;
        };
        let name = self.kind.name();
        eprintln!(
            "ringbench compare: {} / {name}: rep {i}/{} ({:?} warmup + {:?})",
            sc.name, s.reps, s.warmup, s.duration
        );
        let pids = measure::Pids {
            proxy: running.child.pid(),
            origin: origin.child.pid(),
        };
        match measure::run_rep(s, sc, running.addr, pids) {
            Ok(rep) => self.reps.push(rep),
            Err(e) => {
                eprintln!("ringbench compare: {name}: {e}");
                self.error = Some(e);
                self.running = None;
            }
        }
    }

    /// The result; stops the proxy.
    fn finish(self) -> ProxyResult {
        ProxyResult::new(self.kind.name(), self.reps, self.error)
    }
}
