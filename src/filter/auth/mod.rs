//! Authentication: per-route policies of JWT (`jwt`, `jwks`) and API keys
//! (`apikey`), with the per-core cache of verified tokens (`cache`).
//!
//! A policy may accept both. A request presenting a token is judged by the
//! token alone (a bad token is a 401 even if an API key is also sent);
//! otherwise its API key is; with neither, it has no credentials.
//!
//! The credential being checked must appear once: a second copy (another
//! header line, also one whose name differs only by `_` for `-`, another
//! cookie or query parameter of that name, or an API key both in the header
//! and the query) is refused with `duplicate_credentials` rather than
//! resolved by picking one, since the upstream may pick the other.

pub mod apikey;
pub mod cache;
pub mod jwks;
pub mod jwt;

use std::rc::Rc;

use serde_json::{Map, Value};

use self::cache::TokenCache;
use self::jwt::{ClaimRules, JwtKey};
use super::identity::{same_field_name, Identity, IdentityHeaders};
use crate::http::RequestHead;

/// Why a request did not authenticate; each is a stable reason label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No token and no API key where the policy looks for them.
    Missing,
    /// Malformed, unsigned, badly signed, or with malformed claims.
    InvalidToken,
    /// The header `alg` is not the algorithm the key is pinned to.
    AlgorithmMismatch,
    /// No configured key has the token's `kid`.
    UnknownKey,
    Expired,
    NotYetValid,
    InvalidIssuer,
    InvalidAudience,
    InvalidApiKey,
    /// The token's header has `crit` (RFC 7515 §4.1.11): it names
    /// extensions that must be understood, and we understand none.
    CriticalExtension,
    /// The credential the policy checks appears more than once (two
    /// `Authorization` lines, two API-key headers or query parameters, two
    /// cookies of that name): answered 400, never resolved by picking one.
    DuplicateCredentials,
}

impl AuthError {
    pub const ALL: [AuthError; 11] = [
        AuthError::Missing,
        AuthError::InvalidToken,
        AuthError::AlgorithmMismatch,
        AuthError::UnknownKey,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::InvalidIssuer,
        AuthError::InvalidAudience,
        AuthError::InvalidApiKey,
        AuthError::CriticalExtension,
        AuthError::DuplicateCredentials,
    ];

    pub fn reason(self) -> &'static str {
        match self {
            AuthError::Missing => "missing_credentials",
            AuthError::InvalidToken => "invalid_token",
            AuthError::AlgorithmMismatch => "token_algorithm_mismatch",
            AuthError::UnknownKey => "token_unknown_key",
            AuthError::Expired => "token_expired",
            AuthError::NotYetValid => "token_not_yet_valid",
            AuthError::InvalidIssuer => "token_invalid_issuer",
            AuthError::InvalidAudience => "token_invalid_audience",
            AuthError::InvalidApiKey => "invalid_api_key",
            AuthError::CriticalExtension => "token_critical_extension",
            AuthError::DuplicateCredentials => "duplicate_credentials",
        }
    }
}

/// Where a credential is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A header's whole value (a leading `Bearer ` is removed); lower-case name.
    Header(String),
    Cookie(String),
    Query(String),
}

impl Source {
    /// The credential, or `None` when it is absent or empty; an error when
    /// it is there more than once.
    pub fn extract<'a>(
        &self,
        head: &RequestHead,
        buf: &'a [u8],
    ) -> Result<Option<&'a [u8]>, AuthError> {
        let v = match self {
            Source::Bearer => only_header(head, buf, "authorization")?.and_then(strip_bearer),
            Source::Header(name) => {
                only_header(head, buf, name)?.map(|v| strip_bearer(v).unwrap_or(v))
            }
            Source::Cookie(name) => only_cookie(head, buf, name)?,
            Source::Query(name) => match head.query {
                Some(q) => only_param(q.get(buf), name)?,
                None => None,
            },
        };
        Ok(v.filter(|v| !v.is_empty()))
    }

    /// The header this source reads, if it reads one (lower-case).
    pub fn header_name(&self) -> Option<&str> {
        match self {
            Source::Bearer => Some("authorization"),
            Source::Header(h) => Some(h),
            Source::Cookie(_) | Source::Query(_) => None,
        }
    }
}

