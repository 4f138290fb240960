//! The immutable, validated form of a config that the cores read: the router,
//! the resolved clusters and each route's target, plus the raw settings.

use super::{Config, ConfigError, ConfigErrors};
use crate::filter::Filters;
use crate::route::Router;
use crate::upstream::Cluster;

/// Where a matched route sends its requests.
#[derive(Debug, Clone)]
pub struct RouteTarget {
    pub name: String,
    /// Index into `Snapshot::clusters`.
    pub cluster: usize,
}

pub struct Snapshot {
    /// Increases with every reload; cores compare it to notice a new snapshot.
    pub generation: u64,
    pub config: Config,
    pub router: Router,
    /// Indexed by the route index the router returns (config order).
    pub routes: Vec<RouteTarget>,
    pub clusters: Vec<Cluster>,
    /// Every method some route lists, sorted (for 405 `Allow`).
    pub route_methods: Vec<String>,
    /// IP rules, auth policies, consumers, identity headers (runtime form).
    pub filters: Filters,
}

impl Snapshot {
    /// Builds the runtime form of an already validated config: compiles the
    /// router and resolves endpoints, reporting every problem found.
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
            match Cluster::from_config(c) {
                Ok(c) => clusters.push(c),
                Err(message) => errors.push(ConfigError {
                    path: format!("cluster[{i}].endpoints"),
                    message,
                    line: None,
                }),
            }
        }
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, r) in config.routes.iter().enumerate() {
            match config.clusters.iter().position(|c| c.name == r.cluster) {
                Some(cluster) => routes.push(RouteTarget {
                    name: r.name.clone(),
                    cluster,
                }),
                None => errors.push(ConfigError {
                    path: format!("route[{i}].cluster"),
                    message: format!("unknown cluster {:?}", r.cluster),
                    line: None,
                }),
            }
        }
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
                filters,
                route_methods,
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }
}
