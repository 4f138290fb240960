//! How many client connections the process may hold, from its file
//! descriptor limit. Every client connection is a descriptor, and so is
//! every upstream connection it needs; if accept may take them all, the
//! requests it admits then fail to connect upstream (502). A share of the
//! limit is therefore kept for upstream connections and new clients are
//! refused before they reach it.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Descriptors a worker opens for itself (its ring or epoll instance, the
/// eventfd that wakes it), counted against the limit before the split.
const FDS_PER_WORKER: usize = 4;
/// Descriptors opened after start-up outside the connections: the signal
/// pipe, the Redis link, admin connections, files read on a reload.
const FDS_SPARE: usize = 16;

/// Client connections open across all workers, against their cap.
#[derive(Debug)]
pub struct FdBudget {
    open: AtomicUsize,
    cap: usize,
}

impl FdBudget {
    pub fn new(cap: usize) -> Self {
        FdBudget {
            open: AtomicUsize::new(0),
            cap,
        }
    }

    /// The client cap for a process whose descriptor limit is `nofile`,
    /// holding `in_use` already, with `workers` workers to start: of the
    /// descriptors left, `reserve_percent` stay for upstream connections.
    pub fn client_cap(nofile: u64, in_use: usize, workers: usize, reserve_percent: u8) -> usize {
        let nofile = usize::try_from(nofile).unwrap_or(usize::MAX);
        let fixed = in_use + workers * FDS_PER_WORKER + FDS_SPARE;
        let left = nofile.saturating_sub(fixed);
        // Widened so a huge limit times 100 cannot overflow.
        let clients = left as u128 * u128::from(100 - reserve_percent.min(100)) / 100;
        usize::try_from(clients).unwrap_or(usize::MAX)
    }

    /// Counts one more client connection; false (nothing counted) when the
    /// cap is reached.
    pub fn try_admit(&self) -> bool {
        // Relaxed: the count only has to be exact, not ordered with other memory.
        if self.open.fetch_add(1, Ordering::Relaxed) < self.cap {
            return true;
        }
        self.open.fetch_sub(1, Ordering::Relaxed);
        false
    }

    /// A client connection admitted by `try_admit` has closed its socket.
    pub fn release(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

/// Descriptors this process has open now.
pub fn open_fds() -> usize {
    // The directory handle itself is one of the entries; an over-count of
    // one errs on the side of the reserve.
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_leaves_the_reserve_after_fixed_descriptors() {
        // 1000 limit, 20 open, 2 workers: 1000 - 20 - 8 - 16 = 956 left.
        assert_eq!(FdBudget::client_cap(1000, 20, 2, 50), 478);
        assert_eq!(FdBudget::client_cap(1000, 20, 2, 25), 717);
        assert_eq!(FdBudget::client_cap(1000, 20, 2, 0), 956);
        assert_eq!(FdBudget::client_cap(10, 20, 2, 50), 0);
        assert!(FdBudget::client_cap(u64::MAX, 0, 1, 50) > 0);
    }

    #[test]
    fn admits_up_to_the_cap_and_again_after_a_release() {
        let b = FdBudget::new(2);
        assert!(b.try_admit());
        assert!(b.try_admit());
        assert!(!b.try_admit());
        assert!(!b.try_admit());
        b.release();
        assert!(b.try_admit());
        assert!(!b.try_admit());
    }
}
