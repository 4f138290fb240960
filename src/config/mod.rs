//! Configuration: the TOML schema (`schema`), units (`units`), loading
//! (`load`) and the checks that need no feature's knowledge (`validate`:
//! ranges, names, addresses, cross-references). Every error names the key
//! path it is about and, when known, its line.
//!
//! A leaf: nothing here knows a feature. What a feature builds from its
//! section (and so validates) is its own `build`, run by `crate::snapshot`.
mod endpoint;
mod error;
mod keypath;
mod load;
pub mod schema;
mod spans;
#[cfg(test)]
pub mod testing;
pub mod units;
mod validate;

pub use endpoint::{parse_endpoint, resolve_endpoint};
pub use error::{ConfigError, ConfigErrors};
pub use load::{load_file, parse_str, Draft};
pub use schema::*;
pub use units::{ByteSize, Duration};
pub use validate::validate;
