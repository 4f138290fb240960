//! Limit policy: which rate limits a request is checked against and who it
//! is checked as, and the per-route size limits. Built from the config with
//! the rest of the snapshot ([`LimitPolicy::build`]). The route's
//! `rate_limits` come first, then the authenticated consumer's own
//! `rate_limit`; keys are built from what admission found (the client
//! address after trusted proxies, the consumer, the token's claims) and the
//! request's headers. `ratelimit` is the mechanism (buckets, leases, Redis);
//! this module decides what it is asked.

use std::net::IpAddr;
use std::ops::Deref;

use smallvec::SmallVec;

use super::{Admission, RouteRules};
use crate::config::{
    Config, ConfigError, ConsumerRateLimit, OnMissingKey, RateAlgorithm, RateBackend,
    RateLimitConfig, RateMode,
};
use crate::ratelimit::{CoreLimiter, KeyPart, LimitSubject, Outcome};
use crate::stats::CoreStats;

/// Consumer name → index (in the snapshot's limit specs) of its own limit.
pub type ConsumerLimits = ahash::AHashMap<String, usize>;

/// Which limits apply where.
pub struct LimitPolicy {
    /// Indexed like `config.routes`: indices into the limit specs of the
    /// route's `rate_limits`, checked in this order.
    pub route_limits: Vec<Box<[usize]>>,
    pub consumer_limits: ConsumerLimits,
    /// The consumers' own limits, which must follow `[[rate_limit]]` in the
    /// limit specs in this order (`consumer_limits` counts on it); each
    /// with its parsed key.
    pub consumer_specs: Vec<(RateLimitConfig, Vec<KeyPart>)>,
}

impl LimitPolicy {
    /// Resolves every route's `rate_limits` against `[[rate_limit]]` (the
    /// first specs, in config order) and makes each consumer's own
    /// `rate_limit` a limit of its own; every problem names its key path.
    pub fn build(cfg: &Config) -> Result<LimitPolicy, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let route_limits = route_limits(cfg, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut consumer_limits = ConsumerLimits::default();
        let mut consumer_specs = Vec::new();
        for c in &cfg.consumers {
            if let Some(l) = &c.rate_limit {
                consumer_limits
                    .insert(c.name.clone(), cfg.rate_limits.len() + consumer_specs.len());
                consumer_specs.push((consumer_limit(&c.name, l), vec![KeyPart::Consumer]));
            }
        }
        Ok(LimitPolicy {
            route_limits,
            consumer_limits,
            consumer_specs,
        })
    }
}

fn route_limits(cfg: &Config, out: &mut Vec<ConfigError>) -> Vec<Box<[usize]>> {
    let mut routes = Vec::with_capacity(cfg.routes.len());
    for (i, r) in cfg.routes.iter().enumerate() {
        let mut limits = Vec::with_capacity(r.rate_limits.len());
        for (j, name) in r.rate_limits.iter().enumerate() {
            let path = format!("route[{i}].rate_limits[{j}]");
            let found = cfg.rate_limits.iter().position(|l| &l.name == name);
            if r.rate_limits[..j].contains(name) {
                out.push(ConfigError::new(path, format!("{name:?} is listed twice")));
            } else if let Some(index) = found {
                limits.push(index);
            } else {
                let known: Vec<String> = cfg
                    .rate_limits
                    .iter()
                    .map(|l| format!("{:?}", l.name))
                    .collect();
                let known = if known.is_empty() {
                    "no [[rate_limit]] is defined".to_string()
                } else {
                    format!("defined: {}", known.join(", "))
                };
                out.push(ConfigError::new(
                    path,
                    format!("unknown rate_limit {name:?} ({known})"),
                ));
            }
        }
        routes.push(limits.into_boxed_slice());
    }
    routes
}

