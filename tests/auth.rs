//! Authentication and authorization at the edge over real sockets: JWT
//! (every rejection never reaches the upstream), JWKS rotation on reload,
//! API keys, scopes and roles, identity headers, IP rules, trusted proxies
//! and per-route limits.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::client::{one_shot, Response};
use common::gateway::config;
use common::{wait_until, Client, Gateway, Upstream};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/");

fn fixture(name: &str) -> String {
    format!("{FIX}{name}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({"sub": "user-1", "iss": "https://id.test", "aud": "api", "exp": now() + 600,
           "scope": "orders:read profile", "roles": ["staff"]})
}

fn with(mut c: Value, key: &str, v: Value) -> Value {
    c[key] = v;
    c
}

/// HS256 with the `hs` key's kid (keys with a kid are chosen by it).
fn hs(c: &Value) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("hs".into());
    encode(&h, c, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

fn rs(kid: Option<&str>, key_file: &str, c: &Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = kid.map(String::from);
    let pem = std::fs::read(fixture(key_file)).unwrap();
    encode(&h, c, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

fn get(addr: SocketAddr, path: &str, headers: &str) -> Response {
    one_shot(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n").as_bytes(),
    )
}

fn bearer(addr: SocketAddr, path: &str, token: &str) -> Response {
    get(addr, path, &format!("Authorization: Bearer {token}\r\n"))
}

/// A gateway with a JWT policy (HS256 via env + RS256 PEM), an API-key
/// policy, identity headers and a few routes.
fn auth_gateway(up: &Upstream, extra: &str) -> Gateway {
    let toml = config(
        &[up.addr],
        &format!(
            r#"
[proxy]
identity_headers = [
  {{ name = "X-User-Id", from = "claim:sub" }},
  {{ name = "X-Consumer", from = "consumer" }},
  {{ name = "X-Scopes", from = "scopes" }},
]

[[auth_policy]]
name = "users"
strip_credentials = false
[auth_policy.jwt]
issuer = "https://id.test"
audience = ["api"]
leeway = "2s"
keys = [
  {{ kid = "hs", algorithm = "HS256", secret_env = "RINGGATE_TEST_JWT_SECRET" }},
  {{ kid = "rs", algorithm = "RS256", pem_file = "{rsa}" }},
]

[[auth_policy]]
name = "keys"
api_key = {{ header = "X-API-Key", query = "api_key" }}

[[consumer]]
name = "acme"
api_keys = ["{acme}"]
roles = ["partner"]
scopes = ["orders:read"]

[[consumer]]
name = "globex"
api_keys = ["{globex}"]
roles = ["viewer"]

[[route]]
name = "jwt"
cluster = "up"
path_prefix = "/jwt"
auth = "users"

[[route]]
name = "scoped-any"
cluster = "up"
path_prefix = "/any"
auth = "users"
require_scopes = {{ any = ["admin", "orders:read"] }}

[[route]]
name = "scoped-all"
cluster = "up"
path_prefix = "/all"
auth = "users"
require_scopes = {{ all = ["orders:read", "orders:write"] }}

[[route]]
name = "staff"
cluster = "up"
path_prefix = "/staff"
auth = "users"
require_roles = {{ any = ["staff"] }}

[[route]]
name = "partner"
cluster = "up"
path_prefix = "/partner"
auth = "keys"
require_roles = {{ all = ["partner"] }}

[[route]]
name = "open"
cluster = "up"
path_prefix = "/open"
{extra}
"#,
            rsa = fixture("rsa.pub.pem"),
            acme = ringgate::filter::auth::apikey::hash_key(b"acme-key"),
            globex = ringgate::filter::auth::apikey::hash_key(b"globex-key"),
        ),
    );
    Gateway::start_with_env(&toml, &[("RINGGATE_TEST_JWT_SECRET", SECRET)])
}

fn assert_401(r: &Response, reason: &str, presented: bool) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], reason);
    let want = if presented {
        "WWW-Authenticate: Bearer realm=\"ringgate\", error=\"invalid_token\""
    } else {
        "WWW-Authenticate: Bearer realm=\"ringgate\""
    };
    assert_eq!(r.header_lines("www-authenticate"), [want]);
}

