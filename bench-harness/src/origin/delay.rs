//! Response delays (fixed or random) and whole-origin stalls.

use crate::rng::Rng;
use crate::units::parse_duration;
use std::time::{Duration, Instant};

/// Upper bound on any sampled delay, so an exponential tail cannot park a
/// connection for hours.
const MAX_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    None,
    Fixed(Duration),
    Uniform(Duration, Duration),
    /// Exponentially distributed with this mean.
    Exp(Duration),
}

impl Delay {
    /// Parses `uniform:5ms:15ms`, `exp:10ms` or `fixed:10ms`.
    pub fn parse(s: &str) -> Result<Delay, String> {
        let mut parts = s.split(':');
        let kind = parts.next().unwrap_or("");
        let args: Vec<Duration> = parts.map(parse_duration).collect::<Result<_, _>>()?;
        match (kind, args.as_slice()) {
            ("fixed", [d]) => Ok(Delay::Fixed(*d)),
            ("uniform", [lo, hi]) if lo <= hi => Ok(Delay::Uniform(*lo, *hi)),
            ("uniform", [_, _]) => Err(format!("delay distribution `{s}`: low bound above high bound")),
            ("exp", [mean]) => Ok(Delay::Exp(*mean)),
            _ => Err(format!(
                "delay distribution `{s}`: expected uniform:LOW:HIGH, exp:MEAN or fixed:D (e.g. uniform:5ms:15ms)"
            )),
        }
    }

    pub fn sample(&self, rng: &mut Rng) -> Duration {
        match *self {
            Delay::None => Duration::ZERO,
            Delay::Fixed(d) => d,
            Delay::Uniform(lo, hi) => lo + (hi - lo).mul_f64(rng.next_f64()),
            // Inverse CDF; 1 - u is in (0, 1] so ln never sees zero.
            Delay::Exp(mean) => mean.mul_f64(-(1.0 - rng.next_f64()).ln()).min(MAX_DELAY),
        }
    }
}

/// Periodic whole-origin pause: from `every` after start, every `every`,
/// nothing is answered for `length`. All threads share one epoch so the
/// whole origin stops at once, which is what exposes coordinated omission.
#[derive(Debug, Clone, Copy)]
pub struct Stall {
    pub epoch: Instant,
    pub every: Duration,
    pub length: Duration,
}

impl Stall {
    /// How long until the current stall ends, if `now` is inside one.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        let t = now.checked_duration_since(self.epoch)?;
        if t < self.every {
            return None;
        }
        let phase = Duration::from_nanos((t.as_nanos() % self.every.as_nanos()) as u64);
        (phase < self.length).then(|| self.length - phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_distributions() {
        let ms = Duration::from_millis;
        assert_eq!(
            Delay::parse("uniform:5ms:15ms"),
            Ok(Delay::Uniform(ms(5), ms(15)))
        );
        assert_eq!(Delay::parse("exp:10ms"), Ok(Delay::Exp(ms(10))));
        assert_eq!(Delay::parse("fixed:1s"), Ok(Delay::Fixed(ms(1000))));
        assert!(Delay::parse("uniform:15ms:5ms").is_err());
        assert!(Delay::parse("normal:1ms").is_err());
        assert!(Delay::parse("exp").is_err());
        assert!(Delay::parse("exp:10").is_err());
    }

    #[test]
    fn samples_stay_in_range_and_mean_is_right() {
        let mut rng = Rng::new(7);
        let u = Delay::parse("uniform:5ms:15ms").unwrap();
        for _ in 0..1000 {
            let d = u.sample(&mut rng);
            assert!(d >= Duration::from_millis(5) && d <= Duration::from_millis(15));
        }
        let e = Delay::Exp(Duration::from_millis(10));
        let n = 20_000;
        let total: Duration = (0..n).map(|_| e.sample(&mut rng)).sum();
        let mean_ms = total.as_secs_f64() * 1000.0 / n as f64;
        assert!((9.0..11.0).contains(&mean_ms), "mean {mean_ms}");
    }

    #[test]
    fn stall_windows() {
        let epoch = Instant::now();
        let s = Stall {
            epoch,
            every: Duration::from_secs(5),
            length: Duration::from_secs(1),
        };
        let at = |ms| epoch + Duration::from_millis(ms);
        assert_eq!(s.remaining(at(100)), None);
        assert_eq!(s.remaining(at(4_999)), None);
        assert_eq!(s.remaining(at(5_000)), Some(Duration::from_secs(1)));
        assert_eq!(s.remaining(at(5_250)), Some(Duration::from_millis(750)));
        assert_eq!(s.remaining(at(6_000)), None);
        assert_eq!(s.remaining(at(10_500)), Some(Duration::from_millis(500)));
    }
}
