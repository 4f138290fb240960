//! Thread-per-core bootstrap: binds the SO_REUSEPORT listeners, starts one
//! pinned worker per core, and runs the control loop on the calling thread
//! (signals: SIGTERM/SIGINT drain and stop, SIGHUP reloads the config).

pub mod contain;
pub mod listener;
mod worker;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use arc_swap::ArcSwap;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use self::worker::{Driver, WorkerSpec};
use crate::config::{IoDriver, Workers};
use crate::context::fds::{self, FdBudget};
use crate::context::shutdown::Shutdown;
use crate::context::{ListenerInfo, Shared};
use crate::ratelimit::broker::Broker;
use crate::ratelimit::redis::RedisLink;
use crate::snapshot::Snapshot;
use crate::stats::Stats;
use crate::sys;

/// How many workers to run: the configured count, else one per CPU listed
/// in `server.cpus`, else one per CPU this process may use.
pub fn worker_count(workers: Workers, cpus: Option<&[usize]>) -> usize {
    match (workers, cpus) {
        (Workers::Count(n), _) => n,
        (Workers::Auto, Some(cpus)) if !cpus.is_empty() => cpus.len(),
        (Workers::Auto, _) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn choose_driver(wanted: IoDriver) -> io::Result<Driver> {
    let uring = monoio::utils::detect_uring();
    match wanted {
        IoDriver::IoUring if !uring => Err(io::Error::other(
            "server.io_driver = \"io_uring\" but io_uring is not available on this kernel",
        )),
        IoDriver::IoUring => Ok(Driver::IoUring),
        IoDriver::Legacy => Ok(Driver::Legacy),
        IoDriver::Auto if uring => Ok(Driver::IoUring),
        IoDriver::Auto => {
            eprintln!("ringgate: io_uring is not available here; falling back to the epoll driver");
            Ok(Driver::Legacy)
        }
    }
}

/// The CPU for each worker: `server.cpus` if given, else the CPUs this
/// process may use, in order.
fn worker_cpus(snap: &Snapshot, workers: usize) -> Vec<Option<usize>> {
    if let Some(cpus) = &snap.config.server.cpus {
        return (0..workers).map(|i| cpus.get(i).copied()).collect();
    }
    let allowed: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    (0..workers)
        .map(|i| (!allowed.is_empty()).then(|| allowed[i % allowed.len()]))
        .collect()
}

/// How `run` starts, beyond the config file.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Bind listen addresses another process already serves (SO_REUSEPORT
    /// then splits connections between the two), as a zero-downtime
    /// hand-over does; otherwise such an address is an error.
    pub allow_shared_port: bool,
}

type WorkerListeners = Vec<(ListenerInfo, std::net::TcpListener)>;

/// Binds every listener once per worker. Prints `listening on NAME ADDR` per
/// listener on stdout (scripts and tests read the real port from it).
/// Unless `opts` allows sharing, an address someone already serves is
/// refused; the returned claims must live as long as the listeners.
fn bind_listeners(
    snap: &Snapshot,
    workers: usize,
    opts: RunOptions,
) -> io::Result<(Vec<WorkerListeners>, Vec<listener::AddressClaim>)> {
    let mut per_worker: Vec<WorkerListeners> = (0..workers).map(|_| Vec::new()).collect();
    let mut claims = Vec::new();
    for (index, l) in snap.config.listeners.iter().enumerate() {
        let addr: SocketAddr = l
            .address
            .parse()
            .map_err(|e| io::Error::other(format!("listener {}: {e}", l.name)))?;
        if !opts.allow_shared_port {
            let claim = listener::claim_address(addr).map_err(|e| {
                io::Error::new(e.kind(), format!("listener {} on {addr}: {e}", l.name))
            })?;
            claims.push(claim);
        }
        let (bound, sockets) = listener::bind_reuseport(addr, l.backlog, workers)
            .map_err(|e| io::Error::new(e.kind(), format!("listener {} on {addr}: {e}", l.name)))?;
        println!("ringgate: listening on {} {bound}", l.name);
        for (slot, socket) in per_worker.iter_mut().zip(sockets) {
            slot.push((
                ListenerInfo {
                    name: l.name.clone(),
                    addr: bound,
                    index,
                    tls: l.tls.is_some(),
                },
                socket,
            ));
        }
    }
    use std::io::Write;
    io::stdout().flush()?;
    Ok((per_worker, claims))
}

/// Runs the gateway until SIGTERM/SIGINT and a completed drain.
pub fn run(snapshot: Snapshot, config_path: Option<PathBuf>, opts: RunOptions) -> io::Result<()> {
    let nofile = sys::raise_nofile_limit()?;
    let server = &snapshot.config.server;
    let workers = worker_count(server.workers, server.cpus.as_deref());
    let driver = choose_driver(snapshot.config.server.io_driver)?;
    // `_claims` keeps the address locks until `run` returns.
    let (listeners, _claims) = bind_listeners(&snapshot, workers, opts)?;
    let cpus = worker_cpus(&snapshot, workers);
    let uring_entries = snapshot.config.server.uring_entries;
    eprintln!(
        "ringgate {}: {workers} worker(s), {} driver",
        env!("CARGO_PKG_VERSION"),
        if driver == Driver::IoUring {
            "io_uring"
        } else {
            "epoll"
        }
    );
    let stats = Stats::new(workers);
    let redis = match &snapshot.redis {
        Some(spec) => Some(RedisLink::start(spec.clone(), stats.limiter.clone())?),
        None => None,
    };
    let reserve = snapshot.config.limits.fd_reserve_percent.0;
    let client_cap = fds::FdBudget::client_cap(nofile, fds::open_fds(), workers, reserve);
    eprintln!(
        "ringgate: file descriptor limit {nofile}: up to {client_cap} client connection(s), \
         {reserve}% of the rest kept for upstream connections"
    );
    let shared = Arc::new(Shared {
        generation: AtomicU64::new(snapshot.generation),
        snapshot: ArcSwap::from_pointee(snapshot),
        stats,
        shutdown: Shutdown::default(),
        broker: Broker::default(),
        redis,
        workers,
        fd_budget: FdBudget::new(client_cap),
    });
    let admin = match &shared.snapshot.load().config.admin.address {
        Some(addr) => {
            let addr: SocketAddr = addr
                .parse()
                .map_err(|e| io::Error::other(format!("admin.address: {e}")))?;
            let admin = crate::admin::Admin::start(addr, shared.clone())
                .map_err(|e| io::Error::new(e.kind(), format!("admin listener on {addr}: {e}")))?;
            println!("ringgate: admin listening on {}", admin.addr());
            io::Write::flush(&mut io::stdout())?;
            Some(admin)
        }
        None => None,
    };
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let signal_handle = signals.handle();
    let sig_shared = shared.clone();
    let control = std::thread::Builder::new()
        .name("ringgate-ctl".into())
        .spawn(move || {
            for sig in signals.forever() {
                if sig == SIGHUP {
                    reload(&sig_shared, config_path.as_deref());
                } else {
                    eprintln!("ringgate: signal {sig}: draining");
                    sig_shared.shutdown.trigger();
                    break;
                }
            }
        })?;

    let (done_tx, done_rx) = mpsc::channel();
    for (id, (ls, cpu)) in listeners.into_iter().zip(cpus).enumerate() {
        let spec = WorkerSpec {
            id,
            cpu,
            driver,
            uring_entries,
            listeners: ls,
        };
        let shared = shared.clone();
        let done = done_tx.clone();
        std::thread::Builder::new()
            .name(format!("ringgate-w{id}"))
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    worker::run(spec, shared)
                }));
                let _ = done.send((id, result));
            })?;
    }
    drop(done_tx);
    let mut failure = None;
    for (id, result) in done_rx {
        let err = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => io::Error::new(e.kind(), format!("worker {id}: {e}")),
            Err(_) => io::Error::other(format!("worker {id} panicked")),
        };
        eprintln!("ringgate: {err}; stopping");
        shared.shutdown.trigger();
        failure.get_or_insert(err);
    }
    signal_handle.close();
    let _ = control.join();
    if let Some(admin) = admin {
        admin.stop();
    }
    match failure {
        Some(e) => Err(e),
        None => {
            eprintln!("ringgate: stopped");
            Ok(())
        }
    }
}

