//! Checks on `[[rate_limit]]`, `[redis]` and the routes' `rate_limits`.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use super::err;
use crate::config::endpoint::parse_endpoint;
use crate::config::error::ConfigError;
use crate::config::schema::{Config, RateAlgorithm, RateBackend, RateMode};
use crate::ratelimit::KeyPart;

pub(crate) const MAX_REQUESTS: u64 = 1_000_000_000;
pub(crate) const MAX_PER: StdDuration = StdDuration::from_secs(7 * 24 * 3600);
pub(crate) const MAX_KEYS: usize = 10_000_000;
pub(crate) const MAX_LEASE: u64 = 1_000_000;

pub(super) fn check(cfg: &Config, out: &mut Vec<ConfigError>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, l) in cfg.rate_limits.iter().enumerate() {
        let at = |key: &str| format!("rate_limit[{i}].{key}");
        if l.name.trim().is_empty() {
            err(out, at("name"), "must not be empty");
        } else if let Some(j) = names.get(l.name.as_str()) {
            err(
                out,
                at("name"),
                format!(
                    "duplicate rate_limit name {:?} (also used by rate_limit[{j}])",
                    l.name
                ),
            );
        } else {
            names.insert(&l.name, i);
        }
        if l.key.is_empty() {
            err(
                out,
                at("key"),
                "must list at least one key part, e.g. [\"client_ip\"]",
            );
        }
        let mut parts = Vec::new();
        for (j, k) in l.key.iter().enumerate() {
            match KeyPart::parse(k) {
                Ok(p) if parts.contains(&p) => err(
                    out,
                    format!("rate_limit[{i}].key[{j}]"),
                    format!("{k:?} is listed twice"),
                ),
                Ok(p) => parts.push(p),
                Err(m) => err(out, format!("rate_limit[{i}].key[{j}]"), m),
            }
        }
        if l.requests == 0 || l.requests > MAX_REQUESTS {
            err(
                out,
                at("requests"),
                format!("{} is not between 1 and {MAX_REQUESTS}", l.requests),
            );
        }
        let per = l.per.get();
        if per < StdDuration::from_millis(1) || per > MAX_PER {
            err(out, at("per"), "must be between 1ms and 7 days (\"168h\")");
        }
        match (l.algorithm, l.burst) {
            (RateAlgorithm::FixedWindow | RateAlgorithm::SlidingWindow, Some(_)) => err(
                out,
                at("burst"),
                "only token_bucket and gcra take a burst (a window's burst is its whole limit)",
            ),
            (_, Some(b)) if b == 0 || b > MAX_REQUESTS => err(
                out,
                at("burst"),
                format!("{b} is not between 1 and {MAX_REQUESTS}"),
            ),
            _ => {}
        }
        if l.max_keys < 2 || l.max_keys > MAX_KEYS {
            err(
                out,
                at("max_keys"),
                format!("{} is not between 2 and {MAX_KEYS}", l.max_keys),
            );
        }
        if let Some(n) = l.lease_size {
            if n == 0 || n > MAX_LEASE {
                err(
                    out,
                    at("lease_size"),
                    format!("{n} is not between 1 and {MAX_LEASE}"),
                );
            }
        }
        if l.lease_ttl.get().is_zero() || l.lease_ttl.get() > StdDuration::from_secs(60) {
            err(out, at("lease_ttl"), "must be between 1ms and 60s");
        }
        if l.backend == RateBackend::Redis {
            if l.mode == RateMode::Local {
                err(
                    out,
                    at("backend"),
                    "backend = \"redis\" shares a budget, so it needs mode = \"global\"",
                );
            }
            if cfg.redis.address.is_none() {
                err(
                    out,
                    at("backend"),
                    "backend = \"redis\" needs [redis] address = \"host:port\"",
                );
            }
        }
    }
    for (i, r) in cfg.routes.iter().enumerate() {
        for (j, name) in r.rate_limits.iter().enumerate() {
            let path = format!("route[{i}].rate_limits[{j}]");
            if r.rate_limits[..j].contains(name) {
                err(out, path, format!("{name:?} is listed twice"));
            } else if !cfg.rate_limits.iter().any(|l| &l.name == name) {
                let known: Vec<String> = cfg
                    .rate_limits
                    .iter()
                    .map(|l| format!("{:?}", l.name))
                    .collect();
                let known = if known.is_empty() {
                    "no [[rate_limit]] is defined".to_string()
                } else {
                    format!("defined: {}", known.join(", "))
                };
                err(out, path, format!("unknown rate_limit {name:?} ({known})"));
            }
        }
    }
    check_redis(cfg, out);
}

fn check_redis(cfg: &Config, out: &mut Vec<ConfigError>) {
    let r = &cfg.redis;
    if let Some(a) = &r.address {
        if let Err(m) = parse_endpoint(a) {
            err(out, "redis.address", m);
        }
    }
    if r.key_prefix.is_empty()
        || !r
            .key_prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
    {
        err(
            out,
            "redis.key_prefix",
            "must be non-empty printable ASCII without spaces or braces (braces are the hash tag)",
        );
    }
    for (key, d) in [
        ("connect_timeout", r.connect_timeout),
        ("command_timeout", r.command_timeout),
        ("retry_interval", r.retry_interval),
    ] {
        if d.get().is_zero() || d.get() > StdDuration::from_secs(60) {
            err(out, format!("redis.{key}"), "must be between 1ms and 60s");
        }
    }
}
