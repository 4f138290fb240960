//! Path syntax from config: `path_template` (`/users/{id}/files/{*rest}`),
//! `rewrite` strings (`/internal/{id}`), and the byte rules every configured
//! path follows.

/// One segment of a `path_template`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Seg {
    /// Must equal the request segment byte for byte.
    Lit(Box<[u8]>),
    /// `{name}`: exactly one non-empty segment.
    Param,
    /// `{*name}` (last only): the rest of the path, possibly empty.
    CatchAll,
}

#[derive(Debug, Clone)]
pub(super) struct Template {
    pub(super) segs: Vec<Seg>,
    /// Capture names in template order (the catch-all's without `*`).
    pub(super) names: Vec<Box<str>>,
}

impl Template {
    pub(super) fn literal_count(&self) -> u32 {
        self.segs
            .iter()
            .filter(|s| matches!(s, Seg::Lit(_)))
            .count() as u32
    }

    /// Literal and `{param}` segments; a catch-all is not counted because
    /// it may match nothing.
    pub(super) fn fixed_count(&self) -> u32 {
        self.segs
            .iter()
            .filter(|s| !matches!(s, Seg::CatchAll))
            .count() as u32
    }

    pub(super) fn has_catch_all(&self) -> bool {
        matches!(self.segs.last(), Some(Seg::CatchAll))
    }

    /// The template with names erased: two templates with the same shape
    /// match exactly the same paths.
    pub(super) fn shape(&self) -> String {
        let mut out = String::new();
        for seg in &self.segs {
            out.push('/');
            match seg {
                Seg::Lit(l) => out.push_str(&String::from_utf8_lossy(l)),
                Seg::Param => out.push_str("{}"),
                Seg::CatchAll => out.push_str("{*}"),
            }
        }
        out
    }
}

/// Parse a `path_template`. Literal segments follow [`check_path_bytes`];
/// an empty segment is only allowed last (a trailing slash).
pub(super) fn parse_template(s: &str) -> Result<Template, String> {
    let body = s
        .strip_prefix('/')
        .ok_or_else(|| format!("{s:?} must start with '/'"))?;
    if s.matches('{').count() != s.matches('}').count() {
        return Err(format!("{s:?} has unbalanced braces"));
    }
    let mut t = Template {
        segs: Vec::new(),
        names: Vec::new(),
    };
    let count = body.split('/').count();
    for (i, raw) in body.split('/').enumerate() {
        let last = i + 1 == count;
        let seg = parse_segment(raw, last, &t.names).map_err(|e| format!("{s:?}: {e}"))?;
        if let Some(name) = capture_name(raw) {
            t.names.push(name.into());
        }
        t.segs.push(seg);
    }
    Ok(t)
}

fn capture_name(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('{')?.strip_suffix('}')?;
    Some(inner.strip_prefix('*').unwrap_or(inner))
}

fn parse_segment(raw: &str, last: bool, seen: &[Box<str>]) -> Result<Seg, String> {
    if !raw.contains(['{', '}']) {
        if raw.is_empty() && !last {
            return Err("empty segment (\"//\")".into());
        }
        check_path_bytes(raw.as_bytes())?;
        return Ok(Seg::Lit(raw.as_bytes().into()));
    }
    let inner = raw
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .filter(|r| !r.contains(['{', '}']))
        .ok_or_else(|| format!("{raw:?}: a {{param}} must be a whole segment"))?;
    let (name, catch_all) = match inner.strip_prefix('*') {
        Some(n) => (n, true),
        None => (inner, false),
    };
    check_param_name(name, seen)?;
    match (catch_all, last) {
        (false, _) => Ok(Seg::Param),
        (true, true) => Ok(Seg::CatchAll),
        (true, false) => Err(format!("{{*{name}}} must be the last segment")),
    }
}

fn check_param_name(name: &str, seen: &[Box<str>]) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty {param} name".into());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "param name {name:?} may only contain letters, digits and '_'"
        ));
    }
    if seen.iter().any(|n| &**n == name) {
        return Err(format!("param {{{name}}} is defined twice"));
    }
    Ok(())
}

/// One piece of a compiled `rewrite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Lit(Box<[u8]>),
    /// Index into the template's captures.
    Param(usize),
}

/// Parse a `rewrite`. `names` is `Some` for template routes (the params a
/// rewrite may use; `{*rest}` and `{rest}` both name the catch-all) and
/// `None` otherwise, where braces are an error.
pub(super) fn parse_rewrite(s: &str, names: Option<&[Box<str>]>) -> Result<Vec<Piece>, String> {
    if !s.starts_with('/') {
        return Err(format!("{s:?} must start with '/'"));
    }
    let mut pieces = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find(['{', '}']) {
        let (lit, tail) = rest.split_at(open);
        push_literal(&mut pieces, lit)?;
        let close = tail
            .find('}')
            .filter(|&c| tail.starts_with('{') && !tail[1..c].contains('{'))
            .ok_or_else(|| format!("{s:?} has unbalanced braces"))?;
        let name = &tail[1..close];
        pieces.push(Piece::Param(param_index(name, names)?));
        rest = &tail[close + 1..];
    }
    push_literal(&mut pieces, rest)?;
    Ok(pieces)
}

