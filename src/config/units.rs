//! Human-friendly config units: durations ("250ms", "10s") and sizes ("64KiB").
//!
//! Both deserialize from a string with a unit, and sizes also from a bare
//! integer (bytes). Parsing is strict: no negative, fractional or overflowing
//! values, and the unit is mandatory for durations so "10" can't silently mean
//! ten milliseconds to one reader and ten seconds to another.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration written with a unit: `ms`, `s`, `m` or `h` (e.g. `"250ms"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub std::time::Duration);

/// A size in bytes, written as an integer or with a unit: `B`, `KiB`, `MiB`,
/// `GiB` (also `KB`/`MB`/`GB` as decimal multiples).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ByteSize(pub u64);

impl Duration {
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl ByteSize {
    pub const fn kib(n: u64) -> Self {
        ByteSize(n * 1024)
    }
    pub const fn mib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024)
    }
    pub const fn gib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024 * 1024)
    }
    /// The size as a `usize`, saturating on 32-bit targets.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// Splits "250ms" into (250, "ms"); `None` when there are no leading digits.
fn split_number(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n = s[..digits].parse::<u64>().ok()?;
    Some((n, s[digits..].trim()))
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = split_number(s).ok_or_else(|| {
        format!("invalid duration {s:?}: expected a whole number with a unit, e.g. \"250ms\" or \"10s\"")
    })?;
    let ms_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "invalid duration {s:?}: a unit is required (ms, s, m, h)"
            ))
        }
        other => {
            return Err(format!(
                "invalid duration {s:?}: unknown unit {other:?} (use ms, s, m or h)"
            ))
        }
    };
    let ms = n
        .checked_mul(ms_per_unit)
        .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
    Ok(Duration::from_millis(ms))
}

pub fn parse_size(s: &str) -> Result<ByteSize, String> {
    let s = s.trim();
    let (n, unit) = split_number(s).ok_or_else(|| {
        format!("invalid size {s:?}: expected a whole number with an optional unit, e.g. \"64KiB\"")
    })?;
    let mult: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, KB, MB or GB)"
            ))
        }
    };
    n.checked_mul(mult)
        .map(ByteSize)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\" or \"10s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as \"64KiB\" or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_size(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("invalid size {v}: must not be negative")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}ms", self.0.as_millis())
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}B", self.0)
    }
}

/// `16KiB`, `1MiB`, or `1000B` when no binary unit divides it.
pub fn fmt_size(size: ByteSize) -> String {
    let n = size.0;
    for (unit, mult) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n != 0 && n.is_multiple_of(mult) {
            return format!("{}{unit}", n / mult);
        }
    }
    format!("{n}B")
}

/// `2h`, `90s`, `250ms`: the largest unit that divides it exactly.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.get().as_millis();
    for (unit, mult) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1000)] {
        if ms != 0 && ms.is_multiple_of(mult) {
            return format!("{}{unit}", ms / mult);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration(" 0ms ").unwrap(), Duration::from_millis(0));
        for bad in [
            "",
            "10",
            "ms",
            "-1s",
            "1.5s",
            "10 parsecs",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB").unwrap(), ByteSize(65536));
        assert_eq!(parse_size("1MiB").unwrap(), ByteSize(1 << 20));
        assert_eq!(parse_size("2GiB").unwrap(), ByteSize(2 << 30));
        assert_eq!(parse_size("10KB").unwrap(), ByteSize(10_000));
        assert_eq!(parse_size("512").unwrap(), ByteSize(512));
        assert_eq!(parse_size("512B").unwrap(), ByteSize(512));
        for bad in [
            "",
            "KiB",
            "-5",
            "1.5MiB",
            "3 bananas",
            "99999999999999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn deserialize_from_toml() {
        #[derive(Deserialize)]
        struct T {
            d: Duration,
            s: ByteSize,
            n: ByteSize,
        }
        let t: T = toml::from_str("d = \"5s\"\ns = \"1KiB\"\nn = 7").unwrap();
        assert_eq!(t.d, Duration::from_secs(5));
        assert_eq!(t.s, ByteSize(1024));
        assert_eq!(t.n, ByteSize(7));
        assert!(toml::from_str::<T>("d = 5\ns = \"1KiB\"\nn = 7").is_err());
        assert!(toml::from_str::<T>("d = \"5s\"\ns = -1\nn = 7").is_err());
    }
}
