//! A per-core free list of I/O buffers, so connections don't allocate and
//! free their buffers on every accept.

use std::cell::RefCell;

use crate::http::{RequestHead, ResponseHead};

/// A core's free buffers of one size (`buf_bytes`).
pub struct BufPool {
    free: FreeList<Vec<u8>>,
    buf_bytes: usize,
}

impl BufPool {
    pub fn new(buf_bytes: usize, max_free: usize) -> Self {
        BufPool {
            free: FreeList::new(max_free),
            buf_bytes,
        }
    }

    /// An empty buffer with at least the configured capacity.
    pub fn get(&self) -> Vec<u8> {
        self.free
            .take()
            .unwrap_or_else(|| Vec::with_capacity(self.buf_bytes))
    }

    /// Returns a buffer; one of the wrong size (config changed) is dropped.
    pub fn put(&self, mut buf: Vec<u8>) {
        if buf.capacity() == self.buf_bytes {
            buf.clear();
            self.free.put(buf);
        }
    }

    /// Frees all but `keep` free buffers (after a burst of connections).
    pub fn shrink_to(&self, keep: usize) {
        self.free.shrink_to(keep);
    }

    pub fn max_free(&self) -> usize {
        self.free.max_free()
    }

    pub fn buf_bytes(&self) -> usize {
        self.buf_bytes
    }
}

/// A per-core free list of reusable values (at most `max_free` kept).
pub struct FreeList<T> {
    free: RefCell<Vec<T>>,
    max_free: usize,
}

impl<T> FreeList<T> {
    pub fn new(max_free: usize) -> Self {
        FreeList {
            free: RefCell::new(Vec::new()),
            max_free,
        }
    }

    /// A value left as its last user left it (callers reset what they use).
    pub fn take(&self) -> Option<T> {
        self.free.borrow_mut().pop()
    }

    pub fn put(&self, value: T) {
        let mut free = self.free.borrow_mut();
        if free.len() < self.max_free {
            free.push(value);
        }
    }

    /// Frees all but `keep` values (after a burst of connections).
    pub fn shrink_to(&self, keep: usize) {
        let mut free = self.free.borrow_mut();
        free.truncate(keep);
        free.shrink_to_fit();
    }

    pub fn max_free(&self) -> usize {
        self.max_free
    }
}

/// A request's parsed head and the response head relayed for it: 1.7 KB
/// that an idle connection needn't hold, pooled per core like the buffers.
/// Parsed in place and reused: a head moved around costs more than parsing.
#[derive(Default)]
pub struct Heads {
    pub req: RequestHead,
    pub resp: ResponseHead,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycles_up_to_the_bound() {
        let p = BufPool::new(64, 1);
        let mut a = p.get();
        a.extend_from_slice(b"abc");
        let b = p.get();
        let ptr = a.as_ptr();
        p.put(a);
        p.put(b);
        let c = p.get();
        assert_eq!(c.as_ptr(), ptr);
        assert!(c.is_empty());
        assert!(p.get().capacity() >= 64);
    }

    #[test]
    fn free_list_reuses_up_to_its_bound() {
        let l: FreeList<Box<u64>> = FreeList::new(1);
        let get = || l.take().unwrap_or_default();
        let (mut a, b) = (get(), get());
        *a = 7;
        let ptr: *const u64 = &*a;
        l.put(a);
        l.put(b);
        let again = get();
        assert_eq!(&*again as *const u64, ptr);
        assert_eq!(*again, 7, "handed back as left");
        l.put(again);
        l.shrink_to(0);
        assert_eq!(*get(), 0, "a new value once shrunk");
    }

    #[test]
    fn shrink_keeps_only_the_given_number() {
        let p = BufPool::new(64, 8);
        let bufs: Vec<_> = (0..8).map(|_| p.get()).collect();
        let kept = bufs[0].as_ptr();
        bufs.into_iter().for_each(|b| p.put(b));
        p.shrink_to(1);
        let reused = p.get();
        assert_eq!(reused.as_ptr(), kept);
        let fresh = p.get();
        assert_eq!(fresh.capacity(), 64, "a new buffer: the pool was empty");
    }
}
