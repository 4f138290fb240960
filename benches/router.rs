//! Route lookup with 10 and 1,000 routes: hits on exact, prefix and template
//! routes under exact and wildcard hosts, and misses.
//!
//! Run: `cargo bench --bench router`. Results: docs/BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ringgate::config::RouteConfig;
use ringgate::route::Router;

fn route(name: String) -> RouteConfig {
    RouteConfig {
        name,
        cluster: "c".into(),
        ..RouteConfig::default()
    }
}

/// `n` routes: a tenth each of exact hosts, wildcard hosts and host-less
/// routes, cycling through exact, prefix and template paths, some with
/// methods. The first routes are the ones the lookups below hit, so both
/// table sizes answer the same queries.
fn routes(n: usize) -> Vec<RouteConfig> {
    let mut v = Vec::with_capacity(n);
    let mut push = |r: RouteConfig| v.push(r);
    // Fixed routes the lookups hit.
    let mut r = route("api-users".into());
    r.hosts = vec!["api.example.com".into()];
    r.path_template = Some("/v1/users/{id}/orders/{order}".into());
    push(r);
    let mut r = route("api-prefix".into());
    r.hosts = vec!["api.example.com".into()];
    r.path_prefix = Some("/v1/".into());
    push(r);
    let mut r = route("static".into());
    r.hosts = vec!["*.cdn.example.com".into()];
    r.path_prefix = Some("/assets".into());
    r.methods = vec!["GET".into(), "HEAD".into()];
    push(r);
    let mut r = route("health".into());
    r.path_exact = Some("/healthz".into());
    push(r);
    let mut r = route("www".into());
    r.hosts = vec!["www.example.com".into()];
    r.path_prefix = Some("/".into());
    push(r);
    let mut i = 0;
    while v.len() < n {
        let mut r = route(format!("r{i}"));
        match i % 3 {
            0 => r.hosts = vec![format!("svc{i}.example.com")],
            1 => r.hosts = vec![format!("*.tenant{i}.example.net")],
            _ => {}
        }
        match (i / 3) % 3 {
            0 => r.path_exact = Some(format!("/svc{i}/status")),
            1 => r.path_prefix = Some(format!("/svc{i}/api")),
            _ => r.path_template = Some(format!("/svc{i}/items/{{id}}/parts/{{part}}")),
        }
        if i % 4 == 0 {
            r.methods = vec!["GET".into(), "POST".into()];
        }
        v.push(r);
        i += 1;
    }
    v.truncate(n);
    v
}

fn no_headers(_: &str) -> Option<&'static [u8]> {
    None
}

fn lookups(c: &mut Criterion) {
    type Query = (
        &'static str,
        Option<&'static [u8]>,
        &'static [u8],
        &'static [u8],
    );
    let queries: [Query; 6] = [
        (
            "hit_template",
            Some(b"api.example.com"),
            b"/v1/users/42/orders/7",
            b"GET",
        ),
        (
            "hit_prefix",
            Some(b"API.example.com:443"),
            b"/v1/catalog/items",
            b"GET",
        ),
        (
            "hit_wildcard",
            Some(b"eu.cdn.example.com"),
            b"/assets/app.js",
            b"GET",
        ),
        (
            "hit_exact_any_host",
            Some(b"other.org"),
            b"/healthz",
            b"GET",
        ),
        (
            "miss_unknown_host",
            Some(b"nowhere.example.org"),
            b"/v1/users",
            b"GET",
        ),
        (
            "miss_path",
            Some(b"api.example.com"),
            b"/v2/users/42",
            b"DELETE",
        ),
    ];
    let mut g = c.benchmark_group("router");
    for n in [10, 1000] {
        let router = Router::build(&routes(n)).expect("bench routes are valid");
        assert_eq!(router.len(), n);
        for (name, host, path, method) in queries {
            let expect_hit = name.starts_with("hit");
            let found = router.lookup(host, path, method, &no_headers);
            assert_eq!(found.is_some(), expect_hit, "{name} with {n} routes");
            g.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    router
                        .lookup(
                            black_box(host),
                            black_box(path),
                            black_box(method),
                            &no_headers,
                        )
                        .map(|m| m.route)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
