//! TLS test support: a throwaway PKI made at test time with rcgen (a CA,
//! leaf certificates, an expired one) written to a temp dir as PEM, rustls
//! clients over std sockets, and a TLS upstream served by a std thread.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A directory of PEM files, removed on drop.
pub struct Pki {
    pub dir: PathBuf,
    ca_key: KeyPair,
    ca_params: CertificateParams,
    /// The CA certificate's PEM file.
    pub ca: PathBuf,
}

/// A leaf certificate: its files and its DER (to compare with what a peer sent).
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new() -> Pki {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ringgate-pki-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ringgate test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, ca_cert.pem()).unwrap();
        Pki {
            dir,
            ca_key,
            ca_params,
            ca,
        }
    }

    /// A leaf for `names`, signed by this CA, written as `<file>.pem` and `<file>.key`.
    pub fn leaf(&self, file: &str, names: &[&str]) -> Leaf {
        self.leaf_with(file, names, |_| {})
    }

    /// A leaf whose validity ended in 2020.
    pub fn expired_leaf(&self, file: &str, names: &[&str]) -> Leaf {
        self.leaf_with(file, names, |p| {
            p.not_before = rcgen::date_time_ymd(2019, 1, 1);
            p.not_after = rcgen::date_time_ymd(2020, 1, 1);
        })
    }

    fn leaf_with(
        &self,
        file: &str,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, file);
        edit(&mut params);
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let leaf = Leaf {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        std::fs::write(&leaf.cert, &leaf.cert_pem).unwrap();
        std::fs::write(&leaf.key, &leaf.key_pem).unwrap();
        leaf
    }

    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        for c in pem_certs(&self.ca) {
            roots.add(c).unwrap();
        }
        roots
    }

    /// A client that trusts this CA, offering `versions` and `alpn`.
    pub fn client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        alpn: &[&str],
    ) -> Arc<ClientConfig> {
        let mut c = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(self.roots())
            .with_no_client_auth();
        c.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Arc::new(c)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn pem_certs(path: &Path) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
}

/// A client that accepts any certificate (to see which one a server sends).
/// `sni = false` sends no server name at all.
pub fn any_cert_client(sni: bool) -> Arc<ClientConfig> {
    let mut c = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert))
        .with_no_client_auth();
    c.enable_sni = sni;
    Arc::new(c)
}

#[derive(Debug)]
struct AnyCert;

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// Connects and completes the handshake (or returns its error).
pub fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    sni: &str,
) -> Result<TlsStream, std::io::Error> {
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(15)))?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let conn = ClientConnection::new(config, name).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// The same response type the plain-HTTP test client returns.
pub use super::client::Response as Resp;

/// Sends a GET and reads one Content-Length response from any stream.
pub fn get(s: &mut (impl Read + Write), path: &str) -> Resp {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .unwrap();
    s.flush().unwrap();
    let mut buf = Vec::new();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(len) = r.parse(&buf).unwrap() {
            let headers: Vec<(String, String)> = r
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let status = r.code.unwrap();
            let n: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().unwrap());
            while buf.len() < len + n {
                read_more(s, &mut buf);
            }
            return Resp {
                status,
                headers,
                head_raw: buf[..len].to_vec(),
                body: buf[len..len + n].to_vec(),
            };
        }
        read_more(s, &mut buf);
    }
}

fn read_more(s: &mut impl Read, buf: &mut Vec<u8>) {
    let mut tmp = [0u8; 16384];
    let n = s.read(&mut tmp).unwrap();
    assert!(n > 0, "closed before a full response");
    buf.extend_from_slice(&tmp[..n]);
}

/// A TLS upstream on 127.0.0.1:0: answers every GET `200 tls hello from
/// <path>` (keep-alive), with the given certificate.
pub struct TlsUpstream {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl TlsUpstream {
    pub fn start(leaf: &Leaf) -> TlsUpstream {
        use rustls::pki_types::pem::PemObject;
        let certs = pem_certs(&leaf.cert);
        let key = PrivateKeyDer::from_pem_file(&leaf.key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(sock) = sock else { continue };
                let config = config.clone();
                std::thread::spawn(move || serve_tls(sock, config));
            }
        });
        TlsUpstream { addr, stop }
    }
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_tls(sock: TcpStream, config: Arc<rustls::ServerConfig>) {
    sock.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut s = StreamOwned::new(conn, sock);
    let mut buf = Vec::new();
    loop {
        let path = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Request::new(&mut headers);
            match r.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let path = r.path.unwrap_or("/").to_string();
                    buf.drain(..len);
                    break path;
                }
                Ok(httparse::Status::Partial) => {
                    let mut tmp = [0u8; 16384];
                    match s.read(&mut tmp) {
                        Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                        _ => return,
                    }
                }
                Err(_) => return,
            }
        };
        let body = format!("tls hello from {path}");
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(resp.as_bytes())
            .and_then(|_| s.flush())
            .is_err()
        {
            return;
        }
    }
}
