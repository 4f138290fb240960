//! Helpers for tests that check config errors by key path and line (the
//! loader's here, the snapshot builder's in `snapshot`).

use super::{ConfigError, ConfigErrors};

/// The smallest config that loads and builds: one listener, cluster, route.
pub const MINIMAL: &str = r#"
[[listener]]
name = "main"
address = "127.0.0.1:8080"

[[cluster]]
name = "demo"
endpoints = ["127.0.0.1:9001"]

[[route]]
name = "all"
cluster = "demo"
"#;

/// The errors of a config that must not load.
pub fn expect_errors<T>(text: &str, result: Result<T, ConfigErrors>) -> Vec<ConfigError> {
    match result {
        Ok(_) => panic!("expected errors in:\n{text}"),
        Err(ConfigErrors(errors)) => errors,
    }
}

/// (path, line) of each error.
pub fn located(errors: Vec<ConfigError>) -> Vec<(String, Option<usize>)> {
    errors.into_iter().map(|e| (e.path, e.line)).collect()
}

pub fn at(path: &str, line: usize) -> (String, Option<usize>) {
    (path.to_string(), Some(line))
}
