//! Configuration: the TOML schema (`schema`), units (`units`), loading
//! (`load`) and semantic validation (`validate`). Every error names the key
//! path it is about and, when known, its line.
mod endpoint;
mod error;
mod keypath;
mod load;
pub mod schema;
mod snapshot;
mod spans;
pub mod units;
mod validate;

pub use endpoint::{parse_endpoint, resolve_endpoint};
pub use error::{ConfigError, ConfigErrors};
pub use load::{load_file, load_snapshot, parse_str};
pub use schema::*;
pub use snapshot::{RouteTarget, Snapshot};
pub use units::{ByteSize, Duration};
pub use validate::validate;
