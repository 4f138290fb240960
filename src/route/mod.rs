//! Request → route matching on host, path, method and headers. Pure code:
//! built once per config snapshot, then shared read-only by every core.
//!
//! # Matching
//!
//! - **Host** (`hosts`): exact names (`api.example.com`), IP literals
//!   (`10.0.0.1`, `[::1]`) and wildcards (`*.example.com`, which matches
//!   `a.example.com` and `a.b.example.com` but not `example.com`). Compared
//!   case-insensitively, ignoring the port and one trailing dot; IPv6 in
//!   canonical form. An empty list matches any host. A request without a
//!   usable `Host` (absent, empty, malformed) matches only host-less routes.
//! - **Path**: one trailing `/` of the request path (and of configured
//!   paths) is ignored, and literals compare ASCII case-insensitively unless
//!   the route is `case_sensitive`, so a protected route cannot be walked
//!   around with `/secret/` or `/ADMIN`. `path_exact` equals the path.
//!   `path_prefix` is segment-aware: `/api` (or `/api/`) matches `/api`,
//!   `/api/` and `/api/x` but not `/apix`; `/` matches every path.
//!   `path_template` segments are literals or `{name}` (exactly one
//!   non-empty segment); a last `{*name}` captures the rest, possibly empty
//!   (`/files/{*rest}` matches `/files`, `/files/`, `/files/a/` with `rest`
//!   = `""`, `""`, `a/`). No path key: every path. Paths are otherwise
//!   compared raw (no percent-decoding); the proxy first refuses ambiguous
//!   paths with [`check_path`] and, when `;` params are allowed, looks up
//!   the path after [`strip_path_params`].
//! - **Methods**: case-sensitive set; empty = any. **Headers**: every
//!   predicate must hold: `value` (exact, case-sensitive), `present = true`
//!   or `present = false` (absent). Header names are case-insensitive.
//!
//! # Specificity: which route wins
//!
//! 1. Host level: exact host, then wildcards from the longest suffix to the
//!    shortest, then routes with no `hosts`. A level is tried only if no
//!    route of the previous level matches the request (path, method and
//!    headers), so `api.example.com/x` falls back to a `*.example.com` or
//!    host-less route when no `api.example.com` route matches.
//! 2. Within a level, by path: `path_exact` > `path_template` (more literal
//!    segments first, then more segments; a catch-all counts as none and
//!    loses a tie to a template without one) > `path_prefix` (longer prefix
//!    first) > no path key.
//! 3. Then more predicates first: a non-empty `methods` counts 1, each
//!    header predicate counts 1.
//! 4. Then the route listed first in the config.
//!
//! Routes whose criteria are identical (host, path matcher, methods, header
//! predicates) are rejected at build time: the later one could never win.
//!
//! # Cost
//!
//! A hash lookup per host level (exact host, each dot-suffix of the host
//! for wildcards), then per level a hash lookup for exact paths and one walk
//! of a segment trie for prefixes and templates, so lookup cost follows the
//! number of path segments, not the number of routes. Candidates are
//! pre-sorted by specificity; no allocation per lookup.

mod build;
mod check;
mod host;
#[cfg(test)]
mod model_tests;
mod path;
mod rewrite;
mod rule;
mod template;
#[cfg(test)]
mod tests;

use std::fmt;

use ahash::AHashMap;

pub use check::{check_path, strip_path_params, PathError, PathPolicy};
use host::{normalize_request_host, wildcard_suffixes, HostPattern, HOST_BUF_BYTES};
use path::{Captures, MatchPaths, PathIndex};
use rule::{PathMatcher, Route};

use crate::config::{ConfigError, RouteConfig};

/// Paths up to this long are case-folded on the stack; longer ones (rare)
/// in a heap buffer.
const FOLD_INLINE_BYTES: usize = 256;

type FoldBuf = smallvec::SmallVec<[u8; FOLD_INLINE_BYTES]>;

/// `path` ASCII lower-cased: `path` itself when it has no upper case (the
/// common case, no copy), else a copy in `buf`.
fn fold_ascii<'b>(path: &'b [u8], buf: &'b mut FoldBuf) -> &'b [u8] {
    if !path.iter().any(u8::is_ascii_uppercase) {
        return path;
    }
    buf.extend(path.iter().map(u8::to_ascii_lowercase));
    buf
}

/// The lookup matched `path` without its trailing `/`; a non-empty
/// catch-all capture ending there gets the `/` back, so `/files/a/` still
/// captures `a/` for a rewrite.
fn keep_trailing_slash(route: &Route, captures: &mut Captures, matched_len: usize) {
    let PathMatcher::Template(t) = &route.path else {
        return;
    };
    if let (true, Some(last)) = (t.has_catch_all(), captures.last_mut()) {
        if last.1 as usize == matched_len && last.1 > last.0 {
            last.1 += 1;
        }
    }
}

/// The compiled route table. Immutable after [`Router::build`]; `Send +
/// Sync`, shared by all cores.
#[derive(Debug)]
pub struct Router {
    routes: Vec<Route>,
    exact_hosts: AHashMap<Box<[u8]>, PathIndex>,
    /// Keyed by the suffix after `*.`.
    wildcard_hosts: AHashMap<Box<[u8]>, PathIndex>,
    any_host: PathIndex,
}

/// A problem with one route in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    /// Position in the config's route list.
    pub route_index: usize,
    /// The offending key: `hosts`, `path_exact`, `path_prefix`,
    /// `path_template`, `methods`, `headers`, `strip_prefix`, `rewrite`.
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "route[{}].{}: {}",
            self.route_index, self.key, self.message
        )
    }
}

