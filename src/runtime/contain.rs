//! Containing a panic to the connection it happened on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls a connection task so that a panic inside it ends that connection
/// only, not the worker with every other connection on it.
///
/// Every client connection, plain or TLS, runs in one: a bug reachable by
/// one client's bytes must not end every other connection of the process
/// (the release profile unwinds, so a panic can be caught). TLS adds its
/// own risks: the TLS stream's buffers (monoio-rustls) `expect` their
/// invariants, and a split TLS stream (an upgraded tunnel) reads and writes
/// one session from two halves at once. The cost is one box and one
/// `catch_unwind` frame per poll, no allocation per request.
///
/// `on_panic` runs once, after the panic unwound (it counts the panic). The
/// task's state is dropped with the `Contained`, which closes its sockets
/// and deregisters the connection.
pub struct Contained<F: Future<Output = ()>, P: FnOnce()> {
    fut: Pin<Box<F>>,
    on_panic: Option<P>,
}

impl<F: Future<Output = ()>, P: FnOnce()> Contained<F, P> {
    pub fn new(fut: F, on_panic: P) -> Self {
        Contained {
            fut: Box::pin(fut),
            on_panic: Some(on_panic),
        }
    }
}

// Neither field is structurally pinned (the future is boxed).
impl<F: Future<Output = ()>, P: FnOnce()> Unpin for Contained<F, P> {}

impl<F: Future<Output = ()>, P: FnOnce()> Future for Contained<F, P> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let fut = self.fut.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || fut.poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                eprintln!("ringgate: a connection task panicked; its connection was closed");
                if let Some(on_panic) = self.on_panic.take() {
                    on_panic();
                }
                Poll::Ready(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::Cell;
    use std::rc::Rc;

    /// Dropped with the task's state: stands for a connection's socket and
    /// registry entry.
    struct Held(Rc<Cell<u32>>);
    impl Drop for Held {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn a_panicking_task_ends_alone_counted_and_cleaned_up() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap();
        let panics = Rc::new(Cell::new(0u32));
        let dropped = Rc::new(Cell::new(0u32));
        // The panic message below is expected in the test output.
        let out = rt.block_on({
            let (panics, dropped) = (panics.clone(), dropped.clone());
            async move {
                // A sibling task that is mid-await when the other one panics.
                let sibling = monoio::spawn(async {
                    monoio::time::sleep(std::time::Duration::from_millis(5)).await;
                    7
                });
                let held = Held(dropped.clone());
                let p = panics.clone();
                let bad = monoio::spawn(Contained::new(
                    async move {
                        let _held = held;
                        monoio::time::sleep(std::time::Duration::from_millis(1)).await;
                        panic!("boom")
                    },
                    move || p.set(p.get() + 1),
                ));
                bad.await;
                sibling.await
            }
        });
        assert_eq!(out, 7);
        assert_eq!(panics.get(), 1);
        assert_eq!(dropped.get(), 1, "the panicked task's state was dropped");
    }
}
