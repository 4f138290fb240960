//! The four algorithms as pure code: a `Rule` and a `State` go in with `now`
//! (nanoseconds on some monotonic clock), a decision comes out. No clock is
//! read here, so tests drive them with a fake one.
//!
//! Every algorithm answers one question, `take(state, now, want)`: "how many
//! of the `want` requests may pass now?". `want = 1` is the ordinary per
//! request check (local mode); `want = k` is a lease, a batch of admissions
//! a core takes from a shared budget at once (global mode, see
//! docs/RATELIMIT.md).
//! `refund` gives back the unused part of a lease.
//!
//! Error bounds (N = `limit` per `period` P):
//! - token bucket and GCRA are exact: over any interval of length t at most
//!   `burst + N·t/P` requests pass (integer rounding of the refill aside).
//! - fixed window is exact per window (at most N in each aligned window) but
//!   up to 2N can pass in a P-long interval that straddles a boundary.
//! - sliding window is the two-counter approximation (the current and the
//!   previous aligned window, the previous one weighted by how much of it
//!   still overlaps the sliding window): a request `e` into the window
//!   passes when `prev·(P−e) + curr·P < N·P`, evaluated in integers so no
//!   rounding moves a request either way. Under a continuous flood it
//!   admits exactly N per aligned window (the unit tests check 20/s and
//!   200/s). It never lets more than N pass in one aligned window, so at
//!   most 2N in any P-long interval, like fixed window in the worst case;
//!   it is exact when the previous window's requests were evenly spread,
//!   and its error is bounded by how unevenly they were: if they all came
//!   at the end of the previous window it lets up to N·e/P more pass at e
//!   into the current one; if all at its start, up to that many fewer.
//!   (On real traffic Cloudflare measured 0.003% of decisions wrong.) It
//!   needs 3 integers per key, a sliding log N.

/// Which algorithm a limit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    TokenBucket,
    Gcra,
    FixedWindow,
    SlidingWindow,
}

impl Algorithm {
    /// The name used in the config and in the Redis script.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::TokenBucket => "token_bucket",
            Algorithm::Gcra => "gcra",
            Algorithm::FixedWindow => "fixed_window",
            Algorithm::SlidingWindow => "sliding_window",
        }
    }

    /// Windowed algorithms tie a lease to the window it was taken in.
    pub fn is_windowed(self) -> bool {
        matches!(self, Algorithm::FixedWindow | Algorithm::SlidingWindow)
    }
}

/// `limit` requests per `period_ns`, with `burst` for the two rate
/// algorithms (the windows ignore it: their burst is the whole limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub algorithm: Algorithm,
    pub limit: u64,
    pub period_ns: u64,
    pub burst: u64,
}

/// One key's state. `Default` is "never seen": a full budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Token bucket: fill level in token·ns units (one token = `period_ns`
    /// units, refilled at `limit` units per ns). GCRA: theoretical arrival
    /// time. Windows: the current window's count.
    a: u64,
    /// Token bucket: time of the last refill. Windows: the start of the
    /// current window (plus one, so 0 means "none").
    b: u64,
    /// Sliding window: the previous window's count.
    c: u64,
}

/// What `take` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// How many of the wanted requests may pass (0..=want).
    pub granted: u64,
    /// How many more could pass right now after these.
    pub remaining: u64,
    /// Nanoseconds until the budget is whole again (window end, or a full bucket).
    pub reset_ns: u64,
    /// When nothing was granted: nanoseconds until one request could pass.
    pub retry_ns: u64,
    /// Windowed algorithms: the start of the window the grant belongs to
    /// (a lease must not outlive it); 0 otherwise.
    pub window: u64,
    /// The grant is valid until this time (the window's end), `u64::MAX`
    /// for the rate algorithms.
    pub valid_until: u64,
}

impl Rule {
    /// Nanoseconds between two requests at the sustained rate (GCRA's T).
    pub fn interval_ns(&self) -> u64 {
        (self.period_ns / self.limit.max(1)).max(1)
    }

    fn bucket_capacity(&self) -> u128 {
        u128::from(self.burst.max(1)) * u128::from(self.period_ns)
    }

