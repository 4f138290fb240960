//! TLS termination: a listener's `rustls::ServerConfig`, with a certificate
//! resolver that picks a chain by SNI (exact names, then `*.` wildcards, then
//! the first certificate as the default).
//!
//! The config built here is a template shared by all cores. Each core makes
//! its own copy (`ServerTls::for_core`) with its own session cache, so a
//! resumption lookup never takes a lock another core contends for. Session
//! ticket keys are shared by the whole process (a ticket issued by one core
//! must open on every core, since the kernel spreads reconnects over them)
//! and survive config reloads.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ahash::AHashMap;
use rustls::server::{
    ClientHello, NoServerSessionStorage, ProducesTickets, ResolvesServerCert,
    ServerSessionMemoryCache, StoresServerSessions,
};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use super::pem;
use crate::config::{ConfigError, ListenerTlsConfig, TlsVersion};

/// ALPN protocols a listener may offer: ringgate speaks HTTP/1.x only.
pub const ALPN_ALLOWED: [&str; 2] = ["http/1.1", "http/1.0"];

/// Called once for each handshake that resumed a session.
pub type OnResume = Arc<dyn Fn() + Send + Sync>;

/// A TLS listener's settings, built when the config is loaded.
pub struct ServerTls {
    /// The template every core copies (see `for_core`).
    template: Arc<ServerConfig>,
    pub handshake_timeout: Duration,
    pub session_cache_size: usize,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("session_cache_size", &self.session_cache_size)
            .finish_non_exhaustive()
    }
}

/// Checks a `server_names` entry: a DNS name, or `*.` and a DNS name with at
/// least two labels (a wildcard matches exactly one more label).
pub fn check_server_name(name: &str) -> Result<(), String> {
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let bad = |why: &str| Err(format!("invalid server name {name:?}: {why}"));
    if rest.parse::<std::net::IpAddr>().is_ok() {
        return bad("an IP address is not a name clients send in SNI");
    }
    if rustls::pki_types::DnsName::try_from(rest).is_err() || rest.ends_with('.') {
        return bad(
            "expected a DNS name such as \"api.example.com\" or a wildcard such as \"*.example.com\"",
        );
    }
    if wildcard && !rest.contains('.') {
        return bad("a wildcard needs at least two labels after \"*.\" (\"*.example.com\")");
    }
    Ok(())
}

