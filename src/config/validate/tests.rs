//! One failing case per rule, each asserting the exact key path.

use super::*;
use crate::config::schema::{ClusterConfig, ListenerConfig, RouteConfig};
use crate::config::units::Duration;

fn listener(name: &str, address: &str) -> ListenerConfig {
    ListenerConfig {
        name: name.into(),
        address: address.into(),
        backlog: 4096,
        tls: None,
        allow_cidrs: Vec::new(),
        deny_cidrs: Vec::new(),
    }
}

fn cluster(name: &str, endpoints: &[&str]) -> ClusterConfig {
    ClusterConfig {
        name: name.into(),
        endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
        load_balancing: Default::default(),
        max_idle_per_endpoint: 128,
        pool_idle_timeout: Duration::from_secs(60),
        tls: None,
    }
}

fn route(name: &str, cluster: &str) -> RouteConfig {
    RouteConfig {
        name: name.into(),
        cluster: cluster.into(),
        ..Default::default()
    }
}

/// Defaults plus one listener, cluster and route: valid.
fn base() -> Config {
    Config {
        listeners: vec![listener("main", "127.0.0.1:8080")],
        clusters: vec![cluster("demo", &["127.0.0.1:9001"])],
        routes: vec![route("all", "demo")],
        ..Default::default()
    }
}

/// The key paths of the errors `edit` causes in an otherwise valid config.
fn paths_after(edit: impl FnOnce(&mut Config)) -> Vec<String> {
    errors_after(edit).into_iter().map(|e| e.path).collect()
}

fn errors_after(edit: impl FnOnce(&mut Config)) -> Vec<ConfigError> {
    let mut cfg = base();
    edit(&mut cfg);
    validate(&cfg)
}

#[test]
fn base_and_defaults_are_valid() {
    assert_eq!(validate(&base()), vec![]);
}

#[test]
fn server_workers() {
    assert_eq!(
        paths_after(|c| c.server.workers = Workers::Count(1025)),
        ["server.workers"]
    );
    assert_eq!(
        paths_after(|c| c.server.workers = Workers::Count(0)),
        ["server.workers"]
    );
    assert!(paths_after(|c| c.server.workers = Workers::Count(1024)).is_empty());
}

#[test]
fn server_cpus() {
    assert_eq!(
        paths_after(|c| c.server.cpus = Some(vec![])),
        ["server.cpus"]
    );
    let too_few = |c: &mut Config| {
        c.server.workers = Workers::Count(4);
        c.server.cpus = Some(vec![0, 1]);
    };
    assert_eq!(paths_after(too_few), ["server.cpus"]);
    assert_eq!(
        paths_after(|c| c.server.cpus = Some(vec![0, 1024])),
        ["server.cpus[1]"]
    );
    assert!(paths_after(|c| c.server.cpus = Some(vec![3, 1023])).is_empty());
    let enough = |c: &mut Config| {
        c.server.workers = Workers::Count(2);
        c.server.cpus = Some(vec![2, 3, 4]);
    };
    assert!(paths_after(enough).is_empty());
}

#[test]
fn server_drain_connections_uring() {
    let hour = Duration::from_secs(3600);
    assert!(paths_after(|c| c.server.drain_timeout = hour).is_empty());
    let over = Duration::from_millis(3_600_001);
    assert_eq!(
        paths_after(|c| c.server.drain_timeout = over),
        ["server.drain_timeout"]
    );
    assert_eq!(
        paths_after(|c| c.server.max_connections_per_core = 0),
        ["server.max_connections_per_core"]
    );
    for bad in [0, 4, 8, 128, 100, 65536] {
        assert_eq!(
            paths_after(|c| c.server.uring_entries = bad),
            ["server.uring_entries"]
        );
    }
    for good in [256, 1024, 32768] {
        assert!(paths_after(|c| c.server.uring_entries = good).is_empty());
    }
}

