//! Load-balancing policies. Per core, so picking needs no coordination.

use std::cell::Cell;

/// Round robin over a cluster's endpoints, one cursor per core. Cores start
/// at different offsets so N cores don't all hit endpoint 0 first.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: Cell<usize>,
}

impl RoundRobin {
    pub fn starting_at(offset: usize) -> Self {
        RoundRobin {
            next: Cell::new(offset),
        }
    }

    /// The index of the endpoint to use, or `None` for an empty cluster.
    pub fn pick(&self, endpoints: usize) -> Option<usize> {
        if endpoints == 0 {
            return None;
        }
        let i = self.next.get() % endpoints;
        self.next.set(i + 1);
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_through_all_endpoints() {
        let rr = RoundRobin::starting_at(1);
        let picks: Vec<_> = (0..6).map(|_| rr.pick(3).unwrap()).collect();
        assert_eq!(picks, [1, 2, 0, 1, 2, 0]);
        assert_eq!(rr.pick(0), None);
    }
}
