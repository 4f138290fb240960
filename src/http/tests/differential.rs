//! Differential tests against httparse.
