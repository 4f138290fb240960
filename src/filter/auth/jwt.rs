//! JWT verification with `jsonwebtoken`. Each key verifies exactly one
//! algorithm, fixed by config: a token whose header `alg` differs from its
//! key's is refused before any signature check (no `alg: none`, no
//! HS256-signed-with-the-RSA-public-key confusion). The library checks the
//! signature only; `exp`, `nbf`, `iss` and `aud` are checked here against a
//! `now` the caller passes, so the same rule serves the per-core cache.

use std::str::FromStr;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::AuthError;

/// One verification key with its pinned algorithm.
pub struct JwtKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKey {
    // Never prints key material (an HMAC secret is a secret).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// `HS256` ... `EdDSA`; anything else (`none` above all) is an error.
pub fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    if s.eq_ignore_ascii_case("none") {
        return Err("algorithm \"none\" is never accepted: tokens must be signed".into());
    }
    Algorithm::from_str(s).map_err(|_| {
        format!(
            "unknown algorithm {s:?}: expected one of HS256, HS384, HS512, RS256, RS384, RS512, \
             PS256, PS384, PS512, ES256, ES384, EdDSA"
        )
    })
}

/// The shortest HMAC secret accepted: the hash's output size (RFC 7518 §3.2).
pub fn min_secret_bytes(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

impl JwtKey {
    /// An HMAC key. The error never includes the secret.
    pub fn hmac(kid: Option<String>, alg: Algorithm, secret: &[u8]) -> Result<JwtKey, String> {
        if alg.family() != AlgorithmFamily::Hmac {
            return Err(format!(
                "a secret can only verify HS256/HS384/HS512, not {alg:?}"
            ));
        }
        let min = min_secret_bytes(alg);
        if secret.len() < min {
            return Err(format!(
                "the secret is {} bytes; {alg:?} needs at least {min}",
                secret.len()
            ));
        }
        Ok(JwtKey::new(kid, alg, DecodingKey::from_secret(secret)))
    }

    /// A public key in PEM whose type must fit `alg`.
    pub fn from_pem(kid: Option<String>, alg: Algorithm, pem: &[u8]) -> Result<JwtKey, String> {
        let key = match alg.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => {
                return Err(format!(
                    "{alg:?} is an HMAC algorithm: give its secret with secret_env, not a PEM file"
                ))
            }
        }
        .map_err(|e| format!("not a valid {:?} public key in PEM: {e}", alg.family()))?;
        Ok(JwtKey::new(kid, alg, key))
    }

    pub fn from_decoding_key(
        kid: Option<String>,
        alg: Algorithm,
        key: DecodingKey,
    ) -> Result<JwtKey, String> {
        if key.family() != alg.family() {
            return Err(format!("a {:?} key can't verify {alg:?}", key.family()));
        }
        Ok(JwtKey::new(kid, alg, key))
    }

    fn new(kid: Option<String>, alg: Algorithm, key: DecodingKey) -> JwtKey {
        // Signature only: time and audience rules are ours (see module docs).
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.required_spec_claims.clear();
        JwtKey {
            kid,
            alg,
            key,
            validation,
        }
    }
}

/// The claim checks of one policy.
#[derive(Debug, Clone, Default)]
pub struct ClaimRules {
    pub issuers: Vec<String>,
    pub audiences: Vec<String>,
    pub leeway_secs: u64,
    pub require_exp: bool,
}

/// A verified token's payload and expiry.
pub struct Verified {
    pub claims: Map<String, Value>,
    /// `exp` in Unix seconds, if the token has one.
    pub exp: Option<u64>,
}