/// The token after a case-insensitive `Bearer` scheme and its spaces.
fn strip_bearer(v: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = v.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") || rest.first().is_none_or(|&b| b != b' ') {
        return None;
    }
    let start = rest.iter().position(|&b| b != b' ')?;
    rest.get(start..)
}

/// The one item of `items`, `None` for none, an error for two or more.
fn at_most_one<T>(mut items: impl Iterator<Item = T>) -> Result<Option<T>, AuthError> {
    let first = items.next();
    match items.next() {
        Some(_) => Err(AuthError::DuplicateCredentials),
        None => Ok(first),
    }
}

/// The value of the field `name_lower`. Any other line whose name is the
/// same with `_` read as `-` counts as a second copy: upstreams that fold
/// underscores (CGI and the frameworks built on it) would see it as one.
fn only_header<'a>(
    head: &RequestHead,
    buf: &'a [u8],
    name_lower: &str,
) -> Result<Option<&'a [u8]>, AuthError> {
    let copies = head
        .headers
        .iter()
        .filter(|h| same_field_name(h.name.get(buf), name_lower.as_bytes()));
    match at_most_one(copies)? {
        // Only the exact name is a credential; a lone `X_API_Key` is not one.
        Some(h) if h.name.get(buf).eq_ignore_ascii_case(name_lower.as_bytes()) => {
            Ok(Some(h.value.get(buf)))
        }
        _ => Ok(None),
    }
}

fn only_cookie<'a>(
    head: &RequestHead,
    buf: &'a [u8],
    name: &str,
) -> Result<Option<&'a [u8]>, AuthError> {
    let values = head
        .headers
        .iter()
        .filter(|h| h.name.get(buf).eq_ignore_ascii_case(b"cookie"))
        .flat_map(|h| h.value.get(buf).split(|&b| b == b';'))
        .filter_map(|pair| {
            let (k, v) = split_once(pair.trim_ascii(), b'=')?;
            (k == name.as_bytes()).then_some(v)
        });
    at_most_one(values)
}

/// `name=value` in a query string (raw, not percent-decoded).
fn only_param<'a>(query: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, AuthError> {
    let values = query.split(|&b| b == b'&').filter_map(|pair| {
        let (k, v) = split_once(pair, b'=')?;
        (k == name.as_bytes()).then_some(v)
    });
    at_most_one(values)
}

fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

pub struct JwtPolicy {
    pub keys: Vec<JwtKey>,
    pub rules: ClaimRules,
    pub source: Source,
    /// Roles claim; a dotted name walks nested objects (`realm_access.roles`).
    pub roles_claim: String,
}

pub struct ApiKeyPolicy {
    /// Lower-case header name.
    pub header: String,
    pub query: Option<String>,
}

impl ApiKeyPolicy {
    /// The key from the header or the query parameter; both at once is a
    /// duplicate like two header lines.
    fn extract<'a>(
        &self,
        head: &RequestHead,
        buf: &'a [u8],
    ) -> Result<Option<&'a [u8]>, AuthError> {
        let in_header = only_header(head, buf, &self.header)?;
        let in_query = match (head.query, self.query.as_deref()) {
            (Some(q), Some(name)) => only_param(q.get(buf), name)?,
            _ => None,
        };
        let v = match (in_header, in_query) {
            (Some(_), Some(_)) => return Err(AuthError::DuplicateCredentials),
            (h, q) => h.or(q),
        };
        Ok(v.filter(|v| !v.is_empty()))
    }
}

pub struct AuthPolicy {
    pub name: String,
    pub jwt: Option<JwtPolicy>,
    pub api_key: Option<ApiKeyPolicy>,
}

/// An authenticated caller: a verified token's identity (per core, maybe
/// cached) or a consumer's (part of the snapshot).
pub enum Who<'s> {
    Token(Rc<Identity>),
    Consumer(&'s Identity),
}

