//! Stand-ins for entries that failed to deserialize, and placeholders for
//! required fields when probing one key at a time (see `deserialize_at`).

use toml::{Table, Value};

use crate::config::schema::{
    AuthPolicyConfig, ClusterConfig, ConsumerConfig, ListenerConfig, RateLimitConfig, RouteConfig,
};
use crate::config::units::Duration;

/// Type-correct placeholders for a section's required fields (see
/// `deserialize_at`); the other fields all have defaults.
pub(super) fn skeleton(section: &str) -> Table {
    let required: &[&str] = match section {
        "listener" => &["name", "address"],
        "cluster" => &["name", "endpoints"],
        "route" => &["name", "cluster"],
        "rate_limit" => &["name", "requests", "per"],
        "auth_policy" | "consumer" => &["name"],
        _ => &[],
    };
    let placeholder = |key: &str| match key {
        "endpoints" => Value::Array(Vec::new()),
        "requests" => Value::Integer(1),
        "per" => Value::String("1s".to_string()),
        _ => Value::String(String::new()),
    };
    required
        .iter()
        .map(|k| (k.to_string(), placeholder(k)))
        .collect()
}

/// Builds a stand-in entry from a raw table that failed to deserialize,
/// recording in `kept` the keys it copied from the file.
pub(super) type Stub<T> = fn(&Value, &mut Vec<&'static str>) -> T;

fn salvage(item: &Value, key: &'static str, kept: &mut Vec<&'static str>) -> String {
    match item.get(key).and_then(Value::as_str) {
        Some(s) => {
            kept.push(key);
            s.to_string()
        }
        None => String::new(),
    }
}

pub(super) fn listener_stub(item: &Value, kept: &mut Vec<&'static str>) -> ListenerConfig {
    ListenerConfig {
        name: salvage(item, "name", kept),
        address: salvage(item, "address", kept),
        backlog: 0,
        tls: None,
        allow_cidrs: Vec::new(),
        deny_cidrs: Vec::new(),
    }
}

pub(super) fn cluster_stub(item: &Value, kept: &mut Vec<&'static str>) -> ClusterConfig {
    ClusterConfig {
        name: salvage(item, "name", kept),
        endpoints: Vec::new(),
        load_balancing: Default::default(),
        max_idle_per_endpoint: 0,
        pool_idle_timeout: Duration::default(),
        tls: None,
    }
}

pub(super) fn route_stub(item: &Value, kept: &mut Vec<&'static str>) -> RouteConfig {
    RouteConfig {
        name: salvage(item, "name", kept),
        cluster: salvage(item, "cluster", kept),
        ..RouteConfig::default()
    }
}

pub(super) fn rate_limit_stub(item: &Value, kept: &mut Vec<&'static str>) -> RateLimitConfig {
    RateLimitConfig {
        name: salvage(item, "name", kept),
        key: vec!["client_ip".to_string()],
        algorithm: Default::default(),
        requests: 1,
        per: Duration::from_secs(1),
        burst: None,
        mode: Default::default(),
        backend: Default::default(),
        max_keys: 100_000,
        headers: true,
        on_missing_key: Default::default(),
        lease_size: None,
        lease_ttl: Duration::from_millis(100),
    }
}

pub(super) fn policy_stub(item: &Value, kept: &mut Vec<&'static str>) -> AuthPolicyConfig {
    AuthPolicyConfig {
        name: salvage(item, "name", kept),
        ..AuthPolicyConfig::default()
    }
}

pub(super) fn consumer_stub(item: &Value, kept: &mut Vec<&'static str>) -> ConsumerConfig {
    ConsumerConfig {
        name: salvage(item, "name", kept),
        ..ConsumerConfig::default()
    }
}

/// Sections and entries that failed to deserialize and were replaced by
/// defaults or stubs. Validation errors inside them would be about values
/// the user never wrote, except for the `kept` paths copied from the file.
#[derive(Default)]
pub(super) struct Stubs(Vec<(String, Vec<String>)>);

impl Stubs {
    pub(super) fn add(&mut self, prefix: String, kept: Vec<String>) {
        self.0.push((prefix, kept));
    }

    pub(super) fn hides(&self, path: &str) -> bool {
        self.0.iter().any(|(prefix, kept)| {
            let inside = path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']));
            inside && !kept.iter().any(|k| k == path)
        })
    }
}
