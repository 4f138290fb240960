//! The HTTPS scenarios' certificate: self-signed for `localhost` and
//! `127.0.0.1`, made fresh for each run into its scratch directory, and the
//! bearer token of the jwt-auth scenario.

use super::confgen::TlsFiles;
use super::scenario::JWT_SECRET;
use std::path::Path;

/// Writes `tls-cert.pem`, `tls-key.pem` and `tls-combined.pem` (both, for
/// haproxy) into `dir`.
pub fn write(dir: &Path) -> Result<TlsFiles, String> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("generating the TLS certificate: {e}"))?;
    let cert = ck.cert.pem();
    let key = ck.signing_key.serialize_pem();
    let files = TlsFiles {
        cert: dir.join("tls-cert.pem"),
        key: dir.join("tls-key.pem"),
        combined: dir.join("tls-combined.pem"),
    };
    let put =
        |p: &Path, text: &str| std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()));
    put(&files.cert, &cert)?;
    put(&files.key, &key)?;
    put(&files.combined, &format!("{cert}{key}"))?;
    Ok(files)
}

/// An HS256 JWT signed with [`JWT_SECRET`], expiring in 2100.
pub fn jwt_token() -> Result<String, String> {
    let claims = serde_json::json!({ "sub": "ringbench", "exp": 4_102_444_800u64 });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .map_err(|e| format!("signing the JWT: {e}"))
}
