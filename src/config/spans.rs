//! Where each key of a TOML document is, so an error about `route[2].cluster`
//! can say which line to look at.
//!
//! `toml::Spanned<T>` can't be used directly: it fails on tables that have no
//! span (dotted keys such as `a.b = 1` create one). So `Node` speaks the same
//! private protocol (a struct with three magic field names) and also accepts
//! a plain value. If a future `toml` changes the protocol, spans silently
//! disappear and errors lose their line numbers; the tests here notice.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::keypath::{self, Seg};

const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_FIELDS: &[&str] = &[
    SPANNED_START,
    "$__serde_spanned_private_end",
    "$__serde_spanned_private_value",
];

/// The key tree of a document with the byte span of each value.
pub(crate) struct SpanTree {
    root: Node,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

struct Node {
    span: Option<Range<usize>>,
    kind: Kind,
}

enum Kind {
    Leaf,
    Table(Vec<(String, Node)>),
    Array(Vec<Node>),
}

impl SpanTree {
    /// An empty tree (no lines known) if the text is not valid TOML.
    pub(crate) fn parse(text: &str) -> Self {
        let root = toml::from_str::<Node>(text).unwrap_or(Node {
            span: None,
            kind: Kind::Leaf,
        });
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SpanTree { root, line_starts }
    }

    /// The 1-based line of the value at `path`, or of its deepest ancestor
    /// that has a span (a missing key is reported at its table).
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        let segs = keypath::parse(path)?;
        let mut node = &self.root;
        let mut best = node.span.clone();
        for seg in &segs {
            let child = match (seg, &node.kind) {
                (Seg::Key(k), Kind::Table(entries)) => {
                    entries.iter().find(|(key, _)| key == k).map(|(_, n)| n)
                }
                (Seg::Index(i), Kind::Array(items)) => items.get(*i),
                _ => None,
            };
            let Some(child) = child else { break };
            node = child;
            best = node.span.clone().or(best);
        }
        best.map(|span| self.line_at(span.start))
    }

    pub(crate) fn line_at(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }
}

/// The 1-based line of a byte offset in `text`.
pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, NodeVisitor)
    }
}

/// Deserializes the value inside a span without asking for a span again.
struct Unspanned;

impl<'de> DeserializeSeed<'de> for Unspanned {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl NodeVisitor {
    fn leaf<E>(self) -> Result<Node, E> {
        Ok(Node {
            span: None,
            kind: Kind::Leaf,
        })
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Node {
                span: None,
                kind: Kind::Table(Vec::new()),
            });
        };
        if first == SPANNED_START {
            let start: usize = map.next_value()?;
            map.next_key::<de::IgnoredAny>()?;
            let end: usize = map.next_value()?;
            map.next_key::<de::IgnoredAny>()?;
            let mut node = map.next_value_seed(Unspanned)?;
            node.span = Some(start..end);
            return Ok(node);
        }
        let mut entries = vec![(first, map.next_value::<Node>()?)];
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<Node>()?));
        }
        Ok(Node {
            span: None,
            kind: Kind::Table(entries),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node {
            span: None,
            kind: Kind::Array(items),
        })
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        self.leaf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# comment
[server]
workers = 4
cpus = [
  1,
  2,
]

[[route]]
name = "a"
cluster = "x"
headers = [{ name = "h", value = "v" }]

[[route]]
name = "b"
dotted.key = 3
[[route.headers]]
name = "k"
"#;

    #[test]
    fn finds_lines_of_keys() {
        let t = SpanTree::parse(DOC);
        assert_eq!(t.line_of("server.workers"), Some(3));
        assert_eq!(t.line_of("server.cpus[1]"), Some(6));
        assert_eq!(t.line_of("route[0].cluster"), Some(11));
        assert_eq!(t.line_of("route[0].headers[0].value"), Some(12));
        assert_eq!(t.line_of("route[1].name"), Some(15));
        assert_eq!(t.line_of("route[1].dotted.key"), Some(16));
        assert_eq!(t.line_of("route[1].headers[0].name"), Some(18));
    }

    #[test]
    fn missing_keys_fall_back_to_their_table() {
        let t = SpanTree::parse(DOC);
        assert_eq!(t.line_of("server.nope"), t.line_of("server"));
        assert_eq!(t.line_of("server"), Some(2));
        assert_eq!(t.line_of("route[1].cluster"), t.line_of("route[1]"));
        assert_eq!(t.line_of("route[1]"), Some(14));
        assert_eq!(t.line_of("route[1].headers"), Some(17));
    }

    #[test]
    fn invalid_text_has_no_lines() {
        let t = SpanTree::parse("a = ");
        assert_eq!(t.line_of("a"), None);
        assert_eq!(t.line_at(0), 1);
        assert_eq!(line_of_offset("a\nb\nc", 2), 2);
        assert_eq!(line_of_offset("a\nb\nc", 99), 3);
    }
}
