//! The per-host path index: a hash map for exact paths, a segment trie for
//! prefixes and templates, and a list for routes without a path. Candidate
//! lists are sorted by [`Rank`] at build time, so lookup takes the first
//! candidate whose method/header predicates hold and skips everything that
//! cannot beat the best match found so far.
//!
//! Literals are stored ASCII lower-case and looked up with the request path
//! folded the same way; `case_sensitive` routes then also compare their
//! literals against the path as received.

use ahash::AHashMap;
use smallvec::SmallVec;

use super::rule::{PathMatcher, Rank, Route};
use super::template::Seg;

/// Template captures as `(start, end)` byte offsets into the request path.
pub(super) type Captures = SmallVec<[(u32, u32); 4]>;

/// Method/header predicates of the current request, applied to a route.
pub(super) type Predicate<'f> = &'f dyn Fn(&Route) -> bool;

#[derive(Debug, Clone, Copy)]
struct Cand {
    rank: Rank,
    route: u32,
}

#[derive(Debug, Default)]
struct Node {
    literal: AHashMap<Box<[u8]>, u32>,
    param: Option<u32>,
    /// Prefix routes whose prefix ends at this node.
    prefixes: Vec<Cand>,
    /// Templates that end at this node.
    templates: Vec<Cand>,
    /// Templates whose `{*catch_all}` starts at this node.
    catch_alls: Vec<Cand>,
}

#[derive(Debug)]
pub(super) struct PathIndex {
    exact: AHashMap<Box<[u8]>, Vec<Cand>>,
    /// `nodes[0]` is the root (the empty path).
    nodes: Vec<Node>,
    any: Vec<Cand>,
}

impl Default for PathIndex {
    fn default() -> Self {
        PathIndex {
            exact: AHashMap::new(),
            nodes: vec![Node::default()],
            any: Vec::new(),
        }
    }
}

/// The best match found in one index.
pub(super) struct Found {
    rank: Rank,
    pub(super) route: u32,
    pub(super) captures: Captures,
}

impl PathIndex {
    pub(super) fn insert(&mut self, id: u32, route: &Route) {
        let cand = Cand {
            rank: route.rank,
            route: id,
        };
        match &route.path {
            PathMatcher::Any => self.any.push(cand),
            PathMatcher::Exact(p) => self.exact.entry(fold(p)).or_default().push(cand),
            PathMatcher::Prefix { base } => {
                let segs = base.split(|&b| b == b'/').skip(1);
                let node = self.walk(segs.map(|s| Seg::Lit(fold(s))));
                self.node(node).prefixes.push(cand);
            }
            PathMatcher::Template(t) => {
                let segs = t.segs.iter().map(|s| match s {
                    Seg::Lit(l) => Seg::Lit(fold(l)),
                    other => other.clone(),
                });
                let node = self.walk(segs);
                let node = self.node(node);
                if t.has_catch_all() {
                    node.catch_alls.push(cand);
                } else {
                    node.templates.push(cand);
                }
            }
        }
    }

    /// Sort every candidate list, most specific first.
    /// No prefix or template route: a walk could find nothing.
    fn trie_is_empty(&self) -> bool {
        match self.nodes.as_slice() {
            [root] => {
                root.literal.is_empty()
                    && root.param.is_none()
                    && root.prefixes.is_empty()
                    && root.templates.is_empty()
                    && root.catch_alls.is_empty()
            }
            _ => false,
        }
    }

    pub(super) fn finish(&mut self) {
        let sort = |v: &mut Vec<Cand>| v.sort_by_key(|c| std::cmp::Reverse(c.rank));
        self.exact.values_mut().for_each(sort);
        sort(&mut self.any);
        for n in &mut self.nodes {
            sort(&mut n.prefixes);
            sort(&mut n.templates);
            sort(&mut n.catch_alls);
        }
    }

    /// Follow (creating as needed) the nodes for `segs` from the root,
    /// stopping before a catch-all (it lives on the node where it starts).
    fn walk(&mut self, segs: impl Iterator<Item = Seg>) -> u32 {
        let mut at = 0u32;
        for seg in segs {
            let next = self.nodes.len() as u32;
            let node = self.node(at);
            let child = match seg {
                Seg::Lit(l) => *node.literal.entry(l).or_insert(next),
                Seg::Param => *node.param.get_or_insert(next),
                Seg::CatchAll => break,
            };
            if child == next {
                self.nodes.push(Node::default());
            }
            at = child;
        }
        at
    }

    fn node(&mut self, id: u32) -> &mut Node {
        // Build-time only; ids come from `walk`, which creates them.
        &mut self.nodes[id as usize]
    }

