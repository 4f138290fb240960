//! A compiled route: what it matches, how it ranks, how it rewrites.

use std::cmp::Reverse;

use super::host::HostPattern;
use super::template::{Piece, Template};

/// The path part of a route.
#[derive(Debug, Clone)]
pub(super) enum PathMatcher {
    /// No path key: every path.
    Any,
    Exact(Box<[u8]>),
    /// `base` is the configured prefix without its trailing `/` (so `/` has
    /// an empty base); `slash` records that it had one, in which case the
    /// path must continue past `base` (`/api/` does not match `/api`).
    Prefix {
        base: Box<[u8]>,
        slash: bool,
    },
    Template(Template),
}

impl PathMatcher {
    /// The config key that set this matcher (`hosts` when there is none),
    /// for errors about the route as a whole.
    pub(super) fn config_key(&self) -> &'static str {
        match self {
            PathMatcher::Any => "hosts",
            PathMatcher::Exact(_) => "path_exact",
            PathMatcher::Prefix { .. } => "path_prefix",
            PathMatcher::Template(_) => "path_template",
        }
    }

    /// Equal keys match exactly the same paths (used to find shadowed routes).
    pub(super) fn key(&self) -> String {
        match self {
            PathMatcher::Any => "any path".into(),
            PathMatcher::Exact(p) => format!("path_exact {}", String::from_utf8_lossy(p)),
            PathMatcher::Prefix { base, slash } => format!(
                "path_prefix {}{}",
                String::from_utf8_lossy(base),
                if *slash { "/" } else { "" }
            ),
            PathMatcher::Template(t) => format!("path_template {}", t.shape()),
        }
    }
}

/// A header predicate; names are stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum HeaderPred {
    Equals(Box<str>, Box<[u8]>),
    Present(Box<str>, bool),
}

impl HeaderPred {
    pub(super) fn name(&self) -> &str {
        match self {
            HeaderPred::Equals(n, _) | HeaderPred::Present(n, _) => n,
        }
    }

    fn holds<'a>(&self, header: &dyn Fn(&str) -> Option<&'a [u8]>) -> bool {
        match self {
            HeaderPred::Equals(name, want) => header(name) == Some(&**want),
            HeaderPred::Present(name, want) => header(name).is_some() == *want,
        }
    }
}

/// What to send upstream as the path.
#[derive(Debug, Clone)]
pub(super) enum Upstream {
    AsIs,
    /// Drop the matched prefix (`strip_prefix = true`).
    Strip,
    /// Replace the matched prefix with this.
    PrefixRewrite(Box<[u8]>),
    /// Replace the whole path (exact routes).
    Replace(Box<[u8]>),
    /// Fill a template with the captures.
    Fill(Vec<Piece>),
}

/// Specificity within one host level; larger is more specific. Field order
/// is the comparison order (see the module docs for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Rank {
    /// 3 exact, 2 template, 1 prefix, 0 no path.
    class: u8,
    /// Template: literal segments. Prefix: prefix length in bytes.
    primary: u32,
    /// Template: 2 × fixed segments, +1 without a catch-all.
    secondary: u32,
    /// Methods (1 if any) plus header predicates.
    predicates: u32,
    /// Earlier in the config wins.
    order: Reverse<u32>,
}

impl Rank {
    pub(super) fn new(index: u32, path: &PathMatcher, methods: bool, headers: usize) -> Rank {
        let (class, primary, secondary) = match path {
            PathMatcher::Any => (0, 0, 0),
            PathMatcher::Prefix { base, slash } => (1, base.len() as u32 + u32::from(*slash), 0),
            PathMatcher::Template(t) => (
                2,
                t.literal_count(),
                2 * t.fixed_count() + u32::from(!t.has_catch_all()),
            ),
            PathMatcher::Exact(_) => (3, 0, 0),
        };
        Rank {
            class,
            primary,
            secondary,
            predicates: u32::from(methods) + headers as u32,
            order: Reverse(index),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Route {
    pub(super) hosts: Vec<HostPattern>,
    pub(super) path: PathMatcher,
    /// Empty = any method. Compared byte for byte (methods are case-sensitive).
    pub(super) methods: Vec<Box<[u8]>>,
    pub(super) headers: Vec<HeaderPred>,
    pub(super) upstream: Upstream,
    pub(super) rank: Rank,
}

impl Route {
    /// Method and header predicates (host and path are matched by the index).
    pub(super) fn predicates_hold<'a>(
        &self,
        method: &[u8],
        header: &dyn Fn(&str) -> Option<&'a [u8]>,
    ) -> bool {
        let method_ok = self.methods.is_empty() || self.methods.iter().any(|m| **m == *method);
        method_ok && self.headers.iter().all(|h| h.holds(header))
    }

    pub(super) fn param_names(&self) -> &[Box<str>] {
        match &self.path {
            PathMatcher::Template(t) => &t.names,
            _ => &[],
        }
    }
}