/// Verifies `token` with `keys` at `now` (Unix seconds).
pub fn verify(
    keys: &[JwtKey],
    rules: &ClaimRules,
    token: &[u8],
    now: u64,
) -> Result<Verified, AuthError> {
    // `decode_header` refuses an unknown `alg` (including "none") and a
    // `crit` that is not an array of strings.
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
    // RFC 7515 §4.1.11: the extensions `crit` names must be understood or
    // the token refused. We understand none, so any `crit` (an empty list
    // too, which the RFC forbids) is refused.
    if header.crit.is_some() {
        return Err(AuthError::CriticalExtension);
    }
    let mut candidates = keys.iter().filter(|k| match &header.kid {
        Some(kid) => k.kid.as_deref() == Some(kid.as_str()),
        None => k.kid.is_none() || keys.len() == 1,
    });
    let mut last = AuthError::UnknownKey;
    let data = loop {
        let Some(key) = candidates.next() else {
            return Err(last);
        };
        if key.alg != header.alg {
            last = AuthError::AlgorithmMismatch;
            continue;
        }
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &key.validation) {
            Ok(data) => break data,
            Err(_) => last = AuthError::InvalidToken,
        }
    };
    let claims = data.claims;
    let exp = check_time(&claims, rules, now)?;
    if !rules.issuers.is_empty() {
        let ok =
            matches!(claims.get("iss"), Some(Value::String(iss)) if rules.issuers.contains(iss));
        if !ok {
            return Err(AuthError::InvalidIssuer);
        }
    }
    if !rules.audiences.is_empty() {
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => rules.audiences.contains(a),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| matches!(a, Value::String(a) if rules.audiences.contains(a))),
            _ => false,
        };
        if !ok {
            return Err(AuthError::InvalidAudience);
        }
    }
    Ok(Verified { claims, exp })
}

/// A NumericDate claim as whole seconds (fractions dropped, negatives 0).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(v), _) => Ok(Some(v)),
            (None, Some(f)) if f.is_finite() => Ok(Some(if f <= 0.0 { 0 } else { f as u64 })),
            _ => Err(AuthError::InvalidToken),
        },
        Some(_) => Err(AuthError::InvalidToken),
    }
}

