//! Upstream clusters, load balancing and this core's connection pools.
pub mod balance;
pub mod cluster;
pub mod connect_log;
pub mod pool;
pub mod stream;

pub use balance::RoundRobin;
pub use cluster::Cluster;
pub use pool::Pool;
pub use stream::UpstreamStream;
