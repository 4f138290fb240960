//! Semantic checks on a deserialized config that need no feature's
//! knowledge: ranges, cross-references, uniqueness. Each error names its key
//! path.
//!
//! What a feature builds it checks itself, in its `build` (run by
//! `crate::snapshot`): route match syntax (the router), rate limits and
//! `[redis]`, TLS settings, policies and consumers (the filters).

mod lists;
#[cfg(test)]
mod tests;

use std::time::Duration as StdDuration;

use super::error::ConfigError;
use super::schema::{
    AdminConfig, Config, LimitsConfig, ListenerConfig, ServerConfig, TimeoutsConfig, Workers,
};
use super::units::{fmt_duration, fmt_size, ByteSize};

pub(crate) const MAX_WORKERS: usize = 1024;
pub(crate) const MAX_CPU: usize = 1024;
pub(crate) const MAX_DRAIN: StdDuration = StdDuration::from_secs(3600);
/// monoio raises anything below 256 to 256, so smaller values would be a lie.
pub(crate) const URING_ENTRIES: std::ops::RangeInclusive<u32> = 256..=32768;
pub(crate) const HEADERS_COUNT: std::ops::RangeInclusive<usize> = 1..=10_000;
pub(crate) const BUFFER_MIN: ByteSize = ByteSize::kib(4);
pub(crate) const BUFFER_MAX: ByteSize = ByteSize::mib(16);
/// The most a head limit may be: heads grow the connection buffer up to it.
const HEAD_MAX: ByteSize = ByteSize::mib(1);

/// Every semantic problem in `cfg`, in section order; empty when valid.
pub fn validate(cfg: &Config) -> Vec<ConfigError> {
    let mut out = Vec::new();
    check_server(&cfg.server, &mut out);
    check_limits(&cfg.limits, &mut out);
    check_timeouts(&cfg.timeouts, &mut out);
    check_admin(&cfg.admin, &cfg.listeners, &mut out);
    lists::check_listeners(&cfg.listeners, &mut out);
    lists::check_clusters(&cfg.clusters, &mut out);
    lists::check_routes(&cfg.routes, &cfg.clusters, &mut out);
    out
}

fn check_admin(admin: &AdminConfig, listeners: &[ListenerConfig], out: &mut Vec<ConfigError>) {
    let Some(address) = &admin.address else {
        return;
    };
    match address.parse::<std::net::SocketAddr>() {
        Err(_) => err(
            out,
            "admin.address",
            format!("invalid address {address:?}: expected ip:port such as \"127.0.0.1:9901\""),
        ),
        Ok(a) if a.port() != 0 && listeners.iter().any(|l| l.address == *address) => err(
            out,
            "admin.address",
            format!("{address} is also a [[listener]] address"),
        ),
        Ok(_) => {}
    }
}

fn err(out: &mut Vec<ConfigError>, path: impl Into<String>, message: impl Into<String>) {
    out.push(ConfigError::new(path, message));
}

fn check_server(s: &ServerConfig, out: &mut Vec<ConfigError>) {
    match s.workers {
        Workers::Count(0) => err(out, "server.workers", "must be at least 1"),
        Workers::Count(n) if n > MAX_WORKERS => err(
            out,
            "server.workers",
            format!("{n} workers is more than the maximum of {MAX_WORKERS}"),
        ),
        _ => {}
    }
    if let Some(cpus) = &s.cpus {
        check_cpus(cpus, s.workers, out);
    }
    if s.drain_timeout.get() > MAX_DRAIN {
        err(
            out,
            "server.drain_timeout",
            format!(
                "{} is longer than the maximum of 1h",
                fmt_duration(s.drain_timeout)
            ),
        );
    }
    if s.max_connections_per_core == 0 {
        err(out, "server.max_connections_per_core", "must be at least 1");
    }
    let n = s.uring_entries;
    if !n.is_power_of_two() || !URING_ENTRIES.contains(&n) {
        err(
            out,
            "server.uring_entries",
            format!("{n} is not a power of two between 256 and 32768"),
        );
    }
}

