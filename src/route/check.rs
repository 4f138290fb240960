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
}

impl PathError {
    /// Short, stable text for logs and the 400 body.
    pub fn reason(&self) -> &'static str {
        match self {
            PathError::DotSegment => "dot-segment in path",
            PathError::EncodedSlash => "encoded slash in path",
            PathError::Backslash => "backslash in path",
            PathError::EncodedNul => "encoded NUL in path",
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
/// backslashes (raw or `%5c`) and `%00`. `path` excludes the query string.
pub fn check_path(path: &[u8]) -> Result<(), PathError> {
    if memchr::memchr(b'\\', path).is_some() {
        return Err(PathError::Backslash);
    }
    for i in memchr::memchr_iter(b'%', path) {
        match (path.get(i + 1), path.get(i + 2)) {
            (Some(b'2'), Some(b'f' | b'F')) => return Err(PathError::EncodedSlash),
            (Some(b'5'), Some(b'c' | b'C')) => return Err(PathError::Backslash),
            (Some(b'0'), Some(b'0')) => return Err(PathError::EncodedNul),
            _ => {}
        }
    }
    if path.split(|&b| b == b'/').any(is_dot_segment) {
        return Err(PathError::DotSegment);
    }
    Ok(())
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
            "/a/%2e%2e%2e",
            "/a/%2ex",
            "/a;b/c",
            "/a//b",
            "/a%20b",
            "/a%",
            "/a%2",
            "/%25",
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
        ];
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                assert_ne!(a.reason(), b.reason());
            }
        }
    }
}