    /// Up to `want` requests at `now`: how many pass, and what is left.
    pub fn take(&self, s: &mut State, now: u64, want: u64) -> Take {
        match self.algorithm {
            Algorithm::TokenBucket => self.take_bucket(s, now, want),
            Algorithm::Gcra => self.take_gcra(s, now, want),
            Algorithm::FixedWindow => self.take_fixed(s, now, want),
            Algorithm::SlidingWindow => self.take_sliding(s, now, want),
        }
    }

    /// Gives back `n` admissions that were taken (by a lease in `window`,
    /// see `Take::window`) but not used.
    pub fn refund(&self, s: &mut State, now: u64, n: u64, window: u64) {
        match self.algorithm {
            Algorithm::TokenBucket => {
                self.refill(s, now);
                let level = u128::from(s.a) + u128::from(n) * u128::from(self.period_ns);
                s.a = level.min(self.bucket_capacity()) as u64;
            }
            Algorithm::Gcra => s.a = s.a.saturating_sub(n.saturating_mul(self.interval_ns())),
            Algorithm::FixedWindow | Algorithm::SlidingWindow => {
                let start = s.b.wrapping_sub(1);
                if s.b != 0 && start == window {
                    s.a = s.a.saturating_sub(n);
                } else if s.b != 0
                    && self.algorithm == Algorithm::SlidingWindow
                    && start == window.saturating_add(self.period_ns)
                {
                    s.c = s.c.saturating_sub(n);
                }
            }
        }
    }

    fn refill(&self, s: &mut State, now: u64) {
        let cap = self.bucket_capacity();
        if s.b == 0 {
            // Never seen: a full bucket.
            s.a = cap as u64;
        } else if now > s.b {
            let added = u128::from(now - s.b) * u128::from(self.limit);
            s.a = (u128::from(s.a) + added).min(cap) as u64;
        }
        s.b = now.max(s.b).max(1);
    }

    fn take_bucket(&self, s: &mut State, now: u64, want: u64) -> Take {
        self.refill(s, now);
        let unit = u128::from(self.period_ns);
        let tokens = (u128::from(s.a) / unit) as u64;
        let granted = want.min(tokens);
        s.a -= (u128::from(granted) * unit) as u64;
        let level = u128::from(s.a);
        let per_ns = u128::from(self.limit.max(1));
        let missing = self.bucket_capacity() - level;
        // Only when nothing could pass (a `want = 0` probe may find tokens).
        let retry_ns = if tokens == 0 {
            ceil_div(unit - level % unit, per_ns) as u64
        } else {
            0
        };
        Take {
            granted,
            remaining: (level / unit) as u64,
            reset_ns: ceil_div(missing, per_ns) as u64,
            retry_ns,
            window: 0,
            valid_until: u64::MAX,
        }
    }

    fn take_gcra(&self, s: &mut State, now: u64, want: u64) -> Take {
        let t = self.interval_ns();
        let tau = t.saturating_mul(self.burst.max(1) - 1);
        let tat = s.a.max(now);
        // Request k (1-based) passes if tat + (k-1)·T - τ <= now.
        let room = (now + tau).saturating_sub(tat);
        let fits = if tat > now + tau { 0 } else { room / t + 1 };
        let granted = want.min(fits);
        let new_tat = tat + granted * t;
        if granted > 0 {
            s.a = new_tat;
        }
        let remaining = if new_tat > now + tau {
            0
        } else {
            (now + tau - new_tat) / t + 1
        };
        Take {
            granted,
            remaining,
            reset_ns: new_tat.saturating_sub(now),
            // Only when nothing could pass: then tat > now + τ. (A `want = 0`
            // probe, as the broker makes, may find room and must not
            // underflow here.)
            retry_ns: if fits == 0 { tat - tau - now } else { 0 },
            window: 0,
            valid_until: u64::MAX,
        }
    }

    /// Moves the window state to the aligned window holding `now`; returns
    /// the window's start.
    fn roll(&self, s: &mut State, now: u64) -> u64 {
        let p = self.period_ns;
        let start = now - now % p;
        let prev_start = s.b.wrapping_sub(1);
        if s.b == 0 || prev_start != start {
            s.c = if s.b != 0 && prev_start + p == start {
                s.a
            } else {
                0
            };
            s.a = 0;
            s.b = start + 1;
        }
        start
    }

