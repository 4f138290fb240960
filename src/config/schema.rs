//! The TOML schema, exactly as users write it. Every table denies unknown keys
//! so a typo is an error, not a silently ignored setting. Semantic checks
//! (addresses parse, routes name existing clusters, ...) live in `validate`.

use serde::Deserialize;

use super::units::{ByteSize, Duration};

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Relative file paths in the config (certificates, keys, CAs) are
    /// relative to this: the config file's directory (empty: the current one).
    #[serde(skip)]
    pub base_dir: std::path::PathBuf,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    #[serde(default)]
    pub proxy: ProxyConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<ClusterConfig>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default, rename = "rate_limit")]
    pub rate_limits: Vec<RateLimitConfig>,
    #[serde(default)]
    pub redis: RedisConfig,
    #[serde(default, rename = "auth_policy")]
    pub auth_policies: Vec<AuthPolicyConfig>,
    #[serde(default, rename = "consumer")]
    pub consumers: Vec<ConsumerConfig>,
}

/// `workers = 4` or `workers = "auto"` (one per available core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Workers {
    #[default]
    Auto,
    Count(usize),
}

impl<'de> Deserialize<'de> for Workers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) if s == "auto" => Ok(Workers::Auto),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "invalid workers {s:?}: expected \"auto\" or a number of workers"
            ))),
            Raw::N(n) if n >= 1 => Ok(Workers::Count(n as usize)),
            Raw::N(n) => Err(serde::de::Error::custom(format!(
                "invalid workers {n}: must be at least 1"
            ))),
        }
    }
}

/// Which io_uring / epoll driver the worker runtimes use.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum IoDriver {
    /// io_uring when the kernel allows it, else epoll (logged at start-up).
    #[default]
    Auto,
    IoUring,
    Legacy,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub workers: Workers,
    /// Pin worker N to the Nth CPU of this list (default: CPUs 0..workers).
    pub cpus: Option<Vec<usize>>,
    pub io_driver: IoDriver,
    pub drain_timeout: Duration,
    pub max_connections_per_core: usize,
    /// io_uring submission queue entries per worker.
    pub uring_entries: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            workers: Workers::Auto,
            cpus: None,
            io_driver: IoDriver::Auto,
            drain_timeout: Duration::from_secs(10),
            max_connections_per_core: 16_384,
            uring_entries: 1024,
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Longest request line (method, target, version); longer gets 414.
    pub max_request_line_bytes: ByteSize,
    /// Largest request head (line + headers); larger gets 431.
    pub max_header_bytes: ByteSize,
    /// Most header fields in one head; more gets 431.
    pub max_headers_count: usize,
    /// Largest request body; larger gets 413. 0 means no limit.
    pub max_body_bytes: ByteSize,
    /// Largest upstream response head; larger gets the client a 502.
    pub max_response_header_bytes: ByteSize,
    /// Size of each connection's read buffers (client side and upstream side).
    /// Heads larger than this grow the buffer up to their own limits.
    pub buffer_bytes: ByteSize,
    /// A body larger than `buffer_bytes` grows the buffer that streams it to
    /// this size: fewer, larger reads and writes for big bodies, while small
    /// exchanges keep small buffers.
    pub stream_buffer_bytes: ByteSize,
    /// Verified JWTs remembered per worker (so a hot token costs a hash
    /// lookup, not a signature check); 0 turns the cache off.
    pub token_cache_entries: usize,
    /// Share of the file-descriptor limit kept for upstream connections:
    /// client connections are refused once they would eat into it.
    pub fd_reserve_percent: FdReservePercent,
}

/// A percentage from 0 to 90, checked where it is read so a bad value names its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdReservePercent(pub u8);

impl Default for FdReservePercent {
    /// Half: every admitted client can have one upstream connection in flight.
    fn default() -> Self {
        FdReservePercent(50)
    }
}

