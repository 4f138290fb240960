//! Request-path safety check, run by the proxy before routing.
//!
//! Routing compares raw bytes, so anything an upstream might normalize
//! differently from us is a way around a route: `/public/../admin` matches the
//! prefix `/public` here but reaches `/admin` upstream. Rather than normalize
//! (and then forward bytes that differ from what the client sent), we refuse
//! the ambiguous forms outright; the proxy answers 400.
//!
//! [`PathPolicy`] relaxes the two families that have legitimate users:
//! `;` path parameters (`/app;jsessionid=1`), and the escapes common
//! upstreams decode into a delimiter or trim (`%3B`, `%23`, `%3F`, `%20` at
//! a segment edge).

use std::fmt;

use crate::http::hex_value;

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
    /// A `;` while [`PathPolicy::allow_path_params`] is off: Tomcat, Jetty
    /// and Spring drop `;params` from each segment, so `/admin;x` is
    /// `/admin` to them. With params allowed, a segment that is nothing but
    /// params (`/a/;x/b`) is still refused: it leaves an empty segment.
    PathParams,
    /// `%3B`, `%23` or `%3F`: an upstream that decodes before routing sees
    /// `;`, `#` or `?` and cuts the segment there (`/admin%3Bx` → `/admin`).
    EncodedDelimiter,
    /// `%20` first or last in a segment: upstreams that trim path tokens
    /// (Spring's matcher) read `/admin%20` as `/admin`.
    EncodedSpace,
    /// A percent-encoded control byte (`%01`..`%1F`, `%7F`): no legitimate
    /// use, and trimmed or truncated by some upstreams like `%20` and `%00`.
    EncodedControl,
}

/// Which refusals of [`check_path`] the config relaxes. The default refuses
/// everything listed on [`PathError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathPolicy {
    /// `[proxy] allow_path_params`: accept `;` and match routes on the path
    /// with every segment's `;params` removed ([`strip_path_params`]).
    pub allow_path_params: bool,
    /// `[proxy] allow_ambiguous_escapes`: accept `%3B`, `%23`, `%3F` and a
    /// `%20` at a segment edge.
    pub allow_ambiguous_escapes: bool,
}