fn check_time(
    claims: &Map<String, Value>,
    rules: &ClaimRules,
    now: u64,
) -> Result<Option<u64>, AuthError> {
    let exp = numeric_date(claims, "exp")?;
    match exp {
        None if rules.require_exp => return Err(AuthError::InvalidToken),
        Some(exp) if now >= exp.saturating_add(rules.leeway_secs) => {
            return Err(AuthError::Expired)
        }
        _ => {}
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > now.saturating_add(rules.leeway_secs) {
            return Err(AuthError::NotYetValid);
        }
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/");
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_800_000_000;

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIX}{name}")).unwrap()
    }

    /// (algorithm, signing key, verification key) for every algorithm.
    fn pairs() -> Vec<(Algorithm, EncodingKey, JwtKey)> {
        let mut out = Vec::new();
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            out.push((
                alg,
                EncodingKey::from_secret(SECRET),
                JwtKey::hmac(None, alg, SECRET).unwrap(),
            ));
        }
        for alg in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            out.push((
                alg,
                EncodingKey::from_rsa_pem(&read("rsa.key.pem")).unwrap(),
                JwtKey::from_pem(None, alg, &read("rsa.pub.pem")).unwrap(),
            ));
        }
        for (alg, name) in [(Algorithm::ES256, "ec256"), (Algorithm::ES384, "ec384")] {
            out.push((
                alg,
                EncodingKey::from_ec_pem(&read(&format!("{name}.key.pem"))).unwrap(),
                JwtKey::from_pem(None, alg, &read(&format!("{name}.pub.pem"))).unwrap(),
            ));
        }
        out.push((
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&read("ed25519.key.pem")).unwrap(),
            JwtKey::from_pem(None, Algorithm::EdDSA, &read("ed25519.pub.pem")).unwrap(),
        ));
        out
    }

    fn rules() -> ClaimRules {
        ClaimRules {
            issuers: vec!["https://issuer.test".into()],
            audiences: vec!["api".into()],
            leeway_secs: 5,
            require_exp: true,
        }
    }

    fn claims() -> Value {
        json!({"sub": "u1", "iss": "https://issuer.test", "aud": "api", "exp": NOW + 60})
    }

    fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
        encode(&Header::new(alg), claims, key).unwrap()
    }

    #[test]
    fn every_algorithm_round_trips() {
        for (alg, enc, key) in pairs() {
            let token = sign(alg, &enc, &claims());
            let v = verify(std::slice::from_ref(&key), &rules(), token.as_bytes(), NOW)
                .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
            assert_eq!(v.claims["sub"], "u1", "{alg:?}");
            assert_eq!(v.exp, Some(NOW + 60));
            // Tampered payload: signature no longer matches.
            let mut parts: Vec<&str> = token.split('.').collect();
            let other = sign(alg, &enc, &json!({"sub": "admin", "exp": NOW + 60}));
            let forged_payload = other.split('.').nth(1).unwrap().to_string();
            parts[1] = &forged_payload;
            let tampered = parts.join(".");
            assert_eq!(
                verify(
                    std::slice::from_ref(&key),
                    &rules(),
                    tampered.as_bytes(),
                    NOW
                )
                .err(),
                Some(AuthError::InvalidToken),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn header_alg_must_equal_the_keys_alg() {
        let rs = JwtKey::from_pem(None, Algorithm::RS256, &read("rsa.pub.pem")).unwrap();
        // HS256 "signed" with the RSA public key bytes as secret: the classic confusion.
        let forged = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(&read("rsa.pub.pem")),
            &claims(),
        );
        assert_eq!(
            verify(&[rs], &rules(), forged.as_bytes(), NOW).err(),
            Some(AuthError::AlgorithmMismatch)
        );
        // Same family, other algorithm.
        let hs = JwtKey::hmac(None, Algorithm::HS256, SECRET).unwrap();
        let t = sign(
            Algorithm::HS512,
            &EncodingKey::from_secret(SECRET),
            &claims(),
        );
        assert_eq!(
            verify(&[hs], &rules(), t.as_bytes(), NOW).err(),
            Some(AuthError::AlgorithmMismatch)
        );
    }

    #[test]
    fn alg_none_and_garbage_are_invalid() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let hs = JwtKey::hmac(None, Algorithm::HS256, SECRET).unwrap();
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"None"}"#,
            r#"{}"#,
        ] {
            let t = format!(
                "{}.{}.",
                b64.encode(header),
                b64.encode(claims().to_string())
            );
            assert_eq!(
                verify(std::slice::from_ref(&hs), &rules(), t.as_bytes(), NOW).err(),
                Some(AuthError::InvalidToken),
                "{header}"
            );
        }
        for t in ["", "a", "a.b", "a.b.c", "...", "\u{ff}.\u{0}.x"] {
            assert!(verify(std::slice::from_ref(&hs), &rules(), t.as_bytes(), NOW).is_err());
        }
        assert!(parse_algorithm("none").is_err());
        assert!(parse_algorithm("HS257").is_err());
        assert_eq!(parse_algorithm("EdDSA"), Ok(Algorithm::EdDSA));
    }

    #[test]
    fn a_crit_header_is_refused() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let key = || vec![JwtKey::hmac(None, Algorithm::HS256, SECRET).unwrap()];
        let enc = EncodingKey::from_secret(SECRET);
        for crit in [vec!["exp-ext".to_string()], vec!["b64".to_string()], vec![]] {
            let mut h = Header::new(Algorithm::HS256);
            h.crit = Some(crit.clone());
            let t = encode(&h, &claims(), &enc).unwrap();
            assert_eq!(
                verify(&key(), &rules(), t.as_bytes(), NOW).err(),
                Some(AuthError::CriticalExtension),
                "{crit:?}"
            );
        }
        // The same token without crit passes: the refusal is about crit alone.
        let plain = sign(Algorithm::HS256, &enc, &claims());
        assert!(verify(&key(), &rules(), plain.as_bytes(), NOW).is_ok());
        // Not a list of names: a malformed header, refused as such.
        let signature = plain.rsplit('.').next().unwrap();
        for header in [
            r#"{"alg":"HS256","crit":"exp-ext"}"#,
            r#"{"alg":"HS256","crit":{"x":1}}"#,
            r#"{"alg":"HS256","crit":[1]}"#,
        ] {
            let t = format!(
                "{}.{}.{signature}",
                b64.encode(header),
                b64.encode(claims().to_string())
            );
            assert_eq!(
                verify(&key(), &rules(), t.as_bytes(), NOW).err(),
                Some(AuthError::InvalidToken),
                "{header}"
            );
        }
    }

    #[test]
    fn time_issuer_and_audience() {
        let hs = || vec![JwtKey::hmac(None, Algorithm::HS256, SECRET).unwrap()];
        let enc = EncodingKey::from_secret(SECRET);
        let check = |c: Value| {
            verify(
                &hs(),
                &rules(),
                sign(Algorithm::HS256, &enc, &c).as_bytes(),
                NOW,
            )
        };
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            c
        };
        assert_eq!(
            check(with("exp", json!(NOW - 5))).err(),
            Some(AuthError::Expired)
        );
        assert!(
            check(with("exp", json!(NOW - 4))).is_ok(),
            "inside the leeway"
        );
        assert_eq!(
            check(with("nbf", json!(NOW + 6))).err(),
            Some(AuthError::NotYetValid)
        );
        assert!(check(with("nbf", json!(NOW + 5))).is_ok());
        assert_eq!(
            check(with("exp", json!("soon"))).err(),
            Some(AuthError::InvalidToken)
        );
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(no_exp.clone()).err(), Some(AuthError::InvalidToken));
        let lax = ClaimRules {
            require_exp: false,
            ..rules()
        };
        let t = sign(Algorithm::HS256, &enc, &no_exp);
        assert_eq!(verify(&hs(), &lax, t.as_bytes(), NOW).unwrap().exp, None);
        assert_eq!(
            check(with("iss", json!("evil"))).err(),
            Some(AuthError::InvalidIssuer)
        );
        assert_eq!(
            check(with("aud", json!("other"))).err(),
            Some(AuthError::InvalidAudience)
        );
        assert!(check(with("aud", json!(["x", "api"]))).is_ok());
        assert_eq!(
            check(with("aud", json!(7))).err(),
            Some(AuthError::InvalidAudience)
        );
    }

    #[test]
    fn keys_are_chosen_by_kid() {
        let enc = EncodingKey::from_secret(SECRET);
        let other = b"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        let keys = vec![
            JwtKey::hmac(Some("a".into()), Algorithm::HS256, other).unwrap(),
            JwtKey::hmac(Some("b".into()), Algorithm::HS256, SECRET).unwrap(),
        ];
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("b".into());
        let t = encode(&h, &claims(), &enc).unwrap();
        assert!(verify(&keys, &rules(), t.as_bytes(), NOW).is_ok());
        h.kid = Some("a".into());
        let t = encode(&h, &claims(), &enc).unwrap();
        assert_eq!(
            verify(&keys, &rules(), t.as_bytes(), NOW).err(),
            Some(AuthError::InvalidToken)
        );
        h.kid = Some("zzz".into());
        let t = encode(&h, &claims(), &enc).unwrap();
        assert_eq!(
            verify(&keys, &rules(), t.as_bytes(), NOW).err(),
            Some(AuthError::UnknownKey)
        );
        // No kid, and every key has one: nothing to pick.
        let t = sign(Algorithm::HS256, &enc, &claims());
        assert_eq!(
            verify(&keys, &rules(), t.as_bytes(), NOW).err(),
            Some(AuthError::UnknownKey)
        );
    }

    #[test]
    fn key_constructors_refuse_mismatches_without_leaking_secrets() {
        let e = JwtKey::hmac(None, Algorithm::HS256, b"short-secret-value").unwrap_err();
        assert!(!e.contains("short-secret-value"), "{e}");
        assert!(JwtKey::hmac(None, Algorithm::RS256, SECRET).is_err());
        assert!(JwtKey::from_pem(None, Algorithm::ES256, &read("rsa.pub.pem")).is_err());
        assert!(JwtKey::from_pem(None, Algorithm::HS256, &read("rsa.pub.pem")).is_err());
        assert!(JwtKey::from_pem(None, Algorithm::RS256, b"not pem").is_err());
        let dbg = format!(
            "{:?}",
            JwtKey::hmac(None, Algorithm::HS256, SECRET).unwrap()
        );
        assert!(!dbg.contains("0123456789"), "{dbg}");
    }
}
