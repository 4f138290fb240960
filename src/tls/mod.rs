//! TLS with rustls: termination on listeners (`server`) and TLS to upstream
//! clusters (`client`), built from the config when it is loaded (so a reload
//! picks up new certificates), plus PEM file reading (`pem`).
//!
//! Each `build` checks its settings first (`check`), so building is
//! validating. The configs live in the `snapshot::Snapshot`; cores reach them through the
//! snapshot they already load. The I/O side is `monoio_rustls`.
mod check;
pub mod client;
pub mod pem;
pub mod server;

pub use client::ClientTls;
pub use server::ServerTls;
