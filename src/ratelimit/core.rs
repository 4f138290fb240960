//! One core's limiter: the per-request check. Single-threaded (`RefCell`),
//! no lock and no atomic read-modify-write per request: a request finds its
//! key's entry and either spends a token of the core's current lease, or —
//! once per lease — takes a new lease from the broker (a mutex) or Redis (a
//! message to the limiter thread, awaited).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::algo::{Rule, State};
use super::broker::{Broker, BrokerTable, Grant};
use super::key::{key_of, KeyTable, LimitSubject};
use super::oneshot;
use super::redis::{LeaseReply, RedisLink};
use super::{Backend, LimitSpec, Mode, OnRedisError};
use crate::stats::CoreStats;

/// `RateLimit-Limit`, `-Remaining` and `-Reset` of the most restrictive
/// limit a request was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: u64,
    pub remaining: u64,
    pub reset_secs: u64,
}

impl RateHeaders {
    /// Appends the three header lines.
    pub fn write(&self, out: &mut Vec<u8>) {
        use crate::http::write_decimal;
        out.extend_from_slice(b"RateLimit-Limit: ");
        write_decimal(self.limit, out);
        out.extend_from_slice(b"\r\nRateLimit-Remaining: ");
        write_decimal(self.remaining, out);
        out.extend_from_slice(b"\r\nRateLimit-Reset: ");
        write_decimal(self.reset_secs, out);
        out.extend_from_slice(b"\r\n");
    }

    fn merge(a: Option<RateHeaders>, b: Option<RateHeaders>) -> Option<RateHeaders> {
        match (a, b) {
            (Some(a), Some(b)) if b.remaining < a.remaining => Some(b),
            (Some(a), _) => Some(a),
            (None, b) => b,
        }
    }
}

/// A refusal: 429 `rate_limited`, or 503 `rate_limit_unavailable` when
/// Redis is unreachable and `on_redis_error = "deny"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub unavailable: bool,
    pub retry_after_secs: u64,
    /// Present when the refusing limit has `headers = true`.
    pub headers: Option<RateHeaders>,
}

impl Limited {
    pub fn status(&self) -> u16 {
        if self.unavailable {
            503
        } else {
            429
        }
    }

    pub fn reason(&self) -> &'static str {
        if self.unavailable {
            "rate_limit_unavailable"
        } else {
            "rate_limited"
        }
    }

    /// `Retry-After` (always) and the `RateLimit-*` lines (when enabled).
    pub fn write_headers(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"Retry-After: ");
        crate::http::write_decimal(self.retry_after_secs, out);
        out.extend_from_slice(b"\r\n");
        if let Some(h) = self.headers {
            h.write(out);
        }
    }
}

/// The result of a check.
pub enum Outcome {
    /// Forward the request (with these headers on the response, if any).
    Pass(Option<RateHeaders>),
    Limited(Limited),
    /// A Redis lease is on its way: `Pending::reply().await`, then `resume`.
    Wait(Pending),
}

/// A check waiting for a Redis lease.
pub struct Pending {
    generation: u64,
    keys: Keys,
    pos: usize,
    headers: Option<RateHeaders>,
    rx: Option<oneshot::Receiver<LeaseReply>>,
    timeout: Duration,
}

impl Pending {
    /// The lease's answer; an error when Redis (or the limiter thread)
    /// did not answer in time.
    pub async fn reply(&mut self) -> LeaseReply {
        let Some(rx) = self.rx.take() else {
            return Err(());
        };
        monoio::time::timeout(self.timeout, rx)
            .await
            .unwrap_or(Err(()))
    }
}

/// Each limit of a route with this request's key for it (`None`: the limit
/// doesn't apply, see `MissingKey::Skip`).
type Keys = SmallVec<[(usize, Option<u64>); 4]>;

/// One key's state on this core.
#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    /// Admissions left in the current lease (global mode).
    tokens: u64,
    lease_until: u64,
    /// The lease's window (see `Grant::window`), handed back with a refund.
    window: u64,
    /// The shared budget's remaining count when the lease was taken.
    remaining: u64,
    reset_at: u64,
    /// Refused without asking again until then (at most one lease TTL, so
    /// budget given back by other cores is seen soon).
    denied_until: u64,
    retry_at: u64,
    /// The algorithm's state in local mode (and Redis fallback).
    local: State,
    /// In `CoreLimiter::live` (holds a lease to give back on expiry).
    listed: bool,
}

