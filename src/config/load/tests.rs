use super::*;
use crate::config::schema::{
    ClusterConfig, ForwardedHeaders, IoDriver, ListenerConfig, LoadBalancing, RateLimitConfig,
    RouteConfig, Workers,
};
use crate::config::testing::{self, at, expect_errors, MINIMAL};
use crate::config::units::{ByteSize, Duration};

fn errors_of(text: &str) -> Vec<ConfigError> {
    expect_errors(text, parse_str(text))
}

fn located(text: &str) -> Vec<(String, Option<usize>)> {
    testing::located(errors_of(text))
}

#[test]
fn minimal_config_gets_every_documented_default() {
    let c = parse_str(MINIMAL).unwrap();
    let s = &c.server;
    assert_eq!(s.workers, Workers::Auto);
    assert_eq!(s.cpus, None);
    assert_eq!(s.io_driver, IoDriver::Auto);
    assert_eq!(s.drain_timeout, Duration::from_secs(10));
    assert_eq!(s.max_connections_per_core, 16_384);
    assert_eq!(s.uring_entries, 1024);
    let l = &c.limits;
    assert_eq!(l.max_request_line_bytes, ByteSize::kib(8));
    assert_eq!(l.max_header_bytes, ByteSize::kib(32));
    assert_eq!(l.max_headers_count, 100);
    assert_eq!(l.max_body_bytes, ByteSize::gib(1));
    assert_eq!(l.max_response_header_bytes, ByteSize::kib(64));
    assert_eq!(l.buffer_bytes, ByteSize::kib(16));
    let t = &c.timeouts;
    assert_eq!(t.client_header, Duration::from_secs(10));
    assert_eq!(t.client_idle, Duration::from_secs(60));
    assert_eq!(t.client_body, Duration::from_secs(30));
    assert_eq!(t.upstream_connect, Duration::from_secs(3));
    assert_eq!(t.upstream_response_head, Duration::from_secs(30));
    assert_eq!(t.upstream_idle, Duration::from_secs(60));
    assert_eq!(c.proxy.forwarded_headers, ForwardedHeaders::XForwarded);
    assert!(c.proxy.allow_upgrade);
    assert!(!c.proxy.add_via);
    assert_eq!(c.listeners[0].backlog, 4096);
    let cl = &c.clusters[0];
    assert_eq!(cl.load_balancing, LoadBalancing::RoundRobin);
    assert_eq!(cl.max_idle_per_endpoint, 128);
    assert_eq!(cl.pool_idle_timeout, Duration::from_secs(60));
    let r = &c.routes[0];
    assert!(r.hosts.is_empty() && r.methods.is_empty() && r.headers.is_empty());
    assert_eq!(
        (&r.path_exact, &r.path_prefix, &r.path_template),
        (&None, &None, &None)
    );
    assert!(!r.strip_prefix);
    assert_eq!(r.rewrite, None);
}

#[test]
fn every_key_set_round_trips() {
    let text = r#"
[server]
workers = 2
cpus = [2, 3]
io_driver = "legacy"
drain_timeout = "30s"
max_connections_per_core = 100
uring_entries = 256
[limits]
max_request_line_bytes = "4KiB"
max_header_bytes = 16384
max_headers_count = 50
max_body_bytes = 0
max_response_header_bytes = "16KiB"
buffer_bytes = "32KiB"
[timeouts]
client_header = "5s"
client_idle = "2m"
client_body = "15s"
upstream_connect = "500ms"
upstream_response_head = "1m"
upstream_idle = "1h"
[proxy]
forwarded_headers = "forwarded"
allow_upgrade = false
add_via = true
[[listener]]
name = "main"
address = "[::1]:0"
backlog = 128
[[cluster]]
name = "api"
endpoints = ["api.internal:80"]
load_balancing = "round_robin"
max_idle_per_endpoint = 8
pool_idle_timeout = "5s"
[[route]]
name = "users"
cluster = "api"
hosts = ["api.example.com"]
path_template = "/users/{id}"
methods = ["GET"]
headers = [{ name = "x-v", value = "2" }, { name = "x-off", present = false }]
strip_prefix = true
rewrite = "/v2/users/{id}"
"#;
    let c = parse_str(text).unwrap();
    assert_eq!(c.server.workers, Workers::Count(2));
    assert_eq!(c.server.cpus, Some(vec![2, 3]));
    assert_eq!(c.server.io_driver, IoDriver::Legacy);
    assert_eq!(c.server.drain_timeout, Duration::from_secs(30));
    assert_eq!(
        (c.server.max_connections_per_core, c.server.uring_entries),
        (100, 256)
    );
    assert_eq!(c.limits.max_request_line_bytes, ByteSize::kib(4));
    assert_eq!(c.limits.max_header_bytes, ByteSize::kib(16));
    assert_eq!(c.limits.max_headers_count, 50);
    assert_eq!(c.limits.max_body_bytes, ByteSize(0));
    assert_eq!(c.limits.max_response_header_bytes, ByteSize::kib(16));
    assert_eq!(c.limits.buffer_bytes, ByteSize::kib(32));
    assert_eq!(c.timeouts.client_header, Duration::from_secs(5));
    assert_eq!(c.timeouts.client_idle, Duration::from_secs(120));
    assert_eq!(c.timeouts.client_body, Duration::from_secs(15));
    assert_eq!(c.timeouts.upstream_connect, Duration::from_millis(500));
    assert_eq!(c.timeouts.upstream_response_head, Duration::from_secs(60));
    assert_eq!(c.timeouts.upstream_idle, Duration::from_secs(3600));
    assert_eq!(c.proxy.forwarded_headers, ForwardedHeaders::Forwarded);
    assert!(!c.proxy.allow_upgrade && c.proxy.add_via);
    assert_eq!(
        (c.listeners[0].address.as_str(), c.listeners[0].backlog),
        ("[::1]:0", 128)
    );
    assert_eq!(c.clusters[0].max_idle_per_endpoint, 8);
    assert_eq!(c.clusters[0].pool_idle_timeout, Duration::from_secs(5));
    let r = &c.routes[0];
    assert_eq!(r.hosts, ["api.example.com"]);
    assert_eq!(r.path_template.as_deref(), Some("/users/{id}"));
    assert_eq!(r.methods, ["GET"]);
    assert_eq!(r.headers[0].value.as_deref(), Some("2"));
    assert_eq!(
        (r.headers[1].name.as_str(), r.headers[1].present),
        ("x-off", Some(false))
    );
    assert!(r.strip_prefix);
    assert_eq!(r.rewrite.as_deref(), Some("/v2/users/{id}"));
}

