//! A per-core free list of I/O buffers, so connections don't allocate and
//! free their buffers on every accept.

use std::cell::RefCell;

pub struct BufPool {
    free: RefCell<Vec<Vec<u8>>>,
    buf_bytes: usize,
    max_free: usize,
}

impl BufPool {
    pub fn new(buf_bytes: usize, max_free: usize) -> Self {
        BufPool {
            free: RefCell::new(Vec::new()),
            buf_bytes,
            max_free,
        }
    }

    /// An empty buffer with at least the configured capacity.
    pub fn get(&self) -> Vec<u8> {
        match self.free.borrow_mut().pop() {
            Some(b) => b,
            None => Vec::with_capacity(self.buf_bytes),
        }
    }

    /// Returns a buffer; one of the wrong size (config changed) is dropped.
    pub fn put(&self, mut buf: Vec<u8>) {
        if buf.capacity() != self.buf_bytes {
            return;
        }
        let mut free = self.free.borrow_mut();
        if free.len() < self.max_free {
            buf.clear();
            free.push(buf);
        }
    }

    pub fn buf_bytes(&self) -> usize {
        self.buf_bytes
    }
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
}