impl Who<'_> {
    pub fn identity(&self) -> &Identity {
        match self {
            Who::Token(id) => id,
            Who::Consumer(id) => id,
        }
    }
}

/// What authentication needs besides the policy.
pub struct AuthCtx<'s> {
    pub consumers: &'s [Identity],
    pub keys: &'s apikey::KeyTable,
    pub identity: &'s IdentityHeaders,
    pub cache: &'s std::cell::RefCell<TokenCache>,
    pub generation: u64,
    pub cache_entries: usize,
    /// Unix seconds.
    pub now: u64,
}

impl AuthPolicy {
    pub fn authenticate<'s>(
        &self,
        index: usize,
        head: &RequestHead,
        buf: &[u8],
        cx: &AuthCtx<'s>,
    ) -> Result<Who<'s>, AuthError> {
        if let Some(jwt) = &self.jwt {
            if let Some(token) = jwt.source.extract(head, buf)? {
                return verify_token(jwt, index, token, cx).map(Who::Token);
            }
        }
        if let Some(ak) = &self.api_key {
            if let Some(key) = ak.extract(head, buf)? {
                let consumer = cx.keys.lookup(key).ok_or(AuthError::InvalidApiKey)?;
                let id = cx.consumers.get(consumer).ok_or(AuthError::InvalidApiKey)?;
                return Ok(Who::Consumer(id));
            }
        }
        Err(AuthError::Missing)
    }
}

fn verify_token(
    jwt: &JwtPolicy,
    policy: usize,
    token: &[u8],
    cx: &AuthCtx,
) -> Result<Rc<Identity>, AuthError> {
    let mut cache = cx.cache.borrow_mut();
    let cached = cache.sync(cx.generation, cx.cache_entries);
    if cached {
        if let Some(id) = cache.get(policy, token, cx.now) {
            return Ok(id);
        }
    }
    let v = jwt::verify(&jwt.keys, &jwt.rules, token, cx.now)?;
    let scopes = scopes_of(&v.claims);
    let roles = claim_path(&v.claims, &jwt.roles_claim)
        .map(words)
        .unwrap_or_default();
    let id = Rc::new(Identity::new(
        None,
        scopes,
        roles,
        Some(&v.claims),
        cx.identity,
    ));
    // A token accepted only thanks to the leeway is not cached.
    if cached && v.exp.is_none_or(|exp| cx.now < exp) {
        cache.insert(policy, token, v.exp, id.clone());
    }
    Ok(id)
}