impl std::error::Error for RouteError {}

/// As `ringgate check` reports it: `route[2].path_template`.
impl From<RouteError> for ConfigError {
    fn from(e: RouteError) -> Self {
        ConfigError::new(format!("route[{}].{}", e.route_index, e.key), e.message)
    }
}

/// The result of [`Router::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index of the route in the config's route list.
    pub route: usize,
    /// Template captures as byte ranges into the looked-up path, in
    /// template order (inline for up to 4).
    captures: Captures,
}

impl RouteMatch {
    /// The value of template param `name` (`{name}` or `{*name}`); `path`
    /// must be the path given to `lookup`.
    pub fn param<'p>(&self, router: &Router, path: &'p [u8], name: &str) -> Option<&'p [u8]> {
        let route = router.routes.get(self.route)?;
        let i = route.param_names().iter().position(|n| &**n == name)?;
        let &(start, end) = self.captures.get(i)?;
        path.get(start as usize..end as usize)
    }
}

impl Router {
    /// Compile `routes`, reporting every problem found (not just the first).
    pub fn build(routes: &[RouteConfig]) -> Result<Router, Vec<RouteError>> {
        let mut errors = Vec::new();
        let compiled: Vec<(usize, Route)> = routes
            .iter()
            .enumerate()
            .filter_map(|(i, cfg)| build::compile(i, cfg, &mut errors).map(|r| (i, r)))
            .collect();
        build::check_shadowed(&compiled, &mut errors);
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.route_index);
            return Err(errors);
        }
        Ok(Router::index(
            compiled.into_iter().map(|(_, r)| r).collect(),
        ))
    }

    /// Build the host maps and per-host path indexes of valid routes.
    fn index(routes: Vec<Route>) -> Router {
        let mut router = Router {
            routes: Vec::new(),
            exact_hosts: AHashMap::new(),
            wildcard_hosts: AHashMap::new(),
            any_host: PathIndex::default(),
        };
        for (id, route) in routes.iter().enumerate() {
            let id = id as u32;
            if route.hosts.is_empty() {
                router.any_host.insert(id, route);
            }
            for host in &route.hosts {
                let map = match host {
                    HostPattern::Exact(_) => &mut router.exact_hosts,
                    HostPattern::Wildcard(_) => &mut router.wildcard_hosts,
                };
                let (HostPattern::Exact(key) | HostPattern::Wildcard(key)) = host;
                map.entry(key.clone()).or_default().insert(id, route);
            }
        }
        router.any_host.finish();
        router.exact_hosts.values_mut().for_each(PathIndex::finish);
        router
            .wildcard_hosts
            .values_mut()
            .for_each(PathIndex::finish);
        router.routes = routes;
        router
    }

    /// The most specific route for a request (see the module docs).
    ///
    /// `host`: the Host header as received (any case, optional port and
    /// trailing dot, `[v6]:port`), `None` if absent. `path`: without the
    /// query; captures index into it. `method`: the method token. `header`: looks a request header
    /// up by lowercase name.
    pub fn lookup<'a>(
        &self,
        host: Option<&[u8]>,
        path: &'a [u8],
        method: &[u8],
        header: &dyn Fn(&str) -> Option<&'a [u8]>,
    ) -> Option<RouteMatch> {
        let pred = |r: &Route| r.predicates_hold(method, header);
        let mut buf = [0u8; HOST_BUF_BYTES];
        // Without host routes the host can't matter: skip normalizing it.
        let hosts = !self.exact_hosts.is_empty() || !self.wildcard_hosts.is_empty();
        let key = host
            .filter(|_| hosts)
            .and_then(|h| normalize_request_host(h, &mut buf));
        let levels = key.into_iter().flat_map(|key| {
            let exact = self.exact_hosts.get(key);
            let wild = (!self.wildcard_hosts.is_empty() && key.first() != Some(&b'['))
                .then(|| wildcard_suffixes(key).filter_map(|s| self.wildcard_hosts.get(s)));
            exact.into_iter().chain(wild.into_iter().flatten())
        });
        let raw = build::without_trailing_slash(path);
        let mut fold_buf = FoldBuf::new();
        let paths = MatchPaths {
            folded: fold_ascii(raw, &mut fold_buf),
            raw,
        };
        let found = levels
            .chain(std::iter::once(&self.any_host))
            .find_map(|ix| ix.lookup(&self.routes, paths, &pred))?;
        let mut captures = found.captures;
        if let (true, Some(route)) = (
            raw.len() < path.len(),
            self.routes.get(found.route as usize),
        ) {
            keep_trailing_slash(route, &mut captures, raw.len());
        }
        Some(RouteMatch {
            route: found.route as usize,
            captures,
        })
    }

    /// True when route `m` sends the request path upstream unchanged (no
    /// `strip_prefix`, no `rewrite`).
    pub fn forwards_as_is(&self, m: &RouteMatch) -> bool {
        self.routes.get(m.route).is_some_and(Route::forwards_as_is)
    }

    /// Append the path to send upstream for `m` (without the query, which
    /// the caller appends): `path` with `strip_prefix` / `rewrite` applied.
    /// Always starts with `/`. `path` must be the path given to `lookup`.
    pub fn write_upstream_path(&self, m: &RouteMatch, path: &[u8], out: &mut Vec<u8>) {
        match self.routes.get(m.route) {
            Some(route) => rewrite::write_path(route, &m.captures, path, out),
            None => {
                if path.first() != Some(&b'/') {
                    out.push(b'/');
                }
                out.extend_from_slice(path);
            }
        }
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when there are no routes (every lookup misses).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}
