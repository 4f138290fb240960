//! SO_REUSEPORT listeners: one socket per worker per configured address, so
//! the kernel spreads connections over the cores with no shared accept queue.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// One configured listen address, as every worker sees it.
#[derive(Debug, Clone)]
pub struct ListenerInfo {
    pub name: String,
    /// Position in the config's `[[listener]]` list.
    pub index: usize,
    /// The bound address (port 0 in the config is replaced by the real port).
    pub addr: SocketAddr,
}

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
}