#[test]
fn valid_tokens_pass_with_identity_headers_and_forged_ones_are_stripped() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "");
    let forged = "X-User-Id: admin\r\nx-consumer: root\r\nX-Scopes: everything\r\n";
    for token in [hs(&claims()), rs(Some("rs"), "rsa.key.pem", &claims())] {
        let r = get(
            gw.addr(),
            "/jwt/a",
            &format!("Authorization: Bearer {token}\r\n{forged}"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Forged identity headers are stripped on a route without auth, too.
    assert_eq!(get(gw.addr(), "/open", forged).status, 200);
    let reqs = up.requests();
    assert_eq!(reqs.len(), 3);
    for req in &reqs[..2] {
        assert_eq!(req.header("x-user-id"), Some("user-1"));
        assert_eq!(req.header_count("x-user-id"), 1);
        assert_eq!(req.header("x-scopes"), Some("orders:read profile"));
        assert_eq!(req.header("x-consumer"), None, "JWT: no consumer");
        assert!(req.header("authorization").is_some(), "kept by default");
    }
    let open = &reqs[2];
    for h in ["x-user-id", "x-consumer", "x-scopes"] {
        assert_eq!(open.header(h), None, "{h} forged on an open route");
    }
}

#[test]
fn rejected_tokens_get_401_and_never_reach_the_upstream() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims().to_string())
    );
    // HS256 signed with the RSA public key as the secret, kid of the RSA key.
    let mut confused_header = Header::new(Algorithm::HS256);
    confused_header.kid = Some("rs".into());
    let confused = encode(
        &confused_header,
        &claims(),
        &EncodingKey::from_secret(&std::fs::read(fixture("rsa.pub.pem")).unwrap()),
    )
    .unwrap();
    let good = hs(&claims());
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    parts[1] = b64.encode(with(claims(), "sub", json!("admin")).to_string());
    let tampered = parts.join(".");
    let cases = [
        (
            hs(&with(claims(), "exp", json!(now() - 60))),
            "token_expired",
        ),
        (
            hs(&with(claims(), "nbf", json!(now() + 600))),
            "token_not_yet_valid",
        ),
        (
            hs(&with(claims(), "aud", json!("other"))),
            "token_invalid_audience",
        ),
        (
            hs(&with(claims(), "iss", json!("https://evil"))),
            "token_invalid_issuer",
        ),
        (none, "invalid_token"),
        (confused, "token_algorithm_mismatch"),
        (tampered, "invalid_token"),
        (rs(Some("rs"), "rsa2.key.pem", &claims()), "invalid_token"),
        (
            rs(Some("nope"), "rsa.key.pem", &claims()),
            "token_unknown_key",
        ),
        ("not-a-jwt".to_string(), "invalid_token"),
    ];
    for (token, reason) in &cases {
        let r = bearer(gw.addr(), "/jwt/x", token);
        assert_401(&r, reason, true);
    }
    assert_401(&get(gw.addr(), "/jwt/x", ""), "missing_credentials", false);
    let basic = get(gw.addr(), "/jwt/x", "Authorization: Basic dTpw\r\n");
    assert_401(&basic, "missing_credentials", false);
    assert_eq!(
        up.request_count(),
        0,
        "a rejected request reached the upstream"
    );
    // The connection stays usable after a 401 (no body pending).
    let mut c = Client::connect(gw.addr());
    assert_eq!(c.get("/jwt/x").status, 401);
    assert_eq!(c.get("/open").status, 200);
}

#[test]
fn a_hot_token_is_served_from_the_cache_until_it_expires() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "");
    // Expires in 2s: cached until then, never after (leeway is 2s, so the
    // gateway's own verdict after expiry is decided by a fresh check).
    let exp = now() + 2;
    let token = hs(&with(claims(), "exp", json!(exp)));
    let mut c = Client::connect(gw.addr());
    for _ in 0..50 {
        let r = c.request(
            format!("GET /jwt/c HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(r.status, 200);
    }
    wait_until("token expiry plus leeway", Duration::from_secs(10), || {
        now() >= exp + 2
    });
    let r = c.request(
        format!("GET /jwt/c HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n")
            .as_bytes(),
    );
    assert_401(&r, "token_expired", true);
}

#[test]
fn api_keys_from_header_or_query() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "");
    let r = get(
        gw.addr(),
        "/partner/a",
        "X-API-Key: acme-key\r\nX-Consumer: forged\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(gw.addr(), "/partner/b?x=1&api_key=acme-key", "").status,
        200
    );
    assert_401(
        &get(gw.addr(), "/partner/c", "X-API-Key: wrong\r\n"),
        "invalid_api_key",
        true,
    );
    assert_401(
        &get(gw.addr(), "/partner/d", ""),
        "missing_credentials",
        false,
    );
    // A valid key without the required role.
    let r = get(gw.addr(), "/partner/e", "X-API-Key: globex-key\r\n");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "insufficient_role");
    let reqs = up.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("x-consumer"), Some("acme"));
    assert_eq!(reqs[0].header_count("x-consumer"), 1);
    assert_eq!(reqs[0].header("x-scopes"), Some("orders:read"));
    assert_eq!(reqs[1].header("x-consumer"), Some("acme"));
}

