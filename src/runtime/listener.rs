//! SO_REUSEPORT listeners: one socket per worker per configured address, so
//! the kernel spreads connections over the cores with no shared accept queue.

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

fn bind_one(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        // An IPv6 address means IPv6 only; v4 gets its own listener entry.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

/// Binds `workers` sockets on `addr`. With port 0 the first socket gets a port
/// from the OS and the rest share it, so all workers serve the same address.
pub fn bind_reuseport(
    addr: SocketAddr,
    backlog: u32,
    workers: usize,
) -> io::Result<(SocketAddr, Vec<TcpListener>)> {
    let first = bind_one(addr, backlog)?;
    let bound = first.local_addr()?;
    let mut sockets = Vec::with_capacity(workers);
    sockets.push(first);
    for _ in 1..workers {
        sockets.push(bind_one(bound, backlog)?);
    }
    Ok((bound, sockets))
}

/// How long the probe for an existing listener waits for its connect: a
/// local listener answers at once, anything else is refused at once.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Held for as long as the gateway serves an address: the advisory lock on
/// the address's lock file (released by the kernel when the process exits).
#[derive(Debug)]
pub struct AddressClaim {
    _lock: Option<File>,
}

/// Makes sure nobody serves `addr` yet, so SO_REUSEPORT cannot silently
/// split its connections between this process and another (a second
/// `ringgate run` of the same config would otherwise start without a word).
/// Two checks: an advisory lock per address, which catches two gateways
/// starting at the same moment, and a connect to the address, which catches
/// any other listener there. Port 0 asks for a fresh port, which no one
/// else can hold, so it is not checked.
pub fn claim_address(addr: SocketAddr) -> io::Result<AddressClaim> {
    if addr.port() == 0 {
        return Ok(AddressClaim { _lock: None });
    }
    let lock = lock_address(addr)?;
    let probe = probe_addr(addr);
    if TcpStream::connect_timeout(&probe, PROBE_CONNECT_TIMEOUT).is_ok() {
        return Err(in_use(&format!(
            "something is already listening on {probe} (another ringgate?)"
        )));
    }
    Ok(AddressClaim { _lock: lock })
}

fn in_use(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "{what}; with SO_REUSEPORT both would get a share of its connections. \
             Stop the other process, or pass --allow-shared-port to share the address on purpose"
        ),
    )
}

/// The address a connect should try: a wildcard listener is reachable on
/// loopback.
fn probe_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// The lock file for `addr`: in `$XDG_RUNTIME_DIR` (private to the user)
/// when set, else the temporary directory.
fn lock_path(addr: SocketAddr) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    // IPv6 colons are fine in file names but awkward in shells.
    let ip = addr.ip().to_string().replace(':', "_");
    dir.join(format!("ringgate-{ip}-{}.lock", addr.port()))
}

/// Locks `addr`'s lock file. A file this user may not open (another user's,
/// in a shared temporary directory) gives no lock, only the connect probe:
/// the kernel refuses SO_REUSEPORT sharing between users anyway.
fn lock_address(addr: SocketAddr) -> io::Result<Option<File>> {
    let path = lock_path(addr);
    let file = match File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Ok(None),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    if crate::sys::try_lock_exclusive(file.as_raw_fd())? {
        Ok(Some(file))
    } else {
        Err(in_use(&format!(
            "another ringgate is serving {addr} (it holds {})",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_is_shared_by_all_workers() {
        let (bound, socks) = bind_reuseport("127.0.0.1:0".parse().unwrap(), 16, 3).unwrap();
        assert_ne!(bound.port(), 0);
        assert_eq!(socks.len(), 3);
        for s in &socks {
            assert_eq!(s.local_addr().unwrap(), bound);
        }
        // Every socket accepts: connect until each has seen a connection is
        // kernel-hash dependent, so just check the address is connectable.
        std::net::TcpStream::connect(bound).unwrap();
    }

    #[test]
    fn claim_refuses_an_address_with_a_listener() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let err = claim_address(taken.local_addr().unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains("--allow-shared-port"), "{err}");
    }

    #[test]
    fn claim_refuses_an_address_already_claimed() {
        // A free port: bound once for a number, then released.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let first = claim_address(addr).unwrap();
        let err = claim_address(addr).unwrap_err();
        assert!(err.to_string().contains("holds"), "{err}");
        drop(first);
        claim_address(addr).unwrap();
    }

    #[test]
    fn wildcard_addresses_are_probed_on_loopback() {
        assert_eq!(
            probe_addr("0.0.0.0:80".parse().unwrap()),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("[::]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("10.1.2.3:80".parse().unwrap()),
            "10.1.2.3:80".parse().unwrap()
        );
    }
}
