//! The test seam of the request phases: an in-memory client connection.
//! Each read returns the next scripted chunk (or as much of it as the
//! buffer takes), so a test decides exactly where the bytes split; after
//! the last chunk the client has closed (reads return 0). Everything the
//! gateway writes is collected for byte-for-byte checks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, Split};
use monoio::BufResult;

pub struct Scripted {
    reads: VecDeque<Vec<u8>>,
    written: Rc<RefCell<Vec<u8>>>,
}

impl Scripted {
    /// A client that sends `chunks`, one per read, then closes. The
    /// returned handle sees what the gateway wrote back.
    pub fn new<I, B>(chunks: I) -> (Scripted, Rc<RefCell<Vec<u8>>>)
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        let written = Rc::new(RefCell::new(Vec::new()));
        let reads = chunks.into_iter().map(Into::into).collect();
        let stream = Scripted {
            reads,
            written: written.clone(),
        };
        (stream, written)
    }
}

impl AsyncReadRent for Scripted {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        let Some(chunk) = self.reads.front_mut() else {
            return (Ok(0), buf);
        };
        // monoio's own in-memory reader does the buffer bookkeeping.
        let mut rest: &[u8] = chunk;
        let (res, buf) = rest.read(buf).await;
        let taken = chunk.len() - rest.len();
        chunk.drain(..taken);
        if chunk.is_empty() {
            self.reads.pop_front();
        }
        (res, buf)
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        // The gateway never reads vectored from a client; one slice is enough.
        (Err(io::ErrorKind::Unsupported.into()), buf)
    }
}

impl AsyncWriteRent for Scripted {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let n = buf.bytes_init();
        // SAFETY: an `IoBuf` guarantees `read_ptr()` is valid for reads of
        // `bytes_init()` bytes while we hold it, and nothing writes to it.
        #[allow(unsafe_code)]
        let bytes = unsafe { std::slice::from_raw_parts(buf.read_ptr(), n) };
        self.written.borrow_mut().extend_from_slice(bytes);
        (Ok(n), buf)
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        // The gateway writes to clients from one buffer at a time.
        (Err(io::ErrorKind::Unsupported.into()), buf)
    }

    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Like a socket: readable whenever a chunk or the end is next, which is
/// always (so `serve`'s buffer-less idle wait is exercised too).
impl super::WaitReadable for Scripted {
    fn readable(&self) -> Option<impl std::future::Future<Output = io::Result<()>> + '_> {
        Some(std::future::ready(Ok(())))
    }
}

// SAFETY: reads and writes touch disjoint state (the script and the
// output), so the halves of a split stream never race; it is also only ever
// used on one thread.
#[allow(unsafe_code)]
unsafe impl Split for Scripted {}