/// Loads and validates the config file again and publishes it; a bad file
/// is reported and the running config stays.
fn reload(shared: &Shared, path: Option<&std::path::Path>) {
    let Some(path) = path else {
        eprintln!("ringgate: SIGHUP ignored: no config file to reload");
        return;
    };
    let next = shared.generation.load(Ordering::Acquire) + 1;
    let snap = match crate::snapshot::load(path, next) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!(
                "ringgate: reload of {} rejected, keeping the running config:\n{errors}",
                path.display()
            );
            return;
        }
    };
    let old = shared.snapshot.load();
    let listeners_changed = old.config.listeners.len() != snap.config.listeners.len()
        || old
            .config
            .listeners
            .iter()
            .zip(&snap.config.listeners)
            .any(|(a, b)| a.address != b.address || a.tls.is_some() != b.tls.is_some());
    if listeners_changed {
        eprintln!(
            "ringgate: reload: listener changes (address, TLS on or off) take effect after a restart"
        );
    }
    shared.snapshot.store(Arc::new(snap));
    shared.generation.store(next, Ordering::Release);
    eprintln!("ringgate: reloaded {} (generation {next})", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_count_follows_workers_then_cpus_then_the_machine() {
        assert_eq!(worker_count(Workers::Count(3), Some(&[0])), 3);
        assert_eq!(worker_count(Workers::Auto, Some(&[4, 5])), 2);
        assert!(worker_count(Workers::Auto, None) >= 1);
    }
}
