//! The per-core cache of verified tokens: a hot token costs a hash and a
//! byte compare, not a signature check.
//!
//! Two-way set-associative over a fixed slot array (bounded: `entries`
//! slots, never grows): a token's 64-bit hash picks a pair of slots; a new
//! entry takes a free slot of the pair or the older of the two. A hit
//! compares the whole token, so a hash collision can't serve someone else's
//! identity. An entry is never served at or past the token's `exp` (without
//! leeway). Entries are per policy and per config generation: a reload
//! empties the cache (rotated keys, changed policies).

use std::rc::Rc;

use crate::filter::identity::Identity;

struct Slot {
    hash: u64,
    policy: usize,
    token: Box<[u8]>,
    /// Unix seconds; `u64::MAX` for a token without `exp`.
    exp: u64,
    identity: Rc<Identity>,
    stamp: u64,
}

pub struct TokenCache {
    slots: Vec<Option<Slot>>,
    hasher: ahash::RandomState,
    generation: u64,
    stamp: u64,
}

impl TokenCache {
    /// A cache of (about) `entries` slots, rounded up to a power of two; 0
    /// disables it.
    pub fn new(entries: usize) -> TokenCache {
        let n = if entries == 0 {
            0
        } else {
            entries.max(2).next_power_of_two()
        };
        TokenCache {
            slots: (0..n).map(|_| None).collect(),
            hasher: ahash::RandomState::new(),
            generation: 0,
            stamp: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Makes the cache follow config `generation`: a newer one empties it
    /// (and resizes it to `entries`). Returns false when the caller holds an
    /// older snapshot than the cache, which must then not be used.
    pub fn sync(&mut self, generation: u64, entries: usize) -> bool {
        let sized = if entries == 0 {
            0
        } else {
            entries.max(2).next_power_of_two()
        };
        if generation > self.generation
            || (generation == self.generation && sized != self.slots.len())
        {
            if sized != self.slots.len() {
                *self = TokenCache::new(entries);
            } else {
                self.slots.iter_mut().for_each(|s| *s = None);
            }
            self.generation = generation;
        }
        generation == self.generation && !self.slots.is_empty()
    }

    fn pair(&self, hash: u64) -> usize {
        (hash as usize) & (self.slots.len() - 1) & !1
    }

    pub fn get(&mut self, policy: usize, token: &[u8], now: u64) -> Option<Rc<Identity>> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(token);
        let base = self.pair(hash);
        for i in base..base + 2 {
            let slot = self.slots.get_mut(i)?;
            let hit = matches!(slot, Some(s) if s.hash == hash && s.policy == policy && *s.token == *token);
            if !hit {
                continue;
            }
            match slot {
                Some(s) if now < s.exp => return Some(s.identity.clone()),
                _ => {
                    *slot = None;
                    return None;
                }
            }
        }
        None
    }

    /// Remembers a verified token until its `exp` (`None`: no expiry).
    pub fn insert(
        &mut self,
        policy: usize,
        token: &[u8],
        exp: Option<u64>,
        identity: Rc<Identity>,
    ) {
        if self.slots.is_empty() {
            return;
        }
        let hash = self.hasher.hash_one(token);
        let base = self.pair(hash);
        self.stamp += 1;
        let victim = match (&self.slots[base], &self.slots[base + 1]) {
            (None, _) => base,
            (_, None) => base + 1,
            (Some(a), Some(b)) => {
                if a.stamp <= b.stamp {
                    base
                } else {
                    base + 1
                }
            }
        };
        self.slots[victim] = Some(Slot {
            hash,
            policy,
            token: token.into(),
            exp: exp.unwrap_or(u64::MAX),
            identity,
            stamp: self.stamp,
        });
    }

    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> Rc<Identity> {
        Rc::new(Identity {
            consumer: Some(name.into()),
            ..Default::default()
        })
    }

    fn who(c: &mut TokenCache, policy: usize, token: &[u8], now: u64) -> Option<String> {
        c.get(policy, token, now).and_then(|i| i.consumer.clone())
    }

    #[test]
    fn hit_miss_policy_and_expiry() {
        let mut c = TokenCache::new(16);
        assert!(c.sync(1, 16));
        c.insert(0, b"tok-a", Some(100), id("a"));
        assert_eq!(who(&mut c, 0, b"tok-a", 99).as_deref(), Some("a"));
        assert_eq!(who(&mut c, 1, b"tok-a", 99), None, "other policy");
        assert_eq!(who(&mut c, 0, b"tok-b", 99), None);
        assert_eq!(who(&mut c, 0, b"tok-a", 100), None, "never at or past exp");
        assert_eq!(c.len(), 0, "expired entry dropped");
        c.insert(0, b"forever", None, id("f"));
        assert_eq!(
            who(&mut c, 0, b"forever", u64::MAX - 1).as_deref(),
            Some("f")
        );
    }

    #[test]
    fn bounded_and_reset_by_generation() {
        let mut c = TokenCache::new(8);
        assert!(c.sync(1, 8));
        for i in 0..1000u32 {
            c.insert(0, format!("token-{i}").as_bytes(), Some(10), id("x"));
        }
        assert!(c.len() <= 8);
        assert_eq!(c.capacity(), 8);
        // The newest entry is always there.
        assert!(c.get(0, b"token-999", 1).is_some());
        assert!(c.sync(2, 8));
        assert!(c.is_empty(), "a new generation empties the cache");
        assert!(!c.sync(1, 8), "an older snapshot must not use it");
        assert!(c.sync(3, 100));
        assert_eq!(c.capacity(), 128);
        let mut off = TokenCache::new(0);
        assert!(!off.sync(1, 0));
        off.insert(0, b"t", None, id("x"));
        assert!(off.get(0, b"t", 0).is_none());
    }
}
