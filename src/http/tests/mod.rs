//! Codec tests. Every head and body is fed whole and split at every byte;
//! see the helpers below.

mod chunked;
mod differential;
mod paths;
mod requests;
mod responses;

use super::*;

/// Parses `input` whole, then checks that every split gives the same answer:
/// (1) a fresh parser fed `input[..i]` then `input` through the same instance;
/// (2) one parser fed a buffer that grows one byte at a time.
/// A prefix may only return Partial, or the whole input's result.
pub(super) fn parse_request_splits(
    input: &[u8],
    limits: Limits,
) -> Result<ParseStatus<RequestHead>, ParseError> {
    let whole = RequestParser::new(limits).parse(input);
    for i in 0..=input.len() {
        let mut p = RequestParser::new(limits);
        let first = p.parse(&input[..i]);
        if first != Ok(ParseStatus::Partial) {
            assert_eq!(
                first,
                whole,
                "prefix {i} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            p.parse(input),
            whole,
            "after prefix {i} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let mut p = RequestParser::new(limits);
    let mut last = Ok(ParseStatus::Partial);
    for i in 0..=input.len() {
        last = p.parse(&input[..i]);
        if last != Ok(ParseStatus::Partial) {
            break;
        }
    }
    assert_eq!(
        last,
        whole,
        "byte by byte: {:?}",
        String::from_utf8_lossy(input)
    );
    whole
}

pub(super) fn parse_response_splits(
    input: &[u8],
    method: Method,
    max_header_bytes: usize,
) -> Result<ParseStatus<ResponseHead>, ParseError> {
    let new = || ResponseParser::new(max_header_bytes, 100);
    let whole = new().parse(input, method);
    for i in 0..=input.len() {
        let mut p = new();
        let first = p.parse(&input[..i], method);
        if first != Ok(ParseStatus::Partial) {
            assert_eq!(
                first,
                whole,
                "prefix {i} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(p.parse(input, method), whole, "after prefix {i}");
    }
    let mut p = new();
    let mut last = Ok(ParseStatus::Partial);
    for i in 0..=input.len() {
        last = p.parse(&input[..i], method);
        if last != Ok(ParseStatus::Partial) {
            break;
        }
    }
    assert_eq!(
        last,
        whole,
        "byte by byte: {:?}",
        String::from_utf8_lossy(input)
    );
    whole
}
