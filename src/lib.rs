//! ringgate: a thread-per-core io_uring API gateway.
//!
//! See `docs/ARCHITECTURE.md` for the architecture. Module map:
//! - [`config`]: TOML schema, loading with key paths and lines, the checks
//!   that need no feature (a leaf: it uses no other module).
//! - [`snapshot`]: builds the immutable `Snapshot` the cores read by running
//!   every feature's `build` (building is validating).
//! - [`runtime`]: pinned worker threads, monoio runtimes, listeners, signals, drain.
//! - [`http`]: the hand-written, strict HTTP/1.1 codec (pure, no I/O).
//! - [`proxy`]: the per-connection state machine.
//! - [`route`]: request → route matching.
//! - [`filter`]: IP rules, authentication, authorization, identity headers.
//! - [`upstream`]: clusters, load balancing and per-core connection pools.
//! - [`ratelimit`]: rate-limit algorithms, per-core limiters, lease broker, Redis.
//! - [`stats`]: per-core counters and their Prometheus exposition.
//! - [`tls`]: rustls termination and upstream TLS, built with the snapshot.
//! - [`admin`]: the admin listener (`/metrics`, `/healthz`).
#![deny(unsafe_code)]

pub mod admin;
pub mod config;
pub mod context;
pub mod filter;
pub mod http;
pub mod proxy;
pub mod ratelimit;
pub mod route;
pub mod runtime;
pub mod snapshot;
pub mod stats;
pub mod sys;
pub mod tls;
pub mod upstream;
