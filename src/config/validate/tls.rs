//! Checks on `listener[i].tls` and `cluster[i].tls` that need no file access:
//! names, ALPN, limits. The files themselves are read, parsed and matched
//! (key to certificate) when the snapshot is built (`tls::ServerTls::build`).

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use super::{err, fmt_duration};
use crate::config::endpoint::parse_endpoint;
use crate::config::error::ConfigError;
use crate::config::schema::{ClusterConfig, ListenerTlsConfig};
use crate::tls::server::ALPN_ALLOWED;

pub(crate) const MAX_SESSION_CACHE: usize = 1_000_000;
pub(crate) const MAX_HANDSHAKE_TIMEOUT: StdDuration = StdDuration::from_secs(300);

pub(super) fn check_listener_tls(i: usize, tls: &ListenerTlsConfig, out: &mut Vec<ConfigError>) {
    let prefix = format!("listener[{i}].tls");
    if tls.certificates.is_empty() {
        err(
            out,
            format!("{prefix}.certificates"),
            "must list at least one certificate ({ cert = \"chain.pem\", key = \"key.pem\" })",
        );
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (j, c) in tls.certificates.iter().enumerate() {
        let at = format!("{prefix}.certificates[{j}]");
        for (key, value) in [("cert", &c.cert), ("key", &c.key)] {
            if value.trim().is_empty() {
                err(out, format!("{at}.{key}"), "must be a file path");
            }
        }
        if j > 0 && c.server_names.is_empty() {
            err(
                out,
                format!("{at}.server_names"),
                "must list at least one name: only the first certificate (the default) may \
                 leave server_names out",
            );
        }
        for (k, name) in c.server_names.iter().enumerate() {
            let path = format!("{at}.server_names[{k}]");
            if let Err(message) = crate::tls::server::check_server_name(name) {
                err(out, path, message);
                continue;
            }
            let lower = name.to_ascii_lowercase();
            match seen.get(&lower) {
                Some(&other) => err(
                    out,
                    path,
                    format!("{name:?} is already served by {prefix}.certificates[{other}]"),
                ),
                None => {
                    seen.insert(lower, j);
                }
            }
        }
    }
    for (k, proto) in tls.alpn.iter().enumerate() {
        if !ALPN_ALLOWED.contains(&proto.as_str()) {
            err(
                out,
                format!("{prefix}.alpn[{k}]"),
                format!(
                    "unsupported protocol {proto:?}: ringgate speaks \"http/1.1\" and \"http/1.0\""
                ),
            );
        } else if tls.alpn[..k].contains(proto) {
            err(
                out,
                format!("{prefix}.alpn[{k}]"),
                format!("{proto:?} is listed twice"),
            );
        }
    }
    if tls.session_cache_size > MAX_SESSION_CACHE {
        err(
            out,
            format!("{prefix}.session_cache_size"),
            format!(
                "{} is more than the maximum of {MAX_SESSION_CACHE}",
                tls.session_cache_size
            ),
        );
    }
    let t = tls.handshake_timeout;
    if t.get().is_zero() {
        err(
            out,
            format!("{prefix}.handshake_timeout"),
            "must be greater than 0",
        );
    } else if t.get() > MAX_HANDSHAKE_TIMEOUT {
        err(
            out,
            format!("{prefix}.handshake_timeout"),
            format!("{} is longer than the maximum of 5m", fmt_duration(t)),
        );
    }
}

pub(super) fn check_cluster_tls(i: usize, c: &ClusterConfig, out: &mut Vec<ConfigError>) {
    let Some(tls) = &c.tls else {
        return;
    };
    let prefix = format!("cluster[{i}].tls");
    if let Some(ca) = &tls.ca {
        if ca.trim().is_empty() {
            err(
                out,
                format!("{prefix}.ca"),
                "must be a file path (or leave ca out for the system roots)",
            );
        } else if !tls.verify {
            err(
                out,
                format!("{prefix}.ca"),
                "has no effect with verify = false: remove one of them",
            );
        }
    }
    match &tls.server_name {
        Some(name) => {
            if let Err(message) = crate::tls::client::check_server_name(name) {
                err(out, format!("{prefix}.server_name"), message);
            }
        }
        None => {
            for (j, ep) in c.endpoints.iter().enumerate() {
                if let Ok((host, _)) = parse_endpoint(ep) {
                    if crate::tls::client::check_server_name(&host).is_err() {
                        err(
                            out,
                            format!("cluster[{i}].endpoints[{j}]"),
                            format!(
                                "host {host:?} can't be checked against a certificate: set \
                                 tls.server_name to the name the upstream's certificate carries"
                            ),
                        );
                    }
                }
            }
        }
    }
}