/// `scope` (space-separated string) and `scp` (array or string), merged.
pub fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        if let Some(v) = claims.get(name) {
            for s in words(v) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

fn claim_path<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut v = claims.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// A string split on whitespace, or an array's strings.
fn words(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s.split_whitespace().map(String::from).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{ParseStatus, RequestParser};
    use serde_json::json;

    fn parse(raw: &[u8]) -> RequestHead {
        match RequestParser::new(Default::default()).parse(raw).unwrap() {
            ParseStatus::Complete(h) => h,
            ParseStatus::Partial => panic!("partial"),
        }
    }

    fn get(src: &Source, raw: &str) -> Option<String> {
        let head = parse(raw.as_bytes());
        src.extract(&head, raw.as_bytes())
            .unwrap()
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
    }

    #[test]
    fn credentials_from_bearer_header_cookie_query() {
        let r =
            "GET /x?a=1&access_token=T3&b HTTP/1.1\r\nHost: h\r\nAuthorization: bearer   T1\r\n\
                 X-Token: Bearer T2\r\nCookie: a=b; session=T4\r\nCookie: other=1\r\n\r\n";
        assert_eq!(get(&Source::Bearer, r).as_deref(), Some("T1"));
        assert_eq!(
            get(&Source::Header("x-token".into()), r).as_deref(),
            Some("T2")
        );
        assert_eq!(
            get(&Source::Cookie("session".into()), r).as_deref(),
            Some("T4")
        );
        assert_eq!(
            get(&Source::Cookie("other".into()), r).as_deref(),
            Some("1")
        );
        assert_eq!(
            get(&Source::Query("access_token".into()), r).as_deref(),
            Some("T3")
        );
        assert_eq!(get(&Source::Query("b".into()), r), None);
        let basic = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcg==\r\n\r\n";
        assert_eq!(get(&Source::Bearer, basic), None);
        let empty = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer\r\n\r\n";
        assert_eq!(get(&Source::Bearer, empty), None);
        let bearerx = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: BearerX\r\n\r\n";
        assert_eq!(get(&Source::Bearer, bearerx), None);
        assert_eq!(
            get(
                &Source::Query("a".into()),
                "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
            ),
            None
        );
    }

    #[test]
    fn a_second_copy_of_the_credential_is_refused() {
        fn dup<'a>(src: &Source, raw: &'a str) -> Result<Option<&'a [u8]>, AuthError> {
            let head = parse(raw.as_bytes());
            src.extract(&head, raw.as_bytes())
        }
        let two_bearer = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer A\r\n\
                          Authorization: Bearer B\r\n\r\n";
        assert_eq!(
            dup(&Source::Bearer, two_bearer),
            Err(AuthError::DuplicateCredentials)
        );
        // A Basic line next to the Bearer one is still a second Authorization.
        let mixed = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dQ==\r\n\
                     Authorization: Bearer B\r\n\r\n";
        assert_eq!(
            dup(&Source::Bearer, mixed),
            Err(AuthError::DuplicateCredentials)
        );
        let x = Source::Header("x-token".into());
        for second in ["X-Token: T2", "x_token: T2", "X_TOKEN: T2"] {
            let raw = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Token: T1\r\n{second}\r\n\r\n");
            assert_eq!(
                dup(&x, &raw),
                Err(AuthError::DuplicateCredentials),
                "{second}"
            );
        }
        // Alone, an underscore spelling is not the credential.
        let lone = "GET / HTTP/1.1\r\nHost: h\r\nX_Token: T1\r\n\r\n";
        assert_eq!(dup(&x, lone), Ok(None));
        let cookies = "GET / HTTP/1.1\r\nHost: h\r\nCookie: s=1; a=b\r\nCookie: s=2\r\n\r\n";
        assert_eq!(
            dup(&Source::Cookie("s".into()), cookies),
            Err(AuthError::DuplicateCredentials)
        );
        assert_eq!(
            dup(&Source::Cookie("a".into()), cookies).unwrap(),
            Some(&b"b"[..])
        );
        let query = "GET /?t=1&t=2 HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(
            dup(&Source::Query("t".into()), query),
            Err(AuthError::DuplicateCredentials)
        );
        let ak = ApiKeyPolicy {
            header: "x-api-key".into(),
            query: Some("api_key".into()),
        };
        let both = "GET /?api_key=k1 HTTP/1.1\r\nHost: h\r\nX-API-Key: k2\r\n\r\n";
        let head = parse(both.as_bytes());
        assert_eq!(
            ak.extract(&head, both.as_bytes()),
            Err(AuthError::DuplicateCredentials)
        );
        let two = "GET / HTTP/1.1\r\nHost: h\r\nX-API-Key: k1\r\nX-Api-Key: k1\r\n\r\n";
        let head = parse(two.as_bytes());
        assert_eq!(
            ak.extract(&head, two.as_bytes()),
            Err(AuthError::DuplicateCredentials)
        );
    }

    #[test]
    fn scopes_and_roles_from_claims() {
        let c =
            json!({"scope": "read write", "scp": ["write", "admin"], "realm": {"roles": ["r1"]}});
        let c = c.as_object().unwrap();
        assert_eq!(scopes_of(c), ["read", "write", "admin"]);
        assert_eq!(
            claim_path(c, "realm.roles").map(words),
            Some(vec!["r1".to_string()])
        );
        assert_eq!(claim_path(c, "nope.roles"), None);
        assert_eq!(words(&json!("a  b")), ["a", "b"]);
        assert!(words(&json!(5)).is_empty());
    }
}