    fn take_fixed(&self, s: &mut State, now: u64, want: u64) -> Take {
        let start = self.roll(s, now);
        let end = start + self.period_ns;
        let room = self.limit.saturating_sub(s.a);
        let granted = want.min(room);
        s.a += granted;
        Take {
            granted,
            remaining: room - granted,
            reset_ns: end - now,
            retry_ns: if room == 0 { end - now } else { 0 },
            window: start,
            valid_until: end,
        }
    }

    /// How many more may pass at `now` (`e = now - start` into the window):
    /// request k of a batch passes when `prev·(P−e) + (curr+k−1)·P < N·P`,
    /// the two-counter rule in integers, so no rounding of the previous
    /// window's weight takes or gives a request (rounding it up cost one
    /// per window, 0.5% at 200 per window, 5% at 20).
    fn sliding_room(&self, s: &State, now: u64, start: u64) -> u64 {
        let p = u128::from(self.period_ns);
        let budget = u128::from(self.limit) * p;
        let used = u128::from(s.c) * (p - u128::from(now - start)) + u128::from(s.a) * p;
        ceil_div(budget.saturating_sub(used), p) as u64
    }

    /// Nanoseconds from `now` until the rule lets one request pass, when it
    /// lets none now: the first `e'` with `prev·(P−e') + curr·P < N·P` in
    /// this window, or, once this window alone holds N, in the next one
    /// (where this window's count is the previous one and weighs
    /// `curr·(P−e')/P`).
    fn sliding_retry(&self, s: &State, now: u64, start: u64) -> u64 {
        let p = u128::from(self.period_ns);
        let limit = u128::from(self.limit);
        let (prev, curr) = (u128::from(s.c), u128::from(s.a));
        let e = u128::from(now - start);
        let at = if curr < limit {
            // prev·e' > (prev + curr − N)·P; prev > 0 here, as with no
            // previous window and curr < N a request would pass now.
            (prev + curr - limit) * p / prev.max(1) + 1
        } else {
            p + (curr - limit) * p / curr.max(1) + 1
        };
        (at.saturating_sub(e) as u64).max(1)
    }

    fn take_sliding(&self, s: &mut State, now: u64, want: u64) -> Take {
        let start = self.roll(s, now);
        let end = start + self.period_ns;
        let room = self.sliding_room(s, now, start);
        let granted = want.min(room);
        s.a += granted;
        let retry_ns = match (granted, room) {
            (0, 0) => self.sliding_retry(s, now, start),
            _ => 0,
        };
        Take {
            granted,
            remaining: room - granted,
            reset_ns: end - now,
            retry_ns,
            window: start,
            valid_until: end,
        }
    }

    /// This rule with `limit` and `burst` divided among `shares` takers (a
    /// core's fixed share in local mode), never below 1.
    pub fn share(&self, shares: u64) -> Rule {
        let shares = shares.max(1);
        Rule {
            limit: (self.limit / shares).max(1),
            burst: (self.burst / shares).max(1),
            ..*self
        }
    }
}

fn ceil_div(a: u128, b: u128) -> u128 {
    a.div_ceil(b.max(1))
}

