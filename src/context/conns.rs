//! This core's live client connections, so draining can close the idle ones
//! at once and wait for the busy ones to finish.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::sys;

/// A connection's entry; the connection flips `idle` around its keep-alive wait.
#[derive(Debug)]
pub struct ConnSlot {
    fd: RawFd,
    idle: Cell<bool>,
}

impl ConnSlot {
    pub fn set_idle(&self, idle: bool) {
        self.idle.set(idle);
    }
}

#[derive(Default)]
struct Inner {
    slots: Vec<Option<Rc<ConnSlot>>>,
    free: Vec<usize>,
    live: usize,
    /// Most connections registered at once since the last `take_peak`.
    peak: usize,
    empty_waker: Option<Waker>,
}

#[derive(Default)]
pub struct ConnRegistry {
    inner: RefCell<Inner>,
}

/// Deregisters its connection when dropped, before the socket is closed.
pub struct ConnGuard {
    registry: Rc<ConnRegistry>,
    index: usize,
    pub slot: Rc<ConnSlot>,
}

impl ConnRegistry {
    pub fn len(&self) -> usize {
        self.inner.borrow().live
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn register(self: &Rc<Self>, fd: RawFd) -> ConnGuard {
        let slot = Rc::new(ConnSlot {
            fd,
            idle: Cell::new(false),
        });
        let mut inner = self.inner.borrow_mut();
        let index = match inner.free.pop() {
            Some(i) => {
                inner.slots[i] = Some(slot.clone());
                i
            }
            None => {
                inner.slots.push(Some(slot.clone()));
                inner.slots.len() - 1
            }
        };
        inner.live += 1;
        inner.peak = inner.peak.max(inner.live);
        ConnGuard {
            registry: self.clone(),
            index,
            slot,
        }
    }

    fn remove(&self, index: usize) {
        let mut inner = self.inner.borrow_mut();
        if let Some(entry) = inner.slots.get_mut(index) {
            if entry.take().is_some() {
                inner.free.push(index);
                inner.live -= 1;
            }
        }
        if inner.live == 0 {
            if let Some(w) = inner.empty_waker.take() {
                w.wake();
            }
        }
    }

    /// The most connections open at once since the last call; starts the
    /// next period at the current count.
    pub fn take_peak(&self) -> usize {
        let mut inner = self.inner.borrow_mut();
        let live = inner.live;
        std::mem::replace(&mut inner.peak, live)
    }

    /// Shuts down every connection waiting for its next request; their
    /// pending reads end with EOF and the connection tasks exit.
    pub fn close_idle(&self) -> usize {
        let inner = self.inner.borrow();
        let mut closed = 0;
        for slot in inner.slots.iter().flatten() {
            if slot.idle.get() {
                sys::shutdown(slot.fd);
                closed += 1;
            }
        }
        closed
    }

    /// Resolves when no connection is registered.
    pub fn wait_empty(&self) -> WaitEmpty<'_> {
        WaitEmpty { registry: self }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.registry.remove(self.index);
    }
}

pub struct WaitEmpty<'a> {
    registry: &'a ConnRegistry,
}

impl Future for WaitEmpty<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.registry.inner.borrow_mut();
        if inner.live == 0 {
            Poll::Ready(())
        } else {
            inner.empty_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_counted() {
        let r = Rc::new(ConnRegistry::default());
        let a = r.register(100);
        let b = r.register(101);
        assert_eq!(r.len(), 2);
        let ia = a.index;
        drop(a);
        assert_eq!(r.len(), 1);
        let c = r.register(102);
        assert_eq!(c.index, ia, "freed slot reused");
        assert_eq!(r.take_peak(), 2);
        drop((b, c));
        assert!(r.is_empty());
        assert_eq!(r.take_peak(), 2, "the period's peak until taken");
        assert_eq!(r.take_peak(), 0, "the next period starts at the live count");
    }
}