#[test]
fn scopes_any_all_and_roles() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "");
    let t = hs(&claims());
    assert_eq!(bearer(gw.addr(), "/any", &t).status, 200);
    let r = bearer(gw.addr(), "/all", &t);
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "insufficient_scope");
    assert_eq!(
        r.header_lines("www-authenticate"),
        ["WWW-Authenticate: Bearer realm=\"ringgate\", error=\"insufficient_scope\""]
    );
    let both = hs(&with(claims(), "scp", json!(["orders:write"])));
    assert_eq!(bearer(gw.addr(), "/all", &both).status, 200);
    assert_eq!(bearer(gw.addr(), "/staff", &t).status, 200);
    let guest = hs(&with(claims(), "roles", json!(["guest"])));
    let r = bearer(gw.addr(), "/staff", &guest);
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "insufficient_role");
    let none = hs(&with(claims(), "scope", json!("")));
    assert_eq!(bearer(gw.addr(), "/any", &none).status, 403);
    assert_eq!(up.request_count(), 3);
}

#[test]
fn claims_with_crlf_do_not_inject_headers() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "");
    let evil = hs(&with(claims(), "sub", json!("x\r\nX-Admin: yes")));
    assert_eq!(bearer(gw.addr(), "/jwt/evil", &evil).status, 200);
    let req = &up.requests()[0];
    assert_eq!(req.header("x-admin"), None);
    assert_eq!(req.header("x-user-id"), None, "an unsafe value is left out");
}

#[test]
fn strip_credentials_removes_the_consumed_header() {
    let up = Upstream::hello();
    let gw = auth_gateway(
        &up,
        r#"
[[auth_policy]]
name = "stripping"
strip_credentials = true
api_key = { header = "X-API-Key" }

[[route]]
name = "stripped"
cluster = "up"
path_prefix = "/stripped"
auth = "stripping"
"#,
    );
    let r = get(gw.addr(), "/stripped", "X-API-Key: acme-key\r\n");
    assert_eq!(r.status, 200);
    let r = get(gw.addr(), "/partner", "X-API-Key: acme-key\r\n");
    assert_eq!(r.status, 200);
    let reqs = up.requests();
    assert_eq!(reqs[0].header("x-api-key"), None);
    assert_eq!(
        reqs[1].header("x-api-key"),
        Some("acme-key"),
        "kept by default"
    );
}

