//! `RouteConfig` → compiled [`Route`], collecting every problem as a
//! [`RouteError`] instead of stopping at the first.

use ahash::AHashMap;

use super::check::{check_path, PathPolicy};
use super::host::{parse_host_pattern, HostPattern};
use super::rule::{HeaderPred, PathMatcher, Rank, Route, Upstream};
use super::template::{check_path_bytes, parse_rewrite, parse_template, Seg};
use super::RouteError;
use crate::config::{HeaderMatchConfig, RouteConfig};

/// Collects errors for one route.
struct Errors<'e> {
    index: usize,
    out: &'e mut Vec<RouteError>,
    count: usize,
}

impl Errors<'_> {
    fn push(&mut self, key: &'static str, message: impl Into<String>) {
        self.count += 1;
        self.out.push(RouteError {
            route_index: self.index,
            key,
            message: message.into(),
        });
    }
}

/// Compile route `index`; `None` if it had errors (all pushed to `out`).
pub(super) fn compile(index: usize, cfg: &RouteConfig, out: &mut Vec<RouteError>) -> Option<Route> {
    let mut errs = Errors {
        index,
        out,
        count: 0,
    };
    let hosts = compile_hosts(&cfg.hosts, &mut errs);
    let path = compile_path(cfg, &mut errs);
    let methods = compile_methods(&cfg.methods, &mut errs);
    let headers = compile_headers(&cfg.headers, &mut errs);
    let upstream = path
        .as_ref()
        .and_then(|p| compile_upstream(cfg, p, &mut errs));
    if errs.count > 0 {
        return None;
    }
    let path = path?;
    let rank = Rank::new(index as u32, &path, !methods.is_empty(), headers.len());
    Some(Route {
        hosts,
        path,
        case_sensitive: cfg.case_sensitive,
        methods,
        headers,
        upstream: upstream?,
        rank,
    })
}

fn compile_hosts(raw: &[String], errs: &mut Errors) -> Vec<HostPattern> {
    let mut hosts: Vec<HostPattern> = Vec::with_capacity(raw.len());
    for h in raw {
        match parse_host_pattern(h) {
            Ok(p) if hosts.contains(&p) => {
                errs.push("hosts", format!("duplicate host {:?}", p.display()))
            }
            Ok(p) => hosts.push(p),
            Err(e) => errs.push("hosts", e),
        }
    }
    hosts
}

