//! Loading a config file and reporting every problem in it, not just the first.
//!
//! serde stops at the first error, so the text is parsed into a plain
//! `toml::Table` first and each section (`[server]`, each `[[route]]`, ...)
//! is deserialized on its own: one bad route can't hide a bad listener.
//! Then a build step runs on what did deserialize, with stand-ins for the
//! entries that didn't (see `Loader::list` and `Draft::finish`): `validate`
//! for the config alone, or the whole snapshot build one layer up.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::error::{ConfigError, ConfigErrors};
use super::keypath::{self, Seg};
use super::schema::Config;
use super::spans::{self, SpanTree};
use super::validate::validate;

mod stubs;
#[cfg(test)]
mod tests;

use stubs::{
    cluster_stub, consumer_stub, listener_stub, policy_stub, rate_limit_stub, route_stub, skeleton,
    Stub, Stubs,
};

const SECTIONS: [&str; 12] = [
    "server",
    "limits",
    "timeouts",
    "proxy",
    "admin",
    "listener",
    "cluster",
    "route",
    "rate_limit",
    "redis",
    "auth_policy",
    "consumer",
];

/// Reads, loads and validates a config file (the config alone: nothing a
/// feature builds is checked); a read error names the file. Relative paths
/// inside it (certificates, keys) are relative to its directory.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    Draft::read(path)?.finish(validated)
}

/// Parses and validates a config (the config alone); on failure, every
/// problem found, in file order.
pub fn parse_str(text: &str) -> Result<Config, ConfigErrors> {
    Draft::parse(text)?.finish(validated)
}

/// The config itself checked, as the build step of `load_file`/`parse_str`.
fn validated(config: Config) -> Result<Config, Vec<ConfigError>> {
    let errors = validate(&config);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// A deserialized config that may still hold errors: broken entries are
/// replaced by stand-ins, so whatever builds on it (validation, the
/// features) can report its own problems too, and all are listed at once.
pub struct Draft {
    text: String,
    config: Config,
    errors: Vec<ConfigError>,
    stubs: Stubs,
}

impl Draft {
    /// Reads a config file; relative paths inside it are relative to its
    /// directory. Fails only when the file can't be read or isn't TOML.
    pub fn read(path: &Path) -> Result<Draft, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::from(ConfigError::new(
                "",
                format!("cannot read config file {}: {e}", path.display()),
            ))
        })?;
        let mut draft = Draft::parse(&text)?;
        draft.config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(draft)
    }

    /// Deserializes `text`; fails only when it isn't TOML.
    pub fn parse(text: &str) -> Result<Draft, ConfigErrors> {
        let table = text.parse::<Table>().map_err(|e| syntax_error(text, &e))?;
        let mut loader = Loader::default();
        let config = loader.load(table);
        Ok(Draft {
            text: text.to_string(),
            config,
            errors: loader.errors,
            stubs: loader.stubs,
        })
    }

    /// Runs `build` on the config, even one with errors, so its problems are
    /// reported along with the loader's (except those about stand-ins'
    /// made-up values). On failure, every problem, in file order.
    pub fn finish<T>(
        self,
        build: impl FnOnce(Config) -> Result<T, Vec<ConfigError>>,
    ) -> Result<T, ConfigErrors> {
        let Draft {
            text,
            config,
            mut errors,
            stubs,
        } = self;
        match build(config) {
            Ok(built) if errors.is_empty() => return Ok(built),
            Ok(_) => {}
            Err(derived) => errors.extend(derived.into_iter().filter(|e| !stubs.hides(&e.path))),
        }
        let spans = SpanTree::parse(&text);
        for e in &mut errors {
            e.line = e.line.or_else(|| spans.line_of(&e.path));
        }
        // Stable: errors without a line (file-level) first, then in file order.
        errors.sort_by_key(|e| e.line);
        Err(ConfigErrors(errors))
    }
}

fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigErrors {
    let mut err = ConfigError::new("", format!("invalid TOML: {}", one_line(e.message())));
    err.line = e.span().map(|span| spans::line_of_offset(text, span.start));
    err.into()
}

/// Error messages are printed one per line, so multi-line ones are joined.
fn one_line(message: &str) -> String {
    message.trim().replace('\n', "; ")
}

#[derive(Default)]
struct Loader {
    errors: Vec<ConfigError>,
    stubs: Stubs,
}

