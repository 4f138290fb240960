//! Streaming bodies between the two sides without buffering them whole: each
//! read fills at most one connection buffer, which is written out before the
//! next read. Memory per connection stays at the buffer size whatever the
//! body size.

use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRent, AsyncWriteRent};

use super::io::{write_vec, Inbound, IoFail};
use crate::http::{write_chunk_header, ChunkError, ChunkedDecoder, LAST_CHUNK};

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

/// Relays a chunked body verbatim, validating every byte of its framing and
/// stopping exactly at its end (pipelined bytes after it stay buffered).
pub async fn relay_chunked<S, W>(
    src: &mut Inbound<S>,
    dst: &mut W,
    dec: &mut ChunkedDecoder,
    p: Pauses,
) -> Result<(), RelayError>
where
    S: AsyncReadRent + AsyncWriteRent,
    W: AsyncWriteRent,
{
    while !dec.is_done() {
        fill(src, p.read).await?;
        let progress = dec.feed(src.data(), |_| {}).map_err(RelayError::Framing)?;
        let start = src.pos;
        src.write_own_to(
            dst,
            start,
            start + progress.consumed,
            Instant::now() + p.write,
        )
        .await
        .map_err(RelayError::Write)?;
        src.consume(progress.consumed);
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
