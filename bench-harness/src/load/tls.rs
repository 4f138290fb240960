//! HTTPS for the load generator: a rustls client config that trusts the
//! certificates of `--cacert`, and the connection stream (plain TCP or TLS
//! over it) the connections read and write.

use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;
use monoio::BufResult;
use monoio_rustls::ClientTlsStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;

/// What every TLS connection of a run needs: the client config (one
/// session cache for the run, so handshakes may resume as real clients'
/// do) and the name sent as SNI and verified.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    pub config: Arc<rustls::ClientConfig>,
    pub name: ServerName<'static>,
}

/// A client config trusting exactly the PEM certificates in `cacert`
/// (a CA, or a self-signed server certificate), offering `http/1.1`;
/// resuming sessions (rustls' default in-memory cache) when `resume`.
pub fn client_config(cacert: &Path, resume: bool) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cacert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("--cacert {}: {e}", cacert.display()))?;
    if certs.is_empty() {
        return Err(format!("--cacert {}: no certificates", cacert.display()));
    }
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("--cacert {}: {e}", cacert.display()))?;
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(config))
}

/// The name to verify the server as: an IP address or a DNS name.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string()).map_err(|_| format!("`{host}` is no valid TLS name"))
}

pub enum Stream {
    Plain(TcpStream),
    Tls {
        stream: Box<ClientTlsStream<TcpStream>>,
        /// The TCP socket under the TLS stream (which doesn't expose it).
        fd: RawFd,
    },
}

impl Stream {
    /// The TLS handshake over a connected socket.
    pub async fn handshake(tcp: TcpStream, tls: &TlsTarget) -> std::io::Result<Stream> {
        let fd = tcp.as_raw_fd();
        let connector = monoio_rustls::TlsConnector::from(tls.config.clone());
        let stream = connector.connect(tls.name.clone(), tcp).await?;
        Ok(Stream::Tls {
            stream: Box::new(stream),
            fd,
        })
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Plain(s) => s.as_raw_fd(),
            Stream::Tls { fd, .. } => *fd,
        }
    }
}

impl AsyncReadRent for Stream {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls { stream, .. } => stream.read(buf).await,
        }
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Stream::Plain(s) => s.readv(buf).await,
            Stream::Tls { stream, .. } => stream.readv(buf).await,
        }
    }
}

impl AsyncWriteRent for Stream {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Stream::Plain(s) => s.write(buf).await,
            Stream::Tls { stream, .. } => stream.write(buf).await,
        }
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Stream::Plain(s) => s.writev(buf).await,
            Stream::Tls { stream, .. } => stream.writev(buf).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush().await,
            Stream::Tls { stream, .. } => stream.flush().await,
        }
    }

    async fn shutdown(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.shutdown().await,
            Stream::Tls { stream, .. } => stream.shutdown().await,
        }
    }
}
