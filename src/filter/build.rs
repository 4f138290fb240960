//! Config → [`Filters`], reporting every problem with its key path. Key
//! files and JWKS files are read here (relative paths from the working
//! directory), HMAC secrets from the environment. No error ever contains a
//! secret: only the variable's name.

use std::collections::HashMap;

use ipnet::IpNet;

use super::acl::{parse_cidr, CidrSet, IpRules};
use super::auth::apikey::{parse_stored, KeyTable};
use super::auth::jwks::parse_jwks;
use super::auth::jwt::{parse_algorithm, ClaimRules, JwtKey};
use super::auth::{ApiKeyPolicy, AuthPolicy, JwtPolicy, Source};
use super::authz::Requirement;
use super::identity::{IdentityHeader, IdentityHeaders, Source as IdSource};
use super::{ConsumerInfo, Filters, RouteRules};
use crate::config::{
    AuthPolicyConfig, Config, ConfigError, JwtConfig, JwtKeyConfig, RequirementConfig,
};

/// The most entries `limits.token_cache_entries` may ask for.
pub const MAX_TOKEN_CACHE_ENTRIES: usize = 1 << 20;

struct Errors(Vec<ConfigError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::new(path, message));
    }
}

/// Header names that identity headers or credential headers must not be:
/// framing and routing fields the proxy owns.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-connection",
    "expect",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "via",
];

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_header_name(errs: &mut Errors, path: String, name: &str) {
    if !is_token(name) {
        errs.push(path, format!("invalid header name {name:?}"));
    } else if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        errs.push(
            path,
            format!("{name:?} is managed by the proxy and can't be used here"),
        );
    }
}

impl Filters {
    pub fn build(cfg: &Config) -> Result<Filters, Vec<ConfigError>> {
        let mut errs = Errors(Vec::new());
        let mut f = Filters {
            token_cache_entries: cfg.limits.token_cache_entries,
            ..Filters::default()
        };
        if cfg.limits.token_cache_entries > MAX_TOKEN_CACHE_ENTRIES {
            errs.push(
                "limits.token_cache_entries",
                format!(
                    "{} is more than the maximum of {MAX_TOKEN_CACHE_ENTRIES}",
                    cfg.limits.token_cache_entries
                ),
            );
        }
        f.trusted = cidrs(
            &mut errs,
            "proxy.trusted_proxies",
            &cfg.proxy.trusted_proxies,
        );
        f.identity = identity_headers(&mut errs, cfg);
        f.always = f.identity.wants_client_ip();
        for (i, l) in cfg.listeners.iter().enumerate() {
            let rules = ip_rules(
                &mut errs,
                &format!("listener[{i}]"),
                &l.allow_cidrs,
                &l.deny_cidrs,
            );
            f.listeners.push(rules);
        }
        consumers(&mut errs, cfg, &mut f);
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, p) in cfg.auth_policies.iter().enumerate() {
            let path = format!("auth_policy[{i}]");
            if p.name.trim().is_empty() {
                errs.push(format!("{path}.name"), "must not be empty");
            } else if let Some(j) = names.get(p.name.as_str()) {
                errs.push(
                    format!("{path}.name"),
                    format!(
                        "duplicate auth_policy name {:?} (also used by auth_policy[{j}])",
                        p.name
                    ),
                );
            } else {
                names.insert(&p.name, i);
            }
            f.policies.push(policy(&mut errs, &path, p));
        }
        for (i, r) in cfg.routes.iter().enumerate() {
            let path = format!("route[{i}]");
            let mut rules = RouteRules {
                ip: ip_rules(&mut errs, &path, &r.allow_cidrs, &r.deny_cidrs),
                max_body_bytes: r.max_body_bytes.map(|b| b.0),
                ..RouteRules::default()
            };
            if let Some(h) = r.max_header_bytes {
                if h.0 == 0 {
                    errs.push(format!("{path}.max_header_bytes"), "must be greater than 0");
                } else if h > cfg.limits.max_header_bytes {
                    errs.push(
                        format!("{path}.max_header_bytes"),
                        format!(
                            "{} is larger than limits.max_header_bytes ({}): a route can only tighten it",
                            h, cfg.limits.max_header_bytes
                        ),
                    );
                }
                rules.max_header_bytes = Some(h.as_usize());
            }
            if let Some(name) = &r.auth {
                match cfg.auth_policies.iter().position(|p| &p.name == name) {
                    Some(p) => {
                        rules.auth = Some(p);
                        rules.strip = credential_headers(&cfg.auth_policies[p]);
                    }
                    None => {
                        let known: Vec<String> = cfg
                            .auth_policies
                            .iter()
                            .map(|p| format!("{:?}", p.name))
                            .collect();
                        let hint = if known.is_empty() {
                            "no [[auth_policy]] is defined".to_string()
                        } else {
                            format!("defined policies: {}", known.join(", "))
                        };
                        errs.push(
                            format!("{path}.auth"),
                            format!("unknown auth_policy {name:?} ({hint})"),
                        );
                    }
                }
            }
            rules.scopes = requirement(
                &mut errs,
                &path,
                "require_scopes",
                r.require_scopes.as_ref(),
                r.auth.is_some(),
            );
            rules.roles = requirement(
                &mut errs,
                &path,
                "require_roles",
                r.require_roles.as_ref(),
                r.auth.is_some(),
            );
            let empty = rules.ip.is_none()
                && rules.auth.is_none()
                && rules.max_body_bytes.is_none()
                && rules.max_header_bytes.is_none();
            f.routes.push((!empty).then(|| Box::new(rules)));
        }
        if errs.0.is_empty() {
            Ok(f)
        } else {
            Err(errs.0)
        }
    }
}

