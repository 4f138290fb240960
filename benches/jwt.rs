//! JWT verification cost per algorithm, and what a cached token costs
//! instead (the per-core token cache: hash + compare).

use std::rc::Rc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ringgate::filter::auth::cache::TokenCache;
use ringgate::filter::auth::jwt::{verify, ClaimRules, JwtKey};
use ringgate::filter::identity::Identity;
use serde_json::json;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/");
const SECRET: &[u8] = b"bench-secret-0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_800_000_000;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}{name}")).unwrap()
}

fn case(alg: Algorithm) -> (String, JwtKey) {
    let claims = json!({"sub": "user-1", "iss": "https://id.test", "aud": "api",
                        "exp": NOW + 3600, "scope": "orders:read profile"});
    let (enc, key) = match alg {
        Algorithm::HS256 => (
            EncodingKey::from_secret(SECRET),
            JwtKey::hmac(None, alg, SECRET).unwrap(),
        ),
        Algorithm::RS256 => (
            EncodingKey::from_rsa_pem(&read("rsa.key.pem")).unwrap(),
            JwtKey::from_pem(None, alg, &read("rsa.pub.pem")).unwrap(),
        ),
        Algorithm::ES256 => (
            EncodingKey::from_ec_pem(&read("ec256.key.pem")).unwrap(),
            JwtKey::from_pem(None, alg, &read("ec256.pub.pem")).unwrap(),
        ),
        _ => unreachable!(),
    };
    (encode(&Header::new(alg), &claims, &enc).unwrap(), key)
}

fn rules() -> ClaimRules {
    ClaimRules {
        issuers: vec!["https://id.test".into()],
        audiences: vec!["api".into()],
        leeway_secs: 30,
        require_exp: true,
    }
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
        let (token, key) = case(alg);
        let keys = [key];
        c.bench_function(&format!("jwt_verify_{alg:?}"), |b| {
            b.iter(|| verify(&keys, &rules, black_box(token.as_bytes()), NOW).unwrap())
        });
    }
    let (token, _) = case(Algorithm::RS256);
    let mut cache = TokenCache::new(4096);
    cache.sync(1, 4096);
    cache.insert(
        0,
        token.as_bytes(),
        Some(NOW + 3600),
        Rc::new(Identity::default()),
    );
    c.bench_function("jwt_cache_hit", |b| {
        b.iter(|| cache.get(0, black_box(token.as_bytes()), NOW).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
