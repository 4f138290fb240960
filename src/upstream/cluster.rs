//! A named set of endpoints, resolved once when a snapshot is built.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ClusterConfig, ConfigError};
use crate::tls::ClientTls;

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub endpoints: Vec<SocketAddr>,
    /// `Host` for requests that arrive without one (HTTP/1.0): the first
    /// endpoint as configured, since HTTP/1.1 upstreams require a Host.
    pub default_host: String,
    pub max_idle_per_endpoint: usize,
    pub pool_idle_timeout: Duration,
    /// Set for a TLS cluster (`build` loads the CA): the client config and
    /// each endpoint's SNI / verified name.
    pub tls: Option<Arc<ClientTls>>,
}

impl Cluster {
    /// Builds `cluster[i]` (`prefix`): its TLS settings (CA paths relative
    /// to `base`) and its endpoints, reporting the problems of both.
    pub fn build(
        cfg: &ClusterConfig,
        base: &Path,
        prefix: &str,
    ) -> Result<Cluster, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let tls = match cfg
            .tls
            .as_ref()
            .map(|t| ClientTls::build(t, &cfg.endpoints, base, prefix))
        {
            None => None,
            Some(Ok(t)) => Some(Arc::new(t)),
            Some(Err(e)) => {
                errors.extend(e);
                None
            }
        };
        match Cluster::resolve(cfg) {
            Ok(cluster) if errors.is_empty() => Ok(Cluster { tls, ..cluster }),
            Ok(_) => Err(errors),
            Err(message) => {
                errors.push(ConfigError::new(format!("{prefix}.endpoints"), message));
                Err(errors)
            }
        }
    }

    /// Resolves every endpoint (DNS names included); an endpoint that does not
    /// resolve is an error naming it, so a typo fails the load, not a request.
    fn resolve(cfg: &ClusterConfig) -> Result<Cluster, String> {
        let mut endpoints = Vec::with_capacity(cfg.endpoints.len());
        for ep in &cfg.endpoints {
            let addrs = ep
                .to_socket_addrs()
                .map_err(|e| format!("endpoint {ep:?} does not resolve: {e}"))?;
            // One address per configured endpoint: the first the resolver
            // prefers, so "localhost:80" does not silently double its weight.
            let addr = addrs
                .into_iter()
                .next()
                .ok_or_else(|| format!("endpoint {ep:?} resolved to no address"))?;
            endpoints.push(addr);
        }
        Ok(Cluster {
            name: cfg.name.clone(),
            endpoints,
            default_host: cfg.endpoints.first().cloned().unwrap_or_default(),
            max_idle_per_endpoint: cfg.max_idle_per_endpoint,
            pool_idle_timeout: cfg.pool_idle_timeout.get(),
            tls: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(endpoints: &[&str]) -> ClusterConfig {
        ClusterConfig {
            name: "c".into(),
            endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
            load_balancing: Default::default(),
            max_idle_per_endpoint: 4,
            pool_idle_timeout: crate::config::Duration::from_secs(1),
            tls: None,
        }
    }

    #[test]
    fn resolves_literals_and_localhost() {
        let c = Cluster::resolve(&cfg(&["127.0.0.1:80", "[::1]:81", "localhost:82"])).unwrap();
        assert_eq!(c.endpoints.len(), 3);
        assert_eq!(c.endpoints[0], "127.0.0.1:80".parse().unwrap());
        assert_eq!(c.endpoints[2].port(), 82);
    }

    #[test]
    fn unresolvable_endpoint_is_named() {
        let err = Cluster::resolve(&cfg(&["no-such-host.invalid:80"])).unwrap_err();
        assert!(err.contains("no-such-host.invalid"), "{err}");
    }
}
