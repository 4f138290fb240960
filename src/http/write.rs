//! Small writers the proxy uses when it builds heads and re-chunks bodies.
//! They append to a caller-owned Vec (recycled per core) and never allocate
//! on their own beyond growing it.

/// The terminating chunk with an empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends `n` in decimal (for Content-Length), like itoa.
pub fn write_decimal(mut n: u64, out: &mut Vec<u8>) {
    // Statuses and most lengths: fixed-size copies, no memcpy call.
    if n < 1000 {
        let d = |k: u64| b'0' + (k % 10) as u8;
        match n {
            0..=9 => out.push(d(n)),
            10..=99 => out.extend_from_slice(&[d(n / 10), d(n)]),
            _ => out.extend_from_slice(&[d(n / 100), d(n / 10), d(n)]),
        }
        return;
    }
    let mut tmp = [0u8; 20]; // u64::MAX has 20 digits
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Appends a chunk-size line: lowercase hex, no extensions, CRLF.
/// The caller writes `len` data bytes and then CRLF.
pub fn write_chunk_header(len: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = len as u64;
    let mut tmp = [0u8; 16]; // u64::MAX has 16 hex digits
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        for n in [0u64, 1, 9, 10, 99, 100, 200, 999, 1000, 12345, u64::MAX] {
            let mut out = b"x".to_vec();
            write_decimal(n, &mut out);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn chunk_header() {
        for n in [0usize, 1, 15, 16, 255, 4096, usize::MAX] {
            let mut out = Vec::new();
            write_chunk_header(n, &mut out);
            assert_eq!(out, format!("{n:x}\r\n").into_bytes());
        }
    }
}
