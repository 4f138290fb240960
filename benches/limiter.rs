//! The per-request cost of a rate-limit check on one core: the pure
//! algorithms, the local-mode check, and the global-mode check (lease
//! spending, with a broker lease every `lease_size` requests), for one hot
//! key and for many keys.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use ringgate::ratelimit::algo::{Algorithm, Rule, State};
use ringgate::ratelimit::broker::Broker;
use ringgate::ratelimit::{
    Backend, CoreLimiter, KeyPart, LimitSpec, LimitSubject, MissingKey, Mode, Outcome,
};
use ringgate::stats::CoreStats;

const S: u64 = 1_000_000_000;

fn algorithms(c: &mut Criterion) {
    let mut g = c.benchmark_group("algorithm_take");
    for alg in [
        Algorithm::TokenBucket,
        Algorithm::Gcra,
        Algorithm::FixedWindow,
        Algorithm::SlidingWindow,
    ] {
        let rule = Rule {
            algorithm: alg,
            limit: 1_000_000,
            period_ns: S,
            burst: 1000,
        };
        g.bench_function(BenchmarkId::from_parameter(alg.as_str()), |b| {
            let mut s = State::default();
            let mut now = S;
            b.iter(|| {
                now += 1000;
                black_box(rule.take(&mut s, black_box(now), 1))
            })
        });
    }
    g.finish();
}

fn spec(mode: Mode) -> LimitSpec {
    LimitSpec {
        name: "bench".into(),
        key: vec![KeyPart::ClientIp],
        on_missing_key: MissingKey::ClientIp,
        rule: Rule {
            algorithm: Algorithm::TokenBucket,
            // Never the bottleneck: the bench measures admitted requests.
            limit: u64::from(u32::MAX),
            period_ns: S,
            burst: u64::from(u32::MAX),
        },
        mode,
        backend: Backend::Memory,
        max_keys: 100_000,
        headers: true,
        lease_size: 1000,
        lease_ttl_ns: 10 * S,
    }
}

fn check(c: &mut Criterion) {
    let mut g = c.benchmark_group("core_check");
    g.measurement_time(Duration::from_secs(3));
    let header = |_: &str| None;
    let claim = |_: &str| None;
    for (name, mode) in [("local", Mode::Local), ("global_memory", Mode::Global)] {
        for keys in [1u32, 10_000] {
            let broker = Broker::default();
            let limiter = CoreLimiter::new(&[spec(mode)], 1, &broker, None, 2);
            let stats = CoreStats::default();
            let ips: Vec<std::net::IpAddr> = (0..keys)
                .map(|i| std::net::Ipv4Addr::from(0x0a00_0000 + i).into())
                .collect();
            g.bench_function(BenchmarkId::new(name, format!("{keys}_keys")), |b| {
                let mut i = 0;
                b.iter(|| {
                    i += 1;
                    let subject = LimitSubject {
                        client_ip: ips[i % ips.len()],
                        route: 0,
                        route_name: "r",
                        header: &header,
                        consumer: None,
                        claim: &claim,
                    };
                    let outcome = limiter.check(black_box(&[0]), &subject, &stats);
                    assert!(matches!(outcome, Outcome::Pass(_)));
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, algorithms, check);
criterion_main!(benches);
