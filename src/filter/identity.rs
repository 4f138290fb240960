//! Who a request is, once authenticated, and the headers that tell the
//! upstream. Header values are formatted once per verified identity (a
//! cached token reuses them) and sanitized: a value with a control byte
//! (CR, LF, NUL, ...) is never injected, so a claim can't add headers.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// Longest identity header value injected; a longer one is left out.
pub const MAX_VALUE_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Claim(String),
    Consumer,
    Scopes,
    Roles,
    ClientIp,
}

impl Source {
    /// `claim:<name>`, `subject` (= `claim:sub`), `consumer`, `scopes`,
    /// `roles`, `client_ip`.
    pub fn parse(s: &str) -> Result<Source, String> {
        Ok(match s {
            "subject" => Source::Claim("sub".into()),
            "consumer" => Source::Consumer,
            "scopes" => Source::Scopes,
            "roles" => Source::Roles,
            "client_ip" => Source::ClientIp,
            _ => match s.strip_prefix("claim:") {
                Some(c) if !c.is_empty() => Source::Claim(c.to_string()),
                _ => {
                    return Err(format!(
                        "invalid source {s:?}: expected \"claim:<name>\", \"subject\", \
                         \"consumer\", \"scopes\", \"roles\" or \"client_ip\""
                    ))
                }
            },
        })
    }
}

#[derive(Debug, Clone)]
pub struct IdentityHeader {
    /// As configured (its case is kept when written).
    pub name: String,
    pub source: Source,
}

/// The configured identity headers (`[proxy] identity_headers`).
#[derive(Debug, Clone, Default)]
pub struct IdentityHeaders {
    pub specs: Vec<IdentityHeader>,
    /// Lower-case names: removed from every incoming request.
    pub strip: Vec<Box<[u8]>>,
}

impl IdentityHeaders {
    pub fn new(specs: Vec<IdentityHeader>) -> IdentityHeaders {
        let strip = specs
            .iter()
            .map(|s| s.name.to_ascii_lowercase().into_bytes().into_boxed_slice())
            .collect();
        IdentityHeaders { specs, strip }
    }

    /// Appends the `client_ip` headers (the only per-request values).
    pub fn write_client_ip(&self, client: IpAddr, out: &mut Vec<u8>) {
        for spec in &self.specs {
            if spec.source == Source::ClientIp {
                push_header(out, &spec.name, &client.to_string());
            }
        }
    }

    pub fn wants_client_ip(&self) -> bool {
        self.specs.iter().any(|s| s.source == Source::ClientIp)
    }
}

/// Whether the field name `name` is `lower` (a lower-case name) when ASCII
/// case is ignored and `_` is read as `-`. Many upstreams fold names that
/// way (CGI's `HTTP_X_USER_ID`, and the frameworks built on it), so
/// `X_User_Id` reaches them as `X-User-Id`: the gateway must treat the two
/// as one name wherever it protects or counts a field.
#[inline]
pub fn same_field_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len()
        && name
            .iter()
            .zip(lower)
            .all(|(&n, &l)| n.to_ascii_lowercase() == l || (n == b'_' && l == b'-'))
}

/// An authenticated caller.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The consumer name, for API-key authentication.
    pub consumer: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    /// Pre-formatted `Name: value\r\n` lines for every identity header
    /// except `client_ip`.
    pub headers: Vec<u8>,
    /// The token's top-level claims that have a text form (see
    /// `claim_text`), for `claim:NAME` rate-limit keys.
    pub claims: Vec<(String, String)>,
}

impl Identity {
    /// Builds the identity and its header lines; `claims` is the verified
    /// JWT payload (none for API keys).
    pub fn new(
        consumer: Option<String>,
        scopes: Vec<String>,
        roles: Vec<String>,
        claims: Option<&Map<String, Value>>,
        config: &IdentityHeaders,
    ) -> Identity {
        let mut id = Identity {
            consumer,
            scopes,
            roles,
            headers: Vec::new(),
            claims: claims
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), claim_text(v)?)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        for spec in &config.specs {
            let value = match &spec.source {
                Source::Claim(c) => claims.and_then(|m| m.get(c)).and_then(claim_text),
                Source::Consumer => id.consumer.clone(),
                Source::Scopes => Some(id.scopes.join(" ")),
                Source::Roles => Some(id.roles.join(" ")),
                Source::ClientIp => None,
            };
            if let Some(v) = value {
                push_header(&mut id.headers, &spec.name, &v);
            }
        }
        id
    }

    /// A claim of the verified token as text, when it has one.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A claim as header text: strings as they are, numbers and booleans