impl Loader {
    fn load(&mut self, mut table: Table) -> Config {
        let config = Config {
            base_dir: Default::default(),
            server: self.section(table.remove("server"), "server"),
            limits: self.section(table.remove("limits"), "limits"),
            timeouts: self.section(table.remove("timeouts"), "timeouts"),
            proxy: self.section(table.remove("proxy"), "proxy"),
            admin: self.section(table.remove("admin"), "admin"),
            listeners: self.list(table.remove("listener"), "listener", listener_stub),
            clusters: self.list(table.remove("cluster"), "cluster", cluster_stub),
            routes: self.list(table.remove("route"), "route", route_stub),
            rate_limits: self.list(table.remove("rate_limit"), "rate_limit", rate_limit_stub),
            redis: self.section(table.remove("redis"), "redis"),
            auth_policies: self.list(table.remove("auth_policy"), "auth_policy", policy_stub),
            consumers: self.list(table.remove("consumer"), "consumer", consumer_stub),
        };
        for key in table.keys() {
            self.errors.push(unknown_section(key));
        }
        config
    }

    /// A table section; defaults when absent or invalid.
    fn section<T: DeserializeOwned + Default>(&mut self, value: Option<Value>, name: &str) -> T {
        let Some(value) = value else {
            return T::default();
        };
        match deserialize_at(value, &[Seg::Key(name.to_string())], &skeleton(name)) {
            Ok(v) => v,
            Err(e) => {
                self.errors.extend(e);
                self.stubs.add(name.to_string(), Vec::new());
                T::default()
            }
        }
    }

    /// An array-of-tables section. An entry that fails to deserialize is
    /// replaced by a stub holding the strings `stub` could salvage (name,
    /// address, cluster), so indices stay right and cross-checks (duplicate
    /// names, routes naming that cluster) still see it; validation errors
    /// about the stub's made-up fields are hidden.
    fn list<T: DeserializeOwned>(
        &mut self,
        value: Option<Value>,
        name: &str,
        stub: Stub<T>,
    ) -> Vec<T> {
        let items = match value {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.errors.push(not_an_array(name, &other));
                self.stubs.add(name.to_string(), Vec::new());
                return Vec::new();
            }
        };
        let skeleton = skeleton(name);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let prefix = vec![Seg::Key(name.to_string()), Seg::Index(i)];
            match deserialize_at(item.clone(), &prefix, &skeleton) {
                Ok(v) => out.push(v),
                Err(e) => {
                    self.errors.extend(e);
                    let mut salvaged = Vec::new();
                    out.push(stub(&item, &mut salvaged));
                    let prefix = keypath::format(&prefix);
                    let kept = salvaged.iter().map(|k| format!("{prefix}.{k}")).collect();
                    self.stubs.add(prefix, kept);
                }
            }
        }
        out
    }
}

/// Deserializes `value`, naming each failing key path (under `prefix`).
///
/// serde reports only the first problem in a table, so when the whole table
/// fails, each key is tried on its own: a table of just that key plus
/// `skeleton` (placeholders for the required fields). That finds every bad
/// key. Then the table without its bad keys is tried, which finds what no
/// single key causes (a missing required field).
fn deserialize_at<T: DeserializeOwned>(
    value: Value,
    prefix: &[Seg],
    skeleton: &Table,
) -> Result<T, Vec<ConfigError>> {
    let whole = match deserialize_one(value.clone(), prefix) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let Value::Table(mut table) = value else {
        return Err(vec![whole]);
    };
    let mut errors = Vec::new();
    let mut bad_keys = Vec::new();
    for (key, v) in &table {
        let mut probe = skeleton.clone();
        probe.insert(key.clone(), v.clone());
        if let Err(e) = deserialize_one::<T>(Value::Table(probe), prefix) {
            errors.push(e);
            bad_keys.push(key.clone());
        }
    }
    for key in &bad_keys {
        table.remove(key);
    }
    let rest = deserialize_one::<T>(Value::Table(table), prefix).err();
    for e in rest.into_iter().chain([whole]) {
        if !errors.iter().any(|seen| seen.path == e.path) {
            errors.push(e);
        }
    }
    Err(errors)
}

fn deserialize_one<T: DeserializeOwned>(value: Value, prefix: &[Seg]) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = prefix.to_vec();
        path.extend(e.path().iter().filter_map(|seg| match seg {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        }));
        ConfigError::new(keypath::format(&path), one_line(e.inner().message()))
    })
}

fn unknown_section(key: &str) -> ConfigError {
    let singular = |s: &str| s.trim_end_matches('s').to_string();
    let hint = match SECTIONS.iter().find(|s| singular(s) == singular(key)) {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    };
    ConfigError::new(
        keypath::format(&[Seg::Key(key.to_string())]),
        format!(
            "unknown top-level key{hint}; expected [server], [limits], [timeouts], [proxy], \
             [admin], [redis], [[listener]], [[cluster]], [[route]], [[rate_limit]],
             [[auth_policy]] or [[consumer]]"
        ),
    )
}

fn not_an_array(name: &str, value: &Value) -> ConfigError {
    ConfigError::new(
        name,
        format!(
            "expected an array of tables, found a {}: write [[{name}]] (double brackets) \
             before each entry",
            value.type_str()
        ),
    )
}