    /// The most specific route in this index whose predicates hold.
    /// `folded`: the request path ASCII lower-cased; `raw`: as received
    /// (same length), for `case_sensitive` routes.
    pub(super) fn lookup(
        &self,
        routes: &[Route],
        paths: MatchPaths,
        pred: Predicate,
    ) -> Option<Found> {
        // Empty tables are skipped without hashing or walking the path (a
        // config of host-only or catch-all routes has neither).
        let exact = (!self.exact.is_empty())
            .then(|| self.exact.get(paths.folded))
            .flatten();
        if let Some(list) = exact {
            let mut s = Search::new(self, routes, paths, pred);
            s.offer(list, None);
            if s.best.is_some() {
                return s.best;
            }
        }
        let mut s = Search::new(self, routes, paths, pred);
        if paths.folded.first() == Some(&b'/') && !self.trie_is_empty() {
            s.visit(0, 0);
        }
        if s.best.is_none() {
            s.offer(&self.any, None);
        }
        s.best
    }
}

/// The request path in the two forms the index needs; same length.
#[derive(Clone, Copy)]
pub(super) struct MatchPaths<'p> {
    /// ASCII lower-case: what the index's (folded) literals are compared to.
    pub(super) folded: &'p [u8],
    /// As received: `case_sensitive` routes compare their literals to it.
    pub(super) raw: &'p [u8],
}

/// ASCII lower-case copy of a configured literal.
fn fold(literal: &[u8]) -> Box<[u8]> {
    literal.to_ascii_lowercase().into()
}

/// One depth-first walk of the trie for one request path.
struct Search<'s, 'p> {
    nodes: &'s [Node],
    routes: &'s [Route],
    path: &'p [u8],
    pred: Predicate<'s>,
    raw: &'p [u8],
    /// Captures of the `{param}` edges on the current trie path.
    stack: Captures,
    best: Option<Found>,
}

impl<'s, 'p> Search<'s, 'p> {
    fn new(
        ix: &'s PathIndex,
        routes: &'s [Route],
        paths: MatchPaths<'p>,
        pred: Predicate<'s>,
    ) -> Self {
        Search {
            nodes: &ix.nodes,
            routes,
            path: paths.folded,
            pred,
            raw: paths.raw,
            stack: Captures::new(),
            best: None,
        }
    }

    /// Visit the node reached after consuming `path[..pos]`; the rest is
    /// empty or starts with `/`. Each trie node is reached by one path from
    /// the root, so a lookup visits every node at most once.
    fn visit(&mut self, id: u32, pos: usize) {
        let nodes = self.nodes;
        let Some(node) = nodes.get(id as usize) else {
            return;
        };
        let rest = self.path.get(pos..).unwrap_or_default();
        self.offer(&node.prefixes, None);
        if rest.is_empty() {
            self.offer(&node.templates, Some(None));
        }
        let Some(after) = rest.strip_prefix(b"/") else {
            // End of path: a catch-all matches it with an empty capture.
            let here = (pos as u32, pos as u32);
            self.offer(&node.catch_alls, Some(Some(here)));
            return;
        };
        let tail = ((pos + 1) as u32, self.path.len() as u32);
        self.offer(&node.catch_alls, Some(Some(tail)));
        // Segments are short: a plain loop beats a memchr call.
        let seg_len = after.iter().position(|&b| b == b'/').unwrap_or(after.len());
        let seg = after.get(..seg_len).unwrap_or_default();
        let next = pos + 1 + seg_len;
        if let Some(&child) = node.literal.get(seg) {
            self.visit(child, next);
        }
        if let (Some(child), false) = (node.param, seg.is_empty()) {
            self.stack.push(((pos + 1) as u32, next as u32));
            self.visit(child, next);
            self.stack.pop();
        }
    }

    /// Take the first candidate in `list` that holds its
    /// predicates and beats the best so far. `captures`: `None` for routes
    /// without captures, else the stack plus an optional catch-all range.
    fn offer(&mut self, list: &[Cand], captures: Option<Option<(u32, u32)>>) {
        for c in list {
            if self.best.as_ref().is_some_and(|b| b.rank >= c.rank) {
                return; // sorted: nothing later can win
            }
            let Some(route) = self.routes.get(c.route as usize) else {
                continue;
            };
            if !(self.pred)(route) {
                continue;
            }
            if route.case_sensitive && !route.path.matches_case(self.raw) {
                continue;
            }
            let mut caps = Captures::new();
            if let Some(extra) = captures {
                caps.extend_from_slice(&self.stack);
                caps.extend(extra);
            }
            self.best = Some(Found {
                rank: c.rank,
                route: c.route,
                captures: caps,
            });
            return;
        }
    }
}