impl<'de> Deserialize<'de> for FdReservePercent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i64::deserialize(d)? {
            n @ 0..=90 => Ok(FdReservePercent(n as u8)),
            n => Err(serde::de::Error::custom(format!(
                "invalid fd_reserve_percent {n}: must be 0 to 90"
            ))),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_request_line_bytes: ByteSize::kib(8),
            max_header_bytes: ByteSize::kib(32),
            max_headers_count: 100,
            max_body_bytes: ByteSize::gib(1),
            max_response_header_bytes: ByteSize::kib(64),
            buffer_bytes: ByteSize::kib(16),
            stream_buffer_bytes: ByteSize::kib(64),
            token_cache_entries: 4096,
            fd_reserve_percent: FdReservePercent::default(),
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// From the first byte of a request (or connection accept) to its complete head.
    pub client_header: Duration,
    /// How long an idle keep-alive client connection is kept open.
    pub client_idle: Duration,
    /// Longest pause between two reads of a request body.
    pub client_body: Duration,
    /// TCP connect to an upstream endpoint.
    pub upstream_connect: Duration,
    /// From the end of the request to the upstream's complete response head.
    pub upstream_response_head: Duration,
    /// Longest pause between two reads of an upstream response body (also
    /// bounds a silent upgraded tunnel in either direction).
    pub upstream_idle: Duration,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            client_header: Duration::from_secs(10),
            client_idle: Duration::from_secs(60),
            client_body: Duration::from_secs(30),
            upstream_connect: Duration::from_secs(3),
            upstream_response_head: Duration::from_secs(30),
            upstream_idle: Duration::from_secs(60),
        }
    }
}