#[test]
fn limits_must_be_positive_except_body() {
    let zero = ByteSize(0);
    type Case = (fn(&mut LimitsConfig), &'static str);
    let cases: [Case; 4] = [
        (
            |l| l.max_request_line_bytes = ByteSize(0),
            "limits.max_request_line_bytes",
        ),
        (
            |l| l.max_header_bytes = ByteSize(0),
            "limits.max_header_bytes",
        ),
        (|l| l.max_headers_count = 0, "limits.max_headers_count"),
        (
            |l| l.max_response_header_bytes = ByteSize(0),
            "limits.max_response_header_bytes",
        ),
    ];
    for (edit, path) in cases {
        // max_header_bytes = 0 also makes the request line "too long"; only
        // the zero is reported for it.
        let paths = paths_after(|c| edit(&mut c.limits));
        assert!(paths.contains(&path.to_string()), "{path}: {paths:?}");
    }
    assert!(paths_after(|c| c.limits.max_body_bytes = zero).is_empty());
}

#[test]
fn limits_relations() {
    let line_too_long = |c: &mut Config| c.limits.max_request_line_bytes = ByteSize::kib(33);
    assert_eq!(
        paths_after(line_too_long),
        ["limits.max_request_line_bytes"]
    );
    let many = |c: &mut Config| c.limits.max_headers_count = 10_001;
    assert_eq!(paths_after(many), ["limits.max_headers_count"]);
    assert!(paths_after(|c| c.limits.max_headers_count = 10_000).is_empty());
    let resp = |c: &mut Config| c.limits.max_response_header_bytes = ByteSize(0);
    assert_eq!(paths_after(resp), ["limits.max_response_header_bytes"]);
}

#[test]
fn limits_buffer() {
    let small = |c: &mut Config| c.limits.buffer_bytes = ByteSize(4095);
    assert_eq!(paths_after(small), ["limits.buffer_bytes"]);
    let big = |c: &mut Config| {
        c.limits.buffer_bytes = ByteSize(ByteSize::mib(16).0 + 1);
        c.limits.stream_buffer_bytes = c.limits.buffer_bytes;
    };
    assert_eq!(
        paths_after(big),
        ["limits.buffer_bytes", "limits.stream_buffer_bytes"]
    );
    let stream_below_buffer = |c: &mut Config| c.limits.stream_buffer_bytes = ByteSize::kib(8);
    assert_eq!(
        paths_after(stream_below_buffer),
        ["limits.stream_buffer_bytes"]
    );
    // Heads larger than the buffer are fine: the buffer grows for them.
    let head_over_buffer = |c: &mut Config| {
        c.limits.buffer_bytes = ByteSize::kib(4);
        c.limits.max_header_bytes = ByteSize::kib(32);
    };
    assert!(paths_after(head_over_buffer).is_empty());
    let huge_heads = |c: &mut Config| {
        c.limits.max_header_bytes = ByteSize::mib(2);
        c.limits.max_response_header_bytes = ByteSize::mib(2);
    };
    assert_eq!(
        paths_after(huge_heads),
        [
            "limits.max_header_bytes",
            "limits.max_response_header_bytes"
        ]
    );
}

#[test]
fn timeouts_must_be_positive() {
    let zero = Duration::from_millis(0);
    type Case = (fn(&mut TimeoutsConfig, Duration), &'static str);
    let cases: [Case; 6] = [
        (|t, z| t.client_header = z, "timeouts.client_header"),
        (|t, z| t.client_idle = z, "timeouts.client_idle"),
        (|t, z| t.client_body = z, "timeouts.client_body"),
        (|t, z| t.upstream_connect = z, "timeouts.upstream_connect"),
        (
            |t, z| t.upstream_response_head = z,
            "timeouts.upstream_response_head",
        ),
        (|t, z| t.upstream_idle = z, "timeouts.upstream_idle"),
    ];
    for (edit, path) in cases {
        assert_eq!(paths_after(|c| edit(&mut c.timeouts, zero)), [path]);
    }
}

#[test]
fn listeners() {
    assert_eq!(paths_after(|c| c.listeners.clear()), ["listener"]);
    assert_eq!(
        paths_after(|c| c.listeners[0].name = " ".into()),
        ["listener[0].name"]
    );
    let dup_name = |c: &mut Config| c.listeners.push(listener("main", "127.0.0.1:8081"));
    assert_eq!(paths_after(dup_name), ["listener[1].name"]);
    for bad in [
        "localhost:8080",
        "127.0.0.1",
        "::1:80",
        "127.0.0.1:99999",
        "",
    ] {
        let edit = |c: &mut Config| c.listeners[0].address = bad.into();
        assert_eq!(paths_after(edit), ["listener[0].address"], "{bad:?}");
    }
    let dup_addr = |c: &mut Config| c.listeners.push(listener("b", "127.0.0.1:8080"));
    assert_eq!(paths_after(dup_addr), ["listener[1].address"]);
    let ports_0 = |c: &mut Config| {
        c.listeners[0].address = "127.0.0.1:0".into();
        c.listeners.push(listener("b", "127.0.0.1:0"));
        c.listeners.push(listener("v6", "[::1]:8080"));
    };
    assert!(paths_after(ports_0).is_empty());
}

#[test]
fn clusters() {
    assert_eq!(
        paths_after(|c| c.clusters[0].name = "".into()),
        ["cluster[0].name", "route[0].cluster"]
    );
    let dup = |c: &mut Config| c.clusters.push(cluster("demo", &["10.0.0.1:80"]));
    assert_eq!(paths_after(dup), ["cluster[1].name"]);
    assert_eq!(
        paths_after(|c| c.clusters[0].endpoints.clear()),
        ["cluster[0].endpoints"]
    );
    let bad = |c: &mut Config| c.clusters[0].endpoints.push("http://x:80".into());
    assert_eq!(paths_after(bad), ["cluster[0].endpoints[1]"]);
    let names_ok =
        |c: &mut Config| c.clusters[0].endpoints = vec!["api.internal:80".into(), "[::1]:9".into()];
    assert!(paths_after(names_ok).is_empty());
    let idle = |c: &mut Config| c.clusters[0].max_idle_per_endpoint = 100_001;
    assert_eq!(paths_after(idle), ["cluster[0].max_idle_per_endpoint"]);
    let pool = |c: &mut Config| c.clusters[0].pool_idle_timeout = Duration::from_millis(0);
    assert_eq!(paths_after(pool), ["cluster[0].pool_idle_timeout"]);
}

#[test]
fn routes() {
    assert_eq!(
        paths_after(|c| c.routes[0].name = "".into()),
        ["route[0].name"]
    );
    let dup = |c: &mut Config| c.routes.push(route("all", "demo"));
    assert_eq!(paths_after(dup), ["route[1].name"]);
    let errors = errors_after(|c| {
        c.clusters.push(cluster("api", &["10.0.0.1:80"]));
        c.routes[0].cluster = "foo".into();
    });
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "route[0].cluster");
    assert_eq!(
        errors[0].message,
        r#"unknown cluster "foo" (defined clusters: "demo", "api")"#
    );
    let errors = errors_after(|c| c.clusters.clear());
    assert_eq!(
        errors[0].message,
        r#"unknown cluster "demo" (no [[cluster]] is defined)"#
    );
}

#[test]
fn every_problem_is_reported() {
    let errors = errors_after(|c| {
        c.server.uring_entries = 3;
        c.limits.max_headers_count = 0;
        c.timeouts.client_idle = Duration::from_millis(0);
        c.listeners[0].address = "nope".into();
        c.routes[0].cluster = "nope".into();
    });
    let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "server.uring_entries",
            "limits.max_headers_count",
            "timeouts.client_idle",
            "listener[0].address",
            "route[0].cluster",
        ]
    );
}

#[test]
fn formats_sizes_and_durations() {
    assert_eq!(fmt_size(ByteSize::kib(16)), "16KiB");
    assert_eq!(fmt_size(ByteSize::gib(1)), "1GiB");
    assert_eq!(fmt_size(ByteSize(1000)), "1000B");
    assert_eq!(fmt_size(ByteSize(0)), "0B");
    assert_eq!(fmt_duration(Duration::from_secs(7200)), "2h");
    assert_eq!(fmt_duration(Duration::from_secs(90)), "90s");
    assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
}

#[test]
fn admin_address_must_parse_and_not_collide_with_a_listener() {
    assert!(paths_after(|c| c.admin.address = Some("127.0.0.1:9901".into())).is_empty());
    let bad = |c: &mut Config| c.admin.address = Some("localhost:9901".into());
    assert_eq!(paths_after(bad), ["admin.address"]);
    let clash = |c: &mut Config| {
        let listener = c.listeners[0].address.clone();
        c.admin.address = Some(listener);
    };
    assert_eq!(paths_after(clash), ["admin.address"]);
}
