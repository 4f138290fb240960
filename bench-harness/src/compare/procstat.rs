//! CPU time of a process tree from /proc: utime + stime of a process and of
//! every descendant (nginx is a master plus a worker; ringgate and haproxy
//! are one process with threads, which /proc/PID/stat already sums).

use std::fs;

/// The fields of /proc/PID/stat that compare needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    /// Fields 14 and 15, in clock ticks: user and system time of all the
    /// process's threads, live and exited.
    pub utime: u64,
    pub stime: u64,
}

/// Parses one /proc/PID/stat line. The command name (field 2) is in
/// parentheses and may itself contain spaces and `)`, so the fields after
/// it are located from the *last* `)`.
pub fn parse_stat(line: &str) -> Option<ProcStat> {
    let open = line.find(" (")?;
    let close = line.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = line[..open].trim().parse().ok()?;
    // After ") " come field 3 (state) onwards; utime/stime are fields 14/15.
    let mut rest = line.get(close + 1..)?.split_ascii_whitespace();
    let utime = rest.nth(14 - 3)?.parse().ok()?;
    let stime = rest.next()?.parse().ok()?;
    Some(ProcStat { pid, utime, stime })
}

/// Parses /proc/PID/task/TID/children: space-separated child PIDs.
pub fn parse_children(text: &str) -> Vec<u32> {
    text.split_ascii_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Clock ticks per second, the unit of utime and stime.
#[allow(unsafe_code)]
pub fn clock_ticks_per_s() -> u64 {
    // SAFETY: sysconf only reads a configuration value; no pointers involved.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100 // The Linux value since forever; sysconf cannot really fail here.
    }
}

/// Where the tree is read from; a trait so tests can feed a fake /proc.
pub trait ProcSource {
    fn stat(&self, pid: u32) -> Option<String>;
    /// Children of every thread of `pid`, concatenated.
    fn children(&self, pid: u32) -> Vec<u32>;
}

/// The real /proc.
pub struct Proc;

impl ProcSource for Proc {
    fn stat(&self, pid: u32) -> Option<String> {
        fs::read_to_string(format!("/proc/{pid}/stat")).ok()
    }

    fn children(&self, pid: u32) -> Vec<u32> {
        // A child forked by any thread is listed under that thread only.
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            return Vec::new();
        };
        tasks
            .flatten()
            .filter_map(|t| fs::read_to_string(t.path().join("children")).ok())
            .flat_map(|text| parse_children(&text))
            .collect()
    }
}

/// Bound on the tree walk, so a fork bomb or a PID loop cannot hang us.
const MAX_TREE: usize = 4096;

/// `root` and all its descendants, each once.
pub fn tree_pids(src: &impl ProcSource, root: u32) -> Vec<u32> {
    let mut stack = vec![root];
    let mut seen = Vec::new();
    while let Some(pid) = stack.pop() {
        if seen.contains(&pid) || seen.len() >= MAX_TREE {
            continue;
        }
        seen.push(pid);
        stack.extend(src.children(pid));
    }
    seen
}

/// utime + stime, in clock ticks, of `root` and all its descendants.
/// Processes that vanish mid-walk count as zero.
pub fn tree_ticks(src: &impl ProcSource, root: u32) -> u64 {
    tree_pids(src, root)
        .into_iter()
        .filter_map(|pid| src.stat(pid).as_deref().and_then(parse_stat))
        .map(|s| s.utime + s.stime)
        .sum()
}

/// The run-queue wait of /proc/PID/task/TID/schedstat (its second field,
/// in ns): time the thread was runnable but another task had its CPU.
pub fn parse_schedstat_wait_ns(text: &str) -> Option<u64> {
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Seconds the threads of `root` and its descendants have spent waiting
/// for a CPU so far. A pinned proxy that waits is starved by other work on
/// its CPU, and its req/s and latency then measure that work, not itself.
pub fn tree_runq_wait_s(root: u32) -> f64 {
    let ns: u64 = tree_pids(&Proc, root)
        .into_iter()
        .filter_map(|pid| fs::read_dir(format!("/proc/{pid}/task")).ok())
        .flat_map(|tasks| tasks.flatten())
        .filter_map(|t| fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|text| parse_schedstat_wait_ns(&text))
        .sum();
    ns as f64 / 1e9
}

/// CPU seconds used by the tree rooted at `root` so far.
pub fn tree_cpu_s(root: u32) -> f64 {
    tree_ticks(&Proc, root) as f64 / clock_ticks_per_s() as f64
}

/// user + nice + system ticks of all CPUs from /proc/stat's `cpu` line.
/// irq/softirq are left out: loopback networking is accounted there, and
/// it belongs to the processes under test, not to strangers.
pub fn parse_cpu_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect();
    (f.len() == 3).then(|| f.iter().sum())
}

/// CPU seconds all CPUs have spent busy (user + nice + system) so far.
pub fn system_busy_s() -> f64 {
    let ticks = fs::read_to_string("/proc/stat")
        .ok()
        .as_deref()
        .and_then(parse_cpu_busy)
        .unwrap_or(0);
    ticks as f64 / clock_ticks_per_s() as f64
}