#[test]
fn five_problems_in_five_sections_give_five_errors() {
    let text = format!(
        r#"[server]
uring_entries = 100
[limits]
buffer_bytes = "lots"
[timeouts]
client_idle = "5"
{MINIMAL}
[[route]]
name = "r2"
cluster = "nope"
[[cluster]]
name = "c2"
endpoints = ["10.0.0.1"]
"#
    );
    assert_eq!(
        located(&text),
        [
            at("server.uring_entries", 2),
            at("limits.buffer_bytes", 4),
            at("timeouts.client_idle", 6),
            at("route[1].cluster", 22),
            at("cluster[1].endpoints[0]", 25),
        ]
    );
}

#[test]
fn unknown_keys_in_server_and_route_are_reported_with_paths() {
    let text = format!(
        "[server]\nwrokers = 2\nio_driver = \"uring\"\n{MINIMAL}pth_prefix = \"/x\"\nmethods = [\"GET\", 5]\n"
    );
    let errors = errors_of(&text);
    let paths: Vec<_> = errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        paths,
        [
            ("server.wrokers", Some(2)),
            ("server.io_driver", Some(3)),
            ("route[0].pth_prefix", Some(16)),
            ("route[0].methods[1]", Some(17)),
        ]
    );
    assert!(errors[0]
        .message
        .starts_with("unknown field `wrokers`, expected one of `workers`"));
    assert!(errors[2].message.contains("unknown field `pth_prefix`"));
}

#[test]
fn unknown_top_level_keys_and_single_brackets() {
    let text = "foo = 1\n[[routes]]\nname = \"x\"\n[listener]\nname = \"a\"\n";
    let errors = errors_of(text);
    let paths: Vec<_> = errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
    // No "no listeners" error: the [listener] problem is already reported.
    assert_eq!(
        paths,
        [("foo", Some(1)), ("routes", Some(2)), ("listener", Some(4))]
    );
    assert!(errors[1].message.contains("did you mean `route`?"));
    assert!(errors[2].message.contains("write [[listener]]"));
}

#[test]
fn syntax_error_reports_its_line() {
    let errors = errors_of("[server]\nworkers = 2\ndrain_timeout = \n");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].path.as_str(), errors[0].line), ("", Some(3)));
    assert!(errors[0].to_string().starts_with("line 3: invalid TOML: "));
    let dup = errors_of("[server]\nworkers = 1\nworkers = 2\n");
    assert_eq!(dup[0].line, Some(3));
    assert!(
        dup[0].message.contains("duplicate key"),
        "{}",
        dup[0].message
    );
}

#[test]
fn broken_entries_still_take_part_in_cross_checks() {
    // cluster[0] lacks endpoints, yet route "all" names it: one error, not two.
    let text = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\nbacklog = \"x\"\n\
                [[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n\
                [[cluster]]\nname = \"demo\"\n\
                [[route]]\nname = \"all\"\ncluster = \"demo\"\n";
    assert_eq!(
        located(text),
        [
            at("listener[0].backlog", 4),
            at("listener[1].name", 6),
            at("listener[1].address", 7),
            at("cluster[0]", 8),
        ]
    );
}

#[test]
fn missing_required_field_and_bad_key_in_one_entry() {
    let text = format!("{MINIMAL}[[route]]\nname = \"b\"\nstrip_prefix = \"yes\"\n");
    assert_eq!(
        located(&text),
        [at("route[1]", 13), at("route[1].strip_prefix", 15)]
    );
}

