//! Checks on the `[[listener]]`, `[[cluster]]` and `[[route]]` arrays.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::err;
use crate::config::endpoint::parse_endpoint;
use crate::config::error::ConfigError;
use crate::config::schema::{ClusterConfig, ListenerConfig, RouteConfig};

pub(crate) const MAX_IDLE_PER_ENDPOINT: usize = 100_000;

pub(super) fn check_listeners(listeners: &[ListenerConfig], out: &mut Vec<ConfigError>) {
    if listeners.is_empty() {
        err(
            out,
            "listener",
            "no listeners: add at least one [[listener]] table",
        );
    }
    check_names("listener", listeners.iter().map(|l| l.name.as_str()), out);
    let mut seen: HashMap<SocketAddr, usize> = HashMap::new();
    for (i, l) in listeners.iter().enumerate() {
        let path = format!("listener[{i}].address");
        match l.address.parse::<SocketAddr>() {
            Err(_) => err(
                out,
                path,
                format!(
                    "invalid address {:?}: expected ip:port such as \"127.0.0.1:8080\" or \
                     \"[::1]:8080\" (host names are not allowed here)",
                    l.address
                ),
            ),
            // Port 0 asks the OS for a fresh port, so those never collide.
            Ok(addr) if addr.port() == 0 => {}
            Ok(addr) => {
                if let Some(j) = seen.get(&addr) {
                    err(
                        out,
                        path,
                        format!("address {addr} is already used by listener[{j}]"),
                    );
                } else {
                    seen.insert(addr, i);
                }
            }
        }
    }
}

pub(super) fn check_clusters(clusters: &[ClusterConfig], out: &mut Vec<ConfigError>) {
    check_names("cluster", clusters.iter().map(|c| c.name.as_str()), out);
    for (i, c) in clusters.iter().enumerate() {
        if c.endpoints.is_empty() {
            err(
                out,
                format!("cluster[{i}].endpoints"),
                "must list at least one endpoint",
            );
        }
        for (j, endpoint) in c.endpoints.iter().enumerate() {
            if let Err(message) = parse_endpoint(endpoint) {
                err(out, format!("cluster[{i}].endpoints[{j}]"), message);
            }
        }
        if c.max_idle_per_endpoint > MAX_IDLE_PER_ENDPOINT {
            err(
                out,
                format!("cluster[{i}].max_idle_per_endpoint"),
                format!(
                    "{} is more than the maximum of {MAX_IDLE_PER_ENDPOINT}",
                    c.max_idle_per_endpoint
                ),
            );
        }
        if c.pool_idle_timeout.get().is_zero() {
            err(
                out,
                format!("cluster[{i}].pool_idle_timeout"),
                "must be greater than 0",
            );
        }
    }
}

pub(super) fn check_routes(
    routes: &[RouteConfig],
    clusters: &[ClusterConfig],
    out: &mut Vec<ConfigError>,
) {
    check_names("route", routes.iter().map(|r| r.name.as_str()), out);
    for (i, r) in routes.iter().enumerate() {
        if !clusters.iter().any(|c| c.name == r.cluster) {
            err(
                out,
                format!("route[{i}].cluster"),
                unknown_cluster(&r.cluster, clusters),
            );
        }
    }
}

fn unknown_cluster(name: &str, clusters: &[ClusterConfig]) -> String {
    let known = if clusters.is_empty() {
        "no [[cluster]] is defined".to_string()
    } else {
        let names: Vec<String> = clusters.iter().map(|c| format!("{:?}", c.name)).collect();
        format!("defined clusters: {}", names.join(", "))
    };
    format!("unknown cluster {name:?} ({known})")
}

/// Names are how logs, metrics and the admin API refer to an entry, so each
/// must be present and unique within its section.
fn check_names<'a>(
    section: &str,
    names: impl Iterator<Item = &'a str>,
    out: &mut Vec<ConfigError>,
) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in names.enumerate() {
        let path = format!("{section}[{i}].name");
        if name.trim().is_empty() {
            err(out, path, "must not be empty");
        } else if let Some(j) = seen.get(name) {
            err(
                out,
                path,
                format!("duplicate {section} name {name:?} (also used by {section}[{j}])"),
            );
        } else {
            seen.insert(name, i);
        }
    }
}
