//! Starting the origin and the proxies under test, each as a [`Guarded`]
//! child pinned to its CPU, and waiting until it answers.

use super::child::{Guarded, Stream};
use super::scenario::{Scenario, JWT_SECRET, JWT_SECRET_ENV};
use super::{confgen, probe, Settings};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const STARTUP: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    Ringgate,
    /// An older ringgate build (`--ringgate-base`), run exactly like
    /// `ringgate` in the same run, so a change can be checked for
    /// regressions with same-run ratios.
    RinggateBase,
    Nginx,
    Haproxy,
}

impl ProxyKind {
    pub fn name(self) -> &'static str {
        match self {
            ProxyKind::Ringgate => "ringgate",
            ProxyKind::RinggateBase => "ringgate-base",
            ProxyKind::Nginx => "nginx",
            ProxyKind::Haproxy => "haproxy",
        }
    }

    /// The proxy whose config, scenario snippets and scenario restrictions
    /// this one uses: ringgate-base is ringgate with another binary.
    pub fn config_kind(self) -> ProxyKind {
        match self {
            ProxyKind::RinggateBase => ProxyKind::Ringgate,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OriginKind {
    Nginx,
    Ringbench,
}

impl OriginKind {
    pub fn name(self) -> &'static str {
        match self {
            OriginKind::Nginx => "nginx",
            OriginKind::Ringbench => "ringbench",
        }
    }
}

/// A started server: the process tree and the address it answers on.
pub struct Running {
    pub child: Guarded,
    pub addr: SocketAddr,
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn make_dir(path: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

/// Starts the origin on the load CPU and checks every scenario path.
pub fn start_origin(s: &Settings, scenarios: &[&Scenario]) -> Result<Running, String> {
    let cpu = s.load_cpu;
    let running = match s.origin {
        OriginKind::Ringbench => {
            let mut cmd = Command::new(&s.self_exe);
            let cpus = cpu.to_string();
            cmd.args(["origin", "--listen", "127.0.0.1:0", "--threads", "1"]);
            cmd.args(["--cpus", &cpus]);
            let log = s.dir.join("origin.log");
            let mut child = Guarded::spawn("origin (ringbench)", cmd, Some(cpu), Some(&log))?;
            let addr = child.wait_line(Stream::Stdout, STARTUP, |l| {
                l.strip_prefix("listening on ")?.trim().parse().ok()
            })?;
            Running { child, addr }
        }
        OriginKind::Nginx => {
            let dir = make_dir(&s.dir.join("origin-nginx"))?;
            let www = make_dir(&dir.join("www"))?;
            let sizes = super::scenario::body_sizes(scenarios);
            for n in &sizes {
                std::fs::write(www.join(format!("bytes-{n}")), vec![b'x'; *n])
                    .map_err(|e| format!("origin body file: {e}"))?;
            }
            let port = probe::free_port()?;
            let conf = dir.join("nginx.conf");
            write(&conf, &confgen::nginx_origin(&dir, cpu, port, &sizes))?;
            let child = spawn_nginx("origin (nginx)", &s.nginx, &dir, &conf, cpu)?;
            Running {
                child,
                addr: localhost(port),
            }
        }
    };
    check_paths(running, scenarios)
}

/// The origin must answer 200 on every scenario's path before we start.
fn check_paths(mut r: Running, scenarios: &[&Scenario]) -> Result<Running, String> {
    for sc in scenarios {
        probe::wait_ok(r.addr, sc.path, STARTUP, || r.child.alive())
            .map_err(|e| r.child.failure(&e))?;
    }
    Ok(r)
}

fn spawn_nginx(
    name: &str,
    bin: &str,
    dir: &Path,
    conf: &Path,
    cpu: usize,
) -> Result<Guarded, String> {
    let mut cmd = Command::new(bin);
    // -e: errors before the config is read go to our directory too.
    cmd.arg("-p").arg(dir).arg("-c").arg(conf);
    cmd.arg("-e").arg(dir.join("error.log"));
    let log = dir.join("stderr.log");
    let mut g = Guarded::spawn(name, cmd, Some(cpu), Some(&log))?;
    // Config errors may land on stderr, everything later in error.log.
    g.logs.push(dir.join("error.log"));
    Ok(g)
}

/// Starts one proxy for one scenario and waits until a request through it
/// reaches the origin.
pub fn start_proxy(
    kind: ProxyKind,
    s: &Settings,
    sc: &Scenario,
    origin_port: u16,
) -> Result<Running, String> {
    let cpu = s.proxy_cpu;
    let dir = make_dir(&s.dir.join(format!("{}-{}", kind.name(), sc.name)))?;
    let tls = if sc.tls {
        Some(s.tls.as_ref().ok_or("no TLS certificate was made")?)
    } else {
        None
    };
    let opts = probe_opts(s, sc)?;
    let mut r = match kind {
        ProxyKind::Ringgate | ProxyKind::RinggateBase => {
            let conf = dir.join("ringgate.toml");
            write(
                &conf,
                &confgen::ringgate(cpu, origin_port, &sc.snippets, tls),
            )?;
            let cmd = ringgate_command(kind, s, sc, &conf)?;
            let log = dir.join("stderr.log");
            let mut child = Guarded::spawn(kind.name(), cmd, Some(cpu), Some(&log))?;
            let addr = child.wait_line(Stream::Stdout, STARTUP, |l| {
                l.strip_prefix("ringgate: listening on main ")?
                    .trim()
                    .parse()
                    .ok()
            })?;
            Running { child, addr }
        }
        ProxyKind::Nginx => {
            let port = probe::free_port()?;
            let conf = dir.join("nginx.conf");
            write(
                &conf,
                &confgen::nginx_proxy(&dir, cpu, port, origin_port, &sc.snippets, tls),
            )?;
            let child = spawn_nginx("nginx", &s.nginx, &dir, &conf, cpu)?;
            Running {
                child,
                addr: localhost(port),
            }
        }
        ProxyKind::Haproxy => {
            let port = probe::free_port()?;
            let conf = dir.join("haproxy.cfg");
            write(
                &conf,
                &confgen::haproxy(cpu, port, origin_port, &sc.snippets, tls),
            )?;
            let mut cmd = Command::new(&s.haproxy);
            cmd.arg("-f").arg(&conf).arg("-db");
            let log = dir.join("stderr.log");
            let child = Guarded::spawn("haproxy", cmd, Some(cpu), Some(&log))?;
            Running {
                child,
                addr: localhost(port),
            }
        }
    };
    probe::wait_ok_with(r.addr, sc.path, &opts, STARTUP, || r.child.alive())
        .map_err(|e| r.child.failure(&e))?;
    Ok(r)
}

/// The command of a ringgate-flavoured proxy with the generated config
/// `conf`: ringgate and ringgate-base differ only in the binary
/// (`--ringgate` or `--ringgate-base`), never in arguments or environment.
pub fn ringgate_command(
    kind: ProxyKind,
    s: &Settings,
    sc: &Scenario,
    conf: &Path,
) -> Result<Command, String> {
    let bin = match kind {
        ProxyKind::Ringgate => &s.ringgate,
        ProxyKind::RinggateBase => s
            .ringgate_base
            .as_ref()
            .ok_or("ringgate-base needs --ringgate-base PATH")?,
        ProxyKind::Nginx | ProxyKind::Haproxy => {
            return Err(format!("{} is not a ringgate", kind.name()))
        }
    };
    let mut cmd = Command::new(bin);
    cmd.arg("run").arg("--config").arg(conf);
    if sc.jwt {
        cmd.env(JWT_SECRET_ENV, JWT_SECRET);
    }
    Ok(cmd)
}

/// TLS and headers a request to a proxy in scenario `sc` needs.
fn probe_opts(s: &Settings, sc: &Scenario) -> Result<probe::Opts, String> {
    let mut opts = probe::Opts::default();
    if sc.tls {
        let files = s.tls.as_ref().ok_or("no TLS certificate was made")?;
        opts.tls = Some(probe::tls_config(&files.cert)?);
    }
    if sc.jwt {
        let token = s.jwt.as_ref().ok_or("no JWT was made")?;
        opts.headers.push(format!("Authorization: Bearer {token}"));
    }
    Ok(opts)
}
