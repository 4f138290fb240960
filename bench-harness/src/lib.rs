//! The library half of `ringbench`: the parts that integration tests call
//! directly (`compare`'s parsers, config generators and report writers)
//! and what they need. The binary (`main.rs`) holds the rest.

// Unsafe is allowed only where a libc call is needed, each marked with
// `#[allow(unsafe_code)]` and a SAFETY comment.
#![deny(unsafe_code)]

pub mod compare;
pub mod units;
