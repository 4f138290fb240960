//! Reading PEM files named in the config: certificate chains, private keys
//! and CA bundles. Each error is a sentence about the file, for the caller to
//! put behind the key path that named it.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The largest PEM file read: far above any real chain or CA bundle (the
/// whole Mozilla root store is about 250KiB), small enough to never matter.
pub const MAX_PEM_BYTES: u64 = 4 << 20;

/// `path` as written in the config, resolved against the config's directory.
pub fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() || base.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(format!(
            "{} is {} bytes, more than a PEM file of certificates or keys can sensibly be (limit {MAX_PEM_BYTES})",
            path.display(),
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Every certificate in a PEM file, in order; at least one.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate (expected \"-----BEGIN CERTIFICATE-----\" sections)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The one private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => format!(
            "{} holds no private key (expected a \"-----BEGIN PRIVATE KEY-----\", \
             \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" section)",
            path.display()
        ),
        e => format!("{} is not valid PEM: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_the_config_directory() {
        assert_eq!(
            resolve(Path::new("/etc/ringgate"), "certs/a.pem"),
            PathBuf::from("/etc/ringgate/certs/a.pem")
        );
        assert_eq!(
            resolve(Path::new("/etc/ringgate"), "/abs/a.pem"),
            PathBuf::from("/abs/a.pem")
        );
        assert_eq!(resolve(Path::new(""), "a.pem"), PathBuf::from("a.pem"));
    }

    #[test]
    fn errors_name_the_file() {
        let missing = Path::new("/nonexistent/cert.pem");
        assert!(certificates(missing)
            .unwrap_err()
            .contains("/nonexistent/cert.pem"));
        let dir = std::env::temp_dir().join(format!("ringgate-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not pem at all\n").unwrap();
        assert!(certificates(&empty).unwrap_err().contains("no certificate"));
        assert!(private_key(&empty).unwrap_err().contains("no private key"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