fn cidrs(errs: &mut Errors, path: &str, list: &[String]) -> CidrSet {
    let mut nets: Vec<IpNet> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        match parse_cidr(s) {
            Ok(n) => nets.push(n),
            Err(e) => errs.push(format!("{path}[{i}]"), e),
        }
    }
    CidrSet::new(&nets)
}

fn ip_rules(errs: &mut Errors, path: &str, allow: &[String], deny: &[String]) -> Option<IpRules> {
    let rules = IpRules {
        allow: cidrs(errs, &format!("{path}.allow_cidrs"), allow),
        deny: cidrs(errs, &format!("{path}.deny_cidrs"), deny),
    };
    (!rules.is_empty()).then_some(rules)
}

fn identity_headers(errs: &mut Errors, cfg: &Config) -> IdentityHeaders {
    let mut specs: Vec<IdentityHeader> = Vec::new();
    for (i, h) in cfg.proxy.identity_headers.iter().enumerate() {
        let path = format!("proxy.identity_headers[{i}]");
        check_header_name(errs, format!("{path}.name"), &h.name);
        if specs.iter().any(|s| s.name.eq_ignore_ascii_case(&h.name)) {
            errs.push(
                format!("{path}.name"),
                format!("duplicate identity header {:?}", h.name),
            );
        }
        match IdSource::parse(&h.from) {
            Ok(source) => specs.push(IdentityHeader {
                name: h.name.clone(),
                source,
            }),
            Err(e) => errs.push(format!("{path}.from"), e),
        }
    }
    IdentityHeaders::new(specs)
}

fn consumers(errs: &mut Errors, cfg: &Config, f: &mut Filters) {
    let mut table = KeyTable::default();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, c) in cfg.consumers.iter().enumerate() {
        let path = format!("consumer[{i}]");
        if c.name.trim().is_empty() {
            errs.push(format!("{path}.name"), "must not be empty");
        } else if let Some(j) = names.get(c.name.as_str()) {
            errs.push(
                format!("{path}.name"),
                format!(
                    "duplicate consumer name {:?} (also used by consumer[{j}])",
                    c.name
                ),
            );
        } else {
            names.insert(&c.name, i);
        }
        for (k, key) in c.api_keys.iter().enumerate() {
            match parse_stored(key) {
                Ok(d) => {
                    if let Err(j) = table.insert(d, i) {
                        errs.push(
                            format!("{path}.api_keys[{k}]"),
                            format!("this key is also listed by consumer[{j}]"),
                        );
                    }
                }
                Err(e) => errs.push(format!("{path}.api_keys[{k}]"), e),
            }
        }
        if let Some(rl) = &c.rate_limit {
            if rl.requests == 0 {
                errs.push(format!("{path}.rate_limit.requests"), "must be at least 1");
            }
            if rl.per.get().is_zero() {
                errs.push(format!("{path}.rate_limit.per"), "must be greater than 0");
            }
        }
        f.consumers.push(super::Identity::new(
            Some(c.name.clone()),
            c.scopes.clone(),
            c.roles.clone(),
            None,
            &f.identity,
        ));
        f.consumer_info.push(ConsumerInfo {
            name: c.name.clone(),
            rate_limit: c.rate_limit.clone(),
        });
    }
    f.keys = table;
}

