//! The benchmark scenarios, as data. A new scenario (auth, rate limit, ...)
//! is one more entry in [`SCENARIOS`]: a name, the load generator's
//! arguments, the origin path, and optional per-proxy config snippets.

/// Config fragments a scenario adds to each proxy's generated config.
/// Empty strings add nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snippets {
    /// TOML appended right after ringgate's `[[route]]` table: bare keys
    /// belong to the route, `[[...]]` tables start new sections.
    pub ringgate: &'static str,
    /// Directives inside nginx's `http { }` block (e.g. `limit_req_zone`).
    pub nginx_http: &'static str,
    /// Directives inside nginx's proxying `location / { }`.
    pub nginx_location: &'static str,
    /// Lines in haproxy's `global` section.
    pub haproxy_global: &'static str,
    /// Lines in haproxy's `frontend` section.
    pub haproxy_frontend: &'static str,
}

const NONE: Snippets = Snippets {
    ringgate: "",
    nginx_http: "",
    nginx_location: "",
    haproxy_global: "",
    haproxy_frontend: "",
};

use super::proxy::ProxyKind;

/// Name of the environment variable that carries the jwt-auth scenario's
/// HS256 secret to ringgate (`secret_env`).
pub const JWT_SECRET_ENV: &str = "RINGBENCH_JWT_SECRET";
/// The HS256 secret: a benchmark fixture, not a credential (32 bytes, the
/// HS256 minimum ringgate accepts).
pub const JWT_SECRET: &str = "ringbench-jwt-auth-scenario-key!";

#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    /// Path requested from the proxy and forwarded unchanged to the origin.
    /// Both origins serve `/` (`Hello, World!`) and `/bytes/N` (N bytes).
    pub path: &'static str,
    /// `ringbench load` arguments (connections, method, `--new-conn`, ...).
    /// Duration, warmup, threads, pinning and the URL are added by compare.
    pub load_args: &'static [&'static str],
    /// A request body of this many bytes, written to a file and sent with
    /// `--body-file`.
    pub body_bytes: Option<usize>,
    pub snippets: Snippets,
    /// Clients speak HTTPS to the proxy (plain HTTP to the origin), with a
    /// self-signed certificate generated for the run and shared by all.
    pub tls: bool,
    /// Requests carry `Authorization: Bearer <HS256 JWT>` signed with
    /// [`JWT_SECRET`]; ringgate gets the secret in [`JWT_SECRET_ENV`].
    pub jwt: bool,
    /// The proxies that can run this scenario; empty: all of them.
    /// `Ringgate` here admits ringgate-base too.
    pub only: &'static [ProxyKind],
    /// Also report each proxy's req/s and CPU µs/req relative to its own
    /// result in this scenario (same run), when that was measured.
    pub baseline: Option<&'static str>,
}

impl Scenario {
    /// ringgate-base runs wherever ringgate does.
    pub fn runs_on(&self, kind: ProxyKind) -> bool {
        self.only.is_empty() || self.only.contains(&kind.config_kind())
    }
}

