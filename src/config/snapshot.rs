//! The immutable, validated form of a config that the cores read: the router,
//! the resolved clusters and each route's target, plus the raw settings.

use std::sync::Arc;

use super::{Config, ConfigError, ConfigErrors};
use crate::route::Router;
use crate::tls::{ClientTls, ServerTls};
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
    /// Indexed like `config.listeners`: the TLS settings of each TLS listener,
    /// certificates loaded. Cores copy them with their own session caches.
    pub listener_tls: Vec<Option<ServerTls>>,
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
                }),
                None => errors.push(ConfigError {
                    path: format!("route[{i}].cluster"),
                    message: format!("unknown cluster {:?}", r.cluster),
                    line: None,
                }),
            }
        }
        match router {
            Some(router) if errors.is_empty() => Ok(Snapshot {
                generation,
                config,
                router,
                routes,
                clusters,
                listener_tls,
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }
}