fn requirement(
    errs: &mut Errors,
    route: &str,
    key: &str,
    req: Option<&RequirementConfig>,
    has_auth: bool,
) -> Option<Requirement> {
    let req = req?;
    let path = format!("{route}.{key}");
    if !has_auth {
        errs.push(
            &path,
            "needs `auth` on the same route: without authentication there is nothing to check",
        );
    }
    match Requirement::from_config(req) {
        Ok(r) => Some(r),
        Err(e) => {
            errs.push(path, e);
            None
        }
    }
}

/// Lower-case header names a policy's `strip_credentials` removes.
fn credential_headers(p: &AuthPolicyConfig) -> Vec<Box<[u8]>> {
    if !p.strip_credentials {
        return Vec::new();
    }
    let mut out: Vec<Box<[u8]>> = Vec::new();
    if let Some(j) = &p.jwt {
        if let Ok(Some(name)) =
            token_source(&j.token_from).map(|s| s.header_name().map(String::from))
        {
            out.push(name.into_bytes().into_boxed_slice());
        }
    }
    if let Some(a) = &p.api_key {
        out.push(
            a.header
                .to_ascii_lowercase()
                .into_bytes()
                .into_boxed_slice(),
        );
    }
    out
}

fn token_source(t: &crate::config::TokenFromConfig) -> Result<Source, String> {
    match (&t.header, &t.cookie, &t.query) {
        (None, None, None) => Ok(Source::Bearer),
        (Some(h), None, None) if h.eq_ignore_ascii_case("authorization") => Ok(Source::Bearer),
        (Some(h), None, None) => Ok(Source::Header(h.to_ascii_lowercase())),
        (None, Some(c), None) => Ok(Source::Cookie(c.clone())),
        (None, None, Some(q)) => Ok(Source::Query(q.clone())),
        _ => Err("set exactly one of `header`, `cookie` and `query`".into()),
    }
}

fn policy(errs: &mut Errors, path: &str, p: &AuthPolicyConfig) -> AuthPolicy {
    if p.jwt.is_none() && p.api_key.is_none() {
        errs.push(
            path,
            "set `jwt`, `api_key` or both: a policy must accept some credential",
        );
    }
    let jwt = p
        .jwt
        .as_ref()
        .map(|j| jwt_policy(errs, &format!("{path}.jwt"), j));
    let api_key = p.api_key.as_ref().map(|a| {
        let ap = format!("{path}.api_key");
        check_header_name(errs, format!("{ap}.header"), &a.header);
        if a.query.as_deref().is_some_and(str::is_empty) {
            errs.push(format!("{ap}.query"), "must not be empty");
        }
        ApiKeyPolicy {
            header: a.header.to_ascii_lowercase(),
            query: a.query.clone(),
        }
    });
    if p.strip_credentials {
        let jwt_elsewhere = jwt
            .as_ref()
            .is_some_and(|j| j.source.header_name().is_none());
        let key_in_query = p.api_key.as_ref().is_some_and(|a| a.query.is_some());
        if jwt_elsewhere || key_in_query {
            errs.push(
                format!("{path}.strip_credentials"),
                "only header credentials can be stripped; this policy also reads a cookie or query parameter",
            );
        }
    }
    AuthPolicy {
        name: p.name.clone(),
        jwt,
        api_key,
    }
}