fn check_cpus(cpus: &[usize], workers: Workers, out: &mut Vec<ConfigError>) {
    if cpus.is_empty() {
        err(
            out,
            "server.cpus",
            "must list at least one CPU (or leave cpus out)",
        );
    }
    if let Workers::Count(n) = workers {
        if !cpus.is_empty() && cpus.len() < n {
            err(
                out,
                "server.cpus",
                format!(
                    "lists {} CPUs but workers = {n}: each worker needs its own entry",
                    cpus.len()
                ),
            );
        }
    }
    for (i, &cpu) in cpus.iter().enumerate() {
        if cpu >= MAX_CPU {
            err(
                out,
                format!("server.cpus[{i}]"),
                format!("CPU {cpu} is out of range: CPU numbers must be below {MAX_CPU}"),
            );
        }
    }
}

fn check_limits(l: &LimitsConfig, out: &mut Vec<ConfigError>) {
    let zero = "must be greater than 0";
    if l.max_request_line_bytes.0 == 0 {
        err(out, "limits.max_request_line_bytes", zero);
    } else if l.max_request_line_bytes > l.max_header_bytes {
        err(
            out,
            "limits.max_request_line_bytes",
            format!(
                "{} is larger than max_header_bytes ({}): the request line is part of the head",
                fmt_size(l.max_request_line_bytes),
                fmt_size(l.max_header_bytes)
            ),
        );
    }
    if l.max_header_bytes.0 == 0 {
        err(out, "limits.max_header_bytes", zero);
    }
    if !HEADERS_COUNT.contains(&l.max_headers_count) {
        err(
            out,
            "limits.max_headers_count",
            format!("{} is not between 1 and 10000", l.max_headers_count),
        );
    }
    check_buffer(l, out);
}

/// The connection buffer is the streaming chunk size; a head larger than it
/// grows the buffer up to the head limit, so the two are independent.
fn check_buffer(l: &LimitsConfig, out: &mut Vec<ConfigError>) {
    let buf = l.buffer_bytes;
    if buf < BUFFER_MIN || buf > BUFFER_MAX {
        err(
            out,
            "limits.buffer_bytes",
            format!("{} is not between 4KiB and 16MiB", fmt_size(buf)),
        );
    }
    if l.stream_buffer_bytes < buf || l.stream_buffer_bytes > BUFFER_MAX {
        err(
            out,
            "limits.stream_buffer_bytes",
            format!(
                "{} is not between buffer_bytes ({}) and 16MiB",
                fmt_size(l.stream_buffer_bytes),
                fmt_size(buf)
            ),
        );
    }
    for (key, size) in [
        ("limits.max_header_bytes", l.max_header_bytes),
        (
            "limits.max_response_header_bytes",
            l.max_response_header_bytes,
        ),
    ] {
        if size > HEAD_MAX {
            err(
                out,
                key,
                format!(
                    "{} is over 1MiB: a head that large is an attack, not a request",
                    fmt_size(size)
                ),
            );
        }
    }
    if l.max_response_header_bytes.0 == 0 {
        err(
            out,
            "limits.max_response_header_bytes",
            "must be greater than 0",
        );
    }
}

fn check_timeouts(t: &TimeoutsConfig, out: &mut Vec<ConfigError>) {
    let all = [
        ("client_header", t.client_header),
        ("client_idle", t.client_idle),
        ("client_body", t.client_body),
        ("upstream_connect", t.upstream_connect),
        ("upstream_response_head", t.upstream_response_head),
        ("upstream_idle", t.upstream_idle),
    ];
    for (key, value) in all {
        if value.get().is_zero() {
            err(out, format!("timeouts.{key}"), "must be greater than 0");
        }
    }
}