/// printed, arrays of those joined by spaces; objects and null: none.
pub fn claim_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    Value::Array(_) => None,
                    other => claim_text(other),
                })
                .collect();
            parts.map(|p| p.join(" "))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// The value as it may go into a header, or `None` to leave the header
/// out: trimmed, non-empty, at most `MAX_VALUE_BYTES`, and free of control
/// bytes (CR and LF above all). Non-ASCII UTF-8 passes (obs-text).
pub fn sanitize(v: &str) -> Option<&str> {
    let v = v.trim_matches([' ', '\t']);
    let bad = v.bytes().any(|b| b < 0x20 || b == 0x7f);
    (!v.is_empty() && v.len() <= MAX_VALUE_BYTES && !bad).then_some(v)
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    if let Some(v) = sanitize(value) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(list: &[(&str, &str)]) -> IdentityHeaders {
        IdentityHeaders::new(
            list.iter()
                .map(|(n, f)| IdentityHeader {
                    name: n.to_string(),
                    source: Source::parse(f).unwrap(),
                })
                .collect(),
        )
    }

    #[test]
    fn sources_parse() {
        assert_eq!(
            Source::parse("claim:email"),
            Ok(Source::Claim("email".into()))
        );
        assert_eq!(Source::parse("subject"), Ok(Source::Claim("sub".into())));
        assert_eq!(Source::parse("consumer"), Ok(Source::Consumer));
        assert!(Source::parse("claim:").is_err());
        assert!(Source::parse("header:x").is_err());
    }

    #[test]
    fn header_lines_from_claims_and_consumer() {
        let cfg = headers(&[
            ("X-User-Id", "claim:sub"),
            ("X-Consumer", "consumer"),
            ("X-Scopes", "scopes"),
            ("X-Tenant", "claim:tenant"),
            ("X-Groups", "claim:groups"),
            ("X-Ip", "client_ip"),
        ]);
        let claims = json!({"sub": "u-1", "groups": ["a", 7, true], "tenant": {"x": 1}});
        let id = Identity::new(
            None,
            vec!["read".into(), "write".into()],
            vec![],
            claims.as_object(),
            &cfg,
        );
        assert_eq!(
            String::from_utf8(id.headers.clone()).unwrap(),
            "X-User-Id: u-1\r\nX-Scopes: read write\r\nX-Groups: a 7 true\r\n"
        );
        let mut out = Vec::new();
        cfg.write_client_ip("10.1.2.3".parse().unwrap(), &mut out);
        assert_eq!(out, b"X-Ip: 10.1.2.3\r\n");
        assert_eq!(&*cfg.strip[0], b"x-user-id");
        let api = Identity::new(Some("acme".into()), vec![], vec![], None, &cfg);
        assert_eq!(
            String::from_utf8(api.headers).unwrap(),
            "X-Consumer: acme\r\n"
        );
    }

    #[test]
    fn crlf_and_control_bytes_never_reach_a_header() {
        let cfg = headers(&[("X-User-Id", "claim:sub"), ("X-Name", "claim:name")]);
        let claims = json!({"sub": "evil\r\nX-Admin: true", "name": "  Zoë  "});
        let id = Identity::new(None, vec![], vec![], claims.as_object(), &cfg);
        assert_eq!(String::from_utf8(id.headers).unwrap(), "X-Name: Zoë\r\n");
        for bad in ["a\nb", "a\rb", "a\0b", "a\x7fb", "", "   "] {
            assert_eq!(sanitize(bad), None, "{bad:?}");
        }
        assert_eq!(sanitize(&"x".repeat(MAX_VALUE_BYTES + 1)), None);
    }
}
