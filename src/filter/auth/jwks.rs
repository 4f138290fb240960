//! JWK Set files: every key needs a `kid` (tokens pick keys by it) and an
//! algorithm (its own `alg`, else the configured default). The file is read
//! when the config is loaded, so a reload (SIGHUP) picks up rotated keys.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::jwt::{parse_algorithm, JwtKey};

/// Parses a JWK Set. `default_alg` applies to keys without `alg`. Errors
/// name the key by position and `kid`, never its material.
pub fn parse_jwks(text: &str, default_alg: Option<Algorithm>) -> Result<Vec<JwtKey>, String> {
    let set: JwkSet =
        serde_json::from_str(text).map_err(|e| format!("not a valid JWK Set (JSON): {e}"))?;
    if set.keys.is_empty() {
        return Err("the JWK Set has no keys".into());
    }
    let mut keys = Vec::with_capacity(set.keys.len());
    for (i, jwk) in set.keys.iter().enumerate() {
        let kid = jwk.common.key_id.clone();
        let at = |msg: String| format!("keys[{i}] (kid {kid:?}): {msg}");
        let Some(kid) = kid.clone() else {
            return Err(at("has no \"kid\": tokens select JWKS keys by kid".into()));
        };
        if keys
            .iter()
            .any(|k: &JwtKey| k.kid.as_deref() == Some(kid.as_str()))
        {
            return Err(at("duplicate kid".into()));
        }
        let alg = match jwk.common.key_algorithm {
            Some(a) => parse_algorithm(&a.to_string()).map_err(at)?,
            None => default_alg.ok_or_else(|| {
                at("has no \"alg\": add one, or set `algorithm` on this key entry".into())
            })?,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| at(format!("unusable key: {e}")))?;
        keys.push(JwtKey::from_decoding_key(Some(kid), alg, key).map_err(at)?);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::EncodingKey;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/");

    fn jwk(file: &str, alg: Algorithm, kid: Option<&str>) -> serde_json::Value {
        let pem = std::fs::read(format!("{FIX}{file}")).unwrap();
        let enc = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .unwrap();
        let mut jwk = Jwk::from_encoding_key(&enc, alg).unwrap();
        jwk.common.key_id = kid.map(String::from);
        serde_json::to_value(jwk).unwrap()
    }

    #[test]
    fn parses_rsa_ec_and_ed_keys_by_kid() {
        let set = serde_json::json!({"keys": [
            jwk("rsa.key.pem", Algorithm::RS256, Some("r")),
            jwk("ec256.key.pem", Algorithm::ES256, Some("e")),
            jwk("ed25519.key.pem", Algorithm::EdDSA, Some("d")),
        ]});
        let keys = parse_jwks(&set.to_string(), None).unwrap();
        let got: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.clone().unwrap(), k.alg))
            .collect();
        assert_eq!(
            got,
            [
                ("r".to_string(), Algorithm::RS256),
                ("e".to_string(), Algorithm::ES256),
                ("d".to_string(), Algorithm::EdDSA)
            ]
        );
    }

    #[test]
    fn refuses_missing_kid_alg_duplicates_and_junk() {
        let no_kid = serde_json::json!({"keys": [jwk("rsa.key.pem", Algorithm::RS256, None)]});
        assert!(parse_jwks(&no_kid.to_string(), None)
            .unwrap_err()
            .contains("kid"));
        let mut k = jwk("rsa.key.pem", Algorithm::RS256, Some("r"));
        k.as_object_mut().unwrap().remove("alg");
        let no_alg = serde_json::json!({ "keys": [k] });
        assert!(parse_jwks(&no_alg.to_string(), None)
            .unwrap_err()
            .contains("alg"));
        let keys = parse_jwks(&no_alg.to_string(), Some(Algorithm::PS256)).unwrap();
        assert_eq!(keys[0].alg, Algorithm::PS256);
        let wrong = parse_jwks(&no_alg.to_string(), Some(Algorithm::ES256)).unwrap_err();
        assert!(wrong.contains("can't verify"), "{wrong}");
        let dup = serde_json::json!({"keys": [
            jwk("rsa.key.pem", Algorithm::RS256, Some("r")),
            jwk("rsa2.key.pem", Algorithm::RS256, Some("r")),
        ]});
        assert!(parse_jwks(&dup.to_string(), None)
            .unwrap_err()
            .contains("duplicate"));
        assert!(parse_jwks("{\"keys\": []}", None).is_err());
        assert!(parse_jwks("not json", None).is_err());
    }
}
