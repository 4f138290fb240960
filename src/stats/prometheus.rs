//! Prometheus text exposition (format 0.0.4) of the summed per-core counters.

use std::fmt::Write;

use super::{CoreStats, Counter, Stats};

/// Everything the exposition needs besides the counters.
pub struct Info<'a> {
    pub config_generation: u64,
    /// Labels for `CoreStats::rejected`, by index.
    pub reject_reasons: &'a [&'a str],
    /// Client connections the descriptor limit admits across all workers.
    pub client_connections_max: usize,
}

/// Picks one counter out of a core's slot.
type Field = fn(&CoreStats) -> &Counter;

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn single(
    out: &mut String,
    stats: &Stats,
    name: &str,
    kind: &str,
    help: &str,
    f: impl Fn(&CoreStats) -> &Counter,
) {
    metric(out, name, kind, help);
    let _ = writeln!(out, "{name} {}", stats.sum(f));
}

pub fn render(stats: &Stats, info: &Info) -> String {
    let mut out = String::with_capacity(4096);
    let counters: [(&str, &str, Field); 10] = [
        (
            "connections_accepted_total",
            "Client connections accepted.",
            |c| &c.connections_accepted,
        ),
        (
            "connection_panics_total",
            "Connection tasks that panicked; only that connection was closed.",
            |c| &c.connection_panics,
        ),
        ("requests_total", "Request heads parsed and handled.", |c| {
            &c.requests
        }),
        (
            "upstream_connects_total",
            "New upstream connections opened.",
            |c| &c.upstream_connects,
        ),
        (
            "upstream_reused_total",
            "Requests sent on a pooled upstream connection.",
            |c| &c.upstream_reused,
        ),
        (
            "upstream_retries_total",
            "Requests re-sent on a fresh connection after a stale pooled one failed.",
            |c| &c.upstream_retries,
        ),
        (
            "upgrades_total",
            "Connections tunnelled after a 101 response.",
            |c| &c.upgrades,
        ),
        (
            "tls_handshakes_total",
            "TLS handshakes completed on TLS listeners.",
            |c| &c.tls_handshakes,
        ),
        (
            "tls_handshake_failures_total",
            "TLS handshakes that failed or timed out; the connection was closed.",
            |c| &c.tls_handshake_failures,
        ),
        (
            "tls_resumed_total",
            "TLS handshakes that resumed a session (session ticket or session cache).",
            |c| &c.tls_resumed,
        ),
    ];
    for (name, help, f) in counters {
        single(
            &mut out,
            stats,
            &format!("ringgate_{name}"),
            "counter",
            help,
            f,
        );
    }
    single(
        &mut out,
        stats,
        "ringgate_connections_active",
        "gauge",
        "Client connections open now.",
        |c| &c.connections_active,
    );
    render_refused(&mut out, stats, info);
    metric(
        &mut out,
        "ringgate_responses_total",
        "counter",
        "Responses sent to clients, by status class.",
    );
    for class in 1..=5 {
        let n = stats.sum(|c| &c.responses_by_class[class]);
        let _ = writeln!(out, "ringgate_responses_total{{class=\"{class}xx\"}} {n}");
    }
    metric(
        &mut out,
        "ringgate_rejected_total",
        "counter",
        "Requests the gateway answered with an error itself, by reason.",
    );
    for (i, reason) in info.reject_reasons.iter().enumerate() {
        let n = stats.sum(|c| &c.rejected[i]);
        let _ = writeln!(out, "ringgate_rejected_total{{reason=\"{reason}\"}} {n}");
    }
    render_ratelimit(&mut out, stats);
    metric(
        &mut out,
        "ringgate_config_generation",
        "gauge",
        "Generation of the config snapshot in use.",
    );
    let _ = writeln!(out, "ringgate_config_generation {}", info.config_generation);
    metric(
        &mut out,
        "ringgate_workers",
        "gauge",
        "Worker threads (one per core).",
    );
    let _ = writeln!(out, "ringgate_workers {}", stats.cores().len());
    out
}

