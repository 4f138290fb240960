//! Incremental search for the end of a head.
//!
//! The proxy re-feeds a growing buffer until the head is complete. The scanner
//! remembers how far it got and the LF offset of every line, so each call
//! costs O(new bytes) (memchr over the unseen tail) and the final parse does
//! not search for line ends again.
//!
//! Errors are a function of the bytes seen in order, never of how the input
//! was split: a limit is reported as soon as the bytes prove it is exceeded,
//! and when two limits are exceeded the one crossed at the earlier offset wins.
//! So a prefix either returns Partial or the same error as the whole input.

use smallvec::SmallVec;

use super::ParseErrorKind;

#[derive(Clone, Copy, Debug)]
pub(crate) struct ScanLimits {
    /// Longest start line, CRLF excluded.
    pub start_line_bytes: usize,
    /// Longest head, final CRLFCRLF and skipped leading CRLFs included.
    pub head_bytes: usize,
    pub fields_count: usize,
    /// Empty lines allowed (and skipped) before the start line.
    pub leading_empty_lines: usize,
    /// Error when there are more leading empty lines than that.
    pub leading_empty_error: ParseErrorKind,
    /// Error for an over-long start line.
    pub start_line_error: ParseErrorKind,
}

#[derive(Debug, Default)]
pub(crate) struct Scanner {
    /// Next byte not yet searched for LF.
    pos: usize,
    /// First byte of the line in progress.
    line_start: usize,
    /// First byte of the start line (after skipped empty lines).
    start_line_at: usize,
    leading_empty: usize,
    /// LF offsets: the start line's, then one per field line.
    lfs: SmallVec<[u32; 40]>,
}

impl Scanner {
    pub(crate) fn reset(&mut self) {
        self.pos = 0;
        self.line_start = 0;
        self.start_line_at = 0;
        self.leading_empty = 0;
        self.lfs.clear();
    }

    pub(crate) fn start_line_at(&self) -> usize {
        self.start_line_at
    }

    pub(crate) fn lfs(&self) -> &[u32] {
        &self.lfs
    }

    /// `Some(head_len)` once the empty line ending the head has been seen.
    pub(crate) fn scan(
        &mut self,
        buf: &[u8],
        lim: &ScanLimits,
    ) -> Result<Option<usize>, ParseErrorKind> {
        if buf.len() < self.pos {
            // The caller broke the "buffer only grows" contract; start over
            // rather than trust stale offsets.
            self.reset();
        }
        let from = self.pos;
        let tail = buf.get(from..).unwrap_or_default();
        for lf in memchr::memchr_iter(b'\n', tail).map(|off| from + off) {
            self.check_limits(lf, lim)?;
            if lf == self.line_start || buf.get(lf - 1) != Some(&b'\r') {
                return Err(ParseErrorKind::BareLf);
            }
            let empty = lf - 1 == self.line_start;
            if let Some(head_len) = self.on_line(lf, empty, lim)? {
                self.pos = head_len;
                return Ok(Some(head_len));
            }
            self.line_start = lf + 1;
        }
        self.pos = buf.len();
        self.check_limits(buf.len(), lim)?;
        Ok(None)
    }

    fn on_line(
        &mut self,
        lf: usize,
        empty: bool,
        lim: &ScanLimits,
    ) -> Result<Option<usize>, ParseErrorKind> {
        if self.lfs.is_empty() {
            if empty {
                if self.leading_empty >= lim.leading_empty_lines {
                    return Err(lim.leading_empty_error);
                }
                self.leading_empty += 1;
                self.start_line_at = lf + 1;
            } else {
                self.lfs.push(lf as u32);
            }
            return Ok(None);
        }
        if empty {
            let head_len = lf + 1;
            if head_len > lim.head_bytes {
                return Err(ParseErrorKind::HeadersTooLarge);
            }
            return Ok(Some(head_len));
        }
        self.lfs.push(lf as u32);
        if self.lfs.len() - 1 > lim.fields_count {
            return Err(ParseErrorKind::TooManyHeaders);
        }
        Ok(None)
    }

    /// `seen` bytes are known and no LF among them ended the head.
    fn check_limits(&self, seen: usize, lim: &ScanLimits) -> Result<(), ParseErrorKind> {
        // A start line of n content bytes is proven too long once n + 1 bytes
        // are seen that are not LF (the last one might still be its CR).
        let line_over_at = if self.lfs.is_empty() {
            self.line_start
                .saturating_add(lim.start_line_bytes)
                .saturating_add(2)
        } else {
            usize::MAX
        };
        let head_over_at = lim.head_bytes.saturating_add(1);
        if seen < line_over_at.min(head_over_at) {
            return Ok(());
        }
        Err(if line_over_at <= head_over_at {
            lim.start_line_error
        } else {
            ParseErrorKind::HeadersTooLarge
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: ScanLimits = ScanLimits {
        start_line_bytes: 100,
        head_bytes: 1000,
        fields_count: 10,
        leading_empty_lines: 1,
        leading_empty_error: ParseErrorKind::InvalidMethod,
        start_line_error: ParseErrorKind::RequestLineTooLong,
    };

    /// Re-feeding a growing buffer only searches the new bytes.
    #[test]
    fn resumes_where_it_stopped() {
        let buf = b"\r\nGET / HTTP/1.1\r\nA: b\r\nC: d\r\n\r\nbody";
        let mut s = Scanner::default();
        for end in 0..buf.len() {
            let r = s.scan(&buf[..end], &LIM).unwrap();
            if r.is_some() {
                break;
            }
            assert_eq!(s.pos, end, "everything seen so far is remembered");
        }
        let mut s = Scanner::default();
        assert_eq!(s.scan(&buf[..20], &LIM), Ok(None));
        assert_eq!(s.lfs(), &[17]);
        assert_eq!(s.scan(buf, &LIM), Ok(Some(buf.len() - 4)));
        assert_eq!(s.start_line_at(), 2);
        assert_eq!(s.lfs(), &[17, 23, 29]);
    }
}
