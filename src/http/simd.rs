//! Byte-class searches for the single-pass head parser: the first control
//! byte of a field value, the first byte that cannot be in a request-target.
//!
//! On x86_64 these look at 16 bytes per step with SSE2 (part of the x86_64
//! baseline, so no runtime detection), with scalar code for the last < 16
//! bytes. Elsewhere, or when built with `--cfg ringgate_scalar` (how the
//! whole test suite is run on the portable path), they use 8-byte SWAR in
//! safe code. Both return exactly the same answers (tested below).

use super::chars::is_tchar;

/// Index of the first byte at or after `from` that is a CTL (< 0x20) or DEL.
/// HTAB counts: the caller decides whether it is allowed where it is.
#[inline]
pub(crate) fn first_ctl(buf: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(ringgate_scalar)))]
    {
        sse2::first_ctl(buf, from)
    }
    #[cfg(not(all(target_arch = "x86_64", not(ringgate_scalar))))]
    {
        swar::first_ctl(buf, from)
    }
}

/// Index of the first byte at or after `from` that is not a request-target
/// byte (`<= 0x20`, `>= 0x7f` or `#`), or is `%` or `?`, which the target
/// parser looks at.
#[inline]
pub(crate) fn first_target_stop(buf: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(ringgate_scalar)))]
    {
        sse2::first_target_stop(buf, from)
    }
    #[cfg(not(all(target_arch = "x86_64", not(ringgate_scalar))))]
    {
        swar::first_target_stop(buf, from)
    }
}

/// `Some(i)` when `buf[from..i]` is a field name (1*tchar) and `buf[i]` is
/// its ':'; `None` otherwise.
#[inline]
pub(crate) fn field_name_end(buf: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(ringgate_scalar)))]
    {
        sse2::field_name_end(buf, from)
    }
    #[cfg(not(all(target_arch = "x86_64", not(ringgate_scalar))))]
    {
        field_name_end_scalar(buf, from)
    }
}

/// `Some((colon, cr))` when `buf[from..]` starts with a field line up to
/// its CR: `buf[from..colon]` is a field name (1*tchar), `buf[colon]` its
/// ':', and `buf[colon + 1..cr]` holds no control byte but HTAB. The caller
/// checks the LF after `cr`. `None` otherwise.
#[inline]
pub(crate) fn field_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    #[cfg(all(target_arch = "x86_64", not(ringgate_scalar)))]
    {
        sse2::field_line(buf, from)
    }
    #[cfg(not(all(target_arch = "x86_64", not(ringgate_scalar))))]
    {
        field_line_parts(buf, from)
    }
}

/// `field_line` as two searches: the name's ':', then the CR.
#[inline]
pub(crate) fn field_line_parts(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let colon = field_name_end(buf, from)?;
    Some((colon, line_end(buf, colon + 1)?))
}

/// The CR ending the value-bytes run that starts at `from`: HTAB is the
/// only control byte allowed before it. The caller checks the LF.
#[inline]
pub(crate) fn line_end(buf: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let i = first_ctl(buf, from)?;
        match buf.get(i)? {
            b'\r' => return Some(i),
            b'\t' => from = i + 1,
            _ => return None,
        }
    }
}

/// Length of the run of letters, digits, '-' and '.' at the start of
/// `buf[start..end]` — the bytes almost every host name is made of, a
/// subset of the reg-name bytes. `None` when `start..end` is not inside
/// `buf`.
#[inline]
pub(crate) fn simple_host_len(buf: &[u8], start: usize, end: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(ringgate_scalar)))]
    {
        sse2::simple_host_len(buf, start, end)
    }
    #[cfg(not(all(target_arch = "x86_64", not(ringgate_scalar))))]
    {
        simple_host_len_scalar(buf, start, end)
    }
}

#[inline]
fn is_simple_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// The byte loop behind `simple_host_len`.
#[inline]
pub(crate) fn simple_host_len_scalar(buf: &[u8], start: usize, end: usize) -> Option<usize> {
    let s = buf.get(start..end)?;
    Some(
        s.iter()
            .position(|&b| !is_simple_host_byte(b))
            .unwrap_or(s.len()),
    )
}

/// The byte loop behind `field_name_end`.
#[inline]
pub(crate) fn field_name_end_scalar(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let n = rest.iter().position(|&b| !is_tchar(b))?;
    (n > 0 && rest.get(n) == Some(&b':')).then_some(from + n)
}

#[inline]
fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

#[inline]
fn is_target_stop(b: u8) -> bool {
    b <= 0x20 || b >= 0x7f || b == b'#' || b == b'%' || b == b'?'
}