/// The path matcher, or `None` after an error (including "more than one").
fn compile_path(cfg: &RouteConfig, errs: &mut Errors) -> Option<PathMatcher> {
    let mut found: Vec<(&'static str, PathMatcher)> = Vec::new();
    if let Some(p) = &cfg.path_exact {
        push_ok(
            &mut found,
            errs,
            "path_exact",
            literal_path(p).map(|p| PathMatcher::Exact(without_trailing_slash(&p).into())),
        );
    }
    if let Some(p) = &cfg.path_prefix {
        push_ok(&mut found, errs, "path_prefix", prefix_path(p));
    }
    if let Some(p) = &cfg.path_template {
        let t = check_dots(p).and_then(|()| parse_template(p)).map(|mut t| {
            // `/a/` and `/a` match the same requests (trailing `/` removed).
            if t.segs.len() > 1 && t.segs.last() == Some(&Seg::Lit(Box::default())) {
                t.segs.pop();
            }
            t
        });
        push_ok(
            &mut found,
            errs,
            "path_template",
            t.map(PathMatcher::Template),
        );
    }
    let set = [&cfg.path_exact, &cfg.path_prefix, &cfg.path_template];
    if set.iter().filter(|p| p.is_some()).count() > 1 {
        let key = if cfg.path_template.is_some() {
            "path_template"
        } else {
            "path_prefix"
        };
        errs.push(
            key,
            "set at most one of path_exact, path_prefix, path_template",
        );
        return None;
    }
    match found.pop() {
        Some((_, m)) => Some(m),
        None if set.iter().all(|p| p.is_none()) => Some(PathMatcher::Any),
        None => None,
    }
}

fn push_ok(
    found: &mut Vec<(&'static str, PathMatcher)>,
    errs: &mut Errors,
    key: &'static str,
    r: Result<PathMatcher, String>,
) {
    match r {
        Ok(m) => found.push((key, m)),
        Err(e) => errs.push(key, e),
    }
}

/// A configured exact path or prefix: starts with `/`, plain path bytes, no
/// `//`, and nothing `check_path` would refuse (it could never match).
fn literal_path(p: &str) -> Result<Box<[u8]>, String> {
    if !p.starts_with('/') {
        return Err(format!("{p:?} must start with '/'"));
    }
    if p.contains("//") {
        return Err(format!("{p:?} has an empty segment (\"//\")"));
    }
    check_path_bytes(p.as_bytes()).map_err(|e| format!("{p:?}: {e}"))?;
    check_dots(p)?;
    Ok(p.as_bytes().into())
}

fn check_dots(p: &str) -> Result<(), String> {
    check_path(p.as_bytes(), PathPolicy::default()).map_err(|e| {
        format!(
            "{p:?} can never match ({}: such requests are refused)",
            e.reason()
        )
    })
}

fn prefix_path(p: &str) -> Result<PathMatcher, String> {
    let bytes = literal_path(p)?;
    let base = bytes.strip_suffix(b"/").unwrap_or(&bytes).into();
    Ok(PathMatcher::Prefix { base })
}

/// `p` without one trailing `/`, except the root `/`: requests are matched
/// that way too.
pub(super) fn without_trailing_slash(p: &[u8]) -> &[u8] {
    match p.strip_suffix(b"/") {
        Some(base) if !base.is_empty() => base,
        _ => p,
    }
}

fn compile_methods(raw: &[String], errs: &mut Errors) -> Vec<Box<[u8]>> {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    let mut methods: Vec<Box<[u8]>> = Vec::with_capacity(raw.len());
    for m in raw {
        let upper = m.to_ascii_uppercase();
        if !is_token(m) {
            errs.push("methods", format!("{m:?} is not a valid method token"));
        } else if upper != *m && STANDARD.contains(&upper.as_str()) {
            errs.push(
                "methods",
                format!("methods are case-sensitive: write {upper:?}, not {m:?}"),
            );
        } else if methods.iter().any(|x| **x == *m.as_bytes()) {
            errs.push("methods", format!("duplicate method {m:?}"));
        } else {
            methods.push(m.as_bytes().into());
        }
    }
    methods
}

fn compile_headers(raw: &[HeaderMatchConfig], errs: &mut Errors) -> Vec<HeaderPred> {
    let mut preds: Vec<HeaderPred> = Vec::with_capacity(raw.len());
    for h in raw {
        match header_pred(h) {
            Ok(p) if preds.iter().any(|q| q.name() == p.name()) => errs.push(
                "headers",
                format!("more than one predicate for header {:?}", p.name()),
            ),
            Ok(p) => preds.push(p),
            Err(e) => errs.push("headers", e),
        }
    }
    preds
}

fn header_pred(h: &HeaderMatchConfig) -> Result<HeaderPred, String> {
    if !is_token(&h.name) {
        return Err(format!("{:?} is not a valid header name", h.name));
    }
    let name: Box<str> = h.name.to_ascii_lowercase().into();
    match (&h.value, h.present) {
        (Some(v), None) if is_field_value(v) => Ok(HeaderPred::Equals(name, v.as_bytes().into())),
        (Some(v), None) => Err(format!(
            "header {name:?}: value {v:?} can never match (control bytes or surrounding whitespace)"
        )),
        (None, Some(p)) => Ok(HeaderPred::Present(name, p)),
        _ => Err(format!(
            "header {name:?}: set exactly one of value, present"
        )),
    }
}

/// RFC 9110 `token` (method names, header names).
fn is_token(s: &str) -> bool {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !s.is_empty() && s.bytes().all(tchar)
}

/// A value the parser could hand us: visible bytes, inner spaces/tabs, and
/// no leading/trailing whitespace (the parser trims it).
fn is_field_value(s: &str) -> bool {
    let b = s.as_bytes();
    let edge_ok = |c: Option<&u8>| !matches!(c, Some(b' ' | b'\t'));
    edge_ok(b.first())
        && edge_ok(b.last())
        && b.iter().all(|&c| c == b'\t' || (c >= 0x20 && c != 0x7f))
}

fn compile_upstream(cfg: &RouteConfig, path: &PathMatcher, errs: &mut Errors) -> Option<Upstream> {
    let is_prefix = matches!(path, PathMatcher::Prefix { .. });
    if cfg.strip_prefix && !is_prefix {
        errs.push("strip_prefix", "strip_prefix needs path_prefix");
        return None;
    }
    let Some(rewrite) = &cfg.rewrite else {
        return Some(if cfg.strip_prefix {
            Upstream::Strip
        } else {
            Upstream::AsIs
        });
    };
    if cfg.strip_prefix {
        errs.push(
            "rewrite",
            "set strip_prefix or rewrite, not both (rewrite = \"/\" strips)",
        );
        return None;
    }
    let names = match path {
        PathMatcher::Template(t) => Some(&t.names[..]),
        _ => None,
    };
    let pieces = parse_rewrite(rewrite, names).and_then(|p| check_dots(rewrite).map(|()| p));
    let pieces = match pieces {
        Ok(p) => p,
        Err(e) => {
            errs.push("rewrite", format!("rewrite {e}"));
            return None;
        }
    };
    let bytes: Box<[u8]> = rewrite.as_bytes().into();
    match path {
        PathMatcher::Any => {
            errs.push(
                "rewrite",
                "rewrite needs path_exact, path_prefix or path_template",
            );
            None
        }
        PathMatcher::Exact(_) => Some(Upstream::Replace(bytes)),
        PathMatcher::Prefix { .. } => Some(Upstream::PrefixRewrite(bytes)),
        PathMatcher::Template(_) => Some(Upstream::Fill(pieces)),
    }
}

/// Report routes whose host, path matcher, methods and headers equal an
/// earlier route's on some host: they can never be chosen there.
pub(super) fn check_shadowed(routes: &[(usize, Route)], out: &mut Vec<RouteError>) {
    let mut seen: AHashMap<(String, String), usize> = AHashMap::new();
    for (index, route) in routes {
        let criteria = criteria_key(route);
        let hosts: Vec<String> = if route.hosts.is_empty() {
            vec![String::new()]
        } else {
            route.hosts.iter().map(HostPattern::display).collect()
        };
        for host in hosts {
            if let Some(&earlier) = seen.get(&(host.clone(), criteria.clone())) {
                out.push(RouteError {
                    route_index: *index,
                    key: route.path.config_key(),
                    message: format!(
                        "shadowed by route {earlier}: same host, path matcher, methods and headers"
                    ),
                });
                break;
            }
            seen.insert((host, criteria.clone()), *index);
        }
    }
}

fn criteria_key(route: &Route) -> String {
    let mut methods = route.methods.clone();
    methods.sort();
    let mut headers = route.headers.clone();
    headers.sort();
    let path = route.path.key(route.case_sensitive);
    format!("{path}\n{methods:?}\n{headers:?}")
}