/// A consumer's own `rate_limit = { requests, per }`: a token bucket of
/// that size keyed by the consumer, applied whenever it authenticates.
fn consumer_limit(name: &str, l: &ConsumerRateLimit) -> RateLimitConfig {
    RateLimitConfig {
        name: format!("consumer:{name}"),
        key: vec!["consumer".to_string()],
        algorithm: RateAlgorithm::TokenBucket,
        requests: l.requests,
        per: l.per,
        burst: None,
        mode: RateMode::Global,
        backend: RateBackend::Memory,
        max_keys: 16,
        headers: true,
        on_missing_key: OnMissingKey::Skip,
        lease_size: None,
        lease_ttl: crate::config::Duration::from_millis(100),
    }
}

/// One request as the rate limits see it.
pub struct RateRequest<'a> {
    /// Index of the matched route.
    pub route: usize,
    pub route_name: &'a str,
    /// The route's `rate_limits` (indices into the limit specs).
    pub route_limits: &'a [usize],
    /// What the filters found; `None` when the route has no filters.
    pub admission: Option<&'a Admission<'a>>,
    /// The direct peer (the client address when there is no admission).
    pub peer: IpAddr,
    pub header: &'a dyn Fn(&str) -> Option<&'a [u8]>,
}

/// Checks every limit that applies; `None` when none does (most routes:
/// one emptiness check, and the limiter is not even fetched).
pub fn check_rates<L: Deref<Target = CoreLimiter>>(
    req: &RateRequest,
    consumers: &ConsumerLimits,
    limiter: impl FnOnce() -> L,
    stats: &CoreStats,
) -> Option<Outcome> {
    let who = req
        .admission
        .and_then(|a| a.who.as_ref())
        .map(|w| w.identity());
    let consumer = who.and_then(|id| id.consumer.as_deref());
    // A consumer's own `rate_limit` applies on every route it calls.
    let own_limit = consumer.and_then(|c| consumers.get(c).copied());
    if req.route_limits.is_empty() && own_limit.is_none() {
        return None;
    }
    let mut ids: SmallVec<[usize; 4]> = req.route_limits.iter().copied().collect();
    ids.extend(own_limit);
    let claim = |name: &str| who.and_then(|id| id.claim(name));
    // Re-borrowed locally: the subject's closures share one (short) lifetime.
    let header = |name: &str| (req.header)(name);
    let subject = LimitSubject {
        client_ip: req.admission.map_or(req.peer, |a| a.client),
        route: req.route,
        route_name: req.route_name,
        header: &header,
        consumer,
        claim: &claim,
    };
    Some(limiter().check(&ids, &subject, stats))
}

/// The route's own header-size limit (431), when it sets one: `false` when
/// a head of `head_len` bytes is over it.
#[inline]
pub fn head_within_limit(rules: Option<&RouteRules>, head_len: usize) -> bool {
    rules
        .and_then(|r| r.max_header_bytes)
        .is_none_or(|max| head_len <= max)
}

/// The body-size limit for a request on this route: the route's own, else
/// the global one (0 = no limit).
#[inline]
pub fn max_body_bytes(rules: Option<&RouteRules>, global: u64) -> u64 {
    rules.and_then(|r| r.max_body_bytes).unwrap_or(global)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(max_body: Option<u64>, max_header: Option<usize>) -> RouteRules {
        RouteRules {
            max_body_bytes: max_body,
            max_header_bytes: max_header,
            ..RouteRules::default()
        }
    }

    #[test]
    fn a_route_limit_overrides_the_global_body_limit() {
        assert_eq!(max_body_bytes(None, 100), 100);
        assert_eq!(max_body_bytes(Some(&rules(None, None)), 100), 100);
        assert_eq!(max_body_bytes(Some(&rules(Some(5), None)), 100), 5);
    }

    #[test]
    fn the_head_limit_applies_only_where_a_route_sets_one() {
        assert!(head_within_limit(None, usize::MAX));
        assert!(head_within_limit(Some(&rules(None, None)), 1 << 20));
        assert!(head_within_limit(Some(&rules(None, Some(10))), 10));
        assert!(!head_within_limit(Some(&rules(None, Some(10))), 11));
    }
}
