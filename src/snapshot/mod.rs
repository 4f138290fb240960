//! The immutable, validated form of a config that the cores read: the router,
//! the resolved clusters and each route's target, plus the raw settings.
//!
//! The layer above the features: `config` is the schema and the checks that
//! need no feature's knowledge; each feature builds (and so validates) its
//! own runtime form, and `Snapshot::build` runs them all, collecting every
//! error. `ringgate check`, `run` and a reload all go through `load`, so
//! what is checked is exactly what is built.

use std::path::Path;

use crate::config::{self, Config, ConfigError, ConfigErrors, Draft};
use crate::filter::limit::LimitPolicy;
use crate::filter::Filters;
use crate::ratelimit::{LimitSpec, RateLimits, RedisSpec};
use crate::route::Router;
use crate::tls::ServerTls;
use crate::upstream::Cluster;

#[cfg(test)]
mod tests;

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

/// Loads a config file and builds its snapshot (resolving endpoints, loading
/// certificates and keys): what `check`, `run` and a reload do. Every
/// problem, from the file or from any feature, is listed with its key path
/// and line.
pub fn load(path: &Path, generation: u64) -> Result<Snapshot, ConfigErrors> {
    Draft::read(path)?.finish(|config| Snapshot::build(config, generation))
}

impl Snapshot {
    /// Builds the runtime form of a config: checks it (`config::validate`),
    /// then has each feature build its part from it, reporting every
    /// problem found. Paths are relative to `config.base_dir`.
    pub fn build(config: Config, generation: u64) -> Result<Snapshot, Vec<ConfigError>> {
        let mut errors = config::validate(&config);
        // Entries `validate` rejected are not built: that would only repeat
        // its errors (or resolve endpoints it already found malformed).
        let rejected: Vec<String> = errors.iter().map(|e| e.path.clone()).collect();
        let is_rejected = |entry: &str| rejected.iter().any(|path| is_within(path, entry));
        let router = Router::build(&config.routes)
            .map_err(|e| errors.extend(e.into_iter().map(ConfigError::from)))
            .ok();
        let clusters = build_clusters(&config, &is_rejected, &mut errors);
        let listener_tls = build_listener_tls(&config, &mut errors);
        let route_clusters = route_clusters(&config, &is_rejected, &mut errors);
        let limits = RateLimits::build(&config)
            .map_err(|e| errors.extend(e))
            .ok();
        let policy = LimitPolicy::build(&config)
            .map_err(|e| errors.extend(e))
            .ok();
        let filters = Filters::build(&config).map_err(|e| errors.extend(e)).ok();
        let (Some(router), Some(mut limits), Some(policy), Some(filters)) =
            (router, limits, policy, filters)
        else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        for (l, key) in policy.consumer_specs {
            limits.push(&l, key);
        }
        let routes = route_targets(&config, route_clusters, policy.route_limits);
        let mut route_methods: Vec<String> = config
            .routes
            .iter()
            .flat_map(|r| r.methods.iter().cloned())
            .collect();
        route_methods.sort_unstable();
        route_methods.dedup();
        Ok(Snapshot {
            generation,
            config,
            router,
            routes,
            clusters,
            listener_tls,
            rate_limits: limits.specs,
            consumer_limits: policy.consumer_limits,
            redis: limits.redis,
            filters,
            route_methods,
        })
    }
}

/// Each cluster `validate` did not reject, built (endpoints resolved, CA
/// loaded).
fn build_clusters(
    config: &Config,
    is_rejected: &dyn Fn(&str) -> bool,
    errors: &mut Vec<ConfigError>,
) -> Vec<Cluster> {
    let mut clusters = Vec::with_capacity(config.clusters.len());
    for (i, c) in config.clusters.iter().enumerate() {
        let prefix = format!("cluster[{i}]");
        if is_rejected(&prefix) {
            continue;
        }
        match Cluster::build(c, &config.base_dir, &prefix) {
            Ok(c) => clusters.push(c),
            Err(e) => errors.extend(e),
        }
    }
    clusters
}

/// Indexed like `config.listeners`: each TLS listener's settings, built.
fn build_listener_tls(config: &Config, errors: &mut Vec<ConfigError>) -> Vec<Option<ServerTls>> {
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
    listener_tls
}

/// Each route's cluster, as an index into `config.clusters`.
fn route_clusters(
    config: &Config,
    is_rejected: &dyn Fn(&str) -> bool,
    errors: &mut Vec<ConfigError>,
) -> Vec<usize> {
    let mut route_clusters = Vec::with_capacity(config.routes.len());
    for (i, r) in config.routes.iter().enumerate() {
        let path = format!("route[{i}].cluster");
        match config.clusters.iter().position(|c| c.name == r.cluster) {
            Some(cluster) => route_clusters.push(cluster),
            // `validate` named it, with the clusters that do exist.
            None if is_rejected(&path) => {}
            None => errors.push(ConfigError::new(
                path,
                format!("unknown cluster {:?}", r.cluster),
            )),
        }
    }
    route_clusters
}

/// Each route's target: its cluster and limits, as indices.
fn route_targets(
    config: &Config,
    clusters: Vec<usize>,
    limits: Vec<Box<[usize]>>,
) -> Vec<RouteTarget> {
    (config.routes.iter().zip(clusters).zip(limits))
        .map(|((r, cluster), rate_limits)| RouteTarget {
            name: r.name.clone(),
            cluster,
            rate_limits,
        })
        .collect()
}

/// Whether key path `path` is `entry` or inside it (`cluster[1].endpoints`
/// is within `cluster[1]`, `cluster[10]` is not).
fn is_within(path: &str, entry: &str) -> bool {
    path.strip_prefix(entry)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}
