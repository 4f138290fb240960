//! What a limit counts by (its key), how a request's key is computed, and
//! the bounded per-core table of keys.

use std::collections::HashMap;
use std::hash::Hasher;
use std::net::IpAddr;

/// One part of a limit's key; a key is one or more parts (`["header:x-tenant", "route"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    ClientIp,
    /// The authenticated consumer (API key owner, JWT subject mapped by auth).
    Consumer,
    /// A claim of the verified JWT, e.g. `sub`.
    Claim(String),
    /// A request header's value (first one when sent twice); name lowercase.
    Header(String),
    /// The matched route (by name, so instances with other route orders agree).
    Route,
}

impl KeyPart {
    /// Parses one config entry: `client_ip`, `consumer`, `route`,
    /// `header:NAME`, `claim:NAME`.
    pub fn parse(s: &str) -> Result<KeyPart, String> {
        let expected =
            "expected \"client_ip\", \"consumer\", \"route\", \"header:NAME\" or \"claim:NAME\"";
        match s {
            "client_ip" => return Ok(KeyPart::ClientIp),
            "consumer" => return Ok(KeyPart::Consumer),
            "route" => return Ok(KeyPart::Route),
            _ => {}
        }
        let (kind, name) = s
            .split_once(':')
            .ok_or_else(|| format!("invalid key part {s:?}: {expected}"))?;
        let token_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        match kind {
            "header" if token_ok => Ok(KeyPart::Header(name.to_ascii_lowercase())),
            "claim" if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(KeyPart::Claim(name.to_string()))
            }
            "header" | "claim" => Err(format!("invalid key part {s:?}: bad {kind} name")),
            _ => Err(format!("invalid key part {s:?}: {expected}")),
        }
    }
}

/// What the proxy knows about a request when it checks its limits. The
/// proxy fills it per request; authentication (when the route has it) fills
/// `consumer` and `claim` before the limit check runs.
pub struct LimitSubject<'a> {
    pub client_ip: IpAddr,
    /// Index of the matched route in the snapshot.
    pub route: usize,
    pub route_name: &'a str,
    /// A request header's first value by (lowercase) name.
    pub header: &'a dyn Fn(&str) -> Option<&'a [u8]>,
    /// The authenticated consumer, when authentication found one.
    pub consumer: Option<&'a str>,
    /// A claim of the verified token, when there is one.
    pub claim: &'a dyn Fn(&str) -> Option<&'a str>,
}

/// What a limit does when a key part names something the request doesn't
/// have (no consumer, no such claim or header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Use the client's IP in place of the missing part (anonymous callers
    /// are still limited, each by address). The default.
    #[default]
    ClientIp,
    /// The limit does not apply to this request.
    Skip,
}

/// A request's key for one limit: a 64-bit SipHash of its parts. The same
/// on every core and every instance running the same build (keys in Redis
/// are named by it), and not something a client can steer into a chosen
/// value cheaply.
pub fn key_of(parts: &[KeyPart], missing: MissingKey, subj: &LimitSubject) -> Option<u64> {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    for part in parts {
        match part {
            KeyPart::ClientIp => ip(&mut h, subj.client_ip),
            KeyPart::Route => {
                h.write_u8(2);
                h.write(subj.route_name.as_bytes());
                h.write_u8(0xff);
            }
            KeyPart::Consumer => match subj.consumer {
                Some(c) => {
                    h.write_u8(3);
                    h.write(c.as_bytes());
                    h.write_u8(0xff);
                }
                None => fallback(&mut h, missing, subj)?,
            },
            KeyPart::Claim(name) => match (subj.claim)(name) {
                Some(v) => {
                    h.write_u8(4);
                    h.write(v.as_bytes());
                    h.write_u8(0xff);
                }
                None => fallback(&mut h, missing, subj)?,
            },
            KeyPart::Header(name) => match (subj.header)(name) {
                Some(v) => {
                    h.write_u8(5);
                    h.write(v);
                    h.write_u8(0xff);
                }
                None => fallback(&mut h, missing, subj)?,
            },
        }
    }
    Some(h.finish())
}

fn ip(h: &mut impl Hasher, ip: IpAddr) {
    h.write_u8(1);
    match ip {
        IpAddr::V4(v4) => h.write(&v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => h.write(&v4.octets()),
            None => h.write(&v6.octets()),
        },
    }
}

fn fallback(h: &mut impl Hasher, missing: MissingKey, subj: &LimitSubject) -> Option<()> {
    match missing {
        MissingKey::Skip => None,
        MissingKey::ClientIp => {
            // Tagged apart from a real client_ip part: `["consumer"]` falling
            // back is its own budget, not the per-IP limit's.
            h.write_u8(6);
            ip(h, subj.client_ip);
            Some(())
        }
    }
}

/// A map from key to per-key state holding at most `max_keys` entries, in
/// two generations: new keys go into the young one; when it is full (or
/// older than the idle timeout, see `rotate`), the old generation is
/// dropped and the young one becomes old. A key found in the old
/// generation moves back to the young one. So memory is bounded by
/// `max_keys` whatever the flood of distinct keys, every operation is O(1)
/// (a rotation's cost is paid by the inserts that filled the generation),
/// and a key idle for two generations is forgotten.
pub struct KeyTable<V> {
    young: HashMap<u64, V, ahash::RandomState>,
    old: HashMap<u64, V, ahash::RandomState>,
    generation_cap: usize,
    pub rotated_at: u64,
}

