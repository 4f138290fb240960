//! The path sent upstream: the request path as-is, with the prefix
//! stripped or replaced, replaced entirely, or a template filled in.

use super::rule::{PathMatcher, Route, Upstream};
use super::template::Piece;

/// Append the upstream path for `route` to `out`; it always starts with `/`.
/// `path` must be the path the route matched; if it is not (a caller bug),
/// the output is still a well-formed path, never a panic.
pub(super) fn write_path(route: &Route, captures: &[(u32, u32)], path: &[u8], out: &mut Vec<u8>) {
    match &route.upstream {
        Upstream::AsIs => push_rooted(out, path),
        Upstream::Strip => push_rooted(out, remainder(route, path)),
        Upstream::PrefixRewrite(to) => join(out, to, remainder(route, path)),
        Upstream::Replace(to) => out.extend_from_slice(to),
        Upstream::Fill(pieces) => fill(out, pieces, captures, path),
    }
}

/// `path` after the matched prefix (without the prefix's trailing `/`, so
/// the remainder is empty or starts with `/`). Cut by length: the prefix
/// matched ASCII case-insensitively, so the bytes may differ in case.
fn remainder<'p>(route: &Route, path: &'p [u8]) -> &'p [u8] {
    match &route.path {
        PathMatcher::Prefix { base } => path.get(base.len()..).unwrap_or(path),
        _ => path,
    }
}

fn push_rooted(out: &mut Vec<u8>, path: &[u8]) {
    if path.first() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(path);
}

/// `to` + `rest` without doubling the `/` between them.
fn join(out: &mut Vec<u8>, to: &[u8], rest: &[u8]) {
    out.extend_from_slice(to);
    let rest = match (to.last(), rest.split_first()) {
        (Some(b'/'), Some((b'/', tail))) => tail,
        _ => rest,
    };
    out.extend_from_slice(rest);
}

fn fill(out: &mut Vec<u8>, pieces: &[Piece], captures: &[(u32, u32)], path: &[u8]) {
    for piece in pieces {
        match piece {
            Piece::Lit(l) => out.extend_from_slice(l),
            Piece::Param(i) => {
                let value = captures
                    .get(*i)
                    .and_then(|&(s, e)| path.get(s as usize..e as usize));
                out.extend_from_slice(value.unwrap_or_default());
            }
        }
    }
}
