//! Incremental search for the end of a head.
//!
//! The proxy re-feeds a growing buffer until the head is complete. The scanner
//! remembers how far it got and the LF offset of every line, so each call
//! costs O(new bytes) and the final parse does not search for line ends again.
//!
//! It skips 16-byte runs without any byte < 0x20 or == 0x7F (vectorized
//! fold); other bytes are looked at 8 at a time with exact SWAR masks
//! (safe code), which find LFs and count control bytes. A head whose only
//! control bytes are its CRLF line ends is "clean", and the field parser
//! then skips re-validating values. (One memchr call per line cost
//! more than this whole pass on typical heads.)
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
    /// Control bytes (< 0x20 or DEL) seen, LFs included. Every LF is checked
    /// to follow a CR, so this is exactly twice the LF count iff the only
    /// control bytes are the CRLF line ends (a HTAB also makes it unequal:
    /// such heads just take the slower, fully checked path).
    ctls: usize,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;

// Byte-parallel tests on a little-endian u64 (byte i = bits 8i..8i+8). Each
// returns 0x80 in every byte that matches and 0 elsewhere, exactly: adding
// 0x7f/0x60 to the low 7 bits of a byte never carries into the next byte.

/// Bytes equal to `b`.
#[inline]
fn eq_bytes(x: u64, b: u8) -> u64 {
    let t = x ^ (ONES * u64::from(b));
    !(((t & LOW7) + LOW7) | t) & HIGHS
}

/// Bytes below 0x20 (CTLs other than DEL).
#[inline]
fn below_space(x: u64) -> u64 {
    !(((x & LOW7) + ONES * 0x60) | x) & HIGHS
}

/// Whether any of 16 bytes is < 0x20 or DEL. Written as a fixed-size fold
/// so LLVM emits a handful of SSE2 instructions (pminub/pcmpeqb/pmovmskb).
#[inline]
fn any_ctl16(c: &[u8; 16]) -> bool {
    c.iter()
        .fold(0u8, |a, &b| a | u8::from(b < 0x20 || b == 0x7f))
        != 0
}

/// 8 bytes at `at` (fewer at the end, padded with a byte that matches
/// nothing) and how many are real.
#[inline]
fn word_at(buf: &[u8], at: usize) -> (u64, usize) {
    if let Some(w) = buf
        .get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        return (u64::from_le_bytes(w), 8);
    }
    let tail = buf.get(at..).unwrap_or_default();
    let mut w = [b'a'; 8];
    for (d, s) in w.iter_mut().zip(tail) {
        *d = *s;
    }
    (u64::from_le_bytes(w), tail.len().min(8))
}

impl Scanner {
    pub(crate) fn reset(&mut self) {
        self.pos = 0;
        self.line_start = 0;
        self.start_line_at = 0;
        self.leading_empty = 0;
        self.lfs.clear();
        self.ctls = 0;
    }

    /// Nothing scanned since the last reset: the next call sees the head
    /// from its first byte.
    pub(crate) fn is_fresh(&self) -> bool {
        self.pos == 0
    }

    /// After a complete scan: the head has no control bytes besides the
    /// CRLF line ends.
    pub(crate) fn clean(&self) -> bool {
        self.ctls == 2 * (self.leading_empty + self.lfs.len() + 1)
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
        let mut at = self.pos;
        while at < buf.len() {
            // Most 16-byte runs of a head hold no control byte at all.
            let run = buf
                .get(at..at + 16)
                .and_then(|c| <&[u8; 16]>::try_from(c).ok());
            if run.is_some_and(|c| !any_ctl16(c)) {
                at += 16;
                continue;
            }
            let (x, n) = word_at(buf, at);
            let ctl = below_space(x) | eq_bytes(x, 0x7f);
            let mut lfs = eq_bytes(x, b'\n');
            while lfs != 0 {
                let k = (lfs.trailing_zeros() / 8) as usize;
                lfs &= lfs - 1;
                if let Some(head_len) = self.on_lf(buf, at + k, lim)? {
                    // Only the bytes up to the final LF belong to the head.
                    let upto = u64::MAX >> (56 - 8 * k);
                    self.ctls += (ctl & upto).count_ones() as usize;
                    self.pos = head_len;
                    return Ok(Some(head_len));
                }
            }
            self.ctls += ctl.count_ones() as usize;
            at += n;
        }
        self.pos = buf.len();
        self.check_limits(buf.len(), lim)?;
        Ok(None)
    }

    /// Handles the LF at `lf`; `Some(head_len)` if it ends the head.
    fn on_lf(
        &mut self,
        buf: &[u8],
        lf: usize,
        lim: &ScanLimits,
    ) -> Result<Option<usize>, ParseErrorKind> {
        self.check_limits(lf, lim)?;
        if lf == self.line_start || buf.get(lf - 1) != Some(&b'\r') {
            return Err(ParseErrorKind::BareLf);
        }
        let empty = lf - 1 == self.line_start;
        let done = self.on_line(lf, empty, lim)?;
        self.line_start = lf + 1;
        Ok(done)
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
        assert!(s.clean());
    }

    #[test]
    fn clean_means_only_crlf_controls() {
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody\t\x00\r", true),
            (
                b"\r\nGET / HTTP/1.1\r\nHost: a\r\nUser-Agent: some long value here\r\n\r\n",
                true,
            ),
            (b"GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\x7fb\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n", false),
        ];
        for (buf, clean) in cases {
            let mut s = Scanner::default();
            assert!(matches!(s.scan(buf, &LIM), Ok(Some(_))));
            assert_eq!(s.clean(), *clean, "{:?}", String::from_utf8_lossy(buf));
        }
    }
}