fn jwt_policy(errs: &mut Errors, path: &str, j: &JwtConfig) -> JwtPolicy {
    let source = match token_source(&j.token_from) {
        Ok(s) => {
            let empty = match &s {
                Source::Header(n) => {
                    check_header_name(errs, format!("{path}.token_from.header"), n);
                    false
                }
                Source::Cookie(n) | Source::Query(n) => n.is_empty(),
                Source::Bearer => false,
            };
            if empty {
                errs.push(format!("{path}.token_from"), "the name must not be empty");
            }
            s
        }
        Err(e) => {
            errs.push(format!("{path}.token_from"), e);
            Source::Bearer
        }
    };
    if j.keys.is_empty() {
        errs.push(format!("{path}.keys"), "must list at least one key");
    }
    if j.roles_claim.is_empty() {
        errs.push(format!("{path}.roles_claim"), "must not be empty");
    }
    let mut keys: Vec<JwtKey> = Vec::new();
    for (k, key) in j.keys.iter().enumerate() {
        let kp = format!("{path}.keys[{k}]");
        match load_key(&kp, key) {
            Ok(loaded) => {
                for l in loaded {
                    if let Some(kid) = &l.kid {
                        if keys.iter().any(|o| o.kid.as_deref() == Some(kid.as_str())) {
                            errs.push(&kp, format!("duplicate kid {kid:?} in this policy"));
                        }
                    }
                    keys.push(l);
                }
            }
            Err((sub, e)) => errs.push(
                if sub.is_empty() {
                    kp
                } else {
                    format!("{kp}.{sub}")
                },
                e,
            ),
        }
    }
    JwtPolicy {
        keys,
        rules: ClaimRules {
            issuers: j.issuer.clone(),
            audiences: j.audience.clone(),
            leeway_secs: j.leeway.get().as_secs(),
            require_exp: j.require_exp,
        },
        source,
        roles_claim: j.roles_claim.clone(),
    }
}

