//! Thread-per-core plumbing shared by `origin` and `load`: one pinned
//! monoio runtime per thread (io_uring, falling back to epoll) and
//! SO_REUSEPORT listeners.

use std::future::Future;
use std::net::SocketAddr;
use std::thread::JoinHandle;

/// io_uring submission queue size; monoio submits early when it fills up,
/// so this bounds batching, not concurrency.
const RING_ENTRIES: u32 = 1024;

/// Runs `make()` to completion on a fresh monoio runtime on this thread.
/// Prefers io_uring; falls back to the epoll driver when the ring cannot be
/// created (old kernel, seccomp, RLIMIT_MEMLOCK).
pub fn block_on<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let uring = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .enable_timer()
        .with_entries(RING_ENTRIES)
        .build();
    match uring {
        Ok(mut rt) => rt.block_on(make()),
        Err(e) => {
            eprintln!("ringbench: io_uring unavailable ({e}); using the epoll driver");
            let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                .enable_timer()
                .build()
                .unwrap_or_else(|e| panic!("cannot build any monoio runtime: {e}"));
            rt.block_on(make())
        }
    }
}

/// Spawns `n` OS threads, thread `i` pinned to `cpus[i % cpus.len()]` when
/// `cpus` is non-empty, each running `body(i)` on its own runtime.
pub fn spawn_threads<T, F, Fut>(n: usize, cpus: &[usize], body: F) -> Vec<JoinHandle<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = T>,
{
    (0..n)
        .map(|i| {
            let cpu = (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
            let body = body.clone();
            std::thread::Builder::new()
                .name(format!("ringbench-{i}"))
                .spawn(move || {
                    if let Some(cpu) = cpu {
                        if let Err(e) = monoio::utils::bind_to_cpu_set([cpu]) {
                            eprintln!("ringbench: cannot pin thread {i} to cpu {cpu}: {e}");
                        }
                    }
                    block_on(|| body(i))
                })
                .unwrap_or_else(|e| panic!("cannot spawn thread: {e}"))
        })
        .collect()
}

/// A non-blocking listening socket with SO_REUSEPORT, so every thread can
/// own a listener on the same address and the kernel spreads connections.
pub fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.set_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}