impl ServerTls {
    /// Checks the settings, then loads every certificate and key and builds
    /// the template config.
    /// `prefix` is the key path of the `tls` table (`listener[0].tls`).
    pub fn build(
        cfg: &ListenerTlsConfig,
        base: &Path,
        prefix: &str,
    ) -> Result<ServerTls, Vec<ConfigError>> {
        let mut errors = super::check::check_listener_tls(prefix, cfg);
        if !errors.is_empty() {
            return Err(errors);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut keys = Vec::with_capacity(cfg.certificates.len());
        for (i, c) in cfg.certificates.iter().enumerate() {
            let at = |key: &str| format!("{prefix}.certificates[{i}].{key}");
            let chain = pem::certificates(&pem::resolve(base, &c.cert));
            let key = pem::private_key(&pem::resolve(base, &c.key));
            let (chain, key) = match (chain, key) {
                (Ok(chain), Ok(key)) => (chain, key),
                (chain, key) => {
                    if let Err(e) = chain {
                        errors.push(ConfigError::new(at("cert"), e));
                    }
                    if let Err(e) = key {
                        errors.push(ConfigError::new(at("key"), e));
                    }
                    continue;
                }
            };
            let signing_key = match provider.key_provider.load_private_key(key) {
                Ok(k) => k,
                Err(e) => {
                    errors.push(ConfigError::new(
                        at("key"),
                        format!("unusable private key: {e}"),
                    ));
                    continue;
                }
            };
            let certified = CertifiedKey::new(chain, signing_key);
            match certified.keys_match() {
                // Some key types can't say; rustls itself accepts those.
                Ok(())
                | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
                Err(rustls::Error::InconsistentKeys(_)) => {
                    errors.push(ConfigError::new(
                        at("key"),
                        format!("does not belong to the certificate in {}", c.cert),
                    ));
                    continue;
                }
                Err(e) => {
                    errors.push(ConfigError::new(
                        at("cert"),
                        format!("the first certificate is not usable: {e}"),
                    ));
                    continue;
                }
            }
            keys.push((Arc::new(certified), &c.server_names));
        }
        let ticketer = if cfg.session_tickets {
            match ticketer() {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(ConfigError::new(format!("{prefix}.session_tickets"), e));
                    None
                }
            }
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let Some(resolver) = SniResolver::new(keys) else {
            return Err(vec![ConfigError::new(
                format!("{prefix}.certificates"),
                "must list at least one certificate",
            )]);
        };
        let versions: &[&rustls::SupportedProtocolVersion] = match cfg.min_version {
            TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| {
                vec![ConfigError::new(
                    format!("{prefix}.min_version"),
                    e.to_string(),
                )]
            })?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = cfg.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        if let Some(t) = ticketer {
            config.ticketer = t;
        }
        // Each core installs its own cache (`for_core`); none in the template.
        config.session_storage = Arc::new(NoServerSessionStorage {});
        Ok(ServerTls {
            template: Arc::new(config),
            handshake_timeout: cfg.handshake_timeout.get(),
            session_cache_size: cfg.session_cache_size,
        })
    }

    /// A new session cache for one core, or `None` when caching is off.
    pub fn new_session_cache(&self) -> Option<Arc<ServerSessionMemoryCache>> {
        (self.session_cache_size > 0)
            .then(|| ServerSessionMemoryCache::new(self.session_cache_size))
    }

    /// This core's config: the template with the core's own session cache,
    /// and resumption (by ticket or by cache) reported to `on_resume`.
    pub fn for_core(
        &self,
        cache: Option<Arc<ServerSessionMemoryCache>>,
        on_resume: OnResume,
    ) -> Arc<ServerConfig> {
        let mut config = (*self.template).clone();
        if config.ticketer.enabled() {
            config.ticketer = Arc::new(CountingTicketer {
                inner: config.ticketer.clone(),
                on_resume: on_resume.clone(),
            });
        }
        if let Some(cache) = cache {
            config.session_storage = Arc::new(CountingCache {
                inner: cache,
                on_resume,
            });
        }
        Arc::new(config)
    }
}

/// The process's session ticket keys: created once, shared by every core and
/// every config generation, so tickets stay valid across cores and reloads.
/// rustls rotates the keys itself (every 6 hours; the previous key still
/// decrypts).
fn ticketer() -> Result<Arc<dyn ProducesTickets>, String> {
    static TICKETER: OnceLock<Arc<dyn ProducesTickets>> = OnceLock::new();
    if let Some(t) = TICKETER.get() {
        return Ok(t.clone());
    }
    let t = rustls::crypto::aws_lc_rs::Ticketer::new()
        .map_err(|e| format!("cannot create session ticket keys: {e}"))?;
    Ok(TICKETER.get_or_init(|| t).clone())
}

/// Picks a certificate by SNI: exact name, then the wildcard for the name's
/// parent domain, then the default (the first configured certificate).
#[derive(Debug)]
struct SniResolver {
    default: Arc<CertifiedKey>,
    exact: AHashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the part after `*.`.
    wildcard: AHashMap<String, Arc<CertifiedKey>>,
}

impl SniResolver {
    /// `None` without certificates. Names were checked (syntax, duplicates)
    /// by validation; a duplicate here would keep the first.
    fn new(keys: Vec<(Arc<CertifiedKey>, &Vec<String>)>) -> Option<SniResolver> {
        let default = keys.first()?.0.clone();
        let mut exact = AHashMap::new();
        let mut wildcard = AHashMap::new();
        for (key, names) in keys {
            for name in names {
                let name = name.to_ascii_lowercase();
                match name.strip_prefix("*.") {
                    Some(parent) => wildcard.entry(parent.to_string()),
                    None => exact.entry(name),
                }
                .or_insert_with(|| key.clone());
            }
        }
        Some(SniResolver {
            default,
            exact,
            wildcard,
        })
    }

    fn lookup(&self, sni: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(name) = sni else {
            return &self.default;
        };
        let lower;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if let Some(k) = self.exact.get(name) {
            return k;
        }
        if let Some((_, parent)) = name.split_once('.') {
            if let Some(k) = self.wildcard.get(parent) {
                return k;
            }
        }
        &self.default
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.lookup(hello.server_name()).clone())
    }
}

/// The shared ticket keys, counting the tickets that opened (resumptions).
struct CountingTicketer {
    inner: Arc<dyn ProducesTickets>,
    on_resume: OnResume,
}

impl std::fmt::Debug for CountingTicketer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingTicketer")
            .field("inner", &self.inner)
            .finish()
    }
}

impl ProducesTickets for CountingTicketer {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(plain)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.inner.decrypt(cipher);
        if plain.is_some() {
            (self.on_resume)();
        }
        plain
    }
}

/// One core's session cache, counting the sessions found (resumptions).
struct CountingCache {
    inner: Arc<ServerSessionMemoryCache>,
    on_resume: OnResume,
}

impl std::fmt::Debug for CountingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingCache")
            .field("inner", &self.inner)
            .finish()
    }
}

impl StoresServerSessions for CountingCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let v = self.inner.get(key);
        if v.is_some() {
            (self.on_resume)();
        }
        v
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let v = self.inner.take(key);
        if v.is_some() {
            (self.on_resume)();
        }
        v
    }
    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_syntax() {
        for ok in [
            "a.example.com",
            "*.example.com",
            "localhost",
            "xn--bcher-kva.example",
        ] {
            assert_eq!(check_server_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "*",
            "*.com",
            "a.*.example.com",
            "127.0.0.1",
            "a b.com",
            "*example.com",
            "a.example.com.",
        ] {
            assert!(check_server_name(bad).is_err(), "{bad:?}");
        }
    }
}
