//! `ringbench`: the mock origin and the load generator used to test and
//! benchmark ringgate. This file only parses the command line; each
//! subcommand lives in its own module.

// Unsafe is allowed only where a libc call is needed, each marked with
// `#[allow(unsafe_code)]` and a SAFETY comment.
#![deny(unsafe_code)]

mod http;
mod load;
mod origin;
mod rng;
mod rt;
mod stats;

// Shared with the library target (compare's tests use them there).
use bench_harness::{compare, units};

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "ringbench",
    version,
    about = "Mock origin and HTTP/1.1 load generator for ringgate"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a fast multi-core mock upstream (HTTP/1.1, keep-alive, pipelining, faults).
    Origin(origin::OriginArgs),
    /// Generate HTTP/1.1 load (closed or open loop) and report latency and throughput.
    Load(load::LoadArgs),
    /// Benchmark ringgate against nginx and haproxy: CPU µs per request, req/s, latency.
    Compare(compare::CompareArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Origin(args) => origin::run(args),
        Cmd::Load(args) => load::run(args),
        Cmd::Compare(args) => compare::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("ringbench: {msg}");
            ExitCode::from(2)
        }
    }
}
