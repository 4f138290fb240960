//! Chunked bodies.