/// Refused client connections by reason, and the instance-wide cap that
/// `fd_reserve` refusals enforce.
fn render_refused(out: &mut String, stats: &Stats, info: &Info) {
    metric(
        out,
        "ringgate_connections_refused_total",
        "counter",
        "Client connections closed at once, by reason: max_connections_per_core \
         reached, or the file descriptors kept for upstream connections (fd_reserve).",
    );
    let reasons: [(&str, Field); 2] = [
        ("max_connections_per_core", |c| &c.connections_refused),
        ("fd_reserve", |c| &c.connections_refused_fd),
    ];
    for (reason, f) in reasons {
        let n = stats.sum(f);
        let _ = writeln!(
            out,
            "ringgate_connections_refused_total{{reason=\"{reason}\"}} {n}"
        );
    }
    metric(
        out,
        "ringgate_client_connections_max",
        "gauge",
        "Client connections admitted at once across all workers (the file descriptor \
         limit less limits.fd_reserve_percent for upstream connections).",
    );
    let _ = writeln!(
        out,
        "ringgate_client_connections_max {}",
        info.client_connections_max
    );
}

fn render_ratelimit(out: &mut String, stats: &Stats) {
    let counters: [(&str, &str, Field); 5] = [
        (
            "ratelimit_passed_total",
            "Requests a rate limit let through.",
            |c| &c.ratelimit_passed,
        ),
        (
            "ratelimit_limited_total",
            "Requests refused by a rate limit (429, or 503 when on_redis_error = deny).",
            |c| &c.ratelimit_limited,
        ),
        (
            "ratelimit_leases_total",
            "Leases (batches of admissions) taken from the instance budget or Redis.",
            |c| &c.ratelimit_leases,
        ),
        (
            "ratelimit_lease_returns_total",
            "Leases whose unused admissions were given back.",
            |c| &c.ratelimit_returns,
        ),
        (
            "ratelimit_fallbacks_total",
            "Rate-limit decisions made by on_redis_error because Redis could not be asked.",
            |c| &c.ratelimit_fallbacks,
        ),
    ];
    for (name, help, f) in counters {
        single(out, stats, &format!("ringgate_{name}"), "counter", help, f);
    }
    metric(
        out,
        "ringgate_ratelimit_keys",
        "gauge",
        "Rate-limit keys tracked by each core (bounded by max_keys per limit).",
    );
    for (i, c) in stats.cores().iter().enumerate() {
        let _ = writeln!(
            out,
            "ringgate_ratelimit_keys{{core=\"{i}\"}} {}",
            c.ratelimit_keys.get()
        );
    }
    let l = &stats.limiter;
    for (name, kind, help, value) in [
        (
            "ratelimit_redis_up",
            "gauge",
            "1 while Redis answers; 0 while Redis-backed limits use on_redis_error.",
            l.redis_up.get(),
        ),
        (
            "ratelimit_redis_calls_total",
            "counter",
            "Round trips to Redis (pipelined lease and refund scripts).",
            l.redis_calls.get(),
        ),
        (
            "ratelimit_redis_errors_total",
            "counter",
            "Failed Redis connects and calls.",
            l.redis_errors.get(),
        ),
        (
            "ratelimit_redis_recoveries_total",
            "counter",
            "Times Redis answered again after being unreachable.",
            l.redis_recoveries.get(),
        ),
    ] {
        metric(out, &format!("ringgate_{name}"), kind, help);
        let _ = writeln!(out, "ringgate_{name} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sums_and_labels() {
        let stats = Stats::new(2);
        stats.core(0).requests.add(3);
        stats.core(1).requests.add(4);
        stats.core(1).rejected[1].inc();
        stats.core(0).response(404);
        let text = render(
            &stats,
            &Info {
                config_generation: 7,
                reject_reasons: &["other", "no_route"],
                client_connections_max: 9,
            },
        );
        assert!(text.contains("ringgate_requests_total 7\n"), "{text}");
        assert!(text.contains("ringgate_rejected_total{reason=\"no_route\"} 1\n"));
        assert!(text.contains("ringgate_rejected_total{reason=\"other\"} 0\n"));
        assert!(text.contains("ringgate_responses_total{class=\"4xx\"} 1\n"));
        assert!(text.contains("ringgate_config_generation 7\n"));
        assert!(text.contains("ringgate_connections_refused_total{reason=\"fd_reserve\"} 0\n"));
        assert!(text.contains("ringgate_client_connections_max 9\n"));
        assert!(text.contains("ringgate_connection_panics_total 0\n"));
        assert!(text.contains("ringgate_tls_handshake_failures_total 0\n"));
        assert!(text.contains("# TYPE ringgate_tls_resumed_total counter\n"));
        assert!(text.contains("# TYPE ringgate_connections_active gauge\n"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
    }
}
