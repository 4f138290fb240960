//! API keys per consumer. Keys are stored as SHA-256 digests
//! (`sha256:<hex>`, see `ringgate hash-key`); a presented key is hashed,
//! looked up by digest, and the stored digest compared in constant time.

use ahash::AHashMap;
use subtle::ConstantTimeEq;

pub type Digest = [u8; 32];

pub fn sha256(bytes: &[u8]) -> Digest {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `sha256:<hex>` of `key`: the form `[[consumer]] api_keys` stores.
pub fn hash_key(key: &[u8]) -> String {
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in sha256(key) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parses `sha256:<64 hex digits>` (hex in either case).
pub fn parse_stored(s: &str) -> Result<Digest, String> {
    let hex = s.strip_prefix("sha256:").ok_or_else(|| {
        "expected \"sha256:<64 hex digits>\" (keys are stored hashed: see `ringgate hash-key`)"
            .to_string()
    })?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected \"sha256:<64 hex digits>\" (a SHA-256 digest in hex)".into());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
    }
    Ok(out)
}

/// Digest → consumer index.
#[derive(Debug, Default)]
pub struct KeyTable {
    by_digest: AHashMap<Digest, (Digest, usize)>,
}

impl KeyTable {
    /// Adds a key; `Err(other consumer)` when the digest is already taken.
    pub fn insert(&mut self, digest: Digest, consumer: usize) -> Result<(), usize> {
        match self.by_digest.get(&digest) {
            Some(&(_, other)) => Err(other),
            None => {
                self.by_digest.insert(digest, (digest, consumer));
                Ok(())
            }
        }
    }

    /// The consumer owning `key`, if any.
    pub fn lookup(&self, key: &[u8]) -> Option<usize> {
        let digest = sha256(key);
        let (stored, consumer) = self.by_digest.get(&digest)?;
        bool::from(stored.ct_eq(&digest)).then_some(*consumer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_parse_lookup() {
        let h = hash_key(b"secret-key");
        assert_eq!(h.len(), 7 + 64);
        // The digest of the empty string, as `echo -n | sha256sum` prints it.
        assert_eq!(
            hash_key(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut t = KeyTable::default();
        t.insert(parse_stored(&h).unwrap(), 3).unwrap();
        assert_eq!(t.lookup(b"secret-key"), Some(3));
        assert_eq!(t.lookup(b"secret-kez"), None);
        assert_eq!(t.lookup(b""), None);
        let upper = format!("sha256:{}", h["sha256:".len()..].to_uppercase());
        assert_eq!(t.insert(parse_stored(&upper).unwrap(), 4), Err(3));
    }

    #[test]
    fn stored_form_is_strict() {
        assert!(parse_stored("plaintext").is_err());
        assert!(parse_stored("sha256:abc").is_err());
        assert!(parse_stored(&format!("sha256:{}", "g".repeat(64))).is_err());
        assert!(parse_stored(&format!("md5:{}", "a".repeat(64))).is_err());
        assert_eq!(
            parse_stored(&format!("sha256:{}", "ff".repeat(32))),
            Ok([0xff; 32])
        );
    }
}
