//! The path-matching policy over real sockets: every request shape that an
//! upstream (Tomcat, Spring, Jetty, Symfony...) might resolve to a protected
//! path is either refused by the gateway or routed to the protected route
//! (401 without credentials). None reaches an upstream unauthenticated.

mod common;

use std::net::SocketAddr;

use common::client::{one_shot, Response};
use common::gateway::config;
use common::{Gateway, Upstream};

const API_KEY: &str = "admin-key";

/// `/admin` (prefix) and `/secret` (exact) need an API key and go to the
/// `protected` cluster; everything else goes to `open` without auth.
fn gateway(protected: &Upstream, open: &Upstream, proxy: &str) -> Gateway {
    let toml = config(
        &[open.addr],
        &format!(
            r#"
[proxy]
{proxy}

[[cluster]]
name = "protected"
endpoints = ["{protected}"]

[[auth_policy]]
name = "keys"
api_key = {{ header = "X-API-Key" }}

[[consumer]]
name = "ops"
api_keys = ["{key}"]

[[route]]
name = "admin"
cluster = "protected"
path_prefix = "/admin"
auth = "keys"

[[route]]
name = "secret"
cluster = "protected"
path_exact = "/secret"
auth = "keys"

[[route]]
name = "open"
cluster = "up"
path_prefix = "/"
"#,
            protected = protected.addr,
            key = ringgate::filter::auth::apikey::hash_key(API_KEY.as_bytes()),
        ),
    );
    Gateway::start(&toml)
}

fn get(addr: SocketAddr, path: &str, headers: &str) -> Response {
    one_shot(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n").as_bytes(),
    )
}

/// What the gateway does with a shape under the default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// 400 with this reason.
    Refused(&'static str),
    /// Matched the protected route: 401 without a key.
    Protected,
}

/// Shapes that name `/admin` or `/secret` to some common upstream.
const SHAPES: &[(&str, Want)] = &[
    ("/admin;x", Want::Refused("path_params")),
    ("/admin;jsessionid=1/x", Want::Refused("path_params")),
    ("/ADMIN", Want::Protected),
    ("/Admin/users", Want::Protected),
    ("/admin/", Want::Protected),
    ("/secret/", Want::Protected),
    ("/SECRET", Want::Protected),
    ("/Secret/", Want::Protected),
    ("/admin%20", Want::Refused("encoded_space")),
    ("/admin%20/x", Want::Refused("encoded_space")),
    ("/%20admin", Want::Refused("encoded_space")),
    ("/admin%09", Want::Refused("encoded_control")),
    ("/admin%0a", Want::Refused("encoded_control")),
    ("/admin%0D", Want::Refused("encoded_control")),
    ("/admin%00", Want::Refused("encoded_nul")),
    ("/admin%3bx", Want::Refused("encoded_delimiter")),
    ("/admin%3B", Want::Refused("encoded_delimiter")),
    ("/admin%23x", Want::Refused("encoded_delimiter")),
    ("/admin%3fx", Want::Refused("encoded_delimiter")),
    ("/secret%3Fx", Want::Refused("encoded_delimiter")),
    ("/%61dmin", Want::Refused("encoded_unreserved")),
    ("/x/../admin", Want::Refused("dot_segment")),
    ("/x/..;/admin", Want::Refused("dot_segment")),
];

fn assert_shape(resp: &Response, path: &str, want: Want) {
    match want {
        Want::Refused(reason) => {
            assert_eq!(resp.status, 400, "{path}: {}", resp.text());
            assert_eq!(resp.json()["error"], reason, "{path}");
        }
        Want::Protected => {
            assert_eq!(resp.status, 401, "{path}: {}", resp.text());
            assert_eq!(resp.json()["error"], "missing_credentials", "{path}");
        }
    }
}

#[test]
fn no_shape_reaches_an_upstream_without_auth() {
    let protected = Upstream::hello();
    let open = Upstream::hello();
    let gw = gateway(&protected, &open, "");
    for &(path, want) in SHAPES {
        let resp = get(gw.addr(), path, "");
        assert_shape(&resp, path, want);
    }
    assert_eq!(protected.request_count(), 0);
    assert_eq!(open.request_count(), 0);
}

