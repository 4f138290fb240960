//! A compiled route: what it matches, how it ranks, how it rewrites.

use std::cmp::Reverse;

use super::host::HostPattern;
use super::template::{Piece, Seg, Template};

/// The path part of a route.
#[derive(Debug, Clone)]
pub(super) enum PathMatcher {
    /// No path key: every path.
    Any,
    /// Without a trailing `/` (except `/` itself): requests are matched
    /// with one trailing `/` removed, so `/secret` also matches `/secret/`.
    Exact(Box<[u8]>),
    /// `base` is the configured prefix without its trailing `/` (so `/` has
    /// an empty base): `/api` and `/api/` both match `/api`, `/api/`, `/api/x`.
    Prefix { base: Box<[u8]> },
    /// Without a trailing empty segment (except the template `/`).
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

    /// Equal keys match exactly the same paths (used to find shadowed
    /// routes); case-insensitive matchers are keyed in lower case.
    pub(super) fn key(&self, case_sensitive: bool) -> String {
        let key = match self {
            PathMatcher::Any => "any path".into(),
            PathMatcher::Exact(p) => format!("path_exact {}", String::from_utf8_lossy(p)),
            PathMatcher::Prefix { base } => {
                format!("path_prefix {}", String::from_utf8_lossy(base))
            }
            PathMatcher::Template(t) => format!("path_template {}", t.shape()),
        };
        if case_sensitive {
            key + " (case-sensitive)"
        } else {
            key.to_ascii_lowercase()
        }
    }

    /// The literal parts match `path` byte for byte. The index matched them
    /// ASCII case-insensitively already; this is the extra check for
    /// `case_sensitive` routes (`path` as given to the index, same length).
    pub(super) fn matches_case(&self, path: &[u8]) -> bool {
        match self {
            PathMatcher::Any => true,
            PathMatcher::Exact(p) => path == &**p,
            PathMatcher::Prefix { base } => path.starts_with(base),
            PathMatcher::Template(t) => {
                let segs = path.split(|&b| b == b'/').skip(1);
                t.segs.iter().zip(segs).all(|(want, got)| match want {
                    Seg::Lit(l) => got == &**l,
                    Seg::Param | Seg::CatchAll => true,
                })
            }
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
            PathMatcher::Prefix { base } => (1, base.len() as u32, 0),
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
    /// `case_sensitive = true`: literals must match in case too (the index
    /// folds ASCII case for every route; see [`PathMatcher::matches_case`]).
    pub(super) case_sensitive: bool,
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

    /// True when the upstream path is the request path unchanged.
    pub(super) fn forwards_as_is(&self) -> bool {
        matches!(self.upstream, Upstream::AsIs)
    }

    pub(super) fn param_names(&self) -> &[Box<str>] {
        match &self.path {
            PathMatcher::Template(t) => &t.names,
            _ => &[],
        }
    }
}