impl<V> KeyTable<V> {
    pub fn new(max_keys: usize) -> Self {
        KeyTable {
            young: HashMap::default(),
            old: HashMap::default(),
            generation_cap: (max_keys / 2).max(1),
            rotated_at: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for `key`, created with `make` if absent. Entries an
    /// insert evicts (the whole old generation, when the young one is full)
    /// are passed to `evicted`, e.g. to return their leases.
    pub fn entry(
        &mut self,
        key: u64,
        make: impl FnOnce() -> V,
        mut evicted: impl FnMut(u64, V),
    ) -> &mut V {
        if self.young.contains_key(&key) {
            return self.young.get_mut(&key).expect("present");
        }
        let v = self.old.remove(&key).unwrap_or_else(make);
        if self.young.len() >= self.generation_cap {
            let young = std::mem::take(&mut self.young);
            for (k, old) in std::mem::replace(&mut self.old, young) {
                evicted(k, old);
            }
        }
        self.young.entry(key).or_insert(v)
    }

    pub fn get_mut(&mut self, key: u64) -> Option<&mut V> {
        match self.young.get_mut(&key) {
            Some(v) => Some(v),
            None => self.old.get_mut(&key),
        }
    }

    /// Makes the young generation the old one and returns the old
    /// generation's entries (dropped from the table).
    pub fn rotate(&mut self, now: u64) -> HashMap<u64, V, ahash::RandomState> {
        self.rotated_at = now;
        let young = std::mem::take(&mut self.young);
        std::mem::replace(&mut self.old, young)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&u64, &mut V)> {
        self.young.iter_mut().chain(self.old.iter_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(
        header: &'a dyn Fn(&str) -> Option<&'a [u8]>,
        claim: &'a dyn Fn(&str) -> Option<&'a str>,
        consumer: Option<&'a str>,
    ) -> LimitSubject<'a> {
        LimitSubject {
            client_ip: "10.0.0.1".parse().unwrap(),
            route: 0,
            route_name: "r",
            header,
            consumer,
            claim,
        }
    }

    #[test]
    fn parses_key_parts() {
        assert_eq!(KeyPart::parse("client_ip"), Ok(KeyPart::ClientIp));
        assert_eq!(
            KeyPart::parse("header:X-Tenant"),
            Ok(KeyPart::Header("x-tenant".into()))
        );
        assert_eq!(
            KeyPart::parse("claim:sub"),
            Ok(KeyPart::Claim("sub".into()))
        );
        assert!(KeyPart::parse("header:").is_err());
        assert!(KeyPart::parse("header:a b").is_err());
        assert!(KeyPart::parse("ip").is_err());
        assert!(KeyPart::parse("cookie:x").is_err());
    }

    #[test]
    fn keys_differ_by_part_and_fall_back_or_skip() {
        let h = |n: &str| (n == "x-tenant").then_some(&b"acme"[..]);
        let no_h = |_: &str| None;
        let c = |n: &str| (n == "sub").then_some("alice");
        let no_c = |_: &str| None;
        let with = subject(&h, &c, Some("app1"));
        let without = subject(&no_h, &no_c, None);
        let ip = [KeyPart::ClientIp];
        let tenant = [KeyPart::Header("x-tenant".into())];
        let consumer = [KeyPart::Consumer];
        let sub = [KeyPart::Claim("sub".into())];
        let m = MissingKey::ClientIp;
        let k = |parts: &[KeyPart], s: &LimitSubject| key_of(parts, m, s).unwrap();
        assert_eq!(k(&ip, &with), k(&ip, &without));
        assert_ne!(k(&tenant, &with), k(&tenant, &without));
        assert_ne!(k(&consumer, &with), k(&sub, &with));
        // A missing part falls back to the IP, as its own budget.
        assert_eq!(k(&consumer, &without), k(&sub, &without));
        assert_ne!(k(&consumer, &without), k(&ip, &without));
        assert_eq!(key_of(&consumer, MissingKey::Skip, &without), None);
        assert!(key_of(&consumer, MissingKey::Skip, &with).is_some());
        // Combinations are ordered and distinct from their parts.
        let both = [KeyPart::Header("x-tenant".into()), KeyPart::Route];
        assert_ne!(k(&both, &with), k(&tenant, &with));
    }

    #[test]
    fn table_is_bounded_and_keeps_busy_keys() {
        let mut t: KeyTable<u32> = KeyTable::new(10);
        let mut evicted = 0;
        for key in 0..1000u64 {
            *t.entry(key, || 0, |_, _| evicted += 1) += 1;
            // A busy key touched between every insert survives.
            *t.entry(u64::MAX, || 0, |_, _| evicted += 1) += 1;
            assert!(t.len() <= 10, "{}", t.len());
        }
        assert_eq!(*t.get_mut(u64::MAX).unwrap(), 1000);
        assert!(evicted >= 980, "{evicted}");
        let n = t.len();
        let a = t.rotate(0).len();
        let b = t.rotate(0).len();
        assert_eq!(a + b, n);
        assert!(t.is_empty());
    }
}
