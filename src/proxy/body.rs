//! Streaming bodies between the two sides without buffering them whole: each
//! read fills at most one connection buffer, which is written out before the
//! next read. Memory per connection stays at the buffer size whatever the
//! body size.

use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRent, AsyncWriteRent};

use super::io::{write_all_by, write_vec, Inbound, IoFail};
use crate::http::{write_chunk_header, ChunkError, ChunkProgress, ChunkedDecoder, LAST_CHUNK};

/// What happens to the trailer section of a chunked body being relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailers {
    /// Forwarded verbatim (responses: the upstream is trusted).
    Keep,
    /// Replaced by an empty trailer section (requests: a trailer field is
    /// client input past every header check, e.g. a forged identity header).
    Drop,
}

/// Of one `feed` under `Trailers::Drop`: how many leading bytes of its
/// input to forward, and whether the CRLF ending an (emptied) trailer
/// section must follow them. A body without trailer fields whose final
/// CRLF arrived in this input goes out verbatim, in one write.
pub fn without_trailers(dec: &ChunkedDecoder, p: ChunkProgress) -> (usize, bool) {
    if p.done && !dec.has_trailer_fields() && p.consumed - p.body_end == 2 {
        (p.consumed, false)
    } else {
        (p.body_end, p.done)
    }
}

/// The CRLF that ends an empty trailer section (RFC 9112 §7.1).
const END_OF_TRAILERS: &[u8] = b"\r\n";

