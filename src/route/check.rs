//! Request-path safety check, run by the proxy before routing.
//!
//! Routing compares raw bytes, so anything an upstream might normalize
//! differently from us is a way around a route: `/public/../admin` matches the
//! prefix `/public` here but reaches `/admin` upstream. Rather than normalize
//! (and then forward bytes that differ from what the client sent), we refuse
//! the ambiguous forms outright; the proxy answers 400.

use std::fmt;

/// Why a request path was refused by [`check_path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// A `.` or `..` segment, literal or percent-encoded (`%2e`), also with a
    /// `;params` tail (`..;`), which some servers strip before resolving.
    DotSegment,
    /// `%2f` / `%2F`: an upstream that decodes it sees a different segment split.
    EncodedSlash,
    /// `\` or `%5c`: some servers treat a backslash as a separator.
    Backslash,
    /// `%00`: truncates paths in C-string based upstreams.
    EncodedNul,
    /// `//`: after a prefix strip it becomes a scheme-relative `//host` to
    /// some frameworks, and servers disagree on merging slashes.
    EmptySegment,
    /// A percent-encoded unreserved character (`%61` for `a`): equivalent to
    /// the plain character per RFC 3986 §6.2.2.2, so `/%61pi` would reach
    /// `/api` upstream without matching a `/api` route here.
    EncodedUnreserved,
    /// `%` not followed by two hex digits: upstreams disagree on its meaning.
    BadPercentEncoding,
}

impl PathError {
    /// Short, stable text for logs and the 400 body.
    pub fn reason(&self) -> &'static str {
        match self {
            PathError::DotSegment => "dot_segment",
            PathError::EncodedSlash => "encoded_slash",
            PathError::Backslash => "backslash",
            PathError::EncodedNul => "encoded_nul",
            PathError::EmptySegment => "empty_segment",
            PathError::EncodedUnreserved => "encoded_unreserved",
            PathError::BadPercentEncoding => "bad_percent_encoding",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for PathError {}

/// Refuse request paths that an upstream could resolve differently from the
/// router: dot-segments (also `%2e` forms and `..;`), encoded slashes,
/// backslashes (raw or `%5c`), `%00`, `//`, percent-encoded unreserved
/// characters and malformed `%` escapes. `path` excludes the query string.
pub fn check_path(path: &[u8]) -> Result<(), PathError> {
    if memchr::memchr(b'\\', path).is_some() {
        return Err(PathError::Backslash);
    }
    if path.split(|&b| b == b'/').any(is_dot_segment) {
        return Err(PathError::DotSegment);
    }
    for i in memchr::memchr_iter(b'%', path) {
        check_escape(path.get(i + 1).copied(), path.get(i + 2).copied())?;
    }
    if memchr::memmem::find(path, b"//").is_some() {
        return Err(PathError::EmptySegment);
    }
    Ok(())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks the two characters after a `%`.
fn check_escape(hi: Option<u8>, lo: Option<u8>) -> Result<(), PathError> {
    let (Some(hi), Some(lo)) = (hi.and_then(hex_value), lo.and_then(hex_value)) else {
        return Err(PathError::BadPercentEncoding);
    };
    match hi << 4 | lo {
        b'/' => Err(PathError::EncodedSlash),
        b'\\' => Err(PathError::Backslash),
        0 => Err(PathError::EncodedNul),
        c if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') => {
            Err(PathError::EncodedUnreserved)
        }
        _ => Ok(()),
    }
}

/// True for `.`/`..` once `%2e` is decoded, ignoring a `;params` tail.
fn is_dot_segment(seg: &[u8]) -> bool {
    let seg = match memchr::memchr(b';', seg) {
        Some(end) => seg.get(..end).unwrap_or(seg),
        None => seg,
    };
    let mut dots = 0;
    let mut rest = seg;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_ambiguous_paths() {
        let table: &[(&str, PathError)] = &[
            ("/a/../b", PathError::DotSegment),
            ("/a/./b", PathError::DotSegment),
            ("/..", PathError::DotSegment),
            ("/.", PathError::DotSegment),
            ("/a/..", PathError::DotSegment),
            ("..", PathError::DotSegment),
            ("/a/%2e%2e/b", PathError::DotSegment),
            ("/a/%2E./b", PathError::DotSegment),
            ("/a/.%2E/b", PathError::DotSegment),
            ("/a/%2e/b", PathError::DotSegment),
            ("/..;/admin", PathError::DotSegment),
            ("/a/.;x=1/b", PathError::DotSegment),
            ("/a%2fb", PathError::EncodedSlash),
            ("/a%2Fb", PathError::EncodedSlash),
            ("/a\\b", PathError::Backslash),
            ("/a%5cb", PathError::Backslash),
            ("/a%5Cb", PathError::Backslash),
            ("/a%00b", PathError::EncodedNul),
            ("/a//b", PathError::EmptySegment),
            ("//evil.example/x", PathError::EmptySegment),
            ("/%61pi", PathError::EncodedUnreserved),
            ("/a%2Db", PathError::EncodedUnreserved),
            ("/a%7e", PathError::EncodedUnreserved),
            ("/a/%2ex", PathError::EncodedUnreserved),
            ("/a/%2e%2e%2e", PathError::EncodedUnreserved),
            ("/a%", PathError::BadPercentEncoding),
            ("/a%2", PathError::BadPercentEncoding),
            ("/a%zz", PathError::BadPercentEncoding),
        ];
        for (path, want) in table {
            assert_eq!(check_path(path.as_bytes()), Err(*want), "{path}");
        }
    }

    #[test]
    fn accepts_ordinary_paths() {
        let ok = [
            "/",
            "",
            "/a/..b/c",
            "/a/b..",
            "/.well-known/x",
            "/a/...",
            "/a/.../b",
            "/a;b/c",
            "/a%20b",
            "/%25",
            "/caf%C3%A9",
            "/a%3Fb",
        ];
        for path in ok {
            assert_eq!(check_path(path.as_bytes()), Ok(()), "{path}");
        }
    }

    #[test]
    fn reasons_are_distinct() {
        let all = [
            PathError::DotSegment,
            PathError::EncodedSlash,
            PathError::Backslash,
            PathError::EncodedNul,
            PathError::EmptySegment,
            PathError::EncodedUnreserved,
            PathError::BadPercentEncoding,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                assert_ne!(a.reason(), b.reason());
            }
        }
    }
}
