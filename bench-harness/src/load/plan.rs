//! Turns command-line flags and an optional scenario file into a [`Plan`]:
//! one target address, precomputed request bytes and the run settings.
//! Precedence: command line, then scenario, then defaults.

use super::LoadArgs;
use crate::rng::Rng;
use crate::units::parse_duration;
use serde::Deserialize;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_CONNECTIONS: usize = 64;
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_PIPELINE: usize = 1024;

/// One kind of request, encoded once.
#[derive(Debug)]
pub struct Template {
    /// Leaked on purpose: they live as long as the run and the write path
    /// can then hand monoio a `&'static [u8]` without copying or refcounts.
    pub bytes: &'static [u8],
    pub head_method: bool,
    pub url: String,
}

#[derive(Debug)]
pub struct Plan {
    pub addr: SocketAddr,
    pub templates: Vec<Template>,
    /// Cumulative weights, parallel to `templates`.
    cumulative: Vec<u64>,
    pub connections: usize,
    pub threads: usize,
    pub cpus: Vec<usize>,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    pub warmup: Duration,
    /// Open loop: total requests per second across all connections.
    pub rate: Option<f64>,
    pub keepalive: bool,
    pub pipeline: usize,
    pub timeout: Duration,
    /// Set for `https://` URLs.
    pub tls: Option<super::tls::TlsTarget>,
}

impl Plan {
    /// Index of a template drawn by weight.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        if self.templates.len() == 1 {
            return 0;
        }
        let total = self.cumulative.last().copied().unwrap_or(1);
        let x = rng.below(total);
        self.cumulative.iter().position(|&c| x < c).unwrap_or(0)
    }

    pub fn target(&self) -> &str {
        self.templates.first().map_or("", |t| t.url.as_str())
    }
}

/// The scenario file: the same settings as the flags, plus several
/// weighted requests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    connections: Option<usize>,
    threads: Option<usize>,
    cpus: Option<Vec<usize>>,
    duration: Option<String>,
    requests: Option<u64>,
    warmup: Option<String>,
    rate: Option<f64>,
    keepalive: Option<bool>,
    pipeline: Option<usize>,
    timeout: Option<String>,
    /// Defaults for every `[[request]]`.
    method: Option<String>,
    #[serde(default)]
    headers: Vec<String>,
    body: Option<String>,
    body_file: Option<PathBuf>,
    #[serde(default, rename = "request")]
    request_list: Vec<ScenarioRequest>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioRequest {
    url: String,
    weight: Option<u32>,
    method: Option<String>,
    #[serde(default)]
    headers: Vec<String>,
    body: Option<String>,
    body_file: Option<PathBuf>,
}