/// The defaults of the fields most scenarios leave alone.
const PLAIN: Scenario = Scenario {
    name: "",
    about: "",
    path: "/",
    load_args: &[],
    body_bytes: None,
    snippets: NONE,
    tls: false,
    jwt: false,
    only: &[],
    baseline: None,
};

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "small-get",
        about: "GET, 13-byte response, keep-alive, 64 connections",
        path: "/",
        load_args: &["-c", "64"],
        body_bytes: None,
        snippets: NONE,
        ..PLAIN
    },
    Scenario {
        name: "10k",
        about: "GET, 10 KiB response, keep-alive, 64 connections",
        path: "/bytes/10240",
        load_args: &["-c", "64"],
        body_bytes: None,
        snippets: NONE,
        ..PLAIN
    },
    Scenario {
        name: "1m",
        about: "GET, 1 MiB response, keep-alive, 16 connections",
        path: "/bytes/1048576",
        load_args: &["-c", "16"],
        body_bytes: None,
        snippets: NONE,
        ..PLAIN
    },
    Scenario {
        name: "post-4k",
        about: "POST with a 4 KiB body, 13-byte response, keep-alive, 64 connections",
        path: "/",
        load_args: &[
            "-c",
            "64",
            "-m",
            "POST",
            "-H",
            "Content-Type: application/octet-stream",
        ],
        body_bytes: Some(4096),
        snippets: NONE,
        ..PLAIN
    },
    Scenario {
        name: "conn-1000",
        about: "GET, 13-byte response, 1,000 concurrent keep-alive connections",
        path: "/",
        load_args: &["-c", "1000"],
        body_bytes: None,
        snippets: NONE,
        ..PLAIN
    },
    Scenario {
        name: "new-conn",
        about: "GET, a new client connection per request, 64 at a time",
        path: "/",
        load_args: &["-c", "64", "--new-conn"],
        body_bytes: None,
        snippets: NONE,
        ..PLAIN
    },
    Scenario {
        name: "https-keepalive",
        about: "HTTPS GET (TLS to the proxy, HTTP to the origin), keep-alive, 64 connections",
        load_args: &["-c", "64"],
        tls: true,
        baseline: Some("small-get"),
        ..PLAIN
    },
    Scenario {
        name: "https-new-conn",
        about: "HTTPS GET, a new TLS connection (full handshake) per request, 64 at a time",
        load_args: &["-c", "64", "--new-conn", "--no-tls-resume"],
        tls: true,
        baseline: Some("new-conn"),
        ..PLAIN
    },
    Scenario {
        name: "jwt-auth",
        about: "GET with an HS256 bearer token verified by the proxy (ringgate only), 64 connections",
        load_args: &["-c", "64"],
        jwt: true,
        only: &[ProxyKind::Ringgate],
        baseline: Some("small-get"),
        snippets: Snippets {
            ringgate: r#"auth = "bench"

[[auth_policy]]
name = "bench"
[auth_policy.jwt]
keys = [{ algorithm = "HS256", secret_env = "RINGBENCH_JWT_SECRET" }]
"#,
            ..NONE
        },
        ..PLAIN
    },
    Scenario {
        name: "rate-limit",
        about: "GET through a per-client-IP rate limit checked on every request, never hit",
        load_args: &["-c", "64"],
        baseline: Some("small-get"),
        snippets: Snippets {
            ringgate: r#"rate_limits = ["bench"]

[[rate_limit]]
name = "bench"
key = ["client_ip"]
requests = 100000000
per = "1s"
"#,
            nginx_http: "    limit_req_zone $binary_remote_addr zone=bench:10m rate=100000000r/s;\n",
            nginx_location: "            limit_req zone=bench burst=1000000 nodelay;\n",
            haproxy_frontend: "    stick-table type ip size 100k expire 10s store http_req_rate(1s)\n    http-request track-sc0 src\n    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }\n",
            ..NONE
        },
        ..PLAIN
    },
];

/// Looks up scenarios by name, in the order given; all of them for `None`.
pub fn select(names: Option<&[String]>) -> Result<Vec<&'static Scenario>, String> {
    let Some(names) = names else {
        return Ok(SCENARIOS.iter().collect());
    };
    names
        .iter()
        .map(|n| {
            SCENARIOS.iter().find(|s| s.name == n).ok_or_else(|| {
                let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                format!("unknown scenario `{n}` (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// Response body sizes the origin must serve (`/bytes/N` paths), so the
/// nginx origin can be given one static file per size.
pub fn body_sizes(scenarios: &[&Scenario]) -> Vec<usize> {
    let mut sizes: Vec<usize> = scenarios
        .iter()
        .filter_map(|s| s.path.strip_prefix("/bytes/")?.parse().ok())
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}
