//! Starts the real gateway binary with a config written for the test.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Gateway {
    pub child: Child,
    pub listeners: HashMap<String, SocketAddr>,
    pub stderr: Arc<Mutex<String>>,
    _dir: tempdir::TempDir,
}

mod tempdir {
    /// A private directory removed on drop (no extra crate for one helper).
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> TempDir {
            use std::sync::atomic::{AtomicU64, Ordering};
            static N: AtomicU64 = AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "ringgate-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Gateway {
    /// Writes `toml` to a file and runs `ringgate run` on it; returns once
    /// every listener has printed its bound address.
    pub fn start(toml: &str) -> Gateway {
        Gateway::start_with_env(toml, &[])
    }

    /// `start` with extra environment variables for the gateway process
    /// (secrets named by `secret_env`), leaving the test process's own alone.
    pub fn start_with_env(toml: &str, env: &[(&str, &str)]) -> Gateway {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringgate"));
        cmd.envs(env.iter().copied());
        Gateway::start_command(toml, cmd)
    }

    /// `start` with the gateway's file descriptor limit (soft and hard) set
    /// to `nofile`, so it cannot raise it.
    pub fn start_with_nofile(toml: &str, nofile: u32) -> Gateway {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_ringgate"));
        Gateway::start_command(toml, cmd)
    }

    fn start_command(toml: &str, mut cmd: Command) -> Gateway {
        let dir = tempdir::TempDir::new();
        let path = dir.0.join("ringgate.toml");
        std::fs::write(&path, toml).unwrap();
        let mut child = cmd
            .args(["run", "--config"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ringgate");
        let expected = toml.matches("[[listener]]").count() + usize::from(toml.contains("[admin]"));
        let stdout = child.stdout.take().unwrap();
        let stderr_text = Arc::new(Mutex::new(String::new()));
        let sink = stderr_text.clone();
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ringgate: admin listening on ") {
                    let _ = tx.send(("admin".to_string(), addr.parse::<SocketAddr>().unwrap()));
                } else if let Some(rest) = line.strip_prefix("ringgate: listening on ") {
                    let (name, addr) = rest.split_once(' ').unwrap();
                    let _ = tx.send((name.to_string(), addr.parse::<SocketAddr>().unwrap()));
                }
            }
        });
        let mut listeners = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while listeners.len() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((name, addr)) => {
                    listeners.insert(name, addr);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("gateway did not start: {}", stderr_text.lock().unwrap());
                }
            }
        }
        Gateway {
            child,
            listeners,
            stderr: stderr_text,
            _dir: dir,
        }
    }

    /// The config file the gateway runs on (rewrite it, then `signal(1)`).
    pub fn config_path(&self) -> std::path::PathBuf {
        self._dir.0.join("ringgate.toml")
    }

    /// A private directory for the test's own files (removed with the gateway).
    pub fn dir(&self) -> std::path::PathBuf {
        self._dir.0.clone()
    }

    /// The address of the first (or only) listener named `main`.
    pub fn addr(&self) -> SocketAddr {
        self.listeners["main"]
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY-free: kill(1) via the command avoids unsafe libc in tests.
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit by itself within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gateway did not exit in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The admin listener's `/metrics` text.
    pub fn metrics(&self) -> String {
        super::Client::connect(self.listeners["admin"])
            .get("/metrics")
            .text()
    }

    /// One sample of `/metrics`, e.g. `ringgate_rejected_total{reason="obs_fold"}`.
    pub fn metric(&self, sample: &str) -> u64 {
        let text = self.metrics();
        text.lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no sample {sample} in:\n{text}"))
            .parse()
            .unwrap()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A config with one `main` listener on port 0 and one cluster `up` with
/// the given endpoints, plus `extra` TOML appended (routes, overrides).
pub fn config(endpoints: &[SocketAddr], extra: &str) -> String {
    let eps: Vec<String> = endpoints.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "[server]\nworkers = 2\ndrain_timeout = \"5s\"\n\n[[listener]]\nname = \"main\"\naddress = \"127.0.0.1:0\"\n\n\
         [[cluster]]\nname = \"up\"\nendpoints = [{}]\n\n{extra}\n",
        eps.join(", ")
    )
}

/// `config` with a catch-all route to cluster `up`.
pub fn simple_config(endpoints: &[SocketAddr], extra: &str) -> String {
    config(
        endpoints,
        &format!("[[route]]\nname = \"all\"\ncluster = \"up\"\n\n{extra}"),
    )
}
