//! Core state: what the cores share ([`Shared`]) and what one core owns
//! ([`CoreCtx`]: its view of the snapshot, upstream pools and balancers,
//! limiter, TLS acceptors, connections and buffer pools). Below the data
//! plane (`proxy`) and the operations side (`admin`), above the features
//! whose per-core state it holds; `runtime` creates it.

pub mod bufs;
pub mod conns;
mod core;
pub mod fds;
pub mod frames;
mod shared;
pub mod shutdown;

use std::net::SocketAddr;

pub use self::core::{CoreCtx, CoreTls};
pub use self::shared::Shared;

/// One configured listen address, as every worker sees it.
#[derive(Debug, Clone)]
pub struct ListenerInfo {
    pub name: String,
    /// The bound address (port 0 in the config is replaced by the real port).
    pub addr: SocketAddr,
    /// Index in `config.listeners` (and `Snapshot::listener_tls`).
    pub index: usize,
    /// Terminates TLS (fixed at start-up, like the address): forwarded
    /// requests say `proto=https`.
    pub tls: bool,
}