fn jwks_json(keys: &[(&str, &str)]) -> String {
    let keys = keys
        .iter()
        .map(|(kid, file)| {
            let pem = std::fs::read(fixture(file)).unwrap();
            let mut jwk =
                Jwk::from_encoding_key(&EncodingKey::from_rsa_pem(&pem).unwrap(), Algorithm::RS256)
                    .unwrap();
            jwk.common.key_id = Some(kid.to_string());
            jwk
        })
        .collect();
    serde_json::to_string(&JwkSet { keys }).unwrap()
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("ringgate-auth-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn jwks_rotation_on_reload() {
    let dir = TempDir::new("jwks");
    let jwks = dir.0.join("jwks.json");
    std::fs::write(&jwks, jwks_json(&[("old", "rsa.key.pem")])).unwrap();
    let up = Upstream::hello();
    let gw = Gateway::start(&config(
        &[up.addr],
        &format!(
            r#"
[[auth_policy]]
name = "p"
jwt = {{ keys = [{{ jwks_file = "{}" }}] }}

[[route]]
name = "r"
cluster = "up"
auth = "p"
"#,
            jwks.display()
        ),
    ));
    let old = rs(Some("old"), "rsa.key.pem", &claims());
    let new = rs(Some("new"), "rsa2.key.pem", &claims());
    assert_eq!(bearer(gw.addr(), "/", &old).status, 200);
    assert_401(&bearer(gw.addr(), "/", &new), "token_unknown_key", true);
    std::fs::write(&jwks, jwks_json(&[("new", "rsa2.key.pem")])).unwrap();
    gw.signal(1);
    wait_until("the rotated key", Duration::from_secs(10), || {
        bearer(gw.addr(), "/", &new).status == 200
    });
    // The removed key is refused, even though its token was cached before.
    for _ in 0..4 {
        assert_401(&bearer(gw.addr(), "/", &old), "token_unknown_key", true);
    }
}

#[test]
fn route_ip_rules_v4_and_trusted_proxies() {
    let up = Upstream::hello();
    let toml = config(
        &[up.addr],
        r#"
[proxy]
trusted_proxies = ["127.0.0.1"]
identity_headers = [{ name = "X-Client-Ip", from = "client_ip" }]

[[route]]
name = "partners-only"
cluster = "up"
path_prefix = "/internal"
allow_cidrs = ["203.0.113.0/24"]
deny_cidrs = ["203.0.113.66"]

[[route]]
name = "no-local"
cluster = "up"
path_prefix = "/nolocal"
deny_cidrs = ["127.0.0.0/8"]

[[route]]
name = "open"
cluster = "up"
"#,
    );
    let gw = Gateway::start(&toml);
    let a = gw.addr();
    let denied = get(a, "/internal", "");
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["error"], "ip_denied");
    assert_eq!(denied.header_count("www-authenticate"), 0);
    // The peer (127.0.0.1) is trusted: XFF is believed, walked from the right.
    assert_eq!(
        get(a, "/internal", "X-Forwarded-For: 203.0.113.5\r\n").status,
        200
    );
    let spoof = "X-Forwarded-For: 203.0.113.5, 198.51.100.1\r\n";
    assert_eq!(
        get(a, "/internal", spoof).status,
        403,
        "the rightmost untrusted entry counts"
    );
    assert_eq!(
        get(a, "/internal", "X-Forwarded-For: 203.0.113.66\r\n").status,
        403
    );
    assert_eq!(get(a, "/nolocal", "").status, 403);
    assert_eq!(
        get(a, "/nolocal", "X-Forwarded-For: 198.51.100.7\r\n").status,
        200
    );
    assert_eq!(get(a, "/open", "X-Client-Ip: 6.6.6.6\r\n").status, 200);
    let reqs = up.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].header("x-client-ip"), Some("203.0.113.5"));
    // The forwarded XFF still appends the direct peer.
    assert_eq!(
        reqs[0].header("x-forwarded-for"),
        Some("203.0.113.5, 127.0.0.1")
    );
    assert_eq!(
        reqs[2].header("x-client-ip"),
        Some("127.0.0.1"),
        "forged value replaced"
    );
    assert_eq!(reqs[2].header_count("x-client-ip"), 1);
}

#[test]
fn xff_from_an_untrusted_peer_is_ignored() {
    let up = Upstream::hello();
    let gw = Gateway::start(&config(
        &[up.addr],
        r#"
[proxy]
trusted_proxies = ["10.0.0.0/8"]

[[route]]
name = "r"
cluster = "up"
allow_cidrs = ["203.0.113.0/24"]
"#,
    ));
    let r = get(gw.addr(), "/", "X-Forwarded-For: 203.0.113.5\r\n");
    assert_eq!(r.status, 403);
    assert_eq!(up.request_count(), 0);
}

#[test]
fn listener_ip_rules() {
    let up = Upstream::hello();
    let toml = format!(
        "[server]\nworkers = 1\n\n[[listener]]\nname = \"main\"\naddress = \"127.0.0.1:0\"\n\
         deny_cidrs = [\"127.0.0.0/8\"]\n\n[[listener]]\nname = \"other\"\naddress = \"127.0.0.1:0\"\n\
         allow_cidrs = [\"127.0.0.1\"]\n\n[[cluster]]\nname = \"up\"\nendpoints = [\"{}\"]\n\n\
         [[route]]\nname = \"all\"\ncluster = \"up\"\n",
        up.addr
    );
    let gw = Gateway::start(&toml);
    let r = get(gw.addr(), "/", "");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "ip_denied");
    assert_eq!(get(gw.listeners["other"], "/", "").status, 200);
    assert_eq!(up.request_count(), 1);
}