/// A request before encoding.
struct RequestSpec {
    url: String,
    weight: u32,
    method: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

pub fn build(args: &LoadArgs) -> Result<Plan, String> {
    let scenario = match &args.scenario {
        Some(path) => load_scenario(path)?,
        None => Scenario::default(),
    };
    let specs = request_specs(args, &scenario)?;
    let keepalive = if args.new_conn {
        false
    } else if args.keepalive {
        true
    } else {
        scenario.keepalive.unwrap_or(true)
    };
    let (addr, templates, cumulative, tls_host) = encode_all(&specs, keepalive)?;
    let tls = match (tls_host, &args.cacert) {
        (None, None) => None,
        (None, Some(_)) => return Err("--cacert is only for https:// URLs".into()),
        (Some(_), None) => {
            return Err("https:// URLs need --cacert FILE (the certificates to trust)".into())
        }
        (Some(host), Some(file)) => Some(super::tls::TlsTarget {
            config: super::tls::client_config(file, !args.no_tls_resume)?,
            name: super::tls::server_name(&host)?,
        }),
    };
    let dur = |flag: Option<Duration>, file: &Option<String>| -> Result<Option<Duration>, String> {
        flag.map_or_else(
            || file.as_deref().map(parse_duration).transpose(),
            |d| Ok(Some(d)),
        )
    };
    let connections = args
        .connections
        .or(scenario.connections)
        .unwrap_or(DEFAULT_CONNECTIONS);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args
        .threads
        .or(scenario.threads)
        .unwrap_or(cores)
        .min(connections);
    let count = args.requests.or(scenario.requests);
    let mut duration = dur(args.duration, &scenario.duration)?;
    if duration.is_none() && count.is_none() {
        duration = Some(DEFAULT_DURATION);
    }
    let plan = Plan {
        addr,
        templates,
        cumulative,
        connections,
        threads,
        cpus: args
            .cpus
            .as_ref()
            .map(|c| c.0.clone())
            .or(scenario.cpus)
            .unwrap_or_default(),
        duration,
        count,
        warmup: dur(args.warmup, &scenario.warmup)?.unwrap_or(Duration::ZERO),
        rate: args.rate.or(scenario.rate),
        keepalive,
        pipeline: args.pipeline.or(scenario.pipeline).unwrap_or(1),
        timeout: dur(args.timeout, &scenario.timeout)?.unwrap_or(DEFAULT_TIMEOUT),
        tls,
    };
    validate(&plan)?;
    Ok(plan)
}

fn validate(p: &Plan) -> Result<(), String> {
    if p.connections == 0 || p.threads == 0 {
        return Err("connections and threads must be at least 1".into());
    }
    if p.pipeline == 0 || p.pipeline > MAX_PIPELINE {
        return Err(format!("pipeline depth must be 1..={MAX_PIPELINE}"));
    }
    if p.pipeline > 1 && (p.rate.is_some() || !p.keepalive) {
        return Err(
            "--pipeline needs keep-alive and the closed loop (no --rate, no --new-conn)".into(),
        );
    }
    if p.rate.is_some_and(|r| !(r.is_finite() && r >= 0.001)) {
        return Err("--rate must be at least 0.001 requests per second".into());
    }
    if p.timeout.is_zero() || p.duration.is_some_and(|d| d.is_zero()) || p.count == Some(0) {
        return Err("--timeout, --duration and --requests must be positive".into());
    }
    Ok(())
}

fn load_scenario(path: &Path) -> Result<Scenario, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("scenario {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("scenario {}: {e}", path.display()))
}

/// URLs from the command line replace the scenario's `[[request]]` list;
/// `-H` headers apply to every request.
fn request_specs(args: &LoadArgs, sc: &Scenario) -> Result<Vec<RequestSpec>, String> {
    let cli_body = read_body(&args.body, &args.body_file)?;
    let file_body = read_body(&sc.body, &sc.body_file)?;
    let method = |own: &Option<String>| {
        own.clone()
            .or(args.method.clone())
            .or(sc.method.clone())
            .unwrap_or_else(|| "GET".into())
    };
    let headers = |own: &[String]| [&sc.headers[..], own, &args.headers[..]].concat();
    if !args.urls.is_empty() {
        if !args.weights.is_empty() && args.weights.len() != args.urls.len() {
            return Err("give one --weight per URL, or none".into());
        }
        return args
            .urls
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let (url, weight) = split_weight(u)?;
                Ok(RequestSpec {
                    url,
                    weight: args.weights.get(i).copied().or(weight).unwrap_or(1),
                    method: method(&None),
                    headers: headers(&[]),
                    body: cli_body.clone().or(file_body.clone()).unwrap_or_default(),
                })
            })
            .collect();
    }
    if sc.request_list.is_empty() {
        return Err("no URL given (positional URL or [[request]] in --scenario)".into());
    }
    sc.request_list
        .iter()
        .map(|r| {
            let body = read_body(&r.body, &r.body_file)?;
            Ok(RequestSpec {
                url: r.url.clone(),
                weight: r.weight.unwrap_or(1),
                method: method(&r.method),
                headers: headers(&r.headers),
                body: body
                    .or(cli_body.clone())
                    .or(file_body.clone())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn read_body(text: &Option<String>, file: &Option<PathBuf>) -> Result<Option<Vec<u8>>, String> {
    match (text, file) {
        (Some(_), Some(_)) => Err("give either a body or a body file, not both".into()),
        (Some(t), None) => Ok(Some(t.clone().into_bytes())),
        (None, Some(f)) => std::fs::read(f)
            .map(Some)
            .map_err(|e| format!("body file {}: {e}", f.display())),
        (None, None) => Ok(None),
    }
}

/// `http://h/p@3` → (`http://h/p`, Some(3)). An `@` not followed by a
/// number is part of the URL.
fn split_weight(s: &str) -> Result<(String, Option<u32>), String> {
    match s.rsplit_once('@') {
        Some((url, w)) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
            let w = w
                .parse()
                .map_err(|_| format!("weight in `{s}` is too large"))?;
            Ok((url.to_string(), Some(w)))
        }
        _ => Ok((s.to_string(), None)),
    }
}

/// Address, templates, cumulative weights, and the host for https URLs.
type Encoded = (SocketAddr, Vec<Template>, Vec<u64>, Option<String>);

fn encode_all(specs: &[RequestSpec], keepalive: bool) -> Result<Encoded, String> {
    let mut addr = None;
    let mut tls = None;
    let mut templates = Vec::new();
    let mut cumulative = Vec::new();
    let mut total = 0u64;
    for spec in specs {
        let url = Url::parse(&spec.url)?;
        let a = url.resolve()?;
        if addr.is_some_and(|prev| prev != a) {
            return Err(format!(
                "all URLs must share one host:port (`{}` differs)",
                spec.url
            ));
        }
        if addr.is_some() && tls != url.tls {
            return Err(format!(
                "all URLs must share one scheme (`{}` differs)",
                spec.url
            ));
        }
        addr = Some(a);
        tls = url.tls.clone();
        let bytes = encode_request(spec, &url, keepalive)?;
        templates.push(Template {
            bytes: Box::leak(bytes.into_boxed_slice()),
            head_method: spec.method.eq_ignore_ascii_case("HEAD"),
            url: spec.url.clone(),
        });
        total += u64::from(spec.weight);
        cumulative.push(total);
    }
    if total == 0 {
        return Err("at least one request needs a weight above 0".into());
    }
    Ok((addr.ok_or("no requests")?, templates, cumulative, tls))
}

fn encode_request(spec: &RequestSpec, url: &Url, keepalive: bool) -> Result<Vec<u8>, String> {
    let method = &spec.method;
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
    {
        return Err(format!("method `{method}` is not a valid token"));
    }
    let mut out = format!("{method} {} HTTP/1.1\r\n", url.path).into_bytes();
    let mut has_host = false;
    let mut has_length = false;
    for h in &spec.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header `{h}` must look like 'Name: value'"))?;
        let name = name.trim();
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_graphic())
            || value.contains(['\r', '\n'])
        {
            return Err(format!("header `{h}` has an invalid name or value"));
        }
        has_host |= name.eq_ignore_ascii_case("host");
        has_length |= name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding");
        out.extend_from_slice(format!("{name}: {}\r\n", value.trim()).as_bytes());
    }
    if !has_host {
        out.extend_from_slice(format!("Host: {}\r\n", url.authority).as_bytes());
    }
    let wants_length = !spec.body.is_empty() || matches!(method.as_str(), "POST" | "PUT" | "PATCH");
    if wants_length && !has_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", spec.body.len()).as_bytes());
    }
    if !keepalive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&spec.body);
    Ok(out)
}

/// The parts of an `http://` or `https://` URL the generator needs.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    authority: String,
    host: String,
    port: u16,
    path: String,
    /// `https://`: the host, the name the server's certificate must carry.
    tls: Option<String>,
}

impl Url {
    fn parse(s: &str) -> Result<Url, String> {
        let (rest, https) = match (s.strip_prefix("http://"), s.strip_prefix("https://")) {
            (Some(r), _) => (r, false),
            (_, Some(r)) => (r, true),
            _ => return Err(format!("URL `{s}` must start with http:// or https://")),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (
                h,
                p.parse()
                    .map_err(|_| format!("URL `{s}`: bad port `{p}`"))?,
            ),
            _ => (authority, if https { 443 } else { 80 }),
        };
        if host.is_empty() || path.contains([' ', '\r', '\n']) {
            return Err(format!("URL `{s}` has no host or contains spaces"));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Url {
            authority: authority.to_string(),
            tls: https.then(|| host.clone()),
            host,
            port,
            path,
        })
    }

    fn resolve(&self) -> Result<SocketAddr, String> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
            .collect();
        // Prefer IPv4: `localhost` servers usually listen on 127.0.0.1 only.
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or(format!("{} has no address", self.host))
    }
}

#[cfg(test)]
mod tests;
