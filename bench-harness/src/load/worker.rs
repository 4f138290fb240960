//! One load thread: its connections, its statistics and a watchdog task
//! that enforces timeouts, ends the run on time and publishes progress.
//! Nothing here is shared with other threads except the progress slot,
//! touched a few times per second.

use super::plan::Plan;
use super::progress::Live;
use super::{conn, ThreadResult};
use crate::rng::Rng;
use crate::stats::{new_histogram, Stats};
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often progress is published to the main thread.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// Watchdog view of one connection: armed while a request is in flight.
#[derive(Default)]
pub struct Slot {
    fd: Cell<RawFd>,
    since: Cell<Option<Instant>>,
    fired: Cell<bool>,
}

impl Slot {
    pub fn arm(&self, fd: RawFd, now: Instant) {
        self.fd.set(fd);
        self.since.set(Some(now));
        self.fired.set(false);
    }

    /// Disarms; true if the watchdog cut the request off meanwhile.
    pub fn disarm(&self) -> bool {
        self.since.set(None);
        self.fired.replace(false)
    }

    /// Wakes the connection's pending read/write by shutting the socket.
    #[allow(unsafe_code)]
    fn fire(&self) {
        self.fired.set(true);
        self.since.set(None);
        // SAFETY: plain FFI call on an integer fd. The fd is owned by a live
        // TcpStream: a slot is only armed while its connection holds the
        // stream, and this thread is the only one touching either.
        unsafe {
            libc::shutdown(self.fd.get(), libc::SHUT_RDWR);
        }
    }
}

pub struct Worker {
    pub plan: Arc<Plan>,
    pub stats: RefCell<Stats>,
    pub slots: Box<[Slot]>,
    pub rng: Cell<Rng>,
    /// Measured requests this thread may still start (-n), else u64::MAX.
    budget: Cell<u64>,
    /// False during warmup: nothing is recorded then.
    pub recording: Cell<bool>,
    /// Set at the deadline; failures after it are not errors.
    pub stopping: Cell<bool>,
    live_conns: Cell<usize>,
    measure_start: Instant,
    deadline: Option<Instant>,
}

impl Worker {
    /// Takes up to `want` requests from the budget; 0 means stop.
    pub fn claim(&self, want: usize) -> usize {
        if self.stopping.get() {
            return 0;
        }
        if !self.recording.get() {
            return want;
        }
        let left = self.budget.get();
        let n = left.min(want as u64);
        self.budget.set(left - n);
        n as usize
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn pick(&self) -> usize {
        let mut rng = self.rng.get();
        let i = self.plan.pick(&mut rng);
        self.rng.set(rng);
        i
    }
}

/// Splits `total` into `parts` near-equal shares; share `i`.
fn share(total: u64, parts: usize, i: usize) -> u64 {
    total / parts as u64 + u64::from((i as u64) < total % parts as u64)
}

pub async fn run(
    plan: Arc<Plan>,
    index: usize,
    start: Instant,
    live: Option<Arc<Live>>,
) -> ThreadResult {
    let conns = share(plan.connections as u64, plan.threads, index) as usize;
    let first_conn: usize = (0..index)
        .map(|i| share(plan.connections as u64, plan.threads, i) as usize)
        .sum();
    let measure_start = start + plan.warmup;
    let mut stats = Stats::default();
    if live.is_some() {
        stats.interval = Some(new_histogram());
    }
    let w = Rc::new(Worker {
        budget: Cell::new(
            plan.count
                .map_or(u64::MAX, |n| share(n, plan.threads, index)),
        ),
        deadline: plan.duration.map(|d| measure_start + d),
        recording: Cell::new(plan.warmup.is_zero()),
        stopping: Cell::new(false),
        live_conns: Cell::new(conns),
        slots: (0..conns).map(|_| Slot::default()).collect(),
        stats: RefCell::new(stats),
        rng: Cell::new(Rng::from_time(index)),
        measure_start,
        plan,
    });
    let tasks: Vec<_> = (0..conns)
        .map(|k| {
            // Open loop: stagger first sends so connections don't fire in bursts.
            let offset = w.plan.rate.map_or(Duration::ZERO, |r| {
                Duration::from_secs_f64((first_conn + k) as f64 / r)
            });
            monoio::spawn(conn::run(w.clone(), k, start + offset))
        })
        .collect();
    monoio::spawn(watchdog(w.clone(), live.map(|l| (l, index))));
    for t in tasks {
        t.await;
    }
    let finished = Instant::now();
    let stats = w.stats.replace(Stats::default());
    ThreadResult { stats, finished }
}

impl Worker {
    pub fn conn_done(&self) {
        self.live_conns.set(self.live_conns.get() - 1);
    }
}

/// Enforces per-request timeouts, flips recording on after warmup, stops
/// the run at the deadline, and publishes progress.
async fn watchdog(w: Rc<Worker>, live: Option<(Arc<Live>, usize)>) {
    let tick = (w.plan.timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(100));
    let mut next_publish = Instant::now() + PUBLISH_EVERY;
    while w.live_conns.get() > 0 {
        let now = Instant::now();
        if !w.recording.get() && now >= w.measure_start {
            w.recording.set(true);
        }
        if w.deadline.is_some_and(|d| now >= d) {
            w.stopping.set(true);
            w.slots
                .iter()
                .filter(|s| s.since.get().is_some())
                .for_each(Slot::fire);
            return;
        }
        for slot in w.slots.iter() {
            if slot
                .since
                .get()
                .is_some_and(|t| now.saturating_duration_since(t) >= w.plan.timeout)
            {
                slot.fire();
            }
        }
        if let Some((live, i)) = &live {
            if now >= next_publish {
                live.publish(*i, &mut w.stats.borrow_mut());
                next_publish = now + PUBLISH_EVERY;
            }
        }
        let mut wake = now + tick;
        if !w.recording.get() {
            wake = wake.min(w.measure_start);
        }
        if let Some(d) = w.deadline {
            wake = wake.min(d);
        }
        monoio::time::sleep(wake.saturating_duration_since(now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_add_up() {
        for (total, parts) in [(64u64, 2usize), (7, 3), (2000, 2), (1, 4)] {
            let sum: u64 = (0..parts).map(|i| share(total, parts, i)).sum();
            assert_eq!(sum, total);
        }
        assert_eq!(
            (0..3).map(|i| share(7, 3, i)).collect::<Vec<_>>(),
            vec![3, 2, 2]
        );
    }
}
