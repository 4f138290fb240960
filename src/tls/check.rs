//! The first step of building `listener[i].tls` and `cluster[i].tls`: the
//! checks that need no file access (names, ALPN, limits). `ServerTls::build`
//! and `ClientTls::build` run them and read no file when one fails.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use super::server::ALPN_ALLOWED;
use crate::config::units::fmt_duration;
use crate::config::{parse_endpoint, ClusterTlsConfig, ConfigError, ListenerTlsConfig};

const MAX_SESSION_CACHE: usize = 1_000_000;
const MAX_HANDSHAKE_TIMEOUT: StdDuration = StdDuration::from_secs(300);

fn err(out: &mut Vec<ConfigError>, path: impl Into<String>, message: impl Into<String>) {
    out.push(ConfigError::new(path, message));
}

/// `prefix` is the key path of the `tls` table (`listener[0].tls`).
pub(super) fn check_listener_tls(prefix: &str, tls: &ListenerTlsConfig) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let out = &mut errors;
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
            if let Err(message) = super::server::check_server_name(name) {
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
    errors
}

/// `cluster` is the key path of the cluster (`cluster[0]`).
pub(super) fn check_cluster_tls(
    cluster: &str,
    tls: &ClusterTlsConfig,
    endpoints: &[String],
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let out = &mut errors;
    let prefix = format!("{cluster}.tls");
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
            if let Err(message) = super::client::check_server_name(name) {
                err(out, format!("{prefix}.server_name"), message);
            }
        }
        None => {
            for (j, ep) in endpoints.iter().enumerate() {
                if let Ok((host, _)) = parse_endpoint(ep) {
                    if super::client::check_server_name(&host).is_err() {
                        err(
                            out,
                            format!("{cluster}.endpoints[{j}]"),
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
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CertificateConfig, Config, Duration};

    /// One listener, one cluster (endpoint `127.0.0.1:9001`), one route.
    fn base() -> Config {
        crate::config::parse_str(
            "[[listener]]\nname = \"main\"\naddress = \"127.0.0.1:8080\"\n\
             [[cluster]]\nname = \"demo\"\nendpoints = [\"127.0.0.1:9001\"]\n\
             [[route]]\nname = \"all\"\ncluster = \"demo\"\n",
        )
        .unwrap()
    }

    /// The key paths of the TLS problems `edit` causes in a valid config.
    fn paths_after(edit: impl FnOnce(&mut Config)) -> Vec<String> {
        let mut cfg = base();
        edit(&mut cfg);
        let mut errors = Vec::new();
        for (i, l) in cfg.listeners.iter().enumerate() {
            if let Some(tls) = &l.tls {
                errors.extend(check_listener_tls(&format!("listener[{i}].tls"), tls));
            }
        }
        for (i, c) in cfg.clusters.iter().enumerate() {
            if let Some(tls) = &c.tls {
                errors.extend(check_cluster_tls(
                    &format!("cluster[{i}]"),
                    tls,
                    &c.endpoints,
                ));
            }
        }
        errors.into_iter().map(|e| e.path).collect()
    }

    fn tls_listener() -> ListenerTlsConfig {
        ListenerTlsConfig {
            certificates: vec![
                CertificateConfig {
                    cert: "a.pem".into(),
                    key: "a.key".into(),
                    server_names: vec![],
                },
                CertificateConfig {
                    cert: "b.pem".into(),
                    key: "b.key".into(),
                    server_names: vec!["b.example.com".into(), "*.example.com".into()],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn listener_tls() {
        assert_eq!(
            paths_after(|c| c.listeners[0].tls = Some(tls_listener())),
            Vec::<String>::new()
        );
        assert_eq!(
            paths_after(|c| {
                let mut t = tls_listener();
                t.certificates[1].server_names.push("*.EXAMPLE.com".into());
                t.certificates[1].server_names.push("bad name".into());
                t.certificates[0].key = " ".into();
                t.alpn = vec!["h2".into(), "http/1.1".into(), "http/1.1".into()];
                t.session_cache_size = 2_000_000;
                t.handshake_timeout = Duration::from_secs(0);
                c.listeners[0].tls = Some(t);
            }),
            [
                "listener[0].tls.certificates[0].key",
                "listener[0].tls.certificates[1].server_names[2]",
                "listener[0].tls.certificates[1].server_names[3]",
                "listener[0].tls.alpn[0]",
                "listener[0].tls.alpn[2]",
                "listener[0].tls.session_cache_size",
                "listener[0].tls.handshake_timeout",
            ]
        );
        assert_eq!(
            paths_after(|c| {
                let mut t = tls_listener();
                t.certificates[1].server_names.clear();
                c.listeners[0].tls = Some(t);
            }),
            ["listener[0].tls.certificates[1].server_names"]
        );
        assert_eq!(
            paths_after(|c| {
                let mut t = tls_listener();
                t.certificates.clear();
                c.listeners[0].tls = Some(t);
            }),
            ["listener[0].tls.certificates"]
        );
    }

    #[test]
    fn cluster_tls() {
        assert_eq!(
            paths_after(|c| c.clusters[0].tls = Some(ClusterTlsConfig::default())),
            Vec::<String>::new()
        );
        assert_eq!(
            paths_after(|c| {
                c.clusters[0].tls = Some(ClusterTlsConfig {
                    ca: Some("ca.pem".into()),
                    server_name: Some("not a name".into()),
                    verify: false,
                })
            }),
            ["cluster[0].tls.ca", "cluster[0].tls.server_name"]
        );
    }
}
