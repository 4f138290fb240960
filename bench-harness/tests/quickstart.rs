//! scripts/quickstart.sh stops with the error when a demo origin cannot
//! start, instead of running a gateway whose requests would hang. Runs the
//! script on the debug ringbench (QUICKSTART_BIN_DIR skips its release
//! build); it fails before the gateway is needed.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/quickstart.sh");

/// Holds `port` on loopback (without SO_REUSEPORT, so no origin can join
/// it), waiting a little if another test has it right now.
fn occupy(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return l,
            Err(e) if Instant::now() > deadline => panic!("cannot hold port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn quickstart_exits_with_the_error_when_a_demo_origin_cannot_listen() {
    let _held = occupy(9002);
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_ringbench"))
        .parent()
        .unwrap();
    let mut child = Command::new("bash")
        .arg(SCRIPT)
        .env("QUICKSTART_BIN_DIR", bin_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a hung script is killed with all it started.
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(format!("-{}", child.id()))
                .status();
            let _ = child.wait();
            panic!("quickstart.sh still runs 30 s after a demo origin failed to listen");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "quickstart: demo origin 127.0.0.1:9002 did not start (exit status 2)\n\
         ringbench: cannot listen on 127.0.0.1:9002: Address already in use (os error 98)\n"
    );
    // The script ran in its own process group: whatever it started (the
    // origin on 9001) must be gone with it. Checked by group, not by port,
    // which another program may take meanwhile.
    let group_alive = || {
        Command::new("kill")
            .args(["-0", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(
        !group_alive(),
        "a process the script started (the origin on 9001) is still running"
    );
}
