//! The immutable, validated form of a config that the cores read: the router,
//! the resolved clusters and each route's target, plus the raw settings.

use std::sync::Arc;

use super::{
    Config, ConfigError, ConfigErrors, OnMissingKey, OnRedisErrorConfig, RateAlgorithm,
    RateBackend, RateLimitConfig, RateMode,
};
use crate::filter::Filters;
use crate::ratelimit::{
    Algorithm, Backend, KeyPart, LimitSpec, MissingKey, Mode, OnRedisError, RedisSpec, Rule,
};
use crate::route::Router;
use crate::tls::{ClientTls, ServerTls};
use crate::upstream::Cluster;

/// Where a matched route sends its requests.
#[derive(Debug, Clone)]
pub struct RouteTarget {
    pub name: String,
    /// Index into `Snapshot::clusters`.
    pub cluster: usize,
    /// Indices into `Snapshot::rate_limits`, checked in this order.
    pub rate_limits: Box<[usize]>,
}

pub struct Snapshot {
    /// Increases with every reload; cores compare it to notice a new snapshot.
    pub generation: u64,
    pub config: Config,
    pub router: Router,
    /// Indexed by the route index the router returns (config order).
    pub routes: Vec<RouteTarget>,
    pub clusters: Vec<Cluster>,
    /// Indexed like `config.listeners`: the TLS settings of each TLS listener,
    /// certificates loaded. Cores copy them with their own session caches.
    pub listener_tls: Vec<Option<ServerTls>>,
    /// `[[rate_limit]]` in config order, then one per `[[consumer]]` with a
    /// `rate_limit` (keyed by that consumer).
    pub rate_limits: Vec<LimitSpec>,
    /// Consumer name → index in `rate_limits` of its own limit.
    pub consumer_limits: ahash::AHashMap<String, usize>,
    /// `[redis]`, when an address is set.
    pub redis: Option<RedisSpec>,
    /// Every method some route lists, sorted (for 405 `Allow`).
    pub route_methods: Vec<String>,
    /// IP rules, auth policies, consumers, identity headers (runtime form).
    pub filters: Filters,
}

impl Snapshot {
    /// Builds the runtime form of an already validated config: compiles the
    /// router, resolves endpoints and loads TLS certificates and CAs (paths
    /// relative to `config.base_dir`), reporting every problem found.
    pub fn build(config: Config, generation: u64) -> Result<Snapshot, ConfigErrors> {
        let mut errors = Vec::new();
        let router = match Router::build(&config.routes) {
            Ok(r) => Some(r),
            Err(route_errors) => {
                errors.extend(route_errors.into_iter().map(|e| ConfigError {
                    path: format!("route[{}].{}", e.route_index, e.key),
                    message: e.message,
                    line: None,
                }));
                None
            }
        };
        let mut clusters = Vec::with_capacity(config.clusters.len());
        for (i, c) in config.clusters.iter().enumerate() {
            let tls = match &c.tls {
                None => None,
                Some(tls) => {
                    match ClientTls::build(
                        tls,
                        &c.endpoints,
                        &config.base_dir,
                        &format!("cluster[{i}]"),
                    ) {
                        Ok(t) => Some(Arc::new(t)),
                        Err(e) => {
                            errors.extend(e);
                            None
                        }
                    }
                }
            };
            match Cluster::from_config(c) {
                Ok(mut c) => {
                    c.tls = tls;
                    clusters.push(c);
                }
                Err(message) => errors.push(ConfigError {
                    path: format!("cluster[{i}].endpoints"),
                    message,
                    line: None,
                }),
            }
        }
        let mut listener_tls = Vec::with_capacity(config.listeners.len());
        for (i, l) in config.listeners.iter().enumerate() {
            let Some(tls) = &l.tls else {
                listener_tls.push(None);
                continue;
            };
            match ServerTls::build(tls, &config.base_dir, &format!("listener[{i}].tls")) {
                Ok(t) => listener_tls.push(Some(t)),
                Err(e) => errors.extend(e),
            }
        }
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, r) in config.routes.iter().enumerate() {
            match config.clusters.iter().position(|c| c.name == r.cluster) {
                Some(cluster) => routes.push(RouteTarget {
                    name: r.name.clone(),
                    cluster,
                    rate_limits: r
                        .rate_limits
                        .iter()
                        .filter_map(|n| config.rate_limits.iter().position(|l| &l.name == n))
                        .collect(),
                }),
                None => errors.push(ConfigError {
                    path: format!("route[{i}].cluster"),
                    message: format!("unknown cluster {:?}", r.cluster),
                    line: None,
                }),
            }
        }
        let mut rate_limits: Vec<LimitSpec> = config.rate_limits.iter().map(limit_spec).collect();
        let mut consumer_limits = ahash::AHashMap::new();
        for c in &config.consumers {
            if let Some(l) = &c.rate_limit {
                consumer_limits.insert(c.name.clone(), rate_limits.len());
                rate_limits.push(limit_spec(&consumer_limit(&c.name, l)));
            }
        }
        let redis = config.redis.address.as_ref().map(|address| {
            let r = &config.redis;
            RedisSpec {
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
            }
        });
        let mut route_methods: Vec<String> = config
            .routes
            .iter()
            .flat_map(|r| r.methods.iter().cloned())
            .collect();
        route_methods.sort_unstable();
        route_methods.dedup();
        let filters = match Filters::build(&config) {
            Ok(f) => Some(f),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        match (router, filters) {
            (Some(router), Some(filters)) if errors.is_empty() => Ok(Snapshot {
                generation,
                config,
                router,
                routes,
                clusters,
                listener_tls,
                rate_limits,
                consumer_limits,
                redis,
                filters,
                route_methods,
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }
}

/// The runtime form of a validated `[[rate_limit]]`.
/// A consumer's own `rate_limit = { requests, per }`: a token bucket of
/// that size keyed by the consumer, applied whenever it authenticates.
fn consumer_limit(name: &str, l: &super::ConsumerRateLimit) -> RateLimitConfig {
    RateLimitConfig {
        name: format!("consumer:{name}"),
        key: vec!["consumer".to_string()],
        algorithm: RateAlgorithm::TokenBucket,
        requests: l.requests,
        per: l.per,
        burst: None,
        mode: RateMode::Global,
        backend: RateBackend::Memory,
        max_keys: 16,
        headers: true,
        on_missing_key: OnMissingKey::Skip,
        lease_size: None,
        lease_ttl: super::Duration::from_millis(100),
    }
}

fn limit_spec(l: &RateLimitConfig) -> LimitSpec {
    let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    LimitSpec {
        name: l.name.as_str().into(),
        key: l
            .key
            .iter()
            .filter_map(|k| KeyPart::parse(k).ok())
            .collect(),
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