/// Appends the part of `data` to forward for a chunked request body
/// (trailers dropped); returns how many bytes of `data` the body consumed.
pub fn append_chunked_request(
    dec: &mut ChunkedDecoder,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, ChunkError> {
    if dec.is_done() {
        return Ok(0); // the end of the trailer section went out already
    }
    let p = dec.feed(data, |_| {})?;
    let (keep, end) = without_trailers(dec, p);
    out.extend_from_slice(data.get(..keep).unwrap_or_default());
    if end {
        out.extend_from_slice(END_OF_TRAILERS);
    }
    Ok(p.consumed)
}

/// Where a relay failed.
#[derive(Debug)]
pub enum RelayError {
    /// Reading the source failed or timed out.
    Read(IoFail),
    /// Writing the destination failed or timed out.
    Write(IoFail),
    /// The chunked framing of the source was invalid or over the size limit.
    Framing(ChunkError),
}

/// Time limits for one relay: pauses on the reading and the writing side.
#[derive(Clone, Copy)]
pub struct Pauses {
    pub read: Duration,
    pub write: Duration,
}

async fn fill<S: AsyncReadRent>(src: &mut Inbound<S>, read: Duration) -> Result<(), RelayError> {
    if src.buffered() == 0 {
        src.fill(Instant::now() + read)
            .await
            .map_err(RelayError::Read)?;
    }
    Ok(())
}

/// Relays exactly `remaining` bytes of a Content-Length body.
pub async fn relay_len<S, W>(
    src: &mut Inbound<S>,
    dst: &mut W,
    mut remaining: u64,
    p: Pauses,
) -> Result<(), RelayError>
where
    S: AsyncReadRent + AsyncWriteRent,
    W: AsyncWriteRent,
{
    while remaining > 0 {
        fill(src, p.read).await?;
        let n = src
            .buffered()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let start = src.pos;
        src.write_own_to(dst, start, start + n, Instant::now() + p.write)
            .await
            .map_err(RelayError::Write)?;
        src.consume(n);
        remaining -= n as u64;
    }
    Ok(())
}

/// Relays a chunked body verbatim (its trailer section as `trailers`
/// says), validating every byte of its framing and stopping exactly at its
/// end (pipelined bytes after it stay buffered).
pub async fn relay_chunked<S, W>(
    src: &mut Inbound<S>,
    dst: &mut W,
    dec: &mut ChunkedDecoder,
    trailers: Trailers,
    p: Pauses,
) -> Result<(), RelayError>
where
    S: AsyncReadRent + AsyncWriteRent,
    W: AsyncWriteRent,
{
    while !dec.is_done() {
        fill(src, p.read).await?;
        let progress = dec.feed(src.data(), |_| {}).map_err(RelayError::Framing)?;
        let (keep, end_trailers) = match trailers {
            Trailers::Keep => (progress.consumed, false),
            Trailers::Drop => without_trailers(dec, progress),
        };
        if keep > 0 {
            let start = src.pos;
            src.write_own_to(dst, start, start + keep, Instant::now() + p.write)
                .await
                .map_err(RelayError::Write)?;
        }
        src.consume(progress.consumed);
        if end_trailers {
            let (res, _) = write_all_by(dst, END_OF_TRAILERS, Instant::now() + p.write)
                .await
                .map_err(RelayError::Write)?;
            res.map_err(RelayError::Write)?;
        }
    }
    Ok(())
}

/// Decodes a chunked body and writes only its data (for HTTP/1.0 clients).
pub async fn relay_dechunked<S, W>(
    src: &mut Inbound<S>,
    dst: &mut W,
    dec: &mut ChunkedDecoder,
    scratch: &mut Vec<u8>,
    p: Pauses,
) -> Result<(), RelayError>
where
    S: AsyncReadRent,
    W: AsyncWriteRent,
{
    while !dec.is_done() {
        fill(src, p.read).await?;
        scratch.clear();
        let data = src.data();
        let progress = dec
            .feed(data, |r| {
                scratch.extend_from_slice(data.get(r).unwrap_or_default())
            })
            .map_err(RelayError::Framing)?;
        src.consume(progress.consumed);
        if !scratch.is_empty() {
            write_vec(dst, scratch, Instant::now() + p.write)
                .await
                .map_err(RelayError::Write)?;
        }
    }
    Ok(())
}

/// Relays everything until the source closes; with `rechunk` each read goes
/// out as one chunk and the body ends with the last chunk.
pub async fn relay_until_close<S, W>(
    src: &mut Inbound<S>,
    dst: &mut W,
    rechunk: bool,
    scratch: &mut Vec<u8>,
    p: Pauses,
) -> Result<(), RelayError>
where
    S: AsyncReadRent + AsyncWriteRent,
    W: AsyncWriteRent,
{
    loop {
        if src.buffered() == 0 {
            match src.fill(Instant::now() + p.read).await {
                Ok(_) => {}
                Err(IoFail::Eof) => break,
                Err(e) => return Err(RelayError::Read(e)),
            }
        }
        let n = src.buffered();
        if rechunk {
            scratch.clear();
            write_chunk_header(n, scratch);
            scratch.extend_from_slice(src.data());
            scratch.extend_from_slice(b"\r\n");
            write_vec(dst, scratch, Instant::now() + p.write)
                .await
                .map_err(RelayError::Write)?;
        } else {
            let start = src.pos;
            src.write_own_to(dst, start, start + n, Instant::now() + p.write)
                .await
                .map_err(RelayError::Write)?;
        }
        src.consume(n);
    }
    if rechunk {
        scratch.clear();
        scratch.extend_from_slice(LAST_CHUNK);
        write_vec(dst, scratch, Instant::now() + p.write)
            .await
            .map_err(RelayError::Write)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(body: &[u8], split: usize) -> Vec<u8> {
        let mut dec = ChunkedDecoder::new(0, 1024);
        let mut out = Vec::new();
        for part in [&body[..split], &body[split..]] {
            let consumed = append_chunked_request(&mut dec, part, &mut out).unwrap();
            assert_eq!(consumed, part.len());
        }
        assert!(dec.is_done());
        out
    }

    #[test]
    fn request_trailers_are_dropped_at_every_split() {
        let forged = b"4\r\nabcd\r\n0\r\nX-User-Id: admin\r\n\r\n";
        let bare = b"4\r\nabcd\r\n0\r\n\r\n";
        for split in 0..=forged.len() {
            assert_eq!(forwarded(forged, split), bare, "split {split}");
        }
        for split in 0..=bare.len() {
            assert_eq!(forwarded(bare, split), bare, "split {split}");
        }
    }
}
