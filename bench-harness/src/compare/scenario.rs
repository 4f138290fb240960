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
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "small-get",
        about: "GET, 13-byte response, keep-alive, 64 connections",
        path: "/",
        load_args: &["-c", "64"],
        body_bytes: None,
        snippets: NONE,
    },
    Scenario {
        name: "10k",
        about: "GET, 10 KiB response, keep-alive, 64 connections",
        path: "/bytes/10240",
        load_args: &["-c", "64"],
        body_bytes: None,
        snippets: NONE,
    },
    Scenario {
        name: "1m",
        about: "GET, 1 MiB response, keep-alive, 16 connections",
        path: "/bytes/1048576",
        load_args: &["-c", "16"],
        body_bytes: None,
        snippets: NONE,
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
    },
    Scenario {
        name: "conn-1000",
        about: "GET, 13-byte response, 1,000 concurrent keep-alive connections",
        path: "/",
        load_args: &["-c", "1000"],
        body_bytes: None,
        snippets: NONE,
    },
    Scenario {
        name: "new-conn",
        about: "GET, a new client connection per request, 64 at a time",
        path: "/",
        load_args: &["-c", "64", "--new-conn"],
        body_bytes: None,
        snippets: NONE,
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
