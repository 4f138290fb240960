//! Upstream TLS: a cluster's `rustls::ClientConfig` (trusting the system
//! roots or a configured CA) and the name each endpoint is verified against.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::pem;
use crate::config::{parse_endpoint, ClusterTlsConfig, ConfigError};

/// A TLS cluster's settings, built when the config is loaded.
#[derive(Debug)]
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    /// SNI and verified name per endpoint (config order): `server_name` if
    /// set, else the endpoint's own host.
    names: Vec<ServerName<'static>>,
}

impl ClientTls {
    /// The name to send to and verify for endpoint `i`.
    pub fn server_name(&self, i: usize) -> Option<ServerName<'static>> {
        self.names.get(i).cloned()
    }

    /// `prefix` is the key path of the cluster (`cluster[0]`).
    pub fn build(
        cfg: &ClusterTlsConfig,
        endpoints: &[String],
        base: &Path,
        prefix: &str,
    ) -> Result<ClientTls, Vec<ConfigError>> {
        let errors = super::check::check_cluster_tls(prefix, cfg, endpoints);
        if !errors.is_empty() {
            return Err(errors);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| vec![ConfigError::new(format!("{prefix}.tls"), e.to_string())])?;
        let mut config = if cfg.verify {
            let roots = match &cfg.ca {
                Some(ca) => ca_roots(&pem::resolve(base, ca)),
                None => system_roots(),
            }
            .map_err(|e| {
                let key = if cfg.ca.is_some() { "tls.ca" } else { "tls" };
                vec![ConfigError::new(format!("{prefix}.{key}"), e)]
            })?;
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut names = Vec::with_capacity(endpoints.len());
        for (i, ep) in endpoints.iter().enumerate() {
            let host = match &cfg.server_name {
                Some(name) => name.clone(),
                None => parse_endpoint(ep)
                    .map(|(host, _)| host)
                    .map_err(|e| vec![ConfigError::new(format!("{prefix}.endpoints[{i}]"), e)])?,
            };
            let name = ServerName::try_from(host.clone()).map_err(|_| {
                let key = if cfg.server_name.is_some() {
                    "tls.server_name".to_string()
                } else {
                    format!("endpoints[{i}]")
                };
                vec![ConfigError::new(
                    format!("{prefix}.{key}"),
                    format!("{host:?} is not a DNS name or IP address a certificate can be checked against"),
                )]
            })?;
            names.push(name);
        }
        Ok(ClientTls {
            config: Arc::new(config),
            names,
        })
    }
}

/// Checks a `server_name`: a DNS name or an IP address.
pub fn check_server_name(name: &str) -> Result<(), String> {
    match ServerName::try_from(name) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "invalid server name {name:?}: expected a DNS name such as \"api.internal\" or an IP address"
        )),
    }
}

fn ca_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in pem::certificates(path)?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            format!(
                "certificate {} in {} is not a usable CA certificate: {e}",
                i + 1,
                path.display()
            )
        })?;
    }
    Ok(roots)
}

/// The operating system's trust store (on Linux: /etc/ssl/certs, or
/// SSL_CERT_FILE / SSL_CERT_DIR when set). Unparsable entries are skipped,
/// as every other TLS client on the system skips them.
fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(format!(
            "no system root certificates found{why}; install the ca-certificates package \
             or set tls.ca to a PEM file of the CA to trust"
        ));
    }
    Ok(roots)
}

/// `verify = false`: any certificate is accepted (the handshake signatures
/// are still checked, so the peer holds the key of the certificate it sent).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
