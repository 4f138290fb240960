//! Key paths (`route[2].headers[0].name`): built from serde paths when
//! deserializing, parsed back from strings to find a key's line.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Formats segments as `a.b[0].c`. Keys that are not bare TOML keys (only a
/// user's typo can produce one) are quoted, so the path stays unambiguous.
pub(crate) fn format(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if is_bare_key(k) {
                    out.push_str(k);
                } else {
                    let _ = write!(out, "{k:?}");
                }
            }
        }
    }
    out
}

fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses what `format` produces for bare keys; `None` for anything else
/// (quoted keys), which only costs the error its line number.
pub(crate) fn parse(path: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            if !is_bare_key(key) {
                return None;
            }
            segs.push(Seg::Key(key.to_string()));
        }
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            segs.push(Seg::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }

    #[test]
    fn format_and_parse_round_trip() {
        let path = vec![
            key("route"),
            Seg::Index(2),
            key("headers"),
            Seg::Index(0),
            key("name"),
        ];
        assert_eq!(format(&path), "route[2].headers[0].name");
        assert_eq!(parse("route[2].headers[0].name"), Some(path));
        assert_eq!(
            parse("limits.buffer_bytes"),
            Some(vec![key("limits"), key("buffer_bytes")])
        );
        assert_eq!(
            parse("a[1][2]"),
            Some(vec![key("a"), Seg::Index(1), Seg::Index(2)])
        );
        assert_eq!(parse(""), Some(vec![]));
    }

    #[test]
    fn odd_keys_are_quoted_and_not_parsed() {
        assert_eq!(format(&[key("server"), key("a.b")]), "server.\"a.b\"");
        assert_eq!(parse("server.\"a b\""), None);
        assert_eq!(parse("route[x]"), None);
    }
}