#[test]
fn ipv6_rules_per_listener_and_route() {
    let up = Upstream::hello();
    let toml = format!(
        "[server]\nworkers = 1\n\n[[listener]]\nname = \"main\"\naddress = \"[::1]:0\"\n\
         allow_cidrs = [\"::1/128\"]\n\n[[cluster]]\nname = \"up\"\nendpoints = [\"{}\"]\n\n\
         [[route]]\nname = \"deny6\"\ncluster = \"up\"\npath_prefix = \"/deny\"\ndeny_cidrs = [\"::/0\"]\n\n\
         [[route]]\nname = \"allow6\"\ncluster = \"up\"\npath_prefix = \"/allow\"\nallow_cidrs = [\"::1\"]\n\n\
         [[route]]\nname = \"only4\"\ncluster = \"up\"\npath_prefix = \"/v4\"\nallow_cidrs = [\"127.0.0.0/8\"]\n",
        up.addr
    );
    let gw = match std::panic::catch_unwind(|| Gateway::start(&toml)) {
        Ok(gw) => gw,
        Err(_) if std::net::TcpListener::bind("[::1]:0").is_err() => {
            eprintln!("skipped: no IPv6 loopback on this machine");
            return;
        }
        Err(e) => std::panic::resume_unwind(e),
    };
    assert!(gw.addr().is_ipv6());
    assert_eq!(get(gw.addr(), "/allow", "").status, 200);
    assert_eq!(get(gw.addr(), "/deny", "").status, 403);
    assert_eq!(get(gw.addr(), "/v4", "").status, 403);
    assert_eq!(up.request_count(), 1);
}

#[test]
fn per_route_body_and_header_limits_and_405() {
    let up = Upstream::hello();
    let gw = Gateway::start(&config(
        &[up.addr],
        r#"
[limits]
max_body_bytes = "1MiB"

[[route]]
name = "small"
cluster = "up"
path_prefix = "/small"
max_body_bytes = 10
max_header_bytes = 200

[[route]]
name = "get-only"
cluster = "up"
path_prefix = "/ro"
methods = ["GET", "HEAD"]

[[route]]
name = "big"
cluster = "up"
path_prefix = "/big"
"#,
    ));
    let post = |path: &str, body: &str| {
        one_shot(
            gw.addr(),
            format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    assert_eq!(post("/small", "0123456789").status, 200);
    let r = post("/small", "0123456789x");
    assert_eq!(r.status, 413);
    assert_eq!(post("/big", "0123456789x").status, 200);
    let long = format!("X-Pad: {}\r\n", "p".repeat(300));
    assert_eq!(get(gw.addr(), "/small", &long).status, 431);
    assert_eq!(get(gw.addr(), "/big", &long).status, 200);
    let r = post("/ro", "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header_lines("allow"), ["Allow: GET, HEAD"]);
    assert_eq!(r.json()["error"], "method_not_allowed");
    assert_eq!(get(gw.addr(), "/nothing-here", "").status, 404);
    assert_eq!(up.request_count(), 3);
}

#[test]
fn rejections_are_counted_in_metrics() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "\n[admin]\naddress = \"127.0.0.1:0\"\n");
    assert_eq!(get(gw.addr(), "/jwt", "").status, 401);
    assert_eq!(bearer(gw.addr(), "/jwt", "x.y.z").status, 401);
    assert_eq!(
        gw.metric("ringgate_rejected_total{reason=\"missing_credentials\"}"),
        1
    );
    assert_eq!(
        gw.metric("ringgate_rejected_total{reason=\"invalid_token\"}"),
        1
    );
}

/// Two `Authorization` lines (valid token first, another user's second),
/// two API-key headers (also spelled with `_`), or a key in both header and
/// query: 400 `duplicate_credentials`, counted, and nothing reaches the
/// upstream. One copy passes and reaches it exactly once.
#[test]
fn a_second_copy_of_the_credential_is_refused_and_never_forwarded() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "\n[admin]\naddress = \"127.0.0.1:0\"\n");
    let admin = hs(&with(claims(), "sub", json!("admin")));
    let other = hs(&with(claims(), "sub", json!("someone-else")));
    let assert_400 = |r: &Response| {
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"], "duplicate_credentials");
        assert_eq!(
            r.header_lines("www-authenticate"),
            ["WWW-Authenticate: Bearer realm=\"ringgate\", error=\"invalid_request\""]
        );
    };
    let two_tokens = format!("Authorization: Bearer {admin}\r\nAuthorization: Bearer {other}\r\n");
    assert_400(&get(gw.addr(), "/jwt", &two_tokens));
    let two_keys = "X-API-Key: acme-key\r\nX-API-Key: globex-key\r\n";
    assert_400(&get(gw.addr(), "/partner", two_keys));
    let folded = "X-API-Key: acme-key\r\nX_API_Key: globex-key\r\n";
    assert_400(&get(gw.addr(), "/partner", folded));
    assert_400(&get(
        gw.addr(),
        "/partner?api_key=globex-key",
        "X-API-Key: acme-key\r\n",
    ));
    assert_eq!(up.request_count(), 0);
    assert_eq!(
        gw.metric("ringgate_rejected_total{reason=\"duplicate_credentials\"}"),
        4
    );

    assert_eq!(bearer(gw.addr(), "/jwt", &admin).status, 200);
    assert_eq!(
        get(gw.addr(), "/partner", "X-API-Key: acme-key\r\n").status,
        200
    );
    let reqs = up.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header_count("authorization"), 1);
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {admin}").as_str())
    );
    assert_eq!(reqs[0].header("x-user-id"), Some("admin"));
    assert_eq!(reqs[1].header_count("x-api-key"), 1);
    assert_eq!(reqs[1].header("x-consumer"), Some("acme"));
}