#[test]
fn protected_shapes_pass_with_the_key_and_keep_their_case() {
    let protected = Upstream::hello();
    let open = Upstream::hello();
    let gw = gateway(&protected, &open, "");
    let key = format!("X-API-Key: {API_KEY}\r\n");
    let protected_shapes: Vec<&str> = SHAPES
        .iter()
        .filter(|(_, w)| *w == Want::Protected)
        .map(|(p, _)| *p)
        .collect();
    for path in &protected_shapes {
        assert_eq!(get(gw.addr(), path, &key).status, 200, "{path}");
    }
    let seen: Vec<String> = protected.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(seen, protected_shapes);
    // Ordinary paths still reach the open upstream.
    assert_eq!(get(gw.addr(), "/adminx", "").status, 200);
    assert_eq!(get(gw.addr(), "/secret/x", "").status, 200);
    assert_eq!(get(gw.addr(), "/a%20b", "").status, 200);
    let open_paths: Vec<String> = open.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(open_paths, ["/adminx", "/secret/x", "/a%20b"]);
}

/// With `allow_path_params`, routes are matched without the `;params`, so
/// `/admin;x` is the protected route; the upstream gets the params.
#[test]
fn allowed_path_params_still_hit_the_protected_route() {
    let protected = Upstream::hello();
    let open = Upstream::hello();
    let gw = gateway(&protected, &open, "allow_path_params = true");
    for path in [
        "/admin;x",
        "/admin;jsessionid=1/x",
        "/Secret;a=b",
        "/secret/;x",
    ] {
        assert_shape(&get(gw.addr(), path, ""), path, Want::Protected);
    }
    // A params-only segment would leave `//` once stripped.
    let resp = get(gw.addr(), "/x/;y/admin", "");
    assert_shape(&resp, "/x/;y/admin", Want::Refused("path_params"));
    assert_eq!(protected.request_count() + open.request_count(), 0);

    let key = format!("X-API-Key: {API_KEY}\r\n");
    assert_eq!(get(gw.addr(), "/admin;jsessionid=1/x", &key).status, 200);
    assert_eq!(get(gw.addr(), "/open;v=2", "").status, 200);
    assert_eq!(protected.requests()[0].path, "/admin;jsessionid=1/x");
    assert_eq!(open.requests()[0].path, "/open;v=2");
}

#[test]
fn allowed_ambiguous_escapes_pass_through_unchanged() {
    let protected = Upstream::hello();
    let open = Upstream::hello();
    let gw = gateway(&protected, &open, "allow_ambiguous_escapes = true");
    for path in ["/admin%20", "/admin%3bx", "/docs/a%3Fb", "/docs/%20x%20"] {
        assert_eq!(get(gw.addr(), path, "").status, 200, "{path}");
    }
    let seen: Vec<String> = open.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        seen,
        ["/admin%20", "/admin%3bx", "/docs/a%3Fb", "/docs/%20x%20"]
    );
    // Encoded controls stay refused.
    let resp = get(gw.addr(), "/admin%09", "");
    assert_shape(&resp, "/admin%09", Want::Refused("encoded_control"));
}

const OVERRIDES: &str =
    "X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nx-original-url: /secret\r\n";

#[test]
fn url_override_headers_are_dropped_by_default() {
    let protected = Upstream::hello();
    let open = Upstream::hello();
    let gw = gateway(&protected, &open, "");
    assert_eq!(get(gw.addr(), "/public", OVERRIDES).status, 200);
    let req = &open.requests()[0];
    assert_eq!(req.header_count("x-original-url"), 0);
    assert_eq!(req.header_count("x-rewrite-url"), 0);
    assert_eq!(req.header_count("host"), 1);
}

#[test]
fn url_override_headers_pass_when_configured() {
    let protected = Upstream::hello();
    let open = Upstream::hello();
    let gw = gateway(&protected, &open, "forward_url_override_headers = true");
    assert_eq!(get(gw.addr(), "/public", OVERRIDES).status, 200);
    let req = &open.requests()[0];
    assert_eq!(req.header_count("x-original-url"), 2);
    assert_eq!(req.header_count("x-rewrite-url"), 1);
}
