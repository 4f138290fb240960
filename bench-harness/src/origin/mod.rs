//! `ringbench origin`: a multi-core mock upstream. One pinned monoio
//! runtime per thread, each with its own SO_REUSEPORT listener(s); nothing
//! is shared between threads after startup.

mod conn;
mod delay;
mod response;

use crate::rng::Rng;
use crate::rt;
use crate::units::{parse_cpus, parse_duration, CpuList};
use clap::ValueEnum;
use delay::{Delay, Stall};
use response::{Responses, Shape};
use std::cell::Cell;
use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct OriginArgs {
    /// Address to listen on (repeatable). Port 0 picks a free port; each bound
    /// address is printed as `listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: Vec<SocketAddr>,
    /// Threads, each with its own runtime and SO_REUSEPORT listener.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Pin thread i to the i-th cpu of this list (e.g. `0,1` or `0-3`).
    #[arg(long, value_parser = parse_cpus)]
    cpus: Option<CpuList>,
    /// Status of the default response.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(200..=999))]
    status: u16,
    /// Body size of the default response (13 = `Hello, World!`, else `x` bytes).
    #[arg(long, default_value_t = 13)]
    body_size: usize,
    /// Fixed delay before each response, e.g. `10ms`.
    #[arg(long, value_parser = parse_duration, conflicts_with = "delay_dist")]
    delay: Option<Duration>,
    /// Random delay: `uniform:5ms:15ms` or `exp:10ms` (exponential, mean).
    #[arg(long, value_parser = Delay::parse)]
    delay_dist: Option<Delay>,
    /// Send bodies with Transfer-Encoding: chunked.
    #[arg(long)]
    chunked: bool,
    /// Chunk size for --chunked.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=(1 << 24)))]
    chunk_size: u64,
    /// Extra response header `Name:value` (repeatable).
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// Misbehave on a fraction of requests (see --fault-rate).
    #[arg(long, value_enum)]
    fault: Option<Fault>,
    /// Fraction of requests that get the fault (0..1, default 1 with --fault).
    #[arg(long, requires = "fault", value_parser = parse_fraction)]
    fault_rate: Option<f64>,
    /// Pause between bytes for --fault slow-drip.
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    drip_interval: Duration,
    /// Stop answering periodically: every this long ...
    #[arg(long, value_parser = parse_duration, requires = "stall_for")]
    stall_every: Option<Duration>,
    /// ... for this long (all threads at once).
    #[arg(long, value_parser = parse_duration, requires = "stall_every")]
    stall_for: Option<Duration>,
    /// Answer with the request head (method, target, headers as received) as body.
    #[arg(long)]
    echo: bool,
    /// Exit when stdin reaches EOF, so an origin started by a test or a
    /// script dies with its parent even if the parent is killed.
    #[arg(long)]
    exit_on_stdin_close: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// Send about half of the response, then close.
    CloseMidResponse,
    /// Reset the connection (RST) instead of answering.
    Reset,
    /// Read the request and never answer (the connection stays open).
    NeverAnswer,
    /// Send the response one byte per --drip-interval.
    SlowDrip,
}

/// Immutable settings every thread reads.
pub struct Config {
    responses: Responses,
    delay: Delay,
    fault: Option<Fault>,
    fault_rate: f64,
    drip_interval: Duration,
    stall: Option<Stall>,
    echo: bool,
}

/// Per-thread context: the shared config plus thread-local mutable state.
pub struct ThreadCtx {
    cfg: Arc<Config>,
    rng: Cell<Rng>,
}

impl ThreadCtx {
    fn random(&self) -> f64 {
        let mut rng = self.rng.get();
        let v = rng.next_f64();
        self.rng.set(rng);
        v
    }

    fn sample_delay(&self) -> Duration {
        let mut rng = self.rng.get();
        let d = self.cfg.delay.sample(&mut rng);
        self.rng.set(rng);
        d
    }

    /// Decides whether this request gets the configured fault.
    fn roll_fault(&self) -> Option<Fault> {
        let fault = self.cfg.fault?;
        (self.cfg.fault_rate >= 1.0 || self.random() < self.cfg.fault_rate).then_some(fault)
    }
}

pub fn run(args: OriginArgs) -> Result<(), String> {
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let cfg = Arc::new(config(&args)?);
    let listeners = bind_all(&args.listen, args.threads)?;
    if args.exit_on_stdin_close {
        watch_stdin();
    }
    let slots = Arc::new(Mutex::new(listeners));
    let handles = rt::spawn_threads(
        args.threads,
        args.cpus.as_ref().map_or(&[][..], |c| &c.0),
        move |i| {
            let mine = slots
                .lock()
                .map(|mut s| std::mem::take(&mut s[i]))
                .unwrap_or_default();
            serve_thread(i, mine, cfg.clone())
        },
    );
    for h in handles {
        if h.join().is_err() {
            return Err("an origin thread panicked".into());
        }
    }
    Ok(())
}

