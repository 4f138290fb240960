//! The label set of `ringgate_rejected_total{reason}`: every reason a
//! request or connection can be refused for, with a stable index into each
//! core's counters. `proxy::error` names the reasons; stats owns the table
//! so the admin listener can expose it without knowing the proxy.

/// Reason labels with a stable index into `stats::CoreStats::rejected`.
/// Index 0 collects any reason not listed.
pub static REJECT_REASONS: &[&str] = &[
    "other",
    // Gateway decisions.
    "no_route",
    "body_too_large",
    "client_timeout",
    "client_io",
    "connect_not_allowed",
    "upgrade_refused",
    "rate_limited",
    "rate_limit_unavailable",
    "method_not_allowed",
    // Filters: IP rules, authentication (401), authorization (403).
    "ip_denied",
    "missing_credentials",
    "invalid_token",
    "token_algorithm_mismatch",
    "token_unknown_key",
    "token_expired",
    "token_not_yet_valid",
    "token_invalid_issuer",
    "token_invalid_audience",
    "invalid_api_key",
    "duplicate_credentials",
    "token_critical_extension",
    "insufficient_scope",
    "insufficient_role",
    // Upstream failures.
    "upstream_connect_failed",
    "upstream_connect_timeout",
    "upstream_tls_failed",
    "upstream_closed",
    "upstream_timeout",
    "upstream_bad_response",
    "upstream_body_broken",
    // Paths refused by route::check_path.
    "dot_segment",
    "encoded_slash",
    "backslash",
    "encoded_nul",
    "empty_segment",
    "encoded_unreserved",
    "bad_percent_encoding",
    "path_params",
    "encoded_delimiter",
    "encoded_space",
    "encoded_control",
    // Request heads refused by the parser (http::ParseErrorKind).
    "invalid_method",
    "invalid_target",
    "invalid_version",
    "version_not_supported",
    "request_line_too_long",
    "headers_too_large",
    "too_many_headers",
    "invalid_header_name",
    "whitespace_before_colon",
    "obs_fold",
    "bare_cr",
    "bare_lf",
    "control_byte",
    "missing_host",
    "multiple_host",
    "invalid_host",
    "invalid_content_length",
    "conflicting_content_length",
    "content_length_with_transfer_encoding",
    "chunked_not_last",
    "unsupported_transfer_encoding",
    "invalid_transfer_encoding",
    "transfer_encoding_in_http10",
    "invalid_connection",
    "expectation_failed",
    // Request bodies refused by the chunked decoder (http::ChunkErrorKind).
    "chunk_invalid_size",
    "chunk_size_overflow",
    "chunk_invalid_extension",
    "chunk_extension_too_long",
    "chunk_missing_crlf",
    "chunk_bare_cr",
    "chunk_bare_lf",
    "chunk_invalid_trailer",
    "chunk_trailer_too_large",
];

pub fn reason_index(reason: &str) -> usize {
    // Error path only: a short linear scan keeps the table trivially correct.
    REJECT_REASONS
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}
