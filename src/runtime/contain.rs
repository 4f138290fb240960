//! Containing a panic to the connection it happened on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls a connection task so that a panic inside it ends that connection
/// only, not the worker with every other connection on it.
///
/// Used around TLS: the TLS stream's buffers (monoio-rustls) `expect` their
/// invariants, and a split TLS stream (an upgraded tunnel) reads and writes
/// one session from two halves at once — a TLS error on the read half sends
/// an alert through the buffer the write half may be holding. A broken
/// invariant there must not take the core down. Plain TCP connections don't
/// pay for the extra poll layer (one box per connection).
pub struct Contained<F: Future<Output = ()>> {
    fut: Pin<Box<F>>,
}

impl<F: Future<Output = ()>> Contained<F> {
    pub fn new(fut: F) -> Self {
        Contained { fut: Box::pin(fut) }
    }
}

impl<F: Future<Output = ()>> Future for Contained<F> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let fut = self.fut.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || fut.poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                eprintln!("ringgate: a connection task panicked; its connection was closed");
                Poll::Ready(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_task_ends_alone() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()
            .unwrap();
        // The panic message below is expected in the test output.
        let out = rt.block_on(async {
            let bad = monoio::spawn(Contained::new(async { panic!("boom") }));
            bad.await;
            let ok = monoio::spawn(async { 7 });
            ok.await
        });
        assert_eq!(out, 7);
    }
}
