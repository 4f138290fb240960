//! Child processes that cannot outlive `ringbench compare`. Each child gets
//! its own process group (so nginx's workers die with their master), is
//! killed from `Drop` (normal exit, errors, panics), from the SIGINT/SIGTERM
//! handler installed by [`install_signal_handlers`], and by the kernel if
//! ringbench itself is killed (`PR_SET_PDEATHSIG`).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Process groups to kill from the signal handler: plain atomics, because
/// a handler may only touch lock-free state.
static GROUPS: [AtomicI32; 32] = [const { AtomicI32::new(0) }; 32];
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How long a child gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// True once SIGINT/SIGTERM/SIGHUP arrived; every step checks it.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn check_interrupted() -> Result<(), String> {
    if interrupted() {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

#[allow(unsafe_code)]
extern "C" fn on_signal(_sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    for g in &GROUPS {
        let pgid = g.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe and takes no pointers.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

/// On SIGINT/SIGTERM/SIGHUP: kill every registered child group at once and
/// set the flag; the main thread then unwinds normally (its waits fail
/// because the children died), running every `Drop`.
#[allow(unsafe_code)]
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only does atomic loads/stores and kill(2),
        // all async-signal-safe; the sigaction struct is zeroed then filled.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Raises the soft open-files limit to the hard one, so children (and the
/// 1,000-connection scenario) inherit enough descriptors.
#[allow(unsafe_code)]
pub fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit read/write the struct we own, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A running child in its own process group; the group is killed on drop.
pub struct Guarded {
    pub name: String,
    child: Option<Child>,
    slot: Option<usize>,
    /// Lines of stdout, read by a helper thread so the pipe never fills.
    lines: Option<Receiver<String>>,
    /// Lines of stderr when it is not sent to a log file.
    err_lines: Option<Receiver<String>>,
    /// Files whose tails explain a failure (stderr, error logs).
    pub logs: Vec<PathBuf>,
    /// Captured stderr lines that `wait_line` read past (the last few).
    skipped: Vec<String>,
}

/// How many skipped stderr lines a failure message shows.
const SKIPPED_KEPT: usize = 8;

/// Which output stream to wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Guarded {
    /// Spawns `cmd` pinned to `cpu` (when given). Stdout is piped and read
    /// line by line; stderr goes to `log` (for error reports) when given,
    /// else it is read line by line too.
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        cpu: Option<usize>,
        log: Option<&Path>,
    ) -> Result<Guarded, String> {
        check_interrupted()?;
        let stderr = match log {
            Some(p) => Stdio::from(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => Stdio::piped(),
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        cmd.process_group(0);
        set_child_hooks(&mut cmd, cpu);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{name}: cannot start {:?}: {e}", cmd.get_program()))?;
        let lines = child.stdout.take().map(read_lines);
        let err_lines = child.stderr.take().map(read_lines);
        let slot = register(child.id() as i32);
        let guarded = Guarded {
            name: name.to_string(),
            child: Some(child),
            slot,
            lines,
            err_lines,
            logs: log.map(Path::to_path_buf).into_iter().collect(),
            skipped: Vec::new(),
        };
        // A signal between spawn and register found no group to kill; the
        // handler sets the flag before killing, so checking after register
        // closes the gap (dropping `guarded` kills the child).
        check_interrupted()?;
        Ok(guarded)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for a line for which `pick` returns `Some`, until `limit`.
    pub fn wait_line<T>(
        &mut self,
        stream: Stream,
        limit: Duration,
        pick: impl Fn(&str) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + limit;
        let rx = match stream {
            Stream::Stdout => self.lines.as_ref(),
            Stream::Stderr => self.err_lines.as_ref(),
        }
        .ok_or("stream not captured")?;
        let mut skipped = Vec::new();
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => match pick(&line) {
                    Some(v) => break Ok(v),
                    None => skipped.push(line),
                },
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    break Err("timed out waiting for an expected line")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err("exited before printing an expected line")
                }
            }
        };
        if stream == Stream::Stderr {
            skipped.into_iter().for_each(|l| self.skip(l));
        }
        outcome.map_err(|what| self.failure(what))
    }

    /// Waits up to `limit` for the child to exit; returns its stdout and
    /// whether it succeeded. Kills it when the time is up.
    pub fn wait_output(&mut self, limit: Duration) -> Result<(bool, String), String> {
        let deadline = Instant::now() + limit;
        let child = self.child.as_mut().ok_or("already stopped")?;
        let status = loop {
            if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
                break st;
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!("{} did not finish in {limit:?}", self.name));
            }
            // Polling a child's exit with a deadline; std has nothing to wait on.
            std::thread::sleep(Duration::from_millis(5));
        };
        // Reaped: its PID (= group id) may be reused, so never signal it again.
        self.child = None;
        self.unregister();
        // The reader thread ends at EOF, so collecting cannot block for long.
        let out: Vec<String> = self
            .lines
            .take()
            .map(|rx| rx.iter().collect())
            .unwrap_or_default();
        Ok((status.success(), out.join("\n")))
    }

    fn skip(&mut self, line: String) {
        if self.skipped.len() == SKIPPED_KEPT {
            self.skipped.remove(0);
        }
        self.skipped.push(line);
    }

    /// The last captured stderr lines, including those not yet read.
    pub fn stderr_tail(&mut self) -> String {
        let pending: Vec<String> = self
            .err_lines
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        for line in pending {
            self.skip(line);
        }
        self.skipped.join("\n    ")
    }

    /// `true` while the child is running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// An error message with the tail of the child's log or stderr.
    pub fn failure(&mut self, what: &str) -> String {
        if self.err_lines.is_some() {
            // Give the reader thread a moment to deliver the last words.
            std::thread::sleep(Duration::from_millis(50));
            let tail = self.stderr_tail();
            return format!("{}: {what}\n    {tail}", self.name);
        }
        let tail: String = self
            .logs
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|t| tail_lines(&t, 8))
            .collect();
        format!("{}: {what}{tail}", self.name)
    }

    /// SIGTERM to the group, SIGKILL after a grace period; reaps the child.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id() as i32;
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + TERM_GRACE;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            // Polling a child's exit with a deadline; std has nothing to wait on.
            std::thread::sleep(Duration::from_millis(10));
        }
        // Whatever is left of the group (the leader or nginx workers).
        signal_group(pgid, libc::SIGKILL);
        let _ = child.wait();
        self.unregister();
    }

    fn unregister(&mut self) {
        if let Some(slot) = self.slot.take() {
            GROUPS[slot].store(0, Ordering::SeqCst);
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

#[allow(unsafe_code)]
fn signal_group(pgid: i32, sig: libc::c_int) {
    if pgid > 0 {
        // SAFETY: kill(2) takes no pointers; a negative pid names a group.
        unsafe { libc::kill(-pgid, sig) };
    }
}

fn register(pgid: i32) -> Option<usize> {
    GROUPS.iter().position(|g| {
        g.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })
}

/// Runs in the forked child before exec: die with the parent, and pin.
#[allow(unsafe_code)]
fn set_child_hooks(cmd: &mut Command, cpu: Option<usize>) {
    // The CPU set is built before fork: the hook may only make syscalls.
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if let Some(cpu) = cpu.filter(|&c| c < libc::CPU_SETSIZE as usize) {
        // SAFETY: `cpu` is below CPU_SETSIZE, so the bit is inside `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: the closure only calls prctl and sched_setaffinity, both
    // async-signal-safe syscalls, on memory copied into the child.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if cpu.is_some()
                && libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn read_lines(out: impl io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            // Nobody listening any more is fine: keep draining the pipe.
            let _ = tx.send(line);
        }
    });
    rx
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(n)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!("\n    {}", tail.join("\n    "))
    }
}