/// One `keys` entry; the error carries the sub-key it is about.
fn load_key(_path: &str, k: &JwtKeyConfig) -> Result<Vec<JwtKey>, (&'static str, String)> {
    let alg = match &k.algorithm {
        Some(a) => Some(parse_algorithm(a).map_err(|e| ("algorithm", e))?),
        None => None,
    };
    let need_alg = || {
        alg.ok_or((
            "algorithm",
            "required: each key verifies exactly one algorithm".to_string(),
        ))
    };
    match (&k.secret_env, &k.pem_file, &k.jwks_file) {
        (Some(var), None, None) => {
            let alg = need_alg()?;
            let secret = std::env::var_os(var).ok_or((
                "secret_env",
                format!("environment variable {var} is not set"),
            ))?;
            use std::os::unix::ffi::OsStrExt;
            let secret = secret.as_bytes();
            if secret.is_empty() {
                return Err(("secret_env", format!("environment variable {var} is empty")));
            }
            let key = JwtKey::hmac(k.kid.clone(), alg, secret)
                .map_err(|e| ("secret_env", format!("environment variable {var}: {e}")))?;
            Ok(vec![key])
        }
        (None, Some(file), None) => {
            let alg = need_alg()?;
            let pem = std::fs::read(file)
                .map_err(|e| ("pem_file", format!("cannot read {file}: {e}")))?;
            let key = JwtKey::from_pem(k.kid.clone(), alg, &pem)
                .map_err(|e| ("pem_file", format!("{file}: {e}")))?;
            Ok(vec![key])
        }
        (None, None, Some(file)) => {
            if k.kid.is_some() {
                return Err((
                    "kid",
                    "a JWKS file names its keys itself; leave kid out".into(),
                ));
            }
            let text = std::fs::read_to_string(file)
                .map_err(|e| ("jwks_file", format!("cannot read {file}: {e}")))?;
            parse_jwks(&text, alg).map_err(|e| ("jwks_file", format!("{file}: {e}")))
        }
        _ => Err((
            "",
            "set exactly one of `secret_env`, `pem_file` and `jwks_file`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{validate, Draft};
    use crate::filter::Filters;

    const BASE: &str = "[[listener]]\nname = \"l\"\naddress = \"127.0.0.1:0\"\n\n\
                        [[cluster]]\nname = \"c\"\nendpoints = [\"127.0.0.1:9\"]\n\n";
    const PEM: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/jwt/rsa.pub.pem"
    );

    /// The config checked as `ringgate check` would, minus the other
    /// features: its own checks and the filters' build.
    fn parse(text: &str) -> Result<(), crate::config::ConfigErrors> {
        Draft::parse(text)?.finish(|cfg| {
            let mut errors = validate(&cfg);
            if let Err(e) = Filters::build(&cfg) {
                errors.extend(e);
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors)
            }
        })
    }

    fn errors(extra: &str) -> Vec<String> {
        match parse(&format!("{BASE}{extra}")) {
            Ok(_) => Vec::new(),
            Err(e) => {
                e.0.iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect()
            }
        }
    }

    fn paths(extra: &str) -> Vec<String> {
        errors(extra)
            .into_iter()
            .map(|e| e.split(": ").next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_full_auth_config_is_valid() {
        let cfg = format!(
            r#"
[proxy]
trusted_proxies = ["10.0.0.0/8", "::1"]
identity_headers = [{{ name = "X-User-Id", from = "claim:sub" }}, {{ name = "X-Consumer", from = "consumer" }}]

[[auth_policy]]
name = "p"
api_key = {{ query = "k" }}
[auth_policy.jwt]
issuer = "iss"
audience = "aud"
leeway = "5s"
keys = [{{ kid = "r", algorithm = "RS256", pem_file = "{PEM}" }}]

[[consumer]]
name = "acme"
api_keys = ["sha256:{}"]
rate_limit = {{ requests = 10, per = "1s" }}

[[route]]
name = "r"
cluster = "c"
auth = "p"
require_scopes = {{ any = ["a"] }}
require_roles = {{ all = ["x", "y"] }}
allow_cidrs = ["10.0.0.0/8"]
deny_cidrs = ["10.0.0.1"]
max_body_bytes = "1KiB"
max_header_bytes = "4KiB"
"#,
            "ab".repeat(32)
        );
        assert_eq!(errors(&cfg), Vec::<String>::new());
    }

    #[test]
    fn every_reference_and_value_is_checked_with_its_path() {
        let cfg = format!(
            r#"
[limits]
token_cache_entries = 9999999

[proxy]
trusted_proxies = ["10.0.0.1/8"]
identity_headers = [{{ name = "Bad Name", from = "claim:sub" }}, {{ name = "Host", from = "nope" }}]

[[auth_policy]]
name = "empty"

[[auth_policy]]
name = "j"
strip_credentials = true
[auth_policy.jwt]
token_from = {{ cookie = "s" }}
keys = [
  {{ algorithm = "none", secret_env = "X" }},
  {{ algorithm = "HS256", secret_env = "RINGGATE_TEST_SURELY_UNSET" }},
  {{ algorithm = "RS256", pem_file = "/nonexistent.pem" }},
  {{ algorithm = "ES256", pem_file = "{PEM}" }},
  {{ algorithm = "RS256" }},
  {{ kid = "x", jwks_file = "/nonexistent.json" }},
]

[[consumer]]
name = "a"
api_keys = ["plaintext-key", "sha256:{h}"]
rate_limit = {{ requests = 0, per = "1s" }}

[[consumer]]
name = "a"
api_keys = ["sha256:{h}"]

[[route]]
name = "r"
cluster = "c"
auth = "missing"
max_header_bytes = "1MiB"
deny_cidrs = ["nope"]

[[route]]
name = "s"
cluster = "c"
require_scopes = {{ any = [] }}
"#,
            h = "cd".repeat(32)
        );
        let got = paths(&cfg);
        let want = [
            "limits.token_cache_entries",
            "proxy.trusted_proxies[0]",
            "proxy.identity_headers[0].name",
            "proxy.identity_headers[1].name",
            "proxy.identity_headers[1].from",
            "auth_policy[0]",
            "auth_policy[1].strip_credentials",
            "auth_policy[1].jwt.keys[0].algorithm",
            "auth_policy[1].jwt.keys[1].secret_env",
            "auth_policy[1].jwt.keys[2].pem_file",
            "auth_policy[1].jwt.keys[3].pem_file",
            "auth_policy[1].jwt.keys[4]",
            "auth_policy[1].jwt.keys[5].kid",
            "consumer[0].api_keys[0]",
            "consumer[0].rate_limit.requests",
            "consumer[1].name",
            "consumer[1].api_keys[0]",
            "route[0].auth",
            "route[0].max_header_bytes",
            "route[0].deny_cidrs[0]",
            "route[1].require_scopes",
        ];
        for w in want {
            assert!(got.iter().any(|g| g == w), "missing {w} in {got:#?}");
        }
        let text = errors(&cfg).join("\n");
        assert!(
            text.contains("RINGGATE_TEST_SURELY_UNSET is not set"),
            "{text}"
        );
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_show_in_errors() {
        // A variable every test process has, with a value too short for HS512.
        let home = std::env::var("HOME").unwrap_or_default();
        if home.len() >= 64 || home.is_empty() {
            return;
        }
        let text = errors(
            r#"
[[auth_policy]]
name = "p"
jwt = { keys = [{ algorithm = "HS512", secret_env = "HOME" }] }
"#,
        )
        .join("\n");
        assert!(text.contains("needs at least 64"), "{text}");
        assert!(!text.contains(&home), "{text}");
    }
}
