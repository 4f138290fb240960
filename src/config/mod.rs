//! Configuration: the TOML schema (`schema`), units (`units`), loading
//! (`load`) and semantic validation (`validate`). Every error names the key
//! path it is about and, when known, its line.
mod endpoint;
pub mod schema;
pub mod units;

pub use endpoint::{parse_endpoint, resolve_endpoint};
pub use schema::*;
pub use units::{ByteSize, Duration};
