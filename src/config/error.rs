//! Config errors. Each names the key path it is about, so `ringgate check`
//! can print every problem in a file in one pass, each pointing at its key.

use std::fmt;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path such as `route[2].cluster`, `listener[0].address`,
    /// `limits.max_header_bytes`; empty for file-level problems.
    pub path: String,
    pub message: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
            line: None,
        }
    }
}

/// `route[2].cluster (line 41): unknown cluster "foo"`; the parts that are
/// unknown are left out (`line 3: ...` for file-level errors with a line).
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match (self.path.is_empty(), self.line) {
            (false, Some(line)) => write!(f, "{} (line {line}): {}", self.path, self.message),
            (false, None) => write!(f, "{}: {}", self.path, self.message),
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one config, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The key paths of all errors, for tests and tools.
    pub fn paths(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.path.as_str()).collect()
    }
}

/// One error per line, no trailing newline.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_formats() {
        let mut e = ConfigError::new("route[2].cluster", "unknown cluster \"foo\"");
        assert_eq!(e.to_string(), "route[2].cluster: unknown cluster \"foo\"");
        e.line = Some(41);
        assert_eq!(
            e.to_string(),
            "route[2].cluster (line 41): unknown cluster \"foo\""
        );
        let mut f = ConfigError::new("", "expected `=`");
        assert_eq!(f.to_string(), "expected `=`");
        f.line = Some(3);
        assert_eq!(f.to_string(), "line 3: expected `=`");
        let all = ConfigErrors(vec![e, f]);
        assert_eq!(
            all.to_string(),
            "route[2].cluster (line 41): unknown cluster \"foo\"\nline 3: expected `=`"
        );
        assert_eq!(all.paths(), ["route[2].cluster", ""]);
    }
}