impl PathError {
    /// Every variant, for tests and counters.
    pub const ALL: [PathError; 11] = [
        PathError::DotSegment,
        PathError::EncodedSlash,
        PathError::Backslash,
        PathError::EncodedNul,
        PathError::EmptySegment,
        PathError::EncodedUnreserved,
        PathError::BadPercentEncoding,
        PathError::PathParams,
        PathError::EncodedDelimiter,
        PathError::EncodedSpace,
        PathError::EncodedControl,
    ];

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
            PathError::PathParams => "path_params",
            PathError::EncodedDelimiter => "encoded_delimiter",
            PathError::EncodedSpace => "encoded_space",
            PathError::EncodedControl => "encoded_control",
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
/// characters, malformed `%` escapes, encoded controls, and unless `policy`
/// allows them `;` and the escapes upstreams decode into a delimiter or
/// trim. `path` excludes the query string.
pub fn check_path(path: &[u8], policy: PathPolicy) -> Result<(), PathError> {
    if plain(path) {
        return Ok(());
    }
    if memchr::memchr(b'\\', path).is_some() {
        return Err(PathError::Backslash);
    }
    if path.split(|&b| b == b'/').any(is_dot_segment) {
        return Err(PathError::DotSegment);
    }
    for i in memchr::memchr_iter(b'%', path) {
        let byte = decode_escape(path.get(i + 1).copied(), path.get(i + 2).copied())?;
        if !policy.allow_ambiguous_escapes {
            check_ambiguous(byte, path.get(i.wrapping_sub(1)), path.get(i + 3))?;
        }
    }
    if memchr::memmem::find(path, b"//").is_some() {
        return Err(PathError::EmptySegment);
    }
    if memchr::memchr(b';', path).is_some() {
        check_params(path, policy)?;
    }
    Ok(())
}

/// No byte any check below looks for (`\\`, `.`, `%`, `;`) and no `//`:
/// the common path passes in one short loop instead of five scans.
fn plain(path: &[u8]) -> bool {
    let mut prev = 0u8;
    for &b in path {
        if matches!(b, b'\\' | b'.' | b'%' | b';') || (b == b'/' && prev == b'/') {
            return false;
        }
        prev = b;
    }
    true
}

/// With params allowed, a segment made only of params (`/a/;x/b`) would
/// leave an empty segment once stripped; only the last segment may be one
/// (`/a/;x` → `/a/`).
fn check_params(path: &[u8], policy: PathPolicy) -> Result<(), PathError> {
    if !policy.allow_path_params {
        return Err(PathError::PathParams);
    }
    let mut segs = path.split(|&b| b == b'/').skip(1).peekable();
    while let Some(seg) = segs.next() {
        if seg.first() == Some(&b';') && segs.peek().is_some() {
            return Err(PathError::PathParams);
        }
    }
    Ok(())
}

/// Appends `path` with every segment's `;params` removed (`/a;x/b;y=1` →
/// `/a/b`): the form Tomcat, Jetty and Spring route on, so routes are
/// matched against what the upstream will act on. For paths that passed
/// [`check_path`] with params allowed.
pub fn strip_path_params(path: &[u8], out: &mut Vec<u8>) {
    let mut rest = path;
    while let Some(semi) = memchr::memchr(b';', rest) {
        let (keep, params) = rest.split_at(semi);
        out.extend_from_slice(keep);
        let next = memchr::memchr(b'/', params).unwrap_or(params.len());
        rest = params.get(next..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

/// Decodes the two characters after a `%`, refusing what is never allowed.
fn decode_escape(hi: Option<u8>, lo: Option<u8>) -> Result<u8, PathError> {
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
        c if c < 0x20 || c == 0x7f => Err(PathError::EncodedControl),
        c => Ok(c),
    }
}

/// The escapes [`PathPolicy::allow_ambiguous_escapes`] governs. `before` is
/// the byte before the `%`, `after` the byte after the escape.
fn check_ambiguous(byte: u8, before: Option<&u8>, after: Option<&u8>) -> Result<(), PathError> {
    let at_edge = matches!(before, None | Some(b'/')) || matches!(after, None | Some(b'/' | b';'));
    match byte {
        b';' | b'#' | b'?' => Err(PathError::EncodedDelimiter),
        b' ' if at_edge => Err(PathError::EncodedSpace),
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
            ("/a%01", PathError::EncodedControl),
            ("/a%09b", PathError::EncodedControl),
            ("/a%0A", PathError::EncodedControl),
            ("/a%0d", PathError::EncodedControl),
            ("/a%1f", PathError::EncodedControl),
            ("/a%7F", PathError::EncodedControl),
            ("/admin;x", PathError::PathParams),
            ("/admin;jsessionid=1/x", PathError::PathParams),
            ("/;x", PathError::PathParams),
            ("/admin%3bx", PathError::EncodedDelimiter),
            ("/admin%3B", PathError::EncodedDelimiter),
            ("/admin%23x", PathError::EncodedDelimiter),
            ("/admin%3fx", PathError::EncodedDelimiter),
            ("/a%3Fb", PathError::EncodedDelimiter),
            ("/admin%20", PathError::EncodedSpace),
            ("/admin%20/x", PathError::EncodedSpace),
            ("/%20admin", PathError::EncodedSpace),
            ("/a/%20/b", PathError::EncodedSpace),
            ("/admin%20%20", PathError::EncodedSpace),
        ];
        for (path, want) in table {
            assert_eq!(check_path(path.as_bytes(), STRICT), Err(*want), "{path}");
        }
    }

    const STRICT: PathPolicy = PathPolicy {
        allow_path_params: false,
        allow_ambiguous_escapes: false,
    };
    const PARAMS: PathPolicy = PathPolicy {
        allow_path_params: true,
        allow_ambiguous_escapes: false,
    };
    const ESCAPES: PathPolicy = PathPolicy {
        allow_path_params: false,
        allow_ambiguous_escapes: true,
    };

    #[test]
    fn default_policy_is_strict() {
        assert_eq!(PathPolicy::default(), STRICT);
    }

    #[test]
    fn params_policy() {
        for ok in [
            "/admin;x",
            "/admin;jsessionid=1/x",
            "/a;b/c;d=1",
            "/;jsessionid=1",
            "/a/;x",
        ] {
            assert_eq!(check_path(ok.as_bytes(), PARAMS), Ok(()), "{ok}");
        }
        for bad in ["/a/;x/b", "/;x/admin"] {
            assert_eq!(
                check_path(bad.as_bytes(), PARAMS),
                Err(PathError::PathParams),
                "{bad}"
            );
        }
        // Params never hide a dot-segment or an ambiguous escape.
        assert_eq!(
            check_path(b"/..;x/admin", PARAMS),
            Err(PathError::DotSegment)
        );
        assert_eq!(
            check_path(b"/admin%20;x", PARAMS),
            Err(PathError::EncodedSpace)
        );
        assert_eq!(check_path(b"/admin;x", ESCAPES), Err(PathError::PathParams));
    }

    #[test]
    fn escapes_policy() {
        for ok in ["/admin%3bx", "/admin%23", "/a%3Fb", "/admin%20", "/%20a"] {
            assert_eq!(check_path(ok.as_bytes(), ESCAPES), Ok(()), "{ok}");
        }
        // Controls, NUL and encoded slashes stay refused.
        assert_eq!(
            check_path(b"/a%09", ESCAPES),
            Err(PathError::EncodedControl)
        );
        assert_eq!(check_path(b"/a%00", ESCAPES), Err(PathError::EncodedNul));
        assert_eq!(check_path(b"/a%2f", ESCAPES), Err(PathError::EncodedSlash));
    }

    #[test]
    fn strips_params_per_segment() {
        let table = [
            ("/admin;x", "/admin"),
            ("/admin;jsessionid=1/x", "/admin/x"),
            ("/a;b;c/d;e=1", "/a/d"),
            ("/;jsessionid=1", "/"),
            ("/a/;x", "/a/"),
            ("/plain", "/plain"),
        ];
        for (path, want) in table {
            let mut out = Vec::new();
            strip_path_params(path.as_bytes(), &mut out);
            assert_eq!(out, want.as_bytes(), "{path}");
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
            "/a%20b",
            "/a%20b%20c/d",
            "/%25",
            "/caf%C3%A9",
            "/a%3Ab",
        ];
        for path in ok {
            assert_eq!(check_path(path.as_bytes(), STRICT), Ok(()), "{path}");
        }
    }

    #[test]
    fn reasons_are_distinct() {
        let all = PathError::ALL;
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                assert_ne!(a.reason(), b.reason());
            }
        }
    }
}
