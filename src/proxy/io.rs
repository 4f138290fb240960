//! Buffered, deadline-bounded reads and writes on monoio's ownership-passing
//! I/O. A read that times out is cancelled together with its buffer; callers
//! treat a timeout as the end of the connection, so nothing is lost that
//! would be used again.

use std::time::Instant;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFail {
    /// The peer closed its side (read returned 0).
    Eof,
    /// The peer reset or the socket failed.
    Io,
    Timeout,
    /// The buffer is full of unconsumed bytes (a head over the buffer size).
    Full,
}

/// A stream plus the bytes read from it and not yet consumed (`buf[pos..]`).
pub struct Inbound<S> {
    pub stream: S,
    pub buf: Vec<u8>,
    pub pos: usize,
}

impl<S: AsyncReadRent> Inbound<S> {
    pub fn new(stream: S, buf: Vec<u8>) -> Self {
        Inbound {
            stream,
            buf,
            pos: 0,
        }
    }

    /// The unconsumed bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    #[inline]
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Marks `n` bytes as used; an emptied buffer restarts at offset 0.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Moves unconsumed bytes to the front when the free tail gets short, so
    /// a head that straddles pipelined requests still fits.
    fn make_room(&mut self) -> Result<(), IoFail> {
        let spare = self.buf.capacity() - self.buf.len();
        if self.pos > 0 && (spare == 0 || self.pos >= self.buf.capacity() / 2) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.len() == self.buf.capacity() {
            return Err(IoFail::Full);
        }
        Ok(())
    }

    /// Doubles the buffer (up to `max` bytes) for a head that outgrew it;
    /// false when it is already `max` or larger.
    pub fn grow(&mut self, max: usize) -> bool {
        let cap = self.buf.capacity();
        if cap >= max {
            return false;
        }
        let target = cap.saturating_mul(2).clamp(1, max);
        self.buf.reserve_exact(target - self.buf.len());
        true
    }

    /// Grows the buffer to at least `bytes` (a large body streams through
    /// fewer, larger reads); the buffer stays that size for the connection.
    pub fn grow_to(&mut self, bytes: usize) {
        if self.buf.capacity() < bytes {
            self.buf.reserve_exact(bytes - self.buf.len());
        }
    }

    /// Reads more bytes after the buffered ones; `Ok(n)` with n > 0.
    pub async fn fill(&mut self, deadline: Instant) -> Result<usize, IoFail> {
        self.make_room()?;
        let len = self.buf.len();
        let cap = self.buf.capacity();
        let buf = std::mem::take(&mut self.buf).slice_mut(len..cap);
        let read = self.stream.read(buf);
        match monoio::time::timeout_at(deadline.into(), read).await {
            Ok((res, buf)) => self.filled(res, buf),
            Err(_) => Err(IoFail::Timeout),
        }
    }

    /// `fill` without a deadline, for a stream that just reported bytes to
    /// read (or its end): the read completes at once, so a timer would only
    /// be armed and disarmed.
    pub async fn fill_ready(&mut self) -> Result<usize, IoFail> {
        self.make_room()?;
        let len = self.buf.len();
        let cap = self.buf.capacity();
        let buf = std::mem::take(&mut self.buf).slice_mut(len..cap);
        let (res, buf) = self.stream.read(buf).await;
        self.filled(res, buf)
    }

    fn filled(
        &mut self,
        res: std::io::Result<usize>,
        buf: monoio::buf::SliceMut<Vec<u8>>,
    ) -> Result<usize, IoFail> {
        self.buf = buf.into_inner();
        match res {
            Ok(0) => Err(IoFail::Eof),
            Ok(n) => Ok(n),
            Err(_) => Err(IoFail::Io),
        }
    }
}

impl<S: AsyncReadRent + AsyncWriteRent> Inbound<S> {
    /// Writes `buf[range]` of our own buffer to `dst` (no copy).
    pub async fn write_own_to<W: AsyncWriteRent>(
        &mut self,
        dst: &mut W,
        start: usize,
        end: usize,
        deadline: Instant,
    ) -> Result<(), IoFail> {
        let buf = std::mem::take(&mut self.buf);
        let (res, buf) = write_all_by(dst, buf.slice(start..end), deadline).await?;
        self.buf = buf.into_inner();
        res
    }
}

/// `write_all` bounded by a deadline. On timeout the buffer is gone with the
/// cancelled write (the connection is finished anyway).
pub async fn write_all_by<W: AsyncWriteRent, B: IoBuf + 'static>(
    dst: &mut W,
    buf: B,
    deadline: Instant,
) -> Result<(Result<(), IoFail>, B), IoFail> {
    match monoio::time::timeout_at(deadline.into(), dst.write_all(buf)).await {
        Ok((Ok(_), buf)) => Ok((Ok(()), buf)),
        Ok((Err(_), buf)) => Ok((Err(IoFail::Io), buf)),
        Err(_) => Err(IoFail::Timeout),
    }
}

/// Writes a whole owned `Vec` and hands it back intact (so a request can be
/// re-sent; callers clear it before building the next message), or empty
/// after a timeout.
pub async fn write_vec<W: AsyncWriteRent>(
    dst: &mut W,
    out: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(), IoFail> {
    let buf = std::mem::take(out);
    // Not through `write_all_by`: one future less on every head written.
    match monoio::time::timeout_at(deadline.into(), dst.write_all(buf)).await {
        Ok((res, buf)) => {
            *out = buf;
            res.map(drop).map_err(|_| IoFail::Io)
        }
        Err(_) => Err(IoFail::Timeout),
    }
}