fn config(args: &OriginArgs) -> Result<Config, String> {
    let mut extra_headers = Vec::new();
    for (k, v) in &args.headers {
        extra_headers.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    let shape = Shape {
        status: args.status,
        body_size: args.body_size,
        chunked: args.chunked,
        chunk_size: args.chunk_size as usize,
        extra_headers,
    };
    let stall = match (args.stall_every, args.stall_for) {
        (Some(every), Some(length)) if length < every && !every.is_zero() => Some(Stall {
            epoch: Instant::now(),
            every,
            length,
        }),
        (Some(_), Some(_)) => return Err("--stall-for must be shorter than --stall-every".into()),
        _ => None,
    };
    Ok(Config {
        responses: Responses::new(shape),
        delay: args
            .delay_dist
            .unwrap_or(args.delay.map_or(Delay::None, Delay::Fixed)),
        fault: args.fault,
        fault_rate: args.fault_rate.unwrap_or(1.0),
        drip_interval: args.drip_interval,
        stall,
        echo: args.echo,
    })
}

/// Binds one listener per (thread, address) and announces each address.
/// Port 0 is resolved by the first bind so every thread shares the port.
fn bind_all(
    addrs: &[SocketAddr],
    threads: usize,
) -> Result<Vec<Vec<std::net::TcpListener>>, String> {
    let mut per_thread: Vec<Vec<std::net::TcpListener>> =
        (0..threads).map(|_| Vec::new()).collect();
    let mut stdout = std::io::stdout().lock();
    for &addr in addrs {
        let first =
            rt::reuse_port_listener(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = first
            .local_addr()
            .map_err(|e| format!("listener on {addr}: {e}"))?;
        per_thread[0].push(first);
        for slot in per_thread.iter_mut().skip(1) {
            slot.push(
                rt::reuse_port_listener(bound)
                    .map_err(|e| format!("cannot listen on {bound}: {e}"))?,
            );
        }
        let _ = writeln!(stdout, "listening on {bound}");
    }
    let _ = stdout.flush();
    Ok(per_thread)
}

fn watch_stdin() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
}

async fn serve_thread(index: usize, listeners: Vec<std::net::TcpListener>, cfg: Arc<Config>) {
    let ctx = Rc::new(ThreadCtx {
        cfg,
        rng: Cell::new(Rng::from_time(index)),
    });
    let mut tasks = Vec::new();
    for l in listeners {
        match monoio::net::TcpListener::from_std(l) {
            Ok(l) => tasks.push(monoio::spawn(accept_loop(l, ctx.clone()))),
            Err(e) => eprintln!("ringbench origin: thread {index}: cannot use listener: {e}"),
        }
    }
    for t in tasks {
        t.await;
    }
}

async fn accept_loop(listener: monoio::net::TcpListener, ctx: Rc<ThreadCtx>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                monoio::spawn(conn::serve(stream, ctx.clone()));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("ringbench origin: accept: {e}");
                monoio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| format!("header `{s}` must look like Name:value"))?;
    let k = k.trim();
    let valid = !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !valid || v.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(format!("header `{s}` has an invalid name or value"));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("`{s}` is not a fraction between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: OriginArgs,
    }

    fn parse(argv: &[&str]) -> Result<OriginArgs, clap::Error> {
        Wrap::try_parse_from(std::iter::once("origin").chain(argv.iter().copied())).map(|w| w.args)
    }

    #[test]
    fn flags() {
        let a = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "2",
        ])
        .unwrap();
        assert_eq!(a.listen.len(), 2);
        let a = parse(&[
            "--fault",
            "close-mid-response",
            "--header",
            "X-A: b",
            "--cpus",
            "0-1",
        ])
        .unwrap();
        assert_eq!(a.fault, Some(Fault::CloseMidResponse));
        assert_eq!(a.headers, vec![("X-A".into(), "b".into())]);
        assert_eq!(a.cpus, Some(CpuList(vec![0, 1])));
        let c = config(&a).unwrap();
        assert_eq!(c.fault_rate, 1.0);
        assert!(
            parse(&["--fault-rate", "0.5"]).is_err(),
            "rate without fault"
        );
        assert!(parse(&["--fault", "reset", "--fault-rate", "1.5"]).is_err());
        assert!(parse(&["--delay", "10ms", "--delay-dist", "exp:1ms"]).is_err());
        assert!(parse(&["--stall-every", "5s"]).is_err());
        assert!(parse(&["--status", "99"]).is_err());
        let a = parse(&["--stall-every", "1s", "--stall-for", "2s"]).unwrap();
        assert!(config(&a).is_err());
    }

    #[test]
    fn header_validation() {
        assert!(parse_header("X-A:1").is_ok());
        assert!(parse_header("X A:1").is_err());
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("X:a\r\nb").is_err());
    }
}