#[test]
fn skeletons_fill_every_required_field() {
    for section in SECTIONS {
        let value = Value::Table(skeleton(section));
        let ok = match section {
            "listener" => deserialize_one::<ListenerConfig>(value, &[]).is_ok(),
            "cluster" => deserialize_one::<ClusterConfig>(value, &[]).is_ok(),
            "route" => deserialize_one::<RouteConfig>(value, &[]).is_ok(),
            "rate_limit" => deserialize_one::<RateLimitConfig>(value, &[]).is_ok(),
            "auth_policy" => deserialize_one::<crate::config::AuthPolicyConfig>(value, &[]).is_ok(),
            "consumer" => deserialize_one::<crate::config::ConsumerConfig>(value, &[]).is_ok(),
            _ => value.as_table().is_some_and(Table::is_empty),
        };
        assert!(ok, "{section}");
    }
}

#[test]
fn error_display_with_line() {
    let text = format!("{MINIMAL}[[route]]\nname = \"b\"\ncluster = \"foo\"\n");
    let err = parse_str(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"route[1].cluster (line 15): unknown cluster "foo" (defined clusters: "demo")"#
    );
}

#[test]
fn load_file_names_the_file_it_cannot_read() {
    let err = load_file(Path::new("/nonexistent/ringgate.toml")).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(
        err.0[0].message.contains("/nonexistent/ringgate.toml"),
        "{err}"
    );
}

/// The shipped configs are documentation; they must stay valid.
#[test]
fn shipped_configs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files = vec![root.join("ringgate.toml")];
    // Only the .toml files: examples may ship key files beside them.
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        if let Err(e) = load_file(&file) {
            panic!("{}:\n{e}", file.display());
        }
    }
}

/// The quick-start file spells out every global setting at its default, so
/// it doubles as the reference: keep the two in step.
#[test]
fn quickstart_config_shows_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ringgate.toml");
    let c = load_file(&path).unwrap();
    let d = Config::default();
    assert_eq!(format!("{:?}", c.server), format!("{:?}", d.server));
    assert_eq!(format!("{:?}", c.limits), format!("{:?}", d.limits));
    assert_eq!(format!("{:?}", c.timeouts), format!("{:?}", d.timeouts));
    assert_eq!(format!("{:?}", c.proxy), format!("{:?}", d.proxy));
    assert_eq!(format!("{:?}", c.redis), format!("{:?}", d.redis));
    let names: Vec<_> = c.routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["users", "api", "hello"]);
}

#[test]
fn tls_tables_parse_with_defaults_and_deny_unknown_keys() {
    use crate::config::schema::TlsVersion;
    let text = format!(
        "{MINIMAL}\n[listener.tls]\ncertificates = [{{ cert = \"c.pem\", key = \"k.pem\" }}]\n\n\
         [cluster.tls]\nca = \"ca.pem\"\n"
    );
    let c = parse_str(&text).unwrap();
    let t = c.listeners[0].tls.as_ref().unwrap();
    assert_eq!(t.min_version, TlsVersion::Tls12);
    assert_eq!(t.alpn, ["http/1.1"]);
    assert!(t.session_tickets);
    assert_eq!(t.session_cache_size, 4096);
    assert_eq!(t.handshake_timeout, Duration::from_secs(10));
    let ct = c.clusters[0].tls.as_ref().unwrap();
    assert_eq!(ct.ca.as_deref(), Some("ca.pem"));
    assert!(ct.verify && ct.server_name.is_none());

    // Inside one key's value (here `tls`) the first problem is reported.
    let bad = format!(
        "{MINIMAL}\n[listener.tls]\n\
         certificates = [{{ cert = \"c.pem\", key = \"k.pem\", bogus = 1 }}]\n"
    );
    assert_eq!(
        located(&bad),
        [at("listener[0].tls.certificates[0].bogus", 15)]
    );
    let bad = format!(
        "{MINIMAL}\n[listener.tls]\nmin_version = \"1.1\"\n\
         certificates = [{{ cert = \"c.pem\", key = \"k.pem\" }}]\n"
    );
    let errors = errors_of(&bad);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "listener[0].tls.min_version");
    assert!(
        errors[0].message.contains("`1.2` or `1.3`"),
        "{}",
        errors[0].message
    );
}

#[test]
fn rate_limits_load_with_defaults() {
    let text = format!(
        "{MINIMAL}rate_limits = [\"per-ip\"]\n\n[[rate_limit]]\nname = \"per-ip\"\nrequests = 100\nper = \"1s\"\n"
    );
    let c = parse_str(&text).unwrap();
    let l = &c.rate_limits[0];
    assert_eq!(l.key, ["client_ip"]);
    assert_eq!(l.max_keys, 100_000);
    assert!(l.headers);
    assert_eq!(l.effective_lease_size(), 2);
    assert_eq!(c.routes[0].rate_limits, ["per-ip"]);
    assert_eq!(c.redis.key_prefix, "ringgate");
}