fn push_literal(pieces: &mut Vec<Piece>, lit: &str) -> Result<(), String> {
    if !lit.is_empty() {
        check_path_bytes(lit.as_bytes())?;
        pieces.push(Piece::Lit(lit.as_bytes().into()));
    }
    Ok(())
}

fn param_index(name: &str, names: Option<&[Box<str>]>) -> Result<usize, String> {
    let names = names
        .ok_or_else(|| format!("uses {{{name}}} but only path_template routes have params"))?;
    let bare = name.strip_prefix('*').unwrap_or(name);
    names
        .iter()
        .position(|n| &**n == bare)
        .ok_or_else(|| format!("uses {{{name}}} which path_template does not define"))
}

/// Bytes allowed in configured paths and rewrites: RFC 3986 `pchar` and
/// `/`, with `%` only as `%HH`. Anything else (space, `?`, `#`, controls)
/// would never match a request or would corrupt the forwarded request line.
pub(super) fn check_path_bytes(s: &[u8]) -> Result<(), String> {
    for (i, &b) in s.iter().enumerate() {
        let ok = match b {
            b'%' => matches!(
                (s.get(i + 1), s.get(i + 2)),
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit()
            ),
            b'-' | b'.' | b'_' | b'~' | b'/' | b':' | b'@' => true,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
            _ => b.is_ascii_alphanumeric(),
        };
        if !ok {
            return Err(format!(
                "byte {:?} is not allowed in a path (use %HH)",
                char::from(b)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Seg {
        Seg::Lit(s.as_bytes().into())
    }

    #[test]
    fn templates_parse() {
        let t = parse_template("/users/{id}/posts/{post_2}").unwrap();
        assert_eq!(
            t.segs,
            vec![lit("users"), Seg::Param, lit("posts"), Seg::Param]
        );
        assert_eq!(&*t.names, &["id".into(), "post_2".into()] as &[Box<str>]);
        assert_eq!((t.literal_count(), t.fixed_count()), (2, 4));
        assert_eq!(t.shape(), "/users/{}/posts/{}");

        let t = parse_template("/files/{*rest}").unwrap();
        assert_eq!(t.segs, vec![lit("files"), Seg::CatchAll]);
        assert!(t.has_catch_all());
        assert_eq!(t.fixed_count(), 1);

        assert_eq!(parse_template("/").unwrap().segs, vec![lit("")]);
        assert_eq!(parse_template("/a/").unwrap().segs, vec![lit("a"), lit("")]);
    }

    #[test]
    fn bad_templates_rejected() {
        let bad = [
            "users/{id}",
            "/users/{id",
            "/users/id}",
            "/users/{}",
            "/users/{i-d}",
            "/users/{id}/{id}",
            "/users/x{id}",
            "/users/{id}x",
            "/users/{{id}}",
            "/users/{a}{b}",
            "/files/{*rest}/x",
            "/a//b",
            "/a b/{id}",
            "/a?/{id}",
        ];
        for s in bad {
            assert!(parse_template(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn rewrites_parse() {
        let names: Vec<Box<str>> = vec!["id".into(), "rest".into()];
        let got = parse_rewrite("/internal/{id}/x/{*rest}", Some(&names)).unwrap();
        assert_eq!(
            got,
            vec![
                Piece::Lit(b"/internal/".as_slice().into()),
                Piece::Param(0),
                Piece::Lit(b"/x/".as_slice().into()),
                Piece::Param(1),
            ]
        );
        assert!(parse_rewrite("/{rest}", Some(&names)).is_ok());
        assert!(parse_rewrite("/{nope}", Some(&names)).is_err());
        assert!(parse_rewrite("/{id", Some(&names)).is_err());
        assert!(parse_rewrite("/id}", Some(&names)).is_err());
        assert!(parse_rewrite("/{{id}}", Some(&names)).is_err());
        assert!(parse_rewrite("v2", None).is_err());
        assert!(parse_rewrite("/v2/{id}", None).is_err());
        assert!(parse_rewrite("/v2?x=1", None).is_err());
        assert_eq!(parse_rewrite("/v2", None).unwrap().len(), 1);
    }

    #[test]
    fn path_bytes() {
        assert!(check_path_bytes(b"/a-b_c.d~e/%20/:@!$&'()*+,;=").is_ok());
        for bad in ["/a b", "/a?b", "/a#b", "/a%2", "/a%zz", "/a\"", "/é"] {
            assert!(check_path_bytes(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
