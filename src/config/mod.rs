//! Configuration: the TOML schema (`schema`), units (`units`) and validation.
pub mod schema;
pub mod units;

pub use schema::*;
pub use units::{ByteSize, Duration};