/// How many admissions to lease when `available` remain in the shared
/// budget: a fraction of what is left, so that when the budget runs low the
/// last tokens are spread thin rather than stranded on a core that went
/// quiet; at least 1, at most `max`.
pub fn lease_size(available: u64, takers: u64, max: u64) -> u64 {
    (available / (2 * takers.max(1))).clamp(1, max.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    fn rule(algorithm: Algorithm, limit: u64, period: u64, burst: u64) -> Rule {
        Rule {
            algorithm,
            limit,
            period_ns: period,
            burst,
        }
    }

    /// Offers one request every `step` ns from `from` to `to`; counts passes.
    fn drive(r: &Rule, s: &mut State, from: u64, to: u64, step: u64) -> u64 {
        let mut n = 0;
        let mut t = from;
        while t < to {
            n += r.take(s, t, 1).granted;
            t += step;
        }
        n
    }

    #[test]
    fn token_bucket_burst_then_rate() {
        let r = rule(Algorithm::TokenBucket, 10, S, 5);
        let mut s = State::default();
        let start = 1000 * S;
        // Burst of 5 at once, then nothing.
        for i in 0..5 {
            let t = r.take(&mut s, start, 1);
            assert_eq!(t.granted, 1, "request {i}");
            assert_eq!(t.remaining, 4 - i);
        }
        let t = r.take(&mut s, start, 1);
        assert_eq!(t.granted, 0);
        assert_eq!(t.retry_ns, 100 * MS, "one token per 100ms");
        assert_eq!(t.reset_ns, 500 * MS);
        // After 100ms exactly one more.
        assert_eq!(r.take(&mut s, start + 100 * MS, 1).granted, 1);
        assert_eq!(r.take(&mut s, start + 100 * MS, 1).granted, 0);
        // Over 10 seconds of a flood: the rate, no more.
        let n = drive(&r, &mut s, start + 100 * MS + 1, start + 10_100 * MS, MS);
        assert!((99..=100).contains(&n), "{n}");
        // Idle: the bucket fills to the burst, not beyond.
        let t = r.take(&mut s, start + 100 * S, 100);
        assert_eq!(t.granted, 5);
    }

    #[test]
    fn token_bucket_lease_and_refund() {
        let r = rule(Algorithm::TokenBucket, 100, S, 100);
        let mut s = State::default();
        let t = r.take(&mut s, S, 30);
        assert_eq!((t.granted, t.remaining), (30, 70));
        r.refund(&mut s, S, 10, 0);
        assert_eq!(r.take(&mut s, S, 1000).granted, 80);
        // Refund never overfills.
        r.refund(&mut s, S, 1000, 0);
        assert_eq!(r.take(&mut s, S, 1000).granted, 100);
    }

    #[test]
    fn gcra_spacing_and_burst() {
        let r = rule(Algorithm::Gcra, 10, S, 3);
        let mut s = State::default();
        let t0 = 50 * S;
        assert_eq!(r.take(&mut s, t0, 1).remaining, 2);
        assert_eq!(r.take(&mut s, t0, 1).granted, 1);
        assert_eq!(r.take(&mut s, t0, 1).granted, 1);
        let t = r.take(&mut s, t0, 1);
        assert_eq!(t.granted, 0);
        assert_eq!(t.retry_ns, 100 * MS);
        assert_eq!(r.take(&mut s, t0 + 100 * MS - 1, 1).granted, 0);
        assert_eq!(r.take(&mut s, t0 + 100 * MS, 1).granted, 1);
        let n = drive(&r, &mut s, t0 + 100 * MS + 1, t0 + 10_100 * MS, MS);
        assert!((99..=100).contains(&n), "{n}");
        // A lease takes what fits and no more; a refund gives it back.
        let mut s = State::default();
        assert_eq!(r.take(&mut s, t0, 10).granted, 3);
        r.refund(&mut s, t0, 2, 0);
        assert_eq!(r.take(&mut s, t0, 10).granted, 2);
    }

    #[test]
    fn gcra_matches_token_bucket_on_a_flood() {
        let tb = rule(Algorithm::TokenBucket, 7, S, 4);
        let gc = rule(Algorithm::Gcra, 7, S, 4);
        let (mut a, mut b) = (State::default(), State::default());
        let (na, nb) = (
            drive(&tb, &mut a, S, 20 * S, 3 * MS),
            drive(&gc, &mut b, S, 20 * S, 3 * MS),
        );
        assert!(na.abs_diff(nb) <= 1, "{na} vs {nb}");
        assert!((4 + 7 * 19 - 1..=4 + 7 * 19 + 1).contains(&na), "{na}");
    }

    #[test]
    fn fixed_window_counts_per_aligned_window() {
        let r = rule(Algorithm::FixedWindow, 5, 2 * S, 0);
        let mut s = State::default();
        let t = r.take(&mut s, 10 * S + 500 * MS, 3);
        assert_eq!((t.granted, t.remaining, t.window), (3, 2, 10 * S));
        assert_eq!(t.valid_until, 12 * S);
        assert_eq!(t.reset_ns, 1500 * MS);
        assert_eq!(r.take(&mut s, 11 * S, 9).granted, 2);
        let t = r.take(&mut s, 11 * S, 1);
        assert_eq!((t.granted, t.retry_ns), (0, S));
        // A refund into the same window counts; into an old one it doesn't.
        r.refund(&mut s, 11 * S, 1, 10 * S);
        assert_eq!(r.take(&mut s, 11 * S, 9).granted, 1);
        assert_eq!(r.take(&mut s, 12 * S, 9).granted, 5);
        r.refund(&mut s, 12 * S, 3, 10 * S);
        assert_eq!(r.take(&mut s, 13 * S, 9).granted, 0);
        // Exactly the limit per window under a flood.
        let mut s = State::default();
        for w in 0..5 {
            let base = 100 * S + w * 2 * S;
            assert_eq!(drive(&r, &mut s, base, base + 2 * S, 10 * MS), 5);
        }
    }

    #[test]
    fn sliding_window_weights_the_previous_window() {
        let r = rule(Algorithm::SlidingWindow, 10, S, 0);
        let mut s = State::default();
        // 10 in window [5s, 6s).
        assert_eq!(r.take(&mut s, 5 * S, 10).granted, 10);
        // At 6.0s the previous window weighs fully: nothing passes.
        let t = r.take(&mut s, 6 * S, 1);
        assert_eq!(t.granted, 0);
        assert!(t.retry_ns > 0 && t.retry_ns <= 100 * MS, "{}", t.retry_ns);
        // At 6.25s it weighs 7.5: 3 pass (2.5 were free; the rule is
        // `10·0.75 + curr < 10` per request, so the third one fits).
        assert_eq!(r.take(&mut s, 6 * S + 250 * MS, 10).granted, 3);
        // At 6.5s: 5 + 3 used, 2 more.
        assert_eq!(r.take(&mut s, 6 * S + 500 * MS, 10).granted, 2);
        // Two windows later everything is forgotten.
        assert_eq!(r.take(&mut s, 8 * S, 100).granted, 10);
    }

    #[test]
    fn sliding_window_steady_flood_is_close_to_the_rate() {
        let r = rule(Algorithm::SlidingWindow, 100, S, 0);
        let mut s = State::default();
        let n = drive(&r, &mut s, 10 * S, 20 * S, MS);
        // Any 1s interval holds at most ~100; over 10s about 1000.
        assert!((990..=1010).contains(&n), "{n}");
        // And no aligned window ever passes more than the limit.
        let mut s = State::default();
        for w in 0..10 {
            let base = 30 * S + w * S;
            assert!(drive(&r, &mut s, base, base + S, MS) <= 100);
        }
    }

    #[test]
    fn sliding_window_refund_reaches_the_previous_window() {
        let r = rule(Algorithm::SlidingWindow, 10, S, 0);
        let mut s = State::default();
        assert_eq!(r.take(&mut s, 5 * S, 10).granted, 10);
        assert_eq!(r.take(&mut s, 6 * S, 1).granted, 0);
        r.refund(&mut s, 6 * S, 10, 5 * S);
        assert_eq!(r.take(&mut s, 6 * S, 10).granted, 10);
    }

    /// How a simulated client offers twice the limit: evenly spaced, or in
    /// bursts of 1 to 8 requests at once, each followed by the gap that
    /// keeps the average rate at 2·N/P.
    #[derive(Debug, Clone, Copy)]
    enum Offer {
        Even,
        Bursty,
    }

    /// The times at which a client offering 2·N/P requests per ns sends,
    /// from `from` for `windows` periods.
    fn offered_times(r: &Rule, offer: Offer, from: u64, windows: u64) -> Vec<u64> {
        let step = r.period_ns / (2 * r.limit);
        let to = from + windows * r.period_ns;
        let mut times = Vec::new();
        let mut lcg: u64 = 0x2545_f491_4f6c_dd1d;
        let mut t = from;
        while t < to {
            let burst = match offer {
                Offer::Even => 1,
                Offer::Bursty => {
                    lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    1 + (lcg >> 61)
                }
            };
            times.extend(std::iter::repeat_n(t, burst as usize));
            t += burst * step;
        }
        times
    }

    /// Offers twice the limit to `r`; returns the time of every admission.
    fn offer_twice_the_limit(r: &Rule, offer: Offer, from: u64, windows: u64) -> Vec<u64> {
        let mut s = State::default();
        offered_times(r, offer, from, windows)
            .into_iter()
            .filter(|&t| r.take(&mut s, t, 1).granted == 1)
            .collect()
    }

    /// Asserts `got` is within ±1% of `want` (at least ±1 request).
    fn within_one_percent(got: u64, want: u64, what: &str) {
        let slack = (want / 100).max(1);
        assert!(
            got.abs_diff(want) <= slack,
            "{what}: admitted {got}, the formula says {want} (±{slack})"
        );
    }

    /// The limits the accuracy tests run at: 20/s and 200/s, each offered
    /// evenly and in bursts, over 50 one-second windows.
    fn accuracy_cases(algorithm: Algorithm) -> Vec<(Rule, Offer)> {
        let mut cases = Vec::new();
        for limit in [20, 200] {
            for offer in [Offer::Bursty, Offer::Even] {
                cases.push((rule(algorithm, limit, S, limit), offer));
            }
        }
        cases
    }

    const WINDOWS: u64 = 50;

    /// Aligned window counts: one per window from `from`.
    fn per_window(admitted: &[u64], from: u64, period: u64) -> Vec<u64> {
        let mut counts = vec![0; WINDOWS as usize];
        for &t in admitted {
            counts[((t - from) / period) as usize] += 1;
        }
        counts
    }

    #[test]
    fn fixed_window_admits_n_per_window_at_20_and_200_per_second() {
        for (r, offer) in accuracy_cases(Algorithm::FixedWindow) {
            let from = 100 * S;
            let admitted = offer_twice_the_limit(&r, offer, from, WINDOWS);
            let what = format!("fixed_window {}/s {offer:?}", r.limit);
            within_one_percent(admitted.len() as u64, r.limit * WINDOWS, &what);
            for n in per_window(&admitted, from, r.period_ns) {
                assert!(n <= r.limit, "{what}: {n} in one window");
            }
        }
    }

    /// The sliding-window rule applied by brute force to the log of what
    /// passed: a request at `t`, `e` into its window, passes when
    /// `prev·(P−e) + curr·P < N·P`. An oracle for bursty traffic, where
    /// the two-counter rule itself departs from N per window.
    fn sliding_oracle(r: &Rule, offered: &[u64]) -> u64 {
        let p = r.period_ns;
        let mut passed: Vec<u64> = Vec::new();
        for &t in offered {
            let start = t - t % p;
            // `passed` is sorted: count by binary search.
            let from_start = passed.partition_point(|&x| x < start);
            let from_prev = passed.partition_point(|&x| x + p < start);
            let curr = (passed.len() - from_start) as u128;
            let prev = (from_start - from_prev) as u128;
            let used = prev * u128::from(p - (t - start)) + curr * u128::from(p);
            if used < u128::from(r.limit) * u128::from(p) {
                passed.push(t);
            }
        }
        passed.len() as u64
    }

    #[test]
    fn sliding_window_admits_its_formula_at_20_and_200_per_second() {
        for (r, offer) in accuracy_cases(Algorithm::SlidingWindow) {
            let from = 100 * S;
            let admitted = offer_twice_the_limit(&r, offer, from, WINDOWS);
            let what = format!("sliding_window {}/s {offer:?}", r.limit);
            let windows = per_window(&admitted, from, r.period_ns);
            for &n in &windows {
                assert!(n <= r.limit, "{what}: {n} in one window: {windows:?}");
            }
            let total = admitted.len() as u64;
            match offer {
                // Evenly spread, the rule is exact: N in every window (the
                // first has no previous one and gets N too).
                Offer::Even => within_one_percent(total, r.limit * WINDOWS, &what),
                Offer::Bursty => {
                    let offered = offered_times(&r, offer, from, WINDOWS);
                    within_one_percent(total, sliding_oracle(&r, &offered), &what);
                }
            }
        }
    }

    #[test]
    fn token_bucket_and_gcra_admit_burst_plus_rate_at_20_and_200_per_second() {
        for algorithm in [Algorithm::TokenBucket, Algorithm::Gcra] {
            for (r, offer) in accuracy_cases(algorithm) {
                let admitted = offer_twice_the_limit(&r, offer, 100 * S, WINDOWS);
                let what = format!("{algorithm:?} {}/s {offer:?}", r.limit);
                // burst at once, then N per P: over the run, burst + N·t/P.
                within_one_percent(admitted.len() as u64, r.burst + r.limit * WINDOWS, &what);
                // And never more than that in any prefix of the run.
                for (i, &t) in admitted.iter().enumerate() {
                    let bound = r.burst + (t - 100 * S) * r.limit / r.period_ns;
                    let by_now = i as u64 + 1;
                    assert!(by_now <= bound, "{what}: {by_now} by {t}, bound {bound}");
                }
            }
        }
    }

    /// Asserts that `retry_ns`, asked for at `now` when nothing passes, is
    /// exactly the first instant a request passes.
    fn assert_retry_exact(r: &Rule, s: &mut State, now: u64) {
        while r.take(s, now, 1).granted == 1 {}
        let retry = r.take(s, now, 0).retry_ns;
        let mut probe = *s;
        assert_eq!(
            r.take(&mut probe, now + retry - 1, 1).granted,
            0,
            "{r:?} at {now}"
        );
        assert_eq!(r.take(s, now + retry, 1).granted, 1, "{r:?} at {now}");
    }

    #[test]
    fn sliding_window_retry_is_when_the_next_request_passes() {
        for limit in [20, 200] {
            let r = rule(Algorithm::SlidingWindow, limit, S, limit);
            // Inside a window, while the previous one's weight decays.
            let mut s = State::default();
            drive(&r, &mut s, 100 * S, 102 * S, S / (2 * limit));
            for ms in [0, 1, 300, 999] {
                assert_retry_exact(&r, &mut s, 102 * S + ms * MS);
            }
            // This window alone is full: the next window, once this one's
            // weight drops below N.
            let mut s = State::default();
            assert_retry_exact(&r, &mut s, 200 * S + 100 * MS);
            assert_retry_exact(&r, &mut s, 201 * S + 999 * MS);
        }
    }

    /// The broker first asks with `want = 0` how much is left: that probe
    /// must not panic (GCRA's retry underflowed when room was left), grants
    /// nothing, and reports no wait while something could pass.
    #[test]
    fn a_probe_for_nothing_reports_room_and_no_wait() {
        for algorithm in [
            Algorithm::TokenBucket,
            Algorithm::Gcra,
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
        ] {
            let r = rule(algorithm, 20, S, 20);
            let mut s = State::default();
            let t = r.take(&mut s, 10 * S, 0);
            assert_eq!(
                (t.granted, t.remaining, t.retry_ns),
                (0, 20, 0),
                "{algorithm:?}"
            );
            assert_eq!(r.take(&mut s, 10 * S, 5).granted, 5, "{algorithm:?}");
            let t = r.take(&mut s, 10 * S, 0);
            assert_eq!(
                (t.granted, t.remaining, t.retry_ns),
                (0, 15, 0),
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn share_divides_and_never_reaches_zero() {
        let r = rule(Algorithm::TokenBucket, 100, S, 10);
        assert_eq!(r.share(4).limit, 25);
        assert_eq!(r.share(4).burst, 2);
        assert_eq!(r.share(1000).limit, 1);
        assert_eq!(r.share(0).limit, 100);
    }

    #[test]
    fn lease_size_shrinks_with_the_budget() {
        assert_eq!(lease_size(1000, 2, 50), 50);
        assert_eq!(lease_size(100, 2, 50), 25);
        assert_eq!(lease_size(8, 2, 50), 2);
        assert_eq!(lease_size(3, 2, 50), 1);
        assert_eq!(lease_size(0, 2, 50), 1);
        assert_eq!(lease_size(1000, 0, 0), 1);
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        for algorithm in [
            Algorithm::TokenBucket,
            Algorithm::Gcra,
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
        ] {
            let r = rule(algorithm, 10, S, 10);
            let mut s = State::default();
            r.take(&mut s, 10 * S, 5);
            let t = r.take(&mut s, 9 * S, 100);
            assert!(t.granted <= 10, "{algorithm:?}");
        }
    }
}
