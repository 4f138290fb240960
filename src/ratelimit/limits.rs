//! Building the runtime form of `[[rate_limit]]` and `[redis]`: every
//! problem is reported with its key path, and each key part is parsed once,
//! here. Which limits apply to which request (routes' `rate_limits`, a
//! consumer's own `rate_limit`) is policy: `filter::limit`.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use super::{
    Algorithm, Backend, KeyPart, LimitSpec, MissingKey, Mode, OnRedisError, RedisSpec, Rule,
};
use crate::config::{
    parse_endpoint, Config, ConfigError, OnMissingKey, OnRedisErrorConfig, RateAlgorithm,
    RateBackend, RateLimitConfig, RateMode,
};

const MAX_REQUESTS: u64 = 1_000_000_000;
const MAX_PER: StdDuration = StdDuration::from_secs(7 * 24 * 3600);
const MAX_KEYS: usize = 10_000_000;
const MAX_LEASE: u64 = 1_000_000;

/// Every rate limit of a config, as the cores use them.
pub struct RateLimits {
    /// `[[rate_limit]]` in config order, then whatever the limit policy
    /// added (`push`).
    pub specs: Vec<LimitSpec>,
    /// `[redis]`, when an address is set.
    pub redis: Option<RedisSpec>,
}

impl RateLimits {
    /// Checks and builds every limit of `cfg`, reporting all problems.
    pub fn build(cfg: &Config) -> Result<RateLimits, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut specs = Vec::with_capacity(cfg.rate_limits.len() + cfg.consumers.len());
        let keys = check_limits(cfg, &mut errors);
        for (l, key) in cfg.rate_limits.iter().zip(keys) {
            specs.push(limit_spec(l, key));
        }
        check_redis(cfg, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RateLimits {
            specs,
            redis: redis_spec(cfg),
        })
    }

    /// Adds a limit that is not a `[[rate_limit]]` (already checked, `key`
    /// parsed); returns its index in `specs`.
    pub fn push(&mut self, l: &RateLimitConfig, key: Vec<KeyPart>) -> usize {
        self.specs.push(limit_spec(l, key));
        self.specs.len() - 1
    }
}

fn err(out: &mut Vec<ConfigError>, path: impl Into<String>, message: impl Into<String>) {
    out.push(ConfigError::new(path, message));
}

/// Checks every `[[rate_limit]]`; returns each one's key, its parts
/// parsed once (an unparsable part is reported and left out).
fn check_limits(cfg: &Config, out: &mut Vec<ConfigError>) -> Vec<Vec<KeyPart>> {
    let mut keys = Vec::with_capacity(cfg.rate_limits.len());
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
        keys.push(parts);
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
    keys
}

/// Each route's `rate_limits`, resolved to indices into the limits.
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

fn redis_spec(cfg: &Config) -> Option<RedisSpec> {
    let r = &cfg.redis;
    r.address.as_ref().map(|address| RedisSpec {
        address: address.clone(),
        key_prefix: r.key_prefix.clone(),
        connect_timeout: r.connect_timeout.get(),
        command_timeout: r.command_timeout.get(),
        retry_interval: r.retry_interval.get(),
        on_error: match r.on_redis_error {
            OnRedisErrorConfig::Local => OnRedisError::Local,
            OnRedisErrorConfig::Allow => OnRedisError::Allow,
            OnRedisErrorConfig::Deny => OnRedisError::Deny,
        },
    })
}

/// The runtime form of a checked limit; `key` is its parsed `key`.
fn limit_spec(l: &RateLimitConfig, key: Vec<KeyPart>) -> LimitSpec {
    let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    LimitSpec {
        name: l.name.as_str().into(),
        key,
        on_missing_key: match l.on_missing_key {
            OnMissingKey::ClientIp => MissingKey::ClientIp,
            OnMissingKey::Skip => MissingKey::Skip,
        },
        rule: Rule {
            algorithm: match l.algorithm {
                RateAlgorithm::TokenBucket => Algorithm::TokenBucket,
                RateAlgorithm::Gcra => Algorithm::Gcra,
                RateAlgorithm::FixedWindow => Algorithm::FixedWindow,
                RateAlgorithm::SlidingWindow => Algorithm::SlidingWindow,
            },
            limit: l.requests.max(1),
            period_ns: nanos(l.per.get()).max(1),
            burst: l.burst.unwrap_or(l.requests).max(1),
        },
        mode: match l.mode {
            RateMode::Global => Mode::Global,
            RateMode::Local => Mode::Local,
        },
        backend: match l.backend {
            RateBackend::Memory => Backend::Memory,
            RateBackend::Redis => Backend::Redis,
        },
        max_keys: l.max_keys.max(2),
        headers: l.headers,
        lease_size: l.effective_lease_size().max(1),
        lease_ttl_ns: nanos(l.lease_ttl.get()).max(1),
    }
}