/// Identity headers forged around the stripping: in a chunked request's
/// trailer section, or spelled with `_` (which many upstreams fold into
/// `-`). The upstream receives, byte for byte, only the gateway's own.
#[test]
fn forged_identity_in_trailers_or_underscore_names_never_reaches_the_upstream() {
    let up = Upstream::hello();
    let gw = Gateway::start(&config(
        &[up.addr],
        r#"
[proxy]
identity_headers = [
  { name = "X-User-Id", from = "claim:sub" },
  { name = "X-Client-Ip", from = "client_ip" },
]

[[route]]
name = "open"
cluster = "up"
"#,
    ));
    let mut c = Client::connect(gw.addr());
    let r = c.request(
        b"POST /open HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\
          X_User_Id: admin\r\nX-User_Id: admin\r\nX-Client_Ip: 10.6.6.6\r\n\
          X_Forwarded_For: 10.6.6.6\r\nX-Kept_Name: yes\r\n\r\n\
          5\r\nhello\r\n0\r\nX-User-Id: admin\r\nX-Client-Ip: 10.6.6.6\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Trailers split from the last chunk across two writes are dropped too.
    c.send(b"POST /open HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let r = c.request(b"X-User-Id: admin\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.text());
    let reqs = up.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        String::from_utf8_lossy(reqs[0].raw_head()),
        "POST /open HTTP/1.1\r\nHost: t\r\nX-Kept_Name: yes\r\nX-Forwarded-For: 127.0.0.1\r\n\
         X-Forwarded-Proto: http\r\nX-Forwarded-Host: t\r\nTransfer-Encoding: chunked\r\n\
         X-Client-Ip: 127.0.0.1\r\n\r\n"
    );
    assert_eq!(reqs[0].raw_body(), b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(reqs[1].raw_body(), b"2\r\nhi\r\n0\r\n\r\n");
}

/// RFC 7515 §4.1.11: a correctly signed token whose header has `crit`
/// naming an extension the gateway does not understand is refused (401,
/// counted) and never reaches the upstream.
#[test]
fn a_token_with_a_crit_header_is_refused() {
    let up = Upstream::hello();
    let gw = auth_gateway(&up, "\n[admin]\naddress = \"127.0.0.1:0\"\n");
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("hs".into());
    h.crit = Some(vec!["urn:example:unknown".into()]);
    let t = encode(&h, &claims(), &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    assert_401(
        &bearer(gw.addr(), "/jwt", &t),
        "token_critical_extension",
        true,
    );
    assert_eq!(up.request_count(), 0);
    assert_eq!(
        gw.metric("ringgate_rejected_total{reason=\"token_critical_extension\"}"),
        1
    );
    // The same claims without crit pass.
    assert_eq!(bearer(gw.addr(), "/jwt", &hs(&claims())).status, 200);
}