enum Step {
    Pass(Option<RateHeaders>),
    Deny(Limited),
    Wait(oneshot::Receiver<LeaseReply>),
}

struct CoreLimit {
    spec: LimitSpec,
    /// This core's fixed share, for local mode and the "local" fallback.
    local_rule: Rule,
    broker: Option<Arc<BrokerTable>>,
    redis: Option<Arc<RedisLink>>,
    table: RefCell<KeyTable<Entry>>,
}

/// This core's limiter for one config snapshot (rebuilt on reload).
pub struct CoreLimiter {
    pub generation: u64,
    epoch: Instant,
    /// How many cores share an instance budget (lease sizes are a share of it).
    takers: u64,
    on_redis_error: OnRedisError,
    limits: Vec<CoreLimit>,
    /// Keys holding a lease, to give back what is unused when it expires.
    live: RefCell<Vec<(usize, u64)>>,
}

impl CoreLimiter {
    pub fn new(
        specs: &[LimitSpec],
        generation: u64,
        broker: &Broker,
        redis: Option<&Arc<RedisLink>>,
        takers: usize,
    ) -> CoreLimiter {
        let takers = takers.max(1) as u64;
        let limits = specs
            .iter()
            .map(|spec| CoreLimit {
                local_rule: spec.rule.share(takers),
                broker: (spec.mode == Mode::Global && spec.backend == Backend::Memory)
                    .then(|| broker.table(spec)),
                redis: match (spec.mode, spec.backend) {
                    (Mode::Global, Backend::Redis) => redis.cloned(),
                    _ => None,
                },
                table: RefCell::new(KeyTable::new(spec.max_keys)),
                spec: spec.clone(),
            })
            .collect();
        CoreLimiter {
            generation,
            epoch: broker.epoch,
            takers,
            on_redis_error: redis.map(|r| r.spec.on_error).unwrap_or_default(),
            limits,
            live: RefCell::new(Vec::new()),
        }
    }

