//! Request → route matching on host, path, method and headers.

mod check;

pub use check::{check_path, PathError};