/// Which client-address headers the gateway adds to forwarded requests.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeaders {
    /// X-Forwarded-For (appended), X-Forwarded-Proto, X-Forwarded-Host.
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded: for=...;proto=...;host=...` (appended).
    Forwarded,
    /// Add nothing.
    None,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    pub forwarded_headers: ForwardedHeaders,
    /// Tunnel `Upgrade` requests (WebSocket, ...) after a 101 from the upstream.
    pub allow_upgrade: bool,
    /// Add `Via: 1.1 ringgate` to forwarded requests and responses.
    pub add_via: bool,
    /// Peers (CIDRs) whose `X-Forwarded-For` is believed when deciding the
    /// client address for IP rules and identity headers.
    pub trusted_proxies: Vec<String>,
    /// Headers set from the authenticated identity; always stripped from
    /// incoming requests, on every route.
    pub identity_headers: Vec<IdentityHeaderConfig>,
    /// Accept `;` in request paths (`/app;jsessionid=1`) and match routes on
    /// the path with every segment's `;params` removed; otherwise 400.
    pub allow_path_params: bool,
    /// Accept `%3B`, `%23`, `%3F` and a `%20` at a segment edge in request
    /// paths; otherwise 400 (upstreams decode them into delimiters or trim).
    pub allow_ambiguous_escapes: bool,
    /// Pass `X-Original-URL` / `X-Rewrite-URL` from clients to upstreams;
    /// otherwise dropped (frameworks that honour them route on their value).
    pub forward_url_override_headers: bool,
}

/// One injected identity header: `{ name = "X-User-Id", from = "claim:sub" }`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdentityHeaderConfig {
    pub name: String,
    /// `claim:<name>`, `subject`, `consumer`, `scopes`, `roles` or `client_ip`.
    pub from: String,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            forwarded_headers: ForwardedHeaders::XForwarded,
            allow_upgrade: true,
            add_via: false,
            trusted_proxies: Vec::new(),
            identity_headers: Vec::new(),
            allow_path_params: false,
            allow_ambiguous_escapes: false,
            forward_url_override_headers: false,
        }
    }
}

/// The admin listener: `GET /metrics` (Prometheus text) and `GET /healthz`.
/// Served by a thread of its own, never by the workers.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// `ip:port`; not set = no admin listener. Keep it on loopback or a
    /// private interface: it is not authenticated.
    pub address: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    pub name: String,
    /// `ip:port`; port 0 asks the OS for a free port (tests).
    pub address: String,
    /// Listen backlog passed to listen(2).
    #[serde(default = "default_backlog")]
    pub backlog: u32,
    /// When not empty, only clients in these CIDRs are served (403 otherwise).
    #[serde(default)]
    pub allow_cidrs: Vec<String>,
    /// Clients in these CIDRs get 403; wins over `allow_cidrs`.
    #[serde(default)]
    pub deny_cidrs: Vec<String>,
    /// Terminate TLS on this listener (HTTPS); not set = plain HTTP.
    pub tls: Option<ListenerTlsConfig>,
}

/// The lowest TLS version a listener accepts.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

/// `[listener.tls]`: certificates (selected by SNI) and handshake settings.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ListenerTlsConfig {
    /// The first is the default: served when the client sends no SNI or a
    /// name no entry lists.
    pub certificates: Vec<CertificateConfig>,
    #[serde(default)]
    pub min_version: TlsVersion,
    /// ALPN protocols offered, in preference order; empty = no ALPN.
    #[serde(default = "default_alpn")]
    pub alpn: Vec<String>,
    /// Stateless resumption with encrypted session tickets.
    #[serde(default = "default_true")]
    pub session_tickets: bool,
    /// Sessions remembered per worker for stateful resumption; 0 = none.
    #[serde(default = "default_session_cache_size")]
    pub session_cache_size: usize,
    /// From accept to a completed handshake.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout: Duration,
}

/// One certificate chain with its private key and the SNI names it serves.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// PEM file: the leaf certificate first, then intermediates.
    pub cert: String,
    /// PEM file: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
    /// Exact names (`api.example.com`) or wildcards (`*.example.com`).
    #[serde(default)]
    pub server_names: Vec<String>,
}

fn default_alpn() -> Vec<String> {
    vec!["http/1.1".to_string()]
}
fn default_true() -> bool {
    true
}
fn default_session_cache_size() -> usize {
    4096
}
fn default_handshake_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for ListenerTlsConfig {
    fn default() -> Self {
        ListenerTlsConfig {
            certificates: Vec::new(),
            min_version: TlsVersion::default(),
            alpn: default_alpn(),
            session_tickets: true,
            session_cache_size: default_session_cache_size(),
            handshake_timeout: default_handshake_timeout(),
        }
    }
}

fn default_backlog() -> u32 {
    4096
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancing {
    #[default]
    RoundRobin,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: String,
    /// `host:port` endpoints; hosts are resolved once at load time.
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub load_balancing: LoadBalancing,
    /// Idle keep-alive connections kept per endpoint, per core.
    #[serde(default = "default_max_idle")]
    pub max_idle_per_endpoint: usize,
    /// An idle pooled connection older than this is closed, not reused.
    #[serde(default = "default_pool_idle")]
    pub pool_idle_timeout: Duration,
    /// Speak TLS to the endpoints; not set = plain HTTP.
    pub tls: Option<ClusterTlsConfig>,
}

/// `[cluster.tls]`: how upstream certificates are verified.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterTlsConfig {
    /// PEM file of the CA certificates to trust; not set = the system roots.
    pub ca: Option<String>,
    /// SNI and the name the certificate must carry; not set = each endpoint's host.
    pub server_name: Option<String>,
    /// Verify the upstream's certificate chain and name. `false` is for
    /// tests only: it accepts any certificate.
    #[serde(default = "default_true")]
    pub verify: bool,
}

impl Default for ClusterTlsConfig {
    fn default() -> Self {
        ClusterTlsConfig {
            ca: None,
            server_name: None,
            verify: true,
        }
    }
}

fn default_max_idle() -> usize {
    128
}
fn default_pool_idle() -> Duration {
    Duration::from_secs(60)
}

/// One header predicate of a route: `value` must equal the header's value
/// exactly, or `present` requires the header to be there (true) or absent (false).
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatchConfig {
    pub name: String,
    pub value: Option<String>,
    pub present: Option<bool>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    pub cluster: String,
    /// Exact hosts (`api.example.com`) or wildcards (`*.example.com`); empty = any host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// At most one of the three path matchers; none matches every path.
    pub path_exact: Option<String>,
    pub path_prefix: Option<String>,
    /// Segments like `{id}` match one non-empty path segment.
    pub path_template: Option<String>,
    /// Match the path's literals in case too; by default ASCII case is
    /// ignored (`/admin` also matches `/ADMIN`).
    #[serde(default)]
    pub case_sensitive: bool,
    /// Allowed methods; empty = any method.
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub headers: Vec<HeaderMatchConfig>,
    /// Remove the matched `path_prefix` before forwarding.
    #[serde(default)]
    pub strip_prefix: bool,
    /// Replace the matched prefix (prefix routes), the whole path (exact
    /// routes) or fill a template with the captured `{params}` (template routes).
    pub rewrite: Option<String>,
    /// Name of the `[[auth_policy]]` requests must pass (401 otherwise).
    pub auth: Option<String>,
    /// Scopes the authenticated identity must hold (403 otherwise).
    pub require_scopes: Option<RequirementConfig>,
    /// Roles the authenticated identity must hold (403 otherwise).
    pub require_roles: Option<RequirementConfig>,
    #[serde(default)]
    pub allow_cidrs: Vec<String>,
    #[serde(default)]
    pub deny_cidrs: Vec<String>,
    /// Overrides `limits.max_body_bytes` for this route (0: no limit).
    pub max_body_bytes: Option<ByteSize>,
    /// Tightens `limits.max_header_bytes` for this route.
    pub max_header_bytes: Option<ByteSize>,
    /// Names of `[[rate_limit]]` entries checked, in order, for this route.
    #[serde(default)]
    pub rate_limits: Vec<String>,
}

/// `{ any = ["a", "b"] }` (one of them) or `{ all = ["a", "b"] }` (every one).
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct RequirementConfig {
    pub any: Option<Vec<String>>,
    pub all: Option<Vec<String>>,
}

/// `[[auth_policy]]`: how a route's requests authenticate.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthPolicyConfig {
    pub name: String,
    pub jwt: Option<JwtConfig>,
    pub api_key: Option<ApiKeyConfig>,
    /// Remove the credential header this policy consumed before forwarding.
    #[serde(default)]
    pub strip_credentials: bool,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    pub keys: Vec<JwtKeyConfig>,
    /// Accepted `iss` values; empty: not checked.
    #[serde(default, deserialize_with = "one_or_many")]
    pub issuer: Vec<String>,
    /// Accepted `aud` values (one must match); empty: not checked.
    #[serde(default, deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(default)]
    pub leeway: Duration,
    /// Tokens without `exp` are refused.
    #[serde(default = "default_true")]
    pub require_exp: bool,
    #[serde(default)]
    pub token_from: TokenFromConfig,
    /// The claim roles are read from.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
}

fn default_roles_claim() -> String {
    "roles".to_string()
}

/// Where the token is read from: exactly one of the three. Default:
/// `Authorization: Bearer <token>`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenFromConfig {
    pub header: Option<String>,
    pub cookie: Option<String>,
    pub query: Option<String>,
}

/// One verification key. Exactly one of `secret_env`, `pem_file`, `jwks_file`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyConfig {
    /// Matched against the token's `kid` header (JWKS keys carry their own).
    pub kid: Option<String>,
    /// The one algorithm this key verifies (HS256, RS256, ES256, EdDSA, ...).
    /// For a JWKS file: used for keys that carry no `alg` of their own.
    pub algorithm: Option<String>,
    /// HMAC secret: the name of an environment variable holding it.
    pub secret_env: Option<String>,
    /// Public key (RSA, EC or Ed25519) in PEM.
    pub pem_file: Option<String>,
    /// A JWK Set (JSON); keys are picked by `kid`. Re-read on reload.
    pub jwks_file: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    #[serde(default = "default_api_key_header")]
    pub header: String,
    pub query: Option<String>,
}

fn default_api_key_header() -> String {
    "X-API-Key".to_string()
}

/// `[[consumer]]`: a client identified by an API key.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    pub name: String,
    /// `sha256:<64 hex digits>` of each key (see `ringgate hash-key`).
    #[serde(default)]
    pub api_keys: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Stored for the rate limiter; not enforced by the auth filter.
    pub rate_limit: Option<ConsumerRateLimit>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConsumerRateLimit {
    pub requests: u64,
    pub per: Duration,
}

/// `"a"` or `["a", "b"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    match Raw::deserialize(d) {
        Ok(Raw::One(s)) => Ok(vec![s]),
        Ok(Raw::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "expected a string or an array of strings",
        )),
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateAlgorithm {
    #[default]
    TokenBucket,
    Gcra,
    FixedWindow,
    SlidingWindow,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateMode {
    /// One budget per key for the instance (or, with Redis, for all instances).
    #[default]
    Global,
    /// Each core enforces `requests / workers` alone.
    Local,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateBackend {
    #[default]
    Memory,
    Redis,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnMissingKey {
    /// Count the request by client IP instead of the missing part.
    #[default]
    ClientIp,
    /// Don't apply this limit to the request.
    Skip,
}

/// One named limit, referenced by routes' `rate_limits`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub name: String,
    /// What to count by: `client_ip`, `consumer`, `route`, `header:NAME`,
    /// `claim:NAME`, or several of them.
    #[serde(default = "default_rate_key")]
    pub key: Vec<String>,
    #[serde(default)]
    pub algorithm: RateAlgorithm,
    /// `requests` per `per`.
    pub requests: u64,
    pub per: Duration,
    /// Token bucket / GCRA: requests that may pass at once (default `requests`).
    pub burst: Option<u64>,
    #[serde(default)]
    pub mode: RateMode,
    #[serde(default)]
    pub backend: RateBackend,
    /// Keys tracked per core (and in the instance budget), oldest idle forgotten first.
    #[serde(default = "default_max_keys")]
    pub max_keys: usize,
    /// `RateLimit-Limit`/`-Remaining`/`-Reset` on responses.
    #[serde(default = "default_true")]
    pub headers: bool,
    #[serde(default)]
    pub on_missing_key: OnMissingKey,
    /// Most admissions one lease takes (default `requests / 50`, 1 to 1000).
    pub lease_size: Option<u64>,
    /// How long a core keeps a lease before giving back its unused part.
    #[serde(default = "default_lease_ttl")]
    pub lease_ttl: Duration,
}

fn default_rate_key() -> Vec<String> {
    vec!["client_ip".to_string()]
}
fn default_max_keys() -> usize {
    100_000
}
fn default_lease_ttl() -> Duration {
    Duration::from_millis(100)
}

impl RateLimitConfig {
    /// The lease size in force: as configured, else `requests / 50` (1 to 1000).
    pub fn effective_lease_size(&self) -> u64 {
        self.lease_size
            .unwrap_or((self.requests / 50).clamp(1, 1000))
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnRedisErrorConfig {
    #[default]
    Local,
    Allow,
    Deny,
}

/// `[redis]`: where `backend = "redis"` limits keep their budgets.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `host:port`; required when a limit uses `backend = "redis"`.
    pub address: Option<String>,
    pub key_prefix: String,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// How often to try again while Redis is unreachable.
    pub retry_interval: Duration,
    pub on_redis_error: OnRedisErrorConfig,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            address: None,
            key_prefix: "ringgate".to_string(),
            connect_timeout: Duration::from_millis(200),
            command_timeout: Duration::from_millis(200),
            retry_interval: Duration::from_secs(1),
            on_redis_error: OnRedisErrorConfig::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(toml: &str) -> Result<LimitsConfig, toml::de::Error> {
        toml::from_str(toml)
    }

    #[test]
    fn fd_reserve_percent_is_0_to_90_and_defaults_to_half() {
        assert_eq!(limits("").unwrap().fd_reserve_percent, FdReservePercent(50));
        assert_eq!(
            limits("fd_reserve_percent = 0").unwrap().fd_reserve_percent,
            FdReservePercent(0)
        );
        assert_eq!(
            limits("fd_reserve_percent = 90")
                .unwrap()
                .fd_reserve_percent,
            FdReservePercent(90)
        );
        for bad in ["91", "-1", "\"50\""] {
            assert!(
                limits(&format!("fd_reserve_percent = {bad}")).is_err(),
                "{bad}"
            );
        }
    }
}