    /// Nanoseconds on the broker's clock (shared by all cores).
    pub fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Checks a request against `limits` (indices into the snapshot's
    /// rate limits), in order. A refusal by one limit gives back what the
    /// earlier ones took.
    pub fn check(&self, limits: &[usize], subject: &LimitSubject, stats: &CoreStats) -> Outcome {
        let keys: Keys = limits
            .iter()
            .filter_map(|&id| {
                let spec = &self.limits.get(id)?.spec;
                Some((id, key_of(&spec.key, spec.on_missing_key, subject)))
            })
            .collect();
        self.run(keys, 0, None, stats)
    }

    /// Continues a check once its Redis lease answered.
    pub fn resume(&self, mut p: Pending, reply: LeaseReply, stats: &CoreStats) -> Outcome {
        if p.generation != self.generation {
            // The config was reloaded while Redis was asked: start over.
            return self.run(p.keys, 0, None, stats);
        }
        let now = self.now();
        let Some(&(id, Some(key))) = p.keys.get(p.pos) else {
            return self.run(p.keys, p.pos + 1, p.headers, stats);
        };
        let lim = &self.limits[id];
        let step = {
            let mut table = lim.table.borrow_mut();
            let e = table.entry(key, Entry::default, |k, old| {
                self.give_back(lim, k, &old, now, stats)
            });
            match reply {
                Ok(grant) => self.apply(lim, id, key, e, grant, now, stats),
                Err(()) => self.fallback(lim, e, now, stats),
            }
        };
        match step {
            Step::Pass(h) => {
                if lim.spec.headers {
                    p.headers = RateHeaders::merge(p.headers, h);
                }
                let pos = p.pos + 1;
                self.run(std::mem::take(&mut p.keys), pos, p.headers, stats)
            }
            Step::Deny(l) => {
                self.undo(&p.keys[..p.pos], now);
                stats.ratelimit_limited.inc();
                Outcome::Limited(l)
            }
            // `apply` and `fallback` never wait.
            Step::Wait(_) => Outcome::Pass(p.headers),
        }
    }

    fn run(
        &self,
        keys: Keys,
        from: usize,
        mut headers: Option<RateHeaders>,
        stats: &CoreStats,
    ) -> Outcome {
        let now = self.now();
        for i in from..keys.len() {
            let (id, Some(key)) = keys[i] else {
                continue;
            };
            match self.decide(id, key, now, stats) {
                Step::Pass(h) => {
                    if self.limits[id].spec.headers {
                        headers = RateHeaders::merge(headers, h);
                    }
                }
                Step::Deny(l) => {
                    self.undo(&keys[..i], now);
                    stats.ratelimit_limited.inc();
                    return Outcome::Limited(l);
                }
                Step::Wait(rx) => {
                    let timeout =
                        self.limits[id]
                            .redis
                            .as_ref()
                            .map_or(Duration::from_secs(1), |r| {
                                r.spec.connect_timeout.max(r.spec.command_timeout) * 2
                                    + Duration::from_millis(50)
                            });
                    return Outcome::Wait(Pending {
                        generation: self.generation,
                        keys,
                        pos: i,
                        headers,
                        rx: Some(rx),
                        timeout,
                    });
                }
            }
        }
        stats.ratelimit_passed.inc();
        Outcome::Pass(headers)
    }

    fn decide(&self, id: usize, key: u64, now: u64, stats: &CoreStats) -> Step {
        let lim = &self.limits[id];
        let mut table = lim.table.borrow_mut();
        let e = table.entry(key, Entry::default, |k, old| {
            self.give_back(lim, k, &old, now, stats)
        });
        if lim.spec.mode == Mode::Local {
            return local(lim, e, now);
        }
        if e.tokens > 0 && now < e.lease_until {
            e.tokens -= 1;
            return Step::Pass(Some(headers_of(lim, e, now)));
        }
        if e.tokens > 0 {
            self.give_back(lim, key, e, now, stats);
            e.tokens = 0;
        }
        if now < e.denied_until {
            return Step::Deny(limited(lim, e, now));
        }
        if let Some(broker) = &lim.broker {
            let grant = broker.lease(key, now, lim.spec.lease_size, self.takers);
            return self.apply(lim, id, key, e, grant, now, stats);
        }
        match &lim.redis {
            Some(link) if link.up() => Step::Wait(link.lease(
                link.key(&lim.spec.name, key),
                lim.spec.rule,
                lim.spec.lease_size,
                self.takers,
            )),
            _ => self.fallback(lim, e, now, stats),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        lim: &CoreLimit,
        id: usize,
        key: u64,
        e: &mut Entry,
        g: Grant,
        now: u64,
        stats: &CoreStats,
    ) -> Step {
        if g.granted == 0 {
            let retry = g.retry_ns.max(1);
            e.denied_until = now + retry.min(lim.spec.lease_ttl_ns);
            e.retry_at = now + retry;
            e.reset_at = now + g.reset_ns;
            e.remaining = 0;
            return Step::Deny(limited(lim, e, now));
        }
        stats.ratelimit_leases.inc();
        // Tokens left from a lease of another window are worth nothing now.
        if e.tokens > 0 && (e.window != g.window || now >= e.lease_until) {
            e.tokens = 0;
        }
        e.tokens += g.granted - 1;
        let ttl = lim.spec.lease_ttl_ns;
        let valid = match g.valid_for_ns {
            0 => ttl,
            v => v.min(ttl),
        };
        e.lease_until = now + valid;
        e.window = g.window;
        e.remaining = g.remaining;
        e.reset_at = now + g.reset_ns;
        e.denied_until = 0;
        if e.tokens > 0 && !e.listed {
            e.listed = true;
            self.live.borrow_mut().push((id, key));
        }
        Step::Pass(Some(headers_of(lim, e, now)))
    }

    fn fallback(&self, lim: &CoreLimit, e: &mut Entry, now: u64, stats: &CoreStats) -> Step {
        stats.ratelimit_fallbacks.inc();
        match self.on_redis_error {
            OnRedisError::Allow => Step::Pass(None),
            OnRedisError::Deny => Step::Deny(Limited {
                unavailable: true,
                retry_after_secs: 1,
                headers: None,
            }),
            OnRedisError::Local => local(lim, e, now),
        }
    }

    /// Returns the unused part of `e`'s lease to where it came from.
    fn give_back(&self, lim: &CoreLimit, key: u64, e: &Entry, now: u64, stats: &CoreStats) {
        if e.tokens == 0 {
            return;
        }
        stats.ratelimit_returns.inc();
        if let Some(b) = &lim.broker {
            b.refund(key, now, e.tokens, e.window);
        } else if let Some(link) = &lim.redis {
            if link.up() {
                link.refund(
                    link.key(&lim.spec.name, key),
                    lim.spec.rule,
                    e.tokens,
                    e.window,
                );
            }
        }
    }

    /// Puts back the admissions `passed` took (a later limit refused).
    fn undo(&self, passed: &[(usize, Option<u64>)], now: u64) {
        for &(id, key) in passed {
            let Some(key) = key else { continue };
            let lim = &self.limits[id];
            let mut table = lim.table.borrow_mut();
            let Some(e) = table.get_mut(key) else {
                continue;
            };
            if lim.spec.mode == Mode::Local || lim.redis.as_ref().is_some_and(|r| !r.up()) {
                let p = lim.local_rule.period_ns.max(1);
                lim.local_rule.refund(&mut e.local, now, 1, now - now % p);
            } else if now < e.lease_until {
                e.tokens += 1;
            }
        }
    }

    /// Periodic upkeep (a few times per lease TTL): gives back expired
    /// leases, forgets idle keys, and updates the keys gauge.
    pub fn sweep(&self, stats: &CoreStats) {
        let now = self.now();
        self.live.borrow_mut().retain(|&(id, key)| {
            let lim = &self.limits[id];
            let mut table = lim.table.borrow_mut();
            let Some(e) = table.get_mut(key) else {
                return false;
            };
            if e.tokens > 0 && now < e.lease_until {
                return true;
            }
            let expired = *e;
            e.tokens = 0;
            e.listed = false;
            self.give_back(lim, key, &expired, now, stats);
            false
        });
        let mut keys = 0;
        for lim in &self.limits {
            let mut table = lim.table.borrow_mut();
            if now.saturating_sub(table.rotated_at) >= lim.spec.idle_ns() {
                for (k, e) in table.rotate(now) {
                    self.give_back(lim, k, &e, now, stats);
                }
            }
            keys += table.len();
        }
        stats.ratelimit_keys.set(keys as u64);
    }

    /// Gives back every lease (before this limiter is replaced on reload).
    pub fn release_all(&self, stats: &CoreStats) {
        let now = self.now();
        for (id, key) in self.live.borrow_mut().drain(..) {
            let lim = &self.limits[id];
            let mut table = lim.table.borrow_mut();
            if let Some(e) = table.get_mut(key) {
                let held = *e;
                e.tokens = 0;
                self.give_back(lim, key, &held, now, stats);
            }
        }
    }
}

fn secs_ceil(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

fn headers_of(lim: &CoreLimit, e: &Entry, now: u64) -> RateHeaders {
    RateHeaders {
        limit: lim.spec.rule.limit,
        remaining: e.remaining + e.tokens,
        reset_secs: secs_ceil(e.reset_at.saturating_sub(now)),
    }
}

fn limited(lim: &CoreLimit, e: &Entry, now: u64) -> Limited {
    Limited {
        unavailable: false,
        retry_after_secs: secs_ceil(e.retry_at.saturating_sub(now)).max(1),
        headers: lim.spec.headers.then(|| RateHeaders {
            limit: lim.spec.rule.limit,
            remaining: 0,
            reset_secs: secs_ceil(e.reset_at.saturating_sub(now)),
        }),
    }
}

/// The per-core decision of local mode (and of the "local" fallback).
fn local(lim: &CoreLimit, e: &mut Entry, now: u64) -> Step {
    let t = lim.local_rule.take(&mut e.local, now, 1);
    let headers = RateHeaders {
        limit: lim.local_rule.limit,
        remaining: t.remaining,
        reset_secs: secs_ceil(t.reset_ns),
    };
    if t.granted == 1 {
        Step::Pass(Some(headers))
    } else {
        Step::Deny(Limited {
            unavailable: false,
            retry_after_secs: secs_ceil(t.retry_ns).max(1),
            headers: lim.spec.headers.then_some(headers),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::algo::Algorithm;
    use crate::ratelimit::{KeyPart, MissingKey};

    fn spec(name: &str, algorithm: Algorithm, limit: u64, mode: Mode) -> LimitSpec {
        LimitSpec {
            name: name.into(),
            key: vec![KeyPart::Header("x-key".into())],
            on_missing_key: MissingKey::Skip,
            rule: Rule {
                algorithm,
                limit,
                period_ns: 60_000_000_000,
                burst: limit,
            },
            mode,
            backend: Backend::Memory,
            max_keys: 1000,
            headers: true,
            lease_size: 10,
            lease_ttl_ns: 30_000_000_000,
        }
    }

    fn check(l: &CoreLimiter, ids: &[usize], key: &str, stats: &CoreStats) -> Outcome {
        let value = key.as_bytes().to_vec();
        let header = |n: &str| (n == "x-key").then_some(value.as_slice());
        let claim = |_: &str| None;
        let subj = LimitSubject {
            client_ip: "127.0.0.1".parse().unwrap(),
            route: 0,
            route_name: "r",
            header: &header,
            consumer: None,
            claim: &claim,
        };
        l.check(ids, &subj, stats)
    }

    fn passes(o: &Outcome) -> bool {
        matches!(o, Outcome::Pass(_))
    }

    #[test]
    fn cores_sharing_a_broker_admit_exactly_the_limit() {
        let broker = Broker::default();
        let specs = [spec("a", Algorithm::FixedWindow, 100, Mode::Global)];
        let cores: Vec<CoreLimiter> = (0..4)
            .map(|_| CoreLimiter::new(&specs, 1, &broker, None, 4))
            .collect();
        let stats = CoreStats::default();
        let mut admitted = 0;
        for i in 0..1000 {
            if passes(&check(&cores[i % 4], &[0], "k", &stats)) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 100);
        // Leases, not requests, reached the broker.
        assert!(
            stats.ratelimit_leases.get() < 40,
            "{}",
            stats.ratelimit_leases.get()
        );
        // Another key has its own budget.
        assert!(passes(&check(&cores[0], &[0], "other", &stats)));
    }

    #[test]
    fn an_idle_core_gives_its_lease_back() {
        let broker = Broker::default();
        let mut s = spec("a", Algorithm::FixedWindow, 100, Mode::Global);
        s.lease_ttl_ns = 1;
        let a = CoreLimiter::new(std::slice::from_ref(&s), 1, &broker, None, 2);
        let b = CoreLimiter::new(std::slice::from_ref(&s), 1, &broker, None, 2);
        let stats = CoreStats::default();
        assert!(passes(&check(&a, &[0], "k", &stats)));
        std::thread::sleep(Duration::from_millis(1));
        a.sweep(&stats);
        assert_eq!(stats.ratelimit_returns.get(), 1);
        let mut admitted = 1;
        while passes(&check(&b, &[0], "k", &stats)) {
            admitted += 1;
            assert!(admitted < 1000);
        }
        assert_eq!(admitted, 100);
    }

    #[test]
    fn local_mode_enforces_a_share_and_headers_tell_it() {
        let broker = Broker::default();
        let specs = [spec("a", Algorithm::FixedWindow, 10, Mode::Local)];
        let l = CoreLimiter::new(&specs, 1, &broker, None, 2);
        let stats = CoreStats::default();
        let mut last = None;
        for _ in 0..5 {
            match check(&l, &[0], "k", &stats) {
                Outcome::Pass(h) => last = h,
                _ => panic!("share of 5 refused early"),
            }
        }
        assert_eq!(last.unwrap().remaining, 0);
        match check(&l, &[0], "k", &stats) {
            Outcome::Limited(lim) => {
                assert_eq!(lim.status(), 429);
                assert!(lim.retry_after_secs >= 1);
                assert_eq!(lim.headers.unwrap().limit, 5);
            }
            _ => panic!("over the share"),
        }
    }

    #[test]
    fn a_refusal_gives_back_what_earlier_limits_took() {
        let broker = Broker::default();
        let specs = [
            spec("wide", Algorithm::FixedWindow, 10, Mode::Local),
            spec("narrow", Algorithm::FixedWindow, 2, Mode::Local),
        ];
        let l = CoreLimiter::new(&specs, 1, &broker, None, 1);
        let stats = CoreStats::default();
        let mut admitted = 0;
        for _ in 0..5 {
            if passes(&check(&l, &[0, 1], "k", &stats)) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 2);
        // "wide" only lost the two that passed both.
        for _ in 0..8 {
            assert!(passes(&check(&l, &[0], "k", &stats)));
        }
        assert!(!passes(&check(&l, &[0], "k", &stats)));
    }

    #[test]
    fn flood_of_keys_stays_within_max_keys() {
        let broker = Broker::default();
        let mut s = spec("a", Algorithm::TokenBucket, 10, Mode::Global);
        s.max_keys = 64;
        let l = CoreLimiter::new(&[s], 1, &broker, None, 1);
        let stats = CoreStats::default();
        for i in 0..10_000 {
            check(&l, &[0], &format!("k{i}"), &stats);
        }
        l.sweep(&stats);
        assert!(stats.ratelimit_keys.get() <= 64);
        assert!(broker.table(&l.limits[0].spec).len() <= 64);
    }
}