/// Portable 8-bytes-at-a-time versions (exact byte masks, see scan.rs).
#[cfg_attr(
    all(target_arch = "x86_64", not(ringgate_scalar), not(test)),
    allow(dead_code)
)]
pub(crate) mod swar {
    use super::{is_ctl, is_target_stop};

    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// 0x80 in each byte equal to `b`.
    #[inline]
    fn eq(x: u64, b: u8) -> u64 {
        let t = x ^ (ONES * u64::from(b));
        !(((t & LOW7) + LOW7) | t) & HIGHS
    }

    /// 0x80 in each byte below `n` (n <= 0x80).
    #[inline]
    fn below(x: u64, n: u8) -> u64 {
        !(((x & LOW7) + ONES * u64::from(0x80 - n)) | x) & HIGHS
    }

    #[inline]
    fn search(
        buf: &[u8],
        from: usize,
        mask: impl Fn(u64) -> u64,
        one: impl Fn(u8) -> bool,
    ) -> Option<usize> {
        let rest = buf.get(from..)?;
        let mut words = rest.chunks_exact(8);
        let mut at = from;
        for w in words.by_ref() {
            let x = u64::from_le_bytes(<[u8; 8]>::try_from(w).ok()?);
            let m = mask(x);
            if m != 0 {
                return Some(at + (m.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        words
            .remainder()
            .iter()
            .position(|&b| one(b))
            .map(|i| at + i)
    }

    pub(crate) fn first_ctl(buf: &[u8], from: usize) -> Option<usize> {
        search(buf, from, |x| below(x, 0x20) | eq(x, 0x7f), is_ctl)
    }

    pub(crate) fn first_target_stop(buf: &[u8], from: usize) -> Option<usize> {
        // >= 0x7f is "not below 0x7f" for ASCII plus every byte with the
        // high bit set.
        search(
            buf,
            from,
            |x| {
                below(x, 0x21) | eq(x, 0x7f) | (x & HIGHS) | eq(x, b'#') | eq(x, b'%') | eq(x, b'?')
            },
            is_target_stop,
        )
    }
}

#[cfg(all(target_arch = "x86_64", not(ringgate_scalar)))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_min_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
    };

    use super::{
        field_line_parts, field_name_end_scalar, is_ctl, is_target_stop, line_end,
        simple_host_len_scalar,
    };

    // The intrinsics are safe to call inside `#[target_feature(enable =
    // "sse2")]` functions; calling those needs `unsafe` even though SSE2 is
    // part of the x86_64 baseline (so always present), and the unaligned
    // load takes a raw pointer.

    #[inline]
    pub(super) fn first_ctl(buf: &[u8], from: usize) -> Option<usize> {
        // SAFETY: SSE2 is enabled on every x86_64 CPU (baseline of the target).
        #[allow(unsafe_code)]
        unsafe {
            first_ctl_sse2(buf, from)
        }
    }

    #[inline]
    pub(super) fn first_target_stop(buf: &[u8], from: usize) -> Option<usize> {
        // SAFETY: SSE2 is enabled on every x86_64 CPU (baseline of the target).
        #[allow(unsafe_code)]
        unsafe {
            first_target_stop_sse2(buf, from)
        }
    }

    #[inline]
    pub(super) fn field_name_end(buf: &[u8], from: usize) -> Option<usize> {
        // SAFETY: SSE2 is enabled on every x86_64 CPU (baseline of the target).
        #[allow(unsafe_code)]
        unsafe {
            field_name_end_sse2(buf, from)
        }
    }

    #[inline]
    pub(super) fn field_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
        // SAFETY: SSE2 is enabled on every x86_64 CPU (baseline of the target).
        #[allow(unsafe_code)]
        unsafe {
            field_line_sse2(buf, from)
        }
    }

    #[inline]
    pub(super) fn simple_host_len(buf: &[u8], start: usize, end: usize) -> Option<usize> {
        // SAFETY: SSE2 is enabled on every x86_64 CPU (baseline of the target).
        #[allow(unsafe_code)]
        unsafe {
            simple_host_len_sse2(buf, start, end)
        }
    }

    /// 0xff in each byte that is an ASCII letter, digit or '-'.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn letters_digits_dash(x: __m128i) -> __m128i {
        // (x | 0x20) - 'a' <= 25 unsigned: a letter of either case.
        let l = _mm_sub_epi8(
            _mm_or_si128(x, _mm_set1_epi8(0x20)),
            _mm_set1_epi8(b'a' as i8),
        );
        let z_a = _mm_set1_epi8(b'z' as i8 - b'a' as i8);
        let letter = _mm_cmpeq_epi8(_mm_min_epu8(l, z_a), l);
        let d = _mm_sub_epi8(x, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
        let dash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'-' as i8));
        _mm_or_si128(_mm_or_si128(letter, digit), dash)
    }

    /// Host values are short and sit inside the head: one 16-byte load
    /// covers most, taken so that it ends at `end` when 16 bytes from
    /// `start` would run past the buffer.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn simple_host_len_sse2(buf: &[u8], start: usize, end: usize) -> Option<usize> {
        let dot = _mm_set1_epi8(b'.' as i8);
        let simple = |x| {
            let m = _mm_or_si128(letters_digits_dash(x), _mm_cmpeq_epi8(x, dot));
            _mm_movemask_epi8(m) as u32
        };
        let len = end.checked_sub(start)?;
        if end > buf.len() {
            return None;
        }
        let mut at = start;
        while at + 16 <= end {
            let m = simple(load(<&[u8; 16]>::try_from(buf.get(at..at + 16)?).ok()?));
            if m != 0xffff {
                return Some(at - start + (!m).trailing_zeros() as usize);
            }
            at += 16;
        }
        let r = end - at;
        if r == 0 {
            return Some(len);
        }
        // 1..=15 bytes left: a load from `at` if the buffer goes on that
        // far, else the one ending at `end` with the bytes before `at`
        // shifted out.
        let m = match buf.get(at..at + 16) {
            Some(c) => simple(load(<&[u8; 16]>::try_from(c).ok()?)),
            None => match end.checked_sub(16).and_then(|s| buf.get(s..end)) {
                Some(c) => simple(load(<&[u8; 16]>::try_from(c).ok()?)) >> (16 - r),
                // A buffer shorter than 16 bytes.
                None => return simple_host_len_scalar(buf, start, end),
            },
        };
        let bad = !m & ((1u32 << r) - 1);
        Some(
            at - start
                + if bad == 0 {
                    r
                } else {
                    bad.trailing_zeros() as usize
                },
        )
    }

    /// 0xff in each byte that is a CTL (< 0x20) or DEL.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn ctl(x: __m128i) -> __m128i {
        // min(x, 0x1f) == x  <=>  x <= 0x1f (unsigned).
        let low = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
        _mm_or_si128(low, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)))
    }

    /// The common field line — a name of letters, digits and '-' — in one
    /// pass: each 16-byte load checks name bytes and looks for the ':';
    /// the load that holds the ':' also looks for a control byte after it,
    /// and the value search goes on from the next 16 bytes. Anything else
    /// (another tchar, an error, the end of the buffer) takes the two
    /// separate searches, which decide.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn field_line_sse2(buf: &[u8], from: usize) -> Option<(usize, usize)> {
        let mut at = from;
        loop {
            let Some(c) = buf.get(at..at + 16) else {
                return field_line_parts(buf, from);
            };
            let x = load(<&[u8; 16]>::try_from(c).ok()?);
            let colons = _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(b':' as i8))) as u32;
            let name = _mm_movemask_epi8(letters_digits_dash(x)) as u32;
            if colons == 0 {
                if name != 0xffff {
                    return field_line_parts(buf, from);
                }
                at += 16;
                continue;
            }
            let n = colons.trailing_zeros();
            let before = (1u32 << n) - 1;
            if name & before != before || at + n as usize == from {
                return field_line_parts(buf, from);
            }
            // Control bytes after the ':' in these 16 bytes (bits n+1..16).
            let ctls = _mm_movemask_epi8(ctl(x)) as u32 & (0xfffe << n);
            let cr = if ctls != 0 {
                let i = at + ctls.trailing_zeros() as usize;
                match buf.get(i)? {
                    b'\r' => i,
                    _ => line_end(buf, i)?,
                }
            } else {
                line_end(buf, at + 16)?
            };
            return Some((at + n as usize, cr));
        }
    }

    /// Most names are made of letters, digits and '-' only: those are
    /// checked 16 at a time while looking for the ':'. Any other byte
    /// before the ':' (other tchars included) hands over to the byte loop.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn field_name_end_sse2(buf: &[u8], from: usize) -> Option<usize> {
        let colon = _mm_set1_epi8(b':' as i8);
        let mut at = from;
        while let Some(c) = buf.get(at..at + 16) {
            let x = load(<&[u8; 16]>::try_from(c).ok()?);
            let simple = letters_digits_dash(x);
            let ok = _mm_movemask_epi8(simple) as u32;
            let colons = _mm_movemask_epi8(_mm_cmpeq_epi8(x, colon)) as u32;
            if colons != 0 {
                let n = colons.trailing_zeros();
                let before = (1u32 << n) - 1;
                if ok & before == before {
                    let i = at + n as usize;
                    return (i > from).then_some(i);
                }
                break;
            }
            if ok != 0xffff {
                break;
            }
            at += 16;
        }
        field_name_end_scalar(buf, from)
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(c: &[u8; 16]) -> __m128i {
        // SAFETY: `c` is 16 readable bytes; the unaligned load has no
        // alignment requirement.
        #[allow(unsafe_code)]
        unsafe {
            _mm_loadu_si128(c.as_ptr().cast())
        }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn first_ctl_sse2(buf: &[u8], from: usize) -> Option<usize> {
        let mask = |x| _mm_movemask_epi8(ctl(x)) as u32;
        let rest = buf.get(from..)?;
        let mut chunks = rest.chunks_exact(16);
        let mut at = from;
        for c in chunks.by_ref() {
            let m = mask(load(<&[u8; 16]>::try_from(c).ok()?));
            if m != 0 {
                return Some(at + m.trailing_zeros() as usize);
            }
            at += 16;
        }
        let tail = chunks.remainder();
        match last16(buf) {
            Some(c) if !tail.is_empty() => first_in_last(mask(load(c)), tail.len(), at),
            _ => tail.iter().position(|&b| is_ctl(b)).map(|i| at + i),
        }
    }

    /// The last 16 bytes of `buf`, which hold the `r` < 16 bytes left at
    /// its end in their top `r` lanes.
    #[inline]
    fn last16(buf: &[u8]) -> Option<&[u8; 16]> {
        let c = buf.get(buf.len().checked_sub(16)?..)?;
        <&[u8; 16]>::try_from(c).ok()
    }

    /// The first hit among the top `r` lanes of the mask `m` of the last 16
    /// bytes, as an offset from `at`, where those `r` bytes start.
    #[inline]
    fn first_in_last(m: u32, r: usize, at: usize) -> Option<usize> {
        let m = m >> (16 - r);
        (m != 0).then(|| at + m.trailing_zeros() as usize)
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn first_target_stop_sse2(buf: &[u8], from: usize) -> Option<usize> {
        let sp = _mm_set1_epi8(0x20);
        let del = _mm_set1_epi8(0x7f);
        let hash = _mm_set1_epi8(b'#' as i8);
        let pct = _mm_set1_epi8(b'%' as i8);
        let q = _mm_set1_epi8(b'?' as i8);
        let mask = |x| {
            let low = _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x);
            let high = _mm_cmpeq_epi8(_mm_max_epu8(x, del), x);
            let h = _mm_cmpeq_epi8(x, hash);
            let pq = _mm_or_si128(_mm_cmpeq_epi8(x, pct), _mm_cmpeq_epi8(x, q));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(low, high), _mm_or_si128(h, pq))) as u32
        };
        let rest = buf.get(from..)?;
        let mut chunks = rest.chunks_exact(16);
        let mut at = from;
        for c in chunks.by_ref() {
            let m = mask(load(<&[u8; 16]>::try_from(c).ok()?));
            if m != 0 {
                return Some(at + m.trailing_zeros() as usize);
            }
            at += 16;
        }
        let tail = chunks.remainder();
        match last16(buf) {
            Some(c) if !tail.is_empty() => first_in_last(mask(load(c)), tail.len(), at),
            _ => tail.iter().position(|&b| is_target_stop(b)).map(|i| at + i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(buf: &[u8], from: usize, f: fn(u8) -> bool) -> Option<usize> {
        buf.get(from..)?
            .iter()
            .position(|&b| f(b))
            .map(|i| from + i)
    }

    /// Every byte value at every position of buffers of every length up to
    /// 40, starting at every offset: the vector path, the SWAR path and a
    /// byte loop agree.
    #[test]
    fn every_byte_at_every_position() {
        for len in 0..40 {
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut buf = vec![b'a'; len];
                    buf[pos] = b;
                    for from in [0, 1, pos, pos + 1, len] {
                        let mut named = buf.clone();
                        named.push(b':');
                        let n = field_name_end_scalar(&named, from);
                        assert_eq!(field_name_end(&named, from), n);
                        assert_eq!(
                            field_name_end(&buf, from),
                            field_name_end_scalar(&buf, from)
                        );
                        let c = naive(&buf, from, is_ctl);
                        assert_eq!(first_ctl(&buf, from), c);
                        assert_eq!(swar::first_ctl(&buf, from), c);
                        let t = naive(&buf, from, is_target_stop);
                        assert_eq!(first_target_stop(&buf, from), t);
                        assert_eq!(swar::first_target_stop(&buf, from), t);
                    }
                }
            }
        }
        assert_eq!(first_ctl(b"abc", 4), None);
        assert_eq!(
            field_name_end(b"X-Long_Name-0123456789-abcdefghij: v", 0),
            Some(33)
        );
        assert_eq!(
            field_name_end(b"Content-Length-Is-Long-Here-Xyz: v", 0),
            Some(31)
        );
        assert_eq!(
            field_name_end(b"Content-Length-Is-Long-Here-Xy\x00: v", 0),
            None
        );
        assert_eq!(field_name_end(b": v and some more bytes after it", 0), None);
        assert_eq!(first_target_stop(b"abc", 4), None);
    }

    /// Every byte value at every position of names and values of every
    /// length up to 40, from every start: the one-pass field line search
    /// and the two searches agree.
    #[test]
    fn field_line_every_byte_at_every_position() {
        for len in 0..40 {
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut buf = vec![b'a'; len];
                    buf[pos] = b;
                    for from in [0, 1, pos, pos + 1, len] {
                        let mut line = buf.clone();
                        line.extend_from_slice(b": v\r\n");
                        let mut named = buf.clone();
                        named.extend_from_slice(b"-x:");
                        named.extend_from_slice(&buf);
                        named.extend_from_slice(b"\r\n");
                        for l in [&buf[..], &line[..], &named[..]] {
                            assert_eq!(field_line(l, from), field_line_parts(l, from));
                        }
                    }
                }
            }
        }
    }

    /// Every byte value at every position of every host window of buffers
    /// up to 40 bytes: the vector path and the byte loop agree.
    #[test]
    fn simple_host_len_every_byte_at_every_position() {
        for len in 0..40 {
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut buf = vec![b'a'; len];
                    buf[pos] = b;
                    for start in [0, 1, pos.saturating_sub(3), pos, pos + 1] {
                        for end in [start, start + 1, pos + 1, pos + 2, len, len + 1] {
                            assert_eq!(
                                simple_host_len(&buf, start, end),
                                simple_host_len_scalar(&buf, start, end),
                                "{len} {pos} {b} {start}..{end}"
                            );
                        }
                    }
                }
            }
        }
        let h = b"Host: www.example-shop.COM:8080\r\n";
        assert_eq!(simple_host_len(h, 6, 31), Some(20));
        assert_eq!(simple_host_len(h, 6, 26), Some(20));
        assert_eq!(simple_host_len(h, 32, 31), None);
        assert_eq!(simple_host_len(h, 30, 40), None);
    }

    proptest! {
        #[test]
        fn agree_with_a_byte_loop(buf in proptest::collection::vec(any::<u8>(), 0..100), from in 0usize..110) {
            prop_assert_eq!(first_ctl(&buf, from), naive(&buf, from, is_ctl));
            prop_assert_eq!(swar::first_ctl(&buf, from), naive(&buf, from, is_ctl));
            prop_assert_eq!(first_target_stop(&buf, from), naive(&buf, from, is_target_stop));
            prop_assert_eq!(swar::first_target_stop(&buf, from), naive(&buf, from, is_target_stop));
            prop_assert_eq!(field_name_end(&buf, from), field_name_end_scalar(&buf, from));
        }

        #[test]
        fn field_lines_in_any_bytes_agree(buf in proptest::collection::vec(any::<u8>(), 0..100), from in 0usize..110) {
            prop_assert_eq!(field_line(&buf, from), field_line_parts(&buf, from));
        }

        #[test]
        fn field_lines_agree_with_two_searches(name in "[A-Za-z0-9_.!~-]{0,24}", value in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b' '), Just(b'\t'), Just(b'\r'), Just(b'\n'), Just(b':'), any::<u8>()], 0..40), from in 0usize..3) {
            let mut buf = format!("{name}:").into_bytes();
            buf.extend_from_slice(&value);
            prop_assert_eq!(field_line(&buf, from), field_line_parts(&buf, from));
        }

        #[test]
        fn host_runs_agree_with_the_byte_loop(buf in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'.'), Just(b':'), any::<u8>()], 0..60), start in 0usize..64, n in 0usize..40) {
            prop_assert_eq!(simple_host_len(&buf, start, start + n), simple_host_len_scalar(&buf, start, start + n));
        }

        #[test]
        fn names_agree_with_the_byte_loop(name in "[A-Za-z0-9_.!~-]{0,40}", tail in "[:a-z \\r\\n]{0,20}", from in 0usize..4) {
            let buf = format!("{name}{tail}").into_bytes();
            prop_assert_eq!(field_name_end(&buf, from), field_name_end_scalar(&buf, from));
        }

    }
}
