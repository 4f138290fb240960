//! A per-core free list of heap blocks for boxed futures. A connection task
//! boxes each request's exchange so an idle connection doesn't carry its
//! state; allocating that box per request costs more than the rest of the
//! exchange's bookkeeping (the state holds runtime timers aligned to 128
//! bytes, which takes the allocator's slow aligned path). Blocks are kept
//! here instead, like the I/O buffers: an idle connection holds none.

#![allow(unsafe_code)]

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

pub struct FramePool {
    /// Free blocks with the layout each was allocated with.
    free: RefCell<Vec<(NonNull<u8>, Layout)>>,
    max_free: usize,
}

impl FramePool {
    pub fn new(max_free: usize) -> Self {
        FramePool {
            free: RefCell::new(Vec::new()),
            max_free,
        }
    }

    /// `fut` moved into a pooled block, pinned there until dropped.
    pub fn pin<F: Future>(&self, fut: F) -> PooledFuture<'_, F> {
        let layout = Layout::new::<F>();
        let block = if layout.size() == 0 {
            // A zero-sized value needs no memory, only an aligned address.
            NonNull::dangling()
        } else {
            self.take(layout).cast::<F>()
        };
        // SAFETY: `block` is valid for writes of an `F` (allocated or kept
        // with `F`'s exact layout, not in use: it was taken off the list).
        unsafe { block.as_ptr().write(fut) };
        PooledFuture {
            block,
            pool: self,
            _owns: PhantomData,
        }
    }

    fn take(&self, layout: Layout) -> NonNull<u8> {
        let mut free = self.free.borrow_mut();
        if let Some(i) = free.iter().rposition(|(_, l)| *l == layout) {
            return free.swap_remove(i).0;
        }
        drop(free);
        // SAFETY: `layout` has a non-zero size (`pin` checks).
        let raw = unsafe { alloc(layout) };
        NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout))
    }

    fn give(&self, block: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            return;
        }
        let mut free = self.free.borrow_mut();
        if free.len() < self.max_free {
            free.push((block, layout));
        } else {
            // SAFETY: `block` was allocated by `alloc` with this `layout` and
            // nothing refers to it any more.
            unsafe { dealloc(block.as_ptr(), layout) };
        }
    }

    /// Frees all but `keep` free blocks (after a burst of connections).
    pub fn shrink_to(&self, keep: usize) {
        let mut free = self.free.borrow_mut();
        while free.len() > keep {
            if let Some((block, layout)) = free.pop() {
                // SAFETY: a free block, allocated with this layout, unused.
                unsafe { dealloc(block.as_ptr(), layout) };
            }
        }
        free.shrink_to_fit();
    }

    pub fn max_free(&self) -> usize {
        self.max_free
    }

    #[cfg(test)]
    fn free_len(&self) -> usize {
        self.free.borrow().len()
    }
}

impl Drop for FramePool {
    fn drop(&mut self) {
        self.shrink_to(0);
    }
}

/// A future living in a block of a [`FramePool`]; dropping it drops the
/// future and gives the block back.
pub struct PooledFuture<'p, F> {
    block: NonNull<F>,
    pool: &'p FramePool,
    /// Drops an `F` (for the drop checker).
    _owns: PhantomData<F>,
}

impl<F: Future> Future for PooledFuture<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: the block holds a live `F` until `drop`, and it never moves
        // (only this pointer does), so pinning it is sound.
        let fut = unsafe { Pin::new_unchecked(&mut *self.block.as_ptr()) };
        fut.poll(cx)
    }
}

impl<F> Drop for PooledFuture<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the block holds a live `F`, dropped exactly once here.
        unsafe { self.block.as_ptr().drop_in_place() };
        self.pool.give(self.block.cast(), Layout::new::<F>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn run<F: Future>(fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    /// One future type for every call, so all share a layout.
    async fn job(held: Option<Rc<()>>, fill: u8) -> [u8; 300] {
        drop(held);
        [fill; 300]
    }

    #[test]
    fn reuses_blocks_and_drops_futures() {
        let pool = FramePool::new(1);
        let alive = Rc::new(());
        let first = pool.pin(job(Some(alive.clone()), 7));
        let first_block = first.block.as_ptr() as usize;
        assert_eq!(run(first)[299], 7);
        assert_eq!(Rc::strong_count(&alive), 1, "the future was dropped");
        assert_eq!(pool.free_len(), 1);
        let second = pool.pin(job(None, 9));
        assert_eq!(second.block.as_ptr() as usize, first_block, "reused");
        // Two at once: the second needs a new block; only one is kept.
        let third = pool.pin(job(None, 1));
        assert_ne!(third.block.as_ptr() as usize, first_block);
        assert_eq!(run(second)[0], 9);
        drop(third);
        assert_eq!(pool.free_len(), 1);
        pool.shrink_to(0);
        assert_eq!(pool.free_len(), 0);
    }

    #[test]
    fn an_unpolled_future_is_dropped_too() {
        let pool = FramePool::new(4);
        let alive = Rc::new(());
        let held = alive.clone();
        drop(pool.pin(async move { drop(held) }));
        assert_eq!(Rc::strong_count(&alive), 1);
        // A different layout does not take the kept block.
        let other = pool.pin(async { [0u64; 64] });
        assert_eq!(pool.free_len(), 1);
        drop(other);
        assert_eq!(pool.free_len(), 2);
    }
}
