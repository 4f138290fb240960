//! The `ringgate` command line: parse arguments, call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ringgate::runtime::RunOptions;
use ringgate::snapshot::{self, Snapshot};

#[derive(Parser)]
#[command(
    name = "ringgate",
    version,
    about = "A thread-per-core io_uring API gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway (SIGTERM/SIGINT: drain and exit; SIGHUP: reload the config).
    Run {
        /// The config file.
        #[arg(short, long, default_value = "config/ringgate.toml")]
        config: PathBuf,
        /// Serve listen addresses even when another process already listens
        /// there (SO_REUSEPORT then splits connections between the two), as a
        /// hand-over to a new version does. Without it, such an address is
        /// an error.
        #[arg(long)]
        allow_shared_port: bool,
    },
    /// Validate a config file: print every problem with its key path, exit 1 if any.
    Check {
        /// The config file.
        #[arg(short, long, default_value = "config/ringgate.toml")]
        config: PathBuf,
    },
    /// Read an API key from stdin and print the `sha256:<hex>` form that
    /// `[[consumer]] api_keys` stores (one trailing newline is ignored).
    HashKey,
}

fn load(path: &std::path::Path) -> Result<Snapshot, ExitCode> {
    match snapshot::load(path, 1) {
        Ok(snap) => Ok(snap),
        Err(errors) => {
            eprintln!("{}: {} problem(s):", path.display(), errors.0.len());
            eprintln!("{errors}");
            Err(ExitCode::from(1))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::HashKey => {
            let mut key = Vec::new();
            if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut key) {
                eprintln!("ringgate hash-key: cannot read stdin: {e}");
                return ExitCode::from(1);
            }
            if key.ends_with(b"\n") {
                key.pop();
                if key.ends_with(b"\r") {
                    key.pop();
                }
            }
            if key.is_empty() {
                eprintln!("ringgate hash-key: no key on stdin");
                return ExitCode::from(1);
            }
            println!("{}", ringgate::filter::auth::apikey::hash_key(&key));
            ExitCode::SUCCESS
        }
        Command::Check { config } => match load(&config) {
            Ok(_) => {
                println!("{}: ok", config.display());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run {
            config,
            allow_shared_port,
        } => {
            let snap = match load(&config) {
                Ok(s) => s,
                Err(code) => return code,
            };
            match ringgate::runtime::run(snap, Some(config), RunOptions { allow_shared_port }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ringgate: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
